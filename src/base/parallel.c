#include "base/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

/* Items are taken a batch at a time: one atomic add per batch, and
 * neighbouring items (neighbouring folders) stay together. */
#define PARALLEL_BATCH 64

struct work {
	size_t n;
	parallel_fn fn;
	void *arg;
	atomic_size_t next;
};

static void *
worker(void *p)
{
	struct work *w = p;

	for (;;) {
		size_t first = atomic_fetch_add(&w->next, PARALLEL_BATCH);

		if (first >= w->n) {
			break;
		}
		for (size_t i = first; i < w->n && i < first + PARALLEL_BATCH; i++) {
			w->fn(i, w->arg);
		}
	}
	return NULL;
}

void
parallel_for(size_t n, size_t threads, parallel_fn fn, void *arg)
{
	struct work w = {.n = n, .fn = fn, .arg = arg};
	pthread_t tids[PARALLEL_MAX];
	size_t started = 0;

	atomic_init(&w.next, 0);
	if (threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		threads = cpus > 0 ? (size_t)cpus : 1;
	}
	if (threads > PARALLEL_MAX) {
		threads = PARALLEL_MAX;
	}
	/* No thread for what one batch holds. */
	if (threads > (n + PARALLEL_BATCH - 1) / PARALLEL_BATCH) {
		threads = (n + PARALLEL_BATCH - 1) / PARALLEL_BATCH;
	}
	while (started + 1 < threads && pthread_create(&tids[started], NULL, worker, &w) == 0) {
		started++;
	}
	worker(&w);
	for (size_t i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
	}
}
