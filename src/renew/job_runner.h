/* The job runner: queues certificate jobs (job.h) and runs many at once up
 * to a concurrency cap, sharing the account, the ACME client, the CA's
 * newOrder gate (gate.h) and the challenge responders; counts their
 * results and tells its caller of each. The responders let their ports go once no job has run
 * for a few seconds. */
#ifndef ACMED_JOB_RUNNER_H
#define ACMED_JOB_RUNNER_H

#include <ev.h>
#include <stdbool.h>
#include <time.h>

#include "acme/acme_account.h"
#include "acme/acme_account_reg.h"
#include "acme/acme_client.h"
#include "conf/conf.h"
#include "renew/batch_hooks.h"
#include "renew/job.h"
#include "renew/responders.h"

/* How long a job waits for another process's lock on its certificate. */
#define JOB_LOCK_WAIT 900.0

/* A CA besides the first (job_runner_config.more_cas): what its jobs and
 * failovers order from. */
struct job_runner_ca {
	struct acme_client *client; /* NULL when it cannot be reached */
	struct acme_account_handle *acct;
	struct acme_account_reg_options account_options;
	const char *ca_url;
	long new_order_concurrency; /* 0: 1 */
	const char *offline; /* why client is NULL */
	const char *profile; /* its [ca] section's, for failovers; or NULL */
	/* Its caa-identity, for failovers (job_ca); borrowed. */
	char *const *caa_identities;
	size_t n_caa_identities;
};

struct job_runner_config {
	struct ev_loop *loop;
	/* NULL when the CA cannot be reached: jobs that must order fail with
	 * offline as their reason (and back off); the others go on. */
	struct acme_client *client;
	struct acme_account_handle *acct;
	/* Used when the CA forgot the account and it must be registered
	 * again. */
	struct acme_account_reg_options account_options;
	const char *ca_url; /* the directory URL, recorded with what it issues */
	/* The CA's newOrder requests in flight at most (its order gate);
	 * 0: 1. */
	long new_order_concurrency;
	const char *offline;
	const char *state_dir;
	long concurrency; /* orders in flight at most */
	double lock_wait; /* seconds; 0: JOB_LOCK_WAIT */
	/* What the command's own preflight proved, or NULL: the jobs' start
	 * from it (a one-shot command writes no second test file). */
	const struct preflight_memo *preflight;
	/* Fleet mode: the shared store (borrowed), or NULL. */
	struct cluster *cluster;
	/* The challenge responders (borrowed: the daemon's in fleet mode,
	 * open from its start, before the CA is reached), or NULL: the
	 * runner makes its own. */
	struct responders *responders;
	/* pre-hook and post-hook around the orders (borrowed), or NULL. */
	struct batch_hooks *batch;
	/* More CAs: the other CAs of the certificates' lists (failover) and,
	 * in a daemon, the CAs of other certificates (borrowed). A job orders
	 * from the CA of its settings' ca, the first (client, acct, ca_url
	 * above) when that is unset. */
	const struct job_runner_ca *more_cas;
	size_t n_more_cas;
	/* A command's (the daemon sets none): a job whose built-in
	 * responder's port is held asks it to hand the certificate to the
	 * daemon of the state folder (job_hand_off_fn), or NULL. */
	job_hand_off_fn hand_off;
	void *hand_off_arg;
};

struct job_runner;
struct responders;

/* A new runner; everything config points to is borrowed and must outlive
 * it. NULL on error (logged). */
struct job_runner *job_runner_create(const struct job_runner_config *config);

/* Frees every job, queued or running; a running one's order is abandoned
 * (acme_order_abandon), its lease let go: call when nothing in flight will
 * be answered any more, after job_runner_run returned or once the HTTP
 * client is destroyed (a daemon that stops), and before the challenge
 * responders go. */
void job_runner_destroy(struct job_runner *runner);

/* Queues the certificate name with its resolved settings (copied). Returns
 * 0, or -1 (logged). */
int job_runner_add(struct job_runner *runner, const char *name, const struct conf_settings *s,
                   const struct job_request *request);

/* Runs the loop until every queued job is finished, or the runner is
 * stopped (job_runner_stopped). */
void job_runner_run(struct job_runner *runner);

/* Stops the runner (a signal): no job starts and no newOrder is sent any
 * more; each running job's order is stopped (job_stop: every challenge it
 * presented withdrawn, hooks still running killed as at their timeout,
 * propagation and poll waits cut short, nothing recorded, so that
 * state.json keeps the order for the next run), a job that installs or
 * deploys goes on to its end. stopped(arg) (may be NULL) is called once,
 * when all that is over, possibly before this returns. The jobs left
 * (queued, waiting for a lock, a key or the gate) hold nothing to withdraw:
 * job_runner_destroy frees them. A second call does nothing. */
void job_runner_stop(struct job_runner *runner, void (*stopped)(void *arg), void *arg);

/* Whether job_runner_stop was called and everything it waits for is
 * over. */
bool job_runner_stopped(const struct job_runner *runner);

/* The time the policy decides with: the later of the loop's and the
 * wall clock's, so that a timer firing at a due time finds it due. */
time_t job_runner_now(const struct job_runner *runner);

/* How many jobs ended with result. */
unsigned long job_runner_count(const struct job_runner *runner, enum job_result result);

/* Called after each job with how it ended (borrowed for the call). */
typedef void (*job_done_fn)(const struct job_outcome *outcome, void *arg);

void job_runner_on_done(struct job_runner *runner, job_done_fn done, void *arg);

/* Starts queued jobs up to the cap and returns: for a caller that runs the
 * loop itself (the daemon). */
void job_runner_start(struct job_runner *runner);

/* The challenge responders its jobs share (renew/responders.h; borrowed):
 * in fleet mode (config.cluster) they are set up for the fleet and stay
 * open, and the daemon opens them at its start. */
struct responders *job_runner_responders(struct job_runner *runner);

/* A CA of the runner reached at last (or lost): its client, account and
 * offline reason from c (borrowed), by c->ca_url. Returns 0, or -1 when
 * the runner has no such CA. */
int job_runner_set_ca(struct job_runner *runner, const struct job_runner_ca *c);

/* The client of the runner's CA whose directory is url (borrowed), or
 * NULL when it has none or that CA cannot be reached. */
struct acme_client *job_runner_client(struct job_runner *runner, const char *url);

/* Calls fn with each CA's directory URL and client (one that could not be
 * reached has none and is left out), in the order of the configuration. */
void job_runner_each_client(const struct job_runner *runner,
                            void (*fn)(const char *url, const struct acme_client *client,
                                       void *arg),
                            void *arg);

/* Jobs running, and queued behind the cap. */
size_t job_runner_active(const struct job_runner *runner);
size_t job_runner_waiting(const struct job_runner *runner);

/* Whether a job for name is queued or running. */
bool job_runner_has(const struct job_runner *runner, const char *name);

/* Whether one of its challenge responders listens on address
 * (responders_listen_on). */
bool job_runner_listens(const struct job_runner *runner, const char *address);

/* Calls fn for each job running, then each queued, in order. */
void job_runner_each(const struct job_runner *runner, void (*fn)(const struct job *job, void *arg),
                     void *arg);

#endif
