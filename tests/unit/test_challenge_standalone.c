/* The standalone http-01 responder asking its remote for tokens it does
 * not hold (challenge_set_remote); its own tokens are test_challenge.c's. */
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

#define PATH "/.well-known/acme-challenge/"
#define OTHER "other-token_1"

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
	f->ch = challenge_standalone_create(f->loop, listen);
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
with_remote(struct fixture *f, enum fake_mode mode)
{
	fake_remote_init(&f->fr, f->loop, mode, TOKEN, KEY_AUTH);
	challenge_set_remote(f->ch, &f->fr.remote);
}

static char *
get(struct fixture *f, const char *method, const char *path)
{
	struct client_http h;

	client_http_start(f->loop, &h, f->port, method, path);
	return strdup(client_http_finish(&h));
}

static void
assert_response(char *response, const char *status, const char *body)
{
	const char *end = strstr(response, "\r\n\r\n");

	assert_non_null(end);
	assert_int_equal(strncmp(response, status, strlen(status)), 0);
	assert_string_equal(end + 4, body);
	free(response);
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

	assert_response(get(f, "GET", PATH TOKEN), "HTTP/1.1 404 ", "not found\n");
}

static void
test_immediate(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = {.identifier = "example.org", .token = OTHER, .key_auth = "x.y"};
	bool done = false;

	with_remote(f, FAKE_IMMEDIATE);
	assert_response(get(f, "GET", PATH TOKEN), "HTTP/1.1 200 OK\r\n", KEY_AUTH);
	assert_int_equal(f->fr.lookups, 1);
	assert_int_equal(f->fr.type, CHALLENGE_TYPE_HTTP01);
	assert_string_equal(f->fr.last_key, TOKEN);
	assert_response(get(f, "HEAD", PATH TOKEN), "HTTP/1.1 200 OK\r\n", "");
	/* Unknown to the remote too. */
	assert_response(get(f, "GET", PATH OTHER), "HTTP/1.1 404 ", "not found\n");
	assert_int_equal(f->fr.lookups, 3);

	/* Its own tokens and what is no token are never asked. */
	assert_int_equal(f->ch->ops->present(f->ch, &t, on_done, &done), 0);
	client_run_until(f->loop, &done, 5.);
	assert_response(get(f, "GET", PATH OTHER), "HTTP/1.1 200 OK\r\n", "x.y");
	assert_response(get(f, "GET", PATH "bad%20token"), "HTTP/1.1 404 ", "not found\n");
	assert_response(get(f, "GET", "/elsewhere"), "HTTP/1.1 404 ", "not found\n");
	assert_response(get(f, "POST", PATH TOKEN), "HTTP/1.1 404 ", "not found\n");
	assert_int_equal(f->fr.lookups, 3);
	assert_int_equal(f->fr.cancels, 0);
}

static void
test_delayed(void **state)
{
	struct fixture *f = *state;
	struct client_http h[3];

	with_remote(f, FAKE_DELAYED);
	/* Long enough for the three to be asked before any answer, under
	 * valgrind too. */
	f->fr.delay = 2.0;
	/* Several at once, as a CA's perspectives come. */
	client_http_start(f->loop, &h[0], f->port, "GET", PATH TOKEN);
	client_http_start(f->loop, &h[1], f->port, "GET", PATH OTHER);
	client_http_start(f->loop, &h[2], f->port, "HEAD", PATH TOKEN);
	client_run_until_count(f->loop, &f->fr.lookups, 3, 10.);
	assert_int_equal(f->fr.lookups, 3);
	assert_int_equal(f->fr.founds, 0);
	assert_false(h[0].eof);
	assert_response(strdup(client_http_finish(&h[0])), "HTTP/1.1 200 OK\r\n", KEY_AUTH);
	assert_response(strdup(client_http_finish(&h[1])), "HTTP/1.1 404 ", "not found\n");
	assert_response(strdup(client_http_finish(&h[2])), "HTTP/1.1 200 OK\r\n", "");
	assert_int_equal(f->fr.founds, 3);
	assert_int_equal(f->fr.cancels, 0);
}

static void
test_refused(void **state)
{
	struct fixture *f = *state;

	with_remote(f, FAKE_REFUSE);
	assert_response(get(f, "GET", PATH TOKEN), "HTTP/1.1 404 ", "not found\n");
	assert_int_equal(f->fr.lookups, 1);
}

/* The client leaves while the remote is asked: the answer finds the
 * connection still there (its send fails and closes it). */
static void
test_client_gone_then_answer(void **state)
{
	struct fixture *f = *state;
	struct client_http h;

	with_remote(f, FAKE_NEVER);
	client_http_start(f->loop, &h, f->port, "GET", PATH TOKEN);
	client_run_until_count(f->loop, &f->fr.lookups, 1, 10.);
	assert_int_equal(f->fr.lookups, 1);
	client_http_drop(&h);
	client_run_for(f->loop, 0.05);
	fake_remote_answer(&f->fr);
	client_run_for(f->loop, 0.05);
	assert_int_equal(f->fr.cancels, 0);
	f->fr.mode = FAKE_IMMEDIATE;
	assert_response(get(f, "GET", PATH TOKEN), "HTTP/1.1 200 OK\r\n", KEY_AUTH);
}

/* The responder goes while a lookup waits: cancelled, never answered. */
static void
test_destroyed_while_waiting(void **state)
{
	struct fixture *f = *state;
	struct client_http h;

	with_remote(f, FAKE_NEVER);
	client_http_start(f->loop, &h, f->port, "GET", PATH TOKEN);
	client_run_until_count(f->loop, &f->fr.lookups, 1, 10.);
	assert_int_equal(f->fr.lookups, 1);
	challenge_destroy(f->ch);
	f->ch = NULL;
	assert_int_equal(f->fr.cancels, 1);
	assert_null(f->fr.waiting);
	client_http_finish(&h);
	assert_int_equal(h.len, 0);
	assert_int_equal(f->fr.founds, 0);
}

/* The connection's timer runs out while the remote says nothing. */
static void
test_timeout_cancels(void **state)
{
	struct fixture *f = *state;
	struct client_http h;

	with_remote(f, FAKE_NEVER);
	client_http_start(f->loop, &h, f->port, "GET", PATH TOKEN);
	client_http_finish(&h);
	assert_int_equal(h.len, 0);
	assert_int_equal(f->fr.lookups, 1);
	assert_int_equal(f->fr.cancels, 1);
	assert_int_equal(f->fr.founds, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_without_remote, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_immediate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_gone_then_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroyed_while_waiting, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_cancels, setup, teardown),
	};

	/* As main.c: a peer gone shows as EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
