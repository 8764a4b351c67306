#include "renew/job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "challenge/challenge.h"
#include "conf/ca.h"
#include "crypto/key.h"
#include "crypto/keygen.h"
#include "renew/ari.h"
#include "renew/deploy.h"
#include "renew/job_internal.h"
#include "renew/lock_wait.h"
#include "renew/preflight.h"
#include "renew/status.h"
#include "renew/responders.h"
#include "store/state.h"
#include "store/store_cert.h"

static const char *const result_names[JOB__MAX] = {
        [JOB_ISSUED] = "issued", [JOB_RENEWED] = "renewed",   [JOB_UNCHANGED] = "unchanged",
        [JOB_FAILED] = "failed", [JOB_DEPLOYED] = "deployed", [JOB_DEFERRED] = "deferred",
        [JOB_HANDED] = "handed",
};

static void job_begin(struct job *job);
static void fleet_sync(struct job *job);
static void fleet_lease(struct job *job);

const char *
job_result_name(enum job_result result)
{
	return result < JOB__MAX ? result_names[result] : "unknown";
}

time_t
job_now(const struct job *job)
{
	return job_clock(job->sh->loop);
}

void
job_set_state(struct job *job, const char *state)
{
	job->state = state;
	job->since = time(NULL);
}

/* --- the outcome ----------------------------------------------------- */

/* What the job's end records (policy_record_attempt). */
static enum policy_attempt
attempt_of(const struct job *job)
{
	if (job->result == JOB_FAILED && (job->installed || job->deploying)) {
		return POLICY_ATTEMPT_DEPLOY_FAILED;
	}
	if (job->result == JOB_FAILED && (job->install_failed || job->order_pending) &&
	    job->view.st.order_url != NULL) {
		return POLICY_ATTEMPT_INSTALL_FAILED;
	}
	if (job->result == JOB_FAILED) {
		return job->local_failure ? POLICY_ATTEMPT_LOCAL : POLICY_ATTEMPT_FAILED;
	}
	if (job->result == JOB_DEPLOYED || (job->installed && job->s.deploy_hook != NULL)) {
		return POLICY_ATTEMPT_DEPLOYED;
	}
	if (job->result == JOB_UNCHANGED && job->resume_url != NULL) {
		return POLICY_ATTEMPT_ORDER_OVER;
	}
	return POLICY_ATTEMPT_NONE;
}

/* What the outcome changes in the state, in memory. */
static void
record_outcome(struct job *job)
{
	bool had_order = job->view.st.order_url != NULL;
	int rc = policy_record_attempt(&job->view.st, attempt_of(job), time(NULL), job->retry_after,
	                               job->message, policy_random());

	if (rc < 0) {
		log_error("%s: out of memory", job->name);
	}
	if (rc != 0) {
		job->dirty = true;
	}
	if (had_order && job->view.st.order_url == NULL) {
		job_forget_order(job);
	}
}

/* The job's message without the certificate's name before it: status and
 * the log put it there. */
static const char *
without_name(const struct job *job)
{
	size_t len = strlen(job->name);

	if (strncmp(job->message, job->name, len) == 0 &&
	    strncmp(job->message + len, ": ", 2) == 0) {
		return job->message + len + 2;
	}
	return job->message;
}

/* The outcome for the runner, with the policy's next word from memory. */
static void
make_outcome(struct job *job, struct job_outcome *o)
{
	const struct state *st = &job->view.st;

	memset(o, 0, sizeof(*o));
	o->name = job->name;
	o->result = job->result;
	o->message = job->message;
	o->retry_after = job->retry_after;
	o->port_held = job->port_held;
	o->ca_url = job->ca->url;
	o->ca_fallback = job->fallback[0] != '\0' ? job->fallback : NULL;
	if (!job->view_loaded) {
		return;
	}
	/* A new certificate is not in the window asked for the old one. */
	o->has_next = policy_view_decide(&job->view, &job->s, job->ca->url, false,
	                                 job->installed ? 0 : job->req.ari_when, job_now(job),
	                                 &o->next) == 0;
	if (o->has_next && job->fleet_wait != 0 && o->next.action == POLICY_ORDER) {
		/* Due, but another node orders it or the store is away: looked
		 * at again then (or when an install is announced, or the store
		 * is back). */
		o->next.action = POLICY_WAIT;
		o->next.when = job_now(job) + job->fleet_wait;
		snprintf(o->next.why, sizeof(o->next.why), "%.300s", without_name(job));
	}
	o->fleet_version = job->view.st.fleet_version;
	o->fleet_owed = job->view.st.fleet_owed;
	o->fleet_waiting = job->fleet_wait != 0;
	o->not_after = job->view.info.not_after;
	o->ari_id = job->view.info.ari_id;
	o->view = &job->view;
	o->attempts = status_failures(st);
	o->last_error = status_last_error(st);
}

