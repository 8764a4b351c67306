/* The daemon's schedule (renew/schedule.h) over an offline runner (no CA)
 * on a state folder made by the test. */
#include "renew/schedule.h"

#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/file.h"
#include "crypto/cert.h"
#include "store/state.h"
#include "fake_ca.h"
#include "pki.h"
#include "tmpdir.h"

#define OFFLINE "the test is offline"

static const char *const names[] = {"example.com", "www.example.com"};

/* A status row, its strings copied. */
struct row {
	char cert[64];
	size_t n_domains;
	time_t not_after;
	time_t next;
	long attempts;
	char last_error[1024];
	char why[512];
	bool running;
};

struct fixture {
	struct pki ca;
	char *state_dir;
	struct conf_settings s;
	struct job_runner *runner;
	struct schedule *sched;
	struct job_runner_config cfg;
	ev_timer watchdog;
	size_t done; /* jobs over */
	size_t want; /* jobs to wait for */
	char message[1024]; /* the last job's */
	enum job_result result;
	struct row rows[32];
	size_t n_rows;
};

static void
on_done(const struct job_outcome *o, void *arg)
{
	struct fixture *f = arg;

	f->result = o->result;
	snprintf(f->message, sizeof(f->message), "%s", o->message);
	schedule_job_done(f->sched, o);
	if (++f->done >= f->want) {
		ev_break(EV_DEFAULT, EVBREAK_ALL);
	}
}

static void
on_row(const struct status_row *r, void *arg)
{
	struct fixture *f = arg;
	struct row *out;

	assert_true(f->n_rows < 32);
	out = &f->rows[f->n_rows++];
	snprintf(out->cert, sizeof(out->cert), "%s", r->cert);
	out->n_domains = r->n_domains;
	out->not_after = r->not_after;
	out->next = r->next;
	out->attempts = r->attempts;
	snprintf(out->last_error, sizeof(out->last_error), "%s",
	         r->last_error != NULL ? r->last_error : "");
	snprintf(out->why, sizeof(out->why), "%s", r->why != NULL ? r->why : "");
	out->running = r->running;
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	fail_msg("no job ended in time");
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
	f->state_dir = tmpdir_make("schedule");
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "domains", "example.com www.example.com",
	                          err, sizeof(err)),
	                 0);
	f->cfg.loop = EV_DEFAULT;
	f->cfg.ca_url = "https://ca.test/directory";
	f->cfg.offline = OFFLINE;
	f->cfg.state_dir = f->state_dir;
	f->cfg.concurrency = 4;
	f->runner = job_runner_create(&f->cfg);
	assert_non_null(f->runner);
	job_runner_on_done(f->runner, on_done, f);
	f->sched = schedule_create(EV_DEFAULT, f->runner, NULL, f->state_dir, f->cfg.ca_url);
	assert_non_null(f->sched);
	ev_timer_init(&f->watchdog, on_watchdog, 30.0, 0.0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ev_timer_stop(EV_DEFAULT, &f->watchdog);
	schedule_destroy(f->sched);
	job_runner_destroy(f->runner);
	conf_settings_finish(&f->s);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

/* Runs the loop until n more jobs are over. */
static void
run_jobs(struct fixture *f, size_t n)
{
	f->want = f->done + n;
	ev_timer_start(EV_DEFAULT, &f->watchdog);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &f->watchdog);
	assert_int_equal(f->done, f->want);
}

static void
rows(struct fixture *f)
{
	f->n_rows = 0;
	schedule_each(f->sched, on_row, f);
}

/* Installs name valid for 90 days from a day ago; its renewal time. */
static time_t
install(struct fixture *f, const char *name, time_t *not_after)
{
	EVP_PKEY *key = pki_key();
	X509 *leaf = NULL;
	time_t not_before = 0;

	pki_install(&f->ca, f->state_dir, name, key, names, 2, 90, &leaf);
	assert_int_equal(cert_validity(leaf, &not_before, not_after), 0);
	X509_free(leaf);
	EVP_PKEY_free(key);
	return policy_renewal_time(not_before, *not_after, 0);
}

