/* cmd/fleet_wait.h: the loop run until an answer came or the deadline
 * passed; the reply and an account kept; sleeping. */
#include "cmd/fleet_wait.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	fleet_wait_on_reply(&(struct cluster_reply){.rc = CLUSTER_BUSY, .message = "held"},
	                    w->data);
}

static void
test_answer_then_deadline(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fleet_wait w8;
	ev_timer soon;
	ev_tstamp start;

	(void)state;
	memset(&w8, 0, sizeof(w8));
	ev_timer_init(&soon, on_soon, 0.05, 0.0);
	soon.data = &w8;
	ev_timer_start(loop, &soon);
	fleet_wait_run(loop, &w8, fleet_wait_done, &w8, 5.0);
	assert_true(w8.done);
	assert_false(w8.timed_out);
	assert_int_equal(w8.r.rc, CLUSTER_BUSY);
	assert_string_equal(w8.r.message, "held");
	assert_ptr_equal(w8.r.message, w8.message);

	/* Nothing answers: the deadline. */
	memset(&w8, 0, sizeof(w8));
	ev_now_update(loop);
	start = ev_now(loop);
	fleet_wait_run(loop, &w8, fleet_wait_done, &w8, 0.1);
	ev_now_update(loop);
	assert_false(w8.done);
	assert_true(w8.timed_out);
	assert_true(ev_now(loop) - start >= 0.09);

	start = ev_now(loop);
	fleet_wait_sleep(loop, 0.1);
	ev_now_update(loop);
	assert_true(ev_now(loop) - start >= 0.09);
	ev_loop_destroy(loop);
}

static void
test_account_kept(void **state)
{
	struct fleet_wait w8;

	(void)state;
	memset(&w8, 0, sizeof(w8));
	fleet_wait_on_account(&(struct cluster_reply){.rc = CLUSTER_OK, .message = NULL},
	                      "-----BEGIN PRIVATE KEY-----", "{}", &w8);
	assert_true(w8.done);
	assert_string_equal(w8.message, "");
	assert_string_equal(w8.key_pem, "-----BEGIN PRIVATE KEY-----");
	assert_string_equal(w8.json, "{}");
	fleet_wait_finish(&w8);

	memset(&w8, 0, sizeof(w8));
	fleet_wait_on_account(&(struct cluster_reply){.rc = CLUSTER_OK, .message = ""}, NULL, NULL,
	                      &w8);
	assert_null(w8.key_pem);
	assert_null(w8.json);
	fleet_wait_finish(&w8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_answer_then_deadline),
	        cmocka_unit_test(test_account_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
