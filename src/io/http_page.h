/* A read-only HTTP/1.x server on the event loop for pages built when asked
 * (the daemon's GET /metrics): one request per connection, answered with
 * Connection: close, on the listener core (listener.h: connection caps,
 * per-source caps, a timeout from accept). GET and HEAD of the pages the
 * callback knows get 200; another path 404, another method 405, anything
 * not HTTP/1.x 400. */
#ifndef ACMED_HTTP_PAGE_H
#define ACMED_HTTP_PAGE_H

#include <ev.h>
#include <stddef.h>

struct http_page_server;

/* The page at path (path_len bytes, query string included): 0 with *body
 * (malloc'd, len bytes; the server frees it) and *content_type (static),
 * or -1 when there is no such page (404). A page that cannot be built (out
 * of memory) is answered 503 when *body is NULL on 0. */
typedef int (*http_page_fn)(const char *path, size_t path_len, char **body, size_t *len,
                            const char **content_type, void *arg);

/* Serves on address (listener_parse_address's forms), key naming the
 * setting in messages ("metrics-listen"). Returns the server, or NULL
 * (logged: the address taken, no permission). */
struct http_page_server *http_page_start(struct ev_loop *loop, const char *key, const char *address,
                                         http_page_fn page, void *arg);

/* Closes every connection and the socket; NULL is fine. */
void http_page_stop(struct http_page_server *s);

#endif
