#include "renew/job_runner.h"

#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "base/strmap.h"
#include "crypto/keygen.h"
#include "renew/responders.h"
#include "store/store_sync.h"

/* Seconds without a job before the responders let their ports go. */
#define JOB_IDLE_RELEASE 5.0

/* A job in the runner's queue or among its running ones. */
struct slot {
	struct list_node node;
	struct job_runner *runner;
	struct job *job;
	bool named; /* counted in the runner's names */
	bool stopping; /* job_runner_stop waits for it */
};

/* How many of the runner's jobs are for one certificate name. */
struct name_count {
	char *name;
	size_t n;
};

struct job_runner {
	struct job_shared sh;
	/* Each CA's, for sh.cas[i].issue.account_options */
	struct acme_account_reg_options *account_options;
	struct keygen *keygen; /* every CA's jobs share it */
	long concurrency;
	struct list queue; /* waiting, in order */
	struct list running;
	struct strmap names; /* name -> struct name_count, for job_runner_has */
	size_t active;
	size_t waiting;
	ev_timer idle; /* no job for a while: the responders let go */
	bool own_responders; /* made here (else the config's, borrowed) */
	unsigned long counts[JOB__MAX];
	bool starting; /* inside job_next: no recursion */
	job_done_fn on_done;
	void *on_done_arg;
	/* job_runner_stop: asked, the jobs it waits for (plus one while it
	 * tells them), and whom to tell once they are over. */
	bool stop;
	size_t stops_pending;
	void (*stopped)(void *arg);
	void *stopped_arg;
};

static void job_next(struct job_runner *r);

/* A daemon holds no port and no webroot file between its renewals: the
 * responders go once no job has run for a while (not at once: a token's
 * clean-up may still be on its way). */
static void
on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job_runner *r = w->data;
	size_t n = responders_count(r->sh.responders);

	/* In a fleet they stay: this node answers the others' orders. */
	if (r->active == 0 && r->waiting == 0 && n > 0 && r->sh.cluster == NULL) {
		log_debug("no job running: closing %zu challenge responder%s", n,
		          n == 1 ? "" : "s");
		responders_close(r->sh.responders);
	}
}

/* One CA of the runner: its client, account and newOrder gate. */
static void
ca_init(struct job_runner *r, size_t i, const struct job_runner_ca *c)
{
	struct job_ca *ca = &r->sh.cas[i];

	ca->issue.loop = r->sh.loop;
	ca->issue.client = c->client;
	ca->issue.acct = c->acct;
	r->account_options[i] = c->account_options;
	ca->issue.account_options = &r->account_options[i];
	ca->issue.keygen = r->keygen;
	gate_init(&ca->issue.order_gate,
	          c->new_order_concurrency > 0 ? (size_t)c->new_order_concurrency : 1);
	list_init(&ca->issue.account_waiters);
	list_init(&ca->issue.probe_waiters);
	ca->url = c->ca_url;
	ca->offline = c->offline != NULL ? c->offline : "the CA cannot be reached";
	ca->profile = c->profile;
	ca->caa_identities = c->caa_identities;
	ca->n_caa_identities = c->n_caa_identities;
}

/* The config's first CA, then its more_cas (a URL already had is left
 * out). Returns 0, or -1 when out of memory (logged). */
static int
add_cas(struct job_runner *r, const struct job_runner_config *c)
{
	struct job_runner_ca first;
	size_t n = 1 + c->n_more_cas;

	r->sh.cas = calloc(n, sizeof(*r->sh.cas));
	r->account_options = calloc(n, sizeof(*r->account_options));
	if (r->sh.cas == NULL || r->account_options == NULL) {
		log_error("out of memory");
		return -1;
	}
	memset(&first, 0, sizeof(first));
	first.client = c->client;
	first.acct = c->acct;
	first.account_options = c->account_options;
	first.ca_url = c->ca_url;
	first.new_order_concurrency = c->new_order_concurrency;
	first.offline = c->offline;
	ca_init(r, 0, &first);
	r->sh.n_cas = 1;
	for (size_t i = 0; i < c->n_more_cas; i++) {
		if (job_shared_ca(&r->sh, c->more_cas[i].ca_url) == NULL) {
			ca_init(r, r->sh.n_cas++, &c->more_cas[i]);
		}
	}
	return 0;
}

