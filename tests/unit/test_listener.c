#include "io/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
	bool no_read; /* connections opened from now are not read */
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
	if (f->no_read) {
		listener_conn_watch(c, 0);
	}
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

/* A connection whose client sent what was not read yet (a request that
 * arrived in a burst of accepts) is no idle one to push out: the oldest
 * one without input goes, and when every one has input the new one is
 * refused. */
static void
test_pending_input(void **state)
{
	struct fixture *f = *state;
	int fds[6];

	start(f, 10, 3, 30.);
	f->no_read = true;
	for (int i = 0; i < 3; i++) {
		fds[i] = connect_from(f, 7);
	}
	assert_int_equal(send(fds[0], "GET", 3, 0), 3);
	run_loop(f, 0.02);
	fds[3] = connect_from(f, 7); /* pushes out fds[1], not fds[0] */
	run_loop(f, 0.02);
	assert_false(is_closed(fds[0]));
	assert_true(is_closed(fds[1]));
	assert_false(is_closed(fds[2]));
	assert_false(is_closed(fds[3]));
	assert_int_equal(send(fds[2], "GET", 3, 0), 3);
	assert_int_equal(send(fds[3], "GET", 3, 0), 3);
	run_loop(f, 0.02);
	fds[4] = connect_from(f, 7); /* every one has input: refused */
	run_loop(f, 0.02);
	assert_true(is_closed(fds[4]));
	assert_false(is_closed(fds[0]));
	assert_false(is_closed(fds[2]));
	assert_false(is_closed(fds[3]));
	assert_int_equal(listener_count(f->l), 3);
	fds[5] = connect_from(f, 8); /* another source: room */
	assert_int_equal(listener_count(f->l), 4);
	for (int i = 0; i < 6; i++) {
		close(fds[i]);
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

/* listener_conn_send: all of it, up to a full socket, or a gone peer;
 * listener_conn_recv: what came, nothing yet, or the end. */
static void
test_send_recv(void **state)
{
	struct listener_conn c;
	struct listener_conn peer;
	static char big[1 << 22];
	char buf[8];
	size_t pos = 0;
	size_t len = 0;
	int sv[2];

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c.fd = sv[0];
	peer.fd = sv[1];
	assert_int_equal(listener_conn_recv(&peer, buf, sizeof(buf) - 1, &len), LISTENER_IO_AGAIN);
	assert_int_equal(len, 0);
	assert_false(listener_conn_done(&peer, LISTENER_IO_AGAIN));
	assert_true(listener_conn_done(&peer, LISTENER_IO_DONE));
	assert_int_equal(listener_conn_send(&c, "hello", 5, &pos), LISTENER_IO_DONE);
	assert_int_equal(pos, 5);
	assert_int_equal(listener_conn_send(&c, "hello", 5, &pos), LISTENER_IO_DONE);
	/* At most cap bytes, NUL-terminated; the rest waits. */
	assert_int_equal(listener_conn_recv(&peer, buf, 3, &len), LISTENER_IO_DONE);
	assert_string_equal(buf, "hel");
	assert_int_equal(listener_conn_recv(&peer, buf, sizeof(buf) - 1, &len), LISTENER_IO_DONE);
	assert_string_equal(buf, "hello");
	assert_int_equal(len, 5);
	pos = 0;
	assert_int_equal(listener_conn_send(&c, big, sizeof(big), &pos), LISTENER_IO_AGAIN);
	assert_true(pos > 0 && pos < sizeof(big));
	shutdown(sv[0], SHUT_WR);
	len = 0;
	while (listener_conn_recv(&peer, big, sizeof(big) - 1, &len) == LISTENER_IO_DONE) {
		len = 0;
	}
	assert_int_equal(listener_conn_recv(&peer, buf, sizeof(buf) - 1, &len), LISTENER_IO_CLOSED);
	close(sv[1]);
	assert_int_equal(listener_conn_send(&c, big, sizeof(big), &pos), LISTENER_IO_CLOSED);
	close(sv[0]);
}

/* The listen-address grammar of http-listen and tls-listen. */
static void
test_parse_address(void **state)
{
	static const char *const bad[] = {
	        "",
	        "0",
	        "65536",
	        "123456",
	        "080800",
	        "+80",
	        " 80",
	        "80 ",
	        "http",
	        ":80",
	        "1.2.3.4",
	        "1.2.3.4:",
	        "1.2.3.4:0",
	        "1.2.3:80",
	        "::1:80",
	        "[::1]",
	        "[::1]80",
	        "[]:80",
	        "[1.2.3.4]:80",
	        "[::1]:",
	        "[::1]:x",
	        "localhost:80",
	        "1.2.3.4:65536",
	};
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	struct listener_address a;
	unsigned char loop6[16] = {0};

	(void)state;
	assert_int_equal(listener_parse_address("8080", &a), 0);
	sin6 = (const struct sockaddr_in6 *)&a.ss;
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_true(a.dual);
	assert_int_equal(ntohs(sin6->sin6_port), 8080);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));

	assert_int_equal(listener_parse_address("[::]:443", &a), 0);
	assert_true(a.dual);
	assert_int_equal(ntohs(sin6->sin6_port), 443);

	assert_int_equal(listener_parse_address("[::1]:65535", &a), 0);
	assert_false(a.dual);
	loop6[15] = 1;
	assert_memory_equal(&sin6->sin6_addr, loop6, 16);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);

	assert_int_equal(listener_parse_address("127.0.0.1:00080", &a), 0);
	sin = (const struct sockaddr_in *)&a.ss;
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_false(a.dual);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(ntohs(sin->sin_port), 80);

	assert_int_equal(listener_parse_address("1", &a), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (listener_parse_address(bad[i], &a) == 0) {
			fail_msg("'%s' parsed", bad[i]);
		}
	}
}

