#include "base/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
test_grows(void **state)
{
	struct buf b;
	char chunk[100];
	char *s;
	size_t len = 0;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_null(b.data);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
	}
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 100000);
	assert_int_equal(strlen(s), 100000);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
	buf_finish(&b);
}

static void
test_empty_steal(void **state)
{
	struct buf b;
	char *s;
	size_t len = 7;

	(void)state;
	buf_init(&b, 10);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

/* Past the cap: the add fails, and so does every one after it, and the
 * contents are lost at the steal. */
static void
test_cap_sticks(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_add(&b, "12345", 5), 0);
	assert_int_equal(buf_add(&b, "123", 3), 0);
	assert_string_equal(b.data, "12345123");
	assert_int_equal(buf_add(&b, "x", 1), -1);
	assert_true(b.failed);
	assert_int_equal(buf_add(&b, "", 0), -1);
	assert_int_equal(b.len, 8);
	assert_null(buf_steal(&b, NULL));
	assert_null(b.data);
	/* Finished, it can be used again with the same cap. */
	assert_int_equal(b.max, 8);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	buf_finish(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_grows),
	        cmocka_unit_test(test_empty_steal),
	        cmocka_unit_test(test_cap_sticks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
