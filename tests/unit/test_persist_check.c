/* The dns-persist-01 check before the order (renew/persist_check.c)
 * against the test DNS server: records that authorise (a name, a wildcard
 * with policy=wildcard, an issuer written in capitals with a final dot),
 * the refusals in the words of the check at the challenge (no record,
 * another account's, no policy=wildcard, persistUntil passed, an IP
 * address), a SERVFAIL a warning that a refusal outranks; what it will not
 * start on, and a check destroyed in flight. */
#include "renew/persist_check.h"

#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "io/dns_msg.h"
#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 30.

#define ACCT "https://ca.example/acct/1"
#define OWNER(n) "_validation-persist." n

static const struct dns_server_entry table[] = {
        {OWNER("ok.example"), DNS_TYPE_TXT,
         .answer = {{OWNER("ok.example"), DNS_TYPE_TXT, "other.example; accounturi=" ACCT},
                    {OWNER("ok.example"), DNS_TYPE_TXT,
                     "ca.example; accounturi=" ACCT "; persistUntil=4102444800"}}},
        {OWNER("other.example"), DNS_TYPE_TXT,
         .answer = {{OWNER("other.example"), DNS_TYPE_TXT,
                     "ca.example; accounturi=https://ca.example/acct/2"}}},
        {OWNER("old.example"), DNS_TYPE_TXT,
         .answer = {{OWNER("old.example"), DNS_TYPE_TXT,
                     "ca.example; accounturi=" ACCT "; persistUntil=1"}}},
        {OWNER("wild.example"), DNS_TYPE_TXT,
         .answer = {{OWNER("wild.example"), DNS_TYPE_TXT,
                     "ca.example; accounturi=" ACCT "; policy=wildcard"}}},
        {OWNER("fail.example"), DNS_TYPE_TXT, .rcode = DNS_RCODE_SERVFAIL},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server s;
	struct dns *dns;
};

struct result {
	int calls;
	enum persist_check_verdict verdict;
	char summary[1024];
	bool destroy; /* destroys the check inside done */
};

static const char *const issuers[] = {"CA.Example.", "ca2.example"};

static void
on_done(struct persist_check *check, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->verdict = persist_check_verdict(check);
	persist_check_summary(check, r->summary, sizeof(r->summary));
	if (r->destroy) {
		persist_check_destroy(check);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	dns_server_start(&f->s, f->loop, table, sizeof(table) / sizeof(table[0]));
	f->dns = dns_create(f->loop, f->s.addr, &err);
	assert_null(err);
	assert_non_null(f->dns);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_destroy(f->dns);
	dns_server_stop(&f->s);
	free(f);
	return 0;
}

static struct persist_check_request
request(void)
{
	return (struct persist_check_request){
	        .issuers = issuers,
	        .n_issuers = 2,
	        .account_uri = ACCT,
	        .now = (int64_t)time(NULL),
	};
}

/* Checks the names (DNS names, IP addresses as ident_type_of says) with
 * request(); the result in r, the check destroyed inside done. */
static void
check(struct fixture *f, const char *const *names, size_t n, struct result *r)
{
	struct persist_check_request req = request();
	struct ident ids[4];
	struct persist_check *c;
	char why[256];

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		ids[i].type = ident_type_of(names[i]);
		ids[i].value = (char *)names[i];
	}
	memset(r, 0, sizeof(*r));
	r->destroy = true;
	c = persist_check_start(f->loop, f->dns, &req, ids, n, on_done, r, why, sizeof(why));
	assert_non_null(c);
	assert_int_equal(r->calls, 0); /* never from inside start */
	dns_server_wait_int(f->loop, WAIT_S, &r->calls, 1);
	assert_int_equal(r->calls, 1);
	print_message("%s: %s\n", persist_check_verdict_name(r->verdict), r->summary);
}

