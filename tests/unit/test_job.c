/* The job (renew/job.h) through its runner (renew/job_runner.h), offline
 * (no CA: client NULL), on a state folder made by the test. */
#include "renew/job.h"
#include "renew/job_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "crypto/cert.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "pki.h"
#include "tmpdir.h"

#define OFFLINE "the test is offline"
#define MAX_OUTCOMES 8

/* Link-time seam: state.json is written atomically (a temp file renamed
 * over it), so its renames count its writes. */
static unsigned state_writes;

int
rename(const char *from, const char *to)
{
	size_t n = strlen(to);

	if (n >= 11 && strcmp(to + n - 11, "/state.json") == 0) {
		state_writes++;
	}
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

/* A job_outcome, its strings copied. */
struct seen {
	char name[64];
	enum job_result result;
	char message[1024];
	time_t retry_after;
	bool has_next;
	struct policy_decision next;
	time_t not_after;
	char ari_id[256];
	bool has_ari_id;
	long attempts;
	char last_error[1024];
	bool has_last_error;
};

static const char *const names[] = {"example.com", "www.example.com"};

struct fixture {
	struct pki ca;
	char *state_dir;
	char *dir; /* certs/www */
	struct conf_settings s;
	struct job_runner_config cfg;
	struct job_runner *runner;
	struct seen seen[MAX_OUTCOMES];
	size_t n_seen;
	ev_timer watchdog;
	ev_timer at; /* calls then(f) once */
	void (*then)(struct fixture *f);
	struct store_lock *other; /* the certificate's lock, held as another open */
	char states[8][32]; /* job_runner_each's, as then saw them */
	size_t n_states;
};

static void
on_done(const struct job_outcome *o, void *arg)
{
	struct fixture *f = arg;
	struct seen *s;

	assert_true(f->n_seen < MAX_OUTCOMES);
	s = &f->seen[f->n_seen++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", o->name);
	s->result = o->result;
	assert_non_null(o->message);
	snprintf(s->message, sizeof(s->message), "%s", o->message);
	s->retry_after = o->retry_after;
	s->has_next = o->has_next;
	s->next = o->next;
	s->not_after = o->not_after;
	s->has_ari_id = o->ari_id != NULL;
	snprintf(s->ari_id, sizeof(s->ari_id), "%s", o->ari_id != NULL ? o->ari_id : "");
	s->attempts = o->attempts;
	s->has_last_error = o->last_error != NULL;
	snprintf(s->last_error, sizeof(s->last_error), "%s",
	         o->last_error != NULL ? o->last_error : "");
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	fail_msg("the jobs did not end in time");
}

static void
on_at(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fixture *f = t->data;

	(void)loop;
	(void)revents;
	f->then(f);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL) {
		return -1;
	}
	pki_init(&f->ca);
	f->state_dir = tmpdir_make("job");
	f->dir = file_path(f->state_dir, "certs", "www", NULL);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "domains", "example.com www.example.com",
	                          err, sizeof(err)),
	                 0);
	f->cfg.loop = EV_DEFAULT;
	f->cfg.client = NULL;
	f->cfg.ca_url = "https://ca.test/directory";
	f->cfg.offline = OFFLINE;
	f->cfg.state_dir = f->state_dir;
	f->cfg.concurrency = 1;
	f->cfg.lock_wait = 10.0;
	ev_timer_init(&f->watchdog, on_watchdog, 30.0, 0.0);
	ev_timer_init(&f->at, on_at, 0.0, 0.0);
	f->at.data = f;
	state_writes = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ev_timer_stop(EV_DEFAULT, &f->watchdog);
	ev_timer_stop(EV_DEFAULT, &f->at);
	job_runner_destroy(f->runner);
	store_lock_release(f->other);
	conf_settings_finish(&f->s);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	free(f->dir);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

static void
set(struct fixture *f, const char *key, const char *value)
{
	char err[256];

	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, key, value, err, sizeof(err)), 0);
}

/* A deploy hook in the state folder that appends a line to hook.runs and
 * exits with status, printing output. */
static void
deploy_hook(struct fixture *f, int status, const char *output)
{
	char text[2048];
	char *path;

	snprintf(text, sizeof(text),
	         "#!/bin/sh\necho \"$ACMED_CERT_NAME\" >> '%s/hook.runs'\n"
	         "echo '%s'\nexit %d\n",
	         f->state_dir, output, status);
	path = tmpdir_write(f->state_dir, "deploy.sh", text, 0755);
	set(f, "deploy-hook", path);
	free(path);
}

