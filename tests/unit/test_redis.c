#include "io/redis.h"

#include "base/log.h"

#include <ev.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
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
#include <hiredis/hiredis.h>

#include "capture.h"
#include "redis_server.h"
#include "tmpdir.h"

#define PASSWORD "test-pw-8b1f"
#define WRONG_PASSWORD "wrong-pw-c7d2"

/* Where redis_destroy is called from, for the tests that destroy inside
 * a callback of the connection. */
enum destroy_in {
	DESTROY_IN_NONE,
	DESTROY_IN_UP,
	DESTROY_IN_DOWN,
	DESTROY_IN_REPLY,
	DESTROY_IN_MESSAGE,
	DESTROY_IN_FAILURE,
};

/* What one command's callback got. */
struct call {
	struct fixture *f;
	int calls;
	bool inside; /* called from inside redis_command */
	bool got_reply;
	int type;
	char str[256];
	size_t len;
	long long integer;
	char err[256];
	bool destroy; /* destroys the connection from inside */
};

struct fixture {
	struct ev_loop *loop;
	struct ev_timer watchdog;
	bool expired;
	struct redis_server server;
	struct redis *r;
	enum destroy_in destroy_in;
	int ups;
	int downs;
	char down_why[256];
	int messages;
	char channel[64];
	char message[64];
	size_t message_len;
	bool in_call; /* inside redis_command */
	struct capture capture;
	bool capturing;
	char log[CAPTURE_MAX * 2];
};

/* The log so far, gathered from the capture. */
static const char *
log_text(struct fixture *f)
{
	if (f->capturing) {
		size_t n = strlen(f->log);

		snprintf(f->log + n, sizeof(f->log) - n, "%s", capture_take(&f->capture));
	}
	return f->log;
}

static void
capture_stop(struct fixture *f)
{
	if (f->capturing) {
		log_text(f);
		capture_end(&f->capture);
		f->capturing = false;
		/* What was logged, for a failing test's reader. */
		fprintf(stderr, "%s", f->log);
	}
}

static int
count(const char *text, const char *part)
{
	int n = 0;

	for (const char *p = strstr(text, part); p != NULL; p = strstr(p + 1, part)) {
		n++;
	}
	return n;
}

