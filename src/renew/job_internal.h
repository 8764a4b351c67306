/* What job.c (the runner, the lock, the decision and the order) shares with
 * job_install.c (installing what the CA issued, then the deploy hook); not
 * part of the job API, which is job.h. */
#ifndef ACMED_JOB_INTERNAL_H
#define ACMED_JOB_INTERNAL_H

#include <ev.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_order.h"
#include "conf/conf.h"
#include "renew/job.h"
#include "store/store_lock.h"

#define JOB_MESSAGE_LEN 1024

struct hook;
struct keygen;
struct responder; /* job.c */

struct job {
	struct job_runner *runner;
	struct job *next;
	char *name;
	struct conf_settings s;
	struct job_request req;
	struct store_lock *lock; /* held from job_start to job_free */
	ev_timer lock_timer; /* looks again while another process holds it */
	double lock_waited;
	long version_before; /* what was installed when the wait began */
	char holder[STORE_LOCK_HOLDER_LEN];
	bool waited; /* found the lock taken */
	bool installed; /* this job installed a new set */
	bool deploying; /* this job ran the deploy hook */
	bool ari_asked; /* the CA's renewal window was looked up */
	/* Failed on this host before anything reached the CA (a hook, the
	 * state folder, a port): said, but no backoff, so that the run after
	 * the fix goes ahead. */
	bool local_failure;
	bool no_record; /* failed before doing anything: nothing to record */
	bool deploy_marked; /* RECORD_DEPLOY_DUE was recorded */
	bool was_deploy_pending; /* before RECORD_DEPLOY_DUE */
	char *ari_id; /* RECORD_ARI: the certificate it was asked for */
	time_t ari_when; /* RECORD_ARI: the time picked, 0: none */
	time_t ari_next; /* RECORD_ARI: when to ask again */
	struct ident *ids;
	size_t n_ids;
	bool renewal; /* a certificate is installed */
	EVP_PKEY *key;
	struct acme_order_params params;
	bool account_retried;
	bool has_step;
	enum acme_order_step step;
	enum job_result result;
	char message[JOB_MESSAGE_LEN];
	char *dir;
	time_t not_after;
	struct hook *deploy;
	char *resume_url;
	char *replaces; /* ARI ID of the installed certificate */
	time_t retry_after; /* the CA's Retry-After with a refusal */
	struct job *run_prev; /* in runner->running */
	struct job *run_next;
	time_t since; /* when the current state began */
	const char *state;
};

struct job_runner {
	struct ev_loop *loop;
	struct acme_client *client;
	struct acme_account_handle *acct;
	struct acme_account_reg_options account_options;
	const char *ca_url;
	const char *offline;
	const char *state_dir;
	long concurrency;
	double lock_wait;
	struct job *queue; /* waiting, in order */
	struct job **tail;
	size_t active;
	size_t waiting;
	struct responder *responders;
	size_t n_responders;
	ev_timer idle; /* no job for a while: the responders let go */
	struct keygen *keygen;
	unsigned long counts[JOB__MAX];
	bool account_busy;
	struct job *account_waiters;
	bool starting; /* inside job_next: no recursion */
	struct job *ordering; /* the job whose newOrder is in flight */
	struct job *order_waiters; /* FIFO of jobs waiting to send theirs */
	struct job **order_waiters_tail;
	struct job *running;
	job_done_fn on_done;
	void *on_done_arg;
	unsigned long total;
	unsigned long finished;
	unsigned long in_step[ACME_ORDER_STEP__MAX];
};

/* Records result, logs a failure's message, records the outcome in
 * state.json, reports to on_done, frees job (releasing its lock) and starts
 * the next waiting one. */
void job_complete(struct job *job, enum job_result result);

/* Completes job as JOB_FAILED with the message formatted from fmt. */
void job_fail(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a job records in state.json, the only place it is written. */
enum job_record {
	RECORD_ORDER_URL, /* the CA created the order (url) */
	RECORD_FAILED, /* the order or the install failed */
	RECORD_INSTALLED, /* a new set is installed */
	RECORD_DEPLOYED, /* the deploy hook succeeded */
	RECORD_DEPLOY_FAILED,
	RECORD_ORDER_OVER, /* a resumed order changed nothing */
	RECORD_ARI, /* the CA's renewal window (job->ari_*) */
	RECORD_PROBLEM, /* a local failure: its message, no backoff */
	RECORD_DEPLOY_DUE, /* about to install: the deploy hook is owed */
};

/* Loads, changes and saves state.json; the caller holds the job's lock. */
void job_record(struct job *job, enum job_record what, const char *url);

/* Checks the chain the CA issued (pem, borrowed) against the job's key and
 * names, installs it with the key, then runs the deploy hook; completes the
 * job either way. */
void job_install(struct job *job, const char *pem, size_t pem_len);

/* A resumed order brought the certificate already installed, and the
 * policy wants a new one: forgets that order and orders afresh. */
void job_reorder(struct job *job);

/* Runs the deploy hook for what is installed; completes the job with
 * result when it succeeds. */
void job_deploy(struct job *job, enum job_result result);

#endif
