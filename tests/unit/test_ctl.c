#include "io/ctl.h"

#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#define BIG_N 100000 /* entries in the "big" reply: about 4 MB */

struct fixture {
	char dir[64];
	char path[96];
	struct ev_loop *loop;
	struct ctl *ctl;
	int handled;
};

/* A client call made from a thread while the test runs the loop. */
struct call {
	const char *path;
	const char *cmd;
	double timeout_s;
	json_t *answer;
	bool no_daemon;
	atomic_bool done;
};

static char *
handler(json_t *request, void *arg)
{
	struct fixture *f = arg;
	const char *cmd = json_string_value(json_object_get(request, "cmd"));
	json_t *list;
	char name[32];

	f->handled++;
	if (cmd == NULL || strcmp(cmd, "big") != 0) {
		return ctl_reply_json(json_pack("{s:s}", "echo", cmd != NULL ? cmd : ""));
	}
	list = json_array();
	for (int i = 0; i < BIG_N; i++) {
		snprintf(name, sizeof(name), "cert-%06d", i);
		json_array_append_new(list, json_pack("{s:s, s:i}", "cert", name, "n", i));
	}
	return ctl_reply_json(json_pack("{s:o}", "certs", list));
}

static void *
client(void *arg)
{
	struct call *c = arg;
	json_t *request = json_pack("{s:s}", "cmd", c->cmd);

	c->answer = ctl_request(c->path, request, c->timeout_s, &c->no_daemon);
	json_decref(request);
	atomic_store(&c->done, true);
	return NULL;
}

