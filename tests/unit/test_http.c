/* http.c against a loopback TLS server forked by the test (tls_server.h):
 * HTTP/1.1 canned responses chosen by request path. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io/http.h"
#include "io/http_test.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tls_server.h"

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define BIG (2 * 1024 * 1024)

/* Server ------------------------------------------------------------------- */

static void
put_fill(SSL *ssl, size_t len)
{
	static char block[16384];

	memset(block, 'a', sizeof(block));
	while (len > 0) {
		size_t n = len > sizeof(block) ? sizeof(block) : len;

		tls_server_put(ssl, block, n);
		len -= n;
	}
}

/* The server's handler: answers one request; returns whether the connection
 * stays open. */
static bool
respond(SSL *ssl, const struct tls_server_request *req)
{
	const char *path = req->path;
	bool head = strcmp(req->method, "HEAD") == 0;
	size_t n;
	int i;

	if (strcmp(path, "/ok") == 0) {
		tls_server_putf(ssl,
		                "HTTP/1.1 200 OK\r\n"
		                "Content-Type: \t application/json  \r\n"
		                "Replay-Nonce: nonce-1\r\n"
		                "Location: https://127.0.0.1/acct/1\r\n"
		                "Link: <https://127.0.0.1/dir>;rel=\"index\"\r\n"
		                "Link: <https://127.0.0.1/tos>;rel=\"terms-of-service\"\r\n"
		                "Retry-After: 30\r\n"
		                "Content-Length: 15\r\n\r\n%s",
		                head ? "" : "{\"status\":\"ok\"}");
	} else if (strcmp(path, "/echo") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
		                req->raw_len);
		tls_server_put(ssl, req->raw, req->raw_len);
	} else if (sscanf(path, "/bytes/%zu", &n) == 1) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
		put_fill(ssl, n);
	} else if (sscanf(path, "/chunked/%zu", &n) == 1) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		while (n > 0) {
			size_t c = n > 1000 ? 1000 : n;

			tls_server_putf(ssl, "%zx\r\n", c);
			put_fill(ssl, c);
			tls_server_putf(ssl, "\r\n");
			n -= c;
		}
		tls_server_putf(ssl, "0\r\n\r\n");
	} else if (sscanf(path, "/close/%zu", &n) == 1) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		put_fill(ssl, n);
		return false;
	} else if (strcmp(path, "/cut") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
		return false;
	} else if (strcmp(path, "/trickle") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
		for (i = 0; i < 1000; i++) {
			tls_server_put(ssl, "a", 1);
			usleep(250000);
		}
	} else if (strcmp(path, "/continue") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 100 Continue\r\n"
		                     "Location: https://127.0.0.1/stale\r\n"
		                     "Replay-Nonce: stale\r\n"
		                     "Link: <https://127.0.0.1/stale>\r\n\r\n"
		                     "HTTP/1.1 200 OK\r\n"
		                     "Replay-Nonce: fresh\r\n"
		                     "Content-Length: 2\r\n\r\nok");
	} else if (strcmp(path, "/trailer") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\n"
		                     "Replay-Nonce: header\r\n"
		                     "Trailer: Location, Replay-Nonce\r\n"
		                     "Transfer-Encoding: chunked\r\n\r\n"
		                     "2\r\nok\r\n0\r\n"
		                     "Location: https://127.0.0.1/trailer\r\n"
		                     "Replay-Nonce: trailer\r\n\r\n");
	} else if (strcmp(path, "/hostile") == 0) {
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < 20; i++) {
			tls_server_putf(ssl, "Link: <https://127.0.0.1/l/%d>\r\n", i);
		}
		tls_server_putf(ssl, "Replay-Nonce: ");
		put_fill(ssl, 4097);
		tls_server_putf(ssl, "\r\nReplay-Nonce: second\r\n"
		                     "Location: https://127.0.0.1/first\r\n"
		                     "LOCATION: https://127.0.0.1/second\r\n"
		                     "Retry-After: 1\001\r\n"
		                     "Content-Type: text/plain\r\n"
		                     "Content-Length: 0\r\n\r\n");
	} else if (strcmp(path, "/biglinks") == 0) {
		/* 20 Link headers of 1000 bytes: more than HTTP_MAX_LINKS. */
		tls_server_putf(ssl, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < 20; i++) {
			tls_server_putf(ssl, "Link: <https://127.0.0.1/%02d/", i);
			put_fill(ssl, 1000 - 32);
			tls_server_putf(ssl, ">;rel=alternate\r\n");
		}
		tls_server_putf(ssl, "Content-Length: 0\r\n\r\n");
	} else if (sscanf(path, "/status/%zu", &n) == 1) {
		tls_server_putf(
		        ssl,
		        "HTTP/1.1 %zu Whatever\r\nRetry-After: 120\r\n"
		        "Content-Type: application/problem+json\r\nContent-Length: 2\r\n\r\n{}",
		        n);
	} else {
		tls_server_putf(ssl, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
	return true;
}

/* Client side -------------------------------------------------------------- */

struct result {
	bool called;
	long status;
	char *url;
	char *error;
	char *body;
	size_t body_len;
	char *content_type;
	char *location;
	char *replay_nonce;
	char *retry_after;
	char *links;
};

struct ctx {
	struct ev_loop *loop;
	struct http *http;
	struct http_options opts;
	struct tls_server srv;
	struct ev_timer guard;
	bool timed_out;
	bool in_request;
	bool sync_call;
	int want;
	int calls;
	struct result res[8];
	/* chain: start this many more requests from the callback */
	int chain_left;
	/* destroy the client from inside the first callback */
	bool destroy_in_cb;
	unsigned flags; /* enum http_flags of the requests start() makes */
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
result_free(struct result *r)
{
	free(r->url);
	free(r->error);
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	free(r->links);
	memset(r, 0, sizeof(*r));
}

static int start(struct ctx *c, const char *method, const char *path, const char *ct,
                 const char *body, size_t len);

static void
done(const struct http_response *resp, void *arg)
{
	struct ctx *c = arg;
	struct result *r;

	if (c->in_request) {
		c->sync_call = true;
	}
	if (c->calls >= (int)(sizeof(c->res) / sizeof(c->res[0]))) {
		c->calls++;
		return;
	}
	r = &c->res[c->calls++];
	r->called = true;
	r->status = resp->status;
	r->url = dup_or_null(resp->url);
	r->error = dup_or_null(resp->error);
	r->body = malloc(resp->body_len + 1);
	memcpy(r->body, resp->body, resp->body_len + 1);
	r->body_len = resp->body_len;
	r->content_type = dup_or_null(resp->content_type);
	r->location = dup_or_null(resp->location);
	r->replay_nonce = dup_or_null(resp->replay_nonce);
	r->retry_after = dup_or_null(resp->retry_after);
	r->links = dup_or_null(resp->links);

	if (c->destroy_in_cb) {
		http_destroy(c->http);
		c->http = NULL;
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	if (c->chain_left > 0) {
		c->chain_left--;
		if (start(c, "GET", "/ok", NULL, NULL, 0) < 0) {
			ev_break(c->loop, EVBREAK_ALL);
		}
	}
	if (c->calls == c->want) {
		ev_break(c->loop, EVBREAK_ALL);
	}
}

static int
start(struct ctx *c, const char *method, const char *path, const char *ct, const char *body,
      size_t len)
{
	char url[256];
	int rc;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", c->srv.port, path);
	c->in_request = true;
	rc = http_request_with(c->http, c->flags, method, url, ct, body, len, done, c);
	c->in_request = false;
	return rc;
}

static void
guard_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct ctx *c = w->data;

	c->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until want callbacks came, or for at most limit seconds. */
static void
run(struct ctx *c, int want, double limit)
{
	c->want = want;
	c->timed_out = false;
	ev_timer_set(&c->guard, limit, 0.);
	ev_timer_start(c->loop, &c->guard);
	ev_run(c->loop, 0);
	ev_timer_stop(c->loop, &c->guard);
}

static void
client_new(struct ctx *c)
{
	c->opts.ca_file = tls_server_ca_file();
	c->http = http_create(c->loop, &c->opts);
	assert_non_null(c->http);
}

/* The current test's context; also keeps it reachable in server children. */
static struct ctx *current;

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return -1;
	}
	c->loop = ev_loop_new(EVFLAG_AUTO);
	if (c->loop == NULL) {
		free(c);
		return -1;
	}
	ev_init(&c->guard, guard_cb);
	c->guard.data = c;
	current = c;
	tls_server_start(&c->srv, respond);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	size_t i;

	http_destroy(c->http);
	tls_server_stop(&c->srv);
	ev_loop_destroy(c->loop);
	for (i = 0; i < sizeof(c->res) / sizeof(c->res[0]); i++) {
		result_free(&c->res[i]);
	}
	/* Whatever the test, done never ran inside http_request. */
	assert_false(c->sync_call);
	assert_ptr_equal(c, current);
	free(c);
	current = NULL;
	return 0;
}

/* Tests -------------------------------------------------------------------- */

static void
test_get_headers(void **state)
{
	struct ctx *c = *state;
	struct http_stats st;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	assert_int_equal(http_pending(c->http), 1);
	assert_int_equal(c->calls, 0);
	run(c, 1, 10);
	assert_false(c->timed_out);
	assert_int_equal(c->calls, 1);
	assert_int_equal(http_pending(c->http), 0);
	assert_null(r->error);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->body, "{\"status\":\"ok\"}");
	assert_int_equal(r->body_len, 15);
	assert_string_equal(r->content_type, "application/json");
	assert_string_equal(r->replay_nonce, "nonce-1");
	assert_string_equal(r->location, "https://127.0.0.1/acct/1");
	assert_string_equal(r->retry_after, "30");
	assert_non_null(strstr(r->url, "/ok"));
	http_get_stats(c->http, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.connections, 1);
}