struct job_runner *
job_runner_create(const struct job_runner_config *c)
{
	struct job_runner *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_error("out of memory");
		return NULL;
	}
	r->sh.loop = c->loop;
	r->keygen = keygen_create(c->loop);
	r->sh.sync = store_sync_new(c->loop);
	if (r->keygen == NULL || r->sh.sync == NULL || add_cas(r, c) < 0) {
		job_runner_destroy(r);
		return NULL;
	}
	r->sh.state_dir = c->state_dir;
	r->sh.cluster = c->cluster;
	r->sh.batch = c->batch;
	r->sh.hand_off = c->hand_off;
	r->sh.hand_off_arg = c->hand_off_arg;
	if (c->preflight != NULL) {
		preflight_memo_copy(&r->sh.preflight, c->preflight);
	}
	r->sh.lock_wait = c->lock_wait > 0 ? c->lock_wait : JOB_LOCK_WAIT;
	r->concurrency = c->concurrency > 0 ? c->concurrency : 1;
	list_init(&r->queue);
	list_init(&r->running);
	strmap_init(&r->names);
	r->own_responders = c->responders == NULL;
	r->sh.responders = c->responders != NULL ? c->responders : responders_create(c->loop);
	if (r->sh.responders == NULL || (r->own_responders && c->cluster != NULL &&
	                                 responders_set_fleet(r->sh.responders, c->cluster) < 0)) {
		job_runner_destroy(r);
		return NULL;
	}
	ev_init(&r->idle, on_idle);
	r->idle.data = r;
	return r;
}

/* One more job for name: 0, or -1 when out of memory. */
static int
name_hold(struct job_runner *r, const char *name)
{
	struct name_count *c = strmap_get(&r->names, name);

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->name = strdup(name)) == NULL ||
		    strmap_put(&r->names, c->name, c) < 0) {
			if (c != NULL) {
				free(c->name);
			}
			free(c);
			return -1;
		}
	}
	c->n++;
	return 0;
}

static void
name_release(struct job_runner *r, const char *name)
{
	struct name_count *c = strmap_get(&r->names, name);

	if (c != NULL && --c->n == 0) {
		strmap_remove(&r->names, name);
		free(c->name);
		free(c);
	}
}

static void
slot_free(struct slot *slot)
{
	list_unlink(&slot->node);
	if (slot->named) {
		name_release(slot->runner, job_name(slot->job));
	}
	job_destroy(slot->job);
	free(slot);
}

void
job_runner_destroy(struct job_runner *r)
{
	struct list_node *n, *tmp;

	if (r == NULL) {
		return;
	}
	/* A running job that goes lets nobody through to newOrder. */
	for (size_t i = 0; i < r->sh.n_cas; i++) {
		gate_close(&r->sh.cas[i].issue.order_gate);
	}
	list_for_each(&r->queue, n, tmp)
	{
		slot_free(list_entry(n, struct slot, node));
	}
	/* Running ones too (a daemon that stops): their orders abandoned,
	 * their leases in the shared store let go, their locks released. */
	list_for_each(&r->running, n, tmp)
	{
		slot_free(list_entry(n, struct slot, node));
	}
	r->active = 0;
	ev_timer_stop(r->sh.loop, &r->idle);
	if (r->own_responders) {
		responders_destroy(r->sh.responders);
	}
	keygen_destroy(r->keygen);
	if (r->sh.sync != NULL) {
		struct store_sync_stats st;

		store_sync_stats(r->sh.sync, &st);
		if (st.waits > 0) {
			log_debug("state folder: %lu syncs in %lu rounds (%lu fsync, %lu syncfs)",
			          st.waits, st.rounds, st.fsyncs, st.syncfs);
		}
	}
	/* After the jobs, which cancelled their waits. */
	store_sync_free(r->sh.sync);
	free(r->sh.cas);
	free(r->account_options);
	/* Names left (none once every slot is freed). */
	for (size_t i = 0; i < r->names.cap; i++) {
		struct name_count *c = r->names.slots[i].value;

		if (c != NULL) {
			free(c->name);
			free(c);
		}
	}
	strmap_finish(&r->names);
	preflight_memo_finish(&r->sh.preflight);
	free(r);
}

