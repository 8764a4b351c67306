#include "renew/status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_last_error),
	        cmocka_unit_test(test_row_fill),
	        cmocka_unit_test(test_row_fill_nothing_installed),
	        cmocka_unit_test(test_persist_until),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
