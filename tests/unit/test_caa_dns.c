#include "renew/caa_dns.h"

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

#include "base/ident.h"
#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 10.
#include "io/dns_test.h"

static const struct dns_server_entry table[] = {
        {"a.example", DNS_TYPE_CAA,
         .answer = {{"a.example", DNS_TYPE_CAA, "0 issue ca.example"},
                    {"a.example", DNS_TYPE_CAA, "128 issuewild ;"}}},
        /* Delegated by CNAME: the target's records are the name's. */
        {"www.b.example", DNS_TYPE_CAA,
         .answer = {{"www.b.example", DNS_TYPE_CNAME, "cdn.c.example"},
                    {"cdn.c.example", DNS_TYPE_CAA, "0 issue other.example"}}},
        /* Only a CNAME: nothing at that name; a record of another owner
         * slipped in does not count. */
        {"alias.b.example", DNS_TYPE_CAA,
         .answer = {{"alias.b.example", DNS_TYPE_CNAME, "empty.c.example"},
                    {"stray.c.example", DNS_TYPE_CAA, "0 issue other.example"}}},
        {"b.example", DNS_TYPE_CAA, .mode = DNS_SERVER_ANSWER},
        {"fail.example", DNS_TYPE_CAA, .rcode = DNS_RCODE_SERVFAIL},
        {"refused.example", DNS_TYPE_CAA, .rcode = DNS_RCODE_REFUSED},
        /* Forbids the CA for every name below it (tree climbing). */
        {"d.example", DNS_TYPE_CAA,
         .answer = {{"d.example", DNS_TYPE_CAA, "0 issue other.example"}}},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server server;
	struct dns *dns;
};

/* What one lookup's answer was. */
struct got {
	int calls;
	enum caa_answer_status status;
	size_t n;
	char first[128]; /* "FLAGS TAG VALUE" of the first record */
	char error[128];
};

static const struct dns_timing fast = {.try_ms = 100, .tries = 2, .deadline = 5.};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	dns_server_start(&f->server, f->loop, table, sizeof(table) / sizeof(table[0]));
	f->dns = dns_create_timed(f->loop, f->server.addr, &fast, &err);
	assert_non_null(f->dns);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_destroy(f->dns);
	dns_server_stop(&f->server);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

static void
on_got(void *arg, const struct caa_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->status = a->status;
	g->n = a->n_records;
	if (a->n_records > 0) {
		snprintf(g->first, sizeof(g->first), "%u %.*s %.*s", a->records[0].flags,
		         (int)a->records[0].tag_len, a->records[0].tag,
		         (int)a->records[0].value_len, (const char *)a->records[0].value);
	}
	if (a->error != NULL) {
		snprintf(g->error, sizeof(g->error), "%s", a->error);
	}
}

/* Looks name up through the ops and waits for the answer. */
static void
lookup(struct fixture *f, const char *name, struct got *g)
{
	void *handle = NULL;

	memset(g, 0, sizeof(*g));
	assert_int_equal(caa_dns_ops.query(f->dns, name, on_got, g, &handle), 0);
	assert_non_null(handle);
	/* Never inside the call. */
	assert_int_equal(g->calls, 0);
	dns_server_wait_int(f->loop, WAIT_S, &g->calls, 1);
	assert_int_equal(g->calls, 1);
}

