#include "challenge/dns01_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "challenge/dns01_check_test.h"
#include "challenge/dns01_lookup.h"

#define DNS01_CHECK_MESSAGE 1024
#define DNS01_CHECK_NS 8 /* NS names resolved at most */
#define DNS01_CHECK_LABEL 320

struct server {
	struct dns01_check *c;
	char addr[64]; /* for dns_query: an address, or a dns-resolver item; "" the system's */
	char label[DNS01_CHECK_LABEL]; /* "ns1.example (192.0.2.1)" */
	char why[96]; /* what it said last: "NXDOMAIN", "another value" */
	bool ok;
	bool down; /* no answer at the last poll (timeout, unreachable) */
	struct dns_query *q;
};

struct ns {
	struct dns01_check *c;
	char *name;
	struct dns_addrs_query *q;
};

struct dns01_check {
	struct ev_loop *loop;
	struct dns *d;
	char *resolvers;
	char *name; /* no trailing dot */
	char *zone;
	char *value;
	double timeout_s;
	dns01_check_fn fn;
	void *arg;
	struct dns01_lookup *lookup;
	struct dns_query *ns_query;
	struct ns ns[DNS01_CHECK_NS];
	size_t n_ns;
	size_t ns_pending;
	struct server servers[DNS01_CHECK_SERVERS];
	size_t n;
	bool fallback; /* the resolvers asked: answers need not be authoritative */
	bool named; /* dns-propagation-servers asked */
	size_t pending; /* queries of this poll in flight */
	unsigned polls;
	size_t lagging_logged; /* how many lagged when that was last logged */
	struct ev_timer poll;
	struct ev_timer deadline;
};

/* dns01_check_test_redirect's pairs. */
static const char *const *redirect_from;
static const char *const *redirect_to;
static size_t redirect_n;

void
dns01_check_test_redirect(const char *const *from, const char *const *to, size_t n)
{
	redirect_from = from;
	redirect_to = to;
	redirect_n = n;
}

/* addr, or where a test redirects it. */
static const char *
redirected(const char *addr)
{
	for (size_t i = 0; i < redirect_n; i++) {
		if (strcmp(redirect_from[i], addr) == 0) {
			return redirect_to[i];
		}
	}
	return addr;
}

double
dns01_check_delay(unsigned n)
{
	double d = DNS01_CHECK_FIRST;

	for (unsigned i = 0; i < n && d < DNS01_CHECK_MAX; i++) {
		d *= 2;
	}
	return d < DNS01_CHECK_MAX ? d : DNS01_CHECK_MAX;
}

static void
stop_all(struct dns01_check *c)
{
	dns01_lookup_cancel(c->lookup);
	c->lookup = NULL;
	dns_cancel(c->ns_query);
	c->ns_query = NULL;
	for (size_t i = 0; i < c->n_ns; i++) {
		dns_addrs_cancel(c->ns[i].q);
		c->ns[i].q = NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		dns_cancel(c->servers[i].q);
		c->servers[i].q = NULL;
	}
	ev_timer_stop(c->loop, &c->poll);
	ev_timer_stop(c->loop, &c->deadline);
}

void
dns01_check_cancel(struct dns01_check *c)
{
	if (c == NULL) {
		return;
	}
	stop_all(c);
	for (size_t i = 0; i < c->n_ns; i++) {
		free(c->ns[i].name);
	}
	free(c->resolvers);
	free(c->name);
	free(c->zone);
	free(c->value);
	free(c);
}

/* Ends c: stops and frees it, then calls fn. */
static void
finish(struct dns01_check *c, int rc, const char *message)
{
	dns01_check_fn fn = c->fn;
	void *arg = c->arg;

	dns01_check_cancel(c);
	fn(rc, message, arg);
}

