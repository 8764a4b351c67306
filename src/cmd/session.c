#include "cmd/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ca.h"
#include "base/log.h"
#include "base/file.h"
#include "store/store.h"

#define DEFAULT_CA "letsencrypt"

static void
on_ready(int rc, const char *message, void *arg)
{
	struct session *s = arg;

	s->ready_rc = rc;
	if (rc < 0) {
		log_error("%s", message);
	}
	ev_break(s->loop, EVBREAK_ONE);
}

int
session_init(struct session *s, const struct conf_settings *settings)
{
	struct http_options opts;
	const char *ca = settings->ca != NULL ? settings->ca : DEFAULT_CA;
	const char *url;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	url = ca_directory_url(ca);
	if (url == NULL) {
		log_error("ca: '%s' is neither an https URL nor one of %s", ca, ca_short_names());
		goto out;
	}
	s->loop = ev_default_loop(EVFLAG_AUTO);
	if (s->loop == NULL) {
		log_error("cannot create the event loop");
		goto out;
	}
	if (settings->ca_file != NULL) {
		s->ca_file = strdup(settings->ca_file);
		if (s->ca_file == NULL) {
			log_error("out of memory");
			goto out;
		}
	}
	memset(&opts, 0, sizeof(opts));
	opts.ca_file = s->ca_file;
	s->http = http_create(s->loop, &opts);
	if (s->http == NULL) {
		goto out;
	}
	s->acme = acme_client_create(s->http, url);
	if (s->acme == NULL) {
		goto out;
	}
	s->ready_rc = -1;
	if (acme_client_start(s->acme, on_ready, s) < 0) {
		goto out;
	}
	ev_run(s->loop, 0);
	rc = s->ready_rc;
out:
	if (rc < 0) {
		session_finish(s);
	}
	return rc;
}

const char *
session_ca_url(const struct conf_settings *settings)
{
	return ca_directory_url(settings->ca != NULL ? settings->ca : DEFAULT_CA);
}

char *
session_state_dir(const struct conf_settings *settings)
{
	char *dir;

	if (settings->state_dir != NULL) {
		dir = strdup(settings->state_dir);
	} else {
		dir = store_default_dir();
	}
	if (dir == NULL) {
		log_error("no state folder: set state-dir or --state-dir");
	}
	return dir;
}

static void
on_account(int rc, const char *message, void *arg)
{
	struct session *s = arg;

	s->account_rc = rc;
	snprintf(s->account_message, sizeof(s->account_message), "%s", message);
	s->waiting = false;
}

/* Settles a rollover that was interrupted (account.key.new left behind)
 * before anything is signed: until then it is not known which key the CA
 * takes. Returns 0 or -1 (logged). */
/* Runs the loop until the account operation a starter returned started for
 * is over (on_account called): 0 when there was nothing to do or it
 * succeeded, -1 when it did not start, SESSION_USAGE, else its rc
 * (logged). */
static int
account_wait(struct session *s, enum acme_account_result started)
{
	if (started == ACME_ACCOUNT_KNOWN || started == ACME_ACCOUNT_NO_ROLLOVER) {
		return 0;
	}
	if (started != ACME_ACCOUNT_OK) {
		return -1;
	}
	while (s->waiting) {
		ev_run(s->loop, EVRUN_ONCE);
	}
	if (s->account_rc < 0) {
		log_error("%s", s->account_message);
	}
	return s->account_rc == ACME_ACCOUNT_USAGE ? SESSION_USAGE : s->account_rc;
}

static int
resume_rollover(struct session *s)
{
	enum acme_account_result started;

	s->waiting = true;
	s->account_rc = -1;
	started = acme_account_reg_resume_rollover(s->acme, &s->acct, on_account, s);
	return account_wait(s, started) < 0 ? -1 : 0;
}

/* Takes the account's lock before anything of the account is read. Returns
 * 0, -1 or SESSION_BUSY (logged). */
static int
lock_account(struct session *s)
{
	int rc = -1;

	s->account_lock = acme_account_lock(s->state_dir, acme_client_directory_url(s->acme),
	                                    !s->account_nowait);
	if (s->account_lock == NULL) {
		if (s->account_nowait && errno == EWOULDBLOCK) {
			log_info("%s: another acmed registers the account or changes its key",
			         acme_client_directory_url(s->acme));
			rc = SESSION_BUSY;
		}
		goto out;
	}
	rc = 0;
out:
	return rc;
}

void
session_account_unlock(struct session *s)
{
	store_lock_release(s->account_lock);
	s->account_lock = NULL;
}

