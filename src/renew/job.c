#include "renew/job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/key.h"
#include "crypto/keygen.h"
#include "renew/ari.h"
#include "renew/deploy.h"
#include "renew/install.h"
#include "renew/lock_wait.h"
#include "renew/preflight.h"
#include "renew/status.h"
#include "renew/responders.h"
#include "store/state.h"
#include "store/store_cert.h"

#define JOB_MESSAGE_LEN 1024

struct job {
	struct job_shared *sh;
	job_finished_fn finished;
	void *finished_arg;
	char *name;
	char *dir; /* certs/<name> */
	struct conf_settings s;
	struct job_request req;
	struct ident *ids; /* the configured names */
	size_t n_ids;

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
	char *replaces; /* ARI ID of the installed certificate */
	bool has_step;
	enum acme_order_step step;
	time_t retry_after; /* the CA's Retry-After with a refusal */
	bool ari_asked; /* the CA's renewal window was looked up */

	bool renewal; /* a certificate was installed before */
	bool installed; /* this job installed a new set */
	bool deploying; /* this job ran the deploy hook */
	/* Failed on this host before anything reached the CA (a hook, the
	 * state folder, a port): said, but no backoff, so that the run after
	 * the fix goes ahead. */
	bool local_failure;
	bool no_record; /* a hand deploy that could not run: nothing recorded */
	enum job_result result;
	char message[JOB_MESSAGE_LEN];
	const char *state;
	time_t since;
};

static const char *const result_names[JOB__MAX] = {
        [JOB_ISSUED] = "issued", [JOB_RENEWED] = "renewed",   [JOB_UNCHANGED] = "unchanged",
        [JOB_FAILED] = "failed", [JOB_DEPLOYED] = "deployed", [JOB_DEFERRED] = "deferred",
};

static void job_begin(struct job *job);

const char *
job_result_name(enum job_result result)
{
	return result < JOB__MAX ? result_names[result] : "unknown";
}

static time_t
now_of(const struct job *job)
{
	return job_clock(job->sh->issue.loop);
}

static void
set_state(struct job *job, const char *state)
{
	job->state = state;
	job->since = time(NULL);
}

/* --- the record ------------------------------------------------------ */

/* The order is over, whatever its outcome: nothing to resume. */
static void
forget_order(struct job *job)
{
	store_cert_pending_remove(job->sh->state_dir, job->name);
	job->pending_key = NULL;
	free(job->view.st.order_url);
	job->view.st.order_url = NULL;
	job->dirty = true;
}

static void
save(struct job *job)
{
	struct state *st = &job->view.st;

	/* The set this record speaks of: a higher one found later was
	 * switched to by a job that did not live to record it. */
	st->version = job->view.info.version >= 0 ? job->view.info.version : 0;
	if (state_save(job->dir, job->name, st) == 0) {
		job->dirty = false;
	}
}

/* What the job's end records (policy_record_attempt). */
static enum policy_attempt
attempt_of(const struct job *job)
{
	if (job->result == JOB_FAILED && (job->installed || job->deploying)) {
		return POLICY_ATTEMPT_DEPLOY_FAILED;
	}
	if (job->result == JOB_FAILED && job->install_failed && job->view.st.order_url != NULL) {
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
		forget_order(job);
	}
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
	if (!job->view_loaded) {
		return;
	}
	/* A new certificate is not in the window asked for the old one. */
	o->has_next = policy_view_decide(&job->view, &job->s, job->sh->ca_url, false,
	                                 job->installed ? 0 : job->req.ari_when, now_of(job),
	                                 &o->next) == 0;
	o->not_after = job->view.info.not_after;
	o->ari_id = job->view.info.ari_id;
	o->attempts = st->attempts;
	o->last_error = status_last_error(st);
}

/* --- progress -------------------------------------------------------- */

static void
set_step(struct job *job, bool has_step, enum acme_order_step step)
{
	progress_step(&job->sh->progress, job->has_step, job->step, has_step, step);
	job->has_step = has_step;
	job->step = step;
	if (has_step) {
		set_state(job, acme_order_step_name(step));
	}
}

/* --- the end --------------------------------------------------------- */