/* The servers that do not serve the value yet, "A (why), B (why)". */
static size_t
lagging(const struct dns01_check *c, char *out, size_t len)
{
	size_t n = 0;
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		const struct server *s = &c->servers[i];

		if (s->ok) {
			continue;
		}
		if (off < len) {
			int w = snprintf(out + off, len - off, "%s%s (%s)", n > 0 ? ", " : "",
			                 s->label, s->why[0] != '\0' ? s->why : "no answer yet");

			off += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

static void poll_all(struct dns01_check *c);

static void
on_poll_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	poll_all(w->data);
}

static void
on_deadline(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct dns01_check *c = w->data;
	char list[DNS01_CHECK_MESSAGE / 2];
	char message[DNS01_CHECK_MESSAGE];

	if (c->n == 0) {
		snprintf(message, sizeof(message),
		         "dns-01: %s: the zone's servers were not found within "
		         "dns-propagation-timeout (%g s)",
		         c->name, c->timeout_s);
	} else {
		bool down = false;

		for (size_t i = 0; i < c->n; i++) {
			down = down || (!c->servers[i].ok && c->servers[i].down);
		}
		lagging(c, list, sizeof(list));
		/* A zone's server that never answers is often one the NS
		 * records name on port 53 while it listens elsewhere (operator
		 * trial): the key that names the servers to ask instead. */
		snprintf(message, sizeof(message),
		         "dns-01: %s: not served by every server within dns-propagation-timeout "
		         "(%g s), lagging: %s: fix the record%s or raise dns-propagation-timeout%s",
		         c->name, c->timeout_s, list,
		         c->named ? ", the servers of dns-propagation-servers" : "",
		         down && !c->named
		                 ? "; for servers that do not answer there, name the ones "
		                   "to ask with dns-propagation-servers = IP[:PORT]"
		                 : "");
	}
	finish(c, -1, message);
}

/* Asking the resolvers (no authoritative server known), whether some
 * serve the value and the others do not answer at all: a resolver that is
 * down says nothing of the record, and the CA asks none of them. */
static bool
served_by_those_up(const struct dns01_check *c)
{
	size_t ok = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->servers[i].ok) {
			ok++;
		} else if (!c->servers[i].down) {
			return false;
		}
	}
	return c->fallback && ok > 0;
}

/* A poll is over: done, or the next one after its wait. */
static void
poll_end(struct dns01_check *c)
{
	char list[DNS01_CHECK_MESSAGE];
	size_t n = lagging(c, list, sizeof(list));
	double wait;

	if (n > 0 && served_by_those_up(c)) {
		log_info("dns-01: %s: served by the resolvers that answer; not waiting for %s",
		         c->name, list);
		finish(c, 0, NULL);
		return;
	}

	if (n == 0) {
		log_info("dns-01: %s: served by all %zu %s after %u poll%s", c->name, c->n,
		         c->fallback ? "resolvers" : "authoritative servers", c->polls,
		         c->polls == 1 ? "" : "s");
		finish(c, 0, NULL);
		return;
	}
	if (n != c->lagging_logged) {
		log_info("dns-01: %s: waiting for %zu of %zu servers: %s", c->name, n, c->n, list);
		c->lagging_logged = n;
	}
	wait = dns01_check_delay(c->polls - 1);
	log_debug("dns-01: %s: poll %u: %zu lagging, next in %g s", c->name, c->polls, n, wait);
	ev_timer_set(&c->poll, wait, 0.);
	ev_timer_start(c->loop, &c->poll);
}

/* Whether msg's answer holds the TXT record c->name with c->value. */
static bool
serves(const struct dns01_check *c, const struct dns_msg *msg)
{
	size_t len = strlen(c->value);

	for (size_t i = 0; i < msg->n_answer; i++) {
		const struct dns_rr *rr = &msg->answer[i];

		if (rr->type == DNS_TYPE_TXT && dns_name_equal(rr->name, c->name) &&
		    rr->u.txt.len == len && memcmp(rr->u.txt.data, c->value, len) == 0) {
			return true;
		}
	}
	return false;
}

