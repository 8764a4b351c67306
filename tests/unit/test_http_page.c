#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "challenge_client.h"
#include "io/http_page.h"

struct fixture {
	struct ev_loop *loop;
	struct http_page_server *s;
	int port;
	int calls;
	bool fail; /* the page cannot be built */
	char path[256]; /* the last one asked for */
};

static int
page(const char *path, size_t len, char **body, size_t *body_len, const char **type, void *arg)
{
	struct fixture *f = arg;

	f->calls++;
	snprintf(f->path, sizeof(f->path), "%.*s", (int)len, path);
	if (strcmp(f->path, "/page") != 0 && strcmp(f->path, "/page?x=1") != 0) {
		return -1;
	}
	*type = "text/x-test";
	*body = f->fail ? NULL : strdup("the page\n");
	*body_len = *body != NULL ? strlen(*body) : 0;
	return 0;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char listen[64];

	assert_non_null(f);
	f->loop = EV_DEFAULT;
	f->port = client_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	f->s = http_page_start(f->loop, "metrics-listen", listen, page, f);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	http_page_stop(f->s);
	free(f);
	return 0;
}

static char *
ask(struct fixture *f, const char *method, const char *path)
{
	struct client_http h;

	client_http_start(f->loop, &h, f->port, method, path);
	return strdup(client_http_finish(&h));
}

/* The answer's status line starts with status, it has header, and its
 * body is body. */
static void
assert_answer(char *answer, const char *status, const char *header, const char *body)
{
	const char *end = strstr(answer, "\r\n\r\n");

	assert_non_null(end);
	assert_int_equal(strncmp(answer, status, strlen(status)), 0);
	if (header != NULL) {
		assert_non_null(strstr(answer, header));
	}
	assert_string_equal(end + 4, body);
	free(answer);
}

static void
test_get_and_head(void **state)
{
	struct fixture *f = *state;

	assert_answer(ask(f, "GET", "/page"), "HTTP/1.1 200 OK\r\n",
	              "\r\nContent-Type: text/x-test\r\nContent-Length: 9\r\n", "the page\n");
	assert_answer(ask(f, "HEAD", "/page"), "HTTP/1.1 200 OK\r\n", "Content-Length: 9\r\n", "");
	assert_answer(ask(f, "GET", "/page?x=1"), "HTTP/1.1 200 OK\r\n", NULL, "the page\n");
	/* absolute-form: the path after the host */
	assert_answer(ask(f, "GET", "http://127.0.0.1/page"), "HTTP/1.1 200 OK\r\n", NULL,
	              "the page\n");
	assert_string_equal(f->path, "/page");
	assert_int_equal(f->calls, 4);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;

	assert_answer(ask(f, "GET", "/nosuch"), "HTTP/1.1 404 ", NULL, "not found\n");
	assert_answer(ask(f, "POST", "/page"), "HTTP/1.1 405 ", "\r\nAllow: GET, HEAD\r\n",
	              "method not allowed\n");
	/* Not HTTP/1.x: the page is never built. */
	assert_answer(ask(f, "GET", "/page HTTP/9 x"), "HTTP/1.1 400 ", NULL, "bad request\n");
	assert_int_equal(f->calls, 1);
	f->fail = true;
	assert_answer(ask(f, "GET", "/page"), "HTTP/1.1 503 ", NULL, "not now\n");
}

/* A second server on the same address is refused: the setting is named. */
static void
test_address_taken(void **state)
{
	struct fixture *f = *state;
	char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	assert_null(http_page_start(f->loop, "metrics-listen", listen, page, f));
	http_page_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_get_and_head, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_address_taken, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
