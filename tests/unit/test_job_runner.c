/* renew/job_runner.c itself (test_job.c runs one job through it): the cap
 * on jobs at once, its counts and listing as jobs go, the results counted,
 * a job asked for again from the done callback, and the responders let go
 * a while after the last job. Offline (no CA) on a state folder made by
 * the test, but for the responders, which only an order opens: there the
 * CA is a scripted one (fake_ca.h). */
#include "renew/job_runner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/state.h"
#include "store/store_cert.h"
#include "dns_server.h"
#include "fake_ca.h"
#include "pki.h"
#include "tmpdir.h"

#define OFFLINE "the test is offline"
#define JOBS 5
#define MAX_OUTCOMES 8
/* job_runner.c's JOB_IDLE_RELEASE: the responders go 5 s after the last
 * job. */
#define IDLE_RELEASE 5.0

static const char *const names[] = {"example.com", "www.example.com"};
static const char *const certs[JOBS] = {"a", "b", "c", "d", "e"};

struct seen {
	char name[16];
	enum job_result result;
	char message[512];
	bool has; /* job_runner_has for its name, in the callback */
	size_t active; /* job_runner_active and _waiting, in the callback */
	size_t waiting;
};

struct fixture {
	struct pki ca;
	char *state_dir;
	struct conf_settings s;
	struct job_runner_config cfg;
	struct job_runner *runner;
	struct store_lock *locks[JOBS]; /* held as another process would */
	struct seen seen[MAX_OUTCOMES];
	size_t n_seen;
	size_t max_active;
	bool requeue; /* the done callback asks for the first again, once */
	ev_timer watchdog;
	char listing[256]; /* job_runner_each's: "name:state ..." */
	int new_orders; /* newOrders the fake CAs of stop_order_run got */
};

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	fail_msg("the jobs did not end in time");
}

static void
note_active(struct fixture *f)
{
	size_t n = job_runner_active(f->runner);

	assert_true(n <= (size_t)f->cfg.concurrency);
	if (n > f->max_active) {
		f->max_active = n;
	}
}