static void
on_txt(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct server *s = arg;
	struct dns01_check *c = s->c;
	char rname[16];

	s->q = NULL;
	s->down = status == DNS_STATUS_TIMEOUT || status == DNS_STATUS_UNREACHABLE;
	if (status != DNS_STATUS_OK) {
		snprintf(s->why, sizeof(s->why), "%s", dns_status_name(status));
	} else if (rcode != DNS_RCODE_NOERROR) {
		snprintf(s->why, sizeof(s->why), "%s", dns_rcode_name(rcode, rname, sizeof(rname)));
	} else if (!c->fallback && !msg->aa) {
		snprintf(s->why, sizeof(s->why), "not authoritative");
	} else if (!serves(c, msg)) {
		snprintf(s->why, sizeof(s->why), "%s",
		         msg->n_answer > 0 ? "another value" : "no TXT record");
	} else {
		s->ok = true;
	}
	log_debug("dns-01: %s: %s: %s", c->name, s->label, s->ok ? "served" : s->why);
	if (--c->pending == 0) {
		poll_end(c);
	}
}

static void
poll_all(struct dns01_check *c)
{
	int flags = c->fallback ? 0 : DNS_NO_RECURSE;

	c->polls++;
	for (size_t i = 0; i < c->n; i++) {
		struct server *s = &c->servers[i];

		if (s->ok) {
			continue;
		}
		if (dns_query(c->d, c->name, DNS_TYPE_TXT, flags,
		              s->addr[0] != '\0' ? s->addr : NULL, on_txt, s, &s->q) < 0) {
			snprintf(s->why, sizeof(s->why), "cannot be asked");
			continue;
		}
		c->pending++;
	}
	if (c->pending == 0) {
		poll_end(c);
	}
}

static void
add_server(struct dns01_check *c, const char *addr, const char *label)
{
	struct server *s;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->servers[i].addr, addr) == 0) {
			return;
		}
	}
	if (c->n == DNS01_CHECK_SERVERS) {
		return;
	}
	s = &c->servers[c->n++];
	s->c = c;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->label, sizeof(s->label), "%s", label);
}

/* Adds every server of list (io/dns.h's list: spaces or commas). */
static void
add_servers(struct dns01_check *c, const char *list)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t len;
		char one[64];

		p += strspn(p, " ,\t");
		len = strcspn(p, " ,\t");
		if (len > 0 && len < sizeof(one)) {
			memcpy(one, p, len);
			one[len] = '\0';
			add_server(c, one, one);
		}
		p += len;
	}
}

/* No authoritative server found (why): the dns-resolver servers instead. */
static void
use_resolvers(struct dns01_check *c, const char *why)
{
	log_info("dns-01: %s: %s: asking the resolvers (dns-resolver) instead of the "
	         "authoritative servers",
	         c->name, why);
	c->fallback = true;
	c->n = 0;
	add_servers(c, c->resolvers);
	if (c->n == 0) {
		add_server(c, "", "the system's resolvers");
	}
	poll_all(c);
}

static void
on_addrs(enum dns_status status, int rcode, const struct dns_addrs *addrs, void *arg)
{
	struct ns *ns = arg;
	struct dns01_check *c = ns->c;
	char label[DNS01_CHECK_LABEL];
	char addr[64];

	ns->q = NULL;
	for (size_t i = 0; status == DNS_STATUS_OK && i < addrs->n; i++) {
		/* An IPv6 address alone is one of dns_query's server forms. */
		snprintf(addr, sizeof(addr), "%s", redirected(addrs->addr[i]));
		snprintf(label, sizeof(label), "%s (%s)", ns->name, addrs->addr[i]);
		add_server(c, addr, label);
	}
	if (status != DNS_STATUS_OK || addrs->n == 0) {
		log_info("dns-01: %s: the address of the name server %s is unknown", c->name,
		         ns->name);
	}
	if (--c->ns_pending > 0) {
		return;
	}
	if (c->n == 0) {
		use_resolvers(c, "no address of the zone's name servers");
		return;
	}
	log_debug("dns-01: %s: asking %zu authoritative servers of %s", c->name, c->n, c->zone);
	poll_all(c);
}