/* Runs call c in a thread while the loop runs; at most 20 s. */
static void
call_run(struct fixture *f, struct call *c)
{
	pthread_t t;

	atomic_store(&c->done, false);
	assert_int_equal(pthread_create(&t, NULL, client, c), 0);
	for (int i = 0; i < 20000 && !atomic_load(&c->done); i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/acmed-test-ctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ctl_close(f->ctl);
	unlink(f->path);
	rmdir(f->dir);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un addr;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Replies of megabytes arrive whole (before, the client stopped at 64 KiB
 * and called the answer "not JSON"). */
static void
test_big_reply(void **state)
{
	struct fixture *f = *state;
	struct call c = {.path = f->path, .cmd = "big", .timeout_s = 10.};
	json_t *last;

	f->ctl = ctl_listen(f->loop, f->path, handler, f);
	assert_non_null(f->ctl);
	call_run(f, &c);
	assert_non_null(c.answer);
	assert_false(c.no_daemon);
	assert_int_equal(json_array_size(json_object_get(c.answer, "certs")), BIG_N);
	last = json_array_get(json_object_get(c.answer, "certs"), BIG_N - 1);
	assert_string_equal(json_string_value(json_object_get(last, "cert")), "cert-099999");
	json_decref(c.answer);
}

/* No socket file, or a file nobody accepts on: no daemon, not an error. */
static void
test_no_daemon(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr;
	json_t *request = json_pack("{s:s}", "cmd", "status");
	bool no_daemon = false;
	int fd;

	assert_null(ctl_request(f->path, request, 1., &no_daemon));
	assert_true(no_daemon);

	/* A stale socket file: bound, then its owner gone. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	no_daemon = false;
	assert_null(ctl_request(f->path, request, 1., &no_daemon));
	assert_true(no_daemon);
	json_decref(request);
}

/* Something listens but does not answer: an error, not "no daemon" (status
 * would otherwise show a running daemon as stopped). */
static void
test_silent_daemon(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr;
	json_t *request = json_pack("{s:s}", "cmd", "status");
	bool no_daemon = true;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int peer;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_null(ctl_request(f->path, request, 0.3, &no_daemon));
	assert_false(no_daemon);

	/* Accepted and closed without a word (a refused peer). */
	peer = connect_unix(f->path);
	close(peer);
	no_daemon = true;
	assert_null(ctl_request(f->path, request, 0.3, &no_daemon));
	assert_false(no_daemon);
	json_decref(request);
	close(fd);
}

/* 300 idle clients hold connections: a request still gets its answer, the
 * oldest idle ones made room. */
static void
test_flood(void **state)
{
	struct fixture *f = *state;
	struct call c = {.path = f->path, .cmd = "status", .timeout_s = 10.};
	int fds[300];
	int closed = 0;
	char ch;

	f->ctl = ctl_listen(f->loop, f->path, handler, f);
	assert_non_null(f->ctl);
	for (int i = 0; i < 300; i++) {
		fds[i] = connect_unix(f->path);
	}
	for (int i = 0; i < 50; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	call_run(f, &c);
	assert_non_null(c.answer);
	assert_string_equal(json_string_value(json_object_get(c.answer, "echo")), "status");
	json_decref(c.answer);
	for (int i = 0; i < 300; i++) {
		if (recv(fds[i], &ch, 1, MSG_DONTWAIT) == 0) {
			closed++;
		}
	}
	/* 256 at most at once: the client's made one more room. */
	assert_int_equal(closed, 300 - 256 + 1);
	assert_int_equal(recv(fds[0], &ch, 1, MSG_DONTWAIT), 0);
	for (int i = 0; i < 300; i++) {
		close(fds[i]);
	}
}

/* A bare listening socket at f->path, for a test that plays the daemon:
 * accept gives up after 10 s. */
static int
listen_bare(struct fixture *f)
{
	struct sockaddr_un addr;
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* Plays the daemon on fd for n connections: the first drop of them are
 * closed unread, as the listener pushes out a connection that has sent
 * nothing yet under a flood of new ones; the others get an answer to
 * their request line. */
static void
serve(int fd, int n, int drop)
{
	static const char answer[] = "{\"echo\":\"again\"}\n";
	char buf[256];
	size_t len;
	ssize_t got;
	int c;

	for (int i = 0; i < n; i++) {
		c = accept(fd, NULL, NULL);
		assert_true(c >= 0);
		len = 0;
		got = 1;
		while (i >= drop && got > 0 && memchr(buf, '\n', len) == NULL &&
		       len < sizeof(buf)) {
			got = recv(c, buf + len, sizeof(buf) - len, 0);
			len += got > 0 ? (size_t)got : 0;
		}
		if (i >= drop) {
			assert_int_equal(send(c, answer, strlen(answer), MSG_NOSIGNAL),
			                 (ssize_t)strlen(answer));
		}
		close(c);
	}
}

/* Whether a connection waits on fd that nobody accepted. */
static bool
one_more(int fd)
{
	int c;

	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	c = accept(fd, NULL, NULL);
	if (c >= 0) {
		close(c);
	}
	return c >= 0;
}

/* A connection the daemon closed before reading the request (a flood of
 * idle clients pushed it out: acmed jobs failed once with "send: Broken
 * pipe") is made again: the request gets its answer. */
static void
test_closed_unread(void **state)
{
	struct fixture *f = *state;
	struct call c = {.path = f->path, .cmd = "again", .timeout_s = 5.};
	pthread_t t;
	int fd = listen_bare(f);

	atomic_store(&c.done, false);
	assert_int_equal(pthread_create(&t, NULL, client, &c), 0);
	serve(fd, 3, 2);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(c.answer);
	assert_false(c.no_daemon);
	assert_string_equal(json_string_value(json_object_get(c.answer, "echo")), "again");
	assert_false(one_more(fd));
	json_decref(c.answer);
	close(fd);
}

/* A daemon that closes every connection unread: an error after 5 of them,
 * not "no daemon", and no endless retries. */
static void
test_closed_always(void **state)
{
	struct fixture *f = *state;
	struct call c = {.path = f->path, .cmd = "again", .timeout_s = 5.};
	pthread_t t;
	int fd = listen_bare(f);

	atomic_store(&c.done, false);
	assert_int_equal(pthread_create(&t, NULL, client, &c), 0);
	serve(fd, 5, 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(c.answer);
	assert_false(c.no_daemon);
	assert_false(one_more(fd));
	close(fd);
}

/* A request line longer than the server takes gets an error reply. */
static void
test_long_request(void **state)
{
	struct fixture *f = *state;
	char *cmd = malloc(20000);
	struct call c = {.path = f->path, .timeout_s = 10.};

	assert_non_null(cmd);
	memset(cmd, 'x', 19999);
	cmd[19999] = '\0';
	c.cmd = cmd;
	f->ctl = ctl_listen(f->loop, f->path, handler, f);
	assert_non_null(f->ctl);
	call_run(f, &c);
	assert_non_null(c.answer);
	assert_string_equal(json_string_value(json_object_get(c.answer, "error")),
	                    "request too long");
	assert_int_equal(f->handled, 0);
	json_decref(c.answer);
	free(cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_daemon, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_silent_daemon, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_request, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_closed_unread, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_closed_always, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
