#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "schedule.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ari_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
