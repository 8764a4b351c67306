/* dns-persist-01 (draft-ietf-acme-dns-persist-01): the responder that sets
 * nothing. The TXT record at _validation-persist.NAME is made once by the
 * user (`acmed dns-persist NAME` prints it) and authorises the account at
 * the CA for as long as it stays. present only looks, through the
 * resolvers, whether a record there authorises this account at one of the
 * challenge's issuers (challenge/persist.h): when none does, the order
 * stops with the reason before the CA is asked to validate, rather than
 * spend the authorization on a validation that fails. cleanup withdraws
 * nothing: the record is the user's. */
#include "challenge/responders.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/list.h"
#include "base/log.h"
#include "challenge/persist.h"

#define PERSIST_MESSAGE 1024
/* The names whose record's persistUntil is kept for
 * challenge_persist_until: the latest ones. */
#define PERSIST_SEEN_MAX 1024

struct responder {
	struct challenge base;
	struct dns *dns;
	bool own_dns;
	struct list lookups;
	struct list seen; /* newest first */
	size_t n_seen;
};

/* A name a record authorised, and that record's persistUntil. */
struct seen {
	struct list_node node; /* in responder.seen */
	bool wildcard;
	int64_t until; /* INT64_MAX: none */
	char name[256];
};

/* One present waiting for its TXT answer. */
struct lookup {
	struct list_node node; /* in responder.lookups */
	struct responder *r;
	struct dns_query *query;
	struct challenge_task task; /* the caller's strings, borrowed */
	char owner[PERSIST_OWNER_MAX];
	challenge_done_fn done;
	void *arg;
};

static struct seen *
seen_find(const struct responder *r, const char *name, bool wildcard)
{
	struct list_node *node;
	struct list_node *tmp;

	list_for_each(&r->seen, node, tmp)
	{
		struct seen *s = list_entry(node, struct seen, node);

		if (s->wildcard == wildcard && strcasecmp(s->name, name) == 0) {
			return s;
		}
	}
	return NULL;
}

static void
seen_drop(struct responder *r, struct seen *s)
{
	list_unlink(&s->node);
	r->n_seen--;
	free(s);
}

/* Keeps until for name, the newest; the oldest goes past the cap. Out of
 * memory only loses the fact. */
static void
seen_note(struct responder *r, const char *name, bool wildcard, int64_t until)
{
	struct seen *s = seen_find(r, name, wildcard);

	if (s != NULL) {
		seen_drop(r, s);
	}
	if (strlen(name) >= sizeof(s->name) || (s = calloc(1, sizeof(*s))) == NULL) {
		return;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->wildcard = wildcard;
	s->until = until;
	list_push(&r->seen, &s->node);
	r->n_seen++;
	if (r->n_seen > PERSIST_SEEN_MAX) {
		seen_drop(r, list_entry(r->seen.head.prev, struct seen, node));
	}
}

static void
lookup_free(struct lookup *l)
{
	dns_cancel(l->query);
	list_unlink(&l->node);
	free(l);
}

static void
on_answer(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct lookup *l = arg;
	challenge_done_fn done = l->done;
	void *done_arg = l->arg;
	char message[PERSIST_MESSAGE];
	char why[PERSIST_MESSAGE / 2];
	char until_text[32];
	char rc_name[16];
	int64_t until = INT64_MAX;
	int rc = -1;
	struct persist_want want = {
	        .issuers = l->task.issuers,
	        .n_issuers = l->task.n_issuers,
	        .account_uri = l->task.account_uri,
	        .wildcard = l->task.wildcard,
	        .now = (int64_t)time(NULL),
	};

	l->query = NULL;
	if (status != DNS_STATUS_OK) {
		snprintf(message, sizeof(message), "dns-persist-01: %s: TXT lookup: %s", l->owner,
		         dns_status_name(status));
	} else if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
		/* NXDOMAIN is an answer: no record. The others say nothing of
		 * the record; the resolvers (dns-resolver) are to be looked at. */
		snprintf(message, sizeof(message),
		         "dns-persist-01: %s: TXT lookup: the resolver answered %s (dns-resolver)",
		         l->owner, dns_rcode_name(rcode, rc_name, sizeof(rc_name)));
	} else if (persist_check_answer(msg->answer, msg->n_answer, &want, &until, why,
	                                sizeof(why)) != PERSIST_AUTHORIZES) {
		persist_refusal(l->owner, why, l->task.identifier, l->task.wildcard, message,
		                sizeof(message));
	} else {
		seen_note(l->r, l->task.identifier, l->task.wildcard, until);
		log_info("%s: %s: dns-persist-01: %s authorizes the account%s%s",
		         l->task.cert_name != NULL ? l->task.cert_name : "?", l->task.identifier,
		         l->owner, until != INT64_MAX ? " until " : "",
		         until != INT64_MAX
		                 ? persist_time_text(until, until_text, sizeof(until_text))
		                 : "");
		rc = 0;
	}
	/* done may destroy the responder: the lookup is gone first. */
	lookup_free(l);
	done(rc, rc == 0 ? NULL : message, done_arg);
}