/* Link headers are kept only for a request that asks (HTTP_KEEP_LINKS):
 * joined with ", ", those of a 1xx response forgotten, at most
 * HTTP_MAX_LINKS bytes, the first ones kept. */
static void
test_links(void **state)
{
	struct ctx *c = *state;

	client_new(c);
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_null(c->res[0].links);
	c->flags = HTTP_KEEP_LINKS;
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	run(c, 2, 10);
	assert_string_equal(c->res[1].links, "<https://127.0.0.1/dir>;rel=\"index\", "
	                                     "<https://127.0.0.1/tos>;rel=\"terms-of-service\"");
	assert_string_equal(c->res[1].location, "https://127.0.0.1/acct/1");
	assert_int_equal(start(c, "GET", "/continue", NULL, NULL, 0), 0);
	run(c, 3, 10);
	assert_int_equal(c->res[2].status, 200);
	assert_null(c->res[2].links);
	assert_int_equal(start(c, "GET", "/biglinks", NULL, NULL, 0), 0);
	run(c, 4, 10);
	assert_non_null(c->res[3].links);
	assert_true(strlen(c->res[3].links) < HTTP_MAX_LINKS);
	assert_true(strlen(c->res[3].links) > HTTP_MAX_LINKS - 1100);
	assert_non_null(strstr(c->res[3].links, "<https://127.0.0.1/00/"));
	assert_null(strstr(c->res[3].links, "<https://127.0.0.1/19/"));
}