/* Records the outcome (one write of state.json, none when nothing
 * changed), logs a failure and tells the runner. Nothing is recorded
 * without the lock: another process owns the state then. */
static void
job_complete(struct job *job, enum job_result result)
{
	struct job_outcome outcome;

	job->result = result;
	set_step(job, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&job->sh->progress);
	if (result == JOB_FAILED) {
		log_error("%s", job->message);
	}
	if (job->lock != NULL && job->view_loaded && !job->no_record) {
		record_outcome(job);
		if (job->dirty) {
			save(job);
		}
	}
	make_outcome(job, &outcome);
	job->finished(job, &outcome, job->finished_arg);
}

static void job_fail(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
job_fail(struct job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->message, sizeof(job->message), fmt, ap);
	va_end(ap);
	job_complete(job, JOB_FAILED);
}

/* --- deploy ---------------------------------------------------------- */

static void
on_deploy(bool ok, const char *detail, void *arg)
{
	struct job *job = arg;

	if (!ok) {
		job_fail(job,
		         "%s: installed, but the deploy hook failed: %s; it runs again later "
		         "without a new order (acmed deploy %s runs it now)",
		         job->name, detail, job->name);
		return;
	}
	if (!job->installed) {
		job_complete(job, JOB_DEPLOYED);
	} else {
		job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	}
}

static void
job_deploy(struct job *job)
{
	struct deploy_request req;
	char detail[512];

	job->deploying = true;
	set_state(job, "deploying");
	memset(&req, 0, sizeof(req));
	req.loop = job->sh->issue.loop;
	req.state_dir = job->sh->state_dir;
	req.name = job->name;
	req.dir = job->dir;
	req.hook = job->s.deploy_hook;
	req.timeout_s = job->s.hook_timeout;
	req.ids = job->ids;
	req.n_ids = job->n_ids;
	if (deploy_start(&req, on_deploy, job, detail, sizeof(detail)) == NULL) {
		job_fail(job, "%s: installed, but %s", job->name, detail);
	}
}

/* --- install --------------------------------------------------------- */

static bool
ca_offers_ari(const struct job *job)
{
	const struct acme_directory *dir =
	        job->sh->issue.client != NULL ? acme_client_directory(job->sh->issue.client) : NULL;

	return dir != NULL && dir->renewal_info != NULL;
}

/* Checks and installs what the CA issued, then deploys it. */
static void
job_install(struct job *job, const char *pem, size_t pem_len, EVP_PKEY *key)
{
	struct install_request req;
	struct store_cert_info info;

	memset(&req, 0, sizeof(req));
	req.state_dir = job->sh->state_dir;
	req.name = job->name;
	req.dir = job->dir;
	req.key = key;
	req.ids = job->ids;
	req.n_ids = job->n_ids;
	req.renew_before = job->s.renew_before;
	req.resumed = job->resume_url != NULL;
	req.key_pending = key != NULL && key == job->pending_key;
	switch (install_chain(&req, pem, pem_len, &info, job->message, sizeof(job->message))) {
	case INSTALL_SAME:
		/* The policy wants a new one all the same. */
		log_info("%s: the resumed order's certificate is already installed; ordering a "
		         "new one",
		         job->name);
		forget_order(job);
		free(job->resume_url);
		job->resume_url = NULL;
		issue_again(job->issue);
		return;
	case INSTALL_DONE:
		break;
	case INSTALL_FAILED:
		job->install_failed = true;
		job_complete(job, JOB_FAILED);
		return;
	case INSTALL_REFUSED:
	default:
		job_complete(job, JOB_FAILED);
		return;
	}
	/* What the policy decides from next: the new set, as installed. */
	store_cert_info_finish(&job->view.info);
	job->view.info = info;
	job->installed = true;
	forget_order(job);
	if (policy_record_install(&job->view.st, time(NULL), &job->view.info, job->sh->ca_url,
	                          job->s.deploy_hook != NULL, ca_offers_ari(job)) < 0) {
		log_error("%s: out of memory", job->name);
	}
	if (job->s.deploy_hook != NULL) {
		job_deploy(job);
	} else {
		job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	}
}

