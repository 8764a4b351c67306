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

/* a, b and c at the gate in that order: a holds it. */
static void
three_at(struct gate *g, struct passes *log, struct party *a, struct party *b, struct party *c)
{
	gate_init(g);
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
	gate_init(&g);
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
	gate_init(&g);
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
	gate_init(&g);
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
	assert_null(g.holder);
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
	assert_null(g.holder);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_first_passes_at_once), cmocka_unit_test(test_fifo),
	        cmocka_unit_test(test_leave_while_waiting),  cmocka_unit_test(test_leave_twice),
	        cmocka_unit_test(test_leave_from_fn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
