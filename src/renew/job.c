#include "renew/job.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme_order.h"
#include "challenge/challenge.h"
#include "challenge/select.h"
#include "renew/job_internal.h"
#include "crypto/key.h"
#include "crypto/keygen.h"
#include "base/log.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "base/file.h"
#include "store/state.h"
#include "store/store_cert.h"

/* One challenge responder and the configuration it serves (challenge_key). */
struct responder {
	char *key;
	struct challenge *ch;
};

static void job_next(struct job_runner *r);
static void start_order(struct job *job);
static void on_order(int rc, const char *message, const char *pem, size_t pem_len,
                     time_t retry_after, void *arg);
static void on_step(enum acme_order_step step, void *arg);
static void release_order_gate(struct job_runner *r, struct job *job);
static void on_lock_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void on_idle(struct ev_loop *loop, ev_timer *w, int revents);

/* Seconds without a job before the responders let their ports go. */
#define JOB_IDLE_RELEASE 5.0

/* How often a job looks again at a lock another process holds. */
#define JOB_LOCK_POLL 0.2

static const char *const result_names[JOB__MAX] = {
        [JOB_ISSUED] = "issued", [JOB_RENEWED] = "renewed",   [JOB_UNCHANGED] = "unchanged",
        [JOB_FAILED] = "failed", [JOB_DEPLOYED] = "deployed", [JOB_DEFERRED] = "deferred",
};

const char *
job_result_name(enum job_result result)
{
	return result < JOB__MAX ? result_names[result] : "unknown";
}

struct job_runner *
job_runner_create(const struct job_runner_config *c)
{
	struct job_runner *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_error("out of memory");
		return NULL;
	}
	r->loop = c->loop;
	r->client = c->client;
	r->acct = c->acct;
	r->account_options = c->account_options;
	r->ca_url = c->ca_url;
	r->offline = c->offline != NULL ? c->offline : "the CA cannot be reached";
	r->state_dir = c->state_dir;
	r->concurrency = c->concurrency > 0 ? c->concurrency : 1;
	r->lock_wait = c->lock_wait > 0 ? c->lock_wait : JOB_LOCK_WAIT;
	r->tail = &r->queue;
	r->order_waiters_tail = &r->order_waiters;
	r->keygen = keygen_create(r->loop);
	if (r->keygen == NULL) {
		free(r);
		return NULL;
	}
	ev_init(&r->idle, on_idle);
	r->idle.data = r;
	return r;
}

static void
release_responders(struct job_runner *r)
{
	for (size_t i = 0; i < r->n_responders; i++) {
		challenge_destroy(r->responders[i].ch);
		free(r->responders[i].key);
	}
	free(r->responders);
	r->responders = NULL;
	r->n_responders = 0;
}

/* A daemon holds no port and no webroot file between its renewals: the
 * responders go once no job has run for a while (not at once: a token's
 * clean-up may still be on its way). */
static void
on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job_runner *r = w->data;

	if (r->active == 0 && r->waiting == 0 && r->n_responders > 0) {
		log_debug("no job running: closing %zu challenge responder%s", r->n_responders,
		          r->n_responders == 1 ? "" : "s");
		release_responders(r);
	}
}

static void
job_free(struct job *job)
{
	if (job == NULL) {
		return;
	}
	ev_timer_stop(job->runner->loop, &job->lock_timer);
	store_lock_release(job->lock);
	free(job->name);
	conf_settings_finish(&job->s);
	for (size_t i = 0; i < job->n_ids; i++) {
		free(job->ids[i].value);
	}
	free(job->ids);
	EVP_PKEY_free(job->key);
	free(job->dir);
	free(job->resume_url);
	free(job->replaces);
	free(job->ari_id);
	free(job);
}

void
job_runner_destroy(struct job_runner *r)
{
	if (r == NULL) {
		return;
	}
	while (r->queue != NULL) {
		struct job *next = r->queue->next;

		job_free(r->queue);
		r->queue = next;
	}
	ev_timer_stop(r->loop, &r->idle);
	release_responders(r);
	keygen_destroy(r->keygen);
	free(r);
}