static void
on_watchdog(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct fixture *f = w->data;

	f->expired = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until done(f) (or seconds pass: fails the test). */
static void
run_until(struct fixture *f, bool (*done)(struct fixture *), double seconds, const char *what)
{
	f->expired = false;
	ev_now_update(f->loop);
	ev_timer_set(&f->watchdog, seconds, 0.);
	ev_timer_start(f->loop, &f->watchdog);
	while (!done(f) && !f->expired) {
		ev_run(f->loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->loop, &f->watchdog);
	if (!done(f)) {
		capture_stop(f);
		fail_msg("still waiting after %.1f s for %s", seconds, what);
	}
}

/* Runs the loop for seconds. */
static void
run_for(struct fixture *f, double seconds)
{
	f->expired = false;
	ev_now_update(f->loop);
	ev_timer_set(&f->watchdog, seconds, 0.);
	ev_timer_start(f->loop, &f->watchdog);
	while (!f->expired) {
		ev_run(f->loop, EVRUN_ONCE);
	}
}

static bool
is_up(struct fixture *f)
{
	return f->ups > 0 && redis_up(f->r);
}

static bool
is_down(struct fixture *f)
{
	return f->downs > 0;
}

static bool
got_message(struct fixture *f)
{
	return f->messages > 0;
}

static void
on_up(void *arg)
{
	struct fixture *f = arg;

	assert_false(f->in_call);
	f->ups++;
	if (f->destroy_in == DESTROY_IN_UP) {
		redis_destroy(f->r);
		f->r = NULL;
	}
}

static void
on_down(const char *why, void *arg)
{
	struct fixture *f = arg;

	assert_false(f->in_call);
	f->downs++;
	snprintf(f->down_why, sizeof(f->down_why), "%s", why);
	if (f->destroy_in == DESTROY_IN_DOWN) {
		redis_destroy(f->r);
		f->r = NULL;
	}
}

static void
on_message(const char *channel, const char *message, size_t len, void *arg)
{
	struct fixture *f = arg;

	f->messages++;
	snprintf(f->channel, sizeof(f->channel), "%s", channel);
	assert_true(len < sizeof(f->message));
	memcpy(f->message, message, len);
	f->message_len = len;
	if (f->destroy_in == DESTROY_IN_MESSAGE) {
		redis_destroy(f->r);
		f->r = NULL;
	}
}

static void
on_reply(struct redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;

	c->calls++;
	c->inside = c->f->in_call;
	c->got_reply = reply != NULL;
	if (reply != NULL) {
		c->type = reply->type;
		c->integer = reply->integer;
		c->len = reply->str != NULL ? reply->len : 0;
		assert_true(c->len < sizeof(c->str));
		memcpy(c->str, reply->str != NULL ? reply->str : "", c->len);
		c->str[c->len] = '\0';
		assert_null(err);
	} else {
		assert_non_null(err);
		assert_true(err[0] != '\0');
		snprintf(c->err, sizeof(c->err), "%s", err);
	}
	if (c->destroy) {
		redis_destroy(c->f->r);
		c->f->r = NULL;
	}
}

static struct call *
call_new(struct fixture *f)
{
	struct call *c = test_calloc(1, sizeof(*c));

	c->f = f;
	return c;
}

static struct call *
command(struct fixture *f, int argc, const char **argv, const size_t *lens)
{
	struct call *c = call_new(f);

	f->in_call = true;
	assert_int_equal(redis_command(f->r, on_reply, c, argc, argv, lens), 0);
	f->in_call = false;
	assert_int_equal(c->calls, 0);
	return c;
}

/* redis_commandf with one string argument. */
static struct call *
commandf(struct fixture *f, const char *fmt, const char *arg)
{
	struct call *c = call_new(f);

	f->in_call = true;
	assert_int_equal(redis_commandf(f->r, on_reply, c, fmt, arg), 0);
	f->in_call = false;
	assert_int_equal(c->calls, 0);
	return c;
}

static struct call *waited;

static bool
answered(struct fixture *f)
{
	return waited->calls > 0;
}

static void
wait_call(struct fixture *f, struct call *c)
{
	waited = c;
	run_until(f, answered, 5, "a command's callback");
}

static void
connect_with(struct fixture *f, int port, int db, const char *password)
{
	struct redis_config config = {.on_up = on_up, .on_down = on_down, .arg = f};

	snprintf(config.address.host, sizeof(config.address.host), "127.0.0.1");
	config.address.port = port;
	config.address.db = db;
	config.password = password;
	f->r = redis_create(f->loop, &config);
	assert_non_null(f->r);
}

static void
capture_start(struct fixture *f)
{
	capture_begin(&f->capture, false);
	f->capturing = true;
	log_init("test_redis", LOG_LEVEL_INFO, false);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	ev_timer_init(&f->watchdog, on_watchdog, 1., 0.);
	f->watchdog.data = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	capture_stop(f);
	redis_destroy(f->r);
	redis_server_finish(&f->server);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

static long long
publish(struct fixture *f, const char *channel, const char *message, size_t len)
{
	redisReply *reply =
	        redis_server_command(&f->server, 0, "PUBLISH %s %b", channel, message, len);
	long long n;

	assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
	n = reply->integer;
	freeReplyObject(reply);
	return n;
}

/* Connects, SET and GET a value with a NUL inside (argv with lengths). */
static void
test_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *set[] = {"SET", "k", "a\0b"};
	const size_t set_lens[] = {3, 1, 3};
	const char *get[] = {"GET", "k"};
	struct call *c;
	char name[64];

	redis_server_start(&f->server, NULL);
	capture_start(f);
	connect_with(f, f->server.port, 0, NULL);
	assert_false(redis_up(f->r));
	assert_int_equal(f->ups, 0); /* never from inside redis_create */
	snprintf(name, sizeof(name), "redis://127.0.0.1:%d/0", f->server.port);
	assert_string_equal(redis_name(f->r), name);
	run_until(f, is_up, 5, "on_up");
	assert_int_equal(f->ups, 1);
	/* PING on each connection */
	assert_int_equal(redis_commands_sent(f->r), 2);

	c = command(f, 3, set, set_lens);
	wait_call(f, c);
	assert_int_equal(c->calls, 1);
	assert_false(c->inside);
	assert_int_equal(c->type, REDIS_REPLY_STATUS);
	assert_string_equal(c->str, "OK");
	test_free(c);

	c = command(f, 2, get, NULL);
	wait_call(f, c);
	assert_int_equal(c->type, REDIS_REPLY_STRING);
	assert_int_equal(c->len, 3);
	assert_memory_equal(c->str, "a\0b", 3);
	test_free(c);

	/* An error reply is a reply. */
	c = commandf(f, "INCR %s", "k");
	wait_call(f, c);
	assert_int_equal(c->type, REDIS_REPLY_ERROR);
	test_free(c);
	assert_int_equal(redis_commands_sent(f->r), 5);

	/* Commands that would break the connection's reply order fail
	 * through the callback, unsent. */
	c = commandf(f, "SUBSCRIBE %s", "x");
	wait_call(f, c);
	assert_false(c->got_reply);
	assert_non_null(strstr(c->err, "redis_subscribe"));
	test_free(c);
	c = command(f, 0, get, NULL);
	wait_call(f, c);
	assert_false(c->got_reply);
	test_free(c);
	assert_int_equal(redis_commands_sent(f->r), 5);

	/* The first connect is logged at debug level (the user says "ready"). */
	assert_int_equal(count(log_text(f), "connected to redis://127.0.0.1"), 0);
	assert_int_equal(count(log_text(f), "unreachable"), 0);
}

static void
test_auth(void **state)
{
	struct fixture *f = *state;
	const struct redis_server_options o = {.password = PASSWORD};
	const char *get[] = {"GET", "k"};
	struct call *c;

	redis_server_start(&f->server, &o);
	capture_start(f);
	connect_with(f, f->server.port, 0, PASSWORD);
	run_until(f, is_up, 5, "on_up with the password");
	c = command(f, 2, get, NULL);
	wait_call(f, c);
	assert_int_equal(c->type, REDIS_REPLY_NIL);
	test_free(c);
	redis_destroy(f->r);
	f->r = NULL;

	/* A wrong password: retried with the backoff, said once. */
	f->ups = 0;
	connect_with(f, f->server.port, 0, WRONG_PASSWORD);
	run_for(f, 2.2);
	assert_int_equal(f->ups, 0);
	assert_false(redis_up(f->r));
	/* Attempts at 0, 0.5 and 1.5 s: AUTH and PING on both connections. */
	assert_true(redis_commands_sent(f->r) >= 12);
	assert_int_equal(count(log_text(f), "authentication failed (WRONGPASS"), 1);
	assert_int_equal(count(log_text(f), "check cluster-password-file"), 1);
	redis_destroy(f->r);
	f->r = NULL;

	/* None while the server asks for one. */
	connect_with(f, f->server.port, 0, NULL);
	run_for(f, 1.0);
	assert_int_equal(f->ups, 0);
	assert_int_equal(count(log_text(f), "asks for a password (NOAUTH"), 1);
	assert_null(strstr(log_text(f), PASSWORD));
	assert_null(strstr(log_text(f), WRONG_PASSWORD));
	/* The right password's first connect at debug level, then the two. */
	assert_int_equal(count(log_text(f), "\n"), 2);
}

/* A password file is read again at each attempt: corrected while the
 * node retries, it is taken without a restart. */
static void
test_auth_file(void **state)
{
	struct fixture *f = *state;
	const struct redis_server_options o = {.password = PASSWORD};
	struct redis_config config = {.on_up = on_up, .on_down = on_down, .arg = f};
	char *dir = tmpdir_make("redis-auth");
	char *path = tmpdir_write(dir, "password", WRONG_PASSWORD "\n", 0600);

	redis_server_start(&f->server, &o);
	capture_start(f);
	snprintf(config.address.host, sizeof(config.address.host), "127.0.0.1");
	config.address.port = f->server.port;
	config.password_file = path;
	f->r = redis_create(f->loop, &config);
	assert_non_null(f->r);
	run_for(f, 1.0);
	assert_int_equal(f->ups, 0);
	assert_int_equal(count(log_text(f), "authentication failed (WRONGPASS"), 1);
	free(tmpdir_write(dir, "password", PASSWORD "\n", 0600));
	run_until(f, is_up, 10, "on_up once the file is corrected");
	assert_int_equal(count(log_text(f), "changed: using it"), 1);
	assert_null(strstr(log_text(f), PASSWORD));
	redis_destroy(f->r);
	f->r = NULL;
	tmpdir_remove(dir);
	free(dir);
	free(path);
}

static void
test_select(void **state)
{
	struct fixture *f = *state;
	const char *set[] = {"SET", "in-db-3", "yes"};
	redisReply *reply;
	struct call *c;

	redis_server_start(&f->server, NULL);
	connect_with(f, f->server.port, 3, NULL);
	run_until(f, is_up, 5, "on_up");
	/* SELECT and PING, PING */
	assert_int_equal(redis_commands_sent(f->r), 3);
	c = command(f, 3, set, NULL);
	wait_call(f, c);
	assert_string_equal(c->str, "OK");
	test_free(c);

	reply = redis_server_command(&f->server, 3, "GET in-db-3");
	assert_int_equal(reply->type, REDIS_REPLY_STRING);
	assert_string_equal(reply->str, "yes");
	freeReplyObject(reply);
	reply = redis_server_command(&f->server, 0, "GET in-db-3");
	assert_int_equal(reply->type, REDIS_REPLY_NIL);
	freeReplyObject(reply);
}

static void
test_subscribe(void **state)
{
	struct fixture *f = *state;

	redis_server_start(&f->server, NULL);
	connect_with(f, f->server.port, 0, NULL);
	assert_int_equal(redis_subscribe(f->r, "ch1", on_message, f), 0);
	run_until(f, is_up, 5, "on_up");
	/* on_up waits for the subscription: a publish after it is heard. */
	assert_int_equal(publish(f, "ch1", "m\0x", 3), 1);
	run_until(f, got_message, 5, "the message on ch1");
	assert_string_equal(f->channel, "ch1");
	assert_int_equal(f->message_len, 3);
	assert_memory_equal(f->message, "m\0x", 3);

	/* Subscribed at once while up. */
	f->messages = 0;
	assert_int_equal(redis_subscribe(f->r, "ch2", on_message, f), 0);
	for (int i = 0; i < 100 && publish(f, "ch2", "two", 3) == 0; i++) {
		run_for(f, 0.02);
	}
	run_until(f, got_message, 5, "the message on ch2");
	assert_string_equal(f->channel, "ch2");
	assert_memory_equal(f->message, "two", 3);
	/* PING, PING, SUBSCRIBE ch1, SUBSCRIBE ch2 */
	assert_int_equal(redis_commands_sent(f->r), 4);
}

/* The server stopped (SIGTERM) and started again on the same port and
 * AOF: down once, commands failing through the callback meanwhile, up
 * again, subscriptions renewed, the data kept. */
static void
test_restart(void **state)
{
	struct fixture *f = *state;
	const struct redis_server_options o = {.password = PASSWORD, .aof = true};
	const char *set[] = {"SET", "kept", "1"};
	const char *get[] = {"GET", "kept"};
	struct call *c;

	redis_server_start(&f->server, &o);
	capture_start(f);
	connect_with(f, f->server.port, 0, PASSWORD);
	assert_int_equal(redis_subscribe(f->r, "news", on_message, f), 0);
	run_until(f, is_up, 5, "on_up");
	c = command(f, 3, set, NULL);
	wait_call(f, c);
	test_free(c);

	redis_server_stop(&f->server);
	run_until(f, is_down, 5, "on_down");
	assert_false(redis_up(f->r));
	assert_true(f->down_why[0] != '\0');
	c = command(f, 2, get, NULL);
	wait_call(f, c);
	assert_int_equal(c->calls, 1);
	assert_false(c->inside);
	assert_false(c->got_reply);
	assert_non_null(strstr(c->err, "not connected"));
	test_free(c);
	run_for(f, 1.6); /* two retries */
	assert_int_equal(f->downs, 1);
	assert_int_equal(count(log_text(f), "unreachable"), 1);
	assert_int_equal(count(log_text(f), "serving local files, retrying"), 1);

	redis_server_restart(&f->server);
	run_until(f, is_up, 10, "on_up after the restart");
	assert_int_equal(f->ups, 2);
	assert_int_equal(f->downs, 1);
	assert_int_equal(count(log_text(f), "reachable again"), 1);
	assert_int_equal(publish(f, "news", "back", 4), 1);
	run_until(f, got_message, 5, "a message after the restart");
	assert_memory_equal(f->message, "back", 4);
	c = command(f, 2, get, NULL);
	wait_call(f, c);
	assert_string_equal(c->str, "1");
	test_free(c);
}

/* kill -9 with a command waiting on the server: its callback gets NULL. */
static void
test_lost_in_flight(void **state)
{
	struct fixture *f = *state;
	const char *blpop[] = {"BLPOP", "nothing", "0"};
	struct call *c;

	redis_server_start(&f->server, NULL);
	connect_with(f, f->server.port, 0, NULL);
	run_until(f, is_up, 5, "on_up");
	c = command(f, 3, blpop, NULL);
	run_for(f, 0.2);
	assert_int_equal(c->calls, 0);
	redis_server_kill(&f->server);
	wait_call(f, c);
	run_until(f, is_down, 5, "on_down");
	assert_int_equal(c->calls, 1);
	assert_false(c->got_reply);
	assert_non_null(strstr(c->err, "connection lost"));
	run_for(f, 0.6);
	assert_int_equal(c->calls, 1);
	assert_int_equal(f->downs, 1);
	test_free(c);
}

/* redis_destroy answers every command still waiting, each once. */
static void
test_destroy_waiting(void **state)
{
	struct fixture *f = *state;
	const char *blpop[] = {"BLPOP", "nothing", "0"};
	const char *get[] = {"GET", "k"};
	struct call *c[4];

	redis_server_start(&f->server, NULL);
	connect_with(f, f->server.port, 0, NULL);
	run_until(f, is_up, 5, "on_up");
	c[0] = command(f, 3, blpop, NULL);
	run_for(f, 0.1); /* on the server */
	c[1] = command(f, 2, get, NULL); /* in hiredis's buffer */
	redis_server_stop(&f->server);
	redis_destroy(f->r);
	f->r = NULL;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c[i]->calls, 1);
		assert_false(c[i]->got_reply);
		assert_string_equal(c[i]->err, "closed");
	}
	run_for(f, 0.3);

	/* Failures not yet told through the loop. */
	connect_with(f, redis_server_free_port(), 0, NULL);
	c[2] = command(f, 2, get, NULL);
	run_for(f, 0.05);
	assert_int_equal(c[2]->calls, 1);
	assert_non_null(strstr(c[2]->err, "not connected"));
	c[3] = command(f, 2, get, NULL);
	redis_destroy(f->r);
	f->r = NULL;
	assert_int_equal(c[3]->calls, 1);
	assert_string_equal(c[3]->err, "closed");
	run_for(f, 0.3);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(c[i]->calls, 1);
		test_free(c[i]);
	}
	assert_int_equal(f->downs, 0);
}

