#include "challenge/dns01_lookup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define DNS01_LOOKUP_MESSAGE 512

enum kind {
	KIND_CNAME,
	KIND_ZONE,
};

struct dns01_lookup {
	struct dns *d;
	enum kind kind;
	dns01_lookup_fn fn;
	void *arg;
	struct dns_query *q;
	char *start; /* the name asked for, for messages */
	/* CNAME: the names met so far, the first the name asked for; the
	 * last is the one asked now. ZONE: names[0] is the name asked for
	 * and cur points into it. */
	char *names[DNS01_CNAME_MAX + 1];
	size_t n;
	const char *cur;
};

const char *
dns01_parent(const char *name)
{
	const char *dot;

	if (name == NULL || name[0] == '\0') {
		return NULL;
	}
	dot = strchr(name, '.');
	return dot != NULL ? dot + 1 : name + strlen(name);
}

static void
lookup_free(struct dns01_lookup *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->names[i]);
	}
	free(l->start);
	free(l);
}

void
dns01_lookup_cancel(struct dns01_lookup *l)
{
	if (l == NULL) {
		return;
	}
	dns_cancel(l->q);
	lookup_free(l);
}

/* Frees l, then calls its fn: the callback may destroy the dns. */
static void
finish(struct dns01_lookup *l, int rc, const char *name, const char *message)
{
	dns01_lookup_fn fn = l->fn;
	void *arg = l->arg;
	char *copy = name != NULL ? strdup(name) : NULL;

	if (name != NULL && copy == NULL) {
		rc = -1;
		message = "out of memory";
	}
	lookup_free(l);
	fn(rc, copy, message, arg);
	free(copy);
}

/* name without its trailing dot, a new string or NULL. */
static char *
undot(const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.') {
		len--;
	}
	return strndup(name, len);
}

static void on_answer(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg);

/* Asks the query of l's kind for name: 0, or -1 (logged). */
static int
ask(struct dns01_lookup *l, const char *name)
{
	uint16_t type = l->kind == KIND_CNAME ? DNS_TYPE_CNAME : DNS_TYPE_SOA;

	log_debug("dns-01: asking the resolvers for the %s of '%s'",
	          l->kind == KIND_CNAME ? "CNAME" : "SOA", name);
	return dns_query(l->d, name, type, 0, NULL, on_answer, l, &l->q);
}

/* The target of the CNAME record of owner in msg's answer, or NULL. */
static const char *
cname_of(const struct dns_msg *msg, const char *owner)
{
	for (size_t i = 0; i < msg->n_answer; i++) {
		const struct dns_rr *rr = &msg->answer[i];

		if (rr->type == DNS_TYPE_CNAME && dns_name_equal(rr->name, owner)) {
			return rr->u.target;
		}
	}
	return NULL;
}

/* One CNAME answer: follows what it holds; then asks on, or ends. */
static void
cname_step(struct dns01_lookup *l, const struct dns_msg *msg)
{
	char message[DNS01_LOOKUP_MESSAGE];
	const char *target;
	bool moved = false;

	while ((target = cname_of(msg, l->names[l->n - 1])) != NULL) {
		for (size_t i = 0; i < l->n; i++) {
			if (dns_name_equal(l->names[i], target)) {
				snprintf(message, sizeof(message),
				         "dns-01: %s: CNAME loop at '%s': fix the delegation",
				         l->start, target);
				finish(l, -1, NULL, message);
				return;
			}
		}
		if (l->n > DNS01_CNAME_MAX) {
			snprintf(message, sizeof(message),
			         "dns-01: %s: more than %d CNAME records in a row: shorten the "
			         "chain",
			         l->start, DNS01_CNAME_MAX);
			finish(l, -1, NULL, message);
			return;
		}
		l->names[l->n] = strdup(target);
		if (l->names[l->n] == NULL) {
			finish(l, -1, NULL, "out of memory");
			return;
		}
		log_debug("dns-01: '%s' is an alias of '%s'", l->names[l->n - 1], target);
		l->n++;
		moved = true;
	}
	if (!moved) {
		finish(l, 0, l->names[l->n - 1], NULL);
	} else if (ask(l, l->names[l->n - 1]) < 0) {
		finish(l, -1, NULL, "dns-01: cannot ask the resolvers");
	}
}