static void
test_head(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "HEAD", "/ok", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->body_len, 0);
	assert_string_equal(r->body, "");
	assert_string_equal(r->replay_nonce, "nonce-1");
}

static void
test_error_status(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/status/503", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 503);
	assert_null(r->error);
	assert_string_equal(r->retry_after, "120");
	assert_string_equal(r->content_type, "application/problem+json");
	assert_string_equal(r->body, "{}");
}

static void
test_post_body(void **state)
{
	static const char jws[] = "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"x\"}";
	struct ctx *c = *state;
	struct result *r = &c->res[0];
	const char *tail;

	client_new(c);
	assert_int_equal(start(c, "POST", "/echo", "application/jose+json", jws, sizeof(jws) - 1),
	                 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 200);
	assert_true(strncmp(r->body, "POST /echo HTTP/1.1\r\n", 21) == 0);
	assert_non_null(strcasestr(r->body, "\r\nContent-Type: application/jose+json\r\n"));
	assert_non_null(strcasestr(r->body, "\r\nUser-Agent: acmed/"));
	/* No compression: a small gzip body could inflate past the cap. */
	assert_null(strcasestr(r->body, "Accept-Encoding"));
	assert_null(strcasestr(r->body, "Expect:"));
	assert_true(r->body_len > sizeof(jws) - 1);
	tail = r->body + r->body_len - (sizeof(jws) - 1);
	assert_string_equal(tail, jws);
}