time_t
job_runner_now(const struct job_runner *r)
{
	/* The loop's clock runs up to a moment ahead of time(): a timer due
	 * at second T fires while time() still says T - 1. The later of the
	 * two keeps a due time due when its timer fires. */
	time_t loop = (time_t)ev_now(r->loop);
	time_t wall = time(NULL);

	return loop > wall ? loop : wall;
}

unsigned long
job_runner_count(const struct job_runner *r, enum job_result result)
{
	return result < JOB__MAX ? r->counts[result] : 0;
}

/* One responder per distinct configuration, shared by all jobs. */
static struct challenge *
responder_for(struct job_runner *r, const struct conf_settings *s)
{
	struct responder *grown;
	struct challenge *ch;
	char *key = challenge_key(s);

	if (key == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < r->n_responders; i++) {
		if (strcmp(r->responders[i].key, key) == 0) {
			free(key);
			return r->responders[i].ch;
		}
	}
	ch = challenge_create(r->loop, s);
	if (ch == NULL) {
		free(key);
		return NULL;
	}
	grown = realloc(r->responders, (r->n_responders + 1) * sizeof(*grown));
	if (grown == NULL) {
		challenge_destroy(ch);
		free(key);
		return NULL;
	}
	r->responders = grown;
	r->responders[r->n_responders].key = key;
	r->responders[r->n_responders].ch = ch;
	r->n_responders++;
	return ch;
}

static int
make_ids(struct job *job)
{
	job->ids = calloc(job->s.n_domains, sizeof(*job->ids));
	if (job->ids == NULL) {
		return -1;
	}
	for (size_t i = 0; i < job->s.n_domains; i++) {
		const char *d = job->s.domains[i];

		/* RFC 8738: addresses are "ip" identifiers. */
		job->ids[i].type = ident_type_of(d);
		job->ids[i].value = strdup(d);
		if (job->ids[i].value == NULL) {
			return -1;
		}
		job->n_ids = i + 1;
	}
	return 0;
}

int
job_runner_add(struct job_runner *r, const char *name, const struct conf_settings *s,
               const struct job_request *request)
{
	struct conf empty;
	struct job *job;

	if (s->n_domains == 0) {
		log_error("%s: no domains: set domains in its [cert] section", name);
		return -1;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		log_error("out of memory");
		return -1;
	}
	conf_init(&empty);
	job->runner = r;
	job->req = *request;
	job->version_before = -1;
	ev_init(&job->lock_timer, on_lock_timer);
	job->lock_timer.data = job;
	job->name = strdup(name);
	job->dir = store_cert_dir(r->state_dir, name);
	if (job->name == NULL || job->dir == NULL || conf_resolve(&empty, NULL, s, &job->s) < 0 ||
	    make_ids(job) < 0) {
		log_error("%s: cannot queue the certificate (bad name or out of memory)", name);
		job_free(job);
		return -1;
	}
	*r->tail = job;
	r->tail = &job->next;
	r->waiting++;
	r->total++;
	job->state = "waiting";
	job->since = time(NULL);
	return 0;
}

static int
set_last_error(struct state *st, const char *message)
{
	free(st->last_error);
	st->last_error = strdup(message);
	return st->last_error != NULL ? 0 : -1;
}

static bool
ca_offers_ari(const struct job_runner *r)
{
	const struct acme_directory *dir =
	        r->client != NULL ? acme_client_directory(r->client) : NULL;

	return dir != NULL && dir->renewal_info != NULL;
}

