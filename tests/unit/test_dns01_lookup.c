#include "challenge/dns01_lookup.h"

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

#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 20.

#define SOA_DATA "ns1.a.example hostmaster.a.example 7"

static const struct dns_server_entry table[] = {
        /* A chain of two, each step its own answer. */
        {"_acme-challenge.www.a.example", DNS_TYPE_CNAME,
         .answer = {{"_acme-challenge.www.a.example", DNS_TYPE_CNAME, "step.b.example"}}},
        {"step.b.example", DNS_TYPE_CNAME,
         .answer = {{"step.b.example", DNS_TYPE_CNAME, "final.acme.c.example"}}},
        /* A chain given whole in one answer. */
        {"_acme-challenge.one.a.example", DNS_TYPE_CNAME,
         .answer = {{"_acme-challenge.one.a.example", DNS_TYPE_CNAME, "x.b.example"},
                    {"x.b.example", DNS_TYPE_CNAME, "y.b.example"}}},
        /* A loop. */
        {"loop1.a.example", DNS_TYPE_CNAME,
         .answer = {{"loop1.a.example", DNS_TYPE_CNAME, "loop2.a.example"}}},
        {"loop2.a.example", DNS_TYPE_CNAME,
         .answer = {{"loop2.a.example", DNS_TYPE_CNAME, "LOOP1.a.example"}}},
        /* Too long: l0 -> l1 -> ... -> l9. */
        {"l0.a.example", DNS_TYPE_CNAME,
         .answer = {{"l0.a.example", DNS_TYPE_CNAME, "l1.a.example"}}},
        {"l1.a.example", DNS_TYPE_CNAME,
         .answer = {{"l1.a.example", DNS_TYPE_CNAME, "l2.a.example"}}},
        {"l2.a.example", DNS_TYPE_CNAME,
         .answer = {{"l2.a.example", DNS_TYPE_CNAME, "l3.a.example"}}},
        {"l3.a.example", DNS_TYPE_CNAME,
         .answer = {{"l3.a.example", DNS_TYPE_CNAME, "l4.a.example"}}},
        {"l4.a.example", DNS_TYPE_CNAME,
         .answer = {{"l4.a.example", DNS_TYPE_CNAME, "l5.a.example"}}},
        {"l5.a.example", DNS_TYPE_CNAME,
         .answer = {{"l5.a.example", DNS_TYPE_CNAME, "l6.a.example"}}},
        {"l6.a.example", DNS_TYPE_CNAME,
         .answer = {{"l6.a.example", DNS_TYPE_CNAME, "l7.a.example"}}},
        {"l7.a.example", DNS_TYPE_CNAME,
         .answer = {{"l7.a.example", DNS_TYPE_CNAME, "l8.a.example"}}},
        {"l8.a.example", DNS_TYPE_CNAME,
         .answer = {{"l8.a.example", DNS_TYPE_CNAME, "l9.a.example"}}},
        {"fail.a.example", DNS_TYPE_CNAME, .rcode = DNS_RCODE_SERVFAIL},
        /* Zones: the SOA in the answer at the apex; NODATA with the SOA in
         * the authority section below it; NOTIMP everywhere in d.example
         * (as pebble-challtestsrv). */
        {"a.example", DNS_TYPE_SOA, .aa = true, .answer = {{"a.example", DNS_TYPE_SOA, SOA_DATA}}},
        {"_acme-challenge.www.a.example", DNS_TYPE_SOA, .aa = true,
         .authority = {{"a.example", DNS_TYPE_SOA, SOA_DATA}}},
        {"_acme-challenge.d.example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"d.example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        /* An SOA of another zone than the name's is not taken. */
        {"_acme-challenge.e.example", DNS_TYPE_SOA,
         .authority = {{"other.example", DNS_TYPE_SOA, SOA_DATA}}},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server s;
	struct dns *dns;
};

struct result {
	int calls;
	int rc;
	bool null;
	char name[256];
	char message[512];
};

static void
on_result(int rc, const char *name, const char *message, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	r->null = name == NULL;
	snprintf(r->name, sizeof(r->name), "%s", name != NULL ? name : "");
	snprintf(r->message, sizeof(r->message), "%s", message != NULL ? message : "");
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

static void
follow(struct fixture *f, const char *name, struct result *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(dns01_cname_follow(f->dns, name, on_result, r, NULL), 0);
	assert_int_equal(r->calls, 0); /* from the loop only */
	dns_server_wait_int(f->loop, WAIT_S, &r->calls, 1);
	assert_int_equal(r->calls, 1);
}

static void
zone(struct fixture *f, const char *name, struct result *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(dns01_zone_find(f->dns, name, on_result, r, NULL), 0);
	assert_int_equal(r->calls, 0);
	dns_server_wait_int(f->loop, WAIT_S, &r->calls, 1);
	assert_int_equal(r->calls, 1);
}

static void
test_parent(void **state)
{
	(void)state;
	assert_string_equal(dns01_parent("a.b.c"), "b.c");
	assert_string_equal(dns01_parent("c"), "");
	assert_null(dns01_parent(""));
	assert_null(dns01_parent(NULL));
}

/* Chains are followed to the end, step by step or within one answer; a
 * name that is no alias is its own target. */
static void
test_cname_follow(void **state)
{
	struct fixture *f = *state;
	struct result r;

	follow(f, "_acme-challenge.www.a.example.", &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.name, "final.acme.c.example");
	assert_int_equal(dns_server_count(&f->s, "step.b.example", DNS_TYPE_CNAME, false), 1);
	assert_int_equal(dns_server_count(&f->s, "final.acme.c.example", DNS_TYPE_CNAME, false), 1);

	follow(f, "_acme-challenge.one.a.example", &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.name, "y.b.example");
	/* x.b.example was in the answer: not asked. */
	assert_int_equal(dns_server_count(&f->s, "x.b.example", DNS_TYPE_CNAME, false), 0);

	follow(f, "_acme-challenge.plain.a.example.", &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.name, "_acme-challenge.plain.a.example");
}

/* Loops, chains past DNS01_CNAME_MAX and failing resolvers fail. */
static void
test_cname_refused(void **state)
{
	struct fixture *f = *state;
	struct result r;

	follow(f, "loop1.a.example", &r);
	assert_int_equal(r.rc, -1);
	assert_true(r.null);
	assert_non_null(strstr(r.message, "CNAME loop at 'loop1.a.example'"));

	follow(f, "l0.a.example", &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "more than 8 CNAME records in a row"));
	assert_int_equal(dns_server_count(&f->s, "l9.a.example", DNS_TYPE_CNAME, false), 0);

	follow(f, "fail.a.example", &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "SERVFAIL"));
}

