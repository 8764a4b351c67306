#include "renew/fleet.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "renew/install.h"
#include "store/state.h"
#include "store/store_cert.h"

#define PEM_MAX (1024 * 1024)

/* One call to the store in flight; fleet_job_finish cuts it loose (fj
 * NULL) so that its answer, when it comes, changes nothing. A lease's
 * keeps what letting it go needs when it is cut loose (the job's own
 * strings may be gone by then). */
struct fleet_call {
	struct fleet_job *fj;
	fleet_done_fn done;
	void *arg;
	struct cluster *cluster;
	char *name; /* a lease's, or NULL */
};

void
fleet_job_init(struct fleet_job *fj)
{
	memset(fj, 0, sizeof(*fj));
	fj->remote_node = "";
}

static void
stop_extend(struct fleet_job *fj)
{
	if (fj->loop != NULL) {
		ev_timer_stop(fj->loop, &fj->extend);
	}
}

void
fleet_job_finish(struct fleet_job *fj)
{
	stop_extend(fj);
	if (fj->call != NULL) {
		fj->call->fj = NULL;
		fj->call = NULL;
	}
}

static void
call_free(struct fleet_call *call)
{
	if (call != NULL) {
		free(call->name);
		free(call);
	}
}

static struct fleet_call *
call_new(struct fleet_job *fj, fleet_done_fn done, void *arg)
{
	struct fleet_call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		log_error("%s: out of memory", fj->name);
		return NULL;
	}
	call->fj = fj;
	call->done = done;
	call->arg = arg;
	call->cluster = fj->cluster;
	fj->call = call;
	return call;
}

/* The job the answer is for, or NULL (call freed) when it was cut loose. */
static struct fleet_job *
call_job(struct fleet_call *call)
{
	struct fleet_job *fj = call->fj;

	if (fj == NULL) {
		call_free(call);
		return NULL;
	}
	fj->call = NULL;
	return fj;
}

static void
call_end(struct fleet_call *call, enum fleet_result rc)
{
	fleet_done_fn done = call->done;
	void *arg = call->arg;

	call_free(call);
	done(rc, arg);
}

static enum fleet_result
fail_of(struct fleet_job *fj, const struct cluster_reply *r)
{
	snprintf(fj->message, sizeof(fj->message), "the fleet's store %s: %s%s%s",
	         r->rc == CLUSTER_DOWN ? "cannot be reached" : cluster_result_name(r->rc),
	         r->message, r->rc == CLUSTER_DOWN ? "; renewals wait for it" : "", "");
	return r->rc == CLUSTER_DOWN ? FLEET_DOWN : FLEET_FAILED;
}

/* --- reading the installed set ------------------------------------------- */

static char *
read_file_of(const struct fleet_job *fj, enum store_cert_file file)
{
	char *path = store_cert_path(fj->state_dir, fj->name, file);
	size_t len = 0;
	char *text = path != NULL ? file_read(path, PEM_MAX, &len) : NULL;

	free(path);
	return text;
}

/* The installed set as a record to put (key_pem to be cleared). */
static int
record_of(const struct fleet_job *fj, struct cluster_cert *cc)
{
	cluster_cert_init(cc);
	cc->key_pem = read_file_of(fj, STORE_CERT_PRIVKEY);
	cc->cert_pem = read_file_of(fj, STORE_CERT_CERT);
	cc->chain_pem = read_file_of(fj, STORE_CERT_CHAIN);
	cc->state = state_shared_to_json(&fj->view->st);
	if (cc->key_pem == NULL || cc->cert_pem == NULL || cc->chain_pem == NULL ||
	    cc->state == NULL) {
		log_error("%s: cannot read the installed set to share it", fj->name);
		return -1;
	}
	return 0;
}

static void
record_free(struct cluster_cert *cc)
{
	if (cc->key_pem != NULL) {
		key_pem_free(cc->key_pem, strlen(cc->key_pem));
		cc->key_pem = NULL;
	}
	free(cc->cert_pem);
	free(cc->chain_pem);
	free(cc->state);
	cluster_cert_init(cc);
}

/* --- sync ----------------------------------------------------------------- */

/* Installs the store's version here, checked as a CA's chain would be.
 * Returns 0, or -1 with fj->message set. */