static void
on_done(const struct job_outcome *o, void *arg)
{
	struct fixture *f = arg;
	struct seen *s;
	struct job_request none;

	assert_true(f->n_seen < MAX_OUTCOMES);
	s = &f->seen[f->n_seen++];
	snprintf(s->name, sizeof(s->name), "%s", o->name);
	s->result = o->result;
	snprintf(s->message, sizeof(s->message), "%s", o->message);
	s->has = job_runner_has(f->runner, o->name);
	s->active = job_runner_active(f->runner);
	s->waiting = job_runner_waiting(f->runner);
	note_active(f);
	if (f->requeue) {
		/* The daemon's retry (an account key changed on disk): the
		 * same certificate again, at once. */
		f->requeue = false;
		memset(&none, 0, sizeof(none));
		assert_int_equal(job_runner_add(f->runner, o->name, &f->s, &none), 0);
		assert_true(job_runner_has(f->runner, o->name));
	}
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
	f->state_dir = tmpdir_make("runner");
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "domains", "example.com www.example.com",
	                          err, sizeof(err)),
	                 0);
	f->cfg.loop = EV_DEFAULT;
	f->cfg.client = NULL;
	f->cfg.ca_url = "https://ca.test/directory";
	f->cfg.offline = OFFLINE;
	f->cfg.state_dir = f->state_dir;
	f->cfg.concurrency = 2;
	f->cfg.lock_wait = 20.0;
	ev_timer_init(&f->watchdog, on_watchdog, 30.0, 0.0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ev_timer_stop(f->cfg.loop, &f->watchdog);
	job_runner_destroy(f->runner);
	for (size_t i = 0; i < JOBS; i++) {
		store_lock_release(f->locks[i]);
	}
	conf_settings_finish(&f->s);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

static void
new_runner(struct fixture *f)
{
	f->runner = job_runner_create(&f->cfg);
	assert_non_null(f->runner);
	job_runner_on_done(f->runner, on_done, f);
}

static void
add(struct fixture *f, const char *name)
{
	struct job_request none;

	memset(&none, 0, sizeof(none));
	assert_int_equal(job_runner_add(f->runner, name, &f->s, &none), 0);
}

static void
on_each(const struct job *job, void *arg)
{
	struct fixture *f = arg;
	size_t n = strlen(f->listing);

	assert_true(job_since(job) <= time(NULL));
	snprintf(f->listing + n, sizeof(f->listing) - n, "%s%s:%s", n > 0 ? " " : "", job_name(job),
	         job_state(job));
}

/* job_runner_each's listing, "a:locked b:waiting". */
static const char *
listing(struct fixture *f)
{
	f->listing[0] = '\0';
	job_runner_each(f->runner, on_each, f);
	return f->listing;
}

/* Runs the loop until n jobs are done (within the watchdog's time). */
static void
run_until(struct fixture *f, size_t n)
{
	ev_timer_start(f->cfg.loop, &f->watchdog);
	while (f->n_seen < n) {
		ev_run(f->cfg.loop, EVRUN_ONCE);
		note_active(f);
	}
	ev_timer_stop(f->cfg.loop, &f->watchdog);
	assert_int_equal(f->n_seen, n);
}

static void
hold(struct fixture *f, size_t i)
{
	char holder[STORE_LOCK_HOLDER_LEN];

	f->locks[i] = store_cert_lock(f->state_dir, certs[i], holder);
	assert_non_null(f->locks[i]);
}

static void
release(struct fixture *f, size_t i)
{
	store_lock_release(f->locks[i]);
	f->locks[i] = NULL;
}

/* The seen[k]-th outcome was name's, with result; the callback found the
 * job gone already, and active and waiting as they were then. */
static void
assert_seen(const struct fixture *f, size_t k, const char *name, enum job_result result,
            size_t active, size_t waiting)
{
	const struct seen *s = &f->seen[k];

	assert_string_equal(s->name, name);
	assert_int_equal(s->result, result);
	assert_false(s->has);
	assert_int_equal(s->active, active);
	assert_int_equal(s->waiting, waiting);
}

/* Four jobs, two at a time, each held by its certificate's lock until the
 * test lets it go: the counts and the listing follow, never more than two
 * run, a job that waited its turn starts when one ends. */
static void
test_cap(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key = pki_key();

	/* b is installed and not due: unchanged; the others fail offline. */
	pki_install(&f->ca, f->state_dir, "b", key, names, 2, 90, NULL);
	EVP_PKEY_free(key);
	for (size_t i = 0; i < 4; i++) {
		hold(f, i);
	}
	new_runner(f);
	for (size_t i = 0; i < 4; i++) {
		add(f, certs[i]);
	}
	assert_int_equal(job_runner_active(f->runner), 0);
	assert_int_equal(job_runner_waiting(f->runner), 4);
	assert_string_equal(listing(f), "a:waiting b:waiting c:waiting d:waiting");
	assert_true(job_runner_has(f->runner, "a"));
	assert_true(job_runner_has(f->runner, "d"));
	assert_false(job_runner_has(f->runner, "e"));

	job_runner_start(f->runner);
	assert_int_equal(job_runner_active(f->runner), 2);
	assert_int_equal(job_runner_waiting(f->runner), 2);
	assert_string_equal(listing(f), "a:locked b:locked c:waiting d:waiting");
	/* Started twice: no more than the cap all the same. */
	job_runner_start(f->runner);
	assert_int_equal(job_runner_active(f->runner), 2);

	release(f, 0);
	run_until(f, 1);
	assert_seen(f, 0, "a", JOB_FAILED, 1, 2);
	assert_string_equal(f->seen[0].message, "a: no certificate installed: " OFFLINE);
	assert_false(job_runner_has(f->runner, "a"));
	assert_int_equal(job_runner_active(f->runner), 2);
	assert_int_equal(job_runner_waiting(f->runner), 1);
	assert_string_equal(listing(f), "b:locked c:locked d:waiting");

	release(f, 1);
	run_until(f, 2);
	assert_seen(f, 1, "b", JOB_UNCHANGED, 1, 1);
	assert_int_equal(job_runner_waiting(f->runner), 0);
	assert_string_equal(listing(f), "c:locked d:locked");

	/* The later one first: they end in any order. */
	release(f, 3);
	run_until(f, 3);
	assert_seen(f, 2, "d", JOB_FAILED, 1, 0);
	assert_int_equal(job_runner_active(f->runner), 1);
	assert_string_equal(listing(f), "c:locked");

	release(f, 2);
	run_until(f, 4);
	assert_seen(f, 3, "c", JOB_FAILED, 0, 0);
	assert_int_equal(job_runner_active(f->runner), 0);
	assert_int_equal(job_runner_waiting(f->runner), 0);
	assert_string_equal(listing(f), "");
	for (size_t i = 0; i < 4; i++) {
		assert_false(job_runner_has(f->runner, certs[i]));
	}
	assert_int_equal(f->max_active, 2);
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), 3);
	assert_int_equal(job_runner_count(f->runner, JOB_UNCHANGED), 1);
	assert_int_equal(job_runner_count(f->runner, JOB_ISSUED), 0);
	assert_int_equal(job_runner_count(f->runner, JOB_RENEWED), 0);
	assert_int_equal(job_runner_count(f->runner, JOB_DEPLOYED), 0);
	assert_int_equal(job_runner_count(f->runner, JOB_DEFERRED), 0);
	assert_int_equal(job_runner_count(f->runner, JOB__MAX), 0);
}