static void
test_rows(void **state)
{
	struct fixture *f = *state;
	time_t not_after = 0;
	time_t renew = install(f, "www", &not_after);
	time_t now = time(NULL);

	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "new", &f->s), 0);
	assert_int_equal(schedule_count(f->sched), 2);
	rows(f);
	/* In the configuration's order, each from its files. */
	assert_int_equal(f->n_rows, 2);
	assert_string_equal(f->rows[0].cert, "www");
	assert_int_equal(f->rows[0].n_domains, 2);
	assert_int_equal(f->rows[0].not_after, not_after);
	assert_int_equal(f->rows[0].next, renew);
	assert_int_equal(f->rows[0].attempts, 0);
	assert_string_equal(f->rows[0].last_error, "");
	assert_true(strncmp(f->rows[0].why, "valid until ", 12) == 0);
	assert_false(f->rows[0].running);
	assert_string_equal(f->rows[1].cert, "new");
	assert_int_equal(f->rows[1].not_after, 0);
	assert_true(f->rows[1].next >= now && f->rows[1].next <= time(NULL));
	assert_string_equal(f->rows[1].why, "no certificate installed");
}

static void
test_due_runs_a_job(void **state)
{
	struct fixture *f = *state;
	struct state st;
	char *dir = file_path(f->state_dir, "certs", "new", NULL);

	/* Nothing installed: due now, and the job's failure arms the
	 * backoff it recorded. */
	assert_int_equal(schedule_set(f->sched, "new", &f->s), 0);
	run_jobs(f, 1);
	assert_int_equal(f->result, JOB_FAILED);
	assert_string_equal(f->message, "new: no certificate installed: " OFFLINE);
	assert_int_equal(state_load(dir, &st), 0);
	assert_int_equal(st.attempts, 1);
	rows(f);
	assert_int_equal(f->n_rows, 1);
	assert_int_equal(f->rows[0].attempts, 1);
	assert_int_equal(f->rows[0].next, st.next_try);
	assert_string_equal(f->rows[0].last_error, f->message);
	assert_false(f->rows[0].running);
	state_finish(&st);
	free(dir);
}

static void
test_renew_now(void **state)
{
	struct fixture *f = *state;
	time_t not_after = 0;

	install(f, "www", &not_after);
	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	assert_int_equal(schedule_renew_now(f->sched, "nope"), -1);
	/* Not due, but ordered now, over the policy: offline, it fails. */
	assert_int_equal(schedule_renew_now(f->sched, "www"), 0);
	run_jobs(f, 1);
	assert_int_equal(f->result, JOB_FAILED);
	assert_string_equal(f->message, "www: renewing now (--force): " OFFLINE);
}

static void
test_names_changed(void **state)
{
	struct fixture *f = *state;
	time_t not_after = 0;
	char err[256];
	time_t now;

	install(f, "www", &not_after);
	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	rows(f);
	assert_true(f->rows[0].next > time(NULL));
	/* Set again with another name: due now, the same one entry. */
	assert_int_equal(
	        conf_set(&f->s, CONF_WHERE_CERT, "domains", "new.example.com", err, sizeof(err)),
	        0);
	now = time(NULL);
	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	assert_int_equal(schedule_count(f->sched), 1);
	rows(f);
	assert_int_equal(f->n_rows, 1);
	assert_int_equal(f->rows[0].n_domains, 3);
	assert_true(f->rows[0].next <= now + 1);
	assert_string_equal(f->rows[0].why, "the configured names changed: adds new.example.com");
}

static void
test_sweep(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(schedule_set(f->sched, "a", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "b", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "c", &f->s), 0);
	assert_int_equal(schedule_sweep(f->sched), 0);
	/* A reload that configures only a and c drops b. */
	assert_int_equal(schedule_set(f->sched, "c", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "a", &f->s), 0);
	assert_int_equal(schedule_sweep(f->sched), 1);
	assert_int_equal(schedule_count(f->sched), 2);
	rows(f);
	assert_int_equal(f->n_rows, 2);
	assert_string_equal(f->rows[0].cert, "a");
	assert_string_equal(f->rows[1].cert, "c");
	assert_int_equal(schedule_renew_now(f->sched, "b"), -1);
	/* Nothing set since: all go. */
	assert_int_equal(schedule_sweep(f->sched), 2);
	assert_int_equal(schedule_count(f->sched), 0);
	/* One added after the sweep keeps its place at the end. */
	assert_int_equal(schedule_set(f->sched, "d", &f->s), 0);
	rows(f);
	assert_int_equal(f->n_rows, 1);
	assert_string_equal(f->rows[0].cert, "d");
}

/* Sections with the same settings but their names: each certificate its
 * own names and decisions, a change to one leaves the others as they were. */
