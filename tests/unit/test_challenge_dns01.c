/* The dns-01 flow (challenge_dns01.c) through the hook setter, and the
 * dns-update responder's construction and key check
 * (challenge_dnsupdate.c); the updates themselves are io/dns_update's
 * (test_dns_update) and tests/integration/dns.sh's against BIND. */
#include "challenge/challenge_dns01.h"

#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "capture.h"
#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 30.
#include "tmpdir.h"

#define TXT_NAME "_acme-challenge.example.org."
#define TARGET "acme.dele.example"
#define VALUE "GfYkV6pmHWFPa2Sx1p3a9H_zbUh2mGVQBNU0czzJMzo"
#define SECRET256 "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="

/* As pebble-challtestsrv: NOTIMP to SOA queries, TXT without AA. */
static const struct dns_server_entry table[] = {
        {"_acme-challenge.example.org", DNS_TYPE_CNAME,
         .answer = {{"_acme-challenge.example.org", DNS_TYPE_CNAME, TARGET}}},
        {TARGET, DNS_TYPE_TXT, .answer = {{TARGET, DNS_TYPE_TXT, VALUE}}},
        {TARGET, DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"dele.example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"example", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"_acme-challenge.other.org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"other.org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        /* A zone with an SOA, for dns-update (needs_zone), and its
         * primary's name. */
        {"_acme-challenge.upd.example", DNS_TYPE_SOA,
         .authority = {{"upd.example", DNS_TYPE_SOA, "ns.upd.example host.upd.example 1"}}},
        {"ns.upd.example", DNS_TYPE_A, .answer = {{"ns.upd.example", DNS_TYPE_A, "127.0.0.1"}}},
        {"ns.upd.example", DNS_TYPE_AAAA, .rcode = DNS_RCODE_NOERROR},
        {"_acme-challenge.loop.org", DNS_TYPE_CNAME,
         .answer = {{"_acme-challenge.loop.org", DNS_TYPE_CNAME, "_acme-challenge.loop.org"}}},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server s;
	char *dir;
	char *hook;
};

struct result {
	int calls;
	int rc;
	char message[1024];
};

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
	char text[512];

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	dns_server_start(&f->s, f->loop, table, sizeof(table) / sizeof(table[0]));
	f->dir = tmpdir_make("dns01");
	snprintf(text, sizeof(text),
	         "#!/bin/sh\necho \"$1 $2 $3 $ACMED_RECORD $ACMED_DNS_NAME "
	         "$ACMED_DNS_ORIGINAL_NAME\" >>'%s/log'\n",
	         f->dir);
	f->hook = tmpdir_write(f->dir, "hook", text, 0755);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_server_stop(&f->s);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f->hook);
	free(f);
	return 0;
}

static struct challenge_task
task(const char *name)
{
	struct challenge_task t = {
	        .cert_name = "www",
	        .id_type = IDENT_DNS,
	        .identifier = "example.org",
	        .txt_name = name,
	        .txt_value = VALUE,
	};

	return t;
}

/* The hook sets the CNAME's target (argument, ACMED_RECORD,
 * ACMED_DNS_NAME; the name asked for in ACMED_DNS_ORIGINAL_NAME), the
 * check asks the resolver for the target before done, and the del goes to
 * the same target. */
static void
test_cname_target(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 10};
	struct challenge_task t = task(TXT_NAME);
	struct result r = {0};
	struct challenge *ch = challenge_dns01_create(f->loop, f->hook, 10, &o);
	char *log;

	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "dns-hook");
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(dns_server_count(&f->s, TARGET, DNS_TYPE_TXT, false), 1);
	log = tmpdir_read(f->dir, "log");
	assert_string_equal(log,
	                    "add " TARGET ". " VALUE " " TARGET ". " TARGET ". " TXT_NAME "\n");
	free(log);

	memset(&r, 0, sizeof(r));
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	log = tmpdir_read(f->dir, "log");
	assert_non_null(strstr(log, "\ndel " TARGET ". " VALUE " " TARGET ". "));
	free(log);
	challenge_destroy(ch);
}

