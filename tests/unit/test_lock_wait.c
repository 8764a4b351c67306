#include "renew/lock_wait.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "base/log.h"
#include "capture.h"
#include "store/store_cert.h"
#include "tmpdir.h"

struct fixture {
	char *state_dir;
	struct lock_wait w;
	ev_timer watchdog;
	ev_timer release; /* lets the other holder go */
	struct store_lock *other; /* the lock as another open holds it */
	/* What the callbacks saw. */
	int done_calls;
	int busy_calls;
	double done_at;
	struct store_lock *lock;
	char why[1024];
	char holder[STORE_LOCK_HOLDER_LEN];
};

static void
on_done(struct store_lock *lock, const char *why, void *arg)
{
	struct fixture *f = arg;

	f->done_calls++;
	f->done_at = ev_time();
	f->lock = lock;
	snprintf(f->why, sizeof(f->why), "%s", why != NULL ? why : "(null)");
	ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
on_busy(const char *holder, void *arg)
{
	struct fixture *f = arg;

	f->busy_calls++;
	snprintf(f->holder, sizeof(f->holder), "%s", holder);
	/* Said before the first wait: nothing is done yet. */
	assert_int_equal(f->done_calls, 0);
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
on_release(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fixture *f = t->data;

	(void)loop;
	(void)revents;
	store_lock_release(f->other);
	f->other = NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->state_dir = tmpdir_make("lock-wait");
	ev_timer_init(&f->watchdog, on_watchdog, 20.0, 0.0);
	ev_timer_init(&f->release, on_release, 0.0, 0.0);
	f->release.data = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	lock_wait_stop(&f->w);
	ev_timer_stop(EV_DEFAULT, &f->release);
	store_lock_release(f->lock);
	store_lock_release(f->other);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	free(f);
	return 0;
}

/* Runs the loop until done is called (or the watchdog). */
static void
run(struct fixture *f)
{
	ev_timer_start(EV_DEFAULT, &f->watchdog);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &f->watchdog);
}

/* Another open file description takes the certificate's lock. */
static void
hold(struct fixture *f)
{
	char holder[STORE_LOCK_HOLDER_LEN];

	f->other = store_cert_lock(f->state_dir, "www", holder);
	assert_non_null(f->other);
}

static void
test_free_lock(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];

	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 5.0, on_done, on_busy, f);
	lock_wait_start(&f->w);
	/* At once, before start returns. */
	assert_int_equal(f->done_calls, 1);
	assert_non_null(f->lock);
	assert_string_equal(f->why, "(null)");
	assert_int_equal(f->busy_calls, 0);
	assert_false(f->w.waited);
	/* The lock it gave is the certificate's. */
	errno = 0;
	assert_null(store_cert_lock(f->state_dir, "www", holder));
	assert_int_equal(errno, EWOULDBLOCK);
}

static void
test_held_until_limit(void **state)
{
	struct fixture *f = *state;
	char want[STORE_LOCK_HOLDER_LEN + 64];
	double t0;

	hold(f);
	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 0.5, on_done, on_busy, f);
	ev_now_update(EV_DEFAULT);
	t0 = ev_time();
	lock_wait_start(&f->w);
	assert_int_equal(f->done_calls, 0);
	assert_int_equal(f->busy_calls, 1);
	snprintf(want, sizeof(want), "pid %ld (", (long)getpid());
	assert_true(strncmp(f->holder, want, strlen(want)) == 0);
	assert_true(f->w.waited);
	run(f);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->busy_calls, 1);
	assert_null(f->lock);
	assert_true(f->done_at - t0 >= 0.5);
	assert_true(f->done_at - t0 < 5.0);
	print_message("why: %s\n", f->why);
	snprintf(want, sizeof(want), "www: still locked by %s after ", f->holder);
	assert_true(strncmp(f->why, want, strlen(want)) == 0);
	assert_non_null(strstr(f->why, " s; nothing done"));
	assert_null(strchr(f->why, '\n'));
}

static void
test_released_meanwhile(void **state)
{
	struct fixture *f = *state;
	double t0;

	hold(f);
	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 10.0, on_done, on_busy, f);
	ev_now_update(EV_DEFAULT);
	t0 = ev_time();
	lock_wait_start(&f->w);
	assert_int_equal(f->busy_calls, 1);
	ev_timer_set(&f->release, 0.5, 0.0);
	ev_timer_start(EV_DEFAULT, &f->release);
	run(f);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->busy_calls, 1);
	assert_non_null(f->lock);
	assert_string_equal(f->why, "(null)");
	assert_true(f->done_at - t0 >= 0.5);
	assert_true(f->done_at - t0 < 5.0);
}

