#include "io/dns.h"

#include "base/list.h"
#include "base/log.h"
#include "base/strmap.h"
#include "io/dns_test.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* "[" v6 "]:" port */
#define SERVER_KEY_MAX (INET6_ADDRSTRLEN + 9)
/* The longest "IP[:PORT]" read. */
#define SERVER_TEXT_MAX 64
/* CNAME steps dns_resolve_addrs follows in one answer. */
#define ADDRS_CNAME_STEPS 8

/* One server as c-ares takes it, and its key ("IP:PORT", "[IPv6]:PORT"). */
struct server {
	struct ares_addr_port_node node;
	char key[SERVER_KEY_MAX];
};

/* A c-ares channel and the watchers that drive it. */
struct channel {
	struct dns *d;
	ares_channel ares;
	char key[SERVER_KEY_MAX]; /* its one server's; "" for the resolvers' */
	struct ev_timer timer; /* when ares_timeout says */
	struct list socks; /* struct sock */
	struct list_node node; /* in d->channels, least recently used first */
	size_t pending; /* queries c-ares holds */
};

/* A socket c-ares asked to watch (ARES_OPT_SOCK_STATE_CB). */
struct sock {
	struct ev_io io;
	struct channel *ch;
	struct list_node node;
};

/* A query is held by c-ares until its callback (in_ares) and owed to the
 * caller until fn is called or it is cancelled (owed); it is freed when
 * neither holds. A query that reached its deadline is told to its caller
 * and left to c-ares, which drops it after its own tries. */
struct dns_query {
	struct dns *d;
	struct channel *ch;
	struct list_node node; /* in d->queries */
	/* Runs out at the deadline; restarted at 0 when the answer is in, so
	 * fn is called from the loop, never from inside c-ares or dns_query. */
	struct ev_timer timer;
	dns_query_fn fn;
	void *arg;
	bool in_ares;
	bool owed;
	bool done; /* status, rcode and msg hold the end */
	enum dns_status status;
	int rcode;
	struct dns_msg *msg;
	char *name;
	uint16_t type;
};

struct dns {
	struct ev_loop *loop;
	struct dns_timing timing;
	struct channel *resolvers;
	struct list channels; /* those of one server each */
	struct strmap by_key; /* the same by key */
	size_t nchannels;
	struct list queries;
	struct list addrs; /* struct dns_addrs_query */
	bool lib_init;
};

/* One of dns_resolve_addrs's two queries. */
struct addrs_half {
	struct dns_addrs_query *aq;
	struct dns_query *q; /* NULL once ended */
	uint16_t type;
	enum dns_status status;
	int rcode;
	struct dns_addrs found;
};

struct dns_addrs_query {
	struct dns *d;
	struct list_node node; /* in d->addrs */
	struct addrs_half half[2]; /* A, AAAA */
	char *name;
	dns_addrs_fn fn;
	void *arg;
};

static const char *const status_names[DNS_STATUS__MAX] = {
        [DNS_STATUS_OK] = "ok",
        [DNS_STATUS_TIMEOUT] = "timeout",
        [DNS_STATUS_UNREACHABLE] = "unreachable",
        [DNS_STATUS_MALFORMED] = "malformed answer",
        [DNS_STATUS_ERROR] = "error",
};

const char *
dns_status_name(enum dns_status status)
{
	return status < DNS_STATUS__MAX ? status_names[status] : "?";
}

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_err(char **err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (err != NULL) {
		free(*err);
		*err = strdup(buf);
	}
}