static int
materialize(struct fleet_job *fj, const struct cluster_cert *cc)
{
	struct install_request req;
	struct store_cert_info info;
	struct state *st = &fj->view->st;
	char message[400] = "";
	size_t cert_len = strlen(cc->cert_pem);
	size_t chain_len = cc->chain_pem != NULL ? strlen(cc->chain_pem) : 0;
	char *pem = malloc(cert_len + chain_len + 1);
	enum install_result res = INSTALL_FAILED;

	memset(&req, 0, sizeof(req));
	req.state_dir = fj->state_dir;
	req.name = fj->name;
	req.dir = fj->dir;
	req.key = key_from_pem(cc->key_pem, strlen(cc->key_pem));
	req.ids = fj->ids;
	req.n_ids = fj->n_ids;
	req.renew_before = fj->renew_before;
	req.output = fj->output;
	req.resumed = true; /* the same certificate already here is no news */
	if (pem != NULL && req.key != NULL) {
		memcpy(pem, cc->cert_pem, cert_len);
		memcpy(pem + cert_len, cc->chain_pem != NULL ? cc->chain_pem : "", chain_len);
		pem[cert_len + chain_len] = '\0';
		res = install_chain(&req, pem, cert_len + chain_len, &info, message,
		                    sizeof(message));
	}
	free(pem);
	EVP_PKEY_free(req.key);
	if (res != INSTALL_DONE && res != INSTALL_SAME) {
		snprintf(fj->message, sizeof(fj->message),
		         "%s: the fleet's version %ld (by %s) was not installed here: %s", fj->name,
		         cc->version, cc->node != NULL ? cc->node : "?",
		         message[0] != '\0' ? message : "unreadable or refused");
		return -1;
	}
	if (st->order_url != NULL) {
		/* Ours is not needed any more: the fleet has a newer set. Before
		 * the install is recorded, which forgets the URL but not the key
		 * file. */
		store_cert_pending_remove(fj->state_dir, fj->name);
		state_set(&st->order_url, NULL);
	}
	if (res == INSTALL_DONE) {
		store_cert_info_finish(&fj->view->info);
		fj->view->info = info;
		if (policy_record_install(st, time(NULL), &info, fj->ca_url, fj->deploy_hook,
		                          fj->ari) < 0) {
			log_error("%s: out of memory", fj->name);
		}
		fj->materialized = true;
	}
	if (cc->state != NULL && state_shared_merge(st, cc->state, true) < 0) {
		log_warn("%s: the fleet's record of it is unreadable; kept this node's", fj->name);
	}
	st->fleet_version = cc->version;
	st->fleet_owed = false;
	fj->changed = true;
	log_info("%s: %s the fleet's version %ld (ordered by %s)", fj->name,
	         res == INSTALL_DONE ? "installed" : "already had", cc->version,
	         cc->node != NULL ? cc->node : "?");
	return 0;
}

/* An order another node left (it died holding the lease): taken over with
 * its key, so that it is resumed rather than ordered again. */
static void
adopt_order(struct fleet_job *fj, const struct cluster_cert *cc)
{
	struct state *st = &fj->view->st;
	EVP_PKEY *key = NULL;

	if (cc->order_url == NULL || cc->order_key_pem == NULL ||
	    (st->order_url != NULL && strcmp(st->order_url, cc->order_url) == 0)) {
		return;
	}
	key = key_from_pem(cc->order_key_pem, strlen(cc->order_key_pem));
	if (key == NULL || store_cert_pending_save(fj->state_dir, fj->name, key) < 0 ||
	    state_set(&st->order_url, cc->order_url) < 0) {
		log_warn("%s: cannot take over the order %s left; ordering anew", fj->name,
		         cc->order_node != NULL ? cc->order_node : "another node");
	} else {
		log_info("%s: resuming the order %s left", fj->name,
		         cc->order_node != NULL ? cc->order_node : "another node");
		fj->changed = true;
	}
	EVP_PKEY_free(key);
}

static int start_sync(struct fleet_job *fj, struct fleet_call *call);