/* --- progress -------------------------------------------------------- */

void
job_set_step(struct job *job, bool has_step, enum acme_order_step step)
{
	progress_step(&job->sh->progress, job->has_step, job->step, has_step, step);
	job->has_step = has_step;
	job->step = step;
	if (has_step) {
		job_set_state(job, acme_order_step_name(step));
	}
}

/* --- the end --------------------------------------------------------- */

/* The record is on the disk (or could not be written, logged): the fleet
 * learns it, the runner the outcome. */
static void
job_end(struct job *job)
{
	struct job_outcome outcome;

	if (job->sh->cluster != NULL) {
		/* The fleet learns what this node recorded while it held
		 * the lease (a failure's backoff), then the lease goes. */
		fleet_job_end(&job->fleet, job->view_loaded && !job->no_record);
	}
	make_outcome(job, &outcome);
	job->finished(job, &outcome, job->finished_arg);
}

/* Records the outcome (one write of state.json, none when nothing
 * changed), logs a failure and tells the runner once the record is on
 * the disk. Nothing is recorded without the lock: another process owns
 * the state then. */
void
job_complete(struct job *job, enum job_result result)
{
	job->result = result;
	job_set_step(job, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&job->sh->progress);
	if (result == JOB_FAILED) {
		log_error("%s", job->message);
	}
	if (job->lock != NULL && job->view_loaded && !job->no_record) {
		record_outcome(job);
		if (job->fleet.changed) {
			job->dirty = true;
		}
		/* Synced with the other jobs' files, off the loop; its
		 * folder's fsync is spared: a crash that loses this record
		 * leaves the one before it, which the next job reconciles
		 * with what is installed (a set above the recorded version
		 * was switched to and is owed its deploy; an order recorded
		 * with pending.key is resumed, not ordered again). */
		if (job->dirty && job_record_last(job, job_end) == 0) {
			return;
		}
	}
	job_end(job);
}

void
job_fail(struct job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->message, sizeof(job->message), fmt, ap);
	va_end(ap);
	job_complete(job, JOB_FAILED);
}

/* --- the fleet (fleet.h) -------------------------------------------- */

static void
on_fleet_synced(enum fleet_result rc, void *arg)
{
	struct job *job = arg;

	job->fleet_synced = true;
	if (rc == FLEET_DOWN) {
		/* Decided from this node's files: nothing is ordered until the
		 * store is back (fleet_lease says so), a deploy still runs. */
		log_debug("%s: %s", job->name, job->fleet.message);
	} else if (rc != FLEET_OK) {
		log_warn("%s", job->fleet.message);
	}
	job_begin(job);
}

/* Reads the shared record before deciding (fleet_job_sync). */
static void
fleet_sync(struct job *job)
{
	struct fleet_job *fj = &job->fleet;

	fj->ari = job_ca_offers_ari(job);
	if (fleet_job_sync(fj, on_fleet_synced, job) < 0) {
		job_fail(job, "%s: out of memory", job->name);
	}
}

static void
on_fleet_lease(enum fleet_result rc, void *arg)
{
	struct job *job = arg;

	switch (rc) {
	case FLEET_OK:
		/* Under the lease, with the record read again: decided anew
		 * (another node may have installed meanwhile). */
		job_begin(job);
		break;
	case FLEET_BUSY:
		snprintf(job->message, sizeof(job->message), "%s: %s orders it now", job->name,
		         job->fleet.holder);
		log_info("%s", job->message);
		job->fleet_wait = FLEET_BUSY_WAIT;
		job_complete(job, JOB_UNCHANGED);
		break;
	case FLEET_DOWN:
		snprintf(job->message, sizeof(job->message), "%s: due, not ordered: %s", job->name,
		         job->fleet.message);
		/* One line per certificate and attempt (every FLEET_DOWN_WAIT
		 * at most); the store's loss itself is said once (io/redis.c). */
		log_info("%s", job->message);
		job->fleet_wait = FLEET_DOWN_WAIT;
		job_complete(job, JOB_DEFERRED);
		break;
	case FLEET_FAILED:
	default:
		job->local_failure = true;
		job_fail(job, "%s: not ordered: %s", job->name, job->fleet.message);
		break;
	}
}