static void
test_records(void **state)
{
	struct fixture *f = *state;
	struct got g;

	lookup(f, "a.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_RECORDS);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.first, "0 issue ca.example");

	lookup(f, "b.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_EMPTY);
	assert_int_equal(g.n, 0);

	lookup(f, "nothing.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_NXDOMAIN);
}

static void
test_cname(void **state)
{
	struct fixture *f = *state;
	struct got g;

	lookup(f, "www.b.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_RECORDS);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.first, "0 issue other.example");

	lookup(f, "alias.b.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_EMPTY);
}

static void
test_failures(void **state)
{
	struct fixture *f = *state;
	struct got g;
	char *err = NULL;
	struct dns *dead;
	char addr[32];

	lookup(f, "fail.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_FAILED);
	assert_string_equal(g.error, "SERVFAIL");
	lookup(f, "refused.example", &g);
	assert_int_equal(g.status, CAA_ANSWER_FAILED);
	assert_string_equal(g.error, "REFUSED");

	/* No server there. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", dns_server_dead_port());
	dead = dns_create_timed(f->loop, addr, &fast, &err);
	assert_non_null(dead);
	{
		void *handle = NULL;

		memset(&g, 0, sizeof(g));
		assert_int_equal(caa_dns_ops.query(dead, "a.example", on_got, &g, &handle), 0);
		dns_server_wait_int(f->loop, WAIT_S, &g.calls, 1);
	}
	assert_int_equal(g.status, CAA_ANSWER_FAILED);
	assert_true(strcmp(g.error, "unreachable") == 0 || strcmp(g.error, "timeout") == 0);
	dns_destroy(dead);
}

/* A cancelled lookup is never answered, even once its answer came. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct got g, other;
	void *handle = NULL;

	memset(&g, 0, sizeof(g));
	assert_int_equal(caa_dns_ops.query(f->dns, "a.example", on_got, &g, &handle), 0);
	caa_dns_ops.cancel(f->dns, handle);
	/* A second lookup of the same name: its answer comes after the
	 * cancelled one's would have. */
	lookup(f, "a.example", &other);
	assert_int_equal(other.status, CAA_ANSWER_RECORDS);
	assert_int_equal(g.calls, 0);
}

/* caa_dns_read alone: what io/dns hands over without an answer. */
static void
test_read(void **state)
{
	struct caa_record records[2];
	struct caa_answer a;
	char err[64];

	(void)state;
	caa_dns_read("a.example", DNS_STATUS_TIMEOUT, -1, NULL, records, 2, err, sizeof(err), &a);
	assert_int_equal(a.status, CAA_ANSWER_FAILED);
	assert_string_equal(a.error, "timeout");
	caa_dns_read("a.example", DNS_STATUS_MALFORMED, -1, NULL, records, 2, err, sizeof(err), &a);
	assert_int_equal(a.status, CAA_ANSWER_FAILED);
	assert_string_equal(a.error, "malformed answer");
}

/* A whole check through the resolver: the parent's record applies to the
 * child, and the CNAME target's to the alias. */
struct check_done {
	int calls;
	enum caa_verdict verdict;
	char summary[512];
};

static void
on_check(struct caa_check *check, void *arg)
{
	struct check_done *d = arg;

	d->calls++;
	d->verdict = caa_check_verdict(check, NULL);
	caa_check_summary(check, d->summary, sizeof(d->summary));
}

static void
check(struct fixture *f, const char *name, const char *id, struct check_done *d)
{
	const char *ids[] = {id};
	struct caa_request req = {.ca_ids = ids, .n_ca_ids = 1, .method = "http-01"};
	struct ident ident;
	struct caa_check *c;

	memset(d, 0, sizeof(*d));
	memset(&ident, 0, sizeof(ident));
	ident.type = IDENT_DNS;
	ident.value = (char *)name;
	c = caa_check_start(f->loop, &caa_dns_ops, f->dns, &req, &ident, 1, on_check, d);
	assert_non_null(c);
	dns_server_wait_int(f->loop, WAIT_S, &d->calls, 1);
	caa_check_destroy(c);
}

static void
test_check(void **state)
{
	struct fixture *f = *state;
	struct check_done d;

	check(f, "www.sub.d.example", "ca.example", &d);
	assert_int_equal(d.verdict, CAA_FORBIDDEN);
	assert_string_equal(d.summary, "www.sub.d.example: CAA of d.example: 0 issue "
	                               "\"other.example\" does not name this CA (ca.example)");
	check(f, "www.sub.d.example", "other.example", &d);
	assert_int_equal(d.verdict, CAA_ALLOWED);
	check(f, "www.b.example", "ca.example", &d);
	assert_int_equal(d.verdict, CAA_FORBIDDEN);
	check(f, "x.fail.example", "ca.example", &d);
	assert_int_equal(d.verdict, CAA_UNCHECKED);
	assert_non_null(strstr(d.summary, "SERVFAIL"));
	check(f, "x.a.example", "ca.example", &d);
	assert_int_equal(d.verdict, CAA_ALLOWED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test(test_read),
	        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
