/* What job.c, job_order.c and job_checks.c share: the job itself and the
 * steps each calls in the others. Only those three include it. job.c: the
 * life, the lock, the decision, the fleet's steps around them and the
 * record; job_order.c: the order, the install and the deploy;
 * job_checks.c: the checks of the DNS before a new order. */
#ifndef ACMED_JOB_INTERNAL_H
#define ACMED_JOB_INTERNAL_H

#include <openssl/evp.h>

#include "renew/caa_check.h"
#include "renew/fleet.h"
#include "renew/install.h"
#include "renew/job.h"
#include "renew/lock_wait.h"
#include "renew/persist_check.h"
#include "store/store_lock.h"
#include "store/store_sync.h"

#define JOB_MESSAGE_LEN 1024

struct job {
	struct job_shared *sh;
	struct job_ca *ca; /* the CA it orders from (one of sh->cas) */
	/* Why it orders from a CA after its first (failover): the first
	 * failure, "URL: message"; "" while on its first. */
	char fallback[512];
	struct policy_decision order_decision; /* what job_order was asked */
	job_finished_fn finished;
	void *finished_arg;
	char *name;
	char *dir; /* certs/<name> */
	struct conf_settings s;
	struct install_output output; /* from s: what a set holds, who reads it */
	struct job_request req;
	struct ident *ids; /* the configured names */
	size_t n_ids;

	/* Fleet mode (sh->cluster): the shared record, the lease (fleet.h). */
	struct fleet_job fleet;
	bool fleet_synced; /* the shared record was read for this decision */
	long fleet_wait; /* not ordered for the fleet: look again in seconds */

	/* The lock, held from on_lock to job_destroy. */
	struct lock_wait lock_wait;
	struct store_lock *lock;

	/* What is installed and state.json, read once under the lock and
	 * changed in memory; saved once when the job is over (and once when
	 * the CA made an order, for a restart to resume it). */
	struct policy_view view;
	bool view_loaded;
	bool dirty; /* view.st changed since read or saved */

	/* The order. */
	struct issue *issue;
	char *resume_url; /* an earlier run's order, resumed */
	const EVP_PKEY *pending_key; /* the key pending.key holds, or NULL */
	bool install_failed; /* the CA issued, the install failed: order kept */
	/* A challenge could not be put in place (ACME_ORDER_NOT_PRESENTED):
	 * the order is still pending at the CA, kept for the next attempt */
	bool order_pending;
	char *replaces; /* ARI ID of the installed certificate */
	/* The CAA check before a new order (renew/caa_check.h) or the
	 * dns-persist-01 one (renew/persist_check.h) on its way, and what the
	 * order goes on with once it is over: the responder (borrowed) and
	 * the key (owned; NULL: a new one). */
	struct caa_check *caa;
	struct persist_check *persist;
	struct challenge *caa_responder;
	EVP_PKEY *caa_key;
	/* The responder's probe on its way (challenge_ops.probe), and the
	 * index in ids of the name it asks about next. */
	struct challenge_probe *probe;
	size_t probe_next;
	bool has_step;
	enum acme_order_step step;
	time_t retry_after; /* the CA's Retry-After with a refusal */
	bool ari_asked; /* the CA's renewal window was looked up */
	/* In the batch of the pre-hook and post-hook (sh->batch) from its wait
	 * for the pre-hook until it is destroyed; the decision it orders for
	 * once the pre-hook ran. */
	bool batch_entered;
	struct policy_decision batch_decision;