int
job_runner_set_ca(struct job_runner *r, const struct job_runner_ca *c)
{
	struct job_ca *ca = job_shared_ca(&r->sh, c->ca_url);

	if (ca == NULL) {
		return -1;
	}
	ca->issue.client = c->client;
	ca->issue.acct = c->acct;
	ca->offline = c->offline != NULL ? c->offline : "the CA cannot be reached";
	return 0;
}

struct acme_client *
job_runner_client(struct job_runner *r, const char *url)
{
	struct job_ca *ca = job_shared_ca(&r->sh, url);

	return ca != NULL ? ca->issue.client : NULL;
}

void
job_runner_each_client(const struct job_runner *r,
                       void (*fn)(const char *url, const struct acme_client *client, void *arg),
                       void *arg)
{
	for (size_t i = 0; i < r->sh.n_cas; i++) {
		if (r->sh.cas[i].issue.client != NULL) {
			fn(r->sh.cas[i].url, r->sh.cas[i].issue.client, arg);
		}
	}
}

time_t
job_runner_now(const struct job_runner *r)
{
	return job_clock(r->sh.loop);
}

unsigned long
job_runner_count(const struct job_runner *r, enum job_result result)
{
	return result < JOB__MAX ? r->counts[result] : 0;
}

/* The stop is over once no job it waits for is left: said once. */
static void
stop_check(struct job_runner *r)
{
	void (*fn)(void *arg) = r->stopped;

	if (!r->stop || r->stops_pending > 0 || fn == NULL) {
		return;
	}
	r->stopped = NULL;
	fn(r->stopped_arg);
}

/* A job is over: count it, tell the caller, start the next. */
static void
on_finished(struct job *job, const struct job_outcome *outcome, void *arg)
{
	struct slot *slot = arg;
	struct job_runner *r = slot->runner;

	/* Not running any more for the callback: it may ask for the
	 * certificate again at once (job_runner_has is false). */
	list_unlink(&slot->node);
	name_release(r, job_name(slot->job));
	slot->named = false;
	r->active--;
	store_sync_expect(r->sh.sync, r->active);
	r->counts[outcome->result]++;
	if (slot->stopping) {
		slot->stopping = false;
		r->stops_pending--;
	}
	if (r->on_done != NULL) {
		r->on_done(outcome, r->on_done_arg);
	}
	slot_free(slot);
	job_next(r);
	stop_check(r);
	if (r->active == 0 && r->waiting == 0) {
		/* The post-hook starts the web server again: the port it
		 * needs goes first (a fleet's responders stay: they answer
		 * the other nodes). */
		if (batch_hooks_has_post(r->sh.batch) && r->sh.cluster == NULL) {
			responders_close(r->sh.responders);
		}
		/* The daemon's batch is over: its post-hook. */
		batch_hooks_idle(r->sh.batch);
	}
	if (r->active == 0 && r->waiting == 0 && responders_count(r->sh.responders) > 0) {
		ev_timer_stop(r->sh.loop, &r->idle);
		ev_timer_set(&r->idle, JOB_IDLE_RELEASE, 0.0);
		ev_timer_start(r->sh.loop, &r->idle);
	}
	(void)job;
}

