/* What a command needs to talk to a CA: the event loop, the HTTP client and
 * the ACME client for the configured CA, directory fetched. */
#ifndef ACMED_SESSION_H
#define ACMED_SESSION_H

#include <ev.h>
#include <stdbool.h>

#include "acme/acme_account.h"
#include "acme/acme_account_reg.h"
#include "acme/acme_client.h"
#include "acme/acme_order.h"
#include "cmd/fleet.h"
#include "conf/conf.h"
#include "io/http.h"
#include "renew/job_runner.h"
#include "store/store_lock.h"

/* What the session functions return; every failure is logged unless said
 * otherwise. */
enum session_result {
	SESSION_OK = 0,
	SESSION_FAILED = -1,
	/* A configuration problem the user must fix (exit 2): an unknown CA,
	 * no state folder, agree-tos or EAB missing. */
	SESSION_USAGE = -2,
	/* session_account_existing: no account for this CA in the state
	 * folder, or the CA knows none for its key (not logged). */
	SESSION_NO_ACCOUNT = -3,
	/* account_nowait is set and another process holds the account's
	 * lock. */
	SESSION_BUSY = -4,
};

/* One request in flight whose callback (session_wait_done) ends the wait:
 * the directory, an account operation, a revocation. */
struct session_wait {
	bool waiting;
	int rc; /* the callback's rc */
	char message[1024]; /* the callback's message, "" until it came */
};

struct session {
	struct ev_loop *loop; /* the default loop */
	struct http *http;
	struct acme_client *acme;
	char *ca_file;
	struct acme_account_handle acct;
	char *state_dir;
	struct session_wait wait; /* the directory or account request in flight */
	/* The account's lock (acme_account_lock), held by session_account
	 * while it registers and by session_account_existing until
	 * session_account_unlock or session_finish. */
	struct store_lock *account_lock;
	/* Set by the daemon after session_init: do not wait for the lock
	 * (SESSION_BUSY instead), the loop must not block. */
	bool account_nowait;
	/* Fleet mode: the shared store of a one-shot command (session_connect;
	 * the daemon keeps its own, which outlives its session). */
	struct cmd_fleet *fleet; /* owned, or NULL */
	/* Why the CA could not be reached (session_connect's config->offline),
	 * with the reason session_init logged: stored as the jobs' last error
	 * and shown by `acmed status` long after the log. */
	char offline[640];
};

/* Sets up the loop and clients for settings->ca (default letsencrypt) and
 * fetches the directory, running the loop until it arrives. Returns
 * SESSION_OK, SESSION_USAGE for an unknown CA, or SESSION_FAILED (s is then
 * finished). */
enum session_result session_init(struct session *s, const struct conf_settings *settings);

/* The directory URL of settings->ca (letsencrypt when unset), or NULL for
 * an unknown short name. Borrowed. */
const char *session_ca_url(const struct conf_settings *settings);

/* The state folder from settings (state-dir), else the default. New
 * string or NULL (logged). */
char *session_state_dir(const struct conf_settings *settings);

/* Readies w for an operation about to start. */
void session_wait_init(struct session_wait *w);

/* The callback that ends w's wait (acme_ready_fn, acme_account_done_fn,
 * acme_revoke_done_fn); arg is the struct session_wait. */
void session_wait_done(int rc, const char *message, void *arg);

/* Runs s's loop until the operation its starter returned started for is
 * over. started: what the starter returned, 0 when it started, 1 when there
 * was nothing to do, negative when it did not start (logged by it). Returns
 * the callback's rc (its message in w->message, not logged), 0 for nothing
 * to do, or -1 when it did not start. */
int session_wait(struct session *s, struct session_wait *w, int started);

/* What a registration with settings sends (emails, agree-tos, EAB):
 * borrowed from settings. */
void session_account_options(const struct conf_settings *settings,
                             struct acme_account_reg_options *out);

/* Opens the account for this CA under the state folder and makes sure the
 * CA knows it (registering it when needed), running the loop until then;
 * all under the account's lock, waited for (one line naming the holder), so
 * that a concurrent first run ends up on the account this one registered.
 * Returns SESSION_OK, SESSION_FAILED, SESSION_USAGE (agree-tos, EAB) or
 * SESSION_BUSY. */
enum session_result session_account(struct session *s, const struct conf_settings *settings);

/* Opens the account for this CA that already exists, running the loop until
 * its URL is known (looked up with onlyReturnExisting when account.json was
 * lost). Never registers one: returns SESSION_NO_ACCOUNT (not logged) when
 * there is none, so that the command can say how to make one. Returns
 * SESSION_OK, SESSION_FAILED or SESSION_USAGE besides. Holds the account's
 * lock until session_account_unlock or session_finish, so that the caller
 * changes the account (rollover, update, deactivate) alone. */
