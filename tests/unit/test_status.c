#include "renew/status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "store/store_cert.h"

static void
test_last_error(void **state)
{
	struct state st;

	(void)state;
	state_init(&st);
	assert_null(status_last_error(&st));
	st.last_error = (char *)"www: order failed";
	assert_ptr_equal(status_last_error(&st), st.last_error);
	/* A deploy error counts only while its deploy is pending. */
	st.deploy_error = (char *)"exit 3: cannot reload";
	assert_ptr_equal(status_last_error(&st), st.last_error);
	st.deploy_pending = true;
	assert_ptr_equal(status_last_error(&st), st.deploy_error);
	/* Pending without an error of its own (owed after a crash): the last
	 * one recorded. */
	st.deploy_error = NULL;
	assert_ptr_equal(status_last_error(&st), st.last_error);
	st.last_error = NULL;
	assert_null(status_last_error(&st));
	st.deploy_error = (char *)"exit 1";
	assert_ptr_equal(status_last_error(&st), st.deploy_error);
}

static void
decide(struct policy_decision *d, enum policy_action action, enum policy_reason reason, time_t when,
       const char *why)
{
	memset(d, 0, sizeof(*d));
	d->action = action;
	d->reason = reason;
	d->when = when;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

static void
test_row_fill(void **state)
{
	static char *domains[] = {(char *)"example.com", (char *)"www.example.com"};
	struct conf_settings s;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.domains = domains;
	s.n_domains = 2;
	policy_view_init(&v);
	v.info.present = true;
	v.info.not_after = 1800000000;
	v.st.attempts = 3;
	v.st.last_error = (char *)"www: order failed";
	v.st.deploy_pending = true;
	v.st.deploy_error = (char *)"exit 3: cannot reload";
	decide(&d, POLICY_WAIT, POLICY_BACKOFF, 1700000123, "held after 3 failures");
	memset(&row, 0x5a, sizeof(row));
	status_row_fill(&row, "www", &s, &v, &d);
	assert_string_equal(row.cert, "www");
	/* Borrowed, not copied. */
	assert_ptr_equal(row.domains, domains);
	assert_int_equal(row.n_domains, 2);
	assert_int_equal(row.not_after, 1800000000);
	assert_int_equal(row.next, 1700000123);
	assert_int_equal(row.attempts, 3);
	assert_ptr_equal(row.last_error, v.st.deploy_error);
	assert_ptr_equal(row.why, d.why);
	/* Whether a job runs is the caller's to say. */
	assert_false(row.running);
}

static void
test_row_fill_nothing_installed(void **state)
{
	struct conf_settings s;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;

	(void)state;
	memset(&s, 0, sizeof(s));
	policy_view_init(&v);
	decide(&d, POLICY_ORDER, POLICY_MISSING, 1700000000, "no certificate installed");
	memset(&row, 0x5a, sizeof(row));
	status_row_fill(&row, "new", &s, &v, &d);
	assert_string_equal(row.cert, "new");
	assert_int_equal(row.n_domains, 0);
	assert_int_equal(row.not_after, 0);
	assert_int_equal(row.next, 1700000000);
	assert_int_equal(row.attempts, 0);
	assert_null(row.last_error);
	assert_string_equal(row.why, "no certificate installed");
	assert_false(row.running);
}

/* dns-persist-01: persistUntil is shown for that challenge only, and
 * warned about from 30 days before it on. */
static void
test_persist_until(void **state)
{
	const time_t now = 1800000000;
	struct conf_settings s;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;
	char buf[512];

	(void)state;
	memset(&s, 0, sizeof(s));
	policy_view_init(&v);
	v.st.persist_until = now + 10 * 86400;
	decide(&d, POLICY_WAIT, POLICY_NOT_DUE, now + 86400, "valid until");
	s.challenge = CONF_CHALLENGE_DNS01;
	status_row_fill(&row, "www", &s, &v, &d);
	assert_int_equal(row.persist_until, 0);
	assert_null(status_persist_warning(&row, now, buf, sizeof(buf)));
	s.challenge = CONF_CHALLENGE_DNSPERSIST01;
	status_row_fill(&row, "www", &s, &v, &d);
	assert_int_equal(row.persist_until, now + 10 * 86400);
	assert_ptr_equal(status_persist_warning(&row, now, buf, sizeof(buf)), buf);
	assert_string_equal(buf,
	                    "the dns-persist-01 record's persistUntil is 2027-01-25T08:00:00Z, "
	                    "in 10 days: create the record `acmed dns-persist NAME` prints "
	                    "before");
	/* 30 days ahead warns, 31 does not. */
	row.persist_until = now + STATUS_PERSIST_WARN_S;
	assert_non_null(status_persist_warning(&row, now, buf, sizeof(buf)));
	row.persist_until = now + STATUS_PERSIST_WARN_S + 1;
	assert_null(status_persist_warning(&row, now, buf, sizeof(buf)));
	row.persist_until = now;
	assert_non_null(status_persist_warning(&row, now, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "persistUntil passed (2027-01-15T08:00:00Z): the next "
	                            "validation fails"));
	row.persist_until = 0;
	assert_null(status_persist_warning(&row, now, buf, sizeof(buf)));
}

/* The four outcomes, and what decides between them. */
static void
test_row_state(void **state)
{
	const time_t now = 1800000000;
	struct status_row row;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.next = now + 60;
	assert_string_equal(status_row_state(&row, true, now), "ok");
	row.next = 0;
	assert_string_equal(status_row_state(&row, true, now), "ok");
	row.next = now;
	assert_string_equal(status_row_state(&row, true, now), "due");
	row.attempts = 1;
	row.next = now + 60;
	assert_string_equal(status_row_state(&row, true, now), "failing");
	/* An error while due is failing; while not due it is no failing. */
	row.attempts = 0;
	row.last_error = "pre-hook: exit 1";
	assert_string_equal(status_row_state(&row, true, now), "ok");
	row.next = now - 1;
	assert_string_equal(status_row_state(&row, true, now), "failing");
	row.last_error = "";
	assert_string_equal(status_row_state(&row, true, now), "due");
	/* Unconfigured wins, but only with a configuration to compare. */
	row.unconfigured = true;
	row.attempts = 4;
	assert_string_equal(status_row_state(&row, true, now), "unconfigured");
	assert_string_equal(status_row_state(&row, false, now), "failing");
}

/* row written at now, parsed by Jansson (a new reference); *text the
 * text (free()). */
static json_t *
row_json(const struct status_row *row, const char *state_dir, bool have_config, time_t now,
         char **text)
{
	struct buf b;
	json_error_t err;
	json_t *v;

	buf_init(&b, 1 << 16);
	status_row_write(&b, row, state_dir, have_config, now);
	*text = buf_steal(&b, NULL);
	assert_non_null(*text);
	v = json_loads(*text, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		fail_msg("%s: %s", *text, err.text);
	}
	assert_true(json_is_object(v));
	return v;
}

static long long
member_int(const json_t *v, const char *key)
{
	const json_t *m = json_object_get(v, key);

	assert_true(json_is_integer(m));
	return json_integer_value(m);
}

static const char *
member_string(const json_t *v, const char *key)
{
	const json_t *m = json_object_get(v, key);

	assert_true(json_is_string(m));
	return json_string_value(m);
}

static void
test_row_write(void **state)
{
	static char *domains[] = {(char *)"example.com", (char *)"www.example.com"};
	static const struct {
		const char *key;
		enum store_cert_file file;
	} files[] = {
	        {"cert", STORE_CERT_CERT},
	        {"chain", STORE_CERT_CHAIN},
	        {"fullchain", STORE_CERT_FULLCHAIN},
	        {"privkey", STORE_CERT_PRIVKEY},
	};
	const time_t now = 1800000000;
	struct status_row row;
	const json_t *paths;
	char warning[512];
	char *text;
	json_t *v;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.cert = "www";
	row.domains = domains;
	row.n_domains = 2;
	row.installed = true;
	row.not_after = now + 10 * 86400 + 3600;
	row.not_before = now - 50 * 86400;
	row.key_type = "";
	row.next = now + 600;
	row.attempts = 2;
	row.last_error = "www: order https://ca.test/o/1: \"rejected\"";
	row.why = "held after 2 failures";
	row.ca = "https://ca.test/dir";
	row.running = true;
	row.persist_until = now + 12 * 86400;
	row.problem = "the key does not match cert.pem";
	v = row_json(&row, "/var/lib/acmed", true, now, &text);
	assert_memory_equal(text, "{\"cert\":\"www\",", 14);
	assert_string_equal(member_string(v, "cert"), "www");
	assert_int_equal(json_array_size(json_object_get(v, "domains")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "domains"), 0)),
	                    "example.com");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "domains"), 1)),
	                    "www.example.com");
	assert_string_equal(member_string(v, "state"), "failing");
	assert_int_equal(member_int(v, "attempts"), 2);
	assert_string_equal(member_string(v, "last_error"), row.last_error);
	assert_int_equal(member_int(v, "not_after"), row.not_after);
	assert_int_equal(member_int(v, "days_left"), 10);
	assert_int_equal(member_int(v, "next"), now + 600);
	assert_string_equal(member_string(v, "why"), row.why);
	assert_true(json_is_true(json_object_get(v, "running")));
	assert_true(json_is_true(json_object_get(v, "configured")));
	assert_true(json_is_true(json_object_get(v, "installed")));
	assert_true(json_is_null(json_object_get(v, "key_type")));
	assert_true(json_is_null(json_object_get(v, "issuer")));
	assert_string_equal(member_string(v, "problem"), row.problem);
	paths = json_object_get(v, "paths");
	assert_int_equal(json_object_size(paths), 4);
	for (size_t i = 0; i < 4; i++) {
		char *want = store_cert_path("/var/lib/acmed", "www", files[i].file);

		assert_non_null(want);
		assert_int_equal(strncmp(want, "/var/lib/acmed/", 15), 0);
		assert_string_equal(member_string(paths, files[i].key), want);
		free(want);
	}
	assert_string_equal(member_string(v, "ca"), "https://ca.test/dir");
	assert_true(json_is_null(json_object_get(v, "ca_fallback")));
	assert_int_equal(member_int(v, "persist_until"), now + 12 * 86400);
	assert_non_null(status_persist_warning(&row, now, warning, sizeof(warning)));
	assert_string_equal(member_string(v, "warning"), warning);
	/* Nothing else. */
	assert_int_equal(json_object_size(v), 20);
	json_decref(v);
	free(text);

	/* No problem, no error, no persistUntil: those members go or are
	 * null; a set key type and issuer show. */
	row.problem = "";
	row.last_error = NULL;
	row.persist_until = 0;
	row.attempts = 0;
	row.key_type = "ec-p256";
	row.issuer = "CN=Test CA";
	v = row_json(&row, "/var/lib/acmed", true, now, &text);
	assert_null(json_object_get(v, "problem"));
	assert_null(json_object_get(v, "last_error"));
	assert_null(json_object_get(v, "warning"));
	assert_true(json_is_null(json_object_get(v, "persist_until")));
	assert_string_equal(member_string(v, "key_type"), "ec-p256");
	assert_string_equal(member_string(v, "issuer"), "CN=Test CA");
	assert_string_equal(member_string(v, "state"), "ok");
	assert_int_equal(json_object_size(v), 17);
	json_decref(v);
	free(text);
}