int
job_runner_add(struct job_runner *r, const char *name, const struct conf_settings *s,
               const struct job_request *request)
{
	struct slot *slot;

	if (s->n_domains == 0) {
		log_error("%s: no domains: set domains in its [cert] section", name);
		return -1;
	}
	slot = calloc(1, sizeof(*slot));
	if (slot == NULL) {
		log_error("out of memory");
		return -1;
	}
	slot->runner = r;
	slot->job = job_create(&r->sh, name, s, request, on_finished, slot);
	if (slot->job == NULL || name_hold(r, job_name(slot->job)) < 0) {
		job_destroy(slot->job);
		free(slot);
		return -1;
	}
	slot->named = true;
	list_append(&r->queue, &slot->node);
	r->waiting++;
	r->sh.progress.total++;
	return 0;
}

/* Starts waiting jobs while below the cap. */
static void
job_next(struct job_runner *r)
{
	/* Jobs that finish at once (not due) would otherwise recurse here
	 * once per certificate; a stopped runner starts nothing. */
	if (r->starting || r->stop) {
		return;
	}
	r->starting = true;
	while (!list_empty(&r->queue) && r->active < (size_t)r->concurrency) {
		struct slot *slot = list_entry(list_first(&r->queue), struct slot, node);

		list_unlink(&slot->node);
		list_append(&r->running, &slot->node);
		r->waiting--;
		r->active++;
		store_sync_expect(r->sh.sync, r->active);
		job_start(slot->job);
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

struct responders *
job_runner_responders(struct job_runner *r)
{
	return r->sh.responders;
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
	return strmap_get(&r->names, name) != NULL;
}

bool
job_runner_listens(const struct job_runner *r, const char *address)
{
	return responders_listen_on(r->sh.responders, address);
}

void
job_runner_each(const struct job_runner *r, void (*fn)(const struct job *job, void *arg), void *arg)
{
	const struct list *lists[] = {&r->running, &r->queue};

	for (size_t i = 0; i < 2; i++) {
		for (const struct list_node *n = lists[i]->head.next; n != &lists[i]->head;
		     n = n->next) {
			fn(list_entry(n, const struct slot, node)->job, arg);
		}
	}
}

void
job_runner_run(struct job_runner *r)
{
	job_next(r);
	while ((r->active > 0 || r->waiting > 0) && !job_runner_stopped(r)) {
		ev_run(r->sh.loop, EVRUN_ONCE);
	}
}

/* A stopped job's order is over, its challenges withdrawn: it goes, its
 * record untouched. */
static void
on_job_stopped(void *arg)
{
	struct slot *slot = arg;
	struct job_runner *r = slot->runner;

	log_info("%s: stopped; the order is resumed by the next run", job_name(slot->job));
	slot->stopping = false;
	r->stops_pending--;
	r->active--;
	store_sync_expect(r->sh.sync, r->active);
	slot_free(slot);
	stop_check(r);
}

void
job_runner_stop(struct job_runner *r, void (*stopped)(void *arg), void *arg)
{
	struct list_node *n, *tmp;

	if (r->stop) {
		return;
	}
	r->stop = true;
	r->stopped = stopped;
	r->stopped_arg = arg;
	/* Nothing new reaches the CA: a job short of its newOrder stays
	 * there and goes with the runner. */
	for (size_t i = 0; i < r->sh.n_cas; i++) {
		gate_close(&r->sh.cas[i].issue.order_gate);
	}
	r->stops_pending++;
	list_for_each(&r->running, n, tmp)
	{
		struct slot *slot = list_entry(n, struct slot, node);

		slot->stopping = true;
		r->stops_pending++;
		if (job_stop(slot->job, on_job_stopped, slot) != 0) {
			slot->stopping = false;
			r->stops_pending--;
		}
	}
	/* After the orders were told: a present cut short is withdrawn. */
	responders_stop(r->sh.responders);
	r->stops_pending--;
	stop_check(r);
}

bool
job_runner_stopped(const struct job_runner *r)
{
	return r->stop && r->stops_pending == 0;
}
