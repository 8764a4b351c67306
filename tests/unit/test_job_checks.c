/* renew/job_checks.c's last check before newOrder, through the runner: the
 * dns-update responder's probe (challenge/dns01_probe.h) against a
 * scripted primary (dns_fake.h), the zones from a table server
 * (dns_server.h), the CA a scripted one (fake_ca.h) that refuses every
 * newOrder (rejectedIdentifier), so that an order placed is one newOrder
 * counted and ends the job. The CAA and dns-persist-01 checks are
 * test_job_runner's. */
#include "renew/job_runner.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "challenge/dns01_probe_test.h"
#include "crypto/key.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "dns_fake.h"
#include "dns_server.h"
#include "fake_ca.h"
#include "tmpdir.h"

#define SECRET256 "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="
#define SOA_UPD "ns.upd.example host.upd.example 1"
#define NOT_HERE "rejectedIdentifier: not here"
#define MAX_OUTCOMES 4

static const struct dns_server_entry table[] = {
        {"_acme-challenge.upd.example", DNS_TYPE_SOA,
         .authority = {{"upd.example", DNS_TYPE_SOA, SOA_UPD}}},
        {"_acme-challenge.www.upd.example", DNS_TYPE_SOA,
         .authority = {{"upd.example", DNS_TYPE_SOA, SOA_UPD}}},
};

struct fixture {
	struct fake_ca ca;
	struct acme_account_handle acct;
	struct dns_server dns;
	struct dns_fake_server primary;
	struct dns_update_key *key;
	char *state_dir;
	char *key_file;
	struct conf_settings s;
	struct job_runner_config cfg;
	struct job_runner *runner;
	struct job_outcome seen[MAX_OUTCOMES];
	char messages[MAX_OUTCOMES][1024];
	size_t n_seen;
	ev_timer watchdog;
};

static void
on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	fail_msg("the jobs did not end in time");
}

static void
on_done(const struct job_outcome *o, void *arg)
{
	struct fixture *f = arg;

	assert_true(f->n_seen < MAX_OUTCOMES);
	f->seen[f->n_seen] = *o;
	snprintf(f->messages[f->n_seen], sizeof(f->messages[0]), "%s", o->message);
	f->n_seen++;
}

static void
set(struct fixture *f, enum conf_where where, const char *key, const char *value)
{
	char err[256];

	if (conf_set(&f->s, where, key, value, err, sizeof(err)) < 0) {
		fail_msg("%s: %s", key, err);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char server[64];

	assert_non_null(f);
	log_init("acmed", LOG_LEVEL_ERROR, false);
	fake_ca_init(&f->ca, CHALLENGE_TYPE_DNS01);
	dns_server_start(&f->dns, f->ca.loop, table, sizeof(table) / sizeof(table[0]));
	f->key = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256);
	assert_non_null(f->key);
	dns_fake_start(&f->primary, f->ca.loop, DNS_FAKE_ANSWER, f->key);
	f->state_dir = tmpdir_make("checks");
	f->key_file = tmpdir_write(
	        f->state_dir, "tsig.key",
	        "key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n};\n",
	        0600);
	f->acct.key = key_generate(KEY_TYPE_EC_P256);
	f->acct.url = strdup(FAKE_CA "/acct/1");
	assert_non_null(f->acct.key);
	assert_non_null(f->acct.url);
	snprintf(server, sizeof(server), "127.0.0.1:%d", f->primary.port);
	set(f, CONF_WHERE_CERT, "domains", "upd.example *.upd.example www.upd.example");
	set(f, CONF_WHERE_CERT, "challenge", "dns-01");
	set(f, CONF_WHERE_CERT, "dns-update", server);
	set(f, CONF_WHERE_CERT, "dns-update-key", f->key_file);
	set(f, CONF_WHERE_GLOBAL, "dns-resolver", f->dns.addr);
	f->cfg.loop = f->ca.loop;
	f->cfg.client = fake_ca_client(&f->ca);
	f->cfg.acct = &f->acct;
	f->cfg.ca_url = FAKE_CA_DIRECTORY;
	f->cfg.state_dir = f->state_dir;
	f->cfg.concurrency = 1;
	f->cfg.lock_wait = 20.0;
	ev_timer_init(&f->watchdog, on_watchdog, 30.0, 0.0);
	f->runner = job_runner_create(&f->cfg);
	assert_non_null(f->runner);
	job_runner_on_done(f->runner, on_done, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ev_timer_stop(f->cfg.loop, &f->watchdog);
	job_runner_destroy(f->runner);
	dns01_probe_test_memory(0);
	acme_client_destroy(f->cfg.client);
	dns_fake_stop(&f->primary);
	dns_server_stop(&f->dns);
	fake_ca_finish(&f->ca);
	acme_account_close(&f->acct);
	dns_update_key_destroy(f->key);
	conf_settings_finish(&f->s);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	free(f->key_file);
	free(f);
	return 0;
}

/* Each newOrder fails; with n queued, n fail (their messages kept). */
static void
refuse_orders(struct fixture *f, int n)
{
	for (int i = 0; i < n; i++) {
		fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400,
		                "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
		                "\"detail\":\"not here\"}");
	}
}