void
job_record(struct job *job, enum job_record what, const char *url)
{
	struct state st;
	time_t now = time(NULL);
	char *pending = NULL;
	int rc = 0;

	/* A broken file is replaced rather than a reason to fail the job. */
	if (state_load(job->dir, &st) < 0) {
		memset(&st, 0, sizeof(st));
	}
	if (what == RECORD_FAILED || what == RECORD_INSTALLED || what == RECORD_ORDER_OVER) {
		/* The order is over, whatever its outcome: nothing to resume. */
		free(st.order_url);
		st.order_url = NULL;
		pending =
		        store_cert_path(job->runner->state_dir, job->name, STORE_CERT_PENDING_KEY);
		if (pending != NULL) {
			unlink(pending);
		}
	}
	switch (what) {
	case RECORD_ORDER_URL:
		free(st.order_url);
		st.order_url = strdup(url);
		rc = st.order_url != NULL ? 0 : -1;
		break;
	case RECORD_FAILED:
		rc = policy_record_failure(&st, now, job->retry_after, job->message,
		                           policy_random());
		/* An install that did not happen owes no deploy. */
		if (job->deploy_marked) {
			st.deploy_pending = job->was_deploy_pending;
		}
		break;
	case RECORD_INSTALLED:
		rc = policy_record_installed(&st, now, job->not_after, job->runner->ca_url,
		                             job->s.deploy_hook != NULL);
		/* A new certificate's window is not asked for at once: it is
		 * months away but for an incident, which the next look (in
		 * six hours, a day when the CA offers no ARI) finds. */
		free(st.ari_id);
		st.ari_id = job->ari_id;
		job->ari_id = NULL;
		st.ari_when = 0;
		st.ari_next = ca_offers_ari(job->runner) ? policy_ari_next(now, 0)
		                                         : now + POLICY_ARI_ABSENT;
		break;
	case RECORD_DEPLOYED:
	case RECORD_DEPLOY_FAILED:
		rc = policy_record_deployed(&st, now, what == RECORD_DEPLOYED, job->message,
		                            policy_random());
		break;
	case RECORD_ORDER_OVER:
		break;
	case RECORD_DEPLOY_DUE:
		job->was_deploy_pending = st.deploy_pending;
		job->deploy_marked = true;
		st.deploy_pending = true;
		break;
	case RECORD_PROBLEM:
		st.last_attempt = now;
		rc = set_last_error(&st, job->message);
		break;
	case RECORD_ARI:
		free(st.ari_id);
		st.ari_id = job->ari_id != NULL ? strdup(job->ari_id) : NULL;
		st.ari_when = job->ari_when;
		st.ari_next = job->ari_next;
		break;
	}
	if (rc < 0) {
		log_error("%s: out of memory", job->name);
	} else {
		state_save(job->dir, job->name, &st);
	}
	state_finish(&st);
	free(pending);
}

/* Once the CA created the order, its URL and the new key are kept so that a
 * restart (even after kill -9) resumes it instead of starting over. */
static void
on_order_url(const char *url, void *arg)
{
	struct job *job = arg;
	char *path = store_cert_path(job->runner->state_dir, job->name, STORE_CERT_PENDING_KEY);

	if (path != NULL && file_mkdirs(job->dir, 0755) == 0 && key_save(job->key, path) == 0) {
		job_record(job, RECORD_ORDER_URL, url);
	}
	free(path);
}

/* An order left by an earlier run with its key: resumed when both are
 * there. Under the lock, so never another live process's order. */
static bool
load_resume(struct job *job)
{
	struct state st;
	char *path = NULL;
	bool ok = false;

	if (state_load(job->dir, &st) < 0 || st.order_url == NULL) {
		goto out;
	}
	path = store_cert_path(job->runner->state_dir, job->name, STORE_CERT_PENDING_KEY);
	if (path == NULL || access(path, F_OK) != 0) {
		goto out;
	}
	job->key = key_load(path);
	if (job->key == NULL) {
		goto out;
	}
	job->resume_url = st.order_url;
	st.order_url = NULL;
	ok = true;
out:
	free(path);
	state_finish(&st);
	return ok;
}

