/* The dns-persist-01 responder (challenge_persist.c) against the test DNS
 * server: the record that authorises, one of another account, one whose
 * persistUntil passed, a wildcard without policy=wildcard, no record, a
 * resolver that fails; and the tasks it refuses without asking. */
#include "challenge/responders.h"

#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "challenge/select.h"
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
	struct challenge *ch;
};

struct result {
	int calls;
	int rc;
	char message[1024];
};

static const char *const issuers[] = {"ca.example", "ca2.example"};

static void
on_done(int rc, const char *message, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	snprintf(r->message, sizeof(r->message), "%s", message != NULL ? message : "");
}

static void
wait_done(struct fixture *f, struct result *r)
{
	dns_server_wait_int(f->loop, WAIT_S, &r->calls, 1);
	assert_int_equal(r->calls, 1);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct challenge_dns01_opts opts;

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	dns_server_start(&f->s, f->loop, table, sizeof(table) / sizeof(table[0]));
	opts = (struct challenge_dns01_opts){.resolvers = f->s.addr};
	f->ch = challenge_persist_create(f->loop, &opts);
	assert_non_null(f->ch);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	challenge_destroy(f->ch);
	dns_server_stop(&f->s);
	free(f);
	return 0;
}

static struct challenge_task
task_for(const char *name, bool wildcard)
{
	return (struct challenge_task){
	        .cert_name = "t",
	        .id_type = IDENT_DNS,
	        .identifier = name,
	        .wildcard = wildcard,
	        .issuers = issuers,
	        .n_issuers = 2,
	        .account_uri = ACCT,
	};
}

/* Presents task, waits for its end; then cleanup, which succeeds. */
static void
run(struct fixture *f, const struct challenge_task *task, struct result *r)
{
	struct result c = {0};

	memset(r, 0, sizeof(*r));
	assert_int_equal(f->ch->ops->present(f->ch, task, on_done, r), 0);
	assert_int_equal(r->calls, 0); /* never from inside present */
	wait_done(f, r);
	assert_int_equal(f->ch->ops->cleanup(f->ch, task, on_done, &c), 0);
	wait_done(f, &c);
	assert_int_equal(c.rc, 0);
}

static void
test_authorizes(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task_for("ok.example", false);
	struct result r;
	int64_t until = 0;

	assert_int_equal(f->ch->ops->type, CHALLENGE_TYPE_DNSPERSIST01);
	assert_string_equal(f->ch->ops->name, "dns-persist");
	assert_int_equal(challenge_persist_until(f->ch, "ok.example", false, &until), -1);
	run(f, &t, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.message, "");
	assert_int_equal(dns_server_count(&f->s, OWNER("ok.example"), DNS_TYPE_TXT, false), 1);
	/* The record that authorised is remembered with its persistUntil. */
	assert_int_equal(challenge_persist_until(f->ch, "OK.example", false, &until), 0);
	assert_int_equal(until, 4102444800);
	assert_int_equal(challenge_persist_until(f->ch, "ok.example", true, &until), -1);
	/* A wildcard's record with policy=wildcard serves the name too. */
	t = task_for("wild.example", true);
	run(f, &t, &r);
	assert_int_equal(r.rc, 0);
	t = task_for("wild.example", false);
	run(f, &t, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(challenge_persist_until(f->ch, "wild.example", true, &until), 0);
	assert_int_equal(until, INT64_MAX);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *name;
		bool wildcard;
		const char *want;
	} cases[] = {
	        {"other.example", false,
	         "dns-persist-01: _validation-persist.other.example: accounturi is "
	         "\"https://ca.example/acct/2\", not this account's \"" ACCT
	         "\": create the record `acmed dns-persist other.example` prints"},
	        {"old.example", false, "persistUntil 1 (1970-01-01T00:00:01Z) has passed"},
	        {"ok.example", true,
	         "no policy=wildcard, which a wildcard name needs (section 5): create the "
	         "record `acmed dns-persist ok.example --wildcard` prints"},
	        {"none.example", false,
	         "dns-persist-01: _validation-persist.none.example: no TXT record: create "
	         "the record `acmed dns-persist none.example` prints"},
	        {"fail.example", false,
	         "dns-persist-01: _validation-persist.fail.example: TXT lookup: the resolver "
	         "answered SERVFAIL (dns-resolver)"},
	};
	struct fixture *f = *state;
	struct challenge_task t;
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = task_for(cases[i].name, cases[i].wildcard);
		run(f, &t, &r);
		assert_int_equal(r.rc, -1);
		assert_int_equal(challenge_persist_until(f->ch, cases[i].name, cases[i].wildcard,
		                                         &(int64_t){0}),
		                 -1);
		if (strstr(r.message, cases[i].want) == NULL) {
			fail_msg("%s: '%s' does not hold '%s'", cases[i].name, r.message,
			         cases[i].want);
		}
	}
}

/* What cannot be looked up fails without a query. */
static void
test_bad_task(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t;
	struct result r;

	t = task_for("192.0.2.1", false);
	t.id_type = IDENT_IP;
	run(f, &t, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.message, "dns-persist-01 validates DNS names only");
	t = task_for("ok.example", false);
	t.n_issuers = 0;
	run(f, &t, &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "no issuer domain name"));
	t = task_for("ok.example", false);
	t.account_uri = NULL;
	run(f, &t, &r);
	assert_int_equal(r.rc, -1);
	assert_int_equal(f->s.nqueries, 0);
}

/* A lookup in flight when the responder goes: its done is never called. */
static void
test_destroy_pending(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task_for("ok.example", false);
	struct result r = {0};

	assert_int_equal(f->ch->ops->present(f->ch, &t, on_done, &r), 0);
	challenge_destroy(f->ch);
	f->ch = NULL;
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
}

/* select.c builds it for challenge = dns-persist-01, with the resolver
 * given. */
static void
test_select(void **state)
{
	struct fixture *f = *state;
	struct conf_settings s;
	struct challenge *ch;
	char *key;

	memset(&s, 0, sizeof(s));
	s.challenge = CONF_CHALLENGE_DNSPERSIST01;
	s.dns_resolver = f->s.addr;
	assert_int_equal(challenge_pick(&s, NULL), CHALLENGE_RESPONDER_DNS_PERSIST);
	key = challenge_key(&s);
	assert_non_null(key);
	assert_non_null(strstr(key, "dns-persist\n"));
	assert_non_null(strstr(key, f->s.addr));
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_DNSPERSIST01);
	assert_string_equal(ch->key, key);
	challenge_destroy(ch);
	free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_authorizes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_task, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_pending, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
