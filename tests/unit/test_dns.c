#include "io/dns.h"

#include "io/dns_test.h"

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
#define WAIT_S 10.

#define CHALLENGE "_acme-challenge.a.example"
/* 640 characters: three strings on the wire, more than UDP's 512. */
#define TEXT64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LONG_TXT TEXT64 TEXT64 TEXT64 TEXT64 TEXT64 TEXT64 TEXT64 TEXT64 TEXT64 TEXT64

static const struct dns_server_entry table[] = {
        {CHALLENGE, DNS_TYPE_TXT, .aa = true, .answer = {{CHALLENGE, DNS_TYPE_TXT, "token-1"}}},
        {"big.a.example", DNS_TYPE_TXT, DNS_SERVER_TRUNCATE, .aa = true,
         .answer = {{"big.a.example", DNS_TYPE_TXT, LONG_TXT},
                    {"big.a.example", DNS_TYPE_TXT, "second"}}},
        {"a.example", DNS_TYPE_SOA, .aa = true,
         .answer = {{"a.example", DNS_TYPE_SOA, "ns1.a.example hostmaster.a.example 42"}},
         .authority = {{"a.example", DNS_TYPE_NS, "ns1.a.example"}}},
        {"a.example", DNS_TYPE_CAA, .aa = true,
         .answer = {{"a.example", DNS_TYPE_CAA, "0 issue ca.example"}}},
        {"fail.a.example", DNS_TYPE_TXT, .rcode = DNS_RCODE_SERVFAIL},
        {"refused.a.example", DNS_TYPE_TXT, .rcode = DNS_RCODE_REFUSED},
        {"silent.a.example", DNS_TYPE_TXT, .mode = DNS_SERVER_DROP},
        {"broken.a.example", DNS_TYPE_TXT, DNS_SERVER_MALFORMED, .aa = true,
         .answer = {{"broken.a.example", DNS_TYPE_TXT, "x"}}},
        {"ns1.a.example", DNS_TYPE_A,
         .answer = {{"ns1.a.example", DNS_TYPE_CNAME, "host.a.example"},
                    {"other.a.example", DNS_TYPE_A, "192.0.2.99"},
                    {"host.a.example", DNS_TYPE_A, "192.0.2.1"},
                    {"host.a.example", DNS_TYPE_A, "192.0.2.2"}}},
        {"ns1.a.example", DNS_TYPE_AAAA,
         .answer = {{"ns1.a.example", DNS_TYPE_CNAME, "host.a.example"},
                    {"host.a.example", DNS_TYPE_AAAA, "2001:db8::1"}}},
        {"v4only.a.example", DNS_TYPE_A, .answer = {{"v4only.a.example", DNS_TYPE_A, "192.0.2.7"}}},
        {"v4only.a.example", DNS_TYPE_AAAA, .mode = DNS_SERVER_DROP},
};

struct fixture;

/* What one query's callback got. */
struct call {
	struct fixture *f;
	int calls;
	bool inside; /* called from inside a dns_* call */
	enum dns_status status;
	int rcode;
	bool aa;
	size_t n_answer;
	size_t n_authority;
	char text[1024]; /* the first answer's TXT, target, address or CAA value */
	uint16_t type; /* the first answer's */
	struct dns_addrs addrs;
	bool destroy; /* destroys the dns from inside */
	struct dns_query *cancel; /* cancels that query from inside */
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server a;
	struct dns_server b;
	struct dns *dns;
	bool in_call;
};

static const struct dns_timing fast = {.try_ms = 100, .tries = 2, .deadline = 10.};

static void
on_query(enum dns_status status, int rcode, const struct dns_msg *msg, void *arg)
{
	struct call *c = arg;

	c->calls++;
	c->inside = c->f->in_call;
	c->status = status;
	c->rcode = rcode;
	if (status == DNS_STATUS_OK) {
		assert_non_null(msg);
		assert_int_equal(msg->rcode, rcode);
		c->aa = msg->aa;
		c->n_answer = msg->n_answer;
		c->n_authority = msg->n_authority;
		if (msg->n_answer > 0) {
			const struct dns_rr *rr = &msg->answer[0];

			c->type = rr->type;
			if (rr->type == DNS_TYPE_TXT) {
				snprintf(c->text, sizeof(c->text), "%s", rr->u.txt.data);
			} else if (rr->type == DNS_TYPE_SOA) {
				snprintf(c->text, sizeof(c->text), "%s %u", rr->u.soa.mname,
				         rr->u.soa.serial);
			} else if (rr->type == DNS_TYPE_CAA) {
				snprintf(c->text, sizeof(c->text), "%s %s", rr->u.caa.tag,
				         (const char *)rr->u.caa.value);
			}
		}
	} else {
		assert_null(msg);
		assert_int_equal(rcode, -1);
	}
	if (c->cancel != NULL) {
		dns_cancel(c->cancel);
	}
	if (c->destroy) {
		dns_destroy(c->f->dns);
		c->f->dns = NULL;
	}
}