/* --- the order ------------------------------------------------------- */

static void
on_issued(const struct issue_result *r, void *arg)
{
	struct job *job = arg;

	job->retry_after = r->retry_after;
	if (r->rc == ACME_ORDER_ACCOUNT_REFUSED) {
		/* Fixed by fixing the account: the certificate is not held by
		 * a backoff for it (the daemon waits in memory). */
		job->local_failure = true;
	}
	if (r->rc != ACME_ORDER_OK) {
		job_fail(job, "%s", r->message);
		return;
	}
	job_install(job, r->pem, r->pem_len, r->key);
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct job *job = arg;

	set_step(job, true, step);
	/* Without a terminal, a single certificate's steps are worth a line
	 * each; a batch's would drown its outcomes. */
	log_msg(job->sh->progress.total == 1 && !log_is_tty() ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	        "%s: %s", job->name, acme_order_step_name(step));
}

/* Once the CA created the order, its URL and the new key are kept so that a
 * restart (even after kill -9) resumes it instead of starting over: the one
 * write of state.json before the job is over. */
static void
on_order_url(const char *url, EVP_PKEY *key, void *arg)
{
	struct job *job = arg;

	job->pending_key = NULL;
	if (store_cert_pending_save(job->sh->state_dir, job->name, key) == 0) {
		job->pending_key = key;
		if (state_set(&job->view.st.order_url, url) < 0) {
			log_error("%s: out of memory", job->name);
		}
		save(job);
	}
}

/* An order left by an earlier run with its key: resumed when both are
 * there (the key returned, the URL in job->resume_url). Under the lock, so
 * never another live process's order. */