/* A record not served in time fails present before done says it is
 * there; without a CNAME the name is its own target. */
static void
test_not_propagated(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 1};
	struct challenge_task t = task("_acme-challenge.other.org.");
	struct result r = {0};
	struct challenge *ch = challenge_dns01_create(f->loop, f->hook, 10, &o);
	char *log;

	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "_acme-challenge.other.org: not served by every server "
	                                  "within dns-propagation-timeout (1 s), lagging: "));
	log = tmpdir_read(f->dir, "log");
	assert_string_equal(log, "add _acme-challenge.other.org. " VALUE
	                         " _acme-challenge.other.org. _acme-challenge.other.org. "
	                         "_acme-challenge.other.org.\n");
	free(log);
	challenge_destroy(ch);
}

/* A present that stops before its add (a CNAME loop) is followed by a
 * cleanup that runs nothing: no del for a record never added. */
static void
test_no_del_without_add(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 1};
	struct challenge_task t = task("_acme-challenge.loop.org.");
	struct result r = {0};
	struct challenge *ch = challenge_dns01_create(f->loop, f->hook, 10, &o);

	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "CNAME loop"));
	memset(&r, 0, sizeof(r));
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_false(tmpdir_exists(f->dir, "log"));
	challenge_destroy(ch);
}

static bool
asked_other(const void *arg)
{
	return dns_server_count(arg, "_acme-challenge.other.org", DNS_TYPE_TXT, false) > 0;
}

/* Destroyed during the check: done is never called. */
static void
test_destroy_in_flight(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 30};
	struct challenge_task t = task("_acme-challenge.other.org.");
	struct result r = {0};
	struct challenge *ch = challenge_dns01_create(f->loop, f->hook, 10, &o);

	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	dns_server_run_until(f->loop, 10., asked_other, &f->s);
	challenge_destroy(ch);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
}

/* Stopped in the propagation wait (a signal): done comes from the loop
 * with -1, long before dns-propagation-timeout, and the cleanup asked
 * next removes the record the add set. */
static void
test_stop_in_wait(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 600};
	struct challenge_task t = task("_acme-challenge.other.org.");
	struct result r = {0};
	struct challenge *ch = challenge_dns01_create(f->loop, f->hook, 10, &o);
	char *log;

	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_true(dns_server_run_until(f->loop, WAIT_S, asked_other, &f->s));
	challenge_stop(ch);
	assert_int_equal(r.calls, 0); /* never from inside the call */
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.message, "dns-01: _acme-challenge.other.org.: stopped");
	memset(&r, 0, sizeof(r));
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	log = tmpdir_read(f->dir, "log");
	assert_non_null(strstr(log, "\ndel _acme-challenge.other.org. " VALUE " "));
	free(log);
	challenge_destroy(ch);
}

/* Stopped while the hook's add runs: the hook gets the timeout's SIGTERM,
 * done says so, and the del follows (the add may have set the record). */
static void
test_stop_in_add(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr, .propagation_s = 600};
	struct challenge_task t = task("_acme-challenge.other.org.");
	struct result r = {0};
	struct challenge *ch;
	char text[512];
	char *slow;
	char *log = NULL;

	snprintf(text, sizeof(text),
	         "#!/bin/sh\necho \"$1 $2\" >>'%s/log'\n"
	         "if [ \"$1\" = add ]; then exec sleep 60; fi\n",
	         f->dir);
	slow = tmpdir_write(f->dir, "slow", text, 0755);
	ch = challenge_dns01_create(f->loop, slow, 600, &o);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	/* The hook's first line: no event on the loop says so. */
	for (int i = 0; i < (int)(WAIT_S * 100) && !tmpdir_exists(f->dir, "log"); i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(10000);
	}
	assert_true(tmpdir_exists(f->dir, "log"));
	challenge_stop(ch);
	challenge_stop(ch); /* a second does nothing more */
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "add _acme-challenge.other.org.: stopped"));
	memset(&r, 0, sizeof(r));
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	log = tmpdir_read(f->dir, "log");
	assert_string_equal(log,
	                    "add _acme-challenge.other.org.\ndel _acme-challenge.other.org.\n");
	free(log);
	free(slow);
	challenge_destroy(ch);
}