/* Jobs that end at once (nothing locked: their failure's record aside) all
 * run, in the order queued, through job_runner_run; the second run of each is held by the backoff
 * the first recorded. */
static void
test_run_all(void **state)
{
	struct fixture *f = *state;

	new_runner(f);
	for (size_t i = 0; i < JOBS; i++) {
		add(f, certs[i]);
	}
	job_runner_run(f->runner);
	assert_int_equal(f->n_seen, JOBS);
	for (size_t i = 0; i < JOBS; i++) {
		assert_string_equal(f->seen[i].name, certs[i]);
		assert_int_equal(f->seen[i].result, JOB_FAILED);
		assert_false(f->seen[i].has);
		/* Those after it were queued yet, or started while its
		 * record went to the disk. */
		assert_true(f->seen[i].waiting <= JOBS - 1 - i);
	}
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), JOBS);

	/* Again on the same runner: its counts go on. */
	f->n_seen = 0;
	add(f, "a");
	add(f, "b");
	assert_int_equal(job_runner_waiting(f->runner), 2);
	job_runner_run(f->runner);
	assert_int_equal(f->n_seen, 2);
	assert_int_equal(f->seen[0].result, JOB_DEFERRED);
	assert_int_equal(f->seen[1].result, JOB_DEFERRED);
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), JOBS);
	assert_int_equal(job_runner_count(f->runner, JOB_DEFERRED), 2);
	assert_int_equal(job_runner_active(f->runner), 0);
	assert_int_equal(job_runner_waiting(f->runner), 0);
}

/* The done callback asks for its certificate again (the daemon does when
 * the account key changed on disk): it is queued and runs. */
static void
test_requeue_from_done(void **state)
{
	struct fixture *f = *state;

	new_runner(f);
	f->requeue = true;
	add(f, "a");
	job_runner_run(f->runner);
	assert_int_equal(f->n_seen, 2);
	assert_seen(f, 0, "a", JOB_FAILED, 0, 0);
	assert_seen(f, 1, "a", JOB_DEFERRED, 0, 0);
	assert_false(job_runner_has(f->runner, "a"));
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), 1);
	assert_int_equal(job_runner_count(f->runner, JOB_DEFERRED), 1);
}

/* Queued but never run: the runner frees them. */
static void
test_destroy_queued(void **state)
{
	struct fixture *f = *state;

	new_runner(f);
	add(f, "a");
	add(f, "b");
	assert_int_equal(job_runner_waiting(f->runner), 2);
	job_runner_destroy(f->runner);
	f->runner = NULL;
	assert_int_equal(f->n_seen, 0);
}

/* --- the responders, with a CA -------------------------------------- */

/* A TCP socket and 127.0.0.1:port in *a. */
static int
loopback(struct sockaddr_in *a, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons((uint16_t)port);
	return fd;
}

/* A port on 127.0.0.1 nobody listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = loopback(&a, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Whether someone holds port on 127.0.0.1. */
static bool
port_held(int port)
{
	struct sockaddr_in a;
	int fd = loopback(&a, port);
	bool held = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0;

	assert_true(!held || errno == EADDRINUSE);
	close(fd);
	return held;
}

struct look {
	ev_timer timer;
	int port;
	bool held;
	bool looked;
};

static void
on_look(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct look *l = t->data;

	(void)loop;
	(void)revents;
	l->held = port_held(l->port);
	l->looked = true;
}

/* Looks at port after delay seconds of the loop, running it until then. */
static bool
held_after(struct ev_loop *loop, int port, double delay)
{
	struct look l = {.port = port};

	ev_timer_init(&l.timer, on_look, delay, 0.0);
	l.timer.data = &l;
	ev_timer_start(loop, &l.timer);
	while (!l.looked) {
		ev_run(loop, EVRUN_ONCE);
	}
	return l.held;
}

