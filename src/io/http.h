/* Asynchronous HTTPS client: libcurl multi driven by a libev loop (after
 * curl's docs/examples/evhiperfifo.c). https only, no redirects, bounded
 * bodies, HTTP/2 with multiplexing and connection reuse. */
#ifndef ACMED_HTTP_H
#define ACMED_HTTP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_MAX_ACTIVE 64 /* requests handed to curl at once; more wait */
/* The most Link header text kept for a request that asks for it (joined);
 * the headers past it are dropped, the first ones kept. */
#define HTTP_MAX_LINKS 8192

/* http_request_with flags */
enum http_flags {
	/* Keep the response's Link header values (struct http_response.links):
	 * asked for by the requests that read them, so that no other
	 * response pays for a copy. */
	HTTP_KEEP_LINKS = 1 << 0,
};

struct http;

struct http_options {
	const char *ca_file; /* borrowed; PEM bundle to trust, NULL: the system store */
	long connect_timeout_ms; /* 0: 10 s */
	long total_timeout_ms; /* 0: 60 s */
	long low_speed_time_s; /* abort below 16 bytes/s for this long; 0: 20 s */
	size_t max_body; /* 0: HTTP_MAX_BODY */
	/* http:// too, to a loopback address literal (http_url_loopback):
	 * a webhook receiver on the same host */
	bool loopback_http;
};

/* What came back. Everything is borrowed for the duration of the callback. */
struct http_response {
	const char *url; /* the request URL */
	long status; /* HTTP status; 0 when the transfer failed */
	const char *error; /* why the transfer failed (status 0), else NULL */
	const char *body; /* NUL-terminated, never NULL */
	size_t body_len;
	const char *content_type; /* NULL when absent; likewise below */
	const char *location;
	const char *replay_nonce;
	const char *retry_after;
	/* HTTP_KEEP_LINKS: every Link header value, in order, joined with
	 * ", " (the same field by RFC 9110 section 5.3; RFC 8288 section 3),
	 * or NULL when none; always NULL without the flag. */
	const char *links;
};

typedef void (*http_done_fn)(const struct http_response *resp, void *arg);

struct http_stats {
	unsigned long requests; /* transfers completed (or failed) */
	unsigned long connections; /* new TCP connections opened */
};

/* Whether path can serve as ca-file: a file this process can read that
 * holds a PEM certificate. Returns 0, or -1 with why (len bytes): "ca-file
 * PATH: what is wrong: what to do". */
int http_ca_file_check(const char *path, char *why, size_t len);

/* New client on loop. opts is copied (ca_file is borrowed and must outlive
 * the client; one http_ca_file_check refuses is refused here). Returns NULL
 * (logged) on failure. */
struct http *http_create(struct ev_loop *loop, const struct http_options *opts);

/* Aborts transfers in flight without calling their callbacks, and frees. */
void http_destroy(struct http *http);

/* Starts a request. method is "GET", "HEAD" or "POST"; body (len bytes,
 * copied) and content_type only for POST. done is called exactly once, from
 * the loop, never from inside http_request. Returns 0, or -1 (logged) when the
 * request could not start (for example a URL that is not https), in which case
 * done is never called. */
int http_request(struct http *http, const char *method, const char *url, const char *content_type,
                 const char *body, size_t len, http_done_fn done, void *arg);

/* The same with enum http_flags bits. */
int http_request_with(struct http *http, unsigned flags, const char *method, const char *url,
                      const char *content_type, const char *body, size_t len, http_done_fn done,
                      void *arg);

/* The loop the client runs on. */
struct ev_loop *http_loop(const struct http *http);

void http_get_stats(const struct http *http, struct http_stats *stats);

/* Whether url is an absolute https URL with a host and no whitespace or
 * control characters. */
bool http_url_ok(const char *url);

/* Whether url is an absolute http:// URL (the same checks) whose host is
 * a loopback address literal: 127.0.0.0/8 or [::1]. */
bool http_url_loopback(const char *url);

#endif
