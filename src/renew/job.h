/* One certificate job, from its lock to its record: take the certificate's
 * lock, read what is installed and state.json once (policy_view), ask the
 * renewal policy, then order (install.h) and deploy (deploy.h), or only
 * deploy, or nothing; record the outcome in state.json (its only writer)
 * and release the lock. The runner (job_runner.h) queues jobs and starts
 * them; a job tells it that it is over through its finished callback and
 * calls nothing else of the runner's. */
#ifndef ACMED_JOB_H
#define ACMED_JOB_H

#include <ev.h>
#include <stdbool.h>
#include <time.h>

#include "acme/acme_account.h"
#include "acme/acme_client.h"
#include "acme/acme_order.h"
#include "conf/conf.h"
#include "renew/batch_hooks.h"
#include "renew/gate.h"
#include "renew/issue.h"
#include "renew/lock_wait.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "renew/progress.h"
#include "store/cluster.h"

enum job_result {
	JOB_ISSUED,
	JOB_RENEWED,
	JOB_UNCHANGED,
	JOB_FAILED,
	JOB_DEPLOYED, /* only the deploy hook ran again, and succeeded */
	JOB_DEFERRED, /* due, but held by the backoff after failures */
	/* A command's: the daemon of its state folder held the responder's
	 * port and took the certificate on (job_hand_off_fn); nothing was
	 * ordered or recorded here. */
	JOB_HANDED,
	JOB__MAX,
};

/* The name of a result as the commands print it ("issued", ...). */
const char *job_result_name(enum job_result result);

/* What a queued job is asked to do. */
struct job_request {
	bool force; /* order even when not due or held by a backoff */
	/* With force: when it was asked (wall clock, job_wall_time), 0 for
	 * no such check. A set installed after that (another process
	 * answering the same wish) is what was asked for: nothing more is
	 * ordered. */
	double asked_at;
	bool deploy; /* only run the deploy hook for what is installed */
	time_t ari_when; /* the time picked in the CA's renewalInfo window, 0 */
};

/* How a job ended, for the runner's done callback. Everything is borrowed
 * for the call. */
struct job_outcome {
	const char *name;
	enum job_result result;
	const char *message; /* "" or the failure's */
	time_t retry_after; /* the CA's Retry-After with a refusal, 0 if none */
	/* What the policy says next from what the job recorded, computed from
	 * memory (nothing read back); has_next false when the job never read
	 * the certificate (its lock not had). */
	bool has_next;
	struct policy_decision next;
	time_t not_after; /* of what is installed, 0 if none */
	const char *ari_id; /* of what is installed, or NULL */
	long attempts; /* failures in a row */
	const char *last_error; /* the pending deploy's, else the last, or NULL */
	/* Fleet mode: the shared record's version installed here, and whether
	 * a set made here is still to be put into the store. */
	long fleet_version;
	bool fleet_owed;
	bool fleet_waiting; /* not ordered: the store away or the lease held */
	/* Failed before ordering: its built-in responder's port was held
	 * by another socket (another acmed process ordering, for seconds,
	 * or another program). */
	bool port_held;
	/* The job's CA (the last it ordered from); and why it is not the
	 * first of the list (failover), else NULL. */
	const char *ca_url;
	const char *ca_fallback;
	/* What the job read and recorded (has_next true), else NULL. */
	const struct policy_view *view;
};

/* One CA the jobs of a runner order from. */
struct job_ca {
	/* The loop, the CA (client NULL when it cannot be reached: jobs that
	 * must order fail with offline as their reason, or fail over), the
	 * account, the key generator (the runner's) and the newOrder gate. */
	struct issue_shared issue;
	const char *url; /* the directory, recorded with what it issues */
	const char *offline;
	/* The profile of its [ca] section, for the certificates it gets by
	 * failover (their own is for their first CA), or NULL. */
	const char *profile;
	/* The caa-identity of its settings, for the certificates it gets by
	 * failover when its directory lists no caaIdentities (their own
	 * settings' are for their first CA). */
	char *const *caa_identities;
	size_t n_caa_identities;
	bool caa_unchecked_said; /* "CAA not checked" said once for this CA */
};

