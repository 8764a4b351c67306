#include "renew/status.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "challenge/persist.h"

const char *
status_last_error(const struct state *st)
{
	return st->deploy_pending && st->deploy_error != NULL ? st->deploy_error : st->last_error;
}

long
status_failures(const struct state *st)
{
	return st->attempts + (st->deploy_pending ? st->deploy_attempts : 0);
}

void
status_row_fill(struct status_row *row, const char *cert, const struct conf_settings *s,
                const struct policy_view *v, const struct policy_decision *d)
{
	memset(row, 0, sizeof(*row));
	row->cert = cert;
	row->domains = s->domains;
	row->n_domains = s->n_domains;
	row->not_after = v->info.not_after;
	row->not_before = v->info.not_before;
	row->last_success = v->st.last_success;
	row->key_type = v->info.key_type;
	row->issuer = v->info.issuer;
	row->next = d->when;
	row->attempts = status_failures(&v->st);
	row->last_error = status_last_error(&v->st);
	row->why = d->why;
	row->ca = v->st.ca;
	row->ca_fallback = v->st.ca_fallback;
	row->persist_until = s->challenge == CONF_CHALLENGE_DNSPERSIST01 ? v->st.persist_until : 0;
}

const char *
status_persist_warning(const struct status_row *row, time_t now, char *buf, size_t len)
{
	char when[32];
	const char *ret = NULL;

	if (row->persist_until <= 0 || row->persist_until - now > STATUS_PERSIST_WARN_S) {
		goto out;
	}
	persist_time_text((int64_t)row->persist_until, when, sizeof(when));
	if (row->persist_until <= now) {
		/* draft-ietf-acme-dns-persist-01: the CA takes it for no new
		 * validation; an authorization still valid may carry on. */
		snprintf(buf, len,
		         "the dns-persist-01 record's persistUntil passed (%s): the next "
		         "validation fails; create the record `acmed dns-persist NAME` prints",
		         when);
	} else {
		snprintf(buf, len,
		         "the dns-persist-01 record's persistUntil is %s, in %lld days: create "
		         "the record `acmed dns-persist NAME` prints before",
		         when, (long long)((row->persist_until - now) / 86400));
	}
	ret = buf;
out:
	return ret;
}