/* Runs cert name until it ended. */
static void
run_job(struct fixture *f, const char *name)
{
	struct job_request none;
	size_t want = f->n_seen + 1;

	memset(&none, 0, sizeof(none));
	assert_int_equal(job_runner_add(f->runner, name, &f->s, &none), 0);
	ev_timer_start(f->cfg.loop, &f->watchdog);
	job_runner_run(f->runner);
	while (f->n_seen < want) {
		ev_run(f->cfg.loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->cfg.loop, &f->watchdog);
}

static size_t
new_orders(const struct fixture *f)
{
	return fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER);
}

/* The server lets the probe through: the order goes on. One probe for
 * the three names: the wildcard's _acme-challenge is the apex's, and
 * www's zone was let through a moment before. A second job within the
 * hour sends none; one after it does. */
static void
test_probe_ok(void **state)
{
	struct fixture *f = *state;

	refuse_orders(f, 3);
	run_job(f, "a");
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	assert_non_null(strstr(f->messages[0], NOT_HERE));
	assert_int_equal(new_orders(f), 1);
	assert_int_equal(f->primary.udp_queries, 1);
	assert_int_equal(f->primary.verified, 1);

	run_job(f, "b");
	assert_non_null(strstr(f->messages[1], NOT_HERE));
	assert_int_equal(new_orders(f), 2);
	assert_int_equal(f->primary.udp_queries, 1);

	dns01_probe_test_memory(0.2);
	usleep(300000);
	ev_now_update(f->cfg.loop);
	run_job(f, "c");
	assert_non_null(strstr(f->messages[2], NOT_HERE));
	assert_int_equal(new_orders(f), 3);
	assert_int_equal(f->primary.udp_queries, 2);
}

/* The server refuses the key: no newOrder, the server and its answer
 * named, no backoff (fixed on this host); the refusal is not remembered. */
static void
test_probe_refused(void **state)
{
	struct fixture *f = *state;
	struct state st;
	char *dir;
	char want[128];

	f->primary.reply.rcode = LDNS_RCODE_NOTAUTH;
	f->primary.reply.tsig_error = 16;
	run_job(f, "a");
	assert_int_equal(f->seen[0].result, JOB_FAILED);
	print_message("%s\n", f->messages[0]);
	snprintf(want, sizeof(want), "a: not ordered: dns-update 127.0.0.1:%d: TSIG BADSIG",
	         f->primary.port);
	assert_non_null(strstr(f->messages[0], want));
	assert_non_null(strstr(f->messages[0], f->key_file));
	assert_int_equal(new_orders(f), 0);
	dir = store_cert_dir(f->state_dir, "a");
	assert_int_equal(state_load(dir, &st), 0);
	assert_int_equal(st.next_try, 0);
	state_finish(&st);
	free(dir);

	f->primary.reply.tsig_error = 0;
	f->primary.reply.rcode = LDNS_RCODE_REFUSED;
	run_job(f, "b");
	assert_non_null(strstr(f->messages[1], "REFUSED for _acme-challenge.upd.example (zone "
	                                       "upd.example)"));
	assert_int_equal(new_orders(f), 0);
	assert_int_equal(f->primary.udp_queries, 2);
}

/* No answer after the tries: a warning, the order goes on (the present's
 * own update says what fails); the other names are not asked. */
static void
test_probe_no_answer(void **state)
{
	struct fixture *f = *state;

	f->primary.mode = DNS_FAKE_SILENT;
	refuse_orders(f, 1);
	run_job(f, "a");
	assert_non_null(strstr(f->messages[0], NOT_HERE));
	assert_int_equal(new_orders(f), 1);
	assert_int_equal(f->primary.udp_queries, 3);
}

static bool
primary_asked(const void *arg)
{
	const struct dns_fake_server *s = arg;

	return s->udp_queries > 0;
}

static void
on_stopped(void *arg)
{
	int *calls = arg;

	(*calls)++;
}

static bool
never(const void *arg)
{
	(void)arg;
	return false;
}

/* A signal during the probe: the stop is over at once, the probe ends
 * there (no further try reaches the server, no done), no newOrder, no
 * outcome; the runner frees the job and its key (ASan). */
static void
test_stop_in_probe(void **state)
{
	struct fixture *f = *state;
	struct job_request none;
	int calls = 0;

	f->primary.mode = DNS_FAKE_SILENT;
	memset(&none, 0, sizeof(none));
	assert_int_equal(job_runner_add(f->runner, "a", &f->s, &none), 0);
	job_runner_start(f->runner);
	assert_true(dns_server_run_until(f->cfg.loop, 30., primary_asked, &f->primary));
	job_runner_stop(f->runner, on_stopped, &calls);
	assert_int_equal(calls, 1);
	assert_true(job_runner_stopped(f->runner));
	job_runner_run(f->runner);
	/* Past the second try's time (2 s). */
	dns_server_run_until(f->cfg.loop, 2.5, never, NULL);
	assert_int_equal(f->primary.udp_queries, 1);
	assert_int_equal(f->n_seen, 0);
	assert_int_equal(new_orders(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_probe_ok, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_probe_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_probe_no_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_in_probe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