/* A command's way to hand a certificate to the daemon running on its state
 * folder, asked when a job cannot make its built-in responder because
 * another socket holds its address (the daemon's, while it orders).
 * Returns true when the daemon listens on address and took name on, with
 * what to tell in msg; false (the job then fails as it would) when no
 * daemon answers, another program holds the port, or it refused. */
typedef bool (*job_hand_off_fn)(void *arg, const char *state_dir, const char *name,
                                const char *address, char *msg, size_t len);

/* What the jobs of one runner share; the runner owns it. */
struct store_sync;

struct job_shared {
	struct ev_loop *loop;
	/* Every CA of the jobs' lists, each once; a job orders from the one of
	 * its settings' ca, the next ones of its ca_list on failover. */
	struct job_ca *cas;
	size_t n_cas;
	const char *state_dir;
	double lock_wait; /* seconds */
	struct responders *responders;
	struct progress progress; /* the line on a terminal */
	struct preflight_memo preflight; /* what the jobs' preflights proved */
	/* Fleet mode: the shared store (store/cluster.h), or NULL alone. */
	struct cluster *cluster;
	/* pre-hook and post-hook (batch_hooks.h; borrowed), or NULL. */
	struct batch_hooks *batch;
	job_hand_off_fn hand_off; /* a command's, or NULL */
	void *hand_off_arg;
	/* The jobs' lock waits: a holder of many is named once. */
	struct lock_wait_said lock_said;
	/* Syncs the sets the jobs install, those ready together at once. */
	struct store_sync *sync;
};

struct job;

/* The CA of sh whose directory is url, or NULL. */
struct job_ca *job_shared_ca(struct job_shared *sh, const char *url);

/* Called once when the job is over (also from inside job_start, for a job
 * with nothing to do); the callee destroys the job. */
typedef void (*job_finished_fn)(struct job *job, const struct job_outcome *outcome, void *arg);

/* A job for the certificate name with settings s (copied). NULL when out of
 * memory or for a bad name (logged). */
struct job *job_create(struct job_shared *sh, const char *name, const struct conf_settings *s,
                       const struct job_request *request, job_finished_fn finished, void *arg);

/* Takes the lock and goes on from the loop. */
void job_start(struct job *job);

/* Its runner stops (a signal). A job whose order is on its way has it
 * stopped (issue_stop: the challenges withdrawn), records nothing, so that
 * state.json keeps the order and pending.key for the next run as after a
 * kill, and calls stopped(arg) once that is over; the callee destroys the
 * job. A job that installed or deploys goes on to its end (the finished
 * callback, as ever: an install is never left half). Returns 0 when
 * stopped or finished will be called (possibly before this returns), 1
 * when there is nothing to wait for: the job holds nothing the CA or a DNS
 * server sees, ends the checks before newOrder on their way (CAA,
 * dns-persist-01, the responder's probe: nothing of them runs after),
 * leaves the pre-hook's batch (it will not order: the gate is closed) and
 * is destroyed with its runner. */
int job_stop(struct job *job, void (*stopped)(void *arg), void *arg);

/* Frees a job (releasing its lock): one that is over, was never started,
 * or runs when its runner ends (its order abandoned, see
 * job_runner_destroy; no answer of the shared store reaches it any
 * more). */
void job_destroy(struct job *job);

const char *job_name(const struct job *job);

/* The wall clock in seconds, to the nanosecond (job_request.asked_at). */
double job_wall_time(void);

/* The time the policy decides with: the later of the loop's and the wall
 * clock's, so that a timer firing at a due time finds it due. */
time_t job_clock(struct ev_loop *loop);

/* "waiting", "locked" (another process holds it), "pre-hook", "ordering",
 * "validating", "finalizing", "downloading" or "deploying" (acmed(8) lists
 * them under jobs --json); and since when. */
const char *job_state(const struct job *job);
time_t job_since(const struct job *job);

#endif
