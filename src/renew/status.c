#include "renew/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json_text.h"
#include "challenge/persist.h"
#include "store/store_cert.h"
#include "store/store_lock.h"

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
	row->installed = v->info.present;
	row->problem = v->info.problem;
}

void
status_row_holder(struct status_row *row, const struct state *st, const char *state_dir, char *buf,
                  size_t len)
{
	char holder[STORE_LOCK_HOLDER_LEN];
	char *path;

	if (row->running || state_dir == NULL || (row->installed && st->order_url == NULL)) {
		return;
	}
	path = store_cert_path(state_dir, row->cert, STORE_CERT_LOCK);
	if (path != NULL && store_lock_holder(path, holder)) {
		row->running = true;
		snprintf(buf, len, "an order is running: %s", holder);
		row->why = buf;
	}
	free(path);
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

const char *
status_row_state(const struct status_row *row, bool have_config, time_t now)
{
	bool error = row->last_error != NULL && row->last_error[0] != '\0';

	if (have_config && row->unconfigured) {
		return "unconfigured";
	}
	if (row->attempts > 0 || (error && row->next != 0 && row->next <= now)) {
		return "failing";
	}
	return row->next != 0 && row->next <= now ? "due" : "ok";
}

void
status_paths_write(struct buf *b, const char *state_dir, const char *cert)
{
	static const struct {
		const char *key;
		enum store_cert_file file;
	} files[] = {
	        {"cert", STORE_CERT_CERT},
	        {"chain", STORE_CERT_CHAIN},
	        {"fullchain", STORE_CERT_FULLCHAIN},
	        {"privkey", STORE_CERT_PRIVKEY},
	};

	json_text_key(b, "paths");
	buf_add(b, "{", 1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = store_cert_path(state_dir, cert, files[i].file);

		json_text_key(b, files[i].key);
		json_text_string(b, path);
		free(path);
	}
	buf_add(b, "}", 1);
}

void
status_row_write(struct buf *b, const struct status_row *row, const char *state_dir,
                 bool have_config, time_t now)
{
	char warning[512];
	const char *warn = status_persist_warning(row, now, warning, sizeof(warning));

	buf_add(b, "{", 1);
	json_text_key(b, "cert");
	json_text_string(b, row->cert);
	json_text_key(b, "domains");
	buf_add(b, "[", 1);
	for (size_t i = 0; i < row->n_domains; i++) {
		json_text_next(b);
		json_text_string(b, row->domains[i]);
	}
	buf_add(b, "]", 1);
	json_text_key(b, "state");
	json_text_string(b, status_row_state(row, have_config, now));
	json_text_key(b, "attempts");
	json_text_int(b, row->attempts);
	if (row->last_error != NULL) {
		json_text_key(b, "last_error");
		json_text_string(b, row->last_error);
	}
	json_text_key(b, "not_after");
	json_text_int(b, (long long)row->not_after);
	/* Whole days, rounded down (-1 on the day after it expired, and
	 * exactly one day after). */
	json_text_key(b, "days_left");
	if (row->installed) {
		long long left = (long long)(row->not_after - now);

		json_text_int(b, left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
	} else {
		json_text_null(b);
	}
	json_text_key(b, "next");
	json_text_int(b, (long long)row->next);
	json_text_key(b, "why");
	json_text_string(b, row->why != NULL ? row->why : "");
	json_text_key(b, "running");
	json_text_bool(b, row->running);
	json_text_key(b, "configured");
	json_text_bool(b, !row->unconfigured);
	json_text_key(b, "installed");
	json_text_bool(b, row->installed);
	json_text_key(b, "key_type");
	json_text_string(b,
	                 row->key_type != NULL && row->key_type[0] != '\0' ? row->key_type : NULL);
	json_text_key(b, "issuer");
	json_text_string(b, row->issuer);
	if (row->problem != NULL && row->problem[0] != '\0') {
		json_text_key(b, "problem");
		json_text_string(b, row->problem);
	}
	if (state_dir != NULL) {
		status_paths_write(b, state_dir, row->cert);
	}
	json_text_key(b, "ca");
	json_text_string(b, row->ca);
	json_text_key(b, "ca_fallback");
	json_text_string(b, row->ca_fallback);
	json_text_key(b, "persist_until");
	if (row->persist_until > 0) {
		json_text_int(b, (long long)row->persist_until);
	} else {
		json_text_null(b);
	}
	if (warn != NULL) {
		json_text_key(b, "warning");
		json_text_string(b, warn);
	}
	buf_add(b, "}", 1);
}