/* An order opens the standalone responder; it keeps its port while jobs
 * may still need it and lets it go IDLE_RELEASE seconds after the last. */
static void
test_responders_released(void **state)
{
	struct fixture *f = *state;
	struct fake_ca ca;
	struct acme_account_handle acct;
	int port = free_port();
	char listen[32];
	char err[256];
	ev_tstamp done_at;

	fake_ca_init(&ca, CHALLENGE_TYPE_HTTP01);
	memset(&acct, 0, sizeof(acct));
	acct.key = key_generate(KEY_TYPE_EC_P256);
	acct.url = strdup(FAKE_CA "/acct/1");
	assert_non_null(acct.key);
	assert_non_null(acct.url);
	f->cfg.loop = ca.loop;
	f->cfg.client = fake_ca_client(&ca);
	f->cfg.acct = &acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "http-listen", listen, err, sizeof(err)),
	                 0);
	fake_ca_problem(&ca, FAKE_CA_NEW_ORDER, 400,
	                "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	                "\"detail\":\"not here\"}");
	assert_false(port_held(port));

	new_runner(f);
	add(f, "a");
	job_runner_run(f->runner);
	ev_now_update(ca.loop);
	done_at = ev_now(ca.loop);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	assert_non_null(strstr(f->seen[0].message, "rejectedIdentifier: not here"));
	assert_int_equal(fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER), 1);
	/* Held after the job, and a while after. */
	assert_true(port_held(port));
	assert_true(held_after(ca.loop, port, IDLE_RELEASE - 1.0));
	/* Let go once the while is over. */
	assert_false(held_after(ca.loop, port, 1.5));
	assert_true(ev_now(ca.loop) - done_at >= IDLE_RELEASE);

	job_runner_destroy(f->runner);
	f->runner = NULL;
	acme_client_destroy(f->cfg.client);
	fake_ca_finish(&ca);
	acme_account_close(&acct);
	f->cfg.loop = EV_DEFAULT;
}

/* --- the stop (a signal) -------------------------------------------- */

static void
on_stopped(void *arg)
{
	int *calls = arg;

	(*calls)++;
}

/* Stopped while its jobs wait for locks and one is queued: nothing to
 * withdraw, so the stop is over at once; the lock waits end (a lock let go
 * later starts nothing), the queued job never starts, job_runner_run
 * returns, and the runner frees them all. */
static void
test_stop_offline(void **state)
{
	struct fixture *f = *state;
	int calls = 0;

	hold(f, 0);
	hold(f, 1);
	new_runner(f);
	add(f, "a");
	add(f, "b");
	add(f, "c");
	job_runner_start(f->runner);
	assert_string_equal(listing(f), "a:locked b:locked c:waiting");
	assert_false(job_runner_stopped(f->runner));
	job_runner_stop(f->runner, on_stopped, &calls);
	assert_int_equal(calls, 1);
	assert_true(job_runner_stopped(f->runner));
	job_runner_stop(f->runner, on_stopped, &calls);
	assert_int_equal(calls, 1);
	release(f, 0);
	release(f, 1);
	job_runner_run(f->runner);
	/* Longer than a lock wait's look again (LOCK_WAIT_POLL). */
	assert_false(held_after(f->cfg.loop, free_port(), 1.5));
	assert_int_equal(f->n_seen, 0);
	assert_string_equal(listing(f), "a:locked b:locked c:waiting");
	job_runner_destroy(f->runner);
	f->runner = NULL;
	assert_int_equal(f->n_seen, 0);
}

#define STOP_ORDER FAKE_CA "/order/1"
#define STOP_AUTHZ(i) FAKE_CA "/authz/" i
#define STOP_CHALL(i) FAKE_CA "/chall/" i
#define STOP_AUTHZ_BODY(name, i)                                                            \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"" name "\"},\"status\":\"pending\"," \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"" STOP_CHALL(                      \
	        i) "\",\"status\":"                                                         \
	           "\"pending\",\"token\":\"tok_" i "\"}]}"
#define STOP_CHALL_BODY(i)                                                                         \
	"{\"type\":\"http-01\",\"url\":\"" STOP_CHALL(i) "\",\"status\":\"processing\",\"token\":" \
	                                                 "\"tok_" i "\"}"

