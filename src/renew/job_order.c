/* The order, the install and the deploy of a job (job_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "challenge/responders.h"
#include "challenge/select.h"
#include "crypto/key.h"
#include "renew/deploy.h"
#include "renew/install.h"
#include "renew/job_internal.h"
#include "renew/preflight.h"
#include "renew/responders.h"
#include "store/state.h"
#include "store/store_cert.h"

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

void
job_deploy(struct job *job)
{
	struct deploy_request req;
	char detail[512];

	job->deploying = true;
	job_set_state(job, "deploying");
	memset(&req, 0, sizeof(req));
	req.loop = job->sh->loop;
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

bool
job_ca_offers_ari(const struct job *job)
{
	const struct acme_directory *dir =
	        job->ca->issue.client != NULL ? acme_client_directory(job->ca->issue.client) : NULL;

	return dir != NULL && dir->renewal_info != NULL;
}

/* Installed (and put into the fleet's store): the deploy hook, or done. */
static void
after_install(struct job *job)
{
	if (job->s.deploy_hook != NULL) {
		job_deploy(job);
	} else {
		job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	}
}

/* dns-persist-01: the earliest persistUntil of the records this order's
 * validations were looked up with, for `acmed status` to warn before it
 * passes (draft-ietf-acme-dns-persist-01: past it a record authorises no
 * new validation). A name whose authorization was valid already was not
 * looked up: when none was, the last value stays. */
static void
note_persist_until(struct job *job)
{
	struct challenge *ch;
	int64_t earliest = INT64_MAX;
	int64_t until;
	bool known = false;

	if (job->s.challenge != CONF_CHALLENGE_DNSPERSIST01) {
		job->view.st.persist_until = 0;
		return;
	}
	ch = responders_get(job->sh->responders, &job->s);
	for (size_t i = 0; ch != NULL && i < job->n_ids; i++) {
		const char *name = job->ids[i].value;
		bool wildcard = strncmp(name, "*.", 2) == 0;

		if (challenge_persist_until(ch, wildcard ? name + 2 : name, wildcard, &until) ==
		    0) {
			known = true;
			earliest = until < earliest ? until : earliest;
		}
	}
	if (known) {
		job->view.st.persist_until =
		        earliest != INT64_MAX && earliest > 0 ? (time_t)earliest : 0;
	}
}

static void
on_fleet_put(enum fleet_result rc, void *arg)
{
	/* Whatever the store said, the set is installed here; one it did
	 * not take is owed (fleet.c logged why). */
	(void)rc;
	after_install(arg);
}

/* What install.c needs of the job. */
static void
install_request_of(struct job *job, EVP_PKEY *key, struct install_request *req)
{
	memset(req, 0, sizeof(*req));
	req->state_dir = job->sh->state_dir;
	req->name = job->name;
	req->dir = job->dir;
	req->key = key;
	req->ids = job->ids;
	req->n_ids = job->n_ids;
	req->renew_before = job->s.renew_before;
	req->output = &job->output;
	req->resumed = job->resume_url != NULL;
	req->key_pending = key != NULL && key == job->pending_key;
}

/* The switch is durable: the record and the deploy hook. */
static void
on_switch_synced(int err, void *arg)
{
	struct job *job = arg;
	struct install_request req;
	struct store_cert_info info;

	job->install_sync = NULL;
	install_request_of(job, NULL, &req);
	if (install_settle(&req, &job->staged, err, &info, job->message, sizeof(job->message)) !=
	    INSTALL_DONE) {
		job->install_failed = true;
		job_complete(job, JOB_FAILED);
		return;
	}
	/* What the policy decides from next: the new set, as installed. */
	store_cert_info_finish(&job->view.info);
	job->view.info = info;
	job->installed = true;
	job_forget_order(job);
	if (policy_record_install(&job->view.st, time(NULL), &job->view.info, job->ca->url,
	                          job->s.deploy_hook != NULL, job_ca_offers_ari(job)) < 0 ||
	    state_set(&job->view.st.ca_fallback, job->fallback[0] != '\0' ? job->fallback : NULL) <
	            0) {
		log_error("%s: out of memory", job->name);
	}
	note_persist_until(job);
	if (job->sh->cluster != NULL && fleet_job_installed(&job->fleet, on_fleet_put, job) == 0) {
		return;
	}
	after_install(job);
}

