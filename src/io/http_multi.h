/* libcurl's multi interface driven by a libev loop, after curl's
 * docs/examples/evhiperfifo.c: one ev_timer for the timeout curl asks for,
 * one ev_io per socket curl asks to watch, and after each action the
 * owner's info callback, which reads curl_multi_info_read. What a transfer
 * is and what its end means is the owner's (http.c); this is the plumbing
 * under it. */
#ifndef ACMED_HTTP_MULTI_H
#define ACMED_HTTP_MULTI_H

#include <curl/curl.h>
#include <ev.h>

#include "base/list.h"

/* Called after curl acted on a socket or a timeout: some transfers may
 * have ended. */
typedef void (*http_multi_info_fn)(void *arg);

/* Caller storage; zeroed is finished. */
struct http_multi {
	struct ev_loop *loop;
	CURLM *multi; /* add and remove easy handles here */
	struct ev_timer timer;
	struct list socks; /* watched sockets */
	http_multi_info_fn info;
	void *arg;
};

/* A multi handle on loop with HTTP/2 multiplexing. Returns 0, or -1
 * (logged); then http_multi_finish is still due. */
int http_multi_init(struct http_multi *m, struct ev_loop *loop, http_multi_info_fn info, void *arg);

/* Frees the multi handle (remove the easy handles first) and stops
 * watching. Safe on zeroed storage and twice. */
void http_multi_finish(struct http_multi *m);

#endif