static void
test_post_empty(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "POST", "/echo", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(r->status, 200);
	assert_non_null(strcasestr(r->body, "\r\nContent-Length: 0\r\n"));
	/* Not curl's application/x-www-form-urlencoded default. */
	assert_null(strcasestr(r->body, "Content-Type"));
}

static void
check_too_big(struct result *r, size_t cap)
{
	char want[64];

	snprintf(want, sizeof(want), "response body larger than %zu bytes", cap);
	assert_true(r->called);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
	assert_string_equal(r->error, want);
}

static void
test_body_cap(void **state)
{
	struct ctx *c = *state;
	char path[64];

	client_new(c);
	snprintf(path, sizeof(path), "/bytes/%d", BIG);
	assert_int_equal(start(c, "GET", path, NULL, NULL, 0), 0);
	snprintf(path, sizeof(path), "/chunked/%d", BIG);
	assert_int_equal(start(c, "GET", path, NULL, NULL, 0), 0);
	snprintf(path, sizeof(path), "/close/%d", BIG);
	assert_int_equal(start(c, "GET", path, NULL, NULL, 0), 0);
	run(c, 3, 10);
	assert_int_equal(c->calls, 3);
	check_too_big(&c->res[0], HTTP_MAX_BODY);
	check_too_big(&c->res[1], HTTP_MAX_BODY);
	check_too_big(&c->res[2], HTTP_MAX_BODY);
}

/* Exactly max_body passes, one byte more fails, however the body is framed. */
static void
test_body_cap_edge(void **state)
{
	static const char *const paths[] = {"/bytes/100", "/chunked/100", "/close/100",
	                                    "/bytes/101", "/chunked/101", "/close/101"};
	struct ctx *c = *state;
	size_t i;

	c->opts.max_body = 100;
	client_new(c);
	/* One at a time: the order of results is the order of paths. */
	for (i = 0; i < 6; i++) {
		assert_int_equal(start(c, "GET", paths[i], NULL, NULL, 0), 0);
		run(c, (int)i + 1, 10);
		assert_int_equal(c->calls, (int)i + 1);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(c->res[i].status, 200);
		assert_int_equal(c->res[i].body_len, 100);
		assert_int_equal(strlen(c->res[i].body), 100);
	}
	for (i = 3; i < 6; i++) {
		check_too_big(&c->res[i], 100);
	}
}

static void
test_cut_mid_body(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/cut", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
	assert_true(strlen(r->error) > 0);
}