static void
query(struct fixture *f, const char *name, uint16_t type, int flags, const char *server,
      struct call *c, struct dns_query **handle)
{
	c->f = f;
	f->in_call = true;
	assert_int_equal(dns_query(f->dns, name, type, flags, server, on_query, c, handle), 0);
	f->in_call = false;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	dns_server_start(&f->a, f->loop, table, sizeof(table) / sizeof(table[0]));
	dns_server_start(&f->b, f->loop, table, sizeof(table) / sizeof(table[0]));
	f->dns = dns_create_timed(f->loop, f->a.addr, &fast, &err);
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
	dns_server_stop(&f->a);
	dns_server_stop(&f->b);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Through the resolvers: RD set, the answer parsed, from the loop. */
static void
test_resolver_txt(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};

	query(f, CHALLENGE, DNS_TYPE_TXT, 0, NULL, &c, NULL);
	assert_int_equal(c.calls, 0);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_false(c.inside);
	assert_int_equal(c.status, DNS_STATUS_OK);
	assert_int_equal(c.rcode, DNS_RCODE_NOERROR);
	assert_true(c.aa);
	assert_int_equal(c.n_answer, 1);
	assert_string_equal(c.text, "token-1");
	assert_int_equal(f->a.nqueries, 1);
	assert_true(f->a.queries[0].rd);
	assert_false(f->a.queries[0].tcp);
	assert_string_equal(f->a.queries[0].name, CHALLENGE);
	assert_int_equal(f->b.nqueries, 0);
	assert_int_equal(dns_test_channels(f->dns), 0);
}

/* DNS_NO_RECURSE to one server: RD clear, that server and no other, its
 * channel kept for the next query. */
static void
test_direct_no_recurse(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0};

	query(f, "a.example", DNS_TYPE_SOA, DNS_NO_RECURSE, f->b.addr, &c1, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c1.calls, 1);
	assert_int_equal(c1.status, DNS_STATUS_OK);
	assert_string_equal(c1.text, "ns1.a.example 42");
	assert_int_equal(c1.n_authority, 1);
	assert_int_equal(f->b.nqueries, 1);
	assert_false(f->b.queries[0].rd);
	assert_int_equal(f->a.nqueries, 0);
	assert_int_equal(dns_test_channels(f->dns), 1);

	query(f, "A.Example.", DNS_TYPE_CAA, DNS_NO_RECURSE, f->b.addr, &c2, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c2.calls, 1);
	assert_string_equal(c2.text, "issue ca.example");
	assert_int_equal(dns_test_channels(f->dns), 1);
	assert_int_equal(dns_server_count(&f->b, "a.example", DNS_TYPE_CAA, false), 1);

	/* The resolvers' server asked directly is a channel of its own. */
	query(f, CHALLENGE, DNS_TYPE_TXT, DNS_NO_RECURSE, f->a.addr, &c3, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c3.calls, 1);
	assert_string_equal(c3.text, "token-1");
	assert_false(f->a.queries[0].rd);
	assert_int_equal(dns_test_channels(f->dns), 2);
	assert_int_equal(f->b.nqueries, 2);
}

/* TC over UDP: asked again over TCP, the whole answer passed up. */
static void
test_truncated_tcp(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};

	query(f, "big.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_int_equal(c.status, DNS_STATUS_OK);
	assert_int_equal(c.n_answer, 2);
	assert_string_equal(c.text, LONG_TXT);
	assert_int_equal(dns_server_count(&f->b, "big.a.example", DNS_TYPE_TXT, false), 1);
	assert_int_equal(dns_server_count(&f->b, "big.a.example", DNS_TYPE_TXT, true), 1);
}