/* One spelling per socket: what challenge_key compares. */
static void
test_address_name(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(listener_address_name("80", buf, sizeof(buf)), "[::]:80");
	assert_string_equal(listener_address_name("[::0]:0080", buf, sizeof(buf)), "[::]:80");
	assert_string_equal(listener_address_name("[0:0::1]:443", buf, sizeof(buf)), "[::1]:443");
	assert_string_equal(listener_address_name("127.0.0.1:08080", buf, sizeof(buf)),
	                    "127.0.0.1:8080");
	/* Not an address: itself, for the responder to refuse. */
	assert_string_equal(listener_address_name("nonsense", buf, sizeof(buf)), "nonsense");
	/* No room: itself. */
	assert_string_equal(listener_address_name("80", buf, 4), "80");
}

/* The messages name the setting and say what to do (integration tests
 * grep them). */
static void
test_open_errors(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char address[64];
	char want[512];
	char err[512];
	int fd;
	int port;

	(void)state;
	assert_int_equal(listener_open_err("http-listen", "65536", err, sizeof(err)), -1);
	assert_string_equal(err, "http-listen 65536: expected PORT, ADDR:PORT or [ADDR]:PORT with "
	                         "a port from 1 to 65535");

	fd = listener_open_err("tls-listen", "127.0.0.1:0", err, sizeof(err));
	assert_int_equal(fd, -1); /* port 0 is not a port to listen on */

	/* A port taken by an earlier socket. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	snprintf(address, sizeof(address), "127.0.0.1:%d", port);
	assert_int_equal(listener_open_err("tls-listen", address, err, sizeof(err)), -1);
	snprintf(
	        want, sizeof(want),
	        "tls-listen %s: bind: Address already in use: another program (a web server, "
	        "or acmed run answering challenges) holds port %d: stop it, set tls-listen to a "
	        "free port, or use webroot or a hook (with acmed run there, acmed renew --now NAME "
	        "has it order)",
	        address, port);
	assert_string_equal(err, want);

	/* An address this host does not have. */
	assert_int_equal(listener_open_err("http-listen", "192.0.2.1:8080", err, sizeof(err)), -1);
	assert_string_equal(err, "http-listen 192.0.2.1:8080: bind: Cannot assign requested "
	                         "address: no interface of this host has that address: set "
	                         "http-listen to one");
	close(fd);

	/* Free again: listener_open gives a listening, non-blocking socket. */
	fd = listener_open("http-listen", address);
	assert_true(fd >= 0);
	assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
}

/* listener_start serves the address it opens. */
static void
test_start(void **state)
{
	struct fixture *f = *state;
	struct listener_config cfg = {0};
	char address[64];
	int fd;

	cfg.name = "test";
	cfg.max_conns = 4;
	cfg.timeout_s = 5.;
	cfg.io = on_io;
	cfg.arg = f;
	/* A port that was free a moment ago. */
	start(f, 1, 0, 5.);
	snprintf(address, sizeof(address), "127.0.0.1:%d", f->port);
	listener_destroy(f->l);
	f->l = listener_start(f->loop, "http-listen", address, &cfg);
	assert_non_null(f->l);
	fd = connect_from(f, 1);
	assert_int_equal(listener_count(f->l), 1);
	close(fd);
	assert_null(listener_start(f->loop, "http-listen", address, &cfg));
	assert_null(listener_start(f->loop, "http-listen", "nonsense", &cfg));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_drops_oldest, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_busy_kept, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_per_source, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pending_input, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
	        cmocka_unit_test(test_send_recv),
	        cmocka_unit_test(test_parse_address),
	        cmocka_unit_test(test_address_name),
	        cmocka_unit_test(test_open_errors),
	        cmocka_unit_test_setup_teardown(test_start, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
