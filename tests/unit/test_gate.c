#include "renew/gate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Who passed, in order. */
struct passes {
	int who[16];
	size_t n;
};

struct party {
	struct gate_waiter w;
	struct passes *log;
	int id;
	struct gate *leave_at_once; /* leaves the gate from its own fn */
};

static void
on_pass(void *arg)
{
	struct party *p = arg;

	assert_true(p->log->n < 16);
	p->log->who[p->log->n++] = p->id;
	if (p->leave_at_once != NULL) {
		gate_leave(p->leave_at_once, &p->w);
	}
}

static void
party_init(struct party *p, struct passes *log, int id)
{
	memset(p, 0, sizeof(*p));
	gate_waiter_init(&p->w);
	p->log = log;
	p->id = id;
}

/* a, b and c at a gate of width 1 in that order: a holds it. */
static void
three_at(struct gate *g, struct passes *log, struct party *a, struct party *b, struct party *c)
{
	gate_init(g, 1);
	party_init(a, log, 1);
	party_init(b, log, 2);
	party_init(c, log, 3);
	gate_enter(g, &a->w, on_pass, a);
	gate_enter(g, &b->w, on_pass, b);
	gate_enter(g, &c->w, on_pass, c);
}

static void
test_first_passes_at_once(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party a;

	(void)state;
	gate_init(&g, 1);
	party_init(&a, &log, 1);
	assert_false(gate_holds(&g, &a.w));
	gate_enter(&g, &a.w, on_pass, &a);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.who[0], 1);
	assert_true(gate_holds(&g, &a.w));
	gate_leave(&g, &a.w);
	assert_false(gate_holds(&g, &a.w));
}

static void
test_fifo(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party p[4];

	(void)state;
	gate_init(&g, 1);
	for (int i = 0; i < 4; i++) {
		party_init(&p[i], &log, i + 1);
		gate_enter(&g, &p[i].w, on_pass, &p[i]);
	}
	/* Only the first passed; the others wait. */
	assert_int_equal(log.n, 1);
	assert_true(gate_holds(&g, &p[0].w));
	for (int i = 1; i < 4; i++) {
		assert_false(gate_holds(&g, &p[i].w));
	}
	/* Each leave passes the gate to the next, before it returns. */
	for (int i = 0; i < 4; i++) {
		gate_leave(&g, &p[i].w);
		assert_int_equal(log.n, (size_t)(i < 3 ? i + 2 : 4));
		assert_false(gate_holds(&g, &p[i].w));
		if (i < 3) {
			assert_true(gate_holds(&g, &p[i + 1].w));
		}
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(log.who[i], i + 1);
	}
	/* Free again: the next one passes at once. */
	party_init(&p[0], &log, 9);
	gate_enter(&g, &p[0].w, on_pass, &p[0]);
	assert_int_equal(log.n, 5);
	assert_int_equal(log.who[4], 9);
}

static void
test_leave_while_waiting(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party a;
	struct party b;
	struct party c;

	(void)state;
	three_at(&g, &log, &a, &b, &c);
	/* b gives up waiting: never called, and a's leave goes to c. */
	gate_leave(&g, &b.w);
	gate_leave(&g, &b.w);
	assert_int_equal(log.n, 1);
	assert_true(gate_holds(&g, &a.w));
	gate_leave(&g, &a.w);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.who[1], 3);
	assert_true(gate_holds(&g, &c.w));
	gate_leave(&g, &c.w);
	assert_int_equal(log.n, 2);
	assert_false(gate_holds(&g, &b.w));
}

static void
test_leave_twice(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party a;
	struct party b;
	struct party c;

	(void)state;
	/* Leaving a gate one never entered does nothing. */
	gate_init(&g, 1);
	party_init(&a, &log, 1);
	gate_leave(&g, &a.w);
	assert_false(gate_holds(&g, &a.w));
	assert_int_equal(log.n, 0);
	three_at(&g, &log, &a, &b, &c);
	gate_leave(&g, &a.w);
	assert_true(gate_holds(&g, &b.w));
	/* a again: b keeps the gate, c keeps waiting. */
	gate_leave(&g, &a.w);
	assert_true(gate_holds(&g, &b.w));
	assert_int_equal(log.n, 2);
	/* b twice: c passes once. */
	gate_leave(&g, &b.w);
	gate_leave(&g, &b.w);
	assert_true(gate_holds(&g, &c.w));
	assert_int_equal(log.n, 3);
	gate_leave(&g, &c.w);
	gate_leave(&g, &c.w);
	assert_int_equal(log.n, 3);
	assert_int_equal(g.holders, 0);
}

static void
test_leave_from_fn(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party a;
	struct party b;
	struct party c;

	(void)state;
	/* A holder whose turn ends inside its fn (a request that fails at
	 * once) hands the gate on from there. */
	three_at(&g, &log, &a, &b, &c);
	b.leave_at_once = &g;
	gate_leave(&g, &a.w);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.who[1], 2);
	assert_int_equal(log.who[2], 3);
	assert_true(gate_holds(&g, &c.w));
	gate_leave(&g, &c.w);
	assert_int_equal(g.holders, 0);
}

/* Width 3, seven at the gate: three pass at once, and each holder that
 * leaves, in whatever order, lets the first waiter pass, in the order they
 * came. */