static void
on_ns(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct dns01_check *c = arg;

	c->ns_query = NULL;
	for (size_t i = 0; status == DNS_STATUS_OK && i < msg->n_answer; i++) {
		const struct dns_rr *rr = &msg->answer[i];

		if (rr->type != DNS_TYPE_NS || !dns_name_equal(rr->name, c->zone) ||
		    c->n_ns == DNS01_CHECK_NS) {
			continue;
		}
		c->ns[c->n_ns].c = c;
		c->ns[c->n_ns].name = strdup(rr->u.target);
		if (c->ns[c->n_ns].name != NULL) {
			c->n_ns++;
		}
	}
	if (c->n_ns == 0) {
		use_resolvers(c, "the resolvers named no NS record of the zone");
		return;
	}
	/* All asked before any answer is read: ns_pending covers them all. */
	c->ns_pending = c->n_ns;
	for (size_t i = 0; i < c->n_ns; i++) {
		if (dns_resolve_addrs(c->d, c->ns[i].name, on_addrs, &c->ns[i], &c->ns[i].q) < 0) {
			c->ns_pending--;
		}
	}
	if (c->ns_pending == 0) {
		use_resolvers(c, "the zone's name servers cannot be resolved");
	}
}

static void
with_zone(struct dns01_check *c)
{
	if (dns_query(c->d, c->zone, DNS_TYPE_NS, 0, NULL, on_ns, c, &c->ns_query) < 0) {
		use_resolvers(c, "the zone's NS records cannot be asked");
	}
}

static void
on_zone(int rc, const char *zone, const char *message, void *arg)
{
	struct dns01_check *c = arg;

	c->lookup = NULL;
	if (zone == NULL) {
		use_resolvers(c, message != NULL ? message : "no zone");
		return;
	}
	c->zone = strdup(zone);
	if (c->zone == NULL) {
		finish(c, -1, "dns-01: out of memory");
		return;
	}
	with_zone(c);
}

int
dns01_check_start(struct ev_loop *loop, struct dns *d, const char *resolvers, const char *servers,
                  const char *name, const char *zone, const char *value, double timeout_s,
                  dns01_check_fn fn, void *arg, struct dns01_check **handle)
{
	struct dns01_check *c = calloc(1, sizeof(*c));
	size_t len = strlen(name);
	int ret = -1;

	if (c == NULL) {
		log_error("dns-01: out of memory");
		goto out;
	}
	c->loop = loop;
	c->d = d;
	c->fn = fn;
	c->arg = arg;
	c->timeout_s = timeout_s;
	c->name = strndup(name, len > 0 && name[len - 1] == '.' ? len - 1 : len);
	c->value = strdup(value);
	c->resolvers = resolvers != NULL ? strdup(resolvers) : NULL;
	c->zone = zone != NULL ? strdup(zone) : NULL;
	if (c->name == NULL || c->value == NULL || (resolvers != NULL && c->resolvers == NULL) ||
	    (zone != NULL && c->zone == NULL)) {
		log_error("dns-01: out of memory");
		goto out;
	}
	ev_timer_init(&c->poll, on_poll_timer, 0., 0.);
	c->poll.data = c;
	ev_timer_init(&c->deadline, on_deadline, timeout_s, 0.);
	c->deadline.data = c;
	if (servers != NULL) {
		/* The servers named, instead of the zone's: no zone to find.
		 * The first poll from the loop, as every answer comes. */
		add_servers(c, servers);
		c->named = true;
		if (c->n == 0) {
			log_error("dns-01: dns-propagation-servers names no server");
			goto out;
		}
		log_debug("dns-01: %s: asking the %zu dns-propagation-servers", c->name, c->n);
		ev_timer_start(loop, &c->poll);
	} else if (zone == NULL && dns01_zone_find(d, c->name, on_zone, c, &c->lookup) < 0) {
		goto out;
	}
	ev_timer_start(loop, &c->deadline);
	if (zone != NULL && servers == NULL) {
		/* Answers come from the loop, never from inside this call. */
		with_zone(c);
	}
	if (handle != NULL) {
		*handle = c;
	}
	c = NULL;
	ret = 0;
out:
	dns01_check_cancel(c);
	return ret;
}
