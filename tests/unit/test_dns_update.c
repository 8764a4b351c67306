/* io/dns_update: the server's address, and updates on the loop against a
 * scripted server (tests/unit/dns_fake.c) on 127.0.0.1: answers, refusals,
 * bad TSIG, silence, truncation, stray datagrams, cancel. */
#include "io/dns_update.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "dns_fake.h"

#define SECRET "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="
#define SECRET_OTHER "aAAnif2tGQ1yN2MnXjF+X/yi9CicbyTZEAE2ooh0ISk="
#define NAME "_acme-challenge.a.example"
#define VALUE "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
/* A try's wait: short, the server is on this host. */
#define TRY_S 0.2

struct fx {
	struct ev_loop *loop;
	struct dns_update_key *key;
	struct dns_update_key *other;
	struct dns_fake_server server;
	struct dns_update *u;
	int calls;
	enum dns_update_result result;
	char message[600];
	char address[64];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	log_init("acmed", LOG_LEVEL_ERROR, false);
	fx->loop = ev_loop_new(EVFLAG_AUTO);
	fx->key = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET);
	fx->other = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET_OTHER);
	*state = fx;
	return fx->loop == NULL || fx->key == NULL || fx->other == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	dns_fake_stop(&fx->server);
	dns_update_key_destroy(fx->key);
	dns_update_key_destroy(fx->other);
	ev_loop_destroy(fx->loop);
	free(fx);
	return 0;
}

static void
on_done(enum dns_update_result result, const char *message, void *arg)
{
	struct fx *fx = arg;

	fx->calls++;
	fx->result = result;
	fx->u = NULL;
	snprintf(fx->message, sizeof(fx->message), "%s", message);
	ev_break(fx->loop, EVBREAK_ALL);
}

/* A stop for a loop that should have ended before (the test then fails
 * on what it finds, not on a hang). */
static void
on_stop(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void
run(struct fx *fx, double at_most)
{
	struct ev_timer stop;

	ev_timer_init(&stop, on_stop, at_most, 0.0);
	ev_timer_start(fx->loop, &stop);
	ev_run(fx->loop, 0);
	ev_timer_stop(fx->loop, &stop);
}

/* Starts the server in mode and sends op to it. */
static void
start(struct fx *fx, enum dns_fake_mode mode, enum dns_update_op op)
{
	char err[256];

	dns_fake_start(&fx->server, fx->loop, mode, fx->key);
	snprintf(fx->address, sizeof(fx->address), "127.0.0.1:%d", fx->server.port);
	if (dns_update_send(fx->loop, fx->address, fx->key, "a.example", op, NAME, VALUE, TRY_S,
	                    on_done, fx, &fx->u, err, sizeof(err)) < 0) {
		fail_msg("dns_update_send: %s", err);
	}
	/* Never from inside the call. */
	assert_int_equal(fx->calls, 0);
	assert_non_null(fx->u);
}

/* The message is "dns-update ADDRESS: " and then starts with rest. */
static void
assert_message(struct fx *fx, const char *rest)
{
	char want[700];

	snprintf(want, sizeof(want), "dns-update %s: %s", fx->address, rest);
	if (strncmp(fx->message, want, strlen(want)) != 0) {
		fail_msg("message \"%s\", expected \"%s...\"", fx->message, want);
	}
}

static void
test_added(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_ANSWER, DNS_UPDATE_ADD);
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_OK);
	assert_message(fx, "added a TXT record of " NAME " (zone a.example)");
	assert_int_equal(fx->server.udp_queries, 1);
	assert_int_equal(fx->server.verified, 1);
	/* Nothing more comes after done. */
	run(fx, 0.1);
	assert_int_equal(fx->calls, 1);
}

static void
test_deleted(void **state)
{
	struct fx *fx = *state;
	ldns_pkt *q = NULL;
	ldns_rr *rr;

	start(fx, DNS_FAKE_ANSWER, DNS_UPDATE_DEL);
	run(fx, 30);
	assert_int_equal(fx->result, DNS_UPDATE_OK);
	assert_message(fx, "deleted a TXT record of " NAME " (zone a.example)");
	/* What the server got: the RR with class NONE. */
	assert_int_equal(ldns_wire2pkt(&q, fx->server.last_query, fx->server.last_len),
	                 LDNS_STATUS_OK);
	rr = ldns_rr_list_rr(ldns_pkt_authority(q), 0);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	ldns_pkt_free(q);
}

static void
test_refused(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_ANSWER, DNS_UPDATE_ADD);
	fx->server.reply.rcode = LDNS_RCODE_REFUSED;
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_RCODE);
	assert_message(fx, "REFUSED for " NAME " (zone a.example)");
}