/* Destroyed from inside each kind of callback: hiredis must not be freed
 * under its own feet (ASan watches), the others answered once. */
static void
test_destroy_inside(void **state)
{
	struct fixture *f = *state;
	const char *blpop[] = {"BLPOP", "nothing", "0"};
	const char *get[] = {"GET", "k"};
	struct call *c[3];

	redis_server_start(&f->server, NULL);

	/* From a reply, with another command behind it. */
	connect_with(f, f->server.port, 0, NULL);
	assert_int_equal(redis_subscribe(f->r, "ch", on_message, f), 0);
	run_until(f, is_up, 5, "on_up");
	c[0] = command(f, 2, get, NULL);
	c[0]->destroy = true;
	c[1] = command(f, 2, get, NULL);
	c[2] = command(f, 3, blpop, NULL);
	wait_call(f, c[0]);
	assert_null(f->r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i]->calls, 1);
	}
	assert_true(c[0]->got_reply);
	assert_string_equal(c[1]->err, "closed");
	assert_string_equal(c[2]->err, "closed");
	run_for(f, 0.3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i]->calls, 1);
		test_free(c[i]);
	}

	/* From on_up. */
	f->destroy_in = DESTROY_IN_UP;
	f->ups = 0;
	connect_with(f, f->server.port, 0, NULL);
	run_for(f, 0.5);
	assert_int_equal(f->ups, 1);
	assert_null(f->r);

	/* From a message, with a command waiting. */
	f->destroy_in = DESTROY_IN_MESSAGE;
	f->ups = 0;
	connect_with(f, f->server.port, 0, NULL);
	assert_int_equal(redis_subscribe(f->r, "ch", on_message, f), 0);
	assert_int_equal(redis_subscribe(f->r, "ch", on_message, f), 0);
	run_until(f, is_up, 5, "on_up");
	c[0] = command(f, 3, blpop, NULL);
	assert_int_equal(publish(f, "ch", "x", 1), 1);
	run_until(f, got_message, 5, "the message");
	assert_null(f->r);
	assert_int_equal(f->messages, 1); /* not to the second after destroy */
	assert_int_equal(c[0]->calls, 1);
	run_for(f, 0.3);
	assert_int_equal(c[0]->calls, 1);
	test_free(c[0]);

	/* From a failure told through the loop, with another behind it. */
	f->destroy_in = DESTROY_IN_NONE;
	connect_with(f, redis_server_free_port(), 0, NULL);
	c[0] = command(f, 2, get, NULL);
	c[0]->destroy = true;
	c[1] = command(f, 2, get, NULL);
	wait_call(f, c[0]);
	assert_null(f->r);
	assert_int_equal(c[1]->calls, 1);
	assert_string_equal(c[1]->err, "closed");
	run_for(f, 0.3);
	assert_int_equal(c[0]->calls, 1);
	assert_int_equal(c[1]->calls, 1);
	test_free(c[0]);
	test_free(c[1]);

	/* From on_down, while a command waits on the lost connection. */
	f->destroy_in = DESTROY_IN_DOWN;
	f->ups = 0;
	connect_with(f, f->server.port, 0, NULL);
	run_until(f, is_up, 5, "on_up");
	c[0] = command(f, 3, blpop, NULL);
	run_for(f, 0.1);
	redis_server_kill(&f->server);
	run_until(f, is_down, 5, "on_down");
	assert_null(f->r);
	assert_int_equal(c[0]->calls, 1);
	run_for(f, 0.3);
	assert_int_equal(c[0]->calls, 1);
	assert_int_equal(f->downs, 1);
	test_free(c[0]);
}

