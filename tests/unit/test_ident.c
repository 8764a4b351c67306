/* Identifiers: their type, comparison, sets, and the text of what one set
 * lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ident.h"

static char www[] = "www.example";
static char www_upper[] = "WWW.Example";
static char api[] = "api.example";
static char mail[] = "mail.example";
static char ip6[] = "2001:db8::1";
static char ip6_long[] = "2001:db8:0:0:0:0:0:1";
static char ip4[] = "192.0.2.1";

static void
test_type_and_equal(void **state)
{
	struct ident a = {IDENT_DNS, www};
	struct ident b = {IDENT_DNS, www_upper};
	struct ident c = {IDENT_IP, ip6};
	struct ident d = {IDENT_IP, ip6_long};

	(void)state;
	assert_int_equal(ident_type_of(www), IDENT_DNS);
	assert_int_equal(ident_type_of(ip4), IDENT_IP);
	assert_int_equal(ident_type_of(ip6), IDENT_IP);
	assert_true(ident_equal(&a, &b));
	assert_true(ident_equal(&c, &d));
	assert_false(ident_equal(&a, &c));
}

static void
test_missing_text(void **state)
{
	const struct ident have[] = {{IDENT_DNS, www}, {IDENT_DNS, api}, {IDENT_IP, ip6}};
	const struct ident want[] = {
	        {IDENT_DNS, www_upper}, {IDENT_DNS, mail}, {IDENT_IP, ip6_long}};
	char buf[64] = "";
	char small[12] = "";

	(void)state;
	/* What want drops, then what it adds, the way policy says it. */
	assert_int_equal(ident_missing_text(want, 3, have, 3, "adds ", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "adds mail.example");
	assert_int_equal(ident_missing_text(have, 3, want, 3, "; drops ", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "adds mail.example; drops api.example");

	buf[0] = '\0';
	assert_int_equal(ident_missing_text(have, 3, want, 0, "", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "www.example, api.example, 2001:db8::1");

	buf[0] = '\0';
	assert_int_equal(ident_missing_text(have, 3, have, 3, "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* Cut short when full, still terminated and counted. */
	assert_int_equal(ident_missing_text(have, 3, want, 0, "", small, sizeof(small)), 3);
	assert_string_equal(small, "www.example");
}

static void
test_sets(void **state)
{
	const struct ident a[] = {{IDENT_DNS, www}, {IDENT_IP, ip6}};
	const struct ident b[] = {{IDENT_IP, ip6_long}, {IDENT_DNS, www_upper}};
	const struct ident c[] = {{IDENT_DNS, www}};

	(void)state;
	assert_true(ident_set_equal(a, 2, b, 2));
	assert_false(ident_set_equal(a, 2, c, 1));
	assert_null(ident_first_missing(c, 1, a, 2));
	assert_ptr_equal(ident_first_missing(a, 2, c, 1), &a[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_type_and_equal),
	        cmocka_unit_test(test_missing_text),
	        cmocka_unit_test(test_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