static void
test_version_before(void **state)
{
	struct fixture *f = *state;

	struct store_cert_set set = {.key_pem = "K\n",
	                             .key_len = 2,
	                             .cert_pem = "C\n",
	                             .cert_len = 2,
	                             .chain_pem = "",
	                             .chain_len = 0};

	/* The installed set when the wait began, for a job to see that the
	 * holder installed one meanwhile. */
	hold(f);
	assert_int_equal(store_cert_install(f->state_dir, "www", &set), 0);
	assert_int_equal(store_cert_install(f->state_dir, "www", &set), 0);
	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 10.0, on_done, NULL, f);
	assert_int_equal(f->w.version_before, -1);
	lock_wait_start(&f->w);
	assert_int_equal(f->w.version_before, 2);
	assert_true(f->w.waited);
	assert_string_not_equal(f->w.holder, "");
	store_lock_release(f->other);
	f->other = NULL;
	run(f);
	assert_non_null(f->lock);
}

static void
test_stop(void **state)
{
	struct fixture *f = *state;

	/* Stopped while waiting: done never called. */
	hold(f);
	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 0.3, on_done, on_busy, f);
	lock_wait_start(&f->w);
	lock_wait_stop(&f->w);
	ev_timer_set(&f->watchdog, 1.0, 0.0);
	ev_timer_start(EV_DEFAULT, &f->watchdog);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &f->watchdog);
	ev_timer_set(&f->watchdog, 20.0, 0.0);
	assert_int_equal(f->done_calls, 0);
	assert_int_equal(f->busy_calls, 1);
}

static void
test_cannot_lock(void **state)
{
	struct fixture *f = *state;
	char *locks = file_path(f->state_dir, "locks", NULL);

	/* locks/ is a file: not a wait, an error at once. */
	free(tmpdir_write(f->state_dir, "locks", "", 0644));
	lock_wait_init(&f->w, EV_DEFAULT, f->state_dir, "www", 5.0, on_done, on_busy, f);
	lock_wait_start(&f->w);
	assert_int_equal(f->done_calls, 1);
	assert_null(f->lock);
	assert_int_equal(f->busy_calls, 0);
	print_message("why: %s\n", f->why);
	assert_true(strncmp(f->why, "www: cannot lock it under ", 26) == 0);
	free(locks);
}

/* How many times text holds needle. */
static int
count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

/* Three certificates one holder holds, their waits sharing a said: the
 * holder is named once, for the first; without a said, once each. */
static void
test_said_once(void **state)
{
	static const char *const names[] = {"www", "api", "mail"};
	struct fixture *f = *state;
	struct lock_wait w[3];
	struct store_lock *held[3];
	struct lock_wait_said said;
	struct capture c;
	char holder[STORE_LOCK_HOLDER_LEN];
	const char *text;

	memset(&said, 0, sizeof(said));
	for (int i = 0; i < 3; i++) {
		held[i] = store_cert_lock(f->state_dir, names[i], holder);
		assert_non_null(held[i]);
	}
	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	ev_now_update(EV_DEFAULT);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			lock_wait_init(&w[i], EV_DEFAULT, f->state_dir, names[i], 5.0, on_done,
			               on_busy, f);
			w[i].said = round == 0 ? &said : NULL;
			lock_wait_start(&w[i]);
			lock_wait_stop(&w[i]);
		}
		text = capture_take(&c);
		print_message("round %d: %s", round, text);
		if (round == 0) {
			assert_int_equal(count_of(text, "which is working on it"), 1);
			assert_non_null(strstr(text, "acmed: www: waiting for pid "));
			assert_non_null(
			        strstr(text, "(said once for all the certificates it holds)"));
			assert_string_equal(said.holder, f->holder);
		} else {
			assert_int_equal(count_of(text, "which is working on it"), 3);
			assert_null(strstr(text, "said once"));
		}
	}
	capture_end(&c);
	assert_int_equal(f->busy_calls, 6);
	assert_int_equal(f->done_calls, 0);
	for (int i = 0; i < 3; i++) {
		store_lock_release(held[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_free_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_held_until_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_released_meanwhile, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_version_before, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cannot_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_said_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
