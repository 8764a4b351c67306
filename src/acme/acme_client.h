/* The ACME transport: directory, nonce pool, signed POST and POST-as-GET,
 * badNonce retry, waits on 429/5xx, problem documents (RFC 8555 sections 6
 * and 7.1.1). */
#ifndef ACMED_ACME_CLIENT_H
#define ACMED_ACME_CLIENT_H

#include <ev.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_parse.h"
#include "io/http.h"

#define ACME_CLIENT_MAX_BAD_NONCE 10
#define ACME_CLIENT_TRIES 3 /* attempts at a request the CA refuses for now */
#define ACME_CLIENT_MAX_WAIT 60 /* the longest Retry-After waited for, seconds */
#define ACME_CLIENT_POLL_FIRST 0.1 /* the first wait before a poll without Retry-After */
#define ACME_CLIENT_POLL_MAX 30.0 /* the longest wait between polls without Retry-After */

struct acme_client;
struct acme_counts;

/* A reply; everything is borrowed for the duration of the callback. */
struct acme_reply {
	const char *url; /* the request URL */
	long status; /* HTTP status, 0 when the transfer failed */
	const char *body; /* NUL-terminated, never NULL */
	size_t body_len;
	const char *content_type; /* or NULL */
	const char *location; /* or NULL */
	time_t retry_after; /* absolute, 0 when absent */
	/* The Link header values joined (http.h), for a request sent with
	 * ACME_CLIENT_LINKS only; else NULL. */
	const char *links;
	/* Set when the request failed: a transport error (type NULL, detail
	 * the reason), an HTTP error with its problem document, or a synthetic
	 * one for an HTTP error without a problem document. NULL on success. */
	const struct acme_problem *problem;
	/* problem formatted as "url: status: type: detail", "" on success */
	const char *message;
};

typedef void (*acme_reply_fn)(const struct acme_reply *reply, void *arg);
typedef void (*acme_ready_fn)(int rc, const char *message, void *arg);

/* How a client reaches the CA and tells the time. acme_client_create uses
 * http.c, time(2) and the loop's timers; a test passes a scripted one. */
struct acme_transport {
	/* Starts a request as http_request_with does (flags: enum
	 * http_flags): done is called exactly once, from the loop; -1 when
	 * nothing was started (done not called). */
	int (*request)(void *ctx, unsigned flags, const char *method, const char *url,
	               const char *content_type, const char *body, size_t len, http_done_fn done,
	               void *arg);
	/* The wall-clock time Retry-After is read against. */
	time_t (*now)(void *ctx);
	/* Starts w (ev_timer_init'ed with its callback) on loop to fire once,
	 * after delay seconds. */
	void (*timer_start)(void *ctx, struct ev_loop *loop, ev_timer *w, double delay);
};

/* New client for the directory at directory_url (copied); http is borrowed.
 * Returns NULL (logged) when out of memory. */
struct acme_client *acme_client_create(struct http *http, const char *directory_url);

/* The same over another transport on loop; transport and ctx are borrowed
 * and must outlive the client. */
struct acme_client *acme_client_create_with(struct ev_loop *loop,
                                            const struct acme_transport *transport, void *ctx,
                                            const char *directory_url);

/* Frees the client. Replies still in flight are dropped (their callbacks are
 * not called); destroy the http client first or let the loop drain. */
void acme_client_destroy(struct acme_client *client);

/* Fetches the directory. ready is called once from the loop with rc 0, or -1
 * and a one-line message. */
int acme_client_start(struct acme_client *client, acme_ready_fn ready, void *arg);

/* The directory, once acme_client_start succeeded; NULL before. Borrowed. */
const struct acme_directory *acme_client_directory(const struct acme_client *client);

const char *acme_client_directory_url(const struct acme_client *client);

/* Every answer the client got so far (acme/acme_counts.h). */
const struct acme_counts *acme_client_counts(const struct acme_client *client);

/* Counts p (its type), a problem the CA reported inside a challenge, an
 * authorization or an order rather than as an answer of its own. */
struct acme_problem;
void acme_client_count_problem(struct acme_client *client, const struct acme_problem *p);

/* Signed POST of payload (JSON text; NULL for POST-as-GET) to url with key,
 * by kid (account URL) or, when kid is NULL, with the public JWK (newAccount,
 * revocation by certificate key). key is borrowed until done is called. A
 * nonce comes from the pool (newNonce only when it is empty); badNonce is
 * retried with the nonce from the error, at most ACME_CLIENT_MAX_BAD_NONCE
 * times in a row. 429, 500, 502, 503 and 504 are tried again after the CA's
 * Retry-After (1 s, then 2 s without one), ACME_CLIENT_TRIES attempts in all,
 * unless Retry-After is over ACME_CLIENT_MAX_WAIT seconds: then the reply's
 * retry_after and message tell when. The same holds for acme_client_get and
 * the directory. done is called exactly once from the loop. Returns 0 or -1
 * when nothing could be started (done not called). */
int acme_client_post(struct acme_client *client, const char *url, EVP_PKEY *key, const char *kid,
                     const char *payload, acme_reply_fn done, void *arg);

/* acme_client_post flags */
enum acme_client_flags {
	/* The reply carries the response's Link headers (acme_reply.links):
	 * for the certificate download, whose alternates they name. */
	ACME_CLIENT_LINKS = 1 << 0,
};

/* acme_client_post with enum acme_client_flags bits. */
int acme_client_post_with(struct acme_client *client, unsigned flags, const char *url,
                          EVP_PKEY *key, const char *kid, const char *payload, acme_reply_fn done,
                          void *arg);

/* Unsigned GET (the directory, renewalInfo). */
int acme_client_get(struct acme_client *client, const char *url, acme_reply_fn done, void *arg);

/* The renewalInfo URL (RFC 9773 section 4.1) of the certificate with the
 * ARI ID cert_id. New string, or NULL when the CA offers no renewalInfo (or
 * out of memory). */
char *acme_client_ari_url(const struct acme_client *client, const char *cert_id);

/* The time by the client's clock (its transport's). */
time_t acme_client_now(const struct acme_client *client);

/* Starts w (ev_timer_init'ed with its callback) to fire once after delay
 * seconds, by the client's transport: every wait of acme/ goes through here
 * so that a test sees what was asked for. */
void acme_client_timer_start(struct acme_client *client, ev_timer *w, double delay);

/* How long to wait before the polls-th poll (0: the first) of a pending
 * resource (RFC 8555 sections 7.4 and 7.5.1): ACME_CLIENT_POLL_FIRST
 * doubled at each poll (0.1, 0.2, 0.4 ... s) up to ACME_CLIENT_POLL_MAX, or
 * the CA's Retry-After (absolute, 0: none) when that is later: never sooner
 * than the CA asks; never more than left (the caller's deadline),
 * never negative. A CA that validates at once (a local one) is seen done
 * at the first poll; one that takes five seconds is asked six times, and
 * after ten seconds at most once every six seconds. */
double acme_client_poll_delay(const struct acme_client *client, int polls, time_t retry_after,
                              double left);

#endif