static void
test_allowed(void **state)
{
	static const char *const names[] = {"ok.example", "*.wild.example", "wild.example"};
	struct fixture *f = *state;
	struct result r;

	check(f, names, 3, &r);
	assert_int_equal(r.verdict, PERSIST_CHECK_ALLOWED);
	assert_string_equal(r.summary,
	                    "dns-persist-01: the records of 3 names authorise the account");
	assert_int_equal(dns_server_count(&f->s, OWNER("ok.example"), DNS_TYPE_TXT, false), 1);
	/* *.NAME is NAME's record (section 5). */
	assert_int_equal(dns_server_count(&f->s, OWNER("wild.example"), DNS_TYPE_TXT, false), 2);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *name;
		const char *want;
	} cases[] = {
	        {"none.example", "dns-persist-01: _validation-persist.none.example: no TXT record: "
	                         "create the record `acmed dns-persist none.example` prints"},
	        {"other.example",
	         "dns-persist-01: _validation-persist.other.example: accounturi is "
	         "\"https://ca.example/acct/2\", not this account's \"" ACCT
	         "\": create the record `acmed dns-persist other.example` prints"},
	        {"*.ok.example",
	         "no policy=wildcard, which a wildcard name needs (section 5): create the "
	         "record `acmed dns-persist ok.example --wildcard` prints"},
	        {"old.example", "persistUntil 1 (1970-01-01T00:00:01Z) has passed"},
	        {"192.0.2.1", "dns-persist-01: 192.0.2.1: dns-persist-01 validates DNS names only"},
	};
	struct fixture *f = *state;
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *names[] = {"ok.example", cases[i].name};

		check(f, names, 2, &r);
		assert_int_equal(r.verdict, PERSIST_CHECK_REFUSED);
		if (strstr(r.summary, cases[i].want) == NULL) {
			fail_msg("%s: '%s' does not hold '%s'", cases[i].name, r.summary,
			         cases[i].want);
		}
		assert_null(strstr(r.summary, "more name"));
	}
	/* Every name decided: the first refusal, and how many more. */
	{
		const char *names[] = {"none.example", "ok.example", "old.example",
		                       "other.example"};

		check(f, names, 4, &r);
		assert_int_equal(r.verdict, PERSIST_CHECK_REFUSED);
		assert_string_equal(r.summary,
		                    "dns-persist-01: _validation-persist.none.example: no TXT "
		                    "record: create the record `acmed dns-persist none.example` "
		                    "prints (and 2 more names)");
	}
}

/* A SERVFAIL says nothing of the record: a warning, unless another name
 * is refused. */
static void
test_unchecked(void **state)
{
	static const char *const failed[] = {"ok.example", "fail.example"};
	static const char *const both[] = {"fail.example", "none.example"};
	struct fixture *f = *state;
	struct result r;

	check(f, failed, 2, &r);
	assert_int_equal(r.verdict, PERSIST_CHECK_UNCHECKED);
	assert_string_equal(r.summary, "dns-persist-01: _validation-persist.fail.example: could "
	                               "not check: TXT lookup: the resolver answered SERVFAIL "
	                               "(dns-resolver)");
	check(f, both, 2, &r);
	assert_int_equal(r.verdict, PERSIST_CHECK_REFUSED);
	assert_non_null(strstr(r.summary, "none.example: no TXT record"));
}

/* Nothing to check against, or nothing to check: no check, and why. */
static void
test_not_started(void **state)
{
	static const char *const bad[] = {"not a name", "-x.example"};
	struct fixture *f = *state;
	struct persist_check_request req = request();
	struct ident id = {IDENT_DNS, (char *)"ok.example"};
	struct result r = {0};
	char why[256];

	assert_null(
	        persist_check_start(f->loop, f->dns, &req, &id, 0, on_done, &r, why, sizeof(why)));
	assert_string_equal(why, "no name");
	req.account_uri = "";
	assert_null(
	        persist_check_start(f->loop, f->dns, &req, &id, 1, on_done, &r, why, sizeof(why)));
	assert_string_equal(why, "no account URL");
	req = request();
	req.issuers = bad;
	assert_null(
	        persist_check_start(f->loop, f->dns, &req, &id, 1, on_done, &r, why, sizeof(why)));
	assert_string_equal(why, "the CA's issuer domain names are not domain names");
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
	assert_int_equal(f->s.nqueries, 0);
}

/* Only IP addresses: decided without a lookup, done from the loop all the
 * same. */
static void
test_no_lookup(void **state)
{
	static const char *const names[] = {"192.0.2.1"};
	struct fixture *f = *state;
	struct result r;

	check(f, names, 1, &r);
	assert_int_equal(r.verdict, PERSIST_CHECK_REFUSED);
	assert_int_equal(f->s.nqueries, 0);
}

static bool
asked(const void *arg)
{
	return ((const struct dns_server *)arg)->nqueries > 0;
}

/* Destroyed before the answer: done is never called. */
static void
test_destroy_in_flight(void **state)
{
	struct fixture *f = *state;
	struct persist_check_request req = request();
	struct ident id = {IDENT_DNS, (char *)"ok.example"};
	struct result r = {0};
	struct persist_check *c;
	char why[256];

	c = persist_check_start(f->loop, f->dns, &req, &id, 1, on_done, &r, why, sizeof(why));
	assert_non_null(c);
	assert_true(dns_server_run_until(f->loop, WAIT_S, asked, &f->s));
	persist_check_destroy(c);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
	persist_check_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unchecked, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_started, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_lookup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
