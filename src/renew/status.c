#include "renew/status.h"

#include <string.h>

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
}