/* Starts the group sync of paths; fn is called from the loop when it
 * ends (at once with ENOMEM when it cannot start). */
static void
install_wait(struct job *job, const char *const *paths, size_t n, store_sync_fn fn)
{
	job->install_sync = store_sync_start(job->sh->sync, paths, n, fn, job);
	if (job->install_sync == NULL) {
		fn(ENOMEM, job);
	}
}

/* The new set is durable (or could not be made so): the switch, made
 * durable in turn. */
static void
on_set_synced(int err, void *arg)
{
	struct job *job = arg;
	struct install_request req;
	const char *dir[1];

	job->install_sync = NULL;
	install_request_of(job, NULL, &req);
	if (install_switch(&req, &job->staged, err, job->message, sizeof(job->message)) !=
	    INSTALL_SWITCHED) {
		job->install_failed = true;
		job_complete(job, JOB_FAILED);
		return;
	}
	dir[0] = job->staged.set.dir;
	install_wait(job, dir, 1, on_switch_synced);
}

/* Checks what the CA issued and writes it as a new set, which the jobs'
 * shared sync makes durable with the others ready at the same time
 * (group commit, store_sync.h) before on_set_synced switches to it; the
 * switch is synced the same way before on_switch_synced records it and
 * runs the deploy hook. */
static void
job_install(struct job *job, const char *pem, size_t pem_len, EVP_PKEY *key)
{
	struct install_request req;

	install_request_of(job, key, &req);
	switch (install_stage(&req, pem, pem_len, &job->staged, job->message,
	                      sizeof(job->message))) {
	case INSTALL_SAME:
		/* The policy wants a new one all the same. */
		log_info("%s: the resumed order's certificate is already installed; ordering a "
		         "new one",
		         job->name);
		job_forget_order(job);
		free(job->resume_url);
		job->resume_url = NULL;
		issue_again(job->issue);
		return;
	case INSTALL_STAGED:
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
	install_wait(job, (const char *const *)job->staged.set.paths, job->staged.set.n_paths,
	             on_set_synced);
}

/* --- the order ------------------------------------------------------- */

/* When waiting out a rate limit would make the renewal late: the middle
 * of the renewal window of what is installed; 0 (late already) when
 * nothing usable is. */
static time_t
late_point(const struct job *job)
{
	const struct store_cert_info *info = &job->view.info;
	time_t window;

	if (!info->present || info->not_after <= info->not_before) {
		return 0;
	}
	window = job->s.renew_before > 0 ? (time_t)job->s.renew_before
	                                 : (info->not_after - info->not_before) / 3;
	return info->not_after - window / 2;
}

/* Whether the order failed for the CA's own reason, one another CA would
 * not have: it did not answer, failed (5xx, serverInternal), or limits
 * the rate until after the late point. */
static bool
ca_trouble(const struct job *job, const struct issue_result *r)
{
	switch (r->rc) {
	case ACME_ORDER_NO_ANSWER:
	case ACME_ORDER_CA_FAILED:
		return true;
	case ACME_ORDER_RATE_LIMITED:
		return r->retry_after == 0 || r->retry_after > late_point(job);
	default:
		return false;
	}
}

/* The CA after job's in its certificate's list that this run serves, or
 * NULL. */
static struct job_ca *
next_ca(struct job *job)
{
	char item[CONF_CA_ITEM_MAX + 1];
	const char *list = job->s.ca_list;
	bool past = false;
	size_t len;

	for (const char *p = list != NULL ? list : ""; *p != '\0'; p += len, p += strspn(p, " ")) {
		len = strcspn(p, " ");
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		if (past && job_shared_ca(job->sh, item) != NULL) {
			return job_shared_ca(job->sh, item);
		}
		past = past || strcmp(item, job->ca->url) == 0;
	}
	return NULL;
}

/* Whether URLs a and b are on one origin (scheme, host and port: what
 * precedes the path). */
static bool
same_origin(const char *a, const char *b)
{
	const char *ea =
	        strchr(a, '/') != NULL && strstr(a, "://") != NULL ? strstr(a, "://") + 3 : a;
	const char *eb =
	        strchr(b, '/') != NULL && strstr(b, "://") != NULL ? strstr(b, "://") + 3 : b;
	size_t la = (size_t)(ea - a) + strcspn(ea, "/");
	size_t lb = (size_t)(eb - b) + strcspn(eb, "/");

	return la == lb && strncmp(a, b, la) == 0;
}

/* An order left by an earlier run at another CA of the list (a failover
 * killed before it was done): taken on there, where it is, rather than
 * dropped for a new one at the first CA. */
static void
follow_resumed_order(struct job *job)
{
	const char *url = job->view.st.order_url;
	char item[CONF_CA_ITEM_MAX + 1];
	size_t len;

	if (url == NULL || same_origin(url, job->ca->url) || job->s.ca_list == NULL) {
		return;
	}
	for (const char *p = job->s.ca_list; *p != '\0'; p += len, p += strspn(p, " ")) {
		struct job_ca *ca;

		len = strcspn(p, " ");
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		ca = job_shared_ca(job->sh, item);
		if (ca == NULL || ca == job->ca || ca->issue.client == NULL ||
		    !same_origin(url, ca->url)) {
			continue;
		}
		log_info("%s: taking on its order at %s, left by an earlier run", job->name,
		         ca->url);
		snprintf(job->fallback, sizeof(job->fallback),
		         "an order an earlier failover from %s made here, taken on", job->ca->url);
		job->ca = ca;
		if (state_set(&job->s.ca, ca->url) < 0 ||
		    state_set(&job->s.profile, ca->profile) < 0) {
			log_error("%s: out of memory", job->name);
		}
		return;
	}
}

bool
job_failover(struct job *job, const char *why)
{
	struct job_ca *next = next_ca(job);
	char *url = NULL;

	if (next == NULL || (url = strdup(next->url)) == NULL) {
		return false;
	}
	log_warn("%s: %s: %s; ordering from %s instead", job->name, job->ca->url, why, next->url);
	if (job->fallback[0] == '\0') {
		snprintf(job->fallback, sizeof(job->fallback), "%s: %s", job->ca->url, why);
	}
	job->ca = next;
	free(job->s.ca);
	job->s.ca = url;
	/* A profile is a CA's: the next gets its own section's, or none. */
	free(job->s.profile);
	job->s.profile = next->profile != NULL ? strdup(next->profile) : NULL;
	job->retry_after = 0;
	free(job->replaces);
	job->replaces = NULL;
	/* The first CA's order is nothing to the next. */
	free(job->resume_url);
	job->resume_url = NULL;
	job_forget_order(job);
	job_order(job, &job->order_decision);
	return true;
}

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
	if (r->rc == ACME_ORDER_NOT_PRESENTED && job->view.st.order_url != NULL) {
		/* Nothing failed at the CA: its order waits there for the
		 * challenge, which the next attempt puts in place again
		 * (after the backoff) instead of ordering anew. */
		job->order_pending = true;
		log_info("%s: the order stays open at the CA; the next attempt takes it on",
		         job->name);
	}
	if (r->rc != ACME_ORDER_OK) {
		if (ca_trouble(job, r)) {
			issue_destroy(job->issue);
			job->issue = NULL;
			if (job_failover(job, r->message)) {
				return;
			}
		}
		job_fail(job, "%s", r->message);
		return;
	}
	job_install(job, r->pem, r->pem_len, r->key);
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct job *job = arg;

	job_set_step(job, true, step);
	/* Without a terminal, a single certificate's steps are worth a line
	 * each; a batch's would drown its outcomes. */
	log_msg(job->sh->progress.total == 1 && !log_is_tty() ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	        "%s: %s", job->name, acme_order_step_name(step));
}