/* The fake CA of the stop cases: an order for a (example.com and
 * www.example.com) whose challenges are answered with a Retry-After of an
 * hour; a and b added, concurrency 1, the runner started. */
static void
stop_order_start(struct fixture *f, struct fake_ca *ca, struct acme_account_handle *acct)
{
	static const struct fake_reply order = {
	        .method = "POST",
	        .url = FAKE_CA_NEW_ORDER,
	        .status = 201,
	        .location = STOP_ORDER,
	        .body = "{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":"
	                "\"example.com\"},{\"type\":\"dns\",\"value\":\"www.example.com\"}],"
	                "\"authorizations\":[\"" STOP_AUTHZ("1") "\",\"" STOP_AUTHZ(
	                        "2") "\"],"
	                             "\"finalize\":\"" STOP_ORDER "/finalize\"}",
	};
	char listen[32];
	char err[256];

	fake_ca_init(ca, CHALLENGE_TYPE_HTTP01);
	ca->hold_timers = true;
	memset(acct, 0, sizeof(*acct));
	acct->key = key_generate(KEY_TYPE_EC_P256);
	acct->url = strdup(FAKE_CA "/acct/1");
	acct->dir = strdup(f->state_dir);
	f->cfg.loop = ca->loop;
	f->cfg.client = fake_ca_client(ca);
	f->cfg.acct = acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	f->cfg.concurrency = 1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "http-listen", listen, err, sizeof(err)),
	                 0);
	fake_ca_queue(ca, &order);
	/* The order as a run that resumes it fetches it. */
	fake_ca_json(ca, STOP_ORDER, 200, order.body);
	fake_ca_json(ca, STOP_AUTHZ("1"), 200, STOP_AUTHZ_BODY("example.com", "1"));
	fake_ca_json(ca, STOP_AUTHZ("2"), 200, STOP_AUTHZ_BODY("www.example.com", "2"));
	fake_ca_json(ca, STOP_CHALL("1"), 200, STOP_CHALL_BODY("1"))->retry_after = "3600";
	fake_ca_json(ca, STOP_CHALL("2"), 200, STOP_CHALL_BODY("2"))->retry_after = "3600";
	new_runner(f);
	add(f, "a");
	add(f, "b");
	job_runner_start(f->runner);
}

static void
stop_order_finish(struct fixture *f, struct fake_ca *ca, struct acme_account_handle *acct)
{
	job_runner_destroy(f->runner);
	f->runner = NULL;
	acme_client_destroy(f->cfg.client);
	fake_ca_finish(ca);
	acme_account_close(acct);
	f->cfg.loop = EV_DEFAULT;
}

/* What a stopped order leaves of a: its order in state.json, its key in
 * pending.key, no attempt counted and no temp file beside them. */
static void
assert_order_kept(struct fixture *f)
{
	char *dir = store_cert_dir(f->state_dir, "a");
	struct state st;
	EVP_PKEY *pending;
	DIR *d;
	struct dirent *de;

	assert_non_null(dir);
	assert_int_equal(state_load(dir, &st), 0);
	assert_non_null(st.order_url);
	assert_string_equal(st.order_url, STOP_ORDER);
	assert_int_equal(st.attempts, 0);
	state_finish(&st);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		assert_true(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		            de->d_name[0] != '.');
	}
	closedir(d);
	free(dir);
	pending = store_cert_pending_load(f->state_dir, "a");
	assert_non_null(pending);
	EVP_PKEY_free(pending);
}

/* Runs the stop case's order until both challenges are out (a
 * validating, b waiting), then stops the runner; after (may be NULL) looks
 * at what is left before the runner and its fake CA are freed. */
static void
stop_order_run(struct fixture *f, void (*after)(struct fixture *f, struct fake_ca *ca))
{
	struct fake_ca ca;
	struct acme_account_handle acct;
	int calls = 0;

	stop_order_start(f, &ca, &acct);
	ev_timer_start(f->cfg.loop, &f->watchdog);
	while (ca.n_delays < 2) {
		ev_run(f->cfg.loop, EVRUN_ONCE);
	}
	assert_string_equal(listing(f), "a:validating b:waiting");
	job_runner_stop(f->runner, on_stopped, &calls);
	job_runner_run(f->runner);
	ev_timer_stop(f->cfg.loop, &f->watchdog);
	assert_int_equal(calls, 1);
	f->new_orders += fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER);
	if (after != NULL) {
		after(f, &ca);
	}
	stop_order_finish(f, &ca, &acct);
}

