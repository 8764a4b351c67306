/* A gate one holder passes at a time, the others waiting in order (FIFO).
 * The job runner sends newOrder requests through one: they are the costly
 * ones for a CA (what its rate limits count), the rest of each order runs
 * in parallel anyway, and Pebble 2.4's memory store deadlocks on concurrent
 * newOrder requests. */
#ifndef ACMED_GATE_H
#define ACMED_GATE_H

#include <stdbool.h>

#include "base/list.h"

typedef void (*gate_fn)(void *arg);

/* Sits in the waiting thing (a job). */
struct gate_waiter {
	struct list_node node;
	gate_fn fn;
	void *arg;
};

struct gate {
	const struct gate_waiter *holder; /* NULL: free */
	struct list waiters;
};

void gate_init(struct gate *g);

void gate_waiter_init(struct gate_waiter *w);

/* w passes: fn(arg) is called now when the gate is free (w holds it then),
 * else when the holders before it have left. */
void gate_enter(struct gate *g, struct gate_waiter *w, gate_fn fn, void *arg);

/* w leaves: when it holds the gate, the next waiter passes (its fn is
 * called before this returns); when it waits, it stops waiting. Leaving a
 * gate one is not at does nothing, so a holder may leave more than once. */
void gate_leave(struct gate *g, struct gate_waiter *w);

/* Whether w holds the gate. */
bool gate_holds(const struct gate *g, const struct gate_waiter *w);

#endif