/* A new runner for the fixture (the old one destroyed), telling on_done. */
static void
new_runner(struct fixture *f)
{
	job_runner_destroy(f->runner);
	f->runner = job_runner_create(&f->cfg);
	assert_non_null(f->runner);
	job_runner_on_done(f->runner, on_done, f);
	f->n_seen = 0;
}

/* Runs the runner's jobs to their end (within the watchdog's time). */
static void
run_runner(struct fixture *f)
{
	ev_timer_start(EV_DEFAULT, &f->watchdog);
	job_runner_run(f->runner);
	ev_timer_stop(EV_DEFAULT, &f->watchdog);
}

/* Takes www's lock as another open file description, and queues www with
 * request; then(f) is called after delay seconds of the loop. */
static void
queue_locked(struct fixture *f, const struct job_request *request, void (*then)(struct fixture *f),
             double delay)
{
	char holder[STORE_LOCK_HOLDER_LEN];

	f->other = store_cert_lock(f->state_dir, "www", holder);
	assert_non_null(f->other);
	new_runner(f);
	assert_int_equal(job_runner_add(f->runner, "www", &f->s, request), 0);
	assert_int_equal(job_runner_waiting(f->runner), 1);
	f->then = then;
	ev_timer_set(&f->at, delay, 0.0);
	ev_timer_start(EV_DEFAULT, &f->at);
}

/* Runs one job for www with request (NULL: none) on a new runner, to its
 * end. Returns what on_done saw of it. */
static const struct seen *
run_with(struct fixture *f, const struct job_request *request)
{
	struct job_request none;

	memset(&none, 0, sizeof(none));
	new_runner(f);
	assert_int_equal(job_runner_add(f->runner, "www", &f->s, request != NULL ? request : &none),
	                 0);
	run_runner(f);
	assert_int_equal(f->n_seen, 1);
	assert_string_equal(f->seen[0].name, "www");
	assert_int_equal(job_runner_count(f->runner, f->seen[0].result), 1);
	assert_int_equal(job_runner_active(f->runner), 0);
	assert_int_equal(job_runner_waiting(f->runner), 0);
	assert_false(job_runner_has(f->runner, "www"));
	return &f->seen[0];
}

static const struct seen *
run(struct fixture *f)
{
	return run_with(f, NULL);
}

/* state.json of www, which must be there. */
static void
load(struct fixture *f, struct state *st)
{
	assert_true(tmpdir_exists(f->dir, "state.json"));
	assert_int_equal(state_load(f->dir, st), 0);
}

/* Installs a set valid for 90 days from a day ago; its leaf. */
static X509 *
install(struct fixture *f)
{
	EVP_PKEY *key = pki_key();
	X509 *leaf = NULL;

	pki_install(&f->ca, f->state_dir, "www", key, names, 2, 90, &leaf);
	EVP_PKEY_free(key);
	return leaf;
}

/* A job recorded set 1 in state.json; then another switched to set 2 and
 * was killed before its record. */
static void
record_then_switch(struct fixture *f)
{
	struct state st;

	X509_free(install(f));
	state_init(&st);
	st.version = 1;
	assert_int_equal(state_save(f->dir, "www", &st), 0);
	X509_free(install(f));
	state_writes = 0;
}

/* Runs www again: unchanged, no hook run since (hook_runs in all), no
 * write since (writes in all). */
static void
assert_quiet_run(struct fixture *f, size_t hook_runs, unsigned writes)
{
	const struct seen *o = run(f);

	assert_int_equal(o->result, JOB_UNCHANGED);
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), hook_runs);
	assert_int_equal(state_writes, writes);
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(job_result_name(JOB_ISSUED), "issued");
	assert_string_equal(job_result_name(JOB_RENEWED), "renewed");
	assert_string_equal(job_result_name(JOB_UNCHANGED), "unchanged");
	assert_string_equal(job_result_name(JOB_FAILED), "failed");
	assert_string_equal(job_result_name(JOB_DEPLOYED), "deployed");
	assert_string_equal(job_result_name(JOB_DEFERRED), "deferred");
	assert_string_equal(job_result_name(JOB__MAX), "unknown");
}

