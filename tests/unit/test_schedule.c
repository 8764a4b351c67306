#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "job.h"
#include "schedule.h"

static void
test_backoff_bounds(void **state)
{
	/* First failure: exactly the minimum. */
	assert_int_equal(schedule_backoff(1, 0.0), 60);
	assert_int_equal(schedule_backoff(1, 0.999), 60);
	/* Grows: the cap doubles per failure (full jitter inside it). */
	assert_int_equal(schedule_backoff(2, 0.0), 60);
	assert_int_equal(schedule_backoff(2, 0.5), 90);
	assert_int_equal(schedule_backoff(3, 0.5), 150);
	assert_true(schedule_backoff(5, 0.999) <= 960);
	assert_true(schedule_backoff(5, 0.999) > 900);
	/* Capped at a day however many failures. */
	assert_true(schedule_backoff(30, 0.999) <= 24 * 3600);
	assert_true(schedule_backoff(30, 0.999) > 23 * 3600);
	assert_true(schedule_backoff(1000000, 0.999) <= 24 * 3600);
	/* Out-of-range randomness is treated as 0. */
	assert_int_equal(schedule_backoff(10, 1.5), 60);
	assert_int_equal(schedule_backoff(10, -1), 60);
}

static void
test_ari_time(void **state)
{
	time_t now = 1000000;

	/* A window in the past: at once. */
	assert_int_equal(schedule_ari_time(now - 200, now - 100, now, 0.5), now);
	/* A window years away: inside it. */
	assert_int_equal(schedule_ari_time(now + 100000000, now + 100086400, now, 0.5),
	                 now + 100043200);
	/* A window that began: never before now. */
	assert_int_equal(schedule_ari_time(now - 100, now + 100, now, 0.0), now);
	assert_int_equal(schedule_ari_time(now - 100, now + 100, now, 0.75), now + 50);
}

static void
test_renewal_time(void **state)
{
	time_t nb = 1000000;

	/* 90 days: a third left. */
	assert_int_equal(job_renewal_time(nb, nb + 90 * 86400, 0), nb + 60 * 86400);
	/* Under 10 days: half left. */
	assert_int_equal(job_renewal_time(nb, nb + 40, 0), nb + 20);
	assert_int_equal(job_renewal_time(nb, nb + 6 * 86400, 0), nb + 3 * 86400);
	/* renew-before wins. */
	assert_int_equal(job_renewal_time(nb, nb + 90 * 86400, 30 * 86400), nb + 60 * 86400);
	assert_int_equal(job_renewal_time(nb, nb + 90 * 86400, 7 * 86400), nb + 83 * 86400);
	/* renew-before longer than the lifetime: the usual rule, not a storm. */
	assert_int_equal(job_renewal_time(nb, nb + 40, 3600), nb + 20);
	assert_int_equal(job_renewal_time(nb, nb + 40, 40), nb + 20);
	/* A certificate with a nonsense lifetime is due at its end. */
	assert_int_equal(job_renewal_time(nb, nb - 5, 0), nb - 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_backoff_bounds),
	        cmocka_unit_test(test_ari_time),
	        cmocka_unit_test(test_renewal_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
