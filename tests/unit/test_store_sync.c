#include "store/store_sync.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tmpdir.h"

#define WAITS 40

struct fixture {
	char *dir;
	char *files[WAITS];
	struct store_sync *sync;
	int calls; /* callbacks seen */
	int order[WAITS]; /* the index of each callback, as called */
	int err[WAITS];
	int expected; /* callbacks that end the loop */
	bool free_in_callback;
};

struct waiter {
	struct fixture *f;
	int index;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char name[32];

	assert_non_null(f);
	f->dir = tmpdir_make("sync");
	for (int i = 0; i < WAITS; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		f->files[i] = tmpdir_write(f->dir, name, "x", 0644);
	}
	f->sync = store_sync_new(EV_DEFAULT);
	assert_non_null(f->sync);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_sync_free(f->sync);
	for (int i = 0; i < WAITS; i++) {
		free(f->files[i]);
	}
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void
on_synced(int err, void *arg)
{
	struct waiter *w = arg;
	struct fixture *f = w->f;

	f->order[f->calls] = w->index;
	f->err[w->index] = err;
	f->calls++;
	if (f->free_in_callback) {
		store_sync_free(f->sync);
		f->sync = NULL;
	}
	if (f->calls == f->expected || f->free_in_callback) {
		ev_break(EV_DEFAULT, EVBREAK_ALL);
	}
}

/* Runs the loop until the expected callbacks came; the barrier's pending
 * waits alone keep it running. */
static void
run(struct fixture *f, int expected)
{
	f->expected = expected;
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(f->calls, expected);
}

/* One job's files: each fsynced, the callback from the loop after start
 * returned, err 0. */
static void
test_one_wait(void **state)
{
	struct fixture *f = *state;
	struct waiter w = {f, 0};
	const char *paths[] = {f->files[0], f->files[1], f->dir};
	struct store_sync_stats st;

	assert_non_null(store_sync_start(f->sync, paths, 3, on_synced, &w));
	assert_int_equal(f->calls, 0);
	run(f, 1);
	assert_int_equal(f->err[0], 0);
	store_sync_stats(f->sync, &st);
	assert_int_equal(st.waits, 1);
	assert_int_equal(st.fsyncs, 3);
	assert_int_equal(st.syncfs, 0);
}

/* A path that is not there: its errno, and the loop goes on. */
static void
test_missing_path(void **state)
{
	struct fixture *f = *state;
	struct waiter w = {f, 0};
	char *gone = tmpdir_write(f->dir, "gone", "x", 0644);
	const char *paths[] = {f->files[0], gone};

	assert_int_equal(unlink(gone), 0);
	assert_non_null(store_sync_start(f->sync, paths, 2, on_synced, &w));
	run(f, 1);
	assert_int_equal(f->err[0], ENOENT);
	free(gone);
}

/* Many jobs at once: every callback, in the order the waits started,
 * one syncfs for all (a round of more than STORE_SYNC_EACH_MAX files). */
static void
test_many_waits(void **state)
{
	struct fixture *f = *state;
	struct waiter ws[WAITS];
	struct store_sync_stats st;

	for (int i = 0; i < WAITS; i++) {
		const char *paths[] = {f->files[i], f->dir};

		ws[i] = (struct waiter){f, i};
		assert_non_null(store_sync_start(f->sync, paths, 2, on_synced, &ws[i]));
	}
	run(f, WAITS);
	for (int i = 0; i < WAITS; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->err[i], 0);
	}
	store_sync_stats(f->sync, &st);
	assert_int_equal(st.waits, WAITS);
	/* Started in one turn of the loop: one round, one syncfs for the
	 * one file system, no fsync. */
	assert_int_equal(st.rounds, 1);
	assert_int_equal(st.syncfs, 1);
	assert_int_equal(st.fsyncs, 0);
}

