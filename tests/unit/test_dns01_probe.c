/* The dns-01 flow's probe (challenge/dns01_probe.c) through the dns-update
 * setter (challenge_dnsupdate.c): the resolvers are a table server
 * (dns_server.h), the primary a scripted one (dns_fake.h). A probe is a
 * signed UPDATE deleting a TXT record nobody set; the server's yes, no and
 * silence, the hour's memory of a yes, a cancel, a server name that does
 * not resolve; the dns-hook responder does not probe. */
#include "challenge/dns01_probe.h"

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
#include "challenge/dns01_probe_test.h"
#include "challenge/responders.h"
#include "dns_fake.h"
#include "dns_server.h"
#include "tmpdir.h"

#define WAIT_S 30.
#define SECRET256 "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="
#define SOA_UPD "ns.upd.example host.upd.example 1"

static const struct dns_server_entry table[] = {
        {"_acme-challenge.upd.example", DNS_TYPE_SOA,
         .authority = {{"upd.example", DNS_TYPE_SOA, SOA_UPD}}},
        {"_acme-challenge.www.upd.example", DNS_TYPE_SOA,
         .authority = {{"upd.example", DNS_TYPE_SOA, SOA_UPD}}},
        {"_acme-challenge.other.example", DNS_TYPE_SOA,
         .authority = {{"other.example", DNS_TYPE_SOA, "ns.other.example h.other.example 1"}}},
        /* No zone: every SOA query NOTIMP (pebble-challtestsrv). */
        {"_acme-challenge.nozone.org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"nozone.org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
        {"org", DNS_TYPE_SOA, .rcode = DNS_RCODE_NOTIMP},
};

struct fixture {
	struct ev_loop *loop;
	struct dns_server s;
	struct dns_fake_server primary;
	struct dns_update_key *key;
	char *dir;
	char *key_file;
	char server[64]; /* the primary, "127.0.0.1:PORT" */
	struct challenge *ch;
};

struct result {
	int calls;
	enum challenge_probe_result v;
	char message[1024];
};

static void
on_probe(enum challenge_probe_result v, const char *message, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->v = v;
	snprintf(r->message, sizeof(r->message), "%s", message != NULL ? message : "");
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct challenge_dns01_opts o = {0};

	assert_non_null(f);
	log_init("acmed", LOG_LEVEL_ERROR, false);
	f->loop = EV_DEFAULT;
	dns_server_start(&f->s, f->loop, table, sizeof(table) / sizeof(table[0]));
	f->key = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256);
	assert_non_null(f->key);
	dns_fake_start(&f->primary, f->loop, DNS_FAKE_ANSWER, f->key);
	snprintf(f->server, sizeof(f->server), "127.0.0.1:%d", f->primary.port);
	f->dir = tmpdir_make("probe");
	f->key_file = tmpdir_write(
	        f->dir, "tsig.key",
	        "key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n};\n",
	        0600);
	o.resolvers = f->s.addr;
	f->ch = challenge_dnsupdate_create(f->loop, f->server, f->key_file, &o);
	assert_non_null(f->ch);
	assert_non_null(f->ch->ops->probe);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	challenge_destroy(f->ch);
	dns01_probe_test_memory(0);
	dns_fake_stop(&f->primary);
	dns_server_stop(&f->s);
	dns_update_key_destroy(f->key);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f->key_file);
	free(f);
	return 0;
}

/* Probes txt_name on ch and waits for its end. */
static void
probe(struct fixture *f, struct challenge *ch, const char *txt_name, struct result *r)
{
	struct challenge_task t = {
	        .cert_name = "www",
	        .id_type = IDENT_DNS,
	        .identifier = txt_name + strlen("_acme-challenge."),
	        .txt_name = txt_name,
	};
	struct challenge_probe *handle = NULL;

	memset(r, 0, sizeof(*r));
	assert_int_equal(ch->ops->probe(ch, &t, on_probe, r, &handle), 0);
	assert_non_null(handle);
	assert_int_equal(r->calls, 0); /* never from inside the call */
	dns_server_wait_int(f->loop, WAIT_S, &r->calls, 1);
	assert_int_equal(r->calls, 1);
}

/* The server's yes: one signed UPDATE that deletes (class NONE, RFC 2136
 * 2.5.4) a TXT record of the name whose value nobody set. */
