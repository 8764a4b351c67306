/* The request side of acmed's small HTTP/1.x servers (the standalone
 * http-01 responder, the metrics endpoint): finding the end of a request's
 * head, splitting its request line (RFC 9112 section 3), showing what a
 * client sent in a log line, and lingering after the answer. Nothing here
 * allocates. */
#ifndef ACMED_HTTP_HEAD_H
#define ACMED_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

struct http_head_line {
	const char *line; /* the request line without its end, for the log */
	size_t line_len;
	const char *method;
	size_t method_len;
	const char *path; /* the target's path (absolute-form: after the host) */
	size_t path_len;
};

/* Whether the head in buf (len bytes, of which the first before were
 * looked at already) is whole: it ends with an empty line. */
bool http_head_complete(const char *buf, size_t before, size_t len);

/* Reads what came on c into buf (cap bytes; buf holds cap + 1, *len of
 * them read so far): true when the head is whole, or cap was reached
 * without its end (then *len is 0: no request line, which is answered
 * 400); false while more is to come, or when c was closed (listener.h:
 * gone then). */
struct listener_conn;
bool http_head_read(struct listener_conn *c, char *buf, size_t cap, size_t *len);

/* Splits the request line at the start of buf (len bytes): method SP
 * request-target SP HTTP/1.x. Returns 0, or -1 when it is not one (r->line
 * and line_len are set either way); r->path is NULL for a target without
 * a path. */
int http_head_parse(const char *buf, size_t len, struct http_head_line *r);

/* Whether r's method is name. */
bool http_head_method_is(const struct http_head_line *r, const char *name);

/* What a client sent, fit for a log line: at most dstlen - 1 bytes,
 * anything but printable ASCII shown as '?'. */
void http_head_printable(char *dst, size_t dstlen, const char *src, size_t len);

/* After the answer was sent and the socket shut for writing: reads and
 * drops what the client still sends (closing with unread input makes the
 * kernel send a reset, which can destroy the answer before the client read
 * it), counting it in *dropped. Returns true while it is worth waiting for
 * more (the socket would block), false when the connection is to be closed
 * (the client closed, an error, or more than max bytes dropped). */
bool http_head_linger(int fd, size_t *dropped, size_t max);

#endif
