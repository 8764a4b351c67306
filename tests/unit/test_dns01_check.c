#include "challenge/dns01_check.h"

#include "challenge/dns01_check_test.h"

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

#include "base/log.h"
#include "capture.h"
#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 30.

#define NAME "_acme-challenge.www.a.example"
#define VALUE "GfYkV6pmHWFPa2Sx1p3a9H_zbUh2mGVQBNU0czzJMzo"
#define SOA_DATA "ns1.a.example hostmaster.a.example 7"
#define NS1_ADDR "127.0.0.11"
#define NS2_ADDR "127.0.0.12"

/* The resolver: the zone a.example, its two name servers. NOTIMP for all
 * of d.example, where the TXT is served without AA (challtestsrv). */
static const struct dns_server_entry resolver_table[] = {
        {NAME, DNS_TYPE_SOA, .authority = {{"a.example", DNS_TYPE_SOA, SOA_DATA}}},
        {"a.example", DNS_TYPE_NS,
         .answer = {{"a.example", DNS_TYPE_NS, "ns1.a.example"},
                    {"a.example", DNS_TYPE_NS, "ns2.a.example"}}},
        {"ns1.a.example", DNS_TYPE_A, .answer = {{"ns1.a.example", DNS_TYPE_A, NS1_ADDR}}},
        {"ns1.a.example", DNS_TYPE_AAAA, .rcode = DNS_RCODE_NOERROR},
        {"ns2.a.example", DNS_TYPE_A, .answer = {{"ns2.a.example", DNS_TYPE_A, NS2_ADDR}}},
        {"ns2.a.example", DNS_TYPE_AAAA, .rcode = DNS_RCODE_NOERROR},
        {"_acme-challenge.d.example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"d.example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"_acme-challenge.d.example", DNS_TYPE_TXT,
         .answer = {{"_acme-challenge.d.example", DNS_TYPE_TXT, VALUE}}},
        {"_acme-challenge.wrong.d.example", DNS_TYPE_TXT,
         .answer = {{"_acme-challenge.wrong.d.example", DNS_TYPE_TXT, "another"}}},
};

static const struct dns_server_entry ns1_table[] = {
        {NAME, DNS_TYPE_TXT, .aa = true, .answer = {{NAME, DNS_TYPE_TXT, VALUE}}},
};

/* ns2 lags: NODATA until a test gives it the record. */
static struct dns_server_entry ns2_table[] = {
        {NAME, DNS_TYPE_TXT, .aa = true},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server resolver;
	struct dns_server ns1;
	struct dns_server ns2;
	struct dns *dns;
	const char *from[2];
	const char *to[2];
};

struct result {
	size_t calls;
	int rc;
	char message[1024];
};

static void
on_result(int rc, const char *message, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	snprintf(r->message, sizeof(r->message), "%s", message != NULL ? message : "");
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	ns2_table[0].answer[0] = (struct dns_server_rr){NULL, 0, NULL};
	ns2_table[0].aa = true;
	dns_server_start(&f->resolver, f->loop, resolver_table,
	                 sizeof(resolver_table) / sizeof(resolver_table[0]));
	dns_server_start(&f->ns1, f->loop, ns1_table, 1);
	dns_server_start(&f->ns2, f->loop, ns2_table, 1);
	f->from[0] = NS1_ADDR;
	f->from[1] = NS2_ADDR;
	f->to[0] = f->ns1.addr;
	f->to[1] = f->ns2.addr;
	dns01_check_test_redirect(f->from, f->to, 2);
	f->dns = dns_create(f->loop, f->resolver.addr, &err);
	assert_non_null(f->dns);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns01_check_test_redirect(NULL, NULL, 0);
	dns_destroy(f->dns);
	dns_server_stop(&f->resolver);
	dns_server_stop(&f->ns1);
	dns_server_stop(&f->ns2);
	free(f);
	return 0;
}

