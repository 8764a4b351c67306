#include "renew/caa_dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* CNAME steps followed in one answer: as many as io/dns follows for
 * addresses; a longer chain is a loop or an attack. */
#define CNAME_STEPS 8

/* One lookup on its way: what to call, and io/dns's query. */
struct lookup {
	caa_answer_fn answer;
	void *arg;
	char *name;
	struct dns_query *q;
};

/* The target of a CNAME at owner in msg's answer, or NULL. */
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

/* Reads the CAA records owned by owner into records; -1 past cap. */
static int
records_at(const struct dns_msg *msg, const char *owner, struct caa_record *records, size_t cap,
           size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < msg->n_answer; i++) {
		const struct dns_rr *rr = &msg->answer[i];

		if (rr->type != DNS_TYPE_CAA || rr->rclass != DNS_CLASS_IN ||
		    !dns_name_equal(rr->name, owner)) {
			continue;
		}
		if (*n == cap) {
			return -1;
		}
		records[*n].flags = rr->u.caa.flags;
		records[*n].tag = rr->u.caa.tag;
		records[*n].tag_len = strlen(rr->u.caa.tag);
		records[*n].value = rr->u.caa.value;
		records[*n].value_len = rr->u.caa.len;
		(*n)++;
	}
	return 0;
}

void
caa_dns_read(const char *name, enum dns_status status, int rcode, const struct dns_msg *msg,
             struct caa_record *records, size_t cap, char *err, size_t errlen,
             struct caa_answer *out)
{
	char rbuf[16];
	const char *owner = name;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->status = CAA_ANSWER_FAILED;
	out->error = err;
	if (status != DNS_STATUS_OK || msg == NULL) {
		snprintf(err, errlen, "%s", dns_status_name(status));
		return;
	}
	if (rcode == DNS_RCODE_NXDOMAIN) {
		/* RFC 8659 section 3: a name that does not exist has no
		 * records; its parents are climbed all the same (the CNAME
		 * target's absence included). */
		out->status = CAA_ANSWER_NXDOMAIN;
		out->error = NULL;
		return;
	}
	if (rcode != DNS_RCODE_NOERROR) {
		snprintf(err, errlen, "%s", dns_rcode_name(rcode, rbuf, sizeof(rbuf)));
		return;
	}
	/* The resolver followed the CNAMEs (RFC 8659 section 3: CAA is looked
	 * up as any type); the records that count are at the chain's end,
	 * not some other owner's a server slipped in. */
	for (int step = 0; step < CNAME_STEPS && cname_of(msg, owner) != NULL; step++) {
		owner = cname_of(msg, owner);
	}
	if (cname_of(msg, owner) != NULL) {
		snprintf(err, errlen, "more than %d CNAMEs from %s", CNAME_STEPS, name);
		return;
	}
	if (records_at(msg, owner, records, cap, &n) < 0) {
		snprintf(err, errlen, "more than %zu CAA records at %s", cap, owner);
		return;
	}
	out->error = NULL;
	out->status = n > 0 ? CAA_ANSWER_RECORDS : CAA_ANSWER_EMPTY;
	out->records = n > 0 ? records : NULL;
	out->n_records = n;
}

static void
on_answer(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct lookup *l = arg;
	struct caa_record *records = NULL;
	struct caa_answer answer;
	char err[256];

	records = calloc(CAA_DNS_MAX_RECORDS, sizeof(*records));
	if (records == NULL) {
		memset(&answer, 0, sizeof(answer));
		answer.status = CAA_ANSWER_FAILED;
		answer.error = "out of memory";
	} else {
		caa_dns_read(l->name, status, rcode, msg, records, CAA_DNS_MAX_RECORDS, err,
		             sizeof(err), &answer);
	}
	/* The check may cancel other lookups or end inside: l is ours no more
	 * once answered. */
	l->answer(l->arg, &answer);
	free(records);
	free(l->name);
	free(l);
}

static int
lookup_query(void *ctx, const char *name, caa_answer_fn answer, void *arg, void **handle)
{
	struct lookup *l = calloc(1, sizeof(*l));
	int ret = -1;

	if (l == NULL || (l->name = strdup(name)) == NULL) {
		log_error("caa: %s: out of memory", name);
		goto out;
	}
	l->answer = answer;
	l->arg = arg;
	if (dns_query(ctx, name, DNS_TYPE_CAA, 0, NULL, on_answer, l, &l->q) < 0) {
		goto out;
	}
	*handle = l;
	l = NULL;
	ret = 0;
out:
	if (l != NULL) {
		free(l->name);
		free(l);
	}
	return ret;
}

static void
lookup_cancel(void *ctx, void *handle)
{
	struct lookup *l = handle;

	(void)ctx;
	if (l == NULL) {
		return;
	}
	dns_cancel(l->q);
	free(l->name);
	free(l);
}

const struct caa_lookup_ops caa_dns_ops = {
        .query = lookup_query,
        .cancel = lookup_cancel,
};