static void
test_offline_nothing_installed(void **state)
{
	struct fixture *f = *state;
	const struct seen *o;
	struct state st;
	time_t before = time(NULL);
	time_t after;

	o = run(f);
	after = time(NULL);
	assert_int_equal(o->result, JOB_FAILED);
	assert_string_equal(o->message, "www: no certificate installed: " OFFLINE);
	/* One failure recorded, held by the backoff: written once. */
	assert_int_equal(state_writes, 1);
	load(f, &st);
	assert_int_equal(st.attempts, 1);
	assert_true(st.last_attempt >= before && st.last_attempt <= after);
	assert_true(st.next_try >= st.last_attempt + POLICY_BACKOFF_MIN);
	assert_true(st.next_try > after);
	assert_string_equal(st.last_error, o->message);
	assert_null(st.order_url);
	assert_false(st.deploy_pending);
	assert_int_equal(st.version, 0);
	/* The outcome says the same, from memory. */
	assert_true(o->has_next);
	assert_int_equal(o->next.action, POLICY_WAIT);
	assert_int_equal(o->next.reason, POLICY_BACKOFF);
	assert_int_equal(o->next.when, st.next_try);
	assert_int_equal(o->attempts, 1);
	assert_true(o->has_last_error);
	assert_string_equal(o->last_error, o->message);
	assert_int_equal(o->not_after, 0);
	assert_false(o->has_ari_id);
	assert_int_equal(o->retry_after, 0);
	state_finish(&st);

	/* Run again: deferred, nothing written. */
	o = run(f);
	assert_int_equal(o->result, JOB_DEFERRED);
	assert_int_equal(state_writes, 1);
	assert_true(o->has_next);
	assert_int_equal(o->next.reason, POLICY_BACKOFF);
	assert_int_equal(o->attempts, 1);
	load(f, &st);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(o->next.when, st.next_try);
	state_finish(&st);
}

static void
test_offline_forced(void **state)
{
	struct fixture *f = *state;
	struct job_request req = {.force = true};
	const struct seen *o;
	struct state st;

	/* Over the backoff: the second failure doubles its cap. */
	o = run(f);
	assert_int_equal(o->result, JOB_FAILED);
	o = run_with(f, &req);
	assert_int_equal(o->result, JOB_FAILED);
	/* Never issued: its first order, not a renewal. */
	assert_string_equal(o->message,
	                    "www: no certificate installed: first order (--force), over "
	                    "the backoff after failures: " OFFLINE);
	assert_int_equal(o->attempts, 2);
	assert_int_equal(state_writes, 2);
	load(f, &st);
	assert_int_equal(st.attempts, 2);
	assert_true(st.next_try >= st.last_attempt + POLICY_BACKOFF_MIN);
	assert_true(st.next_try <= st.last_attempt + 2 * POLICY_BACKOFF_MIN);
	state_finish(&st);
}

static void
test_installed_unchanged(void **state)
{
	struct fixture *f = *state;
	X509 *leaf = install(f);
	char *ari = cert_ari_id(leaf);
	time_t not_before = 0;
	time_t not_after = 0;
	const struct seen *o;

	assert_int_equal(cert_validity(leaf, &not_before, &not_after), 0);
	o = run(f);
	assert_int_equal(o->result, JOB_UNCHANGED);
	assert_string_equal(o->message, "");
	/* Nothing to record: state.json is not written. */
	assert_int_equal(state_writes, 0);
	assert_false(tmpdir_exists(f->dir, "state.json"));
	assert_true(o->has_next);
	assert_int_equal(o->next.action, POLICY_WAIT);
	assert_int_equal(o->next.reason, POLICY_NOT_DUE);
	assert_int_equal(o->next.when, policy_renewal_time(not_before, not_after, 0));
	assert_int_equal(o->not_after, not_after);
	assert_true(o->has_ari_id);
	assert_string_equal(o->ari_id, ari);
	assert_int_equal(o->attempts, 0);
	assert_false(o->has_last_error);
	free(ari);
	X509_free(leaf);
}

static void
test_deploy_by_hand(void **state)
{
	struct fixture *f = *state;
	struct job_request req = {.deploy = true};
	const struct seen *o;
	struct state st;

	X509_free(install(f));
	deploy_hook(f, 0, "reloaded");
	o = run_with(f, &req);
	assert_int_equal(o->result, JOB_DEPLOYED);
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), 1);
	assert_int_equal(state_writes, 1);
	load(f, &st);
	assert_false(st.deploy_pending);
	assert_int_equal(st.deploy_attempts, 0);
	assert_null(st.deploy_error);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.attempts, 0);
	state_finish(&st);
	assert_int_equal(o->attempts, 0);
	assert_false(o->has_last_error);
	assert_int_equal(o->next.action, POLICY_WAIT);
}