/* A port of 1 to 65535 written in decimal, nothing else. */
static int
parse_port(const char *p, int *port)
{
	long v = 0;

	if (*p == '\0') {
		return -1;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > 65535) {
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535) {
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* The len characters of text, "IP[:PORT]" in one of dns_create's forms,
 * into s. Returns 0, or -1 with a reason in err. */
static int
server_parse(const char *text, size_t len, struct server *s, char *err, size_t errlen)
{
	char buf[SERVER_TEXT_MAX];
	char addr[INET6_ADDRSTRLEN];
	char *host = buf;
	char *port = NULL;
	char *colon;
	int portnum = 53;
	bool v6;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "\"%.*s\": not IP[:PORT]", (int)(len < 80 ? len : 80), text);
		goto out;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(err, errlen, "\"%s\": not [IPv6] or [IPv6]:PORT", buf);
			goto out;
		}
		host = buf + 1;
		*close = '\0';
		port = close[1] == ':' ? close + 2 : NULL;
		v6 = true;
	} else {
		colon = strchr(buf, ':');
		/* Two colons or more: an IPv6 address alone. */
		v6 = colon != NULL && strchr(colon + 1, ':') != NULL;
		if (colon != NULL && !v6) {
			*colon = '\0';
			port = colon + 1;
		}
	}
	if (port != NULL && parse_port(port, &portnum) < 0) {
		snprintf(err, errlen, "\"%.*s\": port not 1 to 65535", (int)len, text);
		goto out;
	}
	s->node.family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(s->node.family, host, &s->node.addr) != 1) {
		snprintf(err, errlen, "\"%.*s\": not an %s address", (int)len, text,
		         v6 ? "IPv6" : "IPv4");
		goto out;
	}
	s->node.udp_port = portnum;
	s->node.tcp_port = portnum;
	inet_ntop(s->node.family, &s->node.addr, addr, sizeof(addr));
	snprintf(s->key, sizeof(s->key), v6 ? "[%s]:%d" : "%s:%d", addr, portnum);
	ret = 0;
out:
	return ret;
}

/* A `dns-resolver` list into servers (DNS_MAX_SERVERS), chained. */
static int
servers_parse(const char *text, struct server *servers, size_t *n, char *err, size_t errlen)
{
	static const char sep[] = " \t,";
	const char *p = text;
	int ret = -1;

	*n = 0;
	for (p += strspn(p, sep); *p != '\0'; p += strspn(p, sep)) {
		size_t len = strcspn(p, sep);

		if (*n == DNS_MAX_SERVERS) {
			snprintf(err, errlen, "more than %d servers", DNS_MAX_SERVERS);
			goto out;
		}
		if (server_parse(p, len, &servers[*n], err, errlen) < 0) {
			goto out;
		}
		if (*n > 0) {
			servers[*n - 1].node.next = &servers[*n].node;
		}
		(*n)++;
		p += len;
	}
	if (*n == 0) {
		snprintf(err, errlen, "no server");
		goto out;
	}
	ret = 0;
out:
	return ret;
}

static void
sock_free(struct sock *s)
{
	ev_io_stop(s->ch->d->loop, &s->io);
	list_unlink(&s->node);
	free(s);
}

/* Rearms ch's timer after c-ares acted: ares_timeout is NULL when it
 * holds no query. */
static void
channel_update_timer(struct channel *ch)
{
	struct timeval tv;
	struct timeval *t;

	ev_timer_stop(ch->d->loop, &ch->timer);
	t = ares_timeout(ch->ares, NULL, &tv);
	if (t != NULL) {
		ev_timer_set(&ch->timer, (double)t->tv_sec + (double)t->tv_usec / 1e6, 0.);
		ev_timer_start(ch->d->loop, &ch->timer);
	}
}

static void
on_sock(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct channel *ch = s->ch;
	int fd = w->fd;

	(void)loop;
	/* s may be freed by the time this returns (the socket closed). */
	ares_process_fd(ch->ares, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	channel_update_timer(ch);
}

static void
on_channel_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct channel *ch = w->data;

	(void)loop;
	(void)revents;
	ares_process_fd(ch->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	channel_update_timer(ch);
}

/* c-ares opens, changes or closes (neither readable nor writable) a
 * socket. */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct channel *ch = data;
	struct sock *s = NULL;
	struct list_node *node, *tmp;

	list_for_each(&ch->socks, node, tmp)
	{
		struct sock *x = list_entry(node, struct sock, node);

		if (x->io.fd == fd) {
			s = x;
		}
	}
	if (!readable && !writable) {
		if (s != NULL) {
			sock_free(s);
		}
		return;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			/* Unwatched: its query ends at its timeout. */
			log_error("dns: out of memory");
			return;
		}
		s->ch = ch;
		ev_init(&s->io, on_sock);
		s->io.data = s;
		list_append(&ch->socks, &s->node);
	}
	ev_io_stop(ch->d->loop, &s->io);
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(ch->d->loop, &s->io);
}

