#include "io/dns.h"

#include "base/list.h"
#include "base/log.h"
#include "io/dns_channel.h"
#include "io/dns_test.h"

#include <ares.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CNAME steps dns_resolve_addrs follows in one answer. */
#define ADDRS_CNAME_STEPS 8

/* A query is held by c-ares until its callback (in_ares) and owed to the
 * caller until fn is called or it is cancelled (owed); it is freed when
 * neither holds. A query that reached its deadline is told to its caller
 * and left to c-ares, which drops it after its own tries. */
struct dns_query {
	struct dns *d;
	struct dns_channel *ch;
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
	struct dns_channels chans;
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

struct dns *
dns_create_timed(struct ev_loop *loop, const char *servers, const struct dns_timing *timing,
                 char **err)
{
	struct dns *d = NULL;
	char why[512];
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		set_err(err, "dns: out of memory");
		goto fail;
	}
	d->loop = loop;
	d->timing = *timing;
	list_init(&d->queries);
	list_init(&d->addrs);
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		set_err(err, "dns: c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	d->lib_init = true;
	if (dns_channels_init(&d->chans, loop, servers, timing->try_ms, timing->tries, why,
	                      sizeof(why)) < 0) {
		set_err(err, "%s", why);
		goto fail;
	}
	return d;
fail:
	dns_destroy(d);
	return NULL;
}

int
dns_servers_check(const char *servers, char *err, size_t errlen)
{
	return dns_channels_check(servers, err, errlen);
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
	return d->chans.n;
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
	 * ARES_EDESTRUCTION callbacks in dns_channels_finish. */
	list_for_each(&d->queries, node, tmp)
	{
		struct dns_query *q = list_entry(node, struct dns_query, node);

		q->owed = false;
		ev_timer_stop(d->loop, &q->timer);
		if (!q->in_ares) {
			query_free(q);
		}
	}
	dns_channels_finish(&d->chans);
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
	const char *key = dns_channel_key(q->ch);
	char why[256] = "";
	char tbuf[16];

	(void)timeouts;
	q->in_ares = false;
	dns_channel_done(q->ch);
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
		         dns_type_name(q->type, tbuf, sizeof(tbuf)), key[0] ? " @" : "", key, why);
	} else if (status != ARES_SUCCESS) {
		log_debug("dns: %s %s%s%s: %s", q->name, dns_type_name(q->type, tbuf, sizeof(tbuf)),
		          key[0] ? " @" : "", key, ares_strerror(status));
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
	struct dns_channel *ch;
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
	ch = server == NULL ? dns_channels_resolvers(&d->chans)
	                    : dns_channels_get(&d->chans, server);
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
	list_append(&d->queries, &q->node);
	ev_timer_init(&q->timer, on_query_timer, d->timing.deadline, 0.);
	q->timer.data = q;
	ev_timer_start(d->loop, &q->timer);
	if (handle != NULL) {
		*handle = q;
	}
	/* c-ares sets the ID. It may call on_answer from inside (a socket it
	 * cannot open): the answer still waits for the loop. */
	dns_channel_send(ch, buf, (size_t)len, on_answer, q);
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