/* Nothing listens: retried (it comes up once a server starts there),
 * logged once, never a crash. */
static void
test_nothing_listens(void **state)
{
	struct fixture *f = *state;
	struct redis_server_options o = {.port = redis_server_free_port()};
	const char *get[] = {"GET", "k"};
	struct call *c;

	capture_start(f);
	connect_with(f, o.port, 0, NULL);
	run_for(f, 2.0);
	assert_int_equal(f->ups, 0);
	assert_int_equal(f->downs, 0);
	c = command(f, 2, get, NULL);
	wait_call(f, c);
	assert_non_null(strstr(c->err, "not connected"));
	test_free(c);
	assert_int_equal(count(log_text(f), "\n"), 1);
	assert_int_equal(count(log_text(f), "unreachable: Connection refused; serving local "
	                                    "files, retrying"),
	                 1);

	redis_server_start(&f->server, &o);
	run_until(f, is_up, 10, "on_up once a server listens");
	assert_int_equal(count(log_text(f), "reachable again"), 1);
	assert_int_equal(count(log_text(f), "\n"), 2);
}

/* A server that accepts and never answers: dropped after the connect
 * timeout, said once. */
static void
test_no_answer(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	capture_start(f);
	connect_with(f, ntohs(sin.sin_port), 0, NULL);
	run_for(f, 4.5);
	assert_int_equal(count(log_text(f), "\n"), 0);
	run_for(f, 1.0);
	assert_int_equal(f->ups, 0);
	assert_int_equal(count(log_text(f), "unreachable: no answer within 5 s"), 1);
	assert_int_equal(count(log_text(f), "\n"), 1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_auth_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lost_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_waiting, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_inside, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nothing_listens, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
	};

	/* hiredis writes with write(2): a server gone must not kill the test
	 * (acmed ignores SIGPIPE too). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
