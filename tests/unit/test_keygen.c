/* crypto/keygen.c: keys of every type made off the loop and handed back on
 * it, never from inside keygen_submit; many at once; a generator destroyed
 * with work queued calls nobody back. */
#include "crypto/keygen.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MANY 24

/* One request's answer. */
struct answer {
	int calls;
	EVP_PKEY *key;
	pthread_t thread; /* that called back */
	int order; /* among the answers */
};

struct fixture {
	struct ev_loop *loop;
	struct keygen *kg;
	int answered;
	struct answer answers[MANY];
	ev_timer watchdog;
};

static struct fixture *current;

static void
on_key(EVP_PKEY *key, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	a->key = key;
	a->thread = pthread_self();
	a->order = current->answered++;
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	fail_msg("no key in time");
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	f->kg = keygen_create(f->loop);
	assert_non_null(f->kg);
	/* Only against a hang: RSA-4096 under valgrind on a busy machine takes
	 * minutes, and meson's timeout (scaled for valgrind) comes first. */
	ev_timer_init(&f->watchdog, on_watchdog, 1800.0, 0.0);
	current = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	keygen_destroy(f->kg);
	ev_timer_stop(f->loop, &f->watchdog);
	ev_loop_destroy(f->loop);
	for (size_t i = 0; i < MANY; i++) {
		EVP_PKEY_free(f->answers[i].key);
	}
	free(f);
	current = NULL;
	return 0;
}

/* Runs the loop until n answers came. */
static void
run_until(struct fixture *f, int n)
{
	ev_timer_start(f->loop, &f->watchdog);
	while (f->answered < n) {
		ev_run(f->loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->loop, &f->watchdog);
}

/* Each type, one at a time: a key of that type, on the loop's thread,
 * after keygen_submit returned. */
static void
test_each_type(void **state)
{
	struct fixture *f = *state;

	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		struct answer *a = &f->answers[t];
		enum key_type got;

		assert_int_equal(keygen_submit(f->kg, (enum key_type)t, on_key, a), 0);
		assert_int_equal(a->calls, 0);
		run_until(f, t + 1);
		assert_int_equal(a->calls, 1);
		assert_non_null(a->key);
		assert_int_equal(key_type_of(a->key, &got), 0);
		assert_int_equal(got, t);
		assert_true(pthread_equal(a->thread, pthread_self()));
	}
}

/* An RSA key is made by the worker: the loop runs on meanwhile. */
static void
test_off_the_loop(void **state)
{
	struct fixture *f = *state;
	struct answer *a = &f->answers[0];

	assert_int_equal(keygen_submit(f->kg, KEY_TYPE_RSA_2048, on_key, a), 0);
	/* An RSA key takes far longer than a look at the loop. */
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(a->calls, 0);
	run_until(f, 1);
	assert_non_null(a->key);
	assert_true(pthread_equal(a->thread, pthread_self()));
}

/* A type there is no key of: answered with NULL, from the loop. */
static void
test_failure(void **state)
{
	struct fixture *f = *state;
	struct answer *a = &f->answers[0];

	assert_int_equal(keygen_submit(f->kg, KEY_TYPE__MAX, on_key, a), 0);
	assert_int_equal(a->calls, 0);
	run_until(f, 1);
	assert_int_equal(a->calls, 1);
	assert_null(a->key);
}

/* Many at once, mixed: each answered once with its own key; RSA keys in
 * the order asked. */
static void
test_many(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < MANY; i++) {
		enum key_type t = i % 8 == 0 ? KEY_TYPE_RSA_2048 : KEY_TYPE_EC_P256;

		assert_int_equal(keygen_submit(f->kg, t, on_key, &f->answers[i]), 0);
	}
	assert_int_equal(f->answered, 0);
	run_until(f, MANY);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(f->answers[i].calls, 1);
		assert_non_null(f->answers[i].key);
		for (int j = 0; j < i; j++) {
			assert_int_not_equal(EVP_PKEY_eq(f->answers[i].key, f->answers[j].key), 1);
		}
		if (i >= 8 && i % 8 == 0) {
			assert_true(f->answers[i].order > f->answers[i - 8].order);
		}
	}
	/* Nothing more comes. */
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->answered, MANY);
}

/* Destroyed with a key being made and more queued (EC ones made already):
 * it waits for the worker, frees every key, and calls nobody back. */
static void
test_destroy_queued(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(keygen_submit(f->kg, KEY_TYPE_RSA_2048, on_key, &f->answers[i]),
		                 0);
	}
	assert_int_equal(keygen_submit(f->kg, KEY_TYPE_EC_P384, on_key, &f->answers[3]), 0);
	keygen_destroy(f->kg);
	f->kg = NULL;
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->answered, 0);
	/* The loop has nothing of it left. */
	assert_int_equal(ev_run(f->loop, EVRUN_NOWAIT), 0);
	keygen_destroy(NULL);
}

/* Destroyed after a key was made but before the loop delivered it. */
static void
test_destroy_undelivered(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(keygen_submit(f->kg, KEY_TYPE_EC_P256, on_key, &f->answers[0]), 0);
	keygen_destroy(f->kg);
	f->kg = NULL;
	assert_int_equal(ev_run(f->loop, EVRUN_NOWAIT), 0);
	assert_int_equal(f->answered, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_each_type, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_off_the_loop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_queued, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_undelivered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
