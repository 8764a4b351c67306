#include "io/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* A protocol for the tests: a connection that receives "busy" is marked
 * busy; anything else is ignored. */
struct test_conn {
	struct listener_conn base;
	int *closed; /* counts close callbacks */
};

struct fixture {
	struct ev_loop *loop;
	struct listener *l;
	int port;
	int closed;
};

static void
on_io(struct listener_conn *c, int revents)
{
	char buf[64];
	ssize_t n;

	(void)revents;
	n = recv(c->fd, buf, sizeof(buf) - 1, 0);
	if (n == 0) {
		listener_conn_close(c);
		return;
	}
	if (n > 0) {
		buf[n] = '\0';
		if (strstr(buf, "busy") != NULL) {
			listener_conn_busy(c, true);
		}
	}
}

static int
on_open(struct listener_conn *c, void *arg)
{
	struct fixture *f = arg;

	((struct test_conn *)c)->closed = &f->closed;
	return 0;
}

static void
on_close(struct listener_conn *c)
{
	(*((struct test_conn *)c)->closed)++;
}

static void
run_loop(struct fixture *f, double seconds)
{
	struct timespec ts;
	double end;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + seconds;
	do {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(2000);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	} while (t < end);
}

static void
start(struct fixture *f, size_t max_conns, size_t max_per_source, double timeout_s)
{
	struct listener_config cfg = {0};
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, SOMAXCONN), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	cfg.name = "test";
	cfg.conn_size = sizeof(struct test_conn);
	cfg.max_conns = max_conns;
	cfg.max_per_source = max_per_source;
	cfg.timeout_s = timeout_s;
	cfg.open = on_open;
	cfg.io = on_io;
	cfg.close = on_close;
	cfg.arg = f;
	f->l = listener_create(f->loop, fd, &cfg);
	assert_non_null(f->l);
}

/* A connection from 127.0.0.<from>. */
static int
connect_from(struct fixture *f, int from)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)from);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)f->port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* One at a time, so that "oldest" is the order of this test. */
	run_loop(f, 0.01);
	return fd;
}

static bool
is_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	listener_destroy(f->l);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Full: the oldest idle connection makes room, whichever source it is from. */
static void
test_full_drops_oldest(void **state)
{
	struct fixture *f = *state;
	int fds[5];

	start(f, 4, 0, 30.);
	for (int i = 0; i < 4; i++) {
		fds[i] = connect_from(f, 2 + i);
	}
	assert_int_equal(listener_count(f->l), 4);
	fds[4] = connect_from(f, 9);
	run_loop(f, 0.05);
	assert_int_equal(listener_count(f->l), 4);
	assert_true(is_closed(fds[0]));
	for (int i = 1; i < 5; i++) {
		assert_false(is_closed(fds[i]));
	}
	assert_int_equal(f->closed, 1);
	for (int i = 0; i < 5; i++) {
		close(fds[i]);
	}
}

/* A busy connection is never the one to make room; when all are busy, the
 * new one is refused. */
static void
test_busy_kept(void **state)
{
	struct fixture *f = *state;
	int fds[4];

	start(f, 2, 0, 30.);
	fds[0] = connect_from(f, 2);
	fds[1] = connect_from(f, 3);
	assert_int_equal(send(fds[0], "busy", 4, 0), 4);
	run_loop(f, 0.05);
	fds[2] = connect_from(f, 4);
	run_loop(f, 0.05);
	assert_false(is_closed(fds[0]));
	assert_true(is_closed(fds[1]));
	assert_false(is_closed(fds[2]));
	assert_int_equal(send(fds[2], "busy", 4, 0), 4);
	run_loop(f, 0.05);
	fds[3] = connect_from(f, 5);
	run_loop(f, 0.05);
	assert_true(is_closed(fds[3]));
	assert_false(is_closed(fds[0]));
	assert_false(is_closed(fds[2]));
	assert_int_equal(listener_count(f->l), 2);
	for (int i = 0; i < 4; i++) {
		close(fds[i]);
	}
}

/* A source at its cap pushes out its own oldest connection, not another
 * source's, even when the listener is full. */
static void
test_per_source(void **state)
{
	struct fixture *f = *state;
	int other[2];
	int flood[10];

	start(f, 5, 3, 30.);
	other[0] = connect_from(f, 2);
	other[1] = connect_from(f, 3);
	for (int i = 0; i < 10; i++) {
		flood[i] = connect_from(f, 7);
	}
	run_loop(f, 0.05);
	assert_int_equal(listener_count(f->l), 5);
	assert_false(is_closed(other[0]));
	assert_false(is_closed(other[1]));
	for (int i = 0; i < 7; i++) {
		assert_true(is_closed(flood[i]));
	}
	for (int i = 7; i < 10; i++) {
		assert_false(is_closed(flood[i]));
	}
	close(other[0]);
	close(other[1]);
	for (int i = 0; i < 10; i++) {
		close(flood[i]);
	}
}

static void
test_timeout(void **state)
{
	struct fixture *f = *state;
	int fd;

	start(f, 4, 0, 0.2);
	fd = connect_from(f, 2);
	assert_int_equal(listener_count(f->l), 1);
	run_loop(f, 0.5);
	assert_int_equal(listener_count(f->l), 0);
	assert_true(is_closed(fd));
	assert_int_equal(f->closed, 1);
	close(fd);
}

/* Destroying with connections open runs their close callbacks. */
static void
test_destroy(void **state)
{
	struct fixture *f = *state;
	int fds[3];

	start(f, 4, 0, 30.);
	for (int i = 0; i < 3; i++) {
		fds[i] = connect_from(f, 2);
	}
	listener_destroy(f->l);
	f->l = NULL;
	assert_int_equal(f->closed, 3);
	for (int i = 0; i < 3; i++) {
		close(fds[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_drops_oldest, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_busy_kept, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_per_source, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