/* SERVFAIL, REFUSED and NXDOMAIN come up as answers, asked once. */
static void
test_rcodes(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0};

	query(f, "fail.a.example", DNS_TYPE_TXT, 0, NULL, &c1, NULL);
	query(f, "refused.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c2, NULL);
	query(f, "nothing.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c3, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c1.calls, 1);
	dns_server_wait_int(f->loop, WAIT_S, &c2.calls, 1);
	dns_server_wait_int(f->loop, WAIT_S, &c3.calls, 1);
	assert_int_equal(c1.status, DNS_STATUS_OK);
	assert_int_equal(c1.rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(c2.status, DNS_STATUS_OK);
	assert_int_equal(c2.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(c3.status, DNS_STATUS_OK);
	assert_int_equal(c3.rcode, DNS_RCODE_NXDOMAIN);
	assert_true(c3.aa);
	assert_int_equal(c3.n_answer, 0);
	assert_int_equal(dns_server_count(&f->a, "fail.a.example", DNS_TYPE_TXT, false), 1);
	assert_int_equal(dns_server_count(&f->b, "refused.a.example", DNS_TYPE_TXT, false), 1);
}

/* A server that never answers: each try sent, then a timeout. */
static void
test_timeout(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};

	query(f, "silent.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_int_equal(c.status, DNS_STATUS_TIMEOUT);
	assert_int_equal(c.rcode, -1);
	assert_int_equal(dns_server_count(&f->b, "silent.a.example", DNS_TYPE_TXT, false),
	                 (size_t)fast.tries);
}

/* The deadline ends a query c-ares still tries; destroying the dns then
 * frees it without a second callback. */
static void
test_deadline(void **state)
{
	struct fixture *f = *state;
	static const struct dns_timing slow = {.try_ms = 60000, .tries = 3, .deadline = 0.05};
	struct call c = {0};
	char *err = NULL;

	dns_destroy(f->dns);
	f->dns = dns_create_timed(f->loop, f->a.addr, &slow, &err);
	assert_non_null(f->dns);
	query(f, "silent.a.example", DNS_TYPE_TXT, 0, NULL, &c, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_int_equal(c.status, DNS_STATUS_TIMEOUT);
	assert_int_equal(dns_server_count(&f->a, "silent.a.example", DNS_TYPE_TXT, false), 1);
	dns_destroy(f->dns);
	f->dns = NULL;
	assert_int_equal(c.calls, 1);
}

/* Nothing listens: the ICMP refusal ends the query. */
static void
test_unreachable(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};
	char dead[32];

	snprintf(dead, sizeof(dead), "127.0.0.1:%d", dns_server_dead_port());
	query(f, CHALLENGE, DNS_TYPE_TXT, DNS_NO_RECURSE, dead, &c, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_int_equal(c.status, DNS_STATUS_UNREACHABLE);
}

static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};

	query(f, "broken.a.example", DNS_TYPE_TXT, 0, NULL, &c, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c.calls, 1);
	assert_int_equal(c.status, DNS_STATUS_MALFORMED);
}

/* A cancelled query's callback never comes: not when its answer arrives,
 * not when it was cancelled from another's callback. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0};
	struct dns_query *q1 = NULL, *q3 = NULL;

	query(f, CHALLENGE, DNS_TYPE_TXT, 0, NULL, &c1, &q1);
	assert_non_null(q1);
	dns_cancel(q1);
	query(f, CHALLENGE, DNS_TYPE_TXT, 0, NULL, &c2, NULL);
	query(f, "a.example", DNS_TYPE_SOA, 0, NULL, &c3, &q3);
	c2.cancel = q3;
	dns_server_wait_int(f->loop, WAIT_S, &c2.calls, 1);
	/* A last one, answered after the others. */
	query(f, "a.example", DNS_TYPE_CAA, 0, NULL, &c4, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c4.calls, 1);
	assert_int_equal(dns_server_count(&f->a, "a.example", DNS_TYPE_CAA, false), 1);
	assert_int_equal(c1.calls, 0);
	assert_int_equal(c3.calls, 0);
	assert_int_equal(c2.calls, 1);
	dns_cancel(NULL);
}

/* Destroyed with queries in flight, or from inside a callback: no
 * callback after, nothing leaked (the sanitizers and valgrind look). */
static void
test_destroy_in_flight(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0};

	query(f, "silent.a.example", DNS_TYPE_TXT, 0, NULL, &c1, NULL);
	query(f, "silent.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c2, NULL);
	query(f, CHALLENGE, DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c3, NULL);
	dns_server_wait_size(f->loop, WAIT_S, &f->b.nqueries, 2);
	dns_server_wait_size(f->loop, WAIT_S, &f->a.nqueries, 1);
	dns_destroy(f->dns);
	f->dns = NULL;
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(c1.calls + c2.calls, 0);
}

static void
test_destroy_in_callback(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0};

	query(f, "silent.a.example", DNS_TYPE_TXT, 0, NULL, &c1, NULL);
	query(f, "silent.a.example", DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c2, NULL);
	query(f, CHALLENGE, DNS_TYPE_TXT, DNS_NO_RECURSE, f->b.addr, &c3, NULL);
	c3.destroy = true;
	dns_server_wait_int(f->loop, WAIT_S, &c3.calls, 1);
	assert_null(f->dns);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(c1.calls + c2.calls, 0);
}

