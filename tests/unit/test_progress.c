/* renew/progress.c: the counts a batch keeps as its jobs move through the
 * order's steps, and the status line they make, on a terminal only. */
#include "renew/progress.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/log.h"
#include "capture.h"

#define CLEAR "\r\033[K"
#define LINE(done, total, o, v, f, d)                                                          \
	"acmed: " #done "/" #total " done, ordering " #o ", validating " #v ", finalizing " #f \
	", downloading " #d

static int
teardown(void **state)
{
	(void)state;
	log_status_clear();
	log_init("acmed", LOG_LEVEL_INFO, false);
	return 0;
}

static void
assert_steps(const struct progress *p, unsigned long o, unsigned long v, unsigned long f,
             unsigned long d)
{
	assert_int_equal(p->in_step[ACME_ORDER_STEP_ORDERING], o);
	assert_int_equal(p->in_step[ACME_ORDER_STEP_VALIDATING], v);
	assert_int_equal(p->in_step[ACME_ORDER_STEP_FINALIZING], f);
	assert_int_equal(p->in_step[ACME_ORDER_STEP_DOWNLOADING], d);
}

/* Two jobs through every step, one failing while validating: the counts
 * follow; without a terminal nothing is written. */
static void
test_counts(void **state)
{
	struct progress p;
	struct capture c;

	(void)state;
	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	assert_false(log_is_tty());
	memset(&p, 0, sizeof(p));
	p.total = 2;
	progress_step(&p, false, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_ORDERING);
	progress_step(&p, false, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_ORDERING);
	assert_steps(&p, 2, 0, 0, 0);
	progress_step(&p, true, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_VALIDATING);
	progress_step(&p, true, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_VALIDATING);
	assert_steps(&p, 0, 2, 0, 0);
	/* One fails: out of its step, finished. */
	progress_step(&p, true, ACME_ORDER_STEP_VALIDATING, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&p);
	assert_steps(&p, 0, 1, 0, 0);
	assert_int_equal(p.finished, 1);
	progress_step(&p, true, ACME_ORDER_STEP_VALIDATING, true, ACME_ORDER_STEP_FINALIZING);
	assert_steps(&p, 0, 0, 1, 0);
	progress_step(&p, true, ACME_ORDER_STEP_FINALIZING, true, ACME_ORDER_STEP_DOWNLOADING);
	assert_steps(&p, 0, 0, 0, 1);
	progress_step(&p, true, ACME_ORDER_STEP_DOWNLOADING, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&p);
	assert_steps(&p, 0, 0, 0, 0);
	assert_int_equal(p.finished, 2);
	assert_int_equal(p.total, 2);
	assert_string_equal(capture_take(&c), "");
	capture_end(&c);
}

/* On a terminal: the line redrawn at each move, removed when all are
 * done. */
static void
test_terminal(void **state)
{
	struct progress p;
	struct capture c;

	(void)state;
	capture_begin(&c, true);
	log_init("acmed", LOG_LEVEL_INFO, false);
	assert_true(log_is_tty());
	memset(&p, 0, sizeof(p));
	p.total = 2;
	progress_step(&p, false, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_ORDERING);
	assert_string_equal(capture_take(&c), LINE(0, 2, 1, 0, 0, 0));
	progress_step(&p, true, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_VALIDATING);
	assert_string_equal(capture_take(&c), CLEAR LINE(0, 2, 0, 1, 0, 0));
	progress_step(&p, false, ACME_ORDER_STEP_ORDERING, true, ACME_ORDER_STEP_ORDERING);
	assert_string_equal(capture_take(&c), CLEAR LINE(0, 2, 1, 1, 0, 0));
	/* A message goes above the line. */
	log_info("www: renewing");
	assert_string_equal(capture_take(&c),
	                    CLEAR "acmed: www: renewing\n" LINE(0, 2, 1, 1, 0, 0));
	progress_step(&p, true, ACME_ORDER_STEP_VALIDATING, true, ACME_ORDER_STEP_FINALIZING);
	progress_step(&p, true, ACME_ORDER_STEP_FINALIZING, true, ACME_ORDER_STEP_DOWNLOADING);
	assert_string_equal(capture_take(&c),
	                    CLEAR LINE(0, 2, 1, 0, 1, 0) CLEAR LINE(0, 2, 1, 0, 0, 1));
	progress_step(&p, true, ACME_ORDER_STEP_DOWNLOADING, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&p);
	assert_string_equal(capture_take(&c),
	                    CLEAR LINE(0, 2, 1, 0, 0, 0) CLEAR LINE(1, 2, 1, 0, 0, 0));
	progress_step(&p, true, ACME_ORDER_STEP_ORDERING, false, ACME_ORDER_STEP_ORDERING);
	progress_finished(&p);
	/* All done: the line goes, and messages come without it. */
	assert_string_equal(capture_take(&c), CLEAR LINE(1, 2, 0, 0, 0, 0) CLEAR);
	log_info("done");
	assert_string_equal(capture_take(&c), "acmed: done\n");
	capture_end(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_counts, teardown),
	        cmocka_unit_test_teardown(test_terminal, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