static void
test_width_fifo(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party p[7];
	const int leaves[7] = {1, 0, 2, 4, 3, 6, 5};

	(void)state;
	gate_init(&g, 3);
	for (int i = 0; i < 7; i++) {
		party_init(&p[i], &log, i + 1);
		gate_enter(&g, &p[i].w, on_pass, &p[i]);
	}
	assert_int_equal(log.n, 3);
	assert_int_equal(g.holders, 3);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(gate_holds(&g, &p[i].w), i < 3);
	}
	for (int k = 0; k < 7; k++) {
		int who = leaves[k];

		assert_true(gate_holds(&g, &p[who].w));
		gate_leave(&g, &p[who].w);
		assert_false(gate_holds(&g, &p[who].w));
		/* One left, one more passed (while any waited). */
		assert_int_equal(log.n, (size_t)(k + 4 < 7 ? k + 4 : 7));
		if (k + 3 < 7) {
			assert_true(gate_holds(&g, &p[k + 3].w));
			assert_int_equal(g.holders, 3);
		}
	}
	for (int i = 0; i < 7; i++) {
		assert_int_equal(log.who[i], i + 1);
	}
	assert_int_equal(g.holders, 0);
	/* Free again: three pass at once. */
	for (int i = 0; i < 4; i++) {
		party_init(&p[i], &log, 10 + i);
		gate_enter(&g, &p[i].w, on_pass, &p[i]);
	}
	assert_int_equal(log.n, 10);
	assert_int_equal(log.who[9], 12);
	assert_false(gate_holds(&g, &p[3].w));
}

/* Width 2: a waiter that gives up is skipped; a holder leaving twice
 * frees one place, not two. */
static void
test_width_leave_while_waiting(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party p[5];

	(void)state;
	gate_init(&g, 2);
	for (int i = 0; i < 5; i++) {
		party_init(&p[i], &log, i + 1);
		gate_enter(&g, &p[i].w, on_pass, &p[i]);
	}
	assert_int_equal(log.n, 2);
	/* The third gives up waiting. */
	gate_leave(&g, &p[2].w);
	gate_leave(&g, &p[2].w);
	assert_int_equal(log.n, 2);
	assert_int_equal(g.holders, 2);
	/* The first leaves, twice: the fourth passes, the fifth still waits. */
	gate_leave(&g, &p[0].w);
	gate_leave(&g, &p[0].w);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.who[2], 4);
	assert_int_equal(g.holders, 2);
	assert_false(gate_holds(&g, &p[4].w));
	gate_leave(&g, &p[1].w);
	assert_int_equal(log.n, 4);
	assert_int_equal(log.who[3], 5);
	gate_leave(&g, &p[3].w);
	gate_leave(&g, &p[4].w);
	assert_int_equal(g.holders, 0);
	assert_int_equal(log.n, 4);
	assert_false(gate_holds(&g, &p[2].w));
}

/* Width 2, a holder whose turn ends inside its fn: its place goes to the
 * next at once, and the width is never passed. */
static void
test_width_leave_from_fn(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct party p[4];

	(void)state;
	gate_init(&g, 2);
	for (int i = 0; i < 4; i++) {
		party_init(&p[i], &log, i + 1);
	}
	p[1].leave_at_once = &g;
	for (int i = 0; i < 4; i++) {
		gate_enter(&g, &p[i].w, on_pass, &p[i]);
	}
	/* 1 holds, 2 passed and left, 3 holds, 4 waits. */
	assert_int_equal(log.n, 3);
	assert_int_equal(log.who[2], 3);
	assert_int_equal(g.holders, 2);
	assert_true(gate_holds(&g, &p[0].w));
	assert_false(gate_holds(&g, &p[1].w));
	assert_true(gate_holds(&g, &p[2].w));
	assert_false(gate_holds(&g, &p[3].w));
	gate_leave(&g, &p[2].w);
	assert_true(gate_holds(&g, &p[3].w));
	gate_leave(&g, &p[0].w);
	gate_leave(&g, &p[3].w);
	assert_int_equal(g.holders, 0);
}

/* Width 0 is width 1; leaving a gate one holds another of does nothing. */
static void
test_width_zero_and_two_gates(void **state)
{
	struct passes log = {{0}, 0};
	struct gate g;
	struct gate h;
	struct party a;
	struct party b;

	(void)state;
	gate_init(&g, 0);
	gate_init(&h, 4);
	party_init(&a, &log, 1);
	party_init(&b, &log, 2);
	gate_enter(&g, &a.w, on_pass, &a);
	gate_enter(&g, &b.w, on_pass, &b);
	assert_int_equal(log.n, 1);
	assert_true(gate_holds(&g, &a.w));
	assert_false(gate_holds(&h, &a.w));
	gate_leave(&h, &a.w);
	assert_true(gate_holds(&g, &a.w));
	assert_int_equal(h.holders, 0);
	assert_int_equal(log.n, 1);
	gate_leave(&g, &a.w);
	assert_true(gate_holds(&g, &b.w));
	gate_leave(&g, &b.w);
	assert_int_equal(g.holders, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_first_passes_at_once),
	        cmocka_unit_test(test_fifo),
	        cmocka_unit_test(test_leave_while_waiting),
	        cmocka_unit_test(test_leave_twice),
	        cmocka_unit_test(test_leave_from_fn),
	        cmocka_unit_test(test_width_fifo),
	        cmocka_unit_test(test_width_leave_while_waiting),
	        cmocka_unit_test(test_width_leave_from_fn),
	        cmocka_unit_test(test_width_zero_and_two_gates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