static void
test_shared_settings(void **state)
{
	struct fixture *f = *state;
	struct conf_settings other;
	/* Each certificate's own times: under valgrind the three are made
	 * in different seconds. */
	time_t not_after = 0;
	time_t b_after = 0;
	time_t c_after = 0;
	time_t renew = install(f, "a", &not_after);
	time_t b_renew = install(f, "b", &b_after);
	time_t c_renew = install(f, "c", &c_after);
	char err[256];

	assert_int_equal(schedule_set(f->sched, "a", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "b", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "c", &f->s), 0);
	/* b renews 80 days before its end. */
	memset(&other, 0, sizeof(other));
	assert_int_equal(conf_set(&other, CONF_WHERE_CERT, "domains", "example.com www.example.com",
	                          err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&other, CONF_WHERE_CERT, "renew-before", "80d", err, sizeof(err)),
	                 0);
	assert_int_equal(schedule_set(f->sched, "b", &other), 0);
	rows(f);
	assert_int_equal(f->n_rows, 3);
	assert_int_equal(f->rows[0].next, renew);
	assert_int_equal(f->rows[1].next, b_after - 80 * 86400);
	assert_int_equal(f->rows[2].next, c_renew);
	/* c with other names: due now, a and b as they were. */
	conf_settings_finish(&other);
	assert_int_equal(
	        conf_set(&other, CONF_WHERE_CERT, "domains", "c.example", err, sizeof(err)), 0);
	assert_int_equal(schedule_set(f->sched, "c", &other), 0);
	rows(f);
	assert_int_equal(f->rows[0].n_domains, 2);
	assert_int_equal(f->rows[0].next, renew);
	assert_int_equal(f->rows[1].next, b_after - 80 * 86400);
	assert_int_equal(f->rows[2].n_domains, 1);
	assert_true(f->rows[2].next <= time(NULL));
	/* b back to the others' settings, a dropped: b and c stay whole. */
	assert_int_equal(schedule_sweep(f->sched), 0);
	assert_int_equal(schedule_set(f->sched, "b", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "c", &other), 0);
	assert_int_equal(schedule_sweep(f->sched), 1);
	rows(f);
	assert_int_equal(f->n_rows, 2);
	assert_string_equal(f->rows[0].cert, "b");
	assert_int_equal(f->rows[0].next, b_renew);
	assert_int_equal(f->rows[0].n_domains, 2);
	assert_string_equal(f->rows[1].cert, "c");
	assert_int_equal(f->rows[1].n_domains, 1);
	conf_settings_finish(&other);
}

static void
count_settings(const struct conf_settings *s, void *arg)
{
	size_t *n = arg;

	assert_non_null(s->domains);
	n[s->renew_before == 80 * 86400 ? 1 : 0]++;
}

/* A certificate's settings by name (the fleet's webroot answers), and each
 * set of shared settings once (the responders opened at start). */
static void
test_settings_lookup(void **state)
{
	struct fixture *f = *state;
	struct conf_settings other;
	struct conf_settings s;
	size_t n[2] = {0, 0};
	char err[256];

	memset(&other, 0, sizeof(other));
	assert_int_equal(
	        conf_set(&other, CONF_WHERE_CERT, "domains", "c.example", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&other, CONF_WHERE_CERT, "renew-before", "80d", err, sizeof(err)),
	                 0);
	assert_int_equal(schedule_set(f->sched, "a", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "b", &f->s), 0);
	assert_int_equal(schedule_set(f->sched, "c", &other), 0);
	assert_int_equal(schedule_settings(f->sched, "c", &s), 0);
	assert_int_equal(s.renew_before, 80 * 86400);
	assert_int_equal(s.n_domains, 1);
	assert_string_equal(s.domains[0], "c.example");
	assert_int_equal(schedule_settings(f->sched, "a", &s), 0);
	assert_int_equal(s.n_domains, 2);
	assert_int_equal(schedule_settings(f->sched, "nope", &s), -1);
	schedule_each_settings(f->sched, count_settings, n);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 1);
	conf_settings_finish(&other);
}

/* What another process records (a command's failed attempt) shows in the
 * next status at once; the index is written for the next start, which
 * shows the same. */