static void
test_bad_tsig(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_ANSWER, DNS_UPDATE_ADD);
	fx->server.reply.key = fx->other;
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_TSIG);
	assert_message(fx,
	               "NOERROR for " NAME " (zone a.example): the reply's MAC does not verify");
}

static void
test_badsig(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_ANSWER, DNS_UPDATE_ADD);
	fx->server.reply.rcode = LDNS_RCODE_NOTAUTH;
	fx->server.reply.tsig_error = 16;
	run(fx, 30);
	assert_int_equal(fx->result, DNS_UPDATE_TSIG);
	assert_message(fx, "TSIG BADSIG (key \"acmed\")");
}

static void
test_no_answer(void **state)
{
	struct fx *fx = *state;
	char want[128];

	start(fx, DNS_FAKE_SILENT, DNS_UPDATE_ADD);
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_NO_ANSWER);
	snprintf(want, sizeof(want), "no answer after 3 tries (%g s each)", TRY_S);
	assert_message(fx, want);
	/* The same message each time. */
	assert_int_equal(fx->server.udp_queries, DNS_UPDATE_TRIES);
	assert_int_equal(fx->server.verified, DNS_UPDATE_TRIES);
}

static void
test_refused_port(void **state)
{
	struct fx *fx = *state;
	char err[256];
	int port;

	/* A port nothing listens on: the ICMP errors are told. */
	dns_fake_start(&fx->server, fx->loop, DNS_FAKE_SILENT, fx->key);
	port = fx->server.port;
	dns_fake_stop(&fx->server);
	snprintf(fx->address, sizeof(fx->address), "127.0.0.1:%d", port);
	assert_int_equal(dns_update_send(fx->loop, fx->address, fx->key, "a.example",
	                                 DNS_UPDATE_ADD, NAME, VALUE, TRY_S, on_done, fx, &fx->u,
	                                 err, sizeof(err)),
	                 0);
	assert_int_equal(fx->calls, 0);
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_NO_ANSWER);
	assert_message(fx, "no answer after 3 tries");
	assert_non_null(strstr(fx->message, "Connection refused"));
}

static void
test_truncated_then_tcp(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_TRUNCATE, DNS_UPDATE_ADD);
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_OK);
	assert_message(fx, "over TCP: added a TXT record of " NAME);
	assert_int_equal(fx->server.udp_queries, 1);
	assert_int_equal(fx->server.tcp_queries, 1);
	assert_int_equal(fx->server.verified, 2);
}

static void
test_truncated_then_tcp_refused(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_TRUNCATE, DNS_UPDATE_ADD);
	fx->server.reply.rcode = LDNS_RCODE_NOTZONE;
	run(fx, 30);
	assert_int_equal(fx->result, DNS_UPDATE_RCODE);
	assert_message(fx, "over TCP: NOTZONE for " NAME " (zone a.example)");
}

static void
test_tcp_closed(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_TCP_CLOSE, DNS_UPDATE_ADD);
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_NO_ANSWER);
	assert_message(fx, "over TCP: the server closed the connection before its reply");
}

/* A signed NOERROR with another id comes first: ignored, the REFUSED that
 * follows is the answer. */
static void
test_wrong_id_ignored(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_WRONG_ID_FIRST, DNS_UPDATE_ADD);
	fx->server.reply.rcode = LDNS_RCODE_REFUSED;
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_RCODE);
	assert_message(fx, "REFUSED for ");
}

/* A signed NOERROR from another port of 127.0.0.1 comes first: not from
 * the server asked, never read. */
static void
test_other_source_ignored(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_SPOOF_FIRST, DNS_UPDATE_ADD);
	fx->server.reply.rcode = LDNS_RCODE_REFUSED;
	run(fx, 30);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->result, DNS_UPDATE_RCODE);
}

static void
test_cancel(void **state)
{
	struct fx *fx = *state;

	start(fx, DNS_FAKE_SILENT, DNS_UPDATE_ADD);
	/* Until the server has the first try. */
	for (int i = 0; i < 100 && fx->server.udp_queries == 0; i++) {
		ev_run(fx->loop, EVRUN_ONCE);
	}
	assert_int_equal(fx->server.udp_queries, 1);
	dns_update_cancel(fx->u);
	fx->u = NULL;
	/* Past every try: no more queries, no call. */
	run(fx, TRY_S * (DNS_UPDATE_TRIES + 1));
	assert_int_equal(fx->calls, 0);
	assert_int_equal(fx->server.udp_queries, 1);
	dns_update_cancel(NULL);
}