/* What a task must hold for a lookup; NULL, or why not. */
static const char *
task_refused(const struct challenge_task *task)
{
	const char *why = NULL;

	if (task->id_type != IDENT_DNS) {
		why = "dns-persist-01 validates DNS names only";
	} else if (task->issuers == NULL || task->n_issuers == 0) {
		why = "dns-persist-01: the challenge names no issuer domain name";
	} else if (task->account_uri == NULL || task->account_uri[0] == '\0') {
		why = "dns-persist-01: no account URL";
	}
	return why;
}

static int
persist_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct responder *r = (struct responder *)ch;
	struct lookup *l = NULL;
	const char *why = task_refused(task);
	int ret = -1;

	if (why != NULL) {
		ret = challenge_defer(ch, -1, why, done, arg);
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		log_error("dns-persist: out of memory");
		goto out;
	}
	if (persist_owner_name(task->identifier, l->owner, sizeof(l->owner)) < 0) {
		ret = challenge_defer(ch, -1, "dns-persist-01: the name has no record owner", done,
		                      arg);
		goto out;
	}
	l->r = r;
	l->task = *task;
	l->done = done;
	l->arg = arg;
	list_push(&r->lookups, &l->node);
	if (dns_query(r->dns, l->owner, DNS_TYPE_TXT, 0, NULL, on_answer, l, &l->query) < 0) {
		lookup_free(l);
		l = NULL;
		goto out;
	}
	l = NULL;
	ret = 0;
out:
	free(l);
	return ret;
}

static int
persist_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	(void)task;
	return challenge_defer(ch, 0, NULL, done, arg);
}

static void
persist_destroy(struct challenge *ch)
{
	struct responder *r = (struct responder *)ch;

	while (!list_empty(&r->lookups)) {
		lookup_free(list_entry(list_first(&r->lookups), struct lookup, node));
	}
	while (!list_empty(&r->seen)) {
		seen_drop(r, list_entry(list_first(&r->seen), struct seen, node));
	}
	if (r->own_dns) {
		dns_destroy(r->dns);
	}
	free(r);
}

static const struct challenge_ops persist_ops = {
        .name = "dns-persist",
        .type = CHALLENGE_TYPE_DNSPERSIST01,
        .present = persist_present,
        .cleanup = persist_cleanup,
        .destroy = persist_destroy,
};

struct challenge *
challenge_persist_create(struct ev_loop *loop, const struct challenge_dns01_opts *opts)
{
	struct responder *r = calloc(1, sizeof(*r));
	char *err = NULL;

	if (r == NULL) {
		log_error("dns-persist: out of memory");
		goto out;
	}
	r->dns = opts->dns;
	if (r->dns == NULL) {
		r->dns = dns_create(loop, opts->resolvers, &err);
		r->own_dns = true;
	}
	if (r->dns == NULL) {
		log_error("%s", err != NULL ? err : "dns-resolver: out of memory");
		free(r);
		r = NULL;
		goto out;
	}
	challenge_init(&r->base, &persist_ops, loop);
	list_init(&r->lookups);
	list_init(&r->seen);
out:
	free(err);
	return r != NULL ? &r->base : NULL;
}

int
challenge_persist_until(const struct challenge *ch, const char *name, bool wildcard, int64_t *until)
{
	const struct seen *s = NULL;

	if (ch != NULL && ch->ops == &persist_ops && name != NULL) {
		s = seen_find((const struct responder *)ch, name, wildcard);
	}
	if (s != NULL) {
		*until = s->until;
	}
	return s != NULL ? 0 : -1;
}