void
session_account_options(const struct conf_settings *settings, struct acme_account_reg_options *out)
{
	memset(out, 0, sizeof(*out));
	out->emails = settings->emails;
	out->n_emails = settings->n_emails;
	out->agree_tos = settings->agree_tos;
	out->eab_kid = settings->eab_kid;
	out->eab_hmac_key = settings->eab_hmac_key;
	out->eab_alg = settings->eab_alg;
}

int
session_account(struct session *s, const struct conf_settings *settings)
{
	struct acme_account_reg_options opts;
	enum acme_account_result started;
	int rc = -1;

	s->state_dir = session_state_dir(settings);
	if (s->state_dir == NULL) {
		rc = -2;
		goto out;
	}
	/* Held until the CA knows the account and both files are written: a
	 * second first run waits here, then reads what this one wrote. */
	rc = lock_account(s);
	if (rc < 0) {
		goto out;
	}
	rc = -1;
	if (acme_account_open(&s->acct, s->state_dir, acme_client_directory_url(s->acme),
	                      settings->account_key_type) < 0 ||
	    resume_rollover(s) < 0) {
		goto out;
	}
	/* RFC 8555 section 7.3.6: the CA refuses everything a deactivated
	 * account signs; say so before ordering anything. */
	if (s->acct.status == ACME_STATUS_DEACTIVATED) {
		log_error(
		        "%s: the account is deactivated (acmed account deactivate) and the CA "
		        "refuses it: move %s away and a new account is registered on the next run",
		        s->acct.url, s->acct.dir);
		goto out;
	}
	s->waiting = true;
	s->account_rc = -1;
	session_account_options(settings, &opts);
	started = acme_account_reg_ensure(s->acme, &s->acct, &opts, false, on_account, s);
	rc = account_wait(s, started);
out:
	session_account_unlock(s);
	return rc;
}

int
session_account_existing(struct session *s, const struct conf_settings *settings)
{
	int rc = -1;

	s->state_dir = session_state_dir(settings);
	if (s->state_dir == NULL) {
		rc = -2;
		goto out;
	}
	rc = lock_account(s);
	if (rc < 0) {
		goto out;
	}
	rc = -1;
	if (acme_account_open(&s->acct, s->state_dir, acme_client_directory_url(s->acme),
	                      settings->account_key_type) < 0 ||
	    resume_rollover(s) < 0) {
		goto out;
	}
	if (s->acct.key_created) {
		rc = SESSION_NO_ACCOUNT;
		goto out;
	}
	if (s->acct.url != NULL) {
		rc = 0;
		goto out;
	}
	s->waiting = true;
	s->account_rc = -1;
	if (acme_account_reg_lookup(s->acme, &s->acct, on_account, s) != ACME_ACCOUNT_OK) {
		goto out;
	}
	while (s->waiting) {
		ev_run(s->loop, EVRUN_ONCE);
	}
	rc = s->account_rc;
	if (rc == ACME_ACCOUNT_NOT_FOUND) {
		rc = SESSION_NO_ACCOUNT;
	} else if (rc < 0) {
		log_error("%s", s->account_message);
	}
out:
	return rc;
}

int
session_connect(struct session *s, const struct conf_settings *settings, const char *state_dir,
                bool need_ca, struct job_runner_config *config)
{
	int arc;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	memset(config, 0, sizeof(*config));
	config->ca_url = session_ca_url(settings);
	if (config->ca_url == NULL) {
		log_error("ca: '%s' is neither an https URL nor one of %s", settings->ca,
		          ca_short_names());
		rc = SESSION_USAGE;
		goto out;
	}
	if (need_ca && session_init(s, settings) < 0) {
		config->offline = "the CA cannot be reached (see above)";
	} else if (need_ca) {
		arc = session_account(s, settings);
		if (arc == SESSION_USAGE) {
			rc = SESSION_USAGE;
			goto out;
		}
		if (arc < 0) {
			/* Said above; a problem of the account, not a reason to
			 * hold every certificate by a backoff. */
			goto out;
		} else {
			config->client = s->acme;
			config->acct = &s->acct;
		}
	}
	config->loop = s->loop != NULL ? s->loop : ev_default_loop(EVFLAG_AUTO);
	session_account_options(settings, &config->account_options);
	config->state_dir = state_dir;
	config->concurrency = settings->concurrency;
	rc = 0;
out:
	return rc;
}

void
session_finish(struct session *s)
{
	/* The HTTP client goes first: it drops transfers in flight without
	 * calling back into the ACME client. */
	http_destroy(s->http);
	acme_client_destroy(s->acme);
	acme_account_close(&s->acct);
	session_account_unlock(s);
	free(s->state_dir);
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
}