enum session_result session_account_existing(struct session *s,
                                             const struct conf_settings *settings);

/* Releases the account's lock; safe when not held. */
void session_account_unlock(struct session *s);

/* Why the jobs that must order cannot when need_ca and the CA could not
 * be reached: config->offline of session_connect is this, then ": " and
 * the reason session_init logged. */
#define SESSION_OFFLINE_UNREACHABLE "the CA cannot be reached"

/* Sets up config (job.h) for a run on state_dir; in fleet mode the
 * shared store first (cmd_fleet_open: SESSION_USAGE for a bad key) and
 * the fleet's account;  (borrowed, from
 * session_state_dir) that may need the CA: when need_ca, session_init and
 * session_account, and on success config's client and account; on failure
 * config->offline says why, so that the jobs that must order fail (and back
 * off) while the others go on. The loop and CA URL are set either way.
 * Returns SESSION_OK, SESSION_USAGE for a configuration error, or
 * SESSION_FAILED when the CA answered but the account cannot be used
 * (nothing to run). */
enum session_result session_connect(struct session *s, const struct conf_settings *settings,
                                    const char *state_dir, bool need_ca,
                                    struct job_runner_config *config);

/* The other CAs a run orders from: the later CAs of the certificates' ca
 * lists (failover) and a daemon's other CAs. One session each. */
struct session_more {
	struct session *sessions;
	struct job_runner_ca *cas; /* for job_runner_config.more_cas */
	size_t n;
};

/* Sets up m for each of the n settings (each resolved for its CA,
 * conf_resolve_at), skipping a CA config (job_runner_config, set up by
 * session_connect) already has or an earlier one: each CA reached and its
 * account made sure of when need_ca, else (or when that fails) its
 * offline reason kept, so that its jobs fail over or fail with it. fleet:
 * the run's shared store (the accounts shared through it), or NULL. Sets
 * config->more_cas. Returns SESSION_OK, or SESSION_USAGE for a
 * configuration error (said), or SESSION_FAILED (out of memory). */
enum session_result session_connect_more(struct session_more *m,
                                         const struct conf_settings *const *settings, size_t n,
                                         const char *state_dir, bool need_ca,
                                         struct cmd_fleet *fleet, struct job_runner_config *config);

/* Tries again to reach m's i-th CA when it could not be (m->cas[i].client
 * NULL), with its settings st: afterwards m->cas[i] is what
 * job_runner_set_ca takes. Returns as session_connect_more. */
enum session_result session_more_retry(struct session_more *m, size_t i,
                                       const struct conf_settings *st, const char *state_dir,
                                       struct cmd_fleet *fleet);

/* Frees m's sessions; safe on a zeroed one. */
void session_more_finish(struct session_more *m);

/* SIGTERM and SIGINT while a one-shot command (cert, renew) has jobs that
 * may present challenges. The first stops the runner (job_runner_stop:
 * the challenges withdrawn, the order kept for the next run), said in one
 * line; the command then ends with session_signals_exit. A second exits at
 * once with the same status. Outside start..stop the signals keep their
 * default action (nothing is presented then). */
struct session_signals {
	struct ev_loop *loop;
	ev_signal term;
	ev_signal intr;
	struct job_runner *runner; /* borrowed, or NULL between runners */
	/* cert --csr: its order (acme_order_stop) and responder
	 * (challenge_stop), borrowed, or NULL. */
	struct acme_order_run *order;
	struct challenge *responder;
	int signum; /* the first signal caught; 0: none */
};

/* Catches the two signals on loop from now on. */
void session_signals_start(struct session_signals *ss, struct ev_loop *loop);

/* The runner a signal stops from now on (borrowed; NULL: none). One
 * caught before is acted on now: runner is stopped before it starts a
 * job. */
void session_signals_runner(struct session_signals *ss, struct job_runner *runner);

/* cert --csr: the order a signal stops from now on, and its responder
 * (borrowed; order NULL: none, set from the order's done so that no
 * signal reaches a run that ended). One caught before stops it now. */
void session_signals_order(struct session_signals *ss, struct acme_order_run *order,
                           struct challenge *responder);

/* The default actions again; safe on a zeroed one. */
void session_signals_stop(struct session_signals *ss);

/* The exit status a signal caught asks for, 128 + its number (130 for
 * SIGINT, 143 for SIGTERM), or 0 when none came. */
int session_signals_exit(const struct session_signals *ss);

/* Frees everything; safe on a zeroed or finished session. */
void session_finish(struct session *s);

#endif
