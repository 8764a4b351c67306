#include "cmd/session.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/ca.h"
#include "base/log.h"
#include "base/file.h"
#include "store/store.h"

/* The directory URL of settings->ca, or NULL (logged: the user must name
 * another CA). */
static const char *
ca_url_or_say(const struct conf_settings *settings)
{
	const char *url = session_ca_url(settings);

	if (url == NULL) {
		log_error("ca: '%s' is neither a [ca NAME] section, an https URL nor one of %s",
		          settings->ca, ca_short_names());
	}
	return url;
}

/* Everything but the fleet's store, zeroed. */
static void
finish_ca(struct session *s)
{
	struct cmd_fleet *fleet = s->fleet;

	/* The HTTP client goes first: it drops transfers in flight without
	 * calling back into the ACME client. */
	http_destroy(s->http);
	acme_client_destroy(s->acme);
	acme_account_close(&s->acct);
	session_account_unlock(s);
	free(s->state_dir);
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
	s->fleet = fleet;
}

enum session_result
session_init(struct session *s, const struct conf_settings *settings)
{
	struct http_options opts;
	const char *url;
	int started;
	enum session_result rc = SESSION_FAILED;

	memset(s, 0, sizeof(*s));
	url = ca_url_or_say(settings);
	if (url == NULL) {
		rc = SESSION_USAGE;
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
	session_wait_init(&s->wait);
	started = acme_client_start(s->acme, session_wait_done, &s->wait);
	if (session_wait(s, &s->wait, started) < 0) {
		if (started == 0) {
			log_error("%s", s->wait.message);
		}
		goto out;
	}
	rc = SESSION_OK;
out:
	if (rc != SESSION_OK) {
		finish_ca(s);
	}
	return rc;
}

const char *
session_ca_url(const struct conf_settings *settings)
{
	return ca_settings_url(settings->ca);
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

void
session_wait_init(struct session_wait *w)
{
	w->waiting = true;
	w->rc = -1;
	w->message[0] = '\0';
}

void
session_wait_done(int rc, const char *message, void *arg)
{
	struct session_wait *w = arg;

	w->rc = rc;
	snprintf(w->message, sizeof(w->message), "%s", message);
	w->waiting = false;
}

int
session_wait(struct session *s, struct session_wait *w, int started)
{
	int rc = -1;

	if (started == 1) {
		rc = 0;
		goto out;
	}
	if (started < 0) {
		goto out;
	}
	while (w->waiting) {
		ev_run(s->loop, EVRUN_ONCE);
	}
	rc = w->rc;
out:
	return rc;
}

/* What an account operation's rc (acme_account_done_fn) means here. */
static enum session_result
account_result(int rc)
{
	enum session_result ret = SESSION_FAILED;

	if (rc >= 0) {
		ret = SESSION_OK;
	} else if (rc == ACME_ACCOUNT_NOT_FOUND) {
		ret = SESSION_NO_ACCOUNT;
	} else if (rc == ACME_ACCOUNT_USAGE) {
		/* acme_account_done_fn: a configuration problem the user
		 * must fix (agree-tos, EAB). */
		ret = SESSION_USAGE;
	}
	return ret;
}

/* Forwards an account operation's end to the session's wait. */
static void
on_account(int rc, const char *message, void *arg)
{
	struct session *s = arg;

	session_wait_done(rc, message, &s->wait);
}

/* An account starter's result in session_wait's terms: 0 started, 1
 * nothing to do (the account known, no rollover to finish), -1 not
 * started. */
static int
account_started(enum acme_account_result started)
{
	if (started == ACME_ACCOUNT_OK) {
		return 0;
	}
	return started == ACME_ACCOUNT_KNOWN || started == ACME_ACCOUNT_NO_ROLLOVER ? 1 : -1;
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

/* Runs the loop until the account operation a starter returned started for
 * is over: SESSION_OK when there was nothing to do or it succeeded, else
 * what its rc means (logged). */
static enum session_result
account_wait(struct session *s, int started)
{
	enum session_result rc = account_result(session_wait(s, &s->wait, started));

	if (rc != SESSION_OK && started == 0) {
		log_error("%s", s->wait.message);
	}
	return rc;
}

/* Settles a rollover that was interrupted (account.key.new left behind)
 * before anything is signed: until then it is not known which key the CA
 * takes. Returns SESSION_OK or SESSION_FAILED. */
static enum session_result
resume_rollover(struct session *s)
{
	int started;

	session_wait_init(&s->wait);
	started =
	        account_started(acme_account_reg_resume_rollover(s->acme, &s->acct, on_account, s));
	return account_wait(s, started) != SESSION_OK ? SESSION_FAILED : SESSION_OK;
}

/* Takes the account's lock before anything of the account is read. Returns
 * SESSION_OK, SESSION_FAILED or SESSION_BUSY. */
static enum session_result
lock_account(struct session *s)
{
	enum session_result rc = SESSION_FAILED;

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
	rc = SESSION_OK;
out:
	return rc;
}

void
session_account_unlock(struct session *s)
{
	store_lock_release(s->account_lock);
	s->account_lock = NULL;
}

/* What session_account and session_account_existing begin with: the state
 * folder, the account's lock, the account's files, a rollover settled. */
static enum session_result
open_account(struct session *s, const struct conf_settings *settings)
{
	enum session_result rc = SESSION_USAGE;

	s->state_dir = session_state_dir(settings);
	if (s->state_dir == NULL) {
		goto out;
	}
	/* Held until the CA knows the account and both files are written: a
	 * second first run waits here, then reads what this one wrote. */
	rc = lock_account(s);
	if (rc != SESSION_OK) {
		goto out;
	}
	rc = SESSION_FAILED;
	if (acme_account_open(&s->acct, s->state_dir, acme_client_directory_url(s->acme),
	                      settings->account_key_type) < 0) {
		goto out;
	}
	rc = resume_rollover(s);
out:
	return rc;
}

/* Makes sure the CA knows the open account, registering it when needed. */
static enum session_result
ensure_account(struct session *s, const struct conf_settings *settings)
{
	struct acme_account_reg_options opts;
	int started;
	enum session_result rc = SESSION_FAILED;

	/* RFC 8555 section 7.3.6: the CA refuses everything a deactivated
	 * account signs; say so before ordering anything. */
	if (s->acct.status == ACME_STATUS_DEACTIVATED) {
		log_error(
		        "%s: the account is deactivated (acmed account deactivate) and the CA "
		        "refuses it: move %s away and a new account is registered on the next run",
		        s->acct.url, s->acct.dir);
		goto out;
	}
	session_wait_init(&s->wait);
	session_account_options(settings, &opts);
	started = account_started(
	        acme_account_reg_ensure(s->acme, &s->acct, &opts, false, on_account, s));
	rc = account_wait(s, started);
	/* Only a lookup reports that there is no account. */
	if (rc == SESSION_NO_ACCOUNT) {
		rc = SESSION_FAILED;
	}
out:
	return rc;
}

/* The URL of the open account when the CA knows one for its key, never
 * registering one. */
static enum session_result
find_account(struct session *s)
{
	int started;
	enum session_result rc = SESSION_NO_ACCOUNT;

	if (s->acct.key_created) {
		goto out;
	}
	rc = SESSION_OK;
	if (s->acct.url != NULL) {
		goto out;
	}
	session_wait_init(&s->wait);
	started = account_started(acme_account_reg_lookup(s->acme, &s->acct, on_account, s));
	rc = account_result(session_wait(s, &s->wait, started));
	/* No account is for the caller to explain. */
	if (rc != SESSION_OK && rc != SESSION_NO_ACCOUNT && started == 0) {
		log_error("%s", s->wait.message);
	}
out:
	return rc;
}

enum session_result
session_account(struct session *s, const struct conf_settings *settings)
{
	enum session_result rc = open_account(s, settings);

	if (rc == SESSION_OK) {
		rc = ensure_account(s, settings);
	}
	session_account_unlock(s);
	return rc;
}

enum session_result
session_account_existing(struct session *s, const struct conf_settings *settings)
{
	enum session_result rc = open_account(s, settings);

	/* The lock stays: the caller changes the account next. */
	if (rc == SESSION_OK) {
		rc = find_account(s);
	}
	return rc;
}

/* session_init, keeping in s->offline why the CA could not be reached
 * (the line it logged) for the jobs' records. */
static enum session_result
connect_ca(struct session *s, const struct conf_settings *settings)
{
	struct log_capture cap;
	enum session_result rc;

	log_capture_begin(&cap);
	/* Said as an error by the jobs that cannot order for it; a run
	 * with nothing due, or whose certificates fail over, goes on. */
	cap.demote = true;
	rc = session_init(s, settings);
	log_capture_end(&cap);
	if (rc != SESSION_OK) {
		/* session_init finished s: the reason is written after. */
		snprintf(s->offline, sizeof(s->offline), "%s: %s", SESSION_OFFLINE_UNREACHABLE,
		         cap.first[0] != '\0' ? cap.first : "no answer");
	}
	return rc;
}

enum session_result
session_connect(struct session *s, const struct conf_settings *settings, const char *state_dir,
                bool need_ca, struct job_runner_config *config)
{
	enum session_result rc = SESSION_USAGE;
	/* Opened first (a node with another key must not start), kept in s
	 * once s is set up: its callbacks hold its address. */
	struct cmd_fleet *fleet = NULL;

	memset(s, 0, sizeof(*s));
	memset(config, 0, sizeof(*config));
	config->ca_url = ca_url_or_say(settings);
	if (config->ca_url == NULL) {
		goto out;
	}
	if (settings->ca_file != NULL) {
		char why[PATH_MAX + 256];

		/* This host's mistake, not the CA's trouble: said, and no
		 * certificate is held by a failure's backoff for it. */
		if (http_ca_file_check(settings->ca_file, why, sizeof(why)) < 0) {
			log_error("%s", why);
			goto out;
		}
	}
	fleet = calloc(1, sizeof(*fleet));
	if (fleet == NULL) {
		log_error("out of memory");
		rc = SESSION_FAILED;
		goto out;
	}
	switch (cmd_fleet_open(fleet, ev_default_loop(EVFLAG_AUTO), settings)) {
	case 0:
		break;
	case -2:
		goto out;
	default:
		rc = SESSION_FAILED;
		goto out;
	}
	config->cluster = fleet->cluster;
	if (need_ca && connect_ca(s, settings) != SESSION_OK) {
		config->offline = s->offline;
	} else if (need_ca) {
		s->fleet = fleet;
		fleet = NULL;
		if (cmd_fleet_account_pull(s->fleet, state_dir, config->ca_url) < 0) {
			rc = SESSION_FAILED;
			goto out;
		}
		rc = session_account(s, settings);
		/* A problem of the account (said above) is no reason to hold
		 * every certificate by a backoff: nothing runs. */
		if (rc != SESSION_OK) {
			rc = rc == SESSION_USAGE ? SESSION_USAGE : SESSION_FAILED;
			goto out;
		}
		config->client = s->acme;
		config->acct = &s->acct;
		cmd_fleet_account_push(s->fleet, &s->acct, state_dir, config->ca_url);
	}
	config->loop = s->loop != NULL ? s->loop : ev_default_loop(EVFLAG_AUTO);
	session_account_options(settings, &config->account_options);
	config->state_dir = state_dir;
	config->concurrency = settings->concurrency;
	config->new_order_concurrency = settings->new_order_concurrency;
	rc = SESSION_OK;
out:
	if (fleet != NULL && rc == SESSION_OK) {
		s->fleet = fleet;
	} else if (fleet != NULL) {
		cmd_fleet_close(fleet);
		free(fleet);
		config->cluster = NULL;
	}
	return rc;
}

/* Whether url is config's first CA or one of m's first n. */
static bool
ca_had(const struct session_more *m, size_t n, const struct job_runner_config *config,
       const char *url)
{
	if (config->ca_url != NULL && strcmp(config->ca_url, url) == 0) {
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m->cas[i].ca_url, url) == 0) {
			return true;
		}
	}
	return false;
}

/* The CA of m->cas[i]: reached, its account made sure of. A CA that
 * cannot be used is kept offline, with why. */
static enum session_result
connect_one_more(struct session_more *m, size_t i, const struct conf_settings *st, const char *url,
                 const char *state_dir, bool need_ca, struct cmd_fleet *fleet)
{
	struct session *s = &m->sessions[i];
	struct job_runner_ca *ca = &m->cas[i];
	struct log_capture cap;
	enum session_result rc = SESSION_OK;

	memset(ca, 0, sizeof(*ca));
	ca->ca_url = url;
	ca->new_order_concurrency = st->new_order_concurrency;
	ca->profile = st->profile;
	ca->caa_identities = st->caa_identities;
	ca->n_caa_identities = st->n_caa_identities;
	session_account_options(st, &ca->account_options);
	if (!need_ca) {
		return SESSION_OK;
	}
	if (connect_ca(s, st) != SESSION_OK) {
		ca->offline = s->offline;
		return SESSION_OK;
	}
	log_capture_begin(&cap);
	/* A CA the list falls back on: its trouble is said again if it
	 * is needed. */
	cap.demote = true;
	if (fleet != NULL && cmd_fleet_account_pull(fleet, state_dir, url) < 0) {
		rc = SESSION_FAILED;
	} else {
		rc = session_account(s, st);
	}
	log_capture_end(&cap);
	if (rc == SESSION_OK) {
		ca->client = s->acme;
		ca->acct = &s->acct;
		if (fleet != NULL) {
			cmd_fleet_account_push(fleet, &s->acct, state_dir, url);
		}
	} else {
		/* A configuration problem of this CA's (its EAB, its terms)
		 * stops only what must order from it. */
		snprintf(s->offline, sizeof(s->offline), "%s: its account: %s",
		         SESSION_OFFLINE_UNREACHABLE, cap.first[0] != '\0' ? cap.first : "failed");
		ca->offline = s->offline;
		rc = SESSION_OK;
	}
	return rc;
}

enum session_result
session_connect_more(struct session_more *m, const struct conf_settings *const *settings, size_t n,
                     const char *state_dir, bool need_ca, struct cmd_fleet *fleet,
                     struct job_runner_config *config)
{
	enum session_result rc = SESSION_FAILED;

	memset(m, 0, sizeof(*m));
	m->sessions = calloc(n + 1, sizeof(*m->sessions));
	m->cas = calloc(n + 1, sizeof(*m->cas));
	if (m->sessions == NULL || m->cas == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *url = ca_url_or_say(settings[i]);

		if (url == NULL) {
			rc = SESSION_USAGE;
			goto out;
		}
		if (ca_had(m, m->n, config, url)) {
			continue;
		}
		rc = connect_one_more(m, m->n++, settings[i], url, state_dir, need_ca, fleet);
		if (rc != SESSION_OK) {
			goto out;
		}
	}
	config->more_cas = m->cas;
	config->n_more_cas = m->n;
	rc = SESSION_OK;
out:
	return rc;
}

enum session_result
session_more_retry(struct session_more *m, size_t i, const struct conf_settings *st,
                   const char *state_dir, struct cmd_fleet *fleet)
{
	if (i >= m->n || m->cas[i].client != NULL) {
		return SESSION_OK;
	}
	session_finish(&m->sessions[i]);
	return connect_one_more(m, i, st, m->cas[i].ca_url, state_dir, true, fleet);
}

void
session_more_finish(struct session_more *m)
{
	for (size_t i = 0; m->sessions != NULL && i < m->n; i++) {
		session_finish(&m->sessions[i]);
	}
	free(m->sessions);
	free(m->cas);
	memset(m, 0, sizeof(*m));
}

void
session_finish(struct session *s)
{
	finish_ca(s);
	if (s->fleet != NULL) {
		cmd_fleet_close(s->fleet);
		free(s->fleet);
	}
	memset(s, 0, sizeof(*s));
}

/* What a signal stops: the runner, else cert --csr's order and its
 * responder (a present cut short is then withdrawn by the order). */
static void
stop_target(struct session_signals *ss)
{
	if (ss->runner != NULL) {
		job_runner_stop(ss->runner, NULL, NULL);
	} else if (ss->order != NULL) {
		acme_order_stop(ss->order);
		challenge_stop(ss->responder);
	}
}

/* The first signal stops the runner; the second ends the process now. */
static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct session_signals *ss = w->data;

	(void)loop;
	(void)revents;
	if (ss->signum != 0) {
		log_warn("stopping at once (signal %d): challenges may be left in place",
		         w->signum);
		_exit(128 + ss->signum);
	}
	ss->signum = w->signum;
	log_warn("stopping: cleaning up the challenges (again to stop at once)");
	stop_target(ss);
}