static void
test_deploy_fails(void **state)
{
	struct fixture *f = *state;
	struct job_request req = {.deploy = true};
	const struct seen *o;
	struct state st;
	time_t after;

	X509_free(install(f));
	deploy_hook(f, 3, "cannot reload");
	o = run_with(f, &req);
	after = time(NULL);
	assert_int_equal(o->result, JOB_FAILED);
	print_message("message: %s\n", o->message);
	assert_true(strncmp(o->message,
	                    "www: installed, but the deploy hook failed: exit 3: cannot reload",
	                    65) == 0);
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), 1);
	assert_int_equal(state_writes, 1);
	load(f, &st);
	assert_true(st.deploy_pending);
	assert_int_equal(st.deploy_attempts, 1);
	assert_true(st.deploy_next_try > after);
	assert_string_equal(st.deploy_error, o->message);
	/* A deploy failure is no order failure, but one in a row all the
	 * same for status (status_failures). */
	assert_int_equal(st.attempts, 0);
	assert_int_equal(o->attempts, 1);
	assert_true(o->has_last_error);
	assert_string_equal(o->last_error, o->message);
	assert_true(o->has_next);
	assert_int_equal(o->next.reason, POLICY_DEPLOY_RETRY);
	assert_int_equal(o->next.when, st.deploy_next_try);
	state_finish(&st);

	/* Held by its own backoff: the next run neither deploys nor
	 * orders, and writes nothing; it is deferred (still failing: a
	 * command exits 1). */
	o = run(f);
	assert_int_equal(o->result, JOB_DEFERRED);
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), 1);
	assert_int_equal(state_writes, 1);
}

static void
test_deploy_owed_by_newer_set(void **state)
{
	struct fixture *f = *state;
	const struct seen *o;
	struct state st;

	/* Set 2's deploy is owed. */
	record_then_switch(f);
	deploy_hook(f, 0, "reloaded");
	o = run(f);
	assert_int_equal(o->result, JOB_DEPLOYED);
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), 1);
	assert_int_equal(state_writes, 1);
	load(f, &st);
	assert_int_equal(st.version, 2);
	assert_false(st.deploy_pending);
	state_finish(&st);

	/* Recorded now: nothing owed, nothing run. */
	assert_quiet_run(f, 1, 1);
}

static void
test_newer_set_without_hook(void **state)
{
	struct fixture *f = *state;
	struct state st;

	/* Without a deploy hook there is no deploy to owe; the newer set is
	 * recorded once (its version, its order over), then nothing. */
	record_then_switch(f);
	assert_quiet_run(f, 0, 1);
	assert_int_equal(state_load(f->dir, &st), 0);
	assert_int_equal(st.version, 2);
	assert_false(st.deploy_pending);
	assert_null(st.order_url);
	state_finish(&st);
	assert_quiet_run(f, 0, 1);
}

static void
test_deploy_by_hand_refused(void **state)
{
	struct fixture *f = *state;
	struct job_request req = {.deploy = true};
	const struct seen *o;

	/* Nothing installed: said, and nothing recorded. */
	deploy_hook(f, 0, "reloaded");
	o = run_with(f, &req);
	assert_int_equal(o->result, JOB_FAILED);
	assert_string_equal(o->message, "www: nothing installed to deploy");
	assert_int_equal(state_writes, 0);
	assert_false(tmpdir_exists(f->dir, "state.json"));
	assert_int_equal(tmpdir_lines(f->state_dir, "hook.runs"), 0);
	assert_int_equal(o->attempts, 0);

	/* Installed, but no hook. */
	X509_free(install(f));
	conf_settings_finish(&f->s);
	memset(&f->s, 0, sizeof(f->s));
	set(f, "domains", "example.com www.example.com");
	o = run_with(f, &req);
	assert_int_equal(o->result, JOB_FAILED);
	assert_string_equal(o->message,
	                    "www: no deploy hook: set deploy-hook or pass --deploy-hook");
	assert_int_equal(state_writes, 0);
	assert_false(tmpdir_exists(f->dir, "state.json"));
}

static void
on_each(const struct job *job, void *arg)
{
	struct fixture *f = arg;

	assert_string_equal(job_name(job), "www");
	assert_true(job_since(job) <= time(NULL));
	assert_true(f->n_states < 8);
	snprintf(f->states[f->n_states++], sizeof(f->states[0]), "%s", job_state(job));
}

