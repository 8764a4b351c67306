/* Work on many independent items spread over the processors: what a
 * command does for each of 100,000 certificates (stat(2) calls, reads)
 * goes twice as fast on two. */
#ifndef ACMED_PARALLEL_H
#define ACMED_PARALLEL_H

#include <stddef.h>

typedef void (*parallel_fn)(size_t i, void *arg);

/* Calls fn(i, arg) once for every i in [0, n), from up to threads threads
 * at once (the caller's one of them; 0: as many as there are online
 * processors, at most PARALLEL_MAX), in no set order. Returns once all
 * calls returned. Fewer threads than asked, down to the caller's alone,
 * when they cannot be started. fn must be safe to run concurrently for
 * different i. */
void parallel_for(size_t n, size_t threads, parallel_fn fn, void *arg);

#define PARALLEL_MAX 8

#endif