/* Closes ch: c-ares calls back every query it holds with
 * ARES_EDESTRUCTION (none is owed by then: on_answer frees them) and
 * closes its sockets through sock_state_cb. */
static void
channel_destroy(struct channel *ch)
{
	if (ch == NULL) {
		return;
	}
	ev_timer_stop(ch->d->loop, &ch->timer);
	if (ch->ares != NULL) {
		ares_destroy(ch->ares);
	}
	while (!list_empty(&ch->socks)) {
		sock_free(list_entry(list_first(&ch->socks), struct sock, node));
	}
	if (ch->key[0] != '\0') {
		strmap_remove(&ch->d->by_key, ch->key);
		list_unlink(&ch->node);
		ch->d->nchannels--;
	}
	free(ch);
}

/* A channel over the n servers (resolv.conf's when 0), key "" for the
 * resolvers'. NULL with a reason in err. */
static struct channel *
channel_create(struct dns *d, struct server *servers, size_t n, const char *key, char *err,
               size_t errlen)
{
	struct ares_options o;
	struct channel *ch = NULL;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
	int rc;

	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ch->d = d;
	snprintf(ch->key, sizeof(ch->key), "%s", key);
	list_init(&ch->socks);
	list_node_init(&ch->node);
	ev_init(&ch->timer, on_channel_timer);
	ch->timer.data = ch;
	memset(&o, 0, sizeof(o));
	/* Every answer goes up, SERVFAIL and REFUSED included: an
	 * authoritative server's refusal is what the caller asked about. */
	o.flags = ARES_FLAG_NOCHECKRESP;
	o.timeout = d->timing.try_ms;
	o.tries = d->timing.tries;
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = ch;
	if (n > 0) {
		/* No servers from resolv.conf: the list is set below. */
		mask |= ARES_OPT_SERVERS;
	}
	rc = ares_init_options(&ch->ares, &o, mask);
	if (rc != ARES_SUCCESS) {
		ch->ares = NULL;
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	if (n > 0) {
		rc = ares_set_servers_ports(ch->ares, &servers[0].node);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
			goto fail;
		}
	}
	return ch;
fail:
	/* Not yet in d's list: destroyed as such. */
	if (ch != NULL) {
		ch->key[0] = '\0';
	}
	channel_destroy(ch);
	return NULL;
}

/* Makes room for one more channel: the least recently used one that
 * holds no query goes. */
static int
evict_idle(struct dns *d)
{
	struct list_node *node, *tmp;

	list_for_each(&d->channels, node, tmp)
	{
		struct channel *ch = list_entry(node, struct channel, node);

		if (ch->pending == 0) {
			channel_destroy(ch);
			return 0;
		}
	}
	return -1;
}

/* The channel of server ("IP[:PORT]"), made at its first use. NULL
 * (logged) for a bad server or when out of channels. */
static struct channel *
channel_for(struct dns *d, const char *server)
{
	struct server s;
	struct channel *ch = NULL;
	char err[256];

	if (server_parse(server, strlen(server), &s, err, sizeof(err)) < 0) {
		log_error("dns: server %s", err);
		goto out;
	}
	ch = strmap_get(&d->by_key, s.key);
	if (ch != NULL) {
		list_unlink(&ch->node);
		list_append(&d->channels, &ch->node);
		goto out;
	}
	if (d->nchannels >= DNS_MAX_CHANNELS && evict_idle(d) < 0) {
		log_error("dns: %s: more than %d servers asked at once", s.key, DNS_MAX_CHANNELS);
		goto out;
	}
	ch = channel_create(d, &s, 1, s.key, err, sizeof(err));
	if (ch == NULL) {
		log_error("dns: %s: %s", s.key, err);
		goto out;
	}
	if (strmap_put(&d->by_key, ch->key, ch) < 0) {
		log_error("dns: out of memory");
		ch->key[0] = '\0';
		channel_destroy(ch);
		ch = NULL;
		goto out;
	}
	list_append(&d->channels, &ch->node);
	d->nchannels++;
out:
	return ch;
}

