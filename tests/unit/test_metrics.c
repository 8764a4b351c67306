#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme_counts.h"
#include "base/buf.h"
#include "renew/metrics.h"

/* How many times needle is in hay. */
static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

static void
test_label_value(void **state)
{
	struct buf b;
	char *s;
	size_t len;

	(void)state;
	buf_init(&b, 1024);
	metrics_label_value(&b, "a\"b\\c\nd");
	metrics_label_value(&b, "");
	metrics_label_value(&b, "plain");
	s = buf_steal(&b, &len);
	assert_string_equal(s, "a\\\"b\\\\c\\ndplain");
	free(s);
}

static struct status_row
row_of(const char *cert, time_t not_after)
{
	struct status_row row;

	memset(&row, 0, sizeof(row));
	row.cert = cert;
	row.not_after = not_after;
	row.not_before = not_after != 0 ? not_after - 90 * 86400 : 0;
	row.next = 1700000000;
	row.attempts = 3;
	row.key_type = "ec-p256";
	row.issuer = "Test \"Intermediate\"";
	row.ca = "https://ca.example/dir";
	return row;
}

/* Each family once (HELP and TYPE), its samples together, a time of 0
 * left out rather than shown as 1970. */
static void
test_page(void **state)
{
	struct metrics *m = metrics_begin();
	struct status_row a = row_of("a", 1800000000);
	struct status_row b = row_of("b", 0);
	struct metrics_tally *t = metrics_tally_new();
	const char *fams[] = {"acmed_build_info",           "acmed_certificate_not_after_seconds",
	                      "acmed_certificate_failures", "acmed_certificate_info",
	                      "acmed_renewals_total",       "acmed_orders_in_flight"};
	char *page;
	size_t len;

	(void)state;
	assert_non_null(m);
	assert_non_null(t);
	a.last_success = 1790000000;
	a.ari_start = 1795000000;
	a.ari_end = 1796000000;
	metrics_add_row(m, &a);
	metrics_add_row(m, &b);
	metrics_tally_result(t, JOB_FAILED, 2);
	metrics_tally_result(t, JOB_ISSUED, 5);
	metrics_tally_result(t, JOB_ISSUED, 1);
	metrics_add_tally(m, t);
	metrics_tally_free(t);
	page = metrics_end(m, &len);
	assert_non_null(page);
	assert_int_equal(strlen(page), len);
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "# TYPE %s ", fams[i]);
		assert_int_equal(count(page, line), 1);
		snprintf(line, sizeof(line), "# HELP %s ", fams[i]);
		assert_int_equal(count(page, line), 1);
	}
	assert_non_null(
	        strstr(page, "acmed_certificate_not_after_seconds{cert=\"a\"} 1800000000\n"));
	assert_null(strstr(page, "acmed_certificate_not_after_seconds{cert=\"b\"}"));
	assert_non_null(
	        strstr(page, "acmed_certificate_not_before_seconds{cert=\"a\"} 1792224000\n"));
	assert_non_null(strstr(page, "acmed_certificate_failures{cert=\"a\"} 3\n"));
	assert_non_null(strstr(page, "acmed_certificate_failures{cert=\"b\"} 3\n"));
	assert_non_null(
	        strstr(page, "acmed_certificate_last_success_seconds{cert=\"a\"} 1790000000\n"));
	assert_null(strstr(page, "acmed_certificate_last_success_seconds{cert=\"b\"}"));
	assert_non_null(strstr(page, "acmed_ari_window_start_seconds{cert=\"a\"} 1795000000\n"));
	assert_non_null(strstr(page, "acmed_ari_window_end_seconds{cert=\"a\"} 1796000000\n"));
	assert_null(strstr(page, "acmed_ari_window_start_seconds{cert=\"b\"}"));
	assert_non_null(strstr(page,
	                       "acmed_certificate_info{cert=\"a\",ca=\"https://ca.example/dir\","
	                       "key_type=\"ec-p256\",issuer=\"Test \\\"Intermediate\\\"\"} 1\n"));
	assert_non_null(strstr(page, "acmed_renewals_total{result=\"issued\"} 6\n"));
	assert_non_null(strstr(page, "acmed_renewals_total{result=\"failed\"} 2\n"));
	assert_non_null(strstr(page, "acmed_renewals_total{result=\"renewed\"} 0\n"));
	assert_non_null(strstr(page, "acmed_orders_in_flight 0\n"));
	assert_non_null(strstr(page, "acmed_build_info{version=\""));
	/* The samples of a family follow its TYPE line, before the next
	 * family's HELP. */
	assert_true(strstr(page, "# TYPE acmed_certificate_failures") <
	            strstr(page, "acmed_certificate_failures{cert=\"b\"}"));
	assert_true(strstr(page, "acmed_certificate_failures{cert=\"b\"}") <
	            strstr(page, "# HELP acmed_certificate_info"));
	free(page);
}

