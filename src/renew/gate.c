#include "renew/gate.h"

#include <stddef.h>

void
gate_init(struct gate *g)
{
	g->holder = NULL;
	list_init(&g->waiters);
}

void
gate_waiter_init(struct gate_waiter *w)
{
	list_node_init(&w->node);
	w->fn = NULL;
	w->arg = NULL;
}

void
gate_enter(struct gate *g, struct gate_waiter *w, gate_fn fn, void *arg)
{
	w->fn = fn;
	w->arg = arg;
	if (g->holder != NULL) {
		list_append(&g->waiters, &w->node);
		return;
	}
	g->holder = w;
	fn(arg);
}

void
gate_leave(struct gate *g, struct gate_waiter *w)
{
	struct list_node *next;
	struct gate_waiter *n;

	if (list_linked(&w->node)) {
		list_unlink(&w->node);
		return;
	}
	if (g->holder != w) {
		return;
	}
	g->holder = NULL;
	next = list_first(&g->waiters);
	if (next == NULL) {
		return;
	}
	list_unlink(next);
	n = list_entry(next, struct gate_waiter, node);
	g->holder = n;
	n->fn(n->arg);
}

bool
gate_holds(const struct gate *g, const struct gate_waiter *w)
{
	return g->holder == w;
}