void
session_signals_start(struct session_signals *ss, struct ev_loop *loop)
{
	memset(ss, 0, sizeof(*ss));
	ss->loop = loop;
	ev_signal_init(&ss->term, on_signal, SIGTERM);
	ev_signal_init(&ss->intr, on_signal, SIGINT);
	ss->term.data = ss->intr.data = ss;
	ev_signal_start(loop, &ss->term);
	ev_signal_start(loop, &ss->intr);
}

void
session_signals_runner(struct session_signals *ss, struct job_runner *runner)
{
	ss->runner = runner;
	if (runner != NULL && ss->signum != 0) {
		stop_target(ss);
	}
}

void
session_signals_order(struct session_signals *ss, struct acme_order_run *order,
                      struct challenge *responder)
{
	ss->order = order;
	ss->responder = responder;
	if (order != NULL && ss->signum != 0) {
		stop_target(ss);
	}
}

void
session_signals_stop(struct session_signals *ss)
{
	if (ss->loop == NULL) {
		return;
	}
	ev_signal_stop(ss->loop, &ss->term);
	ev_signal_stop(ss->loop, &ss->intr);
	ss->loop = NULL;
	ss->runner = NULL;
	ss->order = NULL;
	ss->responder = NULL;
}

int
session_signals_exit(const struct session_signals *ss)
{
	return ss->signum != 0 ? 128 + ss->signum : 0;
}