static void
test_status_sees_other_process(void **state)
{
	struct fixture *f = *state;
	time_t not_after = 0;
	time_t renew = install(f, "www", &not_after);
	char *dir = file_path(f->state_dir, "certs", "www", NULL);
	struct state st;

	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	assert_int_equal(schedule_sweep(f->sched), 0);
	assert_true(tmpdir_exists(f->state_dir, "certs.index"));
	rows(f);
	assert_int_equal(f->rows[0].attempts, 0);
	assert_int_equal(f->rows[0].next, renew);

	assert_int_equal(state_load(dir, &st), 0);
	st.attempts = 2;
	st.last_attempt = time(NULL);
	st.next_try = time(NULL) + 600;
	assert_int_equal(state_set(&st.last_error, "www: the CA said no"), 0);
	assert_int_equal(state_save(dir, "www", &st), 0);
	state_finish(&st);
	rows(f);
	assert_int_equal(f->rows[0].attempts, 2);
	assert_string_equal(f->rows[0].last_error, "www: the CA said no");
	/* Not due: the failures are shown, the renewal time stays. */
	assert_int_equal(f->rows[0].next, renew);

	/* A new daemon, from the index and the files. */
	schedule_destroy(f->sched);
	f->sched = schedule_create(EV_DEFAULT, f->runner, NULL, f->state_dir, f->cfg.ca_url);
	assert_non_null(f->sched);
	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	rows(f);
	assert_int_equal(f->rows[0].attempts, 2);
	assert_string_equal(f->rows[0].last_error, "www: the CA said no");
	assert_int_equal(f->rows[0].not_after, not_after);
	assert_int_equal(f->rows[0].next, renew);
	free(dir);
}

/* A certificate waiting for the fleet (its store away): the wait is not in
 * its files, so a status that finds them changed by another process keeps
 * it rather than making the certificate due at once (each status would
 * start a job otherwise). */
static void
test_fleet_wait_holds(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key = pki_key();
	char *dir = file_path(f->state_dir, "certs", "www", NULL);
	struct job_outcome o;
	struct state st;
	time_t now = time(NULL);

	pki_install(&f->ca, f->state_dir, "www", key, names, 2, 2, NULL);
	EVP_PKEY_free(key);
	assert_int_equal(schedule_set(f->sched, "www", &f->s), 0);
	rows(f);
	assert_true(f->rows[0].next <= now + 1); /* due */

	memset(&o, 0, sizeof(o));
	o.name = "www";
	o.result = JOB_DEFERRED;
	o.message = "";
	o.has_next = true;
	o.next.when = now + 300;
	snprintf(o.next.why, sizeof(o.next.why), "due, not ordered: the fleet's store is away");
	o.fleet_waiting = true;
	schedule_job_done(f->sched, &o);
	rows(f);
	assert_int_equal(f->rows[0].next, now + 300);

	/* Another process records something in state.json. */
	assert_int_equal(state_load(dir, &st), 0);
	st.last_attempt = now;
	assert_int_equal(state_save(dir, "www", &st), 0);
	state_finish(&st);
	rows(f);
	assert_int_equal(f->rows[0].next, now + 300);
	free(dir);
}

#define ARI_CERTS 20

/* A schedule whose client is a fake CA offering renewalInfo. */
struct ari_fixture {
	struct fake_ca ca;
	struct pki pki;
	struct acme_client *client;
	char *state_dir;
	struct job_runner *runner;
	struct schedule *sched;
	char urls[ARI_CERTS][256];
	char body[256];
};

#define ARI_DIRECTORY                                                                     \
	"{\"newNonce\":\"" FAKE_CA_NONCE "\",\"newAccount\":\"" FAKE_CA_NEW_ACCOUNT "\"," \
	"\"newOrder\":\"" FAKE_CA_NEW_ORDER "\",\"revokeCert\":\"" FAKE_CA "/revoke\","   \
	"\"keyChange\":\"" FAKE_CA "/key-change\",\"renewalInfo\":\"" FAKE_CA "/renewal-info\"}"

static size_t
ari_asked(const struct ari_fixture *a)
{
	size_t n = 0;

	for (size_t i = 0; i < ARI_CERTS; i++) {
		n += fake_ca_count(&a->ca, "GET", a->urls[i]);
	}
	return n;
}

/* The fake CA, a runner without it and a schedule asking it; a window of a
 * day from start for every certificate's renewalInfo. */