static void
on_push(const struct cluster_reply *r, void *arg)
{
	struct fleet_call *call = arg;
	struct fleet_job *fj = call_job(call);

	if (fj == NULL) {
		return;
	}
	if (r->rc == CLUSTER_OK) {
		fj->view->st.fleet_version = r->version;
		fj->view->st.fleet_owed = false;
		fj->changed = true;
		log_info("%s: the set installed here is the fleet's version %ld (%s)", fj->name,
		         r->version,
		         fj->forgot ? "put back into the store" : "made while the store was away");
		call_end(call, FLEET_OK);
	} else if (r->rc == CLUSTER_CONFLICT && fj->resyncs < FLEET_RESYNCS) {
		/* Another node's got there first: read it and take it (or,
		 * when it is older than this node's, put this one on top). */
		fj->synced_again = true;
		fj->resyncs++;
		fj->call = call;
		if (start_sync(fj, call) < 0) {
			call_end(call, FLEET_FAILED);
		}
	} else {
		call_end(call, fail_of(fj, r));
	}
}

/* Puts the installed set made here (fleet_owed) into the store. */
static int
push_owed(struct fleet_job *fj, struct fleet_call *call)
{
	struct cluster_cert cc;
	int rc = -1;

	if (record_of(fj, &cc) == 0) {
		fj->call = call;
		rc = cluster_cert_put(fj->cluster, fj->name, 0, fj->view->st.fleet_version, &cc,
		                      on_push, call);
	}
	record_free(&cc);
	return rc;
}

/* The store has an older version than this node recorded: it forgot (a new
 * or wiped store, an old backup). This node's set is put there again;
 * otherwise every install, compared with a version the store never
 * reaches, would fail, and each node would order its own. */
static void
store_forgot(struct fleet_job *fj, long version)
{
	struct state *st = &fj->view->st;

	log_warn("%s: the fleet's store has version %ld, this node had %ld (a new, wiped or "
	         "restored store, or another cluster URL or database than the fleet's); %s",
	         fj->name, version, st->fleet_version,
	         fj->view->info.present ? "this node's set is put there" : "starting over");
	st->fleet_version = version;
	st->fleet_owed = fj->view->info.present;
	fj->forgot = fj->view->info.present;
	fj->changed = true;
}

/* Whether the store's certificate was issued before the one installed
 * here: after the store forgot (wiped, restored), another node that missed
 * the last renewal may have put its older set back first, and installing
 * it would roll this node back. notBefore, not notAfter: a renewal under a
 * shorter profile ends earlier and is still the newer. (Not asked for an
 * owed set whose store moved on: of two sets ordered under one lease, the
 * first installed counts, whichever was issued last.) */
static bool
store_is_older(const struct fleet_job *fj, const struct cluster_cert *cc)
{
	const struct store_cert_info *info = &fj->view->info;
	struct cert_chain chain;
	char err[128];
	time_t not_before = 0, not_after = 0;
	bool older = false;

	if (!info->present || info->problem[0] != '\0' || cc->cert_pem == NULL ||
	    cert_chain_parse(cc->cert_pem, strlen(cc->cert_pem), &chain, err, sizeof(err)) < 0) {
		return false;
	}
	if (cert_brief_times(chain.leaf, &not_before, &not_after) == 0) {
		older = not_before < info->not_before;
	}
	cert_chain_finish(&chain);
	return older;
}

/* Whether the store's certificate is the one installed here. */
static bool
same_cert(const struct fleet_job *fj, const struct cluster_cert *cc)
{
	char *here = read_file_of(fj, STORE_CERT_CERT);
	bool same = here != NULL && cc->cert_pem != NULL && strcmp(here, cc->cert_pem) == 0;

	free(here);
	return same;
}

/* This node's set goes into the store as the next version, on top of the
 * store's older one (a compare-and-set: a newer one put meanwhile wins and
 * is read again; after FLEET_RESYNCS, the next sync tries again). */
static void
put_on_top(struct fleet_job *fj, struct fleet_call *call, const struct cluster_cert *cc)
{
	struct state *st = &fj->view->st;

	log_warn("%s: the fleet's version %ld (by %s) is older than the certificate here; "
	         "this node's is put there as the next version",
	         fj->name, cc->version, cc->node != NULL ? cc->node : "?");
	st->fleet_version = cc->version;
	st->fleet_owed = true;
	fj->changed = true;
	if (fj->resyncs >= FLEET_RESYNCS) {
		call_end(call, FLEET_OK);
	} else if (push_owed(fj, call) < 0) {
		call_end(call, FLEET_FAILED);
	}
}