/* The zone: the SOA in the answer or the authority section; NOTIMP walks
 * up to the top-level domain and finds none; an unrelated SOA is not
 * taken. */
static void
test_zone_find(void **state)
{
	struct fixture *f = *state;
	struct result r;

	zone(f, "a.example", &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.name, "a.example");

	zone(f, "_acme-challenge.www.a.example.", &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.name, "a.example");

	zone(f, "_acme-challenge.d.example", &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.null);
	assert_non_null(strstr(r.message, "named no zone"));
	assert_int_equal(dns_server_count(&f->s, "example", DNS_TYPE_SOA, false), 1);

	zone(f, "_acme-challenge.e.example", &r);
	assert_true(r.null);
	assert_int_equal(dns_server_count(&f->s, "e.example", DNS_TYPE_SOA, false), 1);
}

/* A dead resolver ends the lookup with a failure, not a zone. */
static void
test_zone_timeout(void **state)
{
	struct fixture *f = *state;
	struct dns *dead;
	struct result r = {0};
	char addr[32];
	char *err = NULL;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", dns_server_dead_port());
	dead = dns_create(f->loop, addr, &err);
	assert_non_null(dead);
	assert_int_equal(dns01_zone_find(dead, "a.example", on_result, &r, NULL), 0);
	dns_server_wait_int(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "gave no answer"));
	dns_destroy(dead);
}

/* A cancelled lookup never calls back. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct dns01_lookup *l = NULL;
	struct result r = {0};
	struct result other = {0};

	assert_int_equal(
	        dns01_cname_follow(f->dns, "_acme-challenge.www.a.example", on_result, &r, &l), 0);
	dns01_lookup_cancel(l);
	dns01_lookup_cancel(NULL);
	follow(f, "x.a.example", &other);
	assert_int_equal(r.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parent),
	        cmocka_unit_test_setup_teardown(test_cname_follow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cname_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_zone_find, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_zone_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
