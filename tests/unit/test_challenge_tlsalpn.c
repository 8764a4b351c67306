/* The tls-alpn-01 responder asking its remote for names it does not hold
 * (challenge_set_remote), the handshake held in the ClientHello callback
 * meanwhile; its own names are test_challenge.c's. */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "challenge_client.h"

#define ALPN "acme-tls/1"

struct fixture {
	struct ev_loop *loop;
	struct fake_remote fr;
	struct challenge *ch;
	int port;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char listen[64];

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	f->port = client_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	f->ch = challenge_tlsalpn_create(f->loop, listen);
	assert_non_null(f->ch);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	challenge_destroy(f->ch);
	fake_remote_finish(&f->fr);
	free(f);
	return 0;
}

static void
with_remote(struct fixture *f, enum fake_mode mode, const char *key)
{
	fake_remote_init(&f->fr, f->loop, mode, key, KEY_AUTH);
	challenge_set_remote(f->ch, &f->fr.remote);
}

static void
handshake(struct fixture *f, const char *sni, const char *alpn, struct client_tls_seen *seen)
{
	struct client_tls t;

	client_tls_start(f->loop, &t, f->port, sni, alpn);
	client_tls_finish(&t, seen);
}

static void
on_done(int rc, const char *message, void *arg)
{
	(void)message;
	assert_int_equal(rc, 0);
	*(bool *)arg = true;
}

static void
test_without_remote(void **state)
{
	struct fixture *f = *state;
	struct client_tls_seen seen;

	handshake(f, "example.org", ALPN, &seen);
	assert_false(seen.ok);
}

static void
test_immediate(void **state)
{
	struct fixture *f = *state;
	struct client_tls_seen seen;

	with_remote(f, FAKE_IMMEDIATE, "example.org");
	handshake(f, "Example.ORG", ALPN, &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.alpn, ALPN);
	assert_string_equal(seen.san, "DNS:example.org;");
	client_tls_assert_identifier(&seen, KEY_AUTH);
	assert_int_equal(f->fr.lookups, 1);
	assert_int_equal(f->fr.type, CHALLENGE_TYPE_TLSALPN01);
	assert_string_equal(f->fr.last_key, "example.org");

	/* Unknown to the remote: no certificate. */
	handshake(f, "other.example", ALPN, &seen);
	assert_false(seen.ok);
	assert_int_equal(f->fr.lookups, 2);
	/* No validation server, no question. */
	handshake(f, "example.org", "http/1.1", &seen);
	assert_false(seen.ok);
	handshake(f, NULL, ALPN, &seen);
	assert_false(seen.ok);
	handshake(f, "bad_name!", ALPN, &seen);
	assert_false(seen.ok);
	assert_int_equal(f->fr.lookups, 2);
}

static void
test_own_names_first(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = {.id_type = IDENT_DNS,
	                           .identifier = "example.org",
	                           .token = TOKEN,
	                           .key_auth = TOKEN ".own"};
	struct client_tls_seen seen;
	bool done = false;

	with_remote(f, FAKE_IMMEDIATE, "example.org");
	assert_int_equal(f->ch->ops->present(f->ch, &t, on_done, &done), 0);
	client_run_until(f->loop, &done, 5.);
	handshake(f, "example.org", ALPN, &seen);
	assert_true(seen.ok);
	client_tls_assert_identifier(&seen, TOKEN ".own");
	assert_int_equal(f->fr.lookups, 0);
}

static void
test_delayed(void **state)
{
	struct fixture *f = *state;
	struct client_tls t[2];
	struct client_tls_seen seen;

	with_remote(f, FAKE_DELAYED, "example.org");
	/* Long enough for both handshakes to be asked before either answer,
	 * under valgrind too. */
	f->fr.delay = 2.0;
	client_tls_start(f->loop, &t[0], f->port, "example.org", ALPN);
	client_tls_start(f->loop, &t[1], f->port, "other.example", ALPN);
	client_run_until_count(f->loop, &f->fr.lookups, 2, 10.);
	assert_int_equal(f->fr.lookups, 2);
	assert_int_equal(f->fr.founds, 0);
	client_tls_finish(&t[0], &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.san, "DNS:example.org;");
	client_tls_assert_identifier(&seen, KEY_AUTH);
	client_tls_finish(&t[1], &seen);
	assert_false(seen.ok);
	assert_int_equal(f->fr.founds, 2);
	assert_int_equal(f->fr.cancels, 0);
}

/* An IP address is asked for by its reverse-DNS name (RFC 8738): the key
 * is the address, the certificate names it. */
static void
test_ip_addresses(void **state)
{
	struct fixture *f = *state;
	struct client_tls_seen seen;
	struct challenge_task t = {.id_type = IDENT_IP, .identifier = "2001:DB8:0::7"};
	char key[64];

	with_remote(f, FAKE_DELAYED, "192.0.2.7");
	handshake(f, "7.2.0.192.in-addr.arpa", ALPN, &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.san, "IP:192.0.2.7;");
	assert_string_equal(f->fr.last_key, "192.0.2.7");

	/* The publisher's key for an address is the same spelling. */
	assert_int_equal(challenge_remote_key(CHALLENGE_TYPE_TLSALPN01, &t, key, sizeof(key)), 0);
	assert_string_equal(key, "2001:db8::7");
	f->fr.key = "2001:db8::7";
	handshake(f, "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	          ALPN, &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.san, "IP:2001:db8::7;");
	assert_string_equal(f->fr.last_key, "2001:db8::7");
	/* Spellings acmed never presents are not asked. */
	handshake(f, "007.2.0.192.in-addr.arpa", ALPN, &seen);
	assert_false(seen.ok);
	handshake(f, "7.2.0.256.in-addr.arpa", ALPN, &seen);
	assert_false(seen.ok);
	assert_int_equal(f->fr.lookups, 2);
}

/* The client leaves while the remote is asked; the answer comes after. */
static void
test_client_gone_then_answer(void **state)
{
	struct fixture *f = *state;
	struct client_tls t;
	struct client_tls_seen seen;

	with_remote(f, FAKE_NEVER, "example.org");
	client_tls_start(f->loop, &t, f->port, "example.org", ALPN);
	client_run_until_count(f->loop, &f->fr.lookups, 1, 10.);
	assert_int_equal(f->fr.lookups, 1);
	kill(t.pid, SIGKILL);
	client_http_finish(&t.pipe);
	client_run_for(f->loop, 0.05);
	fake_remote_answer(&f->fr);
	client_run_for(f->loop, 0.05);
	assert_int_equal(f->fr.cancels, 0);
	f->fr.mode = FAKE_IMMEDIATE;
	handshake(f, "example.org", ALPN, &seen);
	assert_true(seen.ok);
}

/* The responder goes while a handshake waits: the lookup is cancelled. */
static void
test_destroyed_while_waiting(void **state)
{
	struct fixture *f = *state;
	struct client_tls t;
	struct client_tls_seen seen;

	with_remote(f, FAKE_NEVER, "example.org");
	client_tls_start(f->loop, &t, f->port, "example.org", ALPN);
	client_run_until_count(f->loop, &f->fr.lookups, 1, 10.);
	assert_int_equal(f->fr.lookups, 1);
	challenge_destroy(f->ch);
	f->ch = NULL;
	assert_int_equal(f->fr.cancels, 1);
	client_tls_finish(&t, &seen);
	assert_false(seen.ok);
	assert_int_equal(f->fr.founds, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_without_remote, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_immediate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_own_names_first, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ip_addresses, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_gone_then_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroyed_while_waiting, setup, teardown),
	};

	/* As main.c: a peer gone shows as EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
