/* Problem documents: parsed, named and formatted as one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme_problem.h"
#include "fixture.h"

static void
test_problem(void **state)
{
	struct acme_problem p;
	char err[128];
	char msg[512];
	size_t len;
	char *body = fixture_read("acme", "problem-rejected.json", &len);

	assert_int_equal(acme_problem_parse(body, len, &p, err, sizeof(err)), 0);
	assert_true(acme_problem_is(&p, "rejectedIdentifier"));
	assert_false(acme_problem_is(&p, "badNonce"));
	assert_int_equal(p.status, 400);
	assert_int_equal(p.n_subproblems, 2);
	assert_string_equal(p.subproblems[1].identifier.value, "caa.example.com");
	acme_problem_format(&p, "https://ca.example/new-order", msg, sizeof(msg));
	assert_string_equal(msg, "https://ca.example/new-order: 400: rejectedIdentifier: Error "
	                         "creating new order :: 2 identifiers rejected; bad.example.com: "
	                         "rejectedIdentifier: blocked name; caa.example.com: caa: CAA "
	                         "forbids");
	acme_problem_finish(&p);
	free(body);

	body = fixture_read("acme", "problem-tos.json", &len);
	assert_int_equal(acme_problem_parse(body, len, &p, err, sizeof(err)), 0);
	acme_problem_format(&p, NULL, msg, sizeof(msg));
	assert_string_equal(msg, "403: userActionRequired: Terms of service have changed (see "
	                         "https://ca.example/terms/2)");
	acme_problem_finish(&p);
	free(body);
}

static void
test_problem_format_sanitizes(void **state)
{
	struct acme_problem p;
	char err[128];
	char msg[64];
	const char *body = "{\"type\":\"about:blank\",\"detail\":\"two\\nlines\\u001b[31m\"}";

	assert_int_equal(acme_problem_parse(body, strlen(body), &p, err, sizeof(err)), 0);
	acme_problem_format(&p, NULL, msg, sizeof(msg));
	assert_string_equal(msg, "about:blank: two lines [31m");
	/* Truncated, still terminated. */
	acme_problem_format(&p, "https://a-very-long-url.example/with/a/long/path/and/more", msg,
	                    16);
	assert_int_equal(strlen(msg), 15);
	acme_problem_finish(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_problem),
	        cmocka_unit_test(test_problem_format_sanitizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
