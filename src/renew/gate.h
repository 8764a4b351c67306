/* A gate that up to width holders pass at a time, the others waiting in
 * order (FIFO). The job runner sends newOrder requests through one per CA
 * (new-order-concurrency, default 1): they are the costly ones for a CA
 * (what its rate limits count), the rest of each order runs in parallel
 * anyway, and Pebble 2.4 deadlocks when two newOrder requests run while an
 * authorization is fetched (its later sources lock the same way; one at a
 * time makes it rare: tests/integration/neworder.sh says how rare). */
#ifndef ACMED_GATE_H
#define ACMED_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/list.h"

typedef void (*gate_fn)(void *arg);

struct gate;

/* Sits in the waiting thing (a job). */
struct gate_waiter {
	struct list_node node; /* in the gate's waiters */
	const struct gate *held; /* the gate it holds, or NULL */
	gate_fn fn;
	void *arg;
};

struct gate {
	size_t width; /* holders at most */
	size_t holders; /* now */
	struct list waiters;
	bool closed; /* gate_close: nobody passes any more */
};

/* A free gate for width holders at a time (0 is taken as 1). */
void gate_init(struct gate *g, size_t width);

void gate_waiter_init(struct gate_waiter *w);

/* w passes: fn(arg) is called now when fewer than width hold the gate and
 * nobody waits (w holds it then), else when the waiters before it have
 * passed and a holder has left. */
void gate_enter(struct gate *g, struct gate_waiter *w, gate_fn fn, void *arg);

/* w leaves: when it holds the gate, the first waiter passes (its fn is
 * called before this returns); when it waits, it stops waiting. Leaving a
 * gate one is not at does nothing, so a holder may leave more than once. */
void gate_leave(struct gate *g, struct gate_waiter *w);

/* Nobody passes any more (its owner ends): the waiters stop waiting
 * without being called, and a leave hands its place to nobody. */
void gate_close(struct gate *g);

/* Whether w holds g. */
bool gate_holds(const struct gate *g, const struct gate_waiter *w);

#endif