static void
stopped_order_checks(struct fixture *f, struct fake_ca *ca)
{
	assert_true(job_runner_stopped(f->runner));
	assert_int_equal(f->n_seen, 0);
	assert_int_equal(job_runner_count(f->runner, JOB_FAILED), 0);
	assert_string_equal(listing(f), "b:waiting");
	assert_int_equal(fake_ca_count(ca, "POST", STOP_ORDER "/finalize"), 0);
	assert_int_equal(fake_ca_count(ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_order_kept(f);
}

/* Stopped while both challenges are out and their authorizations' polls
 * wait: the stop ends once they are withdrawn; the job records nothing
 * (no outcome, no failure counted), state.json keeps the order and
 * pending.key its key, for the next run to resume; the job queued behind
 * it never starts. */
static void
test_stop_order(void **state)
{
	stop_order_run(*state, stopped_order_checks);
}

/* key-type changed while an order was begun: its key is another type's,
 * so the order is placed anew with a key of the type asked for, not
 * resumed. */
static void
test_resume_other_key_type(void **state)
{
	struct fixture *f = *state;
	char err[256];

	stop_order_run(f, NULL);
	assert_int_equal(f->new_orders, 1);
	assert_order_kept(f);
	/* Resumed while its key is of the type asked for. */
	stop_order_run(f, NULL);
	assert_int_equal(f->new_orders, 1);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "key-type", "rsa-2048", err, sizeof(err)),
	                 0);
	stop_order_run(f, NULL);
	assert_int_equal(f->new_orders, 2);
	stop_order_run(f, NULL);
	assert_int_equal(f->new_orders, 2);
}

/* Whether a's folder holds state.json's next text, not yet renamed. */
static bool
record_on_its_way(struct fixture *f)
{
	char *dir = store_cert_dir(f->state_dir, "a");
	DIR *d = dir != NULL ? opendir(dir) : NULL;
	struct dirent *de;
	bool found = false;

	while (d != NULL && (de = readdir(d)) != NULL) {
		found = found || strncmp(de->d_name, ".state.json.", 12) == 0;
	}
	if (d != NULL) {
		closedir(d);
	}
	free(dir);
	return found;
}

/* The runner destroyed while a job's last record waits for the group
 * commit: the record is synced and put in place by the job's end, and the
 * runner is not told (it is going). */
static void
test_destroyed_before_record_synced(void **state)
{
	struct fixture *f = *state;
	char *dir = store_cert_dir(f->state_dir, "a");
	struct state st;

	new_runner(f);
	add(f, "a");
	job_runner_start(f->runner);
	ev_timer_start(f->cfg.loop, &f->watchdog);
	while (!record_on_its_way(f)) {
		ev_run(f->cfg.loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->cfg.loop, &f->watchdog);
	assert_int_equal(f->n_seen, 0);
	job_runner_destroy(f->runner);
	f->runner = NULL;
	assert_int_equal(f->n_seen, 0);
	assert_false(record_on_its_way(f));
	assert_non_null(dir);
	assert_int_equal(state_load(dir, &st), 0);
	assert_int_equal(st.attempts, 1);
	assert_non_null(st.last_error);
	state_finish(&st);
	free(dir);
}

/* The runner destroyed in the turn of the loop the order was placed in:
 * its journal, written for the group commit and not yet in state.json's
 * place, is made durable and put there by the job's end. */
static void
test_destroyed_before_journal_synced(void **state)
{
	struct fixture *f = *state;
	struct fake_ca ca;
	struct acme_account_handle acct;

	stop_order_start(f, &ca, &acct);
	ev_timer_start(f->cfg.loop, &f->watchdog);
	while (!record_on_its_way(f)) {
		ev_run(f->cfg.loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->cfg.loop, &f->watchdog);
	assert_int_equal(fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER), 1);
	stop_order_finish(f, &ca, &acct);
	assert_order_kept(f);
}

/* Failover: a refusal that is the CA's own (rateLimited until after the
 * late point) moves the job to the next CA of its list; one that is the
 * request's or the account's (unauthorized) does not. The next CA here
 * cannot be reached: its reason ends the job. */
static void
failover_case(struct fixture *f, long status, const char *type, bool moves)
{
	struct fake_ca ca;
	struct acme_account_handle acct;
	struct job_runner_ca second;
	struct fake_reply *reply;
	char body[256];
	char err[256];
	int port = free_port();
	char listen[32];

	fake_ca_init(&ca, CHALLENGE_TYPE_HTTP01);
	memset(&acct, 0, sizeof(acct));
	acct.key = key_generate(KEY_TYPE_EC_P256);
	acct.url = strdup(FAKE_CA "/acct/1");
	acct.dir = strdup(f->state_dir);
	memset(&second, 0, sizeof(second));
	second.ca_url = "https://second.test/dir";
	second.offline = "the second CA is away";
	f->cfg.loop = ca.loop;
	f->cfg.client = fake_ca_client(&ca);
	f->cfg.acct = &acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	f->cfg.more_cas = &second;
	f->cfg.n_more_cas = 1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "http-listen", listen, err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "ca",
	                          FAKE_CA_DIRECTORY " https://second.test/dir", err, sizeof(err)),
	                 0);
	snprintf(body, sizeof(body), "{\"type\":\"urn:ietf:params:acme:error:%s\"}", type);
	reply = fake_ca_problem(&ca, FAKE_CA_NEW_ORDER, status, body);
	reply->retry_after = "86400";

	new_runner(f);
	add(f, "a");
	job_runner_run(f->runner);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	print_message("%s: %s\n", type, f->seen[0].message);
	if (moves) {
		assert_non_null(strstr(f->seen[0].message, "the second CA is away"));
	} else {
		assert_non_null(strstr(f->seen[0].message, type));
	}
	assert_int_equal(fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER), 1);

	job_runner_destroy(f->runner);
	f->runner = NULL;
	acme_client_destroy(f->cfg.client);
	fake_ca_finish(&ca);
	acme_account_close(&acct);
	f->cfg.loop = EV_DEFAULT;
	f->cfg.more_cas = NULL;
	f->cfg.n_more_cas = 0;
}