struct dns *
dns_create_timed(struct ev_loop *loop, const char *servers, const struct dns_timing *timing,
                 char **err)
{
	struct server list[DNS_MAX_SERVERS];
	struct dns *d = NULL;
	char why[256];
	size_t n = 0;
	int rc;

	if (servers != NULL && servers_parse(servers, list, &n, why, sizeof(why)) < 0) {
		set_err(err, "dns-resolver: %s (a list of IP[:PORT] or [IPv6]:PORT)", why);
		goto fail;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		set_err(err, "dns: out of memory");
		goto fail;
	}
	d->loop = loop;
	d->timing = *timing;
	list_init(&d->channels);
	list_init(&d->queries);
	list_init(&d->addrs);
	strmap_init(&d->by_key);
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		set_err(err, "dns: c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	d->lib_init = true;
	d->resolvers = channel_create(d, list, n, "", why, sizeof(why));
	if (d->resolvers == NULL) {
		set_err(err, "dns: %s", why);
		goto fail;
	}
	return d;
fail:
	dns_destroy(d);
	return NULL;
}

struct dns *
dns_create(struct ev_loop *loop, const char *servers, char **err)
{
	static const struct dns_timing timing = {
	        .try_ms = DNS_TRY_MS,
	        .tries = DNS_TRIES,
	        .deadline = DNS_DEADLINE,
	};

	return dns_create_timed(loop, servers, &timing, err);
}

size_t
dns_test_channels(const struct dns *d)
{
	return d->nchannels;
}

static void
query_free(struct dns_query *q)
{
	ev_timer_stop(q->d->loop, &q->timer);
	list_unlink(&q->node);
	dns_msg_free(q->msg);
	free(q->name);
	free(q);
}

static void addrs_free(struct dns_addrs_query *aq);

void
dns_destroy(struct dns *d)
{
	struct list_node *node, *tmp;

	if (d == NULL) {
		return;
	}
	while (!list_empty(&d->addrs)) {
		addrs_free(list_entry(list_first(&d->addrs), struct dns_addrs_query, node));
	}
	/* Nothing is owed any more; what c-ares holds is freed by its
	 * ARES_EDESTRUCTION callbacks in channel_destroy. */
	list_for_each(&d->queries, node, tmp)
	{
		struct dns_query *q = list_entry(node, struct dns_query, node);

		q->owed = false;
		ev_timer_stop(d->loop, &q->timer);
		if (!q->in_ares) {
			query_free(q);
		}
	}
	while (!list_empty(&d->channels)) {
		channel_destroy(list_entry(list_first(&d->channels), struct channel, node));
	}
	channel_destroy(d->resolvers);
	strmap_finish(&d->by_key);
	if (d->lib_init) {
		ares_library_cleanup();
	}
	free(d);
}

static enum dns_status
status_of(int ares_status)
{
	switch (ares_status) {
	case ARES_SUCCESS:
		return DNS_STATUS_OK;
	case ARES_ETIMEOUT:
		return DNS_STATUS_TIMEOUT;
	case ARES_ECONNREFUSED:
		return DNS_STATUS_UNREACHABLE;
	default:
		return DNS_STATUS_ERROR;
	}
}

/* c-ares is done with q: an answer (abuf, borrowed), or its failure. */
static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	char why[256] = "";
	char tbuf[16];

	(void)timeouts;
	q->in_ares = false;
	q->ch->pending--;
	/* Cancelled, told at its deadline, or its dns being destroyed (the
	 * only time c-ares says ARES_EDESTRUCTION: acmed never calls
	 * ares_cancel): nobody waits for it. */
	if (!q->owed) {
		query_free(q);
		return;
	}
	q->done = true;
	q->status = status_of(status);
	if (status == ARES_SUCCESS &&
	    dns_msg_parse(abuf, (size_t)alen, &q->msg, why, sizeof(why)) < 0) {
		q->status = DNS_STATUS_MALFORMED;
		log_warn("dns: %s %s%s%s: malformed answer: %s", q->name,
		         dns_type_name(q->type, tbuf, sizeof(tbuf)), q->ch->key[0] ? " @" : "",
		         q->ch->key, why);
	} else if (status != ARES_SUCCESS) {
		log_debug("dns: %s %s%s%s: %s", q->name, dns_type_name(q->type, tbuf, sizeof(tbuf)),
		          q->ch->key[0] ? " @" : "", q->ch->key, ares_strerror(status));
	}
	if (q->msg != NULL) {
		q->rcode = q->msg->rcode;
	}
	ev_timer_stop(q->d->loop, &q->timer);
	ev_timer_set(&q->timer, 0., 0.);
	ev_timer_start(q->d->loop, &q->timer);
}