/* The key is checked as the responder loads it; a server must be an
 * address. */
static void
test_dnsupdate_setup(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr};
	char *good = tmpdir_write(f->dir, "tsig.key",
	                          "key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256
	                          "\";\n};\n",
	                          0600);
	char *md5 = tmpdir_write(
	        f->dir, "md5.key",
	        "key \"acmed\" {\n\talgorithm hmac-md5;\n\tsecret \"" SECRET256 "\";\n};\n", 0600);
	char err[512];
	struct challenge *ch;

	assert_int_equal(challenge_dnsupdate_check(good, err, sizeof(err)), 0);
	assert_int_equal(challenge_dnsupdate_check(md5, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dns-update-key: "));
	assert_non_null(strstr(err, "md5.key:2: "));
	assert_int_equal(challenge_dnsupdate_check(NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set dns-update-key"));

	ch = challenge_dnsupdate_create(f->loop, "127.0.0.1:5353", good, &o);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "dns-update");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_DNS01);
	challenge_destroy(ch);
	assert_null(challenge_dnsupdate_create(f->loop, "ns1.example:0", good, &o));
	assert_null(challenge_dnsupdate_create(f->loop, "1.2.3", good, &o));
	assert_null(challenge_dnsupdate_create(f->loop, "127.0.0.1", md5, &o));
	assert_null(challenge_dnsupdate_create(f->loop, "127.0.0.1", NULL, &o));
	free(good);
	free(md5);
}

/* A key file others may read is warned about once, not once per
 * certificate that names it (operator trial of #18). */
static void
test_dnsupdate_mode_warned_once(void **state)
{
	struct fixture *f = *state;
	char *key = tmpdir_write(f->dir, "open.key",
	                         "key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256
	                         "\";\n};\n",
	                         0644);
	struct capture c;
	const char *log;
	const char *p;
	char err[512];
	int n = 0;

	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(challenge_dnsupdate_check(key, err, sizeof(err)), 0);
	}
	log = capture_take(&c);
	capture_end(&c);
	for (p = strstr(log, "readable by others"); p != NULL;
	     p = strstr(p + 1, "readable by others")) {
		n++;
	}
	assert_int_equal(n, 1);
	assert_non_null(strstr(log, "(mode 0644): chmod 600"));
	free(key);
}

/* dns-update by name: the name is resolved through the resolvers before
 * each update; one that does not resolve fails the record with a reason
 * naming the setting, nothing sent; one that does is where the update
 * goes. */
static void
test_dnsupdate_by_name(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr};
	char *key = tmpdir_write(f->dir, "tsig.key",
	                         "key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256
	                         "\";\n};\n",
	                         0600);
	struct challenge_task t = task("_acme-challenge.upd.example.");
	struct result r = {0};
	char server[64];
	char expect[96];
	struct challenge *ch;

	ch = challenge_dnsupdate_create(f->loop, "nowhere.upd.example:5353", key, &o);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.message, "dns-update nowhere.upd.example:5353: the server's name "
	                                  "does not resolve (NXDOMAIN): set dns-update"));
	assert_int_equal(dns_server_count(&f->s, "nowhere.upd.example", DNS_TYPE_A, false), 1);
	challenge_destroy(ch);

	/* ns.upd.example is 127.0.0.1: the update goes to the test's server
	 * (which is no primary: the answer is not a signed NOERROR). */
	memset(&r, 0, sizeof(r));
	snprintf(server, sizeof(server), "ns.upd.example:%d", f->s.port);
	ch = challenge_dnsupdate_create(f->loop, server, key, &o);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	snprintf(expect, sizeof(expect), "dns-update 127.0.0.1:%d: ", f->s.port);
	assert_non_null(strstr(r.message, expect));
	challenge_destroy(ch);
	free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_cname_target, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_propagated, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_del_without_add, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_in_wait, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_in_add, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dnsupdate_setup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dnsupdate_by_name, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dnsupdate_mode_warned_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