static struct ari_fixture *
ari_setup(time_t start)
{
	struct ari_fixture *a = calloc(1, sizeof(*a));
	struct fake_reply dir = {
	        .method = "GET", .url = FAKE_CA_DIRECTORY, .status = 200, .body = ARI_DIRECTORY};
	struct job_runner_config cfg;
	time_t end = start + 86400;
	char from[32];
	char to[32];
	struct tm tm;

	assert_non_null(a);
	fake_ca_init(&a->ca, CHALLENGE_TYPE_HTTP01);
	fake_ca_queue(&a->ca, &dir);
	a->client = fake_ca_client(&a->ca);
	pki_init(&a->pki);
	a->state_dir = tmpdir_make("schedule-ari");
	memset(&cfg, 0, sizeof(cfg));
	cfg.loop = a->ca.loop;
	cfg.ca_url = FAKE_CA_DIRECTORY;
	cfg.offline = OFFLINE;
	cfg.state_dir = a->state_dir;
	cfg.concurrency = 4;
	a->runner = job_runner_create(&cfg);
	a->sched =
	        schedule_create(a->ca.loop, a->runner, a->client, a->state_dir, FAKE_CA_DIRECTORY);
	assert_non_null(a->sched);
	strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&start, &tm));
	strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&end, &tm));
	snprintf(a->body, sizeof(a->body),
	         "{\"suggestedWindow\":{\"start\":\"%s\",\"end\":\"%s\"}}", from, to);
	return a;
}

static void
ari_teardown(struct ari_fixture *a)
{
	schedule_destroy(a->sched);
	job_runner_destroy(a->runner);
	acme_client_destroy(a->client);
	fake_ca_finish(&a->ca);
	tmpdir_remove(a->state_dir);
	free(a->state_dir);
	pki_finish(&a->pki);
	free(a);
}

/* Installs certificate c<i> and queues the answer to its renewalInfo. */
static void
ari_install(struct ari_fixture *a, size_t i)
{
	EVP_PKEY *key = pki_key();
	X509 *leaf = NULL;
	char name[16];
	char *id;
	struct fake_reply r = {.method = "GET", .status = 200, .body = a->body};

	snprintf(name, sizeof(name), "c%zu", i);
	pki_install(&a->pki, a->state_dir, name, key, names, 2, 90, &leaf);
	id = cert_ari_id(leaf);
	assert_non_null(id);
	snprintf(a->urls[i], sizeof(a->urls[i]), FAKE_CA "/renewal-info/%s", id);
	r.url = a->urls[i];
	fake_ca_queue(&a->ca, &r);
	free(id);
	X509_free(leaf);
	EVP_PKEY_free(key);
}

/* Twenty certificates asking for their windows at once: at most
 * SCHEDULE_ARI_MAX at a time, the others when answers come, each once,
 * and each one's renewal in its window. */
static void
test_ari_in_flight(void **state)
{
	time_t start = time(NULL) + 10 * 86400;
	struct ari_fixture *a = ari_setup(start);
	struct conf_settings s;
	struct fixture rows_of;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_CERT, "domains", "example.com www.example.com",
	                          err, sizeof(err)),
	                 0);
	for (size_t i = 0; i < ARI_CERTS; i++) {
		ari_install(a, i);
	}
	for (size_t i = 0; i < ARI_CERTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%zu", i);
		assert_int_equal(schedule_set(a->sched, name, &s), 0);
		assert_true(ari_asked(a) <= SCHEDULE_ARI_MAX);
	}
	assert_int_equal(ari_asked(a), SCHEDULE_ARI_MAX);
	for (int i = 0; i < 10000 && (ari_asked(a) < ARI_CERTS || a->ca.deliveries != NULL); i++) {
		ev_run(a->ca.loop, EVRUN_NOWAIT);
	}
	for (size_t i = 0; i < ARI_CERTS; i++) {
		assert_int_equal(fake_ca_count(&a->ca, "GET", a->urls[i]), 1);
	}
	assert_int_equal(a->ca.unmatched, 0);
	memset(&rows_of, 0, sizeof(rows_of));
	schedule_each(a->sched, on_row, &rows_of);
	assert_int_equal(rows_of.n_rows, ARI_CERTS);
	for (size_t i = 0; i < ARI_CERTS; i++) {
		assert_in_range(rows_of.rows[i].next, start, start + 86400);
	}
	conf_settings_finish(&s);
	ari_teardown(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_due_runs_a_job, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_renew_now, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names_changed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_shared_settings, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_settings_lookup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_sees_other_process, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fleet_wait_holds, setup, teardown),
	        cmocka_unit_test(test_ari_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