/* The deadline, or the answer's delivery. */
static void
on_query_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct dns_query *q = w->data;
	dns_query_fn fn = q->fn;
	void *arg = q->arg;
	enum dns_status status = DNS_STATUS_TIMEOUT;
	int rcode = -1;
	struct dns_msg *msg = NULL;

	(void)loop;
	(void)revents;
	if (q->done) {
		status = q->status;
		rcode = q->rcode;
		msg = q->msg;
		q->msg = NULL;
	}
	q->owed = false;
	if (!q->in_ares) {
		query_free(q);
	}
	/* Nothing of q or its dns is touched after: fn may destroy both. */
	fn(status, rcode, msg, arg);
	dns_msg_free(msg);
}

int
dns_query(struct dns *d, const char *name, uint16_t type, int flags, const char *server,
          dns_query_fn fn, void *arg, struct dns_query **handle)
{
	uint8_t buf[DNS_QUERY_MAX];
	char err[256];
	struct channel *ch;
	struct dns_query *q = NULL;
	int len;
	int ret = -1;

	if (handle != NULL) {
		*handle = NULL;
	}
	len = dns_msg_query_build(name, type, (flags & DNS_NO_RECURSE) == 0, 0, buf, sizeof(buf),
	                          err, sizeof(err));
	if (len < 0) {
		log_error("dns: %s", err);
		goto out;
	}
	ch = server == NULL ? d->resolvers : channel_for(d, server);
	if (ch == NULL) {
		goto out;
	}
	q = calloc(1, sizeof(*q));
	if (q != NULL) {
		q->name = strdup(name);
	}
	if (q == NULL || q->name == NULL) {
		log_error("dns: out of memory");
		free(q);
		goto out;
	}
	q->d = d;
	q->ch = ch;
	q->fn = fn;
	q->arg = arg;
	q->type = type;
	q->rcode = -1;
	q->in_ares = true;
	q->owed = true;
	ch->pending++;
	list_append(&d->queries, &q->node);
	ev_timer_init(&q->timer, on_query_timer, d->timing.deadline, 0.);
	q->timer.data = q;
	ev_timer_start(d->loop, &q->timer);
	if (handle != NULL) {
		*handle = q;
	}
	/* c-ares sets the ID. It may call on_answer from inside (a socket it
	 * cannot open): the answer still waits for the loop. */
	ares_send(ch->ares, buf, len, on_answer, q);
	channel_update_timer(ch);
	ret = 0;
out:
	return ret;
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL) {
		return;
	}
	q->owed = false;
	ev_timer_stop(q->d->loop, &q->timer);
	dns_msg_free(q->msg);
	q->msg = NULL;
	if (!q->in_ares) {
		query_free(q);
	}
}

static void
addrs_free(struct dns_addrs_query *aq)
{
	list_unlink(&aq->node);
	free(aq->name);
	free(aq);
}

static bool
name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dns_name_equal(name, names[i])) {
			return true;
		}
	}
	return false;
}

static void
addrs_add(struct dns_addrs *a, const char *addr)
{
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->addr[i], addr) == 0) {
			return;
		}
	}
	if (a->n < DNS_ADDRS_MAX) {
		snprintf(a->addr[a->n++], sizeof(a->addr[0]), "%s", addr);
	}
}