/* In a round synced with syncfs, a missing path fails its own wait only. */
static void
test_many_one_missing(void **state)
{
	struct fixture *f = *state;
	struct waiter ws[WAITS];
	const char *gone = "/nonexistent-acmed-test/file";

	for (int i = 0; i < WAITS; i++) {
		const char *paths[] = {i == WAITS / 2 ? gone : f->files[i], f->dir};

		ws[i] = (struct waiter){f, i};
		assert_non_null(store_sync_start(f->sync, paths, 2, on_synced, &ws[i]));
	}
	run(f, WAITS);
	for (int i = 0; i < WAITS; i++) {
		assert_int_equal(f->err[i], i == WAITS / 2 ? ENOENT : 0);
	}
}

/* A cancelled wait's callback never comes; the others' do. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct waiter ws[3];
	struct store_sync_wait *w[3];

	for (int i = 0; i < 3; i++) {
		const char *paths[] = {f->files[i]};

		ws[i] = (struct waiter){f, i};
		w[i] = store_sync_start(f->sync, paths, 1, on_synced, &ws[i]);
		assert_non_null(w[i]);
	}
	store_sync_cancel(f->sync, w[1]);
	run(f, 2);
	assert_int_equal(f->order[0], 0);
	assert_int_equal(f->order[1], 2);
}

/* The barrier freed from a callback (a runner that ends with its last
 * job): the other waits' callbacks never come, nothing leaks. */
static void
test_free_in_callback(void **state)
{
	struct fixture *f = *state;
	struct waiter ws[3];

	f->free_in_callback = true;
	for (int i = 0; i < 3; i++) {
		const char *paths[] = {f->files[i]};

		ws[i] = (struct waiter){f, i};
		assert_non_null(store_sync_start(f->sync, paths, 1, on_synced, &ws[i]));
	}
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(f->calls, 1);
	assert_null(f->sync);
}

/* While others may come, waits started one turn of the loop apart are
 * gathered into one round: group_waits of them (the delay, 30 s, never
 * reached). */
struct spaced {
	struct fixture *f;
	ev_timer timer;
	struct waiter ws[3];
	int started;
};

static void
on_spaced(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct spaced *sp = t->data;
	const char *paths[] = {sp->f->files[sp->started]};

	(void)revents;
	sp->ws[sp->started] = (struct waiter){sp->f, sp->started};
	assert_non_null(store_sync_start(sp->f->sync, paths, 1, on_synced, &sp->ws[sp->started]));
	if (++sp->started == 3) {
		ev_timer_stop(loop, t);
	}
}

static void
test_batch_gathered(void **state)
{
	struct fixture *f = *state;
	struct spaced sp = {.f = f};
	struct store_sync_stats st;

	store_sync_group(f->sync, 3, 30.0);
	store_sync_expect(f->sync, 10);
	ev_timer_init(&sp.timer, on_spaced, 0.001, 0.001);
	sp.timer.data = &sp;
	ev_timer_start(EV_DEFAULT, &sp.timer);
	run(f, 3);
	store_sync_stats(f->sync, &st);
	assert_int_equal(st.rounds, 1);
	assert_int_equal(st.waits, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->order[i], i);
	}
}

/* A wait nobody else may join (one job at work) is not held for the
 * others: its callback comes long before the 30 s a round may gather. */
static void
test_alone_not_held(void **state)
{
	struct fixture *f = *state;
	struct waiter w = {f, 0};
	const char *paths[] = {f->files[0]};
	double start;

	store_sync_group(f->sync, 32, 30.0);
	store_sync_expect(f->sync, 1);
	ev_now_update(EV_DEFAULT);
	start = ev_now(EV_DEFAULT);
	assert_non_null(store_sync_start(f->sync, paths, 1, on_synced, &w));
	run(f, 1);
	ev_now_update(EV_DEFAULT);
	assert_true(ev_now(EV_DEFAULT) - start < 20.0);
}

/* With nothing waiting the barrier does not keep the loop running. */
static void
test_idle_loop_ends(void **state)
{
	(void)state;
	ev_run(EV_DEFAULT, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_one_wait, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_waits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_one_missing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch_gathered, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alone_not_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_idle_loop_ends, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