/* What to do with the store's record against what is installed here. A
 * version says which is newer only while the store keeps its records: the
 * certificates themselves decide when the store forgot (wiped, restored,
 * set up anew) or when it holds the very set installed here. */
static void
on_get(const struct cluster_reply *r, const struct cluster_cert *cc, void *arg)
{
	struct fleet_call *call = arg;
	struct fleet_job *fj = call_job(call);
	struct state *st;
	bool have;

	if (fj == NULL) {
		return;
	}
	st = &fj->view->st;
	if (r->rc != CLUSTER_OK) {
		call_end(call, fail_of(fj, r));
		return;
	}
	fj->remote_version = cc->version;
	have = fj->view->info.present && fj->view->info.problem[0] == '\0';
	if (cc->cert_pem == NULL || cc->key_pem == NULL) {
		/* Nothing there: a new or wiped store gets this node's set. */
		if (cc->version < st->fleet_version) {
			store_forgot(fj, cc->version);
		}
		if (st->fleet_owed && have && cc->version == st->fleet_version) {
			if (push_owed(fj, call) < 0) {
				call_end(call, FLEET_FAILED);
			}
			return;
		}
	} else if (have && same_cert(fj, cc)) {
		/* The set here: its version in this store, nothing to install. */
		if (st->fleet_version != cc->version || st->fleet_owed) {
			st->fleet_version = cc->version;
			st->fleet_owed = false;
			fj->changed = true;
		}
	} else if (have && st->fleet_owed && !fj->forgot && cc->version == st->fleet_version) {
		if (push_owed(fj, call) < 0) {
			call_end(call, FLEET_FAILED);
		}
		return;
	} else if (have && (!st->fleet_owed || fj->forgot || cc->version < st->fleet_version) &&
	           store_is_older(fj, cc)) {
		/* A set that was the fleet's here (or the store forgot): an
		 * older one put back is no reason to roll back. An owed set
		 * whose store moved on loses (the first install counts). */
		if (cc->version < st->fleet_version) {
			fj->forgot = true;
		}
		put_on_top(fj, call, cc);
		return;
	} else if (materialize(fj, cc) < 0) {
		call_end(call, FLEET_FAILED);
		return;
	}
	if (cc->state != NULL && !fj->materialized &&
	    state_shared_merge(st, cc->state, false) == 1) {
		fj->changed = true;
	}
	if (fj->token != 0) {
		adopt_order(fj, cc);
	}
	call_end(call, FLEET_OK);
}

static int
start_sync(struct fleet_job *fj, struct fleet_call *call)
{
	fj->call = call;
	return cluster_cert_get(fj->cluster, fj->name, on_get, call);
}

int
fleet_job_sync(struct fleet_job *fj, fleet_done_fn done, void *arg)
{
	struct fleet_call *call = call_new(fj, done, arg);

	if (call == NULL || start_sync(fj, call) < 0) {
		fj->call = NULL;
		call_free(call);
		return -1;
	}
	return 0;
}

/* --- the lease ------------------------------------------------------------- */

static void
on_extended(const struct cluster_reply *r, void *arg)
{
	const char *name = arg;

	if (r->rc == CLUSTER_LOST) {
		log_warn("%s: its lease in the fleet's store ran out; another node may order it: "
		         "only the first install counts",
		         name);
	}
}

static void
on_extend(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fleet_job *fj = w->data;

	(void)loop;
	(void)revents;
	if (fj->token != 0) {
		/* The name outlives the call: the job's own string, and the job
		 * lives while its timer runs. A late answer finds nothing. */
		cluster_lease_renew(fj->cluster, fj->name, fj->token, FLEET_LEASE_MS, NULL, NULL);
	}
	(void)on_extended;
}