/* The addresses of type in msg's answer whose owner is name or a name
 * name's CNAME records lead to: a resolver answers a CNAME's target in the
 * same answer (RFC 1034 section 3.6.2). */
static void
addrs_collect(const struct dns_msg *msg, const char *name, uint16_t type, struct dns_addrs *out)
{
	const char *names[ADDRS_CNAME_STEPS + 1] = {name};
	size_t n = 1;
	bool more = true;

	while (more && n < ADDRS_CNAME_STEPS + 1) {
		more = false;
		for (size_t i = 0; i < msg->n_answer && n < ADDRS_CNAME_STEPS + 1; i++) {
			const struct dns_rr *rr = &msg->answer[i];

			if (rr->type == DNS_TYPE_CNAME && name_in(rr->name, names, n) &&
			    !name_in(rr->u.target, names, n)) {
				names[n++] = rr->u.target;
				more = true;
			}
		}
	}
	for (size_t i = 0; i < msg->n_answer; i++) {
		const struct dns_rr *rr = &msg->answer[i];

		if (rr->type == type && rr->rclass == DNS_CLASS_IN && name_in(rr->name, names, n)) {
			addrs_add(out, rr->u.addr);
		}
	}
}

static void
on_addrs_half(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct addrs_half *h = arg;
	struct dns_addrs_query *aq = h->aq;
	struct dns_addrs all;
	const struct addrs_half *a = &aq->half[0];
	const struct addrs_half *b = &aq->half[1];
	dns_addrs_fn fn = aq->fn;
	void *fn_arg = aq->arg;

	h->q = NULL;
	h->status = status;
	h->rcode = rcode;
	if (msg != NULL && rcode == DNS_RCODE_NOERROR) {
		addrs_collect(msg, aq->name, h->type, &h->found);
	}
	if (a->q != NULL || b->q != NULL) {
		return;
	}
	memset(&all, 0, sizeof(all));
	for (size_t i = 0; i < 2; i++) {
		for (size_t j = 0; j < aq->half[i].found.n; j++) {
			addrs_add(&all, aq->half[i].found.addr[j]);
		}
	}
	if ((a->status == DNS_STATUS_OK && a->rcode == DNS_RCODE_NOERROR) ||
	    (b->status == DNS_STATUS_OK && b->rcode == DNS_RCODE_NOERROR)) {
		status = DNS_STATUS_OK;
		rcode = DNS_RCODE_NOERROR;
	} else {
		status = a->status;
		rcode = a->rcode;
	}
	addrs_free(aq);
	fn(status, rcode, &all, fn_arg);
}

int
dns_resolve_addrs(struct dns *d, const char *name, dns_addrs_fn fn, void *arg,
                  struct dns_addrs_query **handle)
{
	static const uint16_t types[2] = {DNS_TYPE_A, DNS_TYPE_AAAA};
	struct dns_addrs_query *aq = NULL;
	int ret = -1;

	if (handle != NULL) {
		*handle = NULL;
	}
	aq = calloc(1, sizeof(*aq));
	if (aq != NULL) {
		aq->name = strdup(name);
	}
	if (aq == NULL || aq->name == NULL) {
		log_error("dns: out of memory");
		free(aq);
		aq = NULL;
		goto out;
	}
	aq->d = d;
	aq->fn = fn;
	aq->arg = arg;
	list_append(&d->addrs, &aq->node);
	for (size_t i = 0; i < 2; i++) {
		aq->half[i].aq = aq;
		aq->half[i].type = types[i];
		if (dns_query(d, name, types[i], 0, NULL, on_addrs_half, &aq->half[i],
		              &aq->half[i].q) < 0) {
			goto out;
		}
	}
	if (handle != NULL) {
		*handle = aq;
	}
	aq = NULL;
	ret = 0;
out:
	if (aq != NULL) {
		dns_addrs_cancel(aq);
	}
	return ret;
}

void
dns_addrs_cancel(struct dns_addrs_query *aq)
{
	if (aq == NULL) {
		return;
	}
	dns_cancel(aq->half[0].q);
	dns_cancel(aq->half[1].q);
	addrs_free(aq);
}