static void
test_ok(void **state)
{
	struct fixture *f = *state;
	struct result r;
	ldns_pkt *q = NULL;
	ldns_rr *rr;
	char *value;

	probe(f, f->ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_OK);
	assert_non_null(strstr(r.message, "deleted a TXT record of _acme-challenge.upd.example "
	                                  "(zone upd.example)"));
	assert_int_equal(f->primary.udp_queries, 1);
	assert_int_equal(f->primary.verified, 1);
	assert_int_equal(ldns_wire2pkt(&q, f->primary.last_query, f->primary.last_len),
	                 LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_opcode(q), LDNS_PACKET_UPDATE);
	rr = ldns_rr_list_rr(ldns_pkt_authority(q), 0);
	assert_non_null(rr);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
	value = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	assert_non_null(value);
	assert_int_equal(strncmp(value, "\"acmed-probe-", 13), 0);
	assert_int_equal(strlen(value), 2 + 12 + 16);
	free(value);
	ldns_pkt_free(q);
}

/* Within the hour another name of the same zone is not probed again (no
 * update sent); a name of another zone is; once the time passed the zone
 * is probed anew. */
static void
test_memory(void **state)
{
	struct fixture *f = *state;
	struct result r;

	probe(f, f->ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_OK);
	assert_int_equal(f->primary.udp_queries, 1);
	probe(f, f->ch, "_acme-challenge.www.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_OK);
	assert_non_null(strstr(r.message, "dns-update: zone upd.example: probed 0 s ago"));
	assert_int_equal(f->primary.udp_queries, 1);
	probe(f, f->ch, "_acme-challenge.other.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_OK);
	assert_int_equal(f->primary.udp_queries, 2);

	/* An hour in a test's time. */
	dns01_probe_test_memory(0.2);
	usleep(300000);
	ev_now_update(f->loop);
	probe(f, f->ch, "_acme-challenge.www.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_OK);
	assert_int_equal(f->primary.udp_queries, 3);
}

/* The server's no: its RCODE or TSIG error, the record and the key file
 * named; not remembered (the next probe asks again). */
static void
test_refused(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char want[512];

	f->primary.reply.rcode = LDNS_RCODE_REFUSED;
	probe(f, f->ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_REFUSED);
	snprintf(want, sizeof(want),
	         "dns-update %s: REFUSED for _acme-challenge.upd.example (zone upd.example): ",
	         f->server);
	assert_non_null(strstr(r.message, want));
	snprintf(want, sizeof(want), "(dns-update-key %s)", f->key_file);
	assert_non_null(strstr(r.message, want));

	f->primary.reply.rcode = LDNS_RCODE_NOTAUTH;
	f->primary.reply.tsig_error = 16;
	probe(f, f->ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_REFUSED);
	snprintf(want, sizeof(want),
	         "dns-update %s: TSIG BADSIG (key \"acmed\"): the server holds another secret for "
	         "it: check dns-update-key (_acme-challenge.upd.example, zone upd.example; "
	         "dns-update-key %s)",
	         f->server, f->key_file);
	assert_string_equal(r.message, want);
	assert_int_equal(f->primary.udp_queries, 2);
}

/* No answer after the tries: unknown (the order goes on with a warning). */
static void
test_no_answer(void **state)
{
	struct fixture *f = *state;
	struct result r;

	f->primary.mode = DNS_FAKE_SILENT;
	probe(f, f->ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_UNKNOWN);
	assert_non_null(strstr(r.message, "no answer after 3 tries"));
}

/* No zone found (a resolver answering NOTIMP to SOA): unknown, no update. */
static void
test_no_zone(void **state)
{
	struct fixture *f = *state;
	struct result r;

	probe(f, f->ch, "_acme-challenge.nozone.org.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_UNKNOWN);
	assert_non_null(strstr(r.message, "dns-update: no zone found for "
	                                  "_acme-challenge.nozone.org."));
	assert_int_equal(f->primary.udp_queries, 0);
}

/* A server name that does not resolve is a refusal: no update goes. */
static void
test_name_unresolved(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr};
	struct challenge *ch =
	        challenge_dnsupdate_create(f->loop, "nowhere.upd.example:5353", f->key_file, &o);
	struct result r;

	assert_non_null(ch);
	probe(f, ch, "_acme-challenge.upd.example.", &r);
	assert_int_equal(r.v, CHALLENGE_PROBE_REFUSED);
	assert_non_null(strstr(r.message, "dns-update nowhere.upd.example:5353: the server's name "
	                                  "does not resolve (NXDOMAIN): set dns-update"));
	challenge_destroy(ch);
}

static bool
primary_asked(const void *arg)
{
	const struct dns_fake_server *s = arg;

	return s->udp_queries > 0;
}

static bool
called(const void *arg)
{
	const struct result *r = arg;

	return r->calls > 0;
}

/* Cancelled while the update waits for its answer: done is never called,
 * nothing is left (the tries' timer included: ASan, valgrind); so is one
 * cancelled in its first lookup, and one the responder's end finds. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = {.id_type = IDENT_DNS,
	                           .txt_name = "_acme-challenge.upd.example."};
	struct challenge_probe *handle = NULL;
	struct result r = {0};

	f->primary.mode = DNS_FAKE_SILENT;
	assert_int_equal(f->ch->ops->probe(f->ch, &t, on_probe, &r, &handle), 0);
	assert_true(dns_server_run_until(f->loop, WAIT_S, primary_asked, &f->primary));
	challenge_probe_cancel(f->ch, handle);
	/* Past the second try's time (2 s): no try, no done. */
	assert_false(dns_server_run_until(f->loop, 2.5, called, &r));
	assert_int_equal(r.calls, 0);
	assert_int_equal(f->primary.udp_queries, 1);

	assert_int_equal(f->ch->ops->probe(f->ch, &t, on_probe, &r, &handle), 0);
	challenge_probe_cancel(f->ch, handle);
	assert_int_equal(f->ch->ops->probe(f->ch, &t, on_probe, &r, &handle), 0);
	challenge_destroy(f->ch);
	f->ch = NULL;
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(r.calls, 0);
	challenge_probe_cancel(NULL, NULL);
}

/* Starts a probe of txt_name on f->ch (r waits for its end). */
static struct challenge_probe *
start(struct fixture *f, const char *txt_name, struct result *r)
{
	struct challenge_task t = {.id_type = IDENT_DNS, .txt_name = txt_name};
	struct challenge_probe *handle = NULL;

	memset(r, 0, sizeof(*r));
	assert_int_equal(f->ch->ops->probe(f->ch, &t, on_probe, r, &handle), 0);
	assert_non_null(handle);
	return handle;
}

/* Probes of one zone that meet (a busy daemon's jobs starting together)
 * send one update and share its verdict, a yes or a no. */
static void
test_together(void **state)
{
	struct fixture *f = *state;
	struct result r[3];

	start(f, "_acme-challenge.upd.example.", &r[0]);
	start(f, "_acme-challenge.www.upd.example.", &r[1]);
	start(f, "_acme-challenge.upd.example.", &r[2]);
	for (int i = 0; i < 3; i++) {
		dns_server_wait_int(f->loop, WAIT_S, &r[i].calls, 1);
		assert_int_equal(r[i].v, CHALLENGE_PROBE_OK);
	}
	assert_int_equal(f->primary.udp_queries, 1);

	/* A no is not remembered, but shared by those that met it. */
	dns01_probe_test_memory(0.01);
	usleep(20000);
	ev_now_update(f->loop);
	f->primary.reply.rcode = LDNS_RCODE_REFUSED;
	start(f, "_acme-challenge.upd.example.", &r[0]);
	start(f, "_acme-challenge.www.upd.example.", &r[1]);
	for (int i = 0; i < 2; i++) {
		dns_server_wait_int(f->loop, WAIT_S, &r[i].calls, 1);
		assert_int_equal(r[i].v, CHALLENGE_PROBE_REFUSED);
		assert_non_null(strstr(r[i].message, "REFUSED for _acme-challenge.upd.example "));
	}
	assert_int_equal(f->primary.udp_queries, 2);
}

/* The probe the others wait for is cancelled: the next sends its own. */
static void
test_together_cancel(void **state)
{
	struct fixture *f = *state;
	struct result r[2];
	struct challenge_probe *first;

	f->primary.mode = DNS_FAKE_SILENT;
	first = start(f, "_acme-challenge.upd.example.", &r[0]);
	assert_true(dns_server_run_until(f->loop, WAIT_S, primary_asked, &f->primary));
	start(f, "_acme-challenge.www.upd.example.", &r[1]);
	/* Its zone found, it waits: no second update. */
	assert_false(dns_server_run_until(f->loop, 0.5, called, &r[1]));
	assert_int_equal(f->primary.udp_queries, 1);
	f->primary.mode = DNS_FAKE_ANSWER;
	challenge_probe_cancel(f->ch, first);
	dns_server_wait_int(f->loop, WAIT_S, &r[1].calls, 1);
	assert_int_equal(r[1].v, CHALLENGE_PROBE_OK);
	assert_int_equal(r[0].calls, 0);
	assert_int_equal(f->primary.udp_queries, 2);
}

/* A hook is run to set a record, never to ask whether it could. */
static void
test_hook_no_probe(void **state)
{
	struct fixture *f = *state;
	struct challenge_dns01_opts o = {.resolvers = f->s.addr};
	struct challenge *ch = challenge_dns01_create(f->loop, "/bin/true", 10, &o);

	assert_non_null(ch);
	assert_null(ch->ops->probe);
	assert_null(ch->ops->probe_cancel);
	challenge_destroy(ch);
	assert_string_equal(challenge_probe_result_name(CHALLENGE_PROBE_REFUSED), "refused");
	assert_string_equal(challenge_probe_result_name(CHALLENGE_PROBE__MAX), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_zone, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_name_unresolved, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_together, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_together_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hook_no_probe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
