/* What of session.c runs without a CA: the CA's URL, the state folder, the
 * wait for a callback, and session_connect when the CA is unknown, not
 * needed or not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/log.h"
#include "cmd/session.h"
#include "store/store.h"

/* Nothing listens on port 1: a connection there is refused at once. */
#define UNREACHABLE_CA "https://127.0.0.1:1/directory"

/* Values for the settings' (non-const) strings. */
static char unreachable_ca[] = UNREACHABLE_CA;
static char unknown_ca[] = "nope";
static char staging_ca[] = "letsencrypt-staging";
static char url_ca[] = "https://127.0.0.1:14000/dir";
static char http_ca[] = "http://ca.example/dir";
static char state_dir[] = "/srv/acmed";

static int
group_setup(void **state)
{
	(void)state;
	log_init("acmed", LOG_LEVEL_ERROR, false);
	unsetenv("STATE_DIRECTORY");
	return 0;
}

static void
test_ca_url(void **state)
{
	struct conf_settings st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_string_equal(session_ca_url(&st), "https://acme-v02.api.letsencrypt.org/directory");
	st.ca = staging_ca;
	assert_string_equal(session_ca_url(&st),
	                    "https://acme-staging-v02.api.letsencrypt.org/directory");
	st.ca = url_ca;
	assert_ptr_equal(session_ca_url(&st), st.ca);
	st.ca = unknown_ca;
	assert_null(session_ca_url(&st));
	st.ca = http_ca;
	assert_null(session_ca_url(&st));
}

static void
test_state_dir(void **state)
{
	struct conf_settings st;
	char *dir;
	char *def;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.state_dir = state_dir;
	dir = session_state_dir(&st);
	assert_string_equal(dir, "/srv/acmed");
	assert_ptr_not_equal(dir, st.state_dir);
	free(dir);
	st.state_dir = NULL;
	setenv("XDG_STATE_HOME", "/tmp/test_session_xdg", 1);
	def = store_default_dir();
	dir = session_state_dir(&st);
	assert_non_null(def);
	assert_string_equal(dir, def);
	free(dir);
	free(def);
	unsetenv("XDG_STATE_HOME");
}

/* Calls session_wait_done from the loop, as a callback would. */
struct later {
	ev_timer timer;
	struct session_wait *w;
	int rc;
	const char *message;
};

static void
on_later(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct later *l = t->data;

	(void)loop;
	(void)revents;
	session_wait_done(l->rc, l->message, l->w);
}

static void
test_wait(void **state)
{
	struct session s;
	struct session_wait w;
	struct later l;
	char long_message[2000];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.loop = ev_default_loop(EVFLAG_AUTO);
	assert_non_null(s.loop);

	/* Nothing started, or nothing to do: no loop run. */
	session_wait_init(&w);
	assert_true(w.waiting);
	assert_int_equal(w.rc, -1);
	assert_string_equal(w.message, "");
	assert_int_equal(session_wait(&s, &w, -1), -1);
	assert_int_equal(session_wait(&s, &w, 1), 0);
	assert_true(w.waiting);

	/* Started: the loop runs until the callback. */
	session_wait_init(&w);
	l.w = &w;
	l.rc = -2;
	l.message = "urn:ietf:params:acme:error:unauthorized: no";
	ev_timer_init(&l.timer, on_later, 0.01, 0.0);
	l.timer.data = &l;
	ev_timer_start(s.loop, &l.timer);
	assert_int_equal(session_wait(&s, &w, 0), -2);
	assert_false(w.waiting);
	assert_string_equal(w.message, "urn:ietf:params:acme:error:unauthorized: no");

	session_wait_init(&w);
	l.rc = 0;
	l.message = "ok";
	ev_timer_set(&l.timer, 0.01, 0.0);
	ev_timer_start(s.loop, &l.timer);
	assert_int_equal(session_wait(&s, &w, 0), 0);

	/* A message longer than the buffer is cut, terminated. */
	memset(long_message, 'x', sizeof(long_message) - 1);
	long_message[sizeof(long_message) - 1] = '\0';
	session_wait_done(-1, long_message, &w);
	assert_int_equal(strlen(w.message), sizeof(w.message) - 1);
	assert_int_equal(w.rc, -1);
}

static void
test_init_unknown_ca(void **state)
{
	struct conf_settings st;
	struct session s;

	(void)state;
	/* session_init keeps the fleet of the session it is given. */
	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	st.ca = unknown_ca;
	assert_int_equal(session_init(&s, &st), SESSION_USAGE);
	assert_null(s.acme);
	assert_null(s.http);
	session_finish(&s);
}

static void
test_init_unreachable(void **state)
{
	struct conf_settings st;
	struct session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	st.ca = unreachable_ca;
	assert_int_equal(session_init(&s, &st), SESSION_FAILED);
	assert_null(s.acme);
	assert_null(s.http);
	session_finish(&s);
	/* Safe twice and on a zeroed session. */
	session_finish(&s);
}

static void
test_connect(void **state)
{
	struct conf_settings st;
	struct job_runner_config config;
	struct session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	st.concurrency = 3;
	st.new_order_concurrency = 5;

	/* An unknown CA is the user's to fix. */
	st.ca = unknown_ca;
	assert_int_equal(session_connect(&s, &st, "/tmp/state", true, &config), SESSION_USAGE);
	assert_null(config.loop);
	session_finish(&s);

	/* The CA not needed: nothing is asked, nothing is offline. */
	st.ca = unreachable_ca;
	assert_int_equal(session_connect(&s, &st, "/tmp/state", false, &config), SESSION_OK);
	assert_non_null(config.loop);
	assert_string_equal(config.ca_url, UNREACHABLE_CA);
	assert_null(config.offline);
	assert_null(config.client);
	assert_null(config.acct);
	assert_string_equal(config.state_dir, "/tmp/state");
	assert_ptr_equal(config.account_options.emails, st.emails);
	assert_int_equal(config.concurrency, 3);
	/* The CA's, with its URL. */
	assert_int_equal(config.new_order_concurrency, 5);
	session_finish(&s);

	/* Needed but not there: the run goes on, the orders fail with the
	 * reason. */
	assert_int_equal(session_connect(&s, &st, "/tmp/state", true, &config), SESSION_OK);
	assert_non_null(config.loop);
	/* Self-contained: status shows it later, without the log. */
	assert_ptr_equal(config.offline, s.offline);
	assert_true(strncmp(config.offline, "the CA cannot be reached: ", 26) == 0);
	assert_non_null(strstr(config.offline, UNREACHABLE_CA));
	assert_null(strstr(config.offline, "see above"));
	assert_null(config.client);
	assert_null(config.acct);
	session_finish(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ca_url),
	        cmocka_unit_test(test_state_dir),
	        cmocka_unit_test(test_wait),
	        cmocka_unit_test(test_init_unknown_ca),
	        cmocka_unit_test(test_init_unreachable),
	        cmocka_unit_test(test_connect),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