/* Once the CA created the order, its URL and the new key are kept so that a
 * restart (even after kill -9) resumes it instead of starting over: the one
 * write of state.json before the job is over. Both are written unsynced
 * and made durable by the group commit with the other jobs' (store_sync.h),
 * off the loop: pending.key and the record (beside state.json, whose place
 * it takes only then: state.json is never half), then the folder; all
 * before any set that links the key is switched to (rounds run in order).
 * A power loss before then loses at most the order, placed again by the
 * next run (a pending.key that cannot be read is no order to resume). */
static int
on_order_url(const char *url, EVP_PKEY *key, void *arg, char *why, size_t len)
{
	struct job *job = arg;
	struct log_capture cap;
	bool kept;

	job->pending_key = NULL;
	log_capture_begin(&cap);
	cap.quiet = true;
	kept = store_cert_pending_save_flags(job->sh->state_dir, job->name, key, FILE_NO_SYNC) ==
	               0 &&
	       state_set(&job->view.st.order_url, url) == 0 && job_journal_write(job) == 0;
	log_capture_end(&cap);
	if (!kept) {
		/* Validated and finalized, the order would give a certificate
		 * whose key or order no restart could find: a full disk would
		 * make the CA issue one certificate after another for
		 * nothing. It reached the CA: the failure's backoff holds
		 * the next attempts, as any other's. */
		snprintf(why, len,
		         "%s: the order's journal cannot be written (%.300s): the order is left "
		         "at the CA unvalidated, nothing issued",
		         job->name, cap.first[0] != '\0' ? cap.first : "out of memory");
		return -1;
	}
	job->pending_key = key;
	job_journal_sync(job);
	if (job->sh->cluster != NULL) {
		/* Kept in the store too: another node resumes it if this one
		 * dies holding the lease. */
		size_t pem_len = 0;
		char *pem = key_to_pem(key, &pem_len);

		if (pem != NULL) {
			fleet_job_order(&job->fleet, url, pem);
			key_pem_free(pem, pem_len);
		}
	}
	return 0;
}

