#include "renew/persist_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge/persist.h"

#define LINE_MAX_LEN 768

static const char *const verdict_names[PERSIST_CHECK__MAX] = {
        [PERSIST_CHECK_ALLOWED] = "allowed",
        [PERSIST_CHECK_UNCHECKED] = "unchecked",
        [PERSIST_CHECK_REFUSED] = "refused",
};

/* One identifier and its lookup. */
struct item {
	struct persist_check *check;
	struct dns_query *query; /* on its way, else NULL */
	bool decided;
	bool wildcard; /* *.NAME: NAME's record, with policy=wildcard (section 5) */
	enum persist_check_verdict verdict;
	char name[IDENT_DNS_MAX + 3]; /* without "*." */
	char owner[PERSIST_OWNER_MAX];
	char line[LINE_MAX_LEN]; /* why, when not allowed */
};

struct persist_check {
	struct ev_loop *loop;
	struct dns *dns;
	persist_check_done_fn done;
	void *arg;
	ev_timer later; /* done from the loop when nothing was asked */
	char issuers[PERSIST_ISSUERS_MAX][PERSIST_ISSUER_MAX + 1];
	const char *issuer_ptrs[PERSIST_ISSUERS_MAX];
	size_t n_issuers;
	char *account_uri;
	int64_t now;
	struct item *items;
	size_t n;
	size_t undecided;
};

const char *
persist_check_verdict_name(enum persist_check_verdict v)
{
	return (unsigned)v < PERSIST_CHECK__MAX ? verdict_names[v] : "?";
}

static void
finish(struct persist_check *c)
{
	c->done(c, c->arg);
}

static void
decide(struct item *it, enum persist_check_verdict v)
{
	it->decided = true;
	it->verdict = v;
	it->check->undecided--;
}

static void
on_answer(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct item *it = arg;
	struct persist_check *c = it->check;
	struct persist_want want = {
	        .issuers = c->issuer_ptrs,
	        .n_issuers = c->n_issuers,
	        .account_uri = c->account_uri,
	        .wildcard = it->wildcard,
	        .now = c->now,
	};
	char why[LINE_MAX_LEN / 2];
	char rc_name[16];
	int64_t until;

	it->query = NULL;
	if (status != DNS_STATUS_OK) {
		snprintf(it->line, sizeof(it->line),
		         "dns-persist-01: %s: could not check: TXT lookup: %s", it->owner,
		         dns_status_name(status));
		decide(it, PERSIST_CHECK_UNCHECKED);
	} else if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
		/* NXDOMAIN says there is no record; SERVFAIL and the others
		 * say nothing of it: the CA asks its own resolvers. */
		snprintf(it->line, sizeof(it->line),
		         "dns-persist-01: %s: could not check: TXT lookup: the resolver answered "
		         "%s (dns-resolver)",
		         it->owner, dns_rcode_name(rcode, rc_name, sizeof(rc_name)));
		decide(it, PERSIST_CHECK_UNCHECKED);
	} else if (persist_check_answer(msg->answer, msg->n_answer, &want, &until, why,
	                                sizeof(why)) != PERSIST_AUTHORIZES) {
		persist_refusal(it->owner, why, it->name, it->wildcard, it->line, sizeof(it->line));
		decide(it, PERSIST_CHECK_REFUSED);
	} else {
		decide(it, PERSIST_CHECK_ALLOWED);
	}
	if (c->undecided == 0) {
		finish(c);
	}
}

static void
on_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	finish(w->data);
}

/* Fills it for id and asks for its record; decides it at once when it
 * needs no lookup (an IP address, a name without an owner) or the lookup
 * cannot start. */
static void
item_init(struct persist_check *c, struct item *it, const struct ident *id)
{
	const char *value = id->value != NULL ? id->value : "";

	it->check = c;
	c->undecided++;
	it->wildcard = strncmp(value, "*.", 2) == 0;
	snprintf(it->name, sizeof(it->name), "%s", it->wildcard ? value + 2 : value);
	if (id->type != IDENT_DNS) {
		snprintf(it->line, sizeof(it->line),
		         "dns-persist-01: %s: dns-persist-01 validates DNS names only", value);
		decide(it, PERSIST_CHECK_REFUSED);
		return;
	}
	if (persist_owner_name(it->name, it->owner, sizeof(it->owner)) < 0) {
		snprintf(it->line, sizeof(it->line),
		         "dns-persist-01: %s: the name has no record owner", value);
		decide(it, PERSIST_CHECK_REFUSED);
		return;
	}
	if (dns_query(c->dns, it->owner, DNS_TYPE_TXT, 0, NULL, on_answer, it, &it->query) < 0) {
		/* dns_query logged why: the name cannot be asked for. */
		snprintf(it->line, sizeof(it->line),
		         "dns-persist-01: %s: could not check: the TXT lookup did not start",
		         it->owner);
		decide(it, PERSIST_CHECK_UNCHECKED);
	}
}

