#include "io/dns_channel.h"

#include "base/log.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* "[" v6 "]:" port */
#define SERVER_KEY_MAX (INET6_ADDRSTRLEN + 9)
/* The longest "IP[:PORT]" read. */
#define SERVER_TEXT_MAX 64

/* One server as c-ares takes it, and its key ("IP:PORT", "[IPv6]:PORT"). */
struct server {
	struct ares_addr_port_node node;
	char key[SERVER_KEY_MAX];
};

/* A c-ares channel and the watchers that drive it. */
struct dns_channel {
	struct dns_channels *c;
	ares_channel ares;
	char key[SERVER_KEY_MAX]; /* its one server's; "" for the resolvers' */
	struct ev_timer timer; /* when ares_timeout says */
	struct list socks; /* struct sock */
	struct list_node node; /* in c->list, least recently used first */
	size_t pending; /* queries c-ares holds */
};

/* A socket c-ares asked to watch (ARES_OPT_SOCK_STATE_CB). */
struct sock {
	struct ev_io io;
	struct dns_channel *ch;
	struct list_node node;
};

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

int
dns_channels_check(const char *servers, char *err, size_t errlen)
{
	struct server list[DNS_MAX_SERVERS];
	size_t n;

	return servers != NULL ? servers_parse(servers, list, &n, err, errlen) : 0;
}

static void
sock_free(struct sock *s)
{
	ev_io_stop(s->ch->c->loop, &s->io);
	list_unlink(&s->node);
	free(s);
}

/* Rearms ch's timer after c-ares acted: ares_timeout is NULL when it
 * holds no query. */
static void
channel_update_timer(struct dns_channel *ch)
{
	struct timeval tv;
	struct timeval *t;

	ev_timer_stop(ch->c->loop, &ch->timer);
	t = ares_timeout(ch->ares, NULL, &tv);
	if (t != NULL) {
		ev_timer_set(&ch->timer, (double)t->tv_sec + (double)t->tv_usec / 1e6, 0.);
		ev_timer_start(ch->c->loop, &ch->timer);
	}
}

static void
on_sock(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct dns_channel *ch = s->ch;
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
	struct dns_channel *ch = w->data;

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
	struct dns_channel *ch = data;
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
	ev_io_stop(ch->c->loop, &s->io);
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(ch->c->loop, &s->io);
}

/* Closes ch: c-ares calls back every query it holds with
 * ARES_EDESTRUCTION (none is owed by then: on_answer frees them) and
 * closes its sockets through sock_state_cb. */
static void
channel_destroy(struct dns_channel *ch)
{
	if (ch == NULL) {
		return;
	}
	ev_timer_stop(ch->c->loop, &ch->timer);
	if (ch->ares != NULL) {
		ares_destroy(ch->ares);
	}
	while (!list_empty(&ch->socks)) {
		sock_free(list_entry(list_first(&ch->socks), struct sock, node));
	}
	if (ch->key[0] != '\0') {
		strmap_remove(&ch->c->by_key, ch->key);
		list_unlink(&ch->node);
		ch->c->n--;
	}
	free(ch);
}

/* A channel over the n servers (resolv.conf's when 0), key "" for the
 * resolvers'. NULL with a reason in err. */
static struct dns_channel *
channel_create(struct dns_channels *c, struct server *servers, size_t n, const char *key, char *err,
               size_t errlen)
{
	struct ares_options o;
	struct dns_channel *ch = NULL;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
	int rc;

	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ch->c = c;
	snprintf(ch->key, sizeof(ch->key), "%s", key);
	list_init(&ch->socks);
	list_node_init(&ch->node);
	ev_init(&ch->timer, on_channel_timer);
	ch->timer.data = ch;
	memset(&o, 0, sizeof(o));
	/* Every answer goes up, SERVFAIL and REFUSED included: an
	 * authoritative server's refusal is what the caller asked about. */
	o.flags = ARES_FLAG_NOCHECKRESP;
	o.timeout = c->try_ms;
	o.tries = c->tries;
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
evict_idle(struct dns_channels *c)
{
	struct list_node *node, *tmp;

	list_for_each(&c->list, node, tmp)
	{
		struct dns_channel *ch = list_entry(node, struct dns_channel, node);

		if (ch->pending == 0) {
			channel_destroy(ch);
			return 0;
		}
	}
	return -1;
}

/* The channel of server ("IP[:PORT]"), made at its first use. NULL
 * (logged) for a bad server or when out of channels. */
struct dns_channel *
dns_channels_get(struct dns_channels *c, const char *server)
{
	struct server s;
	struct dns_channel *ch = NULL;
	char err[256];

	if (server_parse(server, strlen(server), &s, err, sizeof(err)) < 0) {
		log_error("dns: server %s", err);
		goto out;
	}
	ch = strmap_get(&c->by_key, s.key);
	if (ch != NULL) {
		list_unlink(&ch->node);
		list_append(&c->list, &ch->node);
		goto out;
	}
	if (c->n >= DNS_MAX_CHANNELS && evict_idle(c) < 0) {
		log_error("dns: %s: more than %d servers asked at once", s.key, DNS_MAX_CHANNELS);
		goto out;
	}
	ch = channel_create(c, &s, 1, s.key, err, sizeof(err));
	if (ch == NULL) {
		log_error("dns: %s: %s", s.key, err);
		goto out;
	}
	if (strmap_put(&c->by_key, ch->key, ch) < 0) {
		log_error("dns: out of memory");
		ch->key[0] = '\0';
		channel_destroy(ch);
		ch = NULL;
		goto out;
	}
	list_append(&c->list, &ch->node);
	c->n++;
out:
	return ch;
}

int
dns_channels_init(struct dns_channels *c, struct ev_loop *loop, const char *servers, int try_ms,
                  int tries, char *err, size_t errlen)
{
	struct server list[DNS_MAX_SERVERS];
	char why[256];
	size_t n = 0;
	int ret = -1;

	c->loop = loop;
	c->try_ms = try_ms;
	c->tries = tries;
	list_init(&c->list);
	strmap_init(&c->by_key);
	if (servers != NULL && servers_parse(servers, list, &n, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "dns-resolver: %s (a list of IP[:PORT] or [IPv6]:PORT)", why);
		goto out;
	}
	c->resolvers = channel_create(c, list, n, "", why, sizeof(why));
	if (c->resolvers == NULL) {
		snprintf(err, errlen, "dns: %s", why);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

void
dns_channels_finish(struct dns_channels *c)
{
	if (c->loop == NULL) {
		return;
	}
	while (!list_empty(&c->list)) {
		channel_destroy(list_entry(list_first(&c->list), struct dns_channel, node));
	}
	channel_destroy(c->resolvers);
	c->resolvers = NULL;
	strmap_finish(&c->by_key);
	c->loop = NULL;
}

struct dns_channel *
dns_channels_resolvers(struct dns_channels *c)
{
	return c->resolvers;
}

void
dns_channel_send(struct dns_channel *ch, const uint8_t *query, size_t len, ares_callback cb,
                 void *arg)
{
	ch->pending++;
	ares_send(ch->ares, query, (int)len, cb, arg);
	channel_update_timer(ch);
}

void
dns_channel_done(struct dns_channel *ch)
{
	ch->pending--;
}

const char *
dns_channel_key(const struct dns_channel *ch)
{
	return ch->key;
}
