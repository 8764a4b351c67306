#include "io/http_multi.h"

#include <arpa/inet.h>
#include <errno.h>
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

/* A plain HTTP server on the loop: answers each connection with a canned
 * response once it has read a request head, or never when silent. */
struct server {
	struct ev_io io;
	int fd;
	int port;
	bool silent;
	int conns[8];
	size_t n_conns;
};

struct fixture {
	struct ev_loop *loop;
	struct http_multi m;
	struct server srv;
	int infos; /* info callbacks */
	int done; /* transfers ended */
	CURLcode result;
	long status;
};

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 2\r\n"
                               "\r\n"
                               "ok";

static void
on_accept(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct server *srv = w->data;
	char buf[4096];
	ssize_t n;
	int fd;

	(void)loop;
	(void)revents;
	fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		return;
	}
	if (srv->silent || srv->n_conns == sizeof(srv->conns) / sizeof(srv->conns[0])) {
		assert_true(srv->n_conns < sizeof(srv->conns) / sizeof(srv->conns[0]));
		srv->conns[srv->n_conns++] = fd;
		return;
	}
	/* The client sends its small request at once. */
	n = recv(fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(send(fd, response, sizeof(response) - 1, MSG_NOSIGNAL),
	                 (ssize_t)(sizeof(response) - 1));
	srv->conns[srv->n_conns++] = fd;
}

static void
server_start(struct fixture *f, bool silent)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	f->srv.silent = silent;
	f->srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->srv.fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->srv.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->srv.fd, 8), 0);
	assert_int_equal(getsockname(f->srv.fd, (struct sockaddr *)&sin, &len), 0);
	f->srv.port = ntohs(sin.sin_port);
	ev_io_init(&f->srv.io, on_accept, f->srv.fd, EV_READ);
	f->srv.io.data = &f->srv;
	ev_io_start(f->loop, &f->srv.io);
}

/* What the owner does after each action: read the transfers that ended. */
static void
on_info(void *arg)
{
	struct fixture *f = arg;
	CURLMsg *msg;
	int left;

	f->infos++;
	for (;;) {
		msg = curl_multi_info_read(f->m.multi, &left);
		if (msg == NULL) {
			break;
		}
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		f->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &f->status);
		f->done++;
		ev_break(f->loop, EVBREAK_ALL);
	}
}

static size_t
discard(char *buf, size_t size, size_t nmemb, void *userp)
{
	(void)buf;
	(void)userp;
	return size * nmemb;
}

static CURL *
get(struct fixture *f, long timeout_ms)
{
	char url[64];
	CURL *e = curl_easy_init();

	assert_non_null(e);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->srv.port);
	assert_int_equal(curl_easy_setopt(e, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms), CURLE_OK);
	assert_int_equal(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
	assert_int_equal(curl_multi_add_handle(f->m.multi, e), CURLM_OK);
	return e;
}

static void
on_deadline(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until a transfer ended (on_info breaks it) or seconds
 * passed. */
static void
run_until_done(struct fixture *f, double seconds)
{
	struct ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, seconds, 0.);
	ev_timer_start(f->loop, &deadline);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &deadline);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	f->srv.fd = -1;
	assert_int_equal(http_multi_init(&f->m, f->loop, on_info, f), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	http_multi_finish(&f->m);
	for (size_t i = 0; i < f->srv.n_conns; i++) {
		close(f->srv.conns[i]);
	}
	if (f->srv.fd >= 0) {
		ev_io_stop(f->loop, &f->srv.io);
		close(f->srv.fd);
	}
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Zeroed storage is finished; finishing twice is harmless. */
static void
test_finish(void **state)
{
	struct http_multi zeroed;
	struct http_multi m;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

	(void)state;
	memset(&zeroed, 0, sizeof(zeroed));
	http_multi_finish(&zeroed);
	assert_int_equal(http_multi_init(&m, loop, on_info, NULL), 0);
	assert_non_null(m.multi);
	http_multi_finish(&m);
	assert_null(m.multi);
	http_multi_finish(&m);
	ev_loop_destroy(loop);
}

/* A transfer is driven by the loop: curl's sockets are watched, and the
 * owner hears after the actions. */
static void
test_transfer(void **state)
{
	struct fixture *f = *state;
	CURL *e;

	server_start(f, false);
	e = get(f, 5000);
	/* Nothing happens inside curl_multi_add_handle: the loop acts. */
	assert_int_equal(f->infos, 0);
	run_until_done(f, 5.);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->result, CURLE_OK);
	assert_int_equal(f->status, 200);
	assert_true(f->infos >= 1);
	curl_multi_remove_handle(f->m.multi, e);
	curl_easy_cleanup(e);
	/* Closing the multi handle lets go of every socket it watched. */
	http_multi_finish(&f->m);
	assert_true(list_empty(&f->m.socks));
}

/* A server that never answers: curl's timeout comes through the timer. */
static void
test_timeout(void **state)
{
	struct fixture *f = *state;
	CURL *e;

	server_start(f, true);
	e = get(f, 200);
	run_until_done(f, 5.);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->result, CURLE_OPERATION_TIMEDOUT);
	curl_multi_remove_handle(f->m.multi, e);
	curl_easy_cleanup(e);
}

/* Finishing with a transfer still watched (after removing its handle, as
 * the contract says) frees its sockets. */
static void
test_finish_in_flight(void **state)
{
	struct fixture *f = *state;
	CURL *e;

	server_start(f, true);
	e = get(f, 5000);
	for (int i = 0; i < 50 && f->srv.n_conns == 0; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(2000);
	}
	assert_int_equal(f->srv.n_conns, 1);
	curl_multi_remove_handle(f->m.multi, e);
	curl_easy_cleanup(e);
	http_multi_finish(&f->m);
	assert_true(list_empty(&f->m.socks));
	assert_int_equal(f->done, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_finish),
	        cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_finish_in_flight, setup, teardown),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