/* Takes the certificate's lease in the fleet before ordering. */
static void
fleet_lease(struct job *job)
{
	if (fleet_job_lease(&job->fleet, on_fleet_lease, job) < 0) {
		job_fail(job, "%s: out of memory", job->name);
	}
}

/* --- the decision ---------------------------------------------------- */

static void
on_ari(const struct ari_answer *a, void *arg)
{
	struct job *job = arg;
	struct state *st = &job->view.st;

	if (state_set(&st->ari_id, job->view.info.ari_id) < 0) {
		log_error("%s: out of memory", job->name);
	}
	st->ari_when = a->when;
	st->ari_next = policy_ari_next(a->now, a->retry_after);
	job->dirty = true;
	job->req.ari_when = st->ari_when;
	job_begin(job);
}

/* RFC 9773: a one-shot run asks the CA for the renewal window of what is
 * installed, unless state.json has an answer still good (the daemon keeps
 * its own). Returns true when the answer is awaited (on_ari goes on). */
static bool
ask_ari(struct job *job, const struct policy_decision *d)
{
	struct state *st = &job->view.st;
	bool absent;

	if (job->ari_asked || job->req.ari_when != 0 || job->ca->issue.client == NULL ||
	    !d->ari_stale || d->action != POLICY_WAIT || d->reason != POLICY_NOT_DUE) {
		return false;
	}
	job->ari_asked = true;
	if (ari_ask(job->ca->issue.client, job->name, job->view.info.ari_id, on_ari, job,
	            &absent) != NULL) {
		return true;
	}
	if (absent && state_set(&st->ari_id, job->view.info.ari_id) == 0) {
		/* The CA offers none: no need to ask each run. */
		st->ari_when = 0;
		st->ari_next = job_now(job) + POLICY_ARI_ABSENT;
		job->dirty = true;
	}
	return false;
}

/* A deploy asked by hand (acmed deploy): one that cannot run says so and
 * changes nothing a renewal counts. */
static void
deploy_by_hand(struct job *job)
{
	job->no_record = !job->view.info.present || job->s.deploy_hook == NULL;
	if (!job->view.info.present) {
		job_fail(job, "%s: nothing installed to deploy", job->name);
	} else if (job->s.deploy_hook == NULL) {
		job_fail(job, "%s: no deploy hook: set deploy-hook or pass --deploy-hook",
		         job->name);
	} else {
		job_deploy(job);
	}
}

/* Reads the certificate once, under the lock. Returns 0, or -1 with the
 * job failed. */
static int
load_view(struct job *job)
{
	struct state *st = &job->view.st;
	struct store_cert_info *info = &job->view.info;

	/* A record a killed run wrote and never put in place (the order's
	 * journal on its way to the disk: the order it names is resumed,
	 * not placed again). */
	if (job->lock != NULL && job->dir != NULL && state_recover(job->dir) < 0 &&
	    errno != ENOENT) {
		log_warn("%s: %s: %s", job->name, job->dir, strerror(errno));
	}
	if (policy_view_load(job->sh->state_dir, job->name, &job->view) < 0) {
		job_fail(job, "%s: cannot read what is installed: out of memory or a bad name",
		         job->name);
		return -1;
	}
	job->view_loaded = true;
	/* A set newer than the one recorded was switched to by a job killed
	 * before its record: what it would have recorded is recorded now
	 * (its order over, failures forgotten, its deploy owed). */
	if (info->present && st->version >= 0 && info->version > st->version) {
		job_forget_order(job);
		if (policy_record_install(st, time(NULL), info, job->ca->url,
		                          job->s.deploy_hook != NULL, job_ca_offers_ari(job)) < 0) {
			log_error("%s: out of memory", job->name);
		}
	}
	return 0;
}

/* Whether the set installed when the lock was found taken was the holder's
 * fresh work, not recorded yet (its deploy hook running): a --force asked
 * meanwhile is answered by it, one order where several asked together. */
static bool
installed_by_holder(const struct job *job)
{
	return job->lock_wait.unrecorded && job->view.info.version == job->lock_wait.version_before;
}

/* Whether a set was installed after the --force was asked: another
 * process (a second command, a daemon) answered the same wish. */
static bool
installed_since_asked(const struct job *job)
{
	return job->req.asked_at > 0 &&
	       store_cert_installed_at(job->sh->state_dir, job->name) > job->req.asked_at;
}

