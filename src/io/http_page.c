#include "io/http_page.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "io/http_head.h"
#include "io/listener.h"

/* A scraper sends its request at once and reads the answer: a client that
 * has not within PAGE_TIMEOUT_S is dropped; at most PAGE_MAX_CONNS at once,
 * PAGE_MAX_PER_SOURCE from one address, the oldest idle one making room
 * (listener.h). */
#define PAGE_MAX_CONNS 64
#define PAGE_MAX_PER_SOURCE 16
#define PAGE_MAX_HEAD 8192
#define PAGE_TIMEOUT_S 10.
#define PAGE_SEND_S 60. /* to send a page: a large one to a slow reader */
#define PAGE_LINGER_S 2.
#define PAGE_MAX_LINGER 65536

/* An answer's head: status, reason, content type, length, extra lines. */
#define ANSWER_HEAD                                                                            \
	"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n" \
	"\r\n"

enum conn_state {
	CONN_READING,
	CONN_WRITING,
	CONN_LINGERING,
};

struct page_conn {
	struct listener_conn base;
	enum conn_state state;
	size_t len; /* of the head read so far */
	char head[PAGE_MAX_HEAD + 1];
	char *out; /* the answer: its head then the page */
	size_t out_len;
	size_t sent; /* of out, then bytes dropped while lingering */
};

struct http_page_server {
	struct listener *listener;
	char *name; /* "metrics-listen ADDRESS", for the log */
	http_page_fn page;
	void *arg;
};

static void
conn_state(struct page_conn *c, enum conn_state state, int events)
{
	c->state = state;
	listener_conn_busy(&c->base, state == CONN_WRITING);
	listener_conn_watch(&c->base, events);
}

static void
conn_linger(struct page_conn *c)
{
	if (!http_head_linger(c->base.fd, &c->sent, PAGE_MAX_LINGER)) {
		listener_conn_close(&c->base);
	}
}

static void
conn_write(struct page_conn *c)
{
	if (!listener_conn_done(&c->base,
	                        listener_conn_send(&c->base, c->out, c->out_len, &c->sent))) {
		return;
	}
	shutdown(c->base.fd, SHUT_WR);
	c->sent = 0;
	conn_state(c, CONN_LINGERING, EV_READ);
	listener_conn_timeout(&c->base, PAGE_LINGER_S);
	conn_linger(c);
}

/* The answer with status, its content type and body (len bytes; HEAD: the
 * same head without it) into c->out; false when out of memory. */
static bool
set_answer(struct page_conn *c, int status, const char *type, const char *body, size_t len,
           bool head)
{
	static const char *const reasons[][2] = {
	        {"200", "OK"},
	        {"400", "Bad Request"},
	        {"404", "Not Found"},
	        {"405", "Method Not Allowed"},
	        {"503", "Service Unavailable"},
	};
	const char *reason = "Error";
	char code[8];
	int n;

	snprintf(code, sizeof(code), "%d", status);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcmp(reasons[i][0], code) == 0) {
			reason = reasons[i][1];
		}
	}
	n = snprintf(NULL, 0, ANSWER_HEAD, status, reason, type, len,
	             status == 405 ? "Allow: GET, HEAD\r\n" : "");
	c->out = n > 0 ? malloc((size_t)n + 1 + (head ? 0 : len)) : NULL;
	if (c->out == NULL) {
		return false;
	}
	snprintf(c->out, (size_t)n + 1, ANSWER_HEAD, status, reason, type, len,
	         status == 405 ? "Allow: GET, HEAD\r\n" : "");
	c->out_len = (size_t)n;
	if (!head) {
		memcpy(c->out + n, body, len);
		c->out_len += len;
	}
	return true;
}

/* Answers the request in c->head. */
static void
conn_respond(struct page_conn *c)
{
	struct http_page_server *s = listener_arg(c->base.listener);
	static const char text[] = "text/plain; charset=utf-8";
	struct http_head_line h;
	const char *type = text;
	char *body = NULL;
	size_t len = 0;
	bool head = false;
	int status = 404;
	char shown[128];

	if (http_head_parse(c->head, c->len, &h) < 0) {
		status = 400;
	} else if (!(head = http_head_method_is(&h, "HEAD")) && !http_head_method_is(&h, "GET")) {
		status = 405;
	} else if (h.path != NULL && s->page(h.path, h.path_len, &body, &len, &type, s->arg) == 0) {
		status = body != NULL ? 200 : 503;
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		http_head_printable(shown, sizeof(shown), h.line, h.line_len);
		log_debug("%s: %s: %s: %d", s->name, c->base.peer, shown, status);
	}
	if (status != 200) {
		static const char *const bodies[] = {"bad request\n", "not found\n",
		                                     "method not allowed\n", "not now\n"};
		const char *b = bodies[status == 400   ? 0
		                       : status == 404 ? 1
		                       : status == 405 ? 2
		                                       : 3];

		type = text;
		free(body);
		body = NULL;
		if (!set_answer(c, status, type, b, strlen(b), head)) {
			goto fail;
		}
	} else if (!set_answer(c, status, type, body, len, head)) {
		goto fail;
	}
	free(body);
	c->sent = 0;
	conn_state(c, CONN_WRITING, EV_WRITE);
	listener_conn_timeout(&c->base, PAGE_SEND_S);
	conn_write(c);
	return;
fail:
	free(body);
	log_error("%s: out of memory", s->name);
	listener_conn_close(&c->base);
}

static void
conn_read(struct page_conn *c)
{
	/* A head too long is no scraper's: 400. */
	if (http_head_read(&c->base, c->head, PAGE_MAX_HEAD, &c->len)) {
		conn_respond(c);
	}
}

static void
on_conn_io(struct listener_conn *base, int revents)
{
	struct page_conn *c = (struct page_conn *)base;

	(void)revents;
	switch (c->state) {
	case CONN_READING:
		conn_read(c);
		break;
	case CONN_WRITING:
		conn_write(c);
		break;
	case CONN_LINGERING:
		conn_linger(c);
		break;
	}
}

static void
on_conn_close(struct listener_conn *base)
{
	struct page_conn *c = (struct page_conn *)base;

	free(c->out);
	c->out = NULL;
}

struct http_page_server *
http_page_start(struct ev_loop *loop, const char *key, const char *address, http_page_fn page,
                void *arg)
{
	struct http_page_server *s = calloc(1, sizeof(*s));
	struct listener_config cfg = {
	        .conn_size = sizeof(struct page_conn),
	        .max_conns = PAGE_MAX_CONNS,
	        .max_per_source = PAGE_MAX_PER_SOURCE,
	        .timeout_s = PAGE_TIMEOUT_S,
	        .io = on_conn_io,
	        .close = on_conn_close,
	};
	int n = snprintf(NULL, 0, "%s %s", key, address);

	if (s == NULL || n < 0 || (s->name = malloc((size_t)n + 1)) == NULL) {
		log_error("%s %s: out of memory", key, address);
		goto fail;
	}
	snprintf(s->name, (size_t)n + 1, "%s %s", key, address);
	s->page = page;
	s->arg = arg;
	cfg.name = s->name;
	cfg.arg = s;
	s->listener = listener_start(loop, key, address, &cfg);
	if (s->listener == NULL) {
		goto fail;
	}
	return s;
fail:
	http_page_stop(s);
	return NULL;
}

void
http_page_stop(struct http_page_server *s)
{
	if (s == NULL) {
		return;
	}
	listener_destroy(s->listener);
	free(s->name);
	free(s);
}
