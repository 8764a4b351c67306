#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renew/notice.h"

static struct notice
sample(void)
{
	struct notice n;

	memset(&n, 0, sizeof(n));
	n.event = NOTICE_RENEWAL_FAILED;
	n.cert = "www";
	n.message = "www.example: http-01 challenge failed: 403";
	n.not_after = 1800000000; /* 2027-01-15T08:00:00Z */
	n.ca = "https://ca.example/dir";
	n.failures = 2;
	n.host = "web1";
	n.when = 1799000000;
	return n;
}

static void
test_names(void **state)
{
	static const char *const want[] = {"renewal-failed", "expiring",        "renewed",
	                                   "deploy-failed",  "ari-replace-now", "test"};

	(void)state;
	for (int e = 0; e < NOTICE__MAX; e++) {
		assert_string_equal(notice_event_name((enum notice_event)e), want[e]);
	}
	assert_string_equal(notice_event_name(NOTICE__MAX), "unknown");
}

static void
test_json(void **state)
{
	struct notice n = sample();
	char *text = notice_json(&n);
	json_error_t err;
	json_t *o;

	(void)state;
	assert_non_null(text);
	o = json_loads(text, 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "event")), "renewal-failed");
	assert_string_equal(json_string_value(json_object_get(o, "cert")), "www");
	assert_string_equal(json_string_value(json_object_get(o, "message")), n.message);
	assert_string_equal(json_string_value(json_object_get(o, "not_after")),
	                    "2027-01-15T08:00:00Z");
	assert_string_equal(json_string_value(json_object_get(o, "ca")), n.ca);
	assert_int_equal(json_integer_value(json_object_get(o, "failures")), 2);
	assert_string_equal(json_string_value(json_object_get(o, "host")), "web1");
	assert_non_null(json_string_value(json_object_get(o, "time")));
	json_decref(o);
	free(text);
	/* Nothing installed, CA unknown: those keys are left out. */
	n.not_after = 0;
	n.ca = NULL;
	text = notice_json(&n);
	o = json_loads(text, 0, &err);
	assert_null(json_object_get(o, "not_after"));
	assert_null(json_object_get(o, "ca"));
	json_decref(o);
	free(text);
}

/* Slack's incoming webhook: one object, one "text". */
static void
test_slack(void **state)
{
	struct notice n = sample();
	char *text = notice_slack(&n);
	json_error_t err;
	json_t *o = json_loads(text, 0, &err);

	(void)state;
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 1);
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	                    "acmed on web1: www: renewal failed: www.example: http-01 challenge "
	                    "failed: 403");
	json_decref(o);
	free(text);
}

/* The headers are whole lines whatever the fields hold: no header can be
 * added through a message, a name or the address. */
static void
test_email(void **state)
{
	struct notice n = sample();
	const char *body;
	size_t len = 0;
	char *mail;

	(void)state;
	n.cert = "www\nBcc: evil@example.com";
	n.message = "line one\nBcc: evil@example.com";
	mail = notice_email(&n, "ops@example.com\r\nBcc: evil@example.com", &len);
	assert_non_null(mail);
	assert_int_equal(strlen(mail), len);
	body = strstr(mail, "\n\n");
	assert_non_null(body);
	assert_int_equal(strncmp(mail, "To: ops@example.com  Bcc: evil@example.com\n", 43), 0);
	assert_non_null(
	        strstr(mail, "\nSubject: acmed: www Bcc: evil@example.com: renewal failed\n"));
	assert_non_null(strstr(mail, "\nAuto-Submitted: auto-generated\n"));
	/* No header line starts with Bcc before the body. */
	for (const char *p = mail; p < body; p = strchr(p, '\n') + 1) {
		assert_int_not_equal(strncmp(p, "Bcc:", 4), 0);
	}
	assert_non_null(strstr(body, "Expires: 2027-01-15T08:00:00Z\n"));
	assert_non_null(strstr(body, "Failures in a row: 2\n"));
	free(mail);
}

static void
test_env(void **state)
{
	struct notice n = sample();
	char **env = notice_env(&n);
	static const char *const want[] = {
	        "ACMED_EVENT=renewal-failed",
	        "ACMED_CERT_NAME=www",
	        "ACMED_MESSAGE=www.example: http-01 challenge failed: 403",
	        "ACMED_NOT_AFTER=2027-01-15T08:00:00Z",
	        "ACMED_CA=https://ca.example/dir",
	        "ACMED_FAILURES=2",
	        "ACMED_HOST=web1",
	};

	(void)state;
	assert_non_null(env);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(env[i], want[i]);
	}
	assert_null(env[7]);
	notice_env_free(env);
	n.not_after = 0;
	n.ca = NULL;
	env = notice_env(&n);
	assert_string_equal(env[3], "ACMED_NOT_AFTER=");
	assert_string_equal(env[4], "ACMED_CA=");
	notice_env_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names), cmocka_unit_test(test_json),
	        cmocka_unit_test(test_slack), cmocka_unit_test(test_email),
	        cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
