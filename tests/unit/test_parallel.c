#include "base/parallel.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#define N 100000

struct seen {
	atomic_int count[N];
	pthread_mutex_t lock;
	pthread_t threads[PARALLEL_MAX + 1];
	size_t n_threads;
};

static void
mark(size_t i, void *arg)
{
	struct seen *s = arg;
	pthread_t self = pthread_self();
	size_t k;

	atomic_fetch_add(&s->count[i], 1);
	pthread_mutex_lock(&s->lock);
	for (k = 0; k < s->n_threads && !pthread_equal(s->threads[k], self); k++) {
	}
	if (k == s->n_threads && k <= PARALLEL_MAX) {
		s->threads[s->n_threads++] = self;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Runs n items on threads; returns how many threads took part. */
static size_t
run(size_t n, size_t threads)
{
	struct seen *s = calloc(1, sizeof(*s));
	size_t used;

	assert_non_null(s);
	pthread_mutex_init(&s->lock, NULL);
	parallel_for(n, threads, mark, s);
	for (size_t i = 0; i < N; i++) {
		/* Every item once, none past n. */
		assert_int_equal(atomic_load(&s->count[i]), i < n ? 1 : 0);
	}
	used = s->n_threads;
	pthread_mutex_destroy(&s->lock);
	free(s);
	return used;
}

static void
test_each_once(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_in_range(run(N, 4), 1, 4);
	assert_in_range(run(N - 7, 3), 1, 3);
	/* As many as there are processors, at most PARALLEL_MAX. */
	assert_in_range(run(N, 0), 1, cpus < PARALLEL_MAX ? (size_t)cpus : PARALLEL_MAX);
	assert_in_range(run(N, 100), 1, PARALLEL_MAX);
}

static void
test_small_and_empty(void **state)
{
	(void)state;
	/* One batch or none: no thread is started, the caller does it. */
	assert_int_equal(run(0, 4), 0);
	assert_int_equal(run(1, 4), 1);
	assert_int_equal(run(64, 8), 1);
	assert_int_equal(run(1000, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_each_once),
	        cmocka_unit_test(test_small_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
