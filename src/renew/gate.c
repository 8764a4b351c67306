#include "renew/gate.h"

void
gate_init(struct gate *g, size_t width)
{
	g->width = width > 0 ? width : 1;
	g->holders = 0;
	list_init(&g->waiters);
	g->closed = false;
}

void
gate_close(struct gate *g)
{
	g->closed = true;
	while (!list_empty(&g->waiters)) {
		list_unlink(list_first(&g->waiters));
	}
}

void
gate_waiter_init(struct gate_waiter *w)
{
	list_node_init(&w->node);
	w->held = NULL;
	w->fn = NULL;
	w->arg = NULL;
}

/* w holds g from now: its turn starts. */
static void
pass(struct gate *g, struct gate_waiter *w)
{
	g->holders++;
	w->held = g;
	w->fn(w->arg);
}

void
gate_enter(struct gate *g, struct gate_waiter *w, gate_fn fn, void *arg)
{
	w->fn = fn;
	w->arg = arg;
	if (g->closed) {
		return;
	}
	/* Nobody waits while a place is free: a leave hands its place to the
	 * first waiter at once, so the order of arrival is kept. */
	if (g->holders >= g->width) {
		list_append(&g->waiters, &w->node);
		return;
	}
	pass(g, w);
}

void
gate_leave(struct gate *g, struct gate_waiter *w)
{
	struct list_node *next;

	if (list_linked(&w->node)) {
		list_unlink(&w->node);
		return;
	}
	if (w->held != g) {
		return;
	}
	w->held = NULL;
	g->holders--;
	next = list_first(&g->waiters);
	if (next == NULL || g->closed) {
		return;
	}
	list_unlink(next);
	pass(g, list_entry(next, struct gate_waiter, node));
}

bool
gate_holds(const struct gate *g, const struct gate_waiter *w)
{
	return w->held == g;
}
