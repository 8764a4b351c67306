/* The readers the ACME parsers share: each member checked for type, length
 * and shape as it is copied out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme_json.h"

static json_t *
load(const char *text)
{
	char err[128];
	json_t *root = acme_json_load(text, strlen(text), err, sizeof(err));

	assert_non_null(root);
	return root;
}

static void
test_load(void **state)
{
	char err[128];

	(void)state;
	assert_null(acme_json_load("[1]", 3, err, sizeof(err)));
	assert_string_equal(err, "not a JSON object");
	/* Duplicate keys are refused: which one would count is unclear. */
	assert_null(acme_json_load("{\"a\":1,\"a\":2}", 13, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON"));
	assert_null(acme_json_load("{", 1, NULL, 0));
}

static void
test_strings_and_urls(void **state)
{
	json_t *root =
	        load("{\"s\":\"ab\",\"n\":1,\"u\":\"http://x.test/\",\"h\":\"https://x.test/a\","
	             "\"l\":[\"https://x.test/1\",\"https://x.test/2\"]}");
	char err[128];
	char *out = NULL;
	char **list = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(acme_json_string(root, "s", 2, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "ab");
	free(out);
	assert_int_equal(acme_json_string(root, "s", 1, &out, err, sizeof(err)), -1);
	assert_int_equal(acme_json_string(root, "n", 10, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "'n' is not a string");
	assert_int_equal(acme_json_string(root, "missing", 10, &out, err, sizeof(err)), 0);
	assert_null(out);
	assert_int_equal(acme_json_url(root, "u", false, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "'u' is not an https URL");
	assert_null(out);
	assert_int_equal(acme_json_url(root, "h", true, &out, err, sizeof(err)), 0);
	free(out);
	assert_int_equal(acme_json_url(root, "missing", true, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "'missing' is missing");
	assert_int_equal(acme_json_strings(root, "l", 2, true, &list, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1], "https://x.test/2");
	acme_json_strings_free(list, n);
	assert_int_equal(acme_json_strings(root, "l", 1, true, &list, &n, err, sizeof(err)), -1);
	assert_null(list);
	assert_int_equal(n, 0);
	json_decref(root);
}

static void
test_time(void **state)
{
	json_t *root = load("{\"a\":\"2026-01-02T03:04:05Z\",\"b\":\"2026-01-02T05:04:05.5+02:00\","
	                    "\"c\":\"2026-02-31T00:00:00Z\",\"d\":\"2026-1-2T03:04:05Z\","
	                    "\"e\":\"2016-12-31T23:59:60Z\"}");
	char err[128];
	time_t a = 0;
	time_t t = 0;

	(void)state;
	assert_int_equal(acme_json_time(root, "a", true, &a, err, sizeof(err)), 0);
	assert_int_equal(a, 1767323045);
	assert_int_equal(acme_json_time(root, "b", true, &t, err, sizeof(err)), 0);
	assert_int_equal(t, a);
	/* Not a date, not RFC 3339's shape. */
	assert_int_equal(acme_json_time(root, "c", true, &t, err, sizeof(err)), -1);
	assert_int_equal(acme_json_time(root, "d", true, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "'d' is not an RFC 3339 time");
	/* A leap second is the next second. */
	assert_int_equal(acme_json_time(root, "e", true, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 1483228800);
	assert_int_equal(acme_json_time(root, "missing", false, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 0);
	json_decref(root);
}

static void
test_ident(void **state)
{
	json_t *root = load("{\"a\":{\"type\":\"dns\",\"value\":\"*.a.test\"},"
	                    "\"b\":{\"type\":\"dns\",\"value\":\"a.test;rm\"},"
	                    "\"c\":{\"type\":\"ip\",\"value\":\"::1\"},"
	                    "\"d\":{\"type\":\"ip\",\"value\":\"a.test\"},"
	                    "\"e\":{\"type\":\"email\",\"value\":\"x@a.test\"},"
	                    "\"f\":{\"type\":\"dns\"}}");
	struct ident id;
	char err[128];

	(void)state;
	assert_int_equal(acme_json_ident(json_object_get(root, "a"), &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IDENT_DNS);
	assert_string_equal(id.value, "*.a.test");
	acme_json_ident_finish(&id);
	assert_int_equal(acme_json_ident(json_object_get(root, "b"), &id, err, sizeof(err)), -1);
	assert_string_equal(err, "identifier with a bad character");
	assert_int_equal(acme_json_ident(json_object_get(root, "c"), &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IDENT_IP);
	acme_json_ident_finish(&id);
	assert_int_equal(acme_json_ident(json_object_get(root, "d"), &id, err, sizeof(err)), -1);
	assert_int_equal(acme_json_ident(json_object_get(root, "e"), &id, err, sizeof(err)), 0);
	assert_int_equal(id.type, IDENT_UNKNOWN);
	acme_json_ident_finish(&id);
	assert_int_equal(acme_json_ident(json_object_get(root, "f"), &id, err, sizeof(err)), -1);
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_load),
	        cmocka_unit_test(test_strings_and_urls),
	        cmocka_unit_test(test_time),
	        cmocka_unit_test(test_ident),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