/* dns_create's list and dns_query's server: forms taken and refused. */
static void
test_servers(void **state)
{
	struct fixture *f = *state;
	static const char *const good[] = {
	        "192.0.2.1",
	        "192.0.2.1:5353 [2001:db8::1]:53",
	        "2001:db8::1,192.0.2.2",
	        "  [::1]  ",
	};
	static const char *const bad[] = {
	        "",
	        " , ",
	        "192.0.2",
	        "192.0.2.1:0",
	        "192.0.2.1:65536",
	        "192.0.2.1:",
	        "[::1",
	        "[::1]x",
	        "[192.0.2.1]",
	        "ns.example",
	        /* Nine: one too many. */
	        ("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 9.9.9.9"),
	};
	struct call c = {0};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *err = NULL;
		struct dns *d = dns_create(f->loop, good[i], &err);

		if (d == NULL) {
			fail_msg("\"%s\" refused: %s", good[i], err);
		}
		dns_destroy(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct dns *d = dns_create(f->loop, bad[i], &err);

		if (d != NULL) {
			fail_msg("\"%s\" taken", bad[i]);
		}
		assert_non_null(err);
		assert_non_null(strstr(err, "dns-resolver: "));
		free(err);
		c.f = f;
		assert_int_equal(
		        dns_query(f->dns, "a.example", DNS_TYPE_A, 0, bad[i], on_query, &c, NULL),
		        -1);
	}
	/* A name dns_msg_query_build refuses. */
	assert_int_equal(dns_query(f->dns, "a..example", DNS_TYPE_A, 0, NULL, on_query, &c, NULL),
	                 -1);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(c.calls, 0);
}

/* resolv.conf's servers: made, no query needed. */
static void
test_system_resolvers(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	struct dns *d = dns_create(f->loop, NULL, &err);

	assert_non_null(d);
	assert_null(err);
	dns_destroy(d);
	dns_destroy(NULL);
}

static void
on_addrs(enum dns_status status, int rcode, const struct dns_addrs *addrs, void *arg)
{
	struct call *c = arg;

	c->calls++;
	c->inside = c->f->in_call;
	c->status = status;
	c->rcode = rcode;
	assert_non_null(addrs);
	c->addrs = *addrs;
}

static void
resolve(struct fixture *f, const char *name, struct call *c, struct dns_addrs_query **handle)
{
	c->f = f;
	f->in_call = true;
	assert_int_equal(dns_resolve_addrs(f->dns, name, on_addrs, c, handle), 0);
	f->in_call = false;
}

static void
test_resolve_addrs(void **state)
{
	struct fixture *f = *state;
	struct call c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0};
	struct dns_addrs_query *q3 = NULL;

	resolve(f, "NS1.a.example.", &c1, NULL);
	resolve(f, "none.a.example", &c2, NULL);
	resolve(f, CHALLENGE, &c3, &q3);
	dns_addrs_cancel(q3);
	dns_server_wait_int(f->loop, WAIT_S, &c1.calls, 1);
	dns_server_wait_int(f->loop, WAIT_S, &c2.calls, 1);
	assert_false(c1.inside);
	assert_int_equal(c1.status, DNS_STATUS_OK);
	assert_int_equal(c1.rcode, DNS_RCODE_NOERROR);
	/* Through the CNAME, not other.a.example's. */
	assert_int_equal(c1.addrs.n, 3);
	assert_string_equal(c1.addrs.addr[0], "192.0.2.1");
	assert_string_equal(c1.addrs.addr[1], "192.0.2.2");
	assert_string_equal(c1.addrs.addr[2], "2001:db8::1");
	assert_int_equal(c2.status, DNS_STATUS_OK);
	assert_int_equal(c2.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(c2.addrs.n, 0);
	/* One family answered, the other silent: the addresses found. */
	resolve(f, "v4only.a.example", &c4, NULL);
	dns_server_wait_int(f->loop, WAIT_S, &c4.calls, 1);
	assert_int_equal(c4.status, DNS_STATUS_OK);
	assert_int_equal(c4.addrs.n, 1);
	assert_string_equal(c4.addrs.addr[0], "192.0.2.7");
	assert_int_equal(c3.calls, 0);
}

/* Destroyed while dns_resolve_addrs waits: no callback, no leak. */
static void
test_resolve_addrs_destroy(void **state)
{
	struct fixture *f = *state;
	struct call c = {0};

	resolve(f, "v4only.a.example", &c, NULL);
	dns_server_wait_size(f->loop, WAIT_S, &f->a.nqueries, 2);
	dns_destroy(f->dns);
	f->dns = NULL;
	assert_int_equal(c.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_resolver_txt, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_direct_no_recurse, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated_tcp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rcodes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_callback, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_servers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_system_resolvers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resolve_addrs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resolve_addrs_destroy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