/* Looks at the runner's jobs, then lets the lock go. */
static void
look_and_release(struct fixture *f)
{
	job_runner_each(f->runner, on_each, f);
	assert_true(job_runner_has(f->runner, "www"));
	assert_int_equal(job_runner_active(f->runner), 1);
	assert_int_equal(f->n_seen, 0);
	store_lock_release(f->other);
	f->other = NULL;
}

static void
test_lock_held(void **state)
{
	struct fixture *f = *state;
	struct job_request none;
	double t0;

	memset(&none, 0, sizeof(none));
	X509_free(install(f));
	ev_now_update(EV_DEFAULT);
	t0 = ev_now(EV_DEFAULT);
	queue_locked(f, &none, look_and_release, 0.5);
	run_runner(f);
	/* It waited for the lock, then went on. */
	assert_int_equal(f->n_states, 1);
	assert_string_equal(f->states[0], "locked");
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].result, JOB_UNCHANGED);
	assert_true(ev_now(EV_DEFAULT) - t0 >= 0.5);
	assert_null(f->other);
}

/* The holder installs a new set, then lets the lock go. */
static void
install_and_release(struct fixture *f)
{
	X509_free(install(f));
	store_lock_release(f->other);
	f->other = NULL;
}

static void
test_lock_holder_installed(void **state)
{
	struct fixture *f = *state;
	struct job_request req = {.force = true};

	/* A forced order that waited for another process which installed a
	 * certificate meanwhile orders no second one (here it would fail:
	 * offline). */
	X509_free(install(f));
	queue_locked(f, &req, install_and_release, 0.3);
	run_runner(f);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].result, JOB_UNCHANGED);
	assert_int_equal(f->seen[0].attempts, 0);
	assert_int_equal(store_cert_version(f->state_dir, "www"), 2);
	assert_int_equal(state_writes, 0);
}

static void
test_lock_never_free(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	char want[STORE_LOCK_HOLDER_LEN + 64];
	const struct seen *o;

	f->other = store_cert_lock(f->state_dir, "www", holder);
	assert_non_null(f->other);
	f->cfg.lock_wait = 0.3;
	o = run(f);
	assert_int_equal(o->result, JOB_FAILED);
	snprintf(want, sizeof(want), "www: still locked by pid %ld (", (long)getpid());
	assert_true(strncmp(o->message, want, strlen(want)) == 0);
	assert_non_null(strstr(o->message, "; nothing done"));
	/* Never read it: nothing recorded, nothing to say next. */
	assert_false(o->has_next);
	assert_int_equal(state_writes, 0);
	assert_false(tmpdir_exists(f->dir, "state.json"));
}

static void
test_queue(void **state)
{
	struct fixture *f = *state;
	struct job_request none;

	/* Two certificates, one at a time, in the order queued. */
	memset(&none, 0, sizeof(none));
	new_runner(f);
	assert_int_equal(job_runner_add(f->runner, "b", &f->s, &none), 0);
	assert_int_equal(job_runner_add(f->runner, "a", &f->s, &none), 0);
	assert_int_equal(job_runner_waiting(f->runner), 2);
	assert_int_equal(job_runner_active(f->runner), 0);
	assert_true(job_runner_has(f->runner, "a"));
	assert_true(job_runner_has(f->runner, "b"));
	assert_false(job_runner_has(f->runner, "www"));
	run_runner(f);
	assert_int_equal(f->n_seen, 2);
	assert_string_equal(f->seen[0].name, "b");
	assert_string_equal(f->seen[1].name, "a");
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), 2);
	assert_int_equal(job_runner_count(f->runner, JOB_UNCHANGED), 0);
	assert_int_equal(job_runner_count(f->runner, JOB__MAX), 0);
	assert_int_equal(state_writes, 2);
	assert_false(job_runner_has(f->runner, "a"));
}

static void
test_add_refused(void **state)
{
	struct fixture *f = *state;
	struct conf_settings empty;
	struct job_request none;

	memset(&none, 0, sizeof(none));
	memset(&empty, 0, sizeof(empty));
	new_runner(f);
	/* No names, or a name that is no folder name. */
	assert_int_equal(job_runner_add(f->runner, "www", &empty, &none), -1);
	assert_int_equal(job_runner_add(f->runner, "../www", &f->s, &none), -1);
	assert_int_equal(job_runner_waiting(f->runner), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_result_names),
	        cmocka_unit_test_setup_teardown(test_offline_nothing_installed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_offline_forced, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_installed_unchanged, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deploy_by_hand, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deploy_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deploy_owed_by_newer_set, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_newer_set_without_hook, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deploy_by_hand_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock_holder_installed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock_never_free, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_add_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