/* Whole days left, rounded down: negative once expired. */
static void
test_row_write_days_left(void **state)
{
	static const struct {
		time_t left;
		long long days;
	} cases[] = {
	        {10 * 86400, 10}, {86400, 1},       {86399, 0},           {1, 0},
	        {0, 0},           {-1, -1},         {-86399, -1},         {-86400, -1},
	        {-86401, -2},     {-2 * 86400, -2}, {-3 * 86400 - 5, -4},
	};
	const time_t now = 1800000000;
	struct status_row row;
	char *text;
	json_t *v;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.cert = "www";
	row.installed = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		row.not_after = now + cases[i].left;
		v = row_json(&row, NULL, true, now, &text);
		if (member_int(v, "days_left") != cases[i].days) {
			fail_msg("%lld s left: %lld days, not %lld", (long long)cases[i].left,
			         member_int(v, "days_left"), cases[i].days);
		}
		json_decref(v);
		free(text);
	}
	/* Nothing installed: no days. */
	row.installed = false;
	row.not_after = 0;
	v = row_json(&row, NULL, true, now, &text);
	assert_true(json_is_null(json_object_get(v, "days_left")));
	assert_true(json_is_false(json_object_get(v, "installed")));
	json_decref(v);
	free(text);
}

static void
test_row_write_unconfigured(void **state)
{
	const time_t now = 1800000000;
	struct status_row row;
	char *text;
	json_t *v;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.cert = "old";
	row.unconfigured = true;
	row.next = now;
	v = row_json(&row, "/srv/acmed", true, now, &text);
	assert_string_equal(member_string(v, "state"), "unconfigured");
	assert_true(json_is_false(json_object_get(v, "configured")));
	assert_int_equal(json_array_size(json_object_get(v, "domains")), 0);
	assert_non_null(json_object_get(v, "paths"));
	json_decref(v);
	free(text);
	/* No configuration to compare with: the state is computed. */
	v = row_json(&row, "/srv/acmed", false, now, &text);
	assert_string_equal(member_string(v, "state"), "due");
	assert_true(json_is_false(json_object_get(v, "configured")));
	json_decref(v);
	free(text);
	/* No state folder: no paths. */
	v = row_json(&row, NULL, false, now, &text);
	assert_null(json_object_get(v, "paths"));
	assert_string_equal(member_string(v, "why"), "");
	json_decref(v);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_last_error),
	        cmocka_unit_test(test_row_fill),
	        cmocka_unit_test(test_row_fill_nothing_installed),
	        cmocka_unit_test(test_persist_until),
	        cmocka_unit_test(test_row_state),
	        cmocka_unit_test(test_row_write),
	        cmocka_unit_test(test_row_write_days_left),
	        cmocka_unit_test(test_row_write_unconfigured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