/* 0.5 s doubling to 8 s, then 8 s. */
static void
test_delay(void **state)
{
	(void)state;
	assert_true(dns01_check_delay(0) == 0.5);
	assert_true(dns01_check_delay(1) == 1.);
	assert_true(dns01_check_delay(2) == 2.);
	assert_true(dns01_check_delay(3) == 4.);
	assert_true(dns01_check_delay(4) == 8.);
	assert_true(dns01_check_delay(5) == 8.);
	assert_true(dns01_check_delay(1000) == 8.);
}

/* Whether every TXT query s got had RD clear. */
static bool
all_direct(const struct dns_server *s)
{
	for (size_t i = 0; i < s->nqueries; i++) {
		if (s->queries[i].type == DNS_TYPE_TXT && s->queries[i].rd) {
			return false;
		}
	}
	return true;
}

/* The zone's two servers are asked directly; the check waits for the one
 * that lags, says so, and ends when it serves the record. */
static void
test_waits_for_lagging(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};
	struct capture c;
	const char *log;

	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_DEBUG, false);
	assert_int_equal(dns01_check_start(f->loop, f->dns, f->resolver.addr, NULL, NAME ".", NULL,
	                                   VALUE, 60., on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &f->ns2.nqueries, 2);
	assert_int_equal(r.calls, 0);
	ns2_table[0].answer[0] = (struct dns_server_rr){NAME, DNS_TYPE_TXT, VALUE};
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	log = capture_take(&c);
	capture_end(&c);
	log_init("acmed", LOG_LEVEL_INFO, false);
	assert_int_equal(r.rc, 0);
	/* ns1 once: it served at the first poll. */
	assert_int_equal(dns_server_count(&f->ns1, NAME, DNS_TYPE_TXT, false), 1);
	assert_true(dns_server_count(&f->ns2, NAME, DNS_TYPE_TXT, false) >= 3);
	assert_true(all_direct(&f->ns1));
	assert_true(all_direct(&f->ns2));
	assert_int_equal(dns_server_count(&f->resolver, NAME, DNS_TYPE_TXT, false), 0);
	assert_non_null(strstr(log, "waiting for 1 of 2 servers: ns2.a.example (" NS2_ADDR
	                            ") (no TXT record)"));
	assert_non_null(strstr(log, "served by all 2 authoritative servers"));
}

/* Past the timeout the check fails naming the server that lags and why; a
 * server that does not answer with AA does not count. */
static void
test_timeout_names_server(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};

	ns2_table[0].answer[0] = (struct dns_server_rr){NAME, DNS_TYPE_TXT, VALUE};
	ns2_table[0].aa = false;
	assert_int_equal(dns01_check_start(f->loop, f->dns, NULL, NULL, NAME, "a.example", VALUE,
	                                   1.5, on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "ns2.a.example (" NS2_ADDR ") (not authoritative): fix"));
	assert_null(strstr(r.message, "ns1.a.example"));
	assert_non_null(strstr(r.message, "dns-propagation-timeout (1.5 s)"));
	/* It answered: nothing to say of dns-propagation-servers. */
	assert_null(strstr(r.message, "dns-propagation-servers"));
	/* The zone was given: no SOA asked. */
	assert_int_equal(dns_server_count(&f->resolver, NAME, DNS_TYPE_SOA, false), 0);
}

/* A server that never answers past the timeout: the failure names the
 * key that points the check at servers on other ports (operator trial:
 * an NS host on port 53 that listens elsewhere). */
static void
test_timeout_server_down(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};

	dns_server_stop(&f->ns2);
	assert_int_equal(dns01_check_start(f->loop, f->dns, NULL, NULL, NAME, "a.example", VALUE,
	                                   1.5, on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "ns2.a.example (" NS2_ADDR ")"));
	assert_non_null(strstr(r.message, "name the ones to ask with dns-propagation-servers"));
}

/* No zone found (NOTIMP): the resolvers are asked directly and their
 * answers without AA are taken. */