/* On a terminal, one line under the messages says where the batch is. */
static void
show_progress(struct job_runner *r)
{
	if (!log_is_tty()) {
		return;
	}
	if (r->finished == r->total) {
		log_status_clear();
		return;
	}
	log_status("acmed: %lu/%lu done, ordering %lu, validating %lu, finalizing %lu, "
	           "downloading %lu",
	           r->finished, r->total, r->in_step[ACME_ORDER_STEP_ORDERING],
	           r->in_step[ACME_ORDER_STEP_VALIDATING], r->in_step[ACME_ORDER_STEP_FINALIZING],
	           r->in_step[ACME_ORDER_STEP_DOWNLOADING]);
}

static void
set_job_step(struct job *job, bool has_step, enum acme_order_step step)
{
	struct job_runner *r = job->runner;

	if (job->has_step) {
		r->in_step[job->step]--;
	}
	job->has_step = has_step;
	job->step = step;
	if (has_step) {
		r->in_step[step]++;
		job->state = acme_order_step_name(step);
		job->since = time(NULL);
	}
	show_progress(r);
}

void
job_complete(struct job *job, enum job_result result)
{
	struct job_runner *r = job->runner;

	set_job_step(job, false, ACME_ORDER_STEP_ORDERING);
	r->finished++;
	show_progress(r);
	job->result = result;
	r->counts[result]++;
	if (result == JOB_FAILED) {
		log_error("%s", job->message);
	}
	/* Nothing is recorded without the lock: another process owns the
	 * state then. */
	if (job->lock != NULL && !job->no_record) {
		if (result == JOB_FAILED && (job->installed || job->deploying)) {
			job_record(job, RECORD_DEPLOY_FAILED, NULL);
		} else if (result == JOB_FAILED && job->local_failure) {
			job_record(job, RECORD_PROBLEM, NULL);
		} else if (result == JOB_FAILED) {
			job_record(job, RECORD_FAILED, NULL);
		} else if (result == JOB_DEPLOYED ||
		           (job->installed && job->s.deploy_hook != NULL)) {
			job_record(job, RECORD_DEPLOYED, NULL);
		} else if (result == JOB_UNCHANGED && job->resume_url != NULL) {
			job_record(job, RECORD_ORDER_OVER, NULL);
		}
	}
	r->active--;
	if (job->run_prev != NULL) {
		job->run_prev->run_next = job->run_next;
	} else if (r->running == job) {
		r->running = job->run_next;
	}
	if (job->run_next != NULL) {
		job->run_next->run_prev = job->run_prev;
	}
	if (r->on_done != NULL) {
		r->on_done(job->name, result, job->message, job->retry_after, r->on_done_arg);
	}
	job_free(job);
	job_next(r);
	if (r->active == 0 && r->waiting == 0 && r->n_responders > 0) {
		ev_timer_stop(r->loop, &r->idle);
		ev_timer_set(&r->idle, JOB_IDLE_RELEASE, 0.0);
		ev_timer_start(r->loop, &r->idle);
	}
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

static void
on_account_again(int rc, const char *message, void *arg)
{
	struct job *job = arg;
	struct job_runner *r = job->runner;
	struct job *waiters = r->account_waiters;

	r->account_busy = false;
	r->account_waiters = NULL;
	/* Everyone who hit accountDoesNotExist meanwhile goes on too. */
	while (waiters != NULL) {
		struct job *w = waiters;

		waiters = w->next;
		w->next = NULL;
		if (rc < 0) {
			job_fail(w, "%s: registering the account again: %s", w->name, message);
		} else {
			start_order(w);
		}
	}
	(void)job;
}

static void
on_order(int rc, const char *message, const char *pem, size_t pem_len, time_t retry_after,
         void *arg)
{
	struct job *job = arg;

	job->retry_after = retry_after;
	struct job_runner *r = job->runner;

	release_order_gate(r, job);
	if (rc == ACME_ORDER_NO_ACCOUNT && !job->account_retried) {
		/* The CA forgot the account (a restarted test CA does):
		 * register once more, then order again. */
		job->account_retried = true;
		log_warn("%s: the CA does not know the account; registering again", job->name);
		job->next = r->account_waiters;
		r->account_waiters = job;
		if (!r->account_busy) {
			int started =
			        acme_account_reg_ensure(r->client, r->acct, &r->account_options,
			                                true, on_account_again, job);

			if (started == ACME_ACCOUNT_OK) {
				r->account_busy = true;
			} else {
				on_account_again(-1, "cannot start", job);
			}
		}
		return;
	}
	if (rc == ACME_ORDER_REPLACED && job->params.replaces != NULL) {
		log_warn("%s; ordering without replaces", message);
		job->params.replaces = NULL;
		start_order(job);
		return;
	}
	if (rc == ACME_ORDER_ACCOUNT_REFUSED) {
		/* Fixed by fixing the account: the certificate is not held by
		 * a backoff for it (the daemon waits in memory). */
		job->local_failure = true;
	}
	if (rc != ACME_ORDER_OK) {
		job_fail(job, "%s", message);
		return;
	}
	job_install(job, pem, pem_len);
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct job *job = arg;

	set_job_step(job, true, step);
	if (step != ACME_ORDER_STEP_ORDERING) {
		release_order_gate(job->runner, job);
	}
	/* Without a terminal, a single certificate's steps are worth a line
	 * each; a batch's would drown its outcomes. */
	log_msg(job->runner->total == 1 && !log_is_tty() ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	        "%s: %s", job->name, acme_order_step_name(step));
}

/* newOrder requests go to the CA one at a time: they are the expensive
 * ones for a CA (and what its rate limits count), the rest of each order
 * runs in parallel anyway, and Pebble 2.4's memory store deadlocks on
 * concurrent newOrder requests. */
static void
release_order_gate(struct job_runner *r, struct job *job)
{
	struct job *next;

	if (r->ordering != job) {
		return;
	}
	r->ordering = NULL;
	next = r->order_waiters;
	if (next != NULL) {
		r->order_waiters = next->next;
		if (r->order_waiters == NULL) {
			r->order_waiters_tail = &r->order_waiters;
		}
		next->next = NULL;
		start_order(next);
	}
}

/* draft-ietf-acme-profiles section 3: a profile must be one the directory
 * lists, or the CA would refuse the order (or ignore the name). Fails the
 * job and returns false otherwise. */
static bool
profile_offered(struct job *job)
{
	const struct acme_directory *dir = acme_client_directory(job->runner->client);
	char offered[JOB_MESSAGE_LEN / 2] = "";
	size_t used = 0;

	if (job->s.profile == NULL) {
		return true;
	}
	for (size_t i = 0; dir != NULL && i < dir->n_profiles; i++) {
		if (strcmp(dir->profiles[i], job->s.profile) == 0) {
			return true;
		}
		if (used < sizeof(offered)) {
			int n = snprintf(offered + used, sizeof(offered) - used, "%s%s",
			                 used > 0 ? ", " : "", dir->profiles[i]);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (dir == NULL || dir->n_profiles == 0) {
		job_fail(job, "%s: profile %s: the CA offers no profiles (remove the profile key)",
		         job->name, job->s.profile);
	} else {
		job_fail(job, "%s: profile %s: the CA does not offer it; it offers %s", job->name,
		         job->s.profile, offered);
	}
	return false;
}

static void
start_order(struct job *job)
{
	struct job_runner *r = job->runner;

	if (r->ordering != NULL) {
		*r->order_waiters_tail = job;
		r->order_waiters_tail = &job->next;
		return;
	}
	r->ordering = job;
	if (acme_order_start(r->loop, r->client, r->acct, &job->params, on_order, on_step, job) ==
	    NULL) {
		release_order_gate(r, job);
		job_fail(job, "%s: cannot start the order", job->name);
	}
}

static void
on_key(EVP_PKEY *key, void *arg)
{
	struct job *job = arg;

	if (key == NULL) {
		job_fail(job, "%s: cannot make a %s key", job->name,
		         key_type_name(job->s.key_type));
		return;
	}
	job->key = key;
	job->params.cert_key = job->key;
	start_order(job);
}

void
job_reorder(struct job *job)
{
	job_record(job, RECORD_ORDER_OVER, NULL);
	free(job->resume_url);
	job->resume_url = NULL;
	job->params.resume_url = NULL;
	EVP_PKEY_free(job->key);
	job->key = NULL;
	job->params.cert_key = NULL;
	if (keygen_submit(job->runner->keygen, job->s.key_type, on_key, job) < 0) {
		job_fail(job, "%s: cannot make a key", job->name);
	}
}

/* Keeps the first problem preflight reports as the job's message. */
static void
on_problem(const char *problem, void *arg)
{
	struct job *job = arg;

	log_debug("%s", problem);
	if (job->message[0] == '\0') {
		snprintf(job->message, sizeof(job->message), "%s", problem);
	}
}

/* Orders a new certificate: the key (resumed, reused or new), then the
 * order through the gate. */
static void
job_order(struct job *job, const struct policy_decision *d, struct store_cert_info *info)
{
	struct job_runner *r = job->runner;
	const struct acme_directory *dir;
	char *path = NULL;

	if (r->client == NULL) {
		job_fail(job, "%s: %s: %s", job->name, d->why, r->offline);
		goto out;
	}
	/* Nothing is ordered that could not be kept: a CA's issuance thrown
	 * away counts against its rate limits all the same. The command
	 * checked the ports before the responders took them. */
	if (preflight_check(r->state_dir, job->name, &job->s, PREFLIGHT_NO_LISTEN, on_problem,
	                    job) < 0) {
		char problem[JOB_MESSAGE_LEN];

		memcpy(problem, job->message, sizeof(problem));
		job->local_failure = true;
		job_fail(job, "not ordered: %.900s", problem);
		goto out;
	}
	/* RFC 9773 section 5: a renewal names the certificate it replaces
	 * when the CA speaks ARI. */
	dir = acme_client_directory(r->client);
	if (dir != NULL && dir->renewal_info != NULL && info->present) {
		job->replaces = info->ari_id;
		info->ari_id = NULL;
	}
	if (!profile_offered(job)) {
		goto out;
	}
	job->params.responder = responder_for(r, &job->s);
	if (job->params.responder == NULL) {
		job->local_failure = true;
		job_fail(job, "%s: no challenge responder (see above)", job->name);
		goto out;
	}
	job->params.name = job->name;
	job->params.ids = job->ids;
	job->params.n_ids = job->n_ids;
	job->params.on_url = on_order_url;
	job->params.replaces = job->replaces;
	job->params.profile = job->s.profile;
	/* An order left for other names would be refused for these. */
	if (d->reason == POLICY_NAMES) {
		job_record(job, RECORD_ORDER_OVER, NULL);
	} else if (load_resume(job)) {
		job->params.resume_url = job->resume_url;
		job->params.cert_key = job->key;
		start_order(job);
		goto out;
	}
	path = store_cert_path(r->state_dir, job->name, STORE_CERT_PRIVKEY);
	/* A broken set's key is not worth keeping. */
	if (job->s.reuse_key && d->reason != POLICY_BROKEN && path != NULL &&
	    access(path, F_OK) == 0) {
		log_debug("%s: reusing the key in %s", job->name, path);
		job->key = key_load(path);
		if (job->key == NULL) {
			job_fail(job, "%s: cannot reuse the key in %s (see above)", job->name,
			         path);
			goto out;
		}
		job->params.cert_key = job->key;
		start_order(job);
		goto out;
	}
	if (keygen_submit(r->keygen, job->s.key_type, on_key, job) < 0) {
		job_fail(job, "%s: cannot make a key", job->name);
	}
out:
	free(path);
}

static void job_begin(struct job *job);

static void
on_ari(const struct acme_reply *reply, void *arg)
{
	struct job *job = arg;
	struct acme_renewal_info info;
	time_t now = job_runner_now(job->runner);
	char err[256];

	job->ari_when = 0;
	if (reply->problem != NULL) {
		log_debug("%s: renewalInfo: %s", job->name, reply->message);
	} else if (acme_parse_renewal_info(reply->body, reply->body_len, &info, err, sizeof(err)) <
	           0) {
		log_warn("%s: %s: %s; keeping the usual schedule", job->name, reply->url, err);
	} else {
		job->ari_when = policy_ari_time(info.start, info.end, now, policy_random());
		acme_parse_renewal_info_finish(&info);
	}
	job->ari_next = policy_ari_next(now, reply->retry_after);
	job_record(job, RECORD_ARI, NULL);
	job->req.ari_when = job->ari_when;
	job_begin(job);
}

/* RFC 9773: a one-shot run asks the CA for the renewal window of what is
 * installed, unless state.json has an answer still good (the daemon keeps
 * its own). Returns true when the answer is awaited (on_ari goes on). */
static bool
ask_ari(struct job *job, const struct policy_decision *d, struct store_cert_info *info)
{
	struct job_runner *r = job->runner;
	char *url = NULL;
	bool asked = false;

	if (job->ari_asked || job->req.ari_when != 0 || r->client == NULL || !d->ari_stale ||
	    d->action != POLICY_WAIT || d->reason != POLICY_NOT_DUE) {
		goto out;
	}
	job->ari_asked = true;
	job->ari_id = info->ari_id;
	info->ari_id = NULL;
	url = acme_client_ari_url(r->client, job->ari_id);
	if (url == NULL) {
		/* The CA offers none: no need to ask each run. */
		job->ari_when = 0;
		job->ari_next = job_runner_now(r) + POLICY_ARI_ABSENT;
		job_record(job, RECORD_ARI, NULL);
		goto out;
	}
	asked = acme_client_get(r->client, url, on_ari, job) == 0;
out:
	free(url);
	return asked;
}

/* With the lock held: asks the policy what to do, and does it. */
static void
job_begin(struct job *job)
{
	struct job_runner *r = job->runner;
	struct policy_decision d;
	struct store_cert_info info;

	job->state = "ordering";
	job->since = time(NULL);
	if (policy_check(r->state_dir, job->name, &job->s, r->ca_url, job->req.force,
	                 job->req.ari_when, job_runner_now(r), &d, &info) < 0) {
		job_fail(job, "%s: cannot read what is installed: %s", job->name, d.why);
		goto out;
	}
	job->renewal = info.present;
	job->not_after = info.not_after;
	if (job->waited && job->req.force && info.version >= 0 &&
	    info.version != job->version_before) {
		log_info("%s: %s installed a new certificate meanwhile; not ordering another",
		         job->name, job->holder);
		job_complete(job, JOB_UNCHANGED);
		goto out;
	}
	if (job->req.deploy) {
		/* A deploy asked by hand that cannot run says so and
		 * changes nothing a renewal counts. */
		job->no_record = !info.present || job->s.deploy_hook == NULL;
		if (!info.present) {
			job_fail(job, "%s: nothing installed to deploy", job->name);
		} else if (job->s.deploy_hook == NULL) {
			job_fail(job, "%s: no deploy hook: set deploy-hook or pass --deploy-hook",
			         job->name);
		} else {
			job_deploy(job, JOB_DEPLOYED);
		}
		goto out;
	}
	if (ask_ari(job, &d, &info)) {
		goto out;
	}
	switch (d.action) {
	case POLICY_ORDER:
		log_info("%s: %s", job->name, d.why);
		job_order(job, &d, &info);
		break;
	case POLICY_DEPLOY:
		log_info("%s: %s", job->name, d.why);
		job_deploy(job, JOB_DEPLOYED);
		break;
	case POLICY_WAIT:
	default:
		if (d.reason == POLICY_BACKOFF) {
			log_warn("%s: %s", job->name, d.why);
			job_complete(job, JOB_DEFERRED);
		} else if (d.reason == POLICY_DEPLOY_RETRY) {
			log_warn("%s: %s", job->name, d.why);
			job_complete(job, JOB_UNCHANGED);
		} else {
			log_info("%s: %s, not due (--force renews now)", job->name, d.why);
			job_complete(job, JOB_UNCHANGED);
		}
		break;
	}
out:
	store_cert_info_finish(&info);
}

static void try_lock(struct job *job);

static void
on_lock_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	try_lock(w->data);
}

/* Takes the certificate's lock, or looks again shortly while another
 * process (a daemon, a timer, a person at the shell) holds it. */
static void
try_lock(struct job *job)
{
	struct job_runner *r = job->runner;
	char holder[STORE_LOCK_HOLDER_LEN];

	job->lock = store_cert_lock(r->state_dir, job->name, holder);
	if (job->lock != NULL) {
		job_begin(job);
		return;
	}
	if (errno != EWOULDBLOCK) {
		job_fail(job, "%s: cannot lock it under %s: %s; nothing ordered", job->name,
		         r->state_dir, strerror(errno));
		return;
	}
	if (!job->waited) {
		job->waited = true;
		job->version_before = store_cert_version(r->state_dir, job->name);
		snprintf(job->holder, sizeof(job->holder), "%s", holder);
		log_info("%s: waiting for %s, which is working on it", job->name, holder);
		job->state = "locked";
		job->since = time(NULL);
	}
	if (job->lock_waited >= r->lock_wait) {
		job_fail(job, "%s: still locked by %s after %.0f s; nothing done", job->name,
		         holder, job->lock_waited);
		return;
	}
	job->lock_waited += JOB_LOCK_POLL;
	ev_timer_set(&job->lock_timer, JOB_LOCK_POLL, 0.0);
	ev_timer_start(r->loop, &job->lock_timer);
}

static void
job_start(struct job *job)
{
	struct job_runner *r = job->runner;

	r->active++;
	job->run_next = r->running;
	if (r->running != NULL) {
		r->running->run_prev = job;
	}
	r->running = job;
	job->state = "ordering";
	job->since = time(NULL);
	try_lock(job);
}

/* Starts waiting jobs while below the cap. */
static void
job_next(struct job_runner *r)
{
	/* Jobs that finish at once (not due) would otherwise recurse here
	 * once per certificate. */
	if (r->starting) {
		return;
	}
	r->starting = true;
	while (r->queue != NULL && r->active < (size_t)r->concurrency) {
		struct job *job = r->queue;

		r->queue = job->next;
		if (r->queue == NULL) {
			r->tail = &r->queue;
		}
		job->next = NULL;
		r->waiting--;
		job_start(job);
	}
	r->starting = false;
}

void
job_runner_on_done(struct job_runner *r, job_done_fn done, void *arg)
{
	r->on_done = done;
	r->on_done_arg = arg;
}

void
job_runner_start(struct job_runner *r)
{
	job_next(r);
}

size_t
job_runner_active(const struct job_runner *r)
{
	return r->active;
}

size_t
job_runner_waiting(const struct job_runner *r)
{
	return r->waiting;
}

bool
job_runner_has(const struct job_runner *r, const char *name)
{
	for (const struct job *j = r->running; j != NULL; j = j->run_next) {
		if (strcmp(j->name, name) == 0) {
			return true;
		}
	}
	for (const struct job *j = r->queue; j != NULL; j = j->next) {
		if (strcmp(j->name, name) == 0) {
			return true;
		}
	}
	return false;
}

static void
list_one(const struct job *j, json_t *list)
{
	json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "cert", j->name, "state", j->state,
	                                      "since", (json_int_t)j->since));
}

void
job_runner_list(const struct job_runner *r, json_t *list)
{
	for (const struct job *j = r->running; j != NULL; j = j->run_next) {
		list_one(j, list);
	}
	for (const struct job *j = r->queue; j != NULL; j = j->next) {
		list_one(j, list);
	}
}

void
job_runner_run(struct job_runner *r)
{
	job_next(r);
	while (r->active > 0 || r->waiting > 0) {
		ev_run(r->loop, EVRUN_ONCE);
	}
}