static void
test_failover_rate_limited(void **state)
{
	failover_case(*state, 429, "rateLimited", true);
}

static void
test_no_failover_unauthorized(void **state)
{
	failover_case(*state, 403, "unauthorized", false);
}

static void
test_no_failover_rejected(void **state)
{
	failover_case(*state, 400, "rejectedIdentifier", false);
}

/* A responder that cannot be made (its port taken): the reason it logged
 * is stored in state.json, since `acmed status` shows it later without
 * the log (there is no "above" there). */
static void
test_responder_reason_stored(void **state)
{
	struct fixture *f = *state;
	struct fake_ca ca;
	struct acme_account_handle acct;
	struct sockaddr_in a;
	int port = free_port();
	int fd = loopback(&a, port);
	char addr[32];
	char err[256];
	char *dir;
	struct state st;

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	fake_ca_init(&ca, CHALLENGE_TYPE_HTTP01);
	memset(&acct, 0, sizeof(acct));
	acct.key = key_generate(KEY_TYPE_EC_P256);
	acct.url = strdup(FAKE_CA "/acct/1");
	f->cfg.loop = ca.loop;
	f->cfg.client = fake_ca_client(&ca);
	f->cfg.acct = &acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "http-listen", addr, err, sizeof(err)),
	                 0);

	new_runner(f);
	add(f, "a");
	job_runner_run(f->runner);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	assert_non_null(strstr(f->seen[0].message, "a: no challenge responder: "));
	assert_non_null(strstr(f->seen[0].message, addr));
	assert_null(strstr(f->seen[0].message, "see above"));
	assert_int_equal(fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER), 0);
	dir = store_cert_dir(f->state_dir, "a");
	assert_int_equal(state_load(dir, &st), 0);
	assert_non_null(st.last_error);
	assert_non_null(strstr(st.last_error, "no challenge responder: "));
	assert_non_null(strstr(st.last_error, addr));
	state_finish(&st);
	free(dir);

	close(fd);
	job_runner_destroy(f->runner);
	f->runner = NULL;
	acme_client_destroy(f->cfg.client);
	fake_ca_finish(&ca);
	acme_account_close(&acct);
	f->cfg.loop = EV_DEFAULT;
}

/* --- CAA before the order ------------------------------------------- */

static const struct dns_server_entry caa_table[] = {
        {"example.com", DNS_TYPE_CAA,
         .answer = {{"example.com", DNS_TYPE_CAA, "0 issue other.example"}}},
        {"www.example.com", DNS_TYPE_CAA, .mode = DNS_SERVER_ANSWER},
        {"allowed.test", DNS_TYPE_CAA,
         .answer = {{"allowed.test", DNS_TYPE_CAA, "0 issue ca.example"}}},
};