static void
test_fallback_resolvers(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};
	struct capture c;
	const char *log;

	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	assert_int_equal(dns01_check_start(f->loop, f->dns, f->resolver.addr, NULL,
	                                   "_acme-challenge.d.example", NULL, VALUE, 30., on_result,
	                                   &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	log = capture_take(&c);
	capture_end(&c);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(log, "asking the resolvers (dns-resolver) instead"));
	assert_int_equal(
	        dns_server_count(&f->resolver, "_acme-challenge.d.example", DNS_TYPE_TXT, false),
	        1);

	memset(&r, 0, sizeof(r));
	assert_int_equal(dns01_check_start(f->loop, f->dns, f->resolver.addr, NULL,
	                                   "_acme-challenge.wrong.d.example", NULL, VALUE, 1.,
	                                   on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "(another value): fix"));
}

/* Asking the resolvers, one of which does not answer at all: those that
 * answer decide, and the one that is down is named, not waited for. */
static void
test_fallback_resolver_down(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};
	struct capture c;
	char resolvers[128];
	const char *log;

	snprintf(resolvers, sizeof(resolvers), "%s 127.0.0.1:1", f->resolver.addr);
	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	assert_int_equal(dns01_check_start(f->loop, f->dns, resolvers, NULL,
	                                   "_acme-challenge.d.example", NULL, VALUE, 30., on_result,
	                                   &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	log = capture_take(&c);
	capture_end(&c);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(log, "not waiting for 127.0.0.1:1"));

	/* Those that answer still have to serve it. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(dns01_check_start(f->loop, f->dns, resolvers, NULL,
	                                   "_acme-challenge.wrong.d.example", NULL, VALUE, 1.,
	                                   on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
}

/* dns-propagation-servers: those servers are asked, directly (RD=0) and
 * with AA required, instead of the zone's NS hosts, which are not looked
 * for at all; one that lags is waited for, one without AA named. */
static void
test_named_servers(void **state)
{
	struct fixture *f = *state;
	struct result r = {0};
	char servers[128];

	dns01_check_test_redirect(NULL, NULL, 0);
	snprintf(servers, sizeof(servers), "%s,%s", f->ns1.addr, f->ns2.addr);
	assert_int_equal(dns01_check_start(f->loop, f->dns, f->resolver.addr, servers, NAME, NULL,
	                                   VALUE, 60., on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &f->ns2.nqueries, 2);
	assert_int_equal(r.calls, 0);
	ns2_table[0].answer[0] = (struct dns_server_rr){NAME, DNS_TYPE_TXT, VALUE};
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, 0);
	assert_int_equal(dns_server_count(&f->ns1, NAME, DNS_TYPE_TXT, false), 1);
	assert_true(all_direct(&f->ns1));
	assert_true(all_direct(&f->ns2));
	/* No zone, no NS, no TXT asked of the resolver. */
	assert_int_equal(f->resolver.nqueries, 0);

	memset(&r, 0, sizeof(r));
	ns2_table[0].aa = false;
	assert_int_equal(dns01_check_start(f->loop, f->dns, NULL, servers, NAME, NULL, VALUE, 1.5,
	                                   on_result, &r, NULL),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &r.calls, 1);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "(not authoritative): fix"));
	assert_non_null(strstr(r.message, f->ns2.addr));
	assert_null(strstr(r.message, f->ns1.addr));
	assert_non_null(strstr(r.message, "dns-propagation-servers"));

	/* An empty list is refused at once. */
	assert_int_equal(dns01_check_start(f->loop, f->dns, NULL, " , ", NAME, NULL, VALUE, 1.,
	                                   on_result, &r, NULL),
	                 -1);
}

/* A cancelled check never calls back. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct dns01_check *c = NULL;
	struct result r = {0};

	assert_int_equal(dns01_check_start(f->loop, f->dns, NULL, NULL, NAME, NULL, VALUE, 10.,
	                                   on_result, &r, &c),
	                 0);
	dns_server_wait_size(f->loop, WAIT_S, &f->ns2.nqueries, 1);
	dns01_check_cancel(c);
	dns01_check_cancel(NULL);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_delay),
	        cmocka_unit_test_setup_teardown(test_waits_for_lagging, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_names_server, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_server_down, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fallback_resolvers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fallback_resolver_down, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_named_servers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