/* An order left by an earlier run with its key: resumed when both are
 * there (the key returned, the URL in job->resume_url). Under the lock, so
 * never another live process's order. */
static EVP_PKEY *
load_resume(struct job *job)
{
	EVP_PKEY *key = NULL;

	if (job->view.st.order_url != NULL) {
		enum key_type type;

		key = store_cert_pending_load(job->sh->state_dir, job->name);
		if (key != NULL && (key_type_of(key, &type) < 0 || type != job->s.key_type)) {
			/* key-type was changed since: the new order gets a key of
			 * the type asked for. */
			log_info("%s: the begun order's key is not a %s key; ordering anew",
			         job->name, key_type_name(job->s.key_type));
			EVP_PKEY_free(key);
			key = NULL;
		}
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
	struct log_capture cap;
	const char *address;
	int err;

	if (job->ca->issue.client == NULL) {
		if (!job_failover(job, job->ca->offline)) {
			job_fail(job, "%s: %s: %s", job->name, d->why, job->ca->offline);
		}
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
	if (preflight_profile(acme_client_directory(job->ca->issue.client), job->s.profile, problem,
	                      sizeof(problem)) < 0) {
		job_fail(job, "%s: %s", job->name, problem);
		return false;
	}
	log_capture_begin(&cap);
	/* The reason is the job's failure: said once, there. */
	cap.quiet = true;
	*responder = responders_get(sh->responders, &job->s);
	err = errno;
	log_capture_end(&cap);
	if (*responder != NULL && cap.first[0] != '\0') {
		/* Made after all: what went wrong on the way is not hidden. */
		log_error("%s", cap.first);
	}
	address = challenge_listen_address(&job->s, challenge_pick(&job->s, NULL));
	if (*responder == NULL && err == EADDRINUSE && address != NULL && sh->hand_off != NULL &&
	    sh->hand_off(sh->hand_off_arg, sh->state_dir, job->name, address, problem,
	                 sizeof(problem))) {
		/* The daemon orders it: this run records nothing, so that
		 * no failure or backoff of its stands in the daemon's way. */
		log_info("%s: %s", job->name, problem);
		job->no_record = true;
		job_complete(job, JOB_HANDED);
		return false;
	}
	if (*responder == NULL) {
		/* The reason is stored: status shows it without the log. */
		job->local_failure = true;
		job->port_held = err == EADDRINUSE;
		job_fail(job, "%s: no challenge responder: %s", job->name,
		         cap.first[0] != '\0' ? cap.first : "none could be made");
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
	struct log_capture cap;
	int rc;

	*key = NULL;
	/* An order left for other names would be refused for these. */
	if (d->reason == POLICY_NAMES) {
		job_forget_order(job);
	} else if ((*key = load_resume(job)) != NULL) {
		if (job->view.st.version < 0) {
			/* Left by a version that kept no set number: the one
			 * a kill after the switch needs, to owe the deploy. */
			job_save(job);
		}
		return 0;
	}
	if (!job->s.reuse_key || d->reason == POLICY_BROKEN) {
		return 0;
	}
	log_capture_begin(&cap);
	rc = store_cert_key_load(job->sh->state_dir, job->name, key, path, sizeof(path));
	log_capture_end(&cap);
	switch (rc) {
	case 1:
		log_debug("%s: reusing the key in %s", job->name, path);
		return 0;
	case 0:
		return 0;
	default:
		job_fail(job, "%s: cannot reuse the key in %s: %s", job->name, path,
		         cap.first[0] != '\0' ? cap.first : "unreadable");
		return -1;
	}
}

/* Places the order with responder and key (taken over; NULL: a new one). */
void
job_place_order(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	struct issue_request req;

	memset(&req, 0, sizeof(req));
	req.responder = responder;
	req.key = key;
	/* RFC 9773 section 5: a renewal names the certificate it replaces
	 * when the CA speaks ARI. */
	if (job_ca_offers_ari(job) && job->view.info.present && job->view.info.ari_id != NULL &&
	    (job->view.st.ca == NULL || strcmp(job->view.st.ca, job->ca->url) == 0)) {
		job->replaces = strdup(job->view.info.ari_id);
	}
	req.name = job->name;
	req.ids = job->ids;
	req.n_ids = job->n_ids;
	req.key_type = job->s.key_type;
	req.profile = job->s.profile;
	req.chain.issuer = job->s.preferred_chain;
	req.chain.shortest = job->s.chain == CONF_CHAIN_SHORTEST;
	req.replaces = job->replaces;
	req.resume_url = job->resume_url;
	req.on_url = on_order_url;
	req.on_step = on_step;
	req.done = on_issued;
	req.arg = job;
	job->issue = issue_create(&job->ca->issue, &req);
	if (job->issue == NULL) {
		EVP_PKEY_free(req.key);
		job_fail(job, "%s: cannot start the order", job->name);
		return;
	}
	issue_run(job->issue);
}

/* The pre-hook ran (or failed) for the job's batch. */
static void
on_pre_hook(const char *failed, void *arg)
{
	struct job *job = arg;

	if (failed != NULL) {
		/* Fixed on this host: no backoff held against the CA. */
		job->local_failure = true;
		job_fail(job, "%s: %s", job->name, failed);
		return;
	}
	job_order(job, &job->batch_decision);
}

/* Orders a new certificate: the key (resumed, reused or new), then the
 * order through the gate; with a pre-hook, once it ran. */
void
job_order(struct job *job, const struct policy_decision *d)
{
	struct challenge *responder = NULL;
	EVP_PKEY *key = NULL;

	if (job->stopped) {
		return;
	}
	if (d != &job->order_decision) {
		job->order_decision = *d;
		/* An order for other names is dropped, wherever it is. */
		if (d->reason != POLICY_NAMES) {
			follow_resumed_order(job);
		}
	}
	/* Offline, nothing is ordered: no reason to stop a web server. */
	/* What the CA would refuse anyway stops the job before the pre-hook
	 * takes a web server down for nothing. */
	if (batch_hooks_any(job->sh->batch) && !job->batch_entered &&
	    job->ca->issue.client != NULL &&
	    preflight_profile(acme_client_directory(job->ca->issue.client), job->s.profile,
	                      job->message, sizeof(job->message)) < 0) {
		char problem[JOB_MESSAGE_LEN];

		memcpy(problem, job->message, sizeof(problem));
		job_fail(job, "%s: %s", job->name, problem);
		return;
	}
	if (batch_hooks_any(job->sh->batch) && !job->batch_entered &&
	    job->ca->issue.client != NULL) {
		job->batch_entered = true;
		job->batch_decision = *d;
		job_set_state(job, "pre-hook");
		batch_hooks_enter(job->sh->batch, job->name, on_pre_hook, job);
		return;
	}
	if (!can_order(job, d, &responder) || order_key(job, d, &key) < 0) {
		return;
	}
	/* A resumed order was checked when it was placed: CAA, then the
	 * dns-persist-01 records, then the responder's probe, then the
	 * order. */
	if (job->resume_url != NULL) {
		job_place_order(job, responder, key);
	} else {
		job_checks_run(job, responder, key);
	}
}