/* Nothing ran, no certificate: still a valid page. */
static void
test_empty(void **state)
{
	struct metrics *m = metrics_begin();
	char *page;
	size_t len;

	(void)state;
	metrics_add_tally(m, NULL);
	page = metrics_end(m, &len);
	assert_non_null(page);
	assert_non_null(strstr(page, "acmed_renewals_total{result=\"issued\"} 0\n"));
	assert_null(strstr(page, "acmed_certificate_"));
	free(page);
}

static struct http_response
answer(long status, const char *type, const char *body)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.content_type = type;
	r.body = body;
	r.body_len = strlen(body);
	return r;
}

/* Every answer by status (none: 0), problems by their short type; a body
 * that is no problem document is no problem. */
static void
test_counts(void **state)
{
	static const char problem[] = "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}";
	static const char other[] = "{\"type\":\"https://ca.example/why\"}";
	struct acme_counts *c = calloc(1, sizeof(*c));
	struct acme_counts *sum = calloc(1, sizeof(*sum));
	struct http_response r;
	char body[128];

	(void)state;
	assert_non_null(c);
	assert_non_null(sum);
	r = answer(200, "application/json", "{}");
	acme_counts_add(c, &r);
	r = answer(0, NULL, "");
	acme_counts_add(c, &r);
	r = answer(400, "application/problem+json", problem);
	acme_counts_add(c, &r);
	acme_counts_add(c, &r);
	r = answer(403, "application/problem+json; charset=utf-8", other);
	acme_counts_add(c, &r);
	r = answer(500, "text/html", "<html>");
	acme_counts_add(c, &r);
	r = answer(400, "application/problem+json", "not json");
	acme_counts_add(c, &r);
	assert_int_equal(c->status[200], 1);
	assert_int_equal(c->status[0], 1);
	assert_int_equal(c->status[400], 3);
	assert_int_equal(c->status[403], 1);
	assert_int_equal(c->status[500], 1);
	assert_int_equal(c->n_problems, 2);
	assert_string_equal(c->problems[0].type, "badNonce");
	assert_int_equal(c->problems[0].n, 2);
	assert_string_equal(c->problems[1].type, "https://ca.example/why");
	/* Past ACME_COUNTS_PROBLEMS types, the rest are "other". */
	for (int i = 0; i < ACME_COUNTS_PROBLEMS + 3; i++) {
		snprintf(body, sizeof(body), "{\"type\":\"urn:ietf:params:acme:error:t%d\"}", i);
		r = answer(400, "application/problem+json", body);
		acme_counts_add(c, &r);
	}
	assert_int_equal(c->n_problems, ACME_COUNTS_PROBLEMS);
	assert_int_equal(c->other_problems, 5);
	/* Merged twice: everything doubled. */
	acme_counts_merge(sum, c);
	acme_counts_merge(sum, c);
	assert_int_equal(sum->status[400], 2 * c->status[400]);
	assert_int_equal(sum->n_problems, ACME_COUNTS_PROBLEMS);
	assert_int_equal(sum->problems[0].n, 4);
	assert_int_equal(sum->other_problems, 10);
	free(c);
	free(sum);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_label_value),
	        cmocka_unit_test(test_page),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
