#include "base/strmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#define MANY 5000

static void
test_empty(void **state)
{
	struct strmap m;

	(void)state;
	strmap_init(&m);
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_remove(&m, "a"));
	assert_int_equal(m.n, 0);
	strmap_finish(&m);
	strmap_finish(&m);
}

static void
test_put_get_replace(void **state)
{
	struct strmap m;
	int one = 1;
	int two = 2;
	int three = 3;

	(void)state;
	strmap_init(&m);
	assert_int_equal(strmap_put(&m, "one", &one), 0);
	assert_int_equal(strmap_put(&m, "two", &two), 0);
	assert_ptr_equal(strmap_get(&m, "one"), &one);
	assert_ptr_equal(strmap_get(&m, "two"), &two);
	assert_null(strmap_get(&m, "on"));
	assert_null(strmap_get(&m, "one "));
	assert_null(strmap_get(&m, ""));
	/* The same key again replaces its value. */
	assert_int_equal(strmap_put(&m, "one", &three), 0);
	assert_int_equal(m.n, 2);
	assert_ptr_equal(strmap_get(&m, "one"), &three);
	assert_ptr_equal(strmap_remove(&m, "one"), &three);
	assert_null(strmap_get(&m, "one"));
	assert_null(strmap_remove(&m, "one"));
	assert_ptr_equal(strmap_get(&m, "two"), &two);
	assert_int_equal(m.n, 1);
	strmap_finish(&m);
}

/* Many keys, growing the table many times, then every other one removed
 * (the backward shift moves the ones after a hole): the others are all
 * still found, the removed ones not, and they can be put back. */
static void
test_many(void **state)
{
	static char keys[MANY][16];
	static int values[MANY];
	struct strmap m;
	size_t i;

	(void)state;
	strmap_init(&m);
	for (i = 0; i < MANY; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		values[i] = (int)i;
		assert_int_equal(strmap_put(&m, keys[i], &values[i]), 0);
	}
	assert_int_equal(m.n, MANY);
	assert_true(m.cap >= MANY);
	for (i = 0; i < MANY; i++) {
		assert_ptr_equal(strmap_get(&m, keys[i]), &values[i]);
	}
	for (i = 0; i < MANY; i += 2) {
		assert_ptr_equal(strmap_remove(&m, keys[i]), &values[i]);
	}
	assert_int_equal(m.n, MANY / 2);
	for (i = 0; i < MANY; i++) {
		if (i % 2 == 0) {
			assert_null(strmap_get(&m, keys[i]));
		} else {
			assert_ptr_equal(strmap_get(&m, keys[i]), &values[i]);
		}
	}
	for (i = 0; i < MANY; i += 2) {
		assert_int_equal(strmap_put(&m, keys[i], &values[i]), 0);
	}
	for (i = 0; i < MANY; i++) {
		assert_ptr_equal(strmap_get(&m, keys[i]), &values[i]);
	}
	/* Emptied completely, in another order. */
	for (i = MANY; i-- > 0;) {
		assert_ptr_equal(strmap_remove(&m, keys[i]), &values[i]);
	}
	assert_int_equal(m.n, 0);
	for (i = 0; i < MANY; i++) {
		assert_null(strmap_get(&m, keys[i]));
	}
	strmap_finish(&m);
}

/* A full run of slots wrapping round the end of a small table: removing
 * from the middle of it keeps every other key reachable. */
static void
test_wrapping_runs(void **state)
{
	char keys[12][8];
	int values[12];
	struct strmap m;

	(void)state;
	for (int round = 0; round < 12; round++) {
		strmap_init(&m);
		for (int i = 0; i < 12; i++) {
			snprintf(keys[i], sizeof(keys[i]), "%c%d", 'a' + i, i);
			values[i] = i;
			assert_int_equal(strmap_put(&m, keys[i], &values[i]), 0);
		}
		assert_int_equal(m.cap, 16);
		assert_ptr_equal(strmap_remove(&m, keys[round]), &values[round]);
		for (int i = 0; i < 12; i++) {
			if (i == round) {
				assert_null(strmap_get(&m, keys[i]));
			} else {
				assert_ptr_equal(strmap_get(&m, keys[i]), &values[i]);
			}
		}
		strmap_finish(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_put_get_replace),
	        cmocka_unit_test(test_many),
	        cmocka_unit_test(test_wrapping_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