static void
test_trickle(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	c->opts.low_speed_time_s = 1;
	client_new(c);
	assert_int_equal(start(c, "GET", "/trickle", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_false(c->timed_out);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
	assert_non_null(strcasestr(r->error, "too slow"));
}

static void
test_total_timeout(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	c->opts.total_timeout_ms = 500;
	client_new(c);
	assert_int_equal(start(c, "GET", "/trickle", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(strcasestr(r->error, "timed out"));
}

static void
test_keepalive(void **state)
{
	struct ctx *c = *state;
	struct http_stats st;
	int i;

	client_new(c);
	c->chain_left = 4;
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	run(c, 5, 10);
	assert_int_equal(c->calls, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c->res[i].status, 200);
	}
	http_get_stats(c->http, &st);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.connections, 1);
}

static void
test_parallel(void **state)
{
	struct ctx *c = *state;
	struct http_stats st;
	int i;

	client_new(c);
	for (i = 0; i < 4; i++) {
		assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	}
	assert_int_equal(http_pending(c->http), 4);
	run(c, 4, 10);
	assert_int_equal(c->calls, 4);
	assert_int_equal(http_pending(c->http), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(c->res[i].status, 200);
	}
	http_get_stats(c->http, &st);
	assert_int_equal(st.requests, 4);
	assert_true(st.connections >= 1 && st.connections <= 4);
}

/* Headers of a 1xx response do not leak into the final one. */
static void
test_continue_resets_headers(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/continue", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->replay_nonce, "fresh");
	assert_null(r->location);
	assert_string_equal(r->body, "ok");
}

/* Trailers are not headers: a server cannot slip a Location in after the body. */
static void
test_trailers_ignored(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/trailer", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->body, "ok");
	assert_string_equal(r->replay_nonce, "header");
	assert_null(r->location);
}

static void
test_hostile_headers(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	client_new(c);
	assert_int_equal(start(c, "GET", "/hostile", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(r->status, 200);
	/* The oversized value is dropped; the next one is taken. */
	assert_string_equal(r->replay_nonce, "second");
	assert_string_equal(r->location, "https://127.0.0.1/first");
	assert_null(r->retry_after);
	assert_string_equal(r->content_type, "text/plain");
	assert_int_equal(r->body_len, 0);
}

static void
test_connect_refused(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];
	int fd;
	int port;

	fd = tls_server_listen(&port);
	assert_true(fd >= 0);
	close(fd);
	client_new(c);
	c->srv.port = port;
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	assert_int_equal(c->calls, 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
}

/* A ca-file that cannot serve is refused with what to do, before any
 * request: missing, without a PEM certificate; the test server's serves. */
static void
test_ca_file_refused(void **state)
{
	struct ctx *c = *state;
	char path[] = "/tmp/acmed-test-cafile.XXXXXX";
	char why[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	assert_int_equal(http_ca_file_check(tls_server_ca_file(), why, sizeof(why)), 0);
	assert_int_equal(http_ca_file_check(path, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no PEM certificate in it"));
	assert_non_null(strstr(why, "set ca-file (--ca-file)"));
	c->opts.ca_file = path;
	assert_null(http_create(c->loop, &c->opts));
	unlink(path);
	assert_int_equal(http_ca_file_check(path, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot read it: No such file or directory"));
	assert_null(http_create(c->loop, &c->opts));
	c->opts.ca_file = tls_server_ca_file();
}

static void
test_untrusted(void **state)
{
	struct ctx *c = *state;
	struct result *r = &c->res[0];

	c->opts.ca_file = NULL;
	c->http = http_create(c->loop, &c->opts);
	assert_non_null(c->http);
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_int_equal(r->status, 0);
	assert_non_null(r->error);
}

static void
test_rejected(void **state)
{
	struct ctx *c = *state;
	char url[128];

	client_new(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", c->srv.port);
	assert_int_equal(http_request(c->http, "GET", url, NULL, NULL, 0, done, c), -1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/ok", c->srv.port);
	assert_int_equal(http_request(c->http, "PUT", url, NULL, NULL, 0, done, c), -1);
	assert_int_equal(http_request(c->http, "GET", url, NULL, NULL, 0, NULL, c), -1);
	assert_int_equal(
	        http_request(c->http, "POST", url, "text/plain\r\nX-Evil: 1", "x", 1, done, c), -1);
	assert_int_equal(http_request(c->http, "GET", NULL, NULL, NULL, 0, done, c), -1);
	assert_int_equal(http_request(NULL, "GET", url, NULL, NULL, 0, done, c), -1);
	assert_int_equal(http_pending(c->http), 0);
	/* Nothing is scheduled: the loop has nothing to run. */
	run(c, 1, 0.2);
	assert_int_equal(c->calls, 0);
}

/* Destroying with transfers in flight calls no callback. */
static void
test_destroy_in_flight(void **state)
{
	struct ctx *c = *state;

	client_new(c);
	assert_int_equal(start(c, "GET", "/trickle", NULL, NULL, 0), 0);
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	assert_int_equal(start(c, "POST", "/echo", "text/plain", "abc", 3), 0);
	http_destroy(c->http);
	c->http = NULL;
	run(c, 1, 0.2);
	assert_int_equal(c->calls, 0);

	client_new(c);
	assert_int_equal(start(c, "GET", "/trickle", NULL, NULL, 0), 0);
	run(c, 1, 0.5);
	assert_true(c->timed_out);
	assert_int_equal(http_pending(c->http), 1);
	http_destroy(c->http);
	c->http = NULL;
	run(c, 1, 0.2);
	assert_int_equal(c->calls, 0);
}

/* The callback may destroy the client; the others are then never called. */
static void
test_destroy_in_callback(void **state)
{
	struct ctx *c = *state;

	client_new(c);
	c->destroy_in_cb = true;
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	assert_int_equal(start(c, "GET", "/ok", NULL, NULL, 0), 0);
	assert_int_equal(start(c, "GET", "/trickle", NULL, NULL, 0), 0);
	run(c, 1, 10);
	assert_int_equal(c->calls, 1);
	assert_null(c->http);
	run(c, 2, 0.3);
	assert_int_equal(c->calls, 1);
}

static void
test_null_safe(void **state)
{
	struct http_stats st = {1, 1};

	http_destroy(NULL);
	assert_int_equal(http_pending(NULL), 0);
	http_get_stats(NULL, &st);
	assert_int_equal(st.requests, 0);
	assert_int_equal(st.connections, 0);
}

static void
test_url_ok(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} cases[] = {
	        {"https://acme-v02.api.letsencrypt.org/directory", true},
	        {"HTTPS://example.com/", true},
	        {"HtTpS://example.com", true},
	        {"https://example.com:14000/dir?x=1#f", true},
	        {"https://127.0.0.1/", true},
	        {"https://[::1]:14000/dir", true},
	        {"https://[::1]", true},
	        {"https://user@example.com/", true},
	        {"http://example.com/", false},
	        {"ftp://example.com/", false},
	        {"https:/example.com/", false},
	        {"https://", false},
	        {"https:///path", false},
	        {"https://:443/", false},
	        {"https://user@/", false},
	        {"https://[]/", false},
	        {"https://[::1/", false},
	        {"https://[::1]x/", false},
	        {"https://?q", false},
	        {"https://#f", false},
	        {"https://exa mple.com/", false},
	        {"https://example.com/a b", false},
	        {"https://example.com/\t", false},
	        {"https://example.com/\r\nX: y", false},
	        {"https://example.com/\x7f", false},
	        {"https://example.com/\xc3\xa9", false},
	        {"https://example.com\\@evil.com/", false},
	        {" https://example.com/", false},
	        {"", false},
	        {NULL, false},
	};
	char *longurl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (http_url_ok(cases[i].url) != cases[i].ok) {
			fail_msg("http_url_ok(\"%s\") != %d", cases[i].url ? cases[i].url : "NULL",
			         cases[i].ok);
		}
	}
	longurl = malloc(2050);
	assert_non_null(longurl);
	memcpy(longurl, "https://e.com/", 14);
	memset(longurl + 14, 'a', 2048 - 14);
	longurl[2048] = '\0';
	assert_true(http_url_ok(longurl));
	longurl[2048] = 'a';
	longurl[2049] = '\0';
	assert_false(http_url_ok(longurl));
	free(longurl);
}

/* Plain http only to a loopback address literal. */
static void
test_url_loopback(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} cases[] = {
	        {"http://127.0.0.1:8080/hook", true},
	        {"http://127.1.2.3/", true},
	        {"http://[::1]:9/x", true},
	        {"http://127.0.0.1", true},
	        {"http://localhost/", false},
	        {"http://10.0.0.1/", false},
	        {"http://[::2]/", false},
	        {"http://127.0.0.1.evil.example/", false},
	        {"http://user@127.0.0.1/", true},
	        {"http://127.0.0.1@evil.example/", false},
	        {"https://127.0.0.1/", false},
	        {"http://127.0.0.1/\r\nX: y", false},
	        {NULL, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (http_url_loopback(cases[i].url) != cases[i].ok) {
			fail_msg("http_url_loopback(\"%s\") != %d",
			         cases[i].url ? cases[i].url : "NULL", cases[i].ok);
		}
	}
}

static int
group_setup(void **state)
{
	(void)state;
	return tls_server_init();
}

static int
group_teardown(void **state)
{
	(void)state;
	tls_server_finish();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_url_ok),
	        cmocka_unit_test(test_url_loopback),
	        cmocka_unit_test(test_null_safe),
	        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_get_headers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_error_status, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_post_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_body_cap_edge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cut_mid_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_trickle, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_total_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_continue_resets_headers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_headers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_trailers_ignored, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ca_file_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_untrusted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rejected, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_in_callback, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
