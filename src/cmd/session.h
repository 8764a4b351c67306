/* What a command needs to talk to a CA: the event loop, the HTTP client and
 * the ACME client for the configured CA, directory fetched. */
#ifndef ACMED_SESSION_H
#define ACMED_SESSION_H

#include <ev.h>
#include <stdbool.h>

#include "acme/acme_account.h"
#include "acme/acme_account_reg.h"
#include "acme/acme_client.h"
#include "conf/conf.h"
#include "io/http.h"
#include "renew/job.h"
#include "store/store_lock.h"

struct session {
	struct ev_loop *loop; /* the default loop */
	struct http *http;
	struct acme_client *acme;
	char *ca_file;
	int ready_rc;
	struct acme_account_handle acct;
	char *state_dir;
	bool waiting;
	int account_rc;
	char account_message[1024];
	/* The account's lock (acme_account_lock), held by session_account
	 * while it registers and by session_account_existing until
	 * session_account_unlock or session_finish. */
	struct store_lock *account_lock;
	/* Set by the daemon after session_init: do not wait for the lock
	 * (SESSION_BUSY instead), the loop must not block. */
	bool account_nowait;
};

/* Sets up the loop and clients for settings->ca (default letsencrypt) and
 * fetches the directory, running the loop until it arrives. Returns 0, or -1
 * with the reason logged (s is then finished). */
int session_init(struct session *s, const struct conf_settings *settings);

/* session_account's and session_account_existing's rc for a configuration
 * error the user must fix (exit 2). */
#define SESSION_USAGE (-2)

/* The directory URL of settings->ca (letsencrypt when unset), or NULL for
 * an unknown short name. Borrowed. */
const char *session_ca_url(const struct conf_settings *settings);

/* The state folder from settings (state-dir), else the default. New
 * string or NULL (logged). */
char *session_state_dir(const struct conf_settings *settings);

/* What a registration with settings sends (emails, agree-tos, EAB):
 * borrowed from settings. */
void session_account_options(const struct conf_settings *settings,
                             struct acme_account_reg_options *out);

/* session_account's and session_account_existing's rc when account_nowait
 * is set and another process holds the account's lock (logged). */
#define SESSION_BUSY (-4)

/* Opens the account for this CA under the state folder and makes sure the
 * CA knows it (registering it when needed), running the loop until then;
 * all under the account's lock, waited for (one line naming the holder), so
 * that a concurrent first run ends up on the account this one registered.
 * Returns 0, -1 on failure, -2 when the user must fix the configuration
 * (agree-tos, EAB), SESSION_BUSY; the reason is logged. */
int session_account(struct session *s, const struct conf_settings *settings);

/* session_account_existing: no account for this CA in the state folder, or
 * the CA knows none for its key. */
#define SESSION_NO_ACCOUNT (-3)

/* Opens the account for this CA that already exists, running the loop until
 * its URL is known (looked up with onlyReturnExisting when account.json was
 * lost). Never registers one: returns SESSION_NO_ACCOUNT (not logged) when
 * there is none, so that the command can say how to make one. Returns 0, -1
 * on failure (logged), -2 for a configuration error (logged). Holds the
 * account's lock until session_account_unlock or session_finish, so that
 * the caller changes the account (rollover, update, deactivate) alone. */
int session_account_existing(struct session *s, const struct conf_settings *settings);

/* Releases the account's lock; safe when not held. */
void session_account_unlock(struct session *s);

/* Sets up config (job.h) for a run on state_dir (borrowed, from
 * session_state_dir) that may need the CA: when need_ca, session_init and
 * session_account, and on success config's client and account; on failure
 * config->offline says why, so that the jobs that must order fail (and back
 * off) while the others go on. The loop and CA URL are set either way.
 * Returns 0, SESSION_USAGE for a configuration error (logged), or -1 when
 * the CA answered but the account cannot be used (logged; nothing to run). */
int session_connect(struct session *s, const struct conf_settings *settings, const char *state_dir,
                    bool need_ca, struct job_runner_config *config);

/* Frees everything; safe on a zeroed or finished session. */
void session_finish(struct session *s);

#endif