/* With the lock held: asks the policy what to do, and does it. */
static void
job_begin(struct job *job)
{
	struct policy_decision d;

	job_set_state(job, "ordering");
	if (!job->view_loaded && load_view(job) < 0) {
		return;
	}
	if (job->sh->cluster != NULL && !job->fleet_synced) {
		fleet_sync(job);
		return;
	}
	if (policy_view_decide(&job->view, &job->s, job->ca->url, job->req.force, job->req.ari_when,
	                       job_now(job), &d) < 0) {
		job_fail(job, "%s: cannot read what is installed: %s", job->name, d.why);
		return;
	}
	job->renewal = job->view.info.present;
	if (job->req.force && job->view.info.version >= 0 &&
	    ((job->lock_wait.waited && (job->view.info.version != job->lock_wait.version_before ||
	                                installed_by_holder(job))) ||
	     installed_since_asked(job))) {
		log_info("%s: %s installed a new certificate meanwhile; not ordering another",
		         job->name,
		         job->lock_wait.waited ? job->lock_wait.holder : "another acmed");
		job_complete(job, JOB_UNCHANGED);
		return;
	}
	if (job->req.deploy) {
		deploy_by_hand(job);
		return;
	}
	if (ask_ari(job, &d)) {
		return;
	}
	switch (d.action) {
	case POLICY_ORDER:
		if (job->sh->cluster != NULL && job->fleet.token == 0) {
			fleet_lease(job);
			break;
		}
		log_info("%s: %s", job->name, d.why);
		job_order(job, &d);
		break;
	case POLICY_DEPLOY:
		if (job->fleet.materialized) {
			/* The fleet's set just installed: its hook is due, not a
			 * recovery. */
			log_info("%s: running its deploy hook", job->name);
		} else {
			log_info("%s: %s", job->name, d.why);
		}
		job_deploy(job);
		break;
	case POLICY_WAIT:
	default:
		if (d.reason == POLICY_BACKOFF || d.reason == POLICY_DEPLOY_RETRY) {
			/* Still failing, held by its backoff: said at every run
			 * (cron mails it, -q too) and counted as deferred (exit
			 * 1), until it works again. */
			log_error("%s: %s", job->name, d.why);
			job_complete(job, JOB_DEFERRED);
		} else {
			log_info("%s: %s, not due (--force renews now)", job->name, d.why);
			job_complete(job, JOB_UNCHANGED);
		}
		break;
	}
}

/* --- the lock -------------------------------------------------------- */

static void
on_lock(struct store_lock *lock, const char *why, void *arg)
{
	struct job *job = arg;

	job->lock = lock;
	if (lock == NULL) {
		job_fail(job, "%s", why);
		return;
	}
	job_begin(job);
}

static void
on_lock_busy(const char *holder, void *arg)
{
	job_set_state(arg, "locked");
}

/* --- life ------------------------------------------------------------ */

struct job *
job_create(struct job_shared *sh, const char *name, const struct conf_settings *s,
           const struct job_request *request, job_finished_fn finished, void *arg)
{
	struct conf empty;
	struct job *job = calloc(1, sizeof(*job));

	if (job == NULL) {
		log_error("out of memory");
		return NULL;
	}
	conf_init(&empty);
	job->sh = sh;
	job->finished = finished;
	job->finished_arg = arg;
	job->req = *request;
	policy_view_init(&job->view);
	job->name = strdup(name);
	job->dir = store_cert_dir(sh->state_dir, name);
	if (job->name == NULL || job->dir == NULL || conf_resolve(&empty, NULL, s, &job->s) < 0 ||
	    ident_list_make(job->s.domains, job->s.n_domains, &job->ids) < 0) {
		log_error("%s: cannot queue the certificate (bad name or out of memory)", name);
		job_destroy(job);
		return NULL;
	}
	/* No ca set: the runner's first CA (a runner for one CA). */
	job->ca = job->s.ca == NULL && sh->n_cas > 0
	                  ? &sh->cas[0]
	                  : job_shared_ca(sh, ca_settings_url(job->s.ca));
	if (job->ca == NULL) {
		log_error("%s: cannot queue the certificate: this run has no client for its CA %s",
		          name, job->s.ca != NULL ? job->s.ca : "(default)");
		job_destroy(job);
		return NULL;
	}
	job->n_ids = job->s.n_domains;
	fleet_job_init(&job->fleet);
	job->fleet.cluster = sh->cluster;
	job->fleet.loop = sh->loop;
	job->fleet.state_dir = sh->state_dir;
	job->fleet.name = job->name;
	job->fleet.dir = job->dir;
	job->fleet.ids = job->ids;
	job->fleet.n_ids = job->n_ids;
	job->fleet.renew_before = job->s.renew_before;
	install_output_from(&job->s, &job->output);
	job->fleet.output = &job->output;
	job->fleet.deploy_hook = job->s.deploy_hook != NULL;
	job->fleet.ca_url = job->ca->url;
	job->fleet.view = &job->view;
	lock_wait_init(&job->lock_wait, sh->loop, sh->state_dir, job->name, sh->lock_wait, on_lock,
	               on_lock_busy, job);
	job->lock_wait.said = &sh->lock_said;
	job_set_state(job, "waiting");
	return job;
}