/* The owner of an SOA record in section (n records), or NULL. */
static const char *
soa_owner(const struct dns_rr *section, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (section[i].type == DNS_TYPE_SOA) {
			return section[i].name;
		}
	}
	return NULL;
}

/* Whether zone is name or one of its parents. */
static bool
encloses(const char *zone, const char *name)
{
	for (const char *p = name; p != NULL; p = dns01_parent(p)) {
		if (dns_name_equal(p, zone)) {
			return true;
		}
	}
	return false;
}

static void
zone_step(struct dns01_lookup *l, int rcode, const struct dns_msg *msg)
{
	char message[DNS01_LOOKUP_MESSAGE];
	char rname[16];
	const char *zone = soa_owner(msg->answer, msg->n_answer);

	if (zone == NULL) {
		zone = soa_owner(msg->authority, msg->n_authority);
	}
	if (zone != NULL && zone[0] != '\0' && encloses(zone, l->names[0])) {
		log_debug("dns-01: '%s' is in the zone '%s'", l->names[0], zone);
		finish(l, 0, zone, NULL);
		return;
	}
	log_debug("dns-01: no SOA for '%s' (%s)", l->cur,
	          dns_rcode_name(rcode, rname, sizeof(rname)));
	l->cur = dns01_parent(l->cur);
	/* The root is no zone a record of acmed's is set in. */
	if (l->cur == NULL || l->cur[0] == '\0') {
		snprintf(message, sizeof(message),
		         "the resolvers named no zone for %s (no SOA record up to the top level)",
		         l->start);
		finish(l, 0, NULL, message);
	} else if (ask(l, l->cur) < 0) {
		finish(l, -1, NULL, "dns-01: cannot ask the resolvers");
	}
}

static void
on_answer(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct dns01_lookup *l = arg;
	char message[DNS01_LOOKUP_MESSAGE];
	char rname[16];
	const char *asked = l->kind == KIND_CNAME ? l->names[l->n - 1] : l->cur;

	l->q = NULL;
	if (status != DNS_STATUS_OK) {
		snprintf(message, sizeof(message),
		         "dns-01: %s: the resolvers gave no answer for '%s': %s", l->start, asked,
		         dns_status_name(status));
		finish(l, -1, NULL, message);
	} else if (l->kind == KIND_ZONE) {
		zone_step(l, rcode, msg);
	} else if (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN) {
		cname_step(l, msg);
	} else {
		snprintf(message, sizeof(message),
		         "dns-01: %s: the resolvers answered %s for the CNAME of '%s': check "
		         "dns-resolver",
		         l->start, dns_rcode_name(rcode, rname, sizeof(rname)), asked);
		finish(l, -1, NULL, message);
	}
}

static int
start(struct dns *d, enum kind kind, const char *name, dns01_lookup_fn fn, void *arg,
      struct dns01_lookup **handle)
{
	struct dns01_lookup *l = calloc(1, sizeof(*l));
	int ret = -1;

	if (l != NULL) {
		l->start = strdup(name);
		l->names[0] = undot(name);
	}
	if (l == NULL || l->start == NULL || l->names[0] == NULL) {
		log_error("dns-01: out of memory");
		goto out;
	}
	l->n = 1;
	l->d = d;
	l->kind = kind;
	l->fn = fn;
	l->arg = arg;
	l->cur = l->names[0];
	if (ask(l, l->names[0]) < 0) {
		goto out;
	}
	if (handle != NULL) {
		*handle = l;
	}
	l = NULL;
	ret = 0;
out:
	if (l != NULL) {
		free(l->names[0]);
		free(l->start);
		free(l);
	}
	return ret;
}

int
dns01_cname_follow(struct dns *d, const char *name, dns01_lookup_fn fn, void *arg,
                   struct dns01_lookup **handle)
{
	return start(d, KIND_CNAME, name, fn, arg, handle);
}

int
dns01_zone_find(struct dns *d, const char *name, dns01_lookup_fn fn, void *arg,
                struct dns01_lookup **handle)
{
	return start(d, KIND_ZONE, name, fn, arg, handle);
}