static void
on_lease(const struct cluster_reply *r, void *arg)
{
	struct fleet_call *call = arg;
	struct fleet_job *fj;

	if (call->fj == NULL && r->rc == CLUSTER_OK) {
		/* Cut loose while taking it: let go at once, not left held by
		 * nobody until it expires (the other nodes would wait). */
		log_debug("%s: a lease taken for a job that ended; let go", call->name);
		cluster_lease_release(call->cluster, call->name, r->token, NULL, NULL);
	}
	fj = call_job(call);
	if (fj == NULL) {
		return;
	}
	if (r->rc == CLUSTER_BUSY) {
		snprintf(fj->holder, sizeof(fj->holder), "%s", r->holder);
		call_end(call, FLEET_BUSY);
		return;
	}
	if (r->rc != CLUSTER_OK) {
		call_end(call, fail_of(fj, r));
		return;
	}
	fj->token = r->token;
	ev_timer_init(&fj->extend, on_extend, FLEET_LEASE_MS / 3000.0, FLEET_LEASE_MS / 3000.0);
	fj->extend.data = fj;
	ev_timer_start(fj->loop, &fj->extend);
	/* Under the lease, the record again: it may have moved on since the
	 * sync, and an order left by a node that died is taken over. */
	if (start_sync(fj, call) < 0) {
		call_end(call, FLEET_FAILED);
	}
}

int
fleet_job_lease(struct fleet_job *fj, fleet_done_fn done, void *arg)
{
	struct fleet_call *call = call_new(fj, done, arg);

	if (call != NULL) {
		call->name = strdup(fj->name);
	}
	if (call == NULL || call->name == NULL ||
	    cluster_lease_take(fj->cluster, fj->name, FLEET_LEASE_MS, on_lease, call) < 0) {
		fj->call = NULL;
		call_free(call);
		return -1;
	}
	return 0;
}

void
fleet_job_order(struct fleet_job *fj, const char *url, const char *key_pem)
{
	if (fj->token != 0 &&
	    cluster_order_put(fj->cluster, fj->name, fj->token, url, key_pem, NULL, NULL) < 0) {
		log_error("%s: out of memory", fj->name);
	}
}

/* --- installed -------------------------------------------------------------- */

static void
on_installed(const struct cluster_reply *r, void *arg)
{
	struct fleet_call *call = arg;
	struct fleet_job *fj = call_job(call);
	struct state *st;

	if (fj == NULL) {
		return;
	}
	st = &fj->view->st;
	fj->changed = true;
	if (r->rc == CLUSTER_OK) {
		st->fleet_version = r->version;
		st->fleet_owed = false;
		log_info("%s: the fleet's version %ld", fj->name, r->version);
	} else {
		st->fleet_owed = true;
		if (r->rc == CLUSTER_CONFLICT) {
			log_warn("%s: another node installed a newer one in the fleet (version "
			         "%ld); "
			         "it replaces this one here at the next look",
			         fj->name, r->version);
		} else if (r->rc == CLUSTER_LOST) {
			/* LOST carries no version: another node may be ordering
			 * one now, or nobody. */
			log_warn("%s: its lease in the fleet's store ran out before the install; "
			         "kept here: the next look takes the fleet's newer one or puts "
			         "this one there",
			         fj->name);
		} else {
			log_warn("%s: installed here, not yet in the fleet's store (%s: %s); put "
			         "there when it is back",
			         fj->name, cluster_result_name(r->rc), r->message);
		}
	}
	call_end(call, FLEET_OK);
}

int
fleet_job_installed(struct fleet_job *fj, fleet_done_fn done, void *arg)
{
	struct fleet_call *call = call_new(fj, done, arg);
	struct cluster_cert cc;
	int rc = -1;

	if (call != NULL && record_of(fj, &cc) == 0) {
		rc = cluster_cert_put(fj->cluster, fj->name, fj->token, fj->view->st.fleet_version,
		                      &cc, on_installed, call);
	}
	if (call != NULL) {
		record_free(&cc);
	}
	if (rc < 0) {
		fj->call = NULL;
		call_free(call);
	}
	return rc;
}

void
fleet_job_end(struct fleet_job *fj, bool attempted)
{
	char *state = NULL;

	stop_extend(fj);
	if (fj->token == 0) {
		return;
	}
	if (attempted && (state = state_shared_to_json(&fj->view->st)) != NULL) {
		cluster_state_put(fj->cluster, fj->name, fj->token, state, NULL, NULL);
	}
	free(state);
	cluster_lease_release(fj->cluster, fj->name, fj->token, NULL, NULL);
	fj->token = 0;
}