double
job_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job_ca *
job_shared_ca(struct job_shared *sh, const char *url)
{
	for (size_t i = 0; url != NULL && i < sh->n_cas; i++) {
		if (strcmp(sh->cas[i].url, url) == 0) {
			return &sh->cas[i];
		}
	}
	return NULL;
}

void
job_start(struct job *job)
{
	job_set_state(job, "ordering");
	lock_wait_start(&job->lock_wait);
}

int
job_stop(struct job *job, void (*stopped)(void *arg), void *arg)
{
	int rc;

	if (job->installed || job->deploying || job->install_sync != NULL ||
	    job->record_sync != NULL) {
		return 0;
	}
	rc = issue_stop(job->issue, stopped, arg);
	if (rc == 0) {
		/* stopped may have run already and its caller freed the job:
		 * nothing of it is touched here any more. */
		return 0;
	}
	job->stopped = true;
	/* A check before newOrder (CAA, dns-persist-01, the responder's
	 * probe) ends here, so that nothing of it runs after the stop; the
	 * key it held goes with the job (the runner frees a job short of its
	 * newOrder). */
	caa_check_destroy(job->caa);
	job->caa = NULL;
	persist_check_destroy(job->persist);
	job->persist = NULL;
	challenge_probe_cancel(job->caa_responder, job->probe);
	job->probe = NULL;
	if (job->lock_wait.loop != NULL) {
		/* Waiting for another process's lock: it decides nothing any
		 * more. */
		lock_wait_stop(&job->lock_wait);
	}
	if (job->batch_entered) {
		/* It will not order: the post-hook need not wait for it. */
		batch_hooks_leave(job->sh->batch, job);
		job->batch_entered = false;
	}
	return rc;
}

void
job_destroy(struct job *job)
{
	if (job == NULL) {
		return;
	}
	if (job->lock_wait.loop != NULL) {
		lock_wait_stop(&job->lock_wait);
	}
	issue_destroy(job->issue);
	caa_check_destroy(job->caa);
	persist_check_destroy(job->persist);
	challenge_probe_cancel(job->caa_responder, job->probe);
	EVP_PKEY_free(job->caa_key);
	/* A set written and never switched to is removed. */
	store_sync_cancel(job->sh->sync, job->install_sync);
	install_staged_finish(&job->staged);
	if (job->journal_temp != NULL) {
		/* Stopped before the group synced the order's journal. */
		job_journal_settle(job);
	}
	job_record_settle(job);
	store_sync_cancel(job->sh->sync, job->journal_sync);
	if (job->batch_entered) {
		batch_hooks_leave(job->sh->batch, job);
	}
	if (job->sh->cluster != NULL) {
		fleet_job_finish(&job->fleet);
		fleet_job_end(&job->fleet, false);
	}
	store_lock_release(job->lock);
	policy_view_finish(&job->view);
	conf_settings_finish(&job->s);
	ident_list_free(job->ids, job->n_ids);
	free(job->name);
	free(job->dir);
	free(job->resume_url);
	free(job->replaces);
	free(job);
}

time_t
job_clock(struct ev_loop *loop)
{
	/* The loop's clock runs up to a moment ahead of time(): a timer due
	 * at second T fires while time() still says T - 1. The later of the
	 * two keeps a due time due when its timer fires. */
	time_t at = (time_t)ev_now(loop);
	time_t wall = time(NULL);

	return at > wall ? at : wall;
}

const char *
job_name(const struct job *job)
{
	return job->name;
}

const char *
job_state(const struct job *job)
{
	return job->state;
}

time_t
job_since(const struct job *job)
{
	return job->since;
}
