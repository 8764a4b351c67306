#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "store/notified.h"
#include "tmpdir.h"

static int
setup(void **state)
{
	char *dir = tmpdir_make("test_notified");

	*state = dir;
	return dir != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	tmpdir_remove(*state);
	free(*state);
	return 0;
}

/* Claimed once; not again while the last time is at or after unless;
 * again once it is before. Each (certificate, event) apart. */
static void
test_claim(void **state)
{
	const char *dir = *state;

	assert_int_equal(notified_last(dir, "www", "renewal-failed"), 0);
	assert_int_equal(notified_claim(dir, "www", "renewal-failed", 1000, 0, NULL), 1);
	assert_int_equal(notified_last(dir, "www", "renewal-failed"), 1000);
	assert_int_equal(notified_claim(dir, "www", "renewal-failed", 1500, 1000, NULL), 0);
	assert_int_equal(notified_claim(dir, "www", "renewal-failed", 1500, 999, NULL), 0);
	assert_int_equal(notified_claim(dir, "www", "renewed", 1500, 999, NULL), 1);
	assert_int_equal(notified_claim(dir, "api", "renewal-failed", 1500, 999, NULL), 1);
	assert_int_equal(notified_claim(dir, "www", "renewal-failed", 2000, 1001, NULL), 1);
	assert_int_equal(notified_last(dir, "www", "renewal-failed"), 2000);
	notified_forget(dir, "www");
	assert_int_equal(notified_last(dir, "www", "renewal-failed"), 0);
	assert_int_equal(notified_last(dir, "www", "renewed"), 0);
	assert_int_equal(notified_last(dir, "api", "renewal-failed"), 1500);
}

/* A claim given back restores the time before it (or no record); one
 * another process made since stands. */
static void
test_release(void **state)
{
	const char *dir = *state;
	time_t prev = -1;

	assert_int_equal(notified_claim(dir, "www", "renewed", 1000, 0, &prev), 1);
	assert_int_equal(prev, 0);
	notified_release(dir, "www", "renewed", 1000, prev);
	assert_int_equal(notified_last(dir, "www", "renewed"), 0);
	assert_int_equal(notified_claim(dir, "www", "renewed", 2000, 0, &prev), 1);
	assert_int_equal(notified_claim(dir, "www", "renewed", 3000, 2500, &prev), 1);
	assert_int_equal(prev, 2000);
	notified_release(dir, "www", "renewed", 3000, prev);
	assert_int_equal(notified_last(dir, "www", "renewed"), 2000);
	/* Claimed again by another at 4000: a late release of 3000 is moot. */
	assert_int_equal(notified_claim(dir, "www", "renewed", 4000, 3500, &prev), 1);
	notified_release(dir, "www", "renewed", 3000, 2000);
	assert_int_equal(notified_last(dir, "www", "renewed"), 4000);
}

/* A damaged file is started afresh: the event is told (a duplicate is
 * better than silence), and the file is whole again after. */
static void
test_damaged(void **state)
{
	const char *dir = *state;
	char *path = file_path(dir, "notified.json", NULL);

	assert_int_equal(file_write_atomic(path, "{not json", 9, 0644), 0);
	assert_int_equal(notified_claim(dir, "www", "expiring", 1000, 0, NULL), 1);
	assert_int_equal(notified_last(dir, "www", "expiring"), 1000);
	free(path);
}

/* Processes claiming the same event at once: exactly one wins. */
static void
test_claim_races(void **state)
{
	const char *dir = *state;
	pid_t pids[8];
	int won = 0;

	for (size_t i = 0; i < 8; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			_exit(notified_claim(dir, "www", "renewal-failed", 5000, 4000, NULL) == 1
			              ? 0
			              : 1);
		}
	}
	for (size_t i = 0; i < 8; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		won += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	assert_int_equal(won, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_claim_races, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