/* Errors before anything is sent: -1, a reason, done never called. */
static void
test_send_errors(void **state)
{
	static const struct {
		const char *server, *zone, *name, *err;
	} cases[] = {
	        {"ns1.example", "a.example", NAME, "dns-update ns1.example: not an IP address"},
	        {"127.0.0.1:0", "a.example", NAME, "dns-update 127.0.0.1:0: not an address"},
	        {"127.0.0.1:5353", "b.example", NAME,
	         "dns-update 127.0.0.1:5353: " NAME " is not in zone b.example"},
	};
	struct fx *fx = *state;
	struct dns_update *u = (struct dns_update *)1;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dns_update_send(fx->loop, cases[i].server, fx->key, cases[i].zone,
		                                 DNS_UPDATE_ADD, NAME, VALUE, 0, on_done, fx, &u,
		                                 err, sizeof(err)),
		                 -1);
		assert_null(u);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0) {
			fail_msg("case %zu: \"%s\"", i, err);
		}
	}
	run(fx, 0.05);
	assert_int_equal(fx->calls, 0);
}

static void
test_server_parse(void **state)
{
	static const struct {
		const char *in, *name;
		int family, port;
	} good[] = {
	        {"127.0.0.1", "127.0.0.1:53", AF_INET, 53},
	        {"127.0.0.1:5353", "127.0.0.1:5353", AF_INET, 5353},
	        {"192.0.2.1:65535", "192.0.2.1:65535", AF_INET, 65535},
	        {"::1", "[::1]:53", AF_INET6, 53},
	        {"[::1]", "[::1]:53", AF_INET6, 53},
	        {"[2001:db8::0:1]:5300", "[2001:db8::1]:5300", AF_INET6, 5300},
	};
	static const char *const bad[] = {
	        "",      "127.0.0.1:", "127.0.0.1:0",   "127.0.0.1:65536", "127.0.0.1:x",
	        "[::1",  "[::1]x",     "[::1]:",        "[127.0.0.1]:53",  "ns1.example:53",
	        "1.2.3", "::1:53:x",   "127.0.0.1:53 ", "[]:53",           "127.0.0.1:1234567",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char name[64], err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (dns_update_server_parse(good[i].in, &ss, &len, name, sizeof(name), err,
		                            sizeof(err)) < 0) {
			fail_msg("%s: %s", good[i].in, err);
		}
		assert_string_equal(name, good[i].name);
		assert_int_equal(ss.ss_family, good[i].family);
		assert_int_equal(ntohs(good[i].family == AF_INET
		                               ? ((struct sockaddr_in *)&ss)->sin_port
		                               : ((struct sockaddr_in6 *)&ss)->sin6_port),
		                 good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_update_server_parse(bad[i], &ss, &len, name, sizeof(name), err,
		                            sizeof(err)) == 0) {
			fail_msg("\"%s\" parsed", bad[i]);
		}
		assert_non_null(strstr(err, "dns-update "));
	}
	assert_string_equal(dns_update_result_name(DNS_UPDATE_OK), "ok");
	assert_string_equal(dns_update_result_name(DNS_UPDATE_NO_ANSWER), "no-answer");
	assert_string_equal(dns_update_result_name(DNS_UPDATE_RESULT__MAX), "?");
}

/* dns-update as the setting takes it: an address as before, or a host
 * name (lower cased) with its port, for the caller to resolve; a
 * mistyped address is no name. */
static void
test_server_split(void **state)
{
	static const struct {
		const char *in;
		const char *host;
		int port;
		bool is_name;
	} good[] = {
	        {"127.0.0.1", "127.0.0.1", 53, false},
	        {"[2001:db8::0:1]:5300", "2001:db8::1", 5300, false},
	        {"::1", "::1", 53, false},
	        {"ns1.example", "ns1.example", 53, true},
	        {"NS1.Example:5353", "ns1.example", 5353, true},
	        {"primary", "primary", 53, true},
	};
	static const char *const bad[] = {
	        "",
	        "1.2.3",
	        "1.2.3:53",
	        "ns1.example:0",
	        "ns1.example:",
	        "[ns1.example]:53",
	        "*.example",
	        "ns1..example",
	        "ns1.example:53:1",
	        "a b",
	        "https://ns1.example/",
	};
	char host[DNS_UPDATE_HOST_MAX + 1], err[256];
	bool is_name;
	int port;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (dns_update_server_split(good[i].in, host, sizeof(host), &port, &is_name, err,
		                            sizeof(err)) < 0) {
			fail_msg("%s: %s", good[i].in, err);
		}
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
		assert_int_equal(is_name, good[i].is_name);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_update_server_split(bad[i], host, sizeof(host), &port, &is_name, err,
		                            sizeof(err)) == 0) {
			fail_msg("\"%s\" taken as %s", bad[i], host);
		}
		assert_non_null(strstr(err, "dns-update "));
		assert_non_null(strstr(err, "not an address or host name"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_server_parse),
	        cmocka_unit_test(test_server_split),
	        cmocka_unit_test_setup_teardown(test_added, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deleted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_tsig, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_badsig, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused_port, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated_then_tcp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated_then_tcp_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tcp_closed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_id_ignored, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_source_ignored, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