/* The request's issuers that are domain names, normalized, and its
 * account, into c. Returns 0, or -1 with why. */
static int
copy_request(struct persist_check *c, const struct persist_check_request *req, char *why,
             size_t whylen)
{
	char one[256];

	for (size_t i = 0; i < req->n_issuers && c->n_issuers < PERSIST_ISSUERS_MAX; i++) {
		if (req->issuers[i] != NULL &&
		    persist_issuer_normalize(req->issuers[i], c->issuers[c->n_issuers],
		                             sizeof(c->issuers[0]), one, sizeof(one)) == 0) {
			c->issuer_ptrs[c->n_issuers] = c->issuers[c->n_issuers];
			c->n_issuers++;
		}
	}
	if (c->n_issuers == 0) {
		snprintf(why, whylen, "the CA's issuer domain names are not domain names");
		return -1;
	}
	if (req->account_uri == NULL || req->account_uri[0] == '\0') {
		snprintf(why, whylen, "no account URL");
		return -1;
	}
	c->account_uri = strdup(req->account_uri);
	if (c->account_uri == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	c->now = req->now;
	return 0;
}

struct persist_check *
persist_check_start(struct ev_loop *loop, struct dns *dns, const struct persist_check_request *req,
                    const struct ident *ids, size_t n, persist_check_done_fn done, void *arg,
                    char *why, size_t whylen)
{
	struct persist_check *c = NULL;
	struct persist_check *ret = NULL;

	if (n == 0) {
		snprintf(why, whylen, "no name");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->items = calloc(n, sizeof(*c->items))) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	c->loop = loop;
	c->dns = dns;
	c->done = done;
	c->arg = arg;
	ev_timer_init(&c->later, on_later, 0., 0.);
	c->later.data = c;
	if (copy_request(c, req, why, whylen) < 0) {
		goto out;
	}
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		item_init(c, &c->items[i], &ids[i]);
	}
	/* io/dns answers from the loop: a check whose names were all
	 * decided here is over from the loop too. */
	if (c->undecided == 0) {
		ev_timer_start(loop, &c->later);
	}
	ret = c;
	c = NULL;
out:
	persist_check_destroy(c);
	return ret;
}

void
persist_check_destroy(struct persist_check *c)
{
	if (c == NULL) {
		return;
	}
	if (c->loop != NULL) {
		ev_timer_stop(c->loop, &c->later);
	}
	for (size_t i = 0; c->items != NULL && i < c->n; i++) {
		dns_cancel(c->items[i].query);
	}
	free(c->items);
	free(c->account_uri);
	free(c);
}

enum persist_check_verdict
persist_check_verdict(const struct persist_check *c)
{
	enum persist_check_verdict v = PERSIST_CHECK_ALLOWED;

	for (size_t i = 0; i < c->n; i++) {
		if (c->items[i].decided && c->items[i].verdict > v) {
			v = c->items[i].verdict;
		}
	}
	return v;
}

char *
persist_check_summary(const struct persist_check *c, char *buf, size_t len)
{
	enum persist_check_verdict v = persist_check_verdict(c);
	const struct item *first = NULL;
	size_t others = 0;

	if (v == PERSIST_CHECK_ALLOWED) {
		snprintf(buf, len,
		         "dns-persist-01: the record%s of %zu name%s authorise%s the account",
		         c->n > 1 ? "s" : "", c->n, c->n > 1 ? "s" : "", c->n > 1 ? "" : "s");
		return buf;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!c->items[i].decided || c->items[i].verdict != v) {
			continue;
		}
		if (first == NULL) {
			first = &c->items[i];
		} else {
			others++;
		}
	}
	snprintf(buf, len, "%s", first != NULL ? first->line : "dns-persist-01: not decided");
	if (others > 0 && strlen(buf) + 1 < len) {
		snprintf(buf + strlen(buf), len - strlen(buf), " (and %zu more name%s)", others,
		         others > 1 ? "s" : "");
	}
	return buf;
}