/* A job whose names' CAA records (on a DNS server of the test) forbid
 * ca.example: no newOrder, the record named, no backoff (a local
 * failure); with a second CA in the list, the job moves there (offline
 * here: its reason ends it); records that allow let the order go. */
static void
caa_case(struct fixture *f, const char *domains, bool second_ca, const char *want, int new_orders)
{
	struct fake_ca ca;
	struct acme_account_handle acct;
	struct job_runner_ca second;
	struct dns_server dns;
	char err[256];
	char listen[32];
	char *dir;
	struct state st;

	fake_ca_init(&ca, CHALLENGE_TYPE_HTTP01);
	dns_server_start(&dns, ca.loop, caa_table, sizeof(caa_table) / sizeof(caa_table[0]));
	memset(&acct, 0, sizeof(acct));
	acct.key = key_generate(KEY_TYPE_EC_P256);
	acct.url = strdup(FAKE_CA "/acct/1");
	memset(&second, 0, sizeof(second));
	second.ca_url = "https://second.test/dir";
	second.offline = "the second CA is away";
	f->cfg.loop = ca.loop;
	f->cfg.client = fake_ca_client(&ca);
	f->cfg.acct = &acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	if (second_ca) {
		f->cfg.more_cas = &second;
		f->cfg.n_more_cas = 1;
	}
	conf_settings_finish(&f->s);
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "domains", domains, err, sizeof(err)), 0);
	if (second_ca) {
		assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "ca",
		                          FAKE_CA_DIRECTORY " https://second.test/dir", err,
		                          sizeof(err)),
		                 0);
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
	assert_int_equal(conf_set(&f->s, CONF_WHERE_CERT, "http-listen", listen, err, sizeof(err)),
	                 0);
	assert_int_equal(
	        conf_set(&f->s, CONF_WHERE_GLOBAL, "dns-resolver", dns.addr, err, sizeof(err)), 0);
	assert_int_equal(
	        conf_set(&f->s, CONF_WHERE_CERT, "caa-identity", "ca.example", err, sizeof(err)),
	        0);
	f->s.caa_check = true;
	fake_ca_problem(&ca, FAKE_CA_NEW_ORDER, 400,
	                "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	                "\"detail\":\"not here\"}");

	new_runner(f);
	add(f, "a");
	job_runner_run(f->runner);
	run_until(f, 1);
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	print_message("%s\n", f->seen[0].message);
	assert_non_null(strstr(f->seen[0].message, want));
	assert_int_equal(fake_ca_count(&ca, "POST", FAKE_CA_NEW_ORDER), new_orders);
	assert_true(dns_server_count(&dns, "example.com", DNS_TYPE_CAA, false) +
	                    dns_server_count(&dns, "allowed.test", DNS_TYPE_CAA, false) >
	            0);
	dir = store_cert_dir(f->state_dir, "a");
	assert_int_equal(state_load(dir, &st), 0);
	if (new_orders == 0 && !second_ca) {
		/* Fixed in the zone: no backoff against the CA. */
		assert_int_equal(st.next_try, 0);
	}
	state_finish(&st);
	free(dir);

	job_runner_destroy(f->runner);
	f->runner = NULL;
	acme_client_destroy(f->cfg.client);
	dns_server_stop(&dns);
	fake_ca_finish(&ca);
	acme_account_close(&acct);
	f->cfg.loop = EV_DEFAULT;
	f->cfg.more_cas = NULL;
	f->cfg.n_more_cas = 0;
}

static void
test_caa_forbids(void **state)
{
	caa_case(*state, "example.com www.example.com", false,
	         "not ordered: CAA of example.com: 0 issue \"other.example\" does not name this "
	         "CA (ca.example) (and 1 more name)",
	         0);
}

static void
test_caa_failover(void **state)
{
	caa_case(*state, "www.example.com", true, "the second CA is away", 0);
}

static void
test_caa_allows(void **state)
{
	caa_case(*state, "allowed.test", false, "rejectedIdentifier: not here", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_run_all, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_requeue_from_done, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_queued, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_offline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroyed_before_journal_synced, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_destroyed_before_record_synced, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_stop_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resume_other_key_type, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_responders_released, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failover_rate_limited, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_failover_unauthorized, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_failover_rejected, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_responder_reason_stored, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_caa_forbids, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_caa_failover, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_caa_allows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