static EVP_PKEY *
load_resume(struct job *job)
{
	EVP_PKEY *key = NULL;

	if (job->view.st.order_url != NULL) {
		key = store_cert_pending_load(job->sh->state_dir, job->name);
		job->resume_url = key != NULL ? strdup(job->view.st.order_url) : NULL;
	}
	if (job->resume_url == NULL) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	job->pending_key = key;
	return key;
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

/* Whether an order can go out: a CA, nothing local in the way (preflight),
 * a profile the CA offers, a challenge responder (in *responder). Fails the
 * job when not. */
static bool
can_order(struct job *job, const struct policy_decision *d, struct challenge **responder)
{
	struct job_shared *sh = job->sh;
	char problem[JOB_MESSAGE_LEN];

	if (sh->issue.client == NULL) {
		job_fail(job, "%s: %s: %s", job->name, d->why, sh->offline);
		return false;
	}
	/* Nothing is ordered that could not be kept: a CA's issuance thrown
	 * away counts against its rate limits all the same. The command
	 * checked the ports before the responders took them. */
	if (preflight_check(sh->state_dir, job->name, &job->s, PREFLIGHT_NO_LISTEN, &sh->preflight,
	                    on_problem, job) < 0) {
		memcpy(problem, job->message, sizeof(problem));
		job->local_failure = true;
		job_fail(job, "not ordered: %.900s", problem);
		return false;
	}
	if (preflight_profile(acme_client_directory(sh->issue.client), job->s.profile, problem,
	                      sizeof(problem)) < 0) {
		job_fail(job, "%s: %s", job->name, problem);
		return false;
	}
	*responder = responders_get(sh->responders, &job->s);
	if (*responder == NULL) {
		job->local_failure = true;
		job_fail(job, "%s: no challenge responder (see above)", job->name);
		return false;
	}
	return true;
}

/* The key to order with: the resumed order's, else the installed one when
 * reuse-key says so (not a broken set's), else NULL for a new one. Returns
 * -1 with the job failed when the key to reuse cannot be read. */
static int
order_key(struct job *job, const struct policy_decision *d, EVP_PKEY **key)
{
	char path[512];

	*key = NULL;
	/* An order left for other names would be refused for these. */
	if (d->reason == POLICY_NAMES) {
		forget_order(job);
	} else if ((*key = load_resume(job)) != NULL) {
		if (job->view.st.version < 0) {
			/* Left by a version that kept no set number: the one
			 * a kill after the switch needs, to owe the deploy. */
			save(job);
		}
		return 0;
	}
	if (!job->s.reuse_key || d->reason == POLICY_BROKEN) {
		return 0;
	}
	switch (store_cert_key_load(job->sh->state_dir, job->name, key, path, sizeof(path))) {
	case 1:
		log_debug("%s: reusing the key in %s", job->name, path);
		return 0;
	case 0:
		return 0;
	default:
		job_fail(job, "%s: cannot reuse the key in %s (see above)", job->name, path);
		return -1;
	}
}

/* Orders a new certificate: the key (resumed, reused or new), then the
 * order through the gate. */
static void
job_order(struct job *job, const struct policy_decision *d)
{
	struct issue_request req;

	memset(&req, 0, sizeof(req));
	if (!can_order(job, d, &req.responder) || order_key(job, d, &req.key) < 0) {
		return;
	}
	/* RFC 9773 section 5: a renewal names the certificate it replaces
	 * when the CA speaks ARI. */
	if (ca_offers_ari(job) && job->view.info.present && job->view.info.ari_id != NULL) {
		job->replaces = strdup(job->view.info.ari_id);
	}
	req.name = job->name;
	req.ids = job->ids;
	req.n_ids = job->n_ids;
	req.key_type = job->s.key_type;
	req.profile = job->s.profile;
	req.replaces = job->replaces;
	req.resume_url = job->resume_url;
	req.on_url = on_order_url;
	req.on_step = on_step;
	req.done = on_issued;
	req.arg = job;
	job->issue = issue_create(&job->sh->issue, &req);
	if (job->issue == NULL) {
		EVP_PKEY_free(req.key);
		job_fail(job, "%s: cannot start the order", job->name);
		return;
	}
	issue_run(job->issue);
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

	if (job->ari_asked || job->req.ari_when != 0 || job->sh->issue.client == NULL ||
	    !d->ari_stale || d->action != POLICY_WAIT || d->reason != POLICY_NOT_DUE) {
		return false;
	}
	job->ari_asked = true;
	if (ari_ask(job->sh->issue.client, job->name, job->view.info.ari_id, on_ari, job,
	            &absent) != NULL) {
		return true;
	}
	if (absent && state_set(&st->ari_id, job->view.info.ari_id) == 0) {
		/* The CA offers none: no need to ask each run. */
		st->ari_when = 0;
		st->ari_next = now_of(job) + POLICY_ARI_ABSENT;
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
		forget_order(job);
		if (policy_record_install(st, time(NULL), info, job->sh->ca_url,
		                          job->s.deploy_hook != NULL, ca_offers_ari(job)) < 0) {
			log_error("%s: out of memory", job->name);
		}
	}
	return 0;
}

/* With the lock held: asks the policy what to do, and does it. */
static void
job_begin(struct job *job)
{
	struct policy_decision d;

	set_state(job, "ordering");
	if (!job->view_loaded && load_view(job) < 0) {
		return;
	}
	if (policy_view_decide(&job->view, &job->s, job->sh->ca_url, job->req.force,
	                       job->req.ari_when, now_of(job), &d) < 0) {
		job_fail(job, "%s: cannot read what is installed: %s", job->name, d.why);
		return;
	}
	job->renewal = job->view.info.present;
	if (job->lock_wait.waited && job->req.force && job->view.info.version >= 0 &&
	    job->view.info.version != job->lock_wait.version_before) {
		log_info("%s: %s installed a new certificate meanwhile; not ordering another",
		         job->name, job->lock_wait.holder);
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
		log_info("%s: %s", job->name, d.why);
		job_order(job, &d);
		break;
	case POLICY_DEPLOY:
		log_info("%s: %s", job->name, d.why);
		job_deploy(job);
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
	set_state(arg, "locked");
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
	job->n_ids = job->s.n_domains;
	lock_wait_init(&job->lock_wait, sh->issue.loop, sh->state_dir, job->name, sh->lock_wait,
	               on_lock, on_lock_busy, job);
	set_state(job, "waiting");
	return job;
}

void
job_start(struct job *job)
{
	set_state(job, "ordering");
	lock_wait_start(&job->lock_wait);
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