	bool renewal; /* a certificate was installed before */
	bool installed; /* this job installed a new set */
	/* The new set written or switched to, its sync (store_sync.h) on its
	 * way: the switch, or the record, comes when it ends. */
	struct store_sync_wait *install_sync;
	/* The order's journal on its way to the disk with others
	 * (on_order_url): pending.key and state.json's next text (written
	 * beside it as journal_temp, renamed once durable), then the folder. */
	struct store_sync_wait *journal_sync;
	char *journal_temp;
	/* The job's last record on its way the same way (job_record_last):
	 * written beside state.json, renamed once durable, then the end. */
	struct store_sync_wait *record_sync;
	char *record_temp;
	void (*recorded)(struct job *job);
	struct install_staged staged;
	bool deploying; /* this job ran the deploy hook */
	/* Failed on this host before anything reached the CA (a hook, the
	 * state folder, a port): said, but no backoff, so that the run after
	 * the fix goes ahead. */
	bool local_failure;
	bool port_held; /* its responder's port was held (job_outcome) */
	bool no_record; /* nothing recorded: a hand deploy that could not run, a
	                 * certificate handed to the daemon */
	/* Its runner stops (job_stop) and it had no order on its way: it
	 * orders nothing any more (job_order returns) and goes with the
	 * runner. */
	bool stopped;
	enum job_result result;
	char message[JOB_MESSAGE_LEN];
	const char *state;
	time_t since;
};

/* job.c */
time_t job_now(const struct job *job);
void job_set_state(struct job *job, const char *state);
void job_set_step(struct job *job, bool has_step, enum acme_order_step step);
/* The order is over, whatever its outcome: nothing to resume. */
void job_forget_order(struct job *job);
void job_save(struct job *job);
/* The order's journal (job_record.c): the record written beside
 * state.json, not synced (job->journal_temp); any record written before it
 * takes state.json's place supersedes it (removed). Returns 0, or -1
 * (logged). */
int job_journal_write(struct job *job);
/* Has the group commit make pending.key and the journal durable, then puts
 * the journal in state.json's place and syncs the folder; a failure is
 * logged (the order would not be resumed after a power loss). */
void job_journal_sync(struct job *job);
/* The same here and now, on the loop: for a job that ends before the
 * group commit did it. */
void job_journal_settle(struct job *job);
/* The job's last record (supersedes a journal on its way): written beside
 * state.json, made durable by the group commit, renamed (the folder not
 * synced: a crash that loses it leaves the record before it, which the
 * next job reconciles), then recorded(job) is called from the loop.
 * Returns 0 when that is under way, or -1 when the record was written here
 * and now or could not be (logged): the caller goes on itself. */
int job_record_last(struct job *job, void (*recorded)(struct job *job));
/* A last record still on its way when the job is destroyed: synced and
 * renamed here and now, recorded not called. */
void job_record_settle(struct job *job);
/* Records the outcome, tells the runner; the job is gone after it. */
void job_complete(struct job *job, enum job_result result);
void job_fail(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* job_order.c */
bool job_ca_offers_ari(const struct job *job);
/* The CA failed the order for a reason of its own (why): orders from the
 * next CA of the certificate's list. Returns true when it did (the job
 * goes on), false when there is none (the caller fails the job). */
bool job_failover(struct job *job, const char *why);
/* Orders a new certificate (the policy said ORDER for d's reason). */
void job_order(struct job *job, const struct policy_decision *d);
void job_deploy(struct job *job);
/* Places the order with responder (borrowed) and key (taken over; NULL:
 * a new one): issue.c runs it, the job goes on from its outcome (or is
 * failed when it cannot start). */
void job_place_order(struct job *job, struct challenge *responder, EVP_PKEY *key);

/* job_checks.c */
/* Before a new order (not a resumed one: it was checked when placed): the
 * CAA records of the job's names, then, for dns-persist-01, their records,
 * each when it can be checked (caa-check, the CA's issuer domain names, a
 * resolver), then the responder's probe of each DNS name when it has one
 * (dns-update), then job_place_order with responder (borrowed) and key
 * (taken over; NULL: a new one). A refusal of the records fails the job
 * over to the next CA of its list, or fails it; a refusal of the probe
 * fails it (this host's to fix); a check that cannot be made is a warning
 * and the order goes on. */
void job_checks_run(struct job *job, struct challenge *responder, EVP_PKEY *key);

#endif
