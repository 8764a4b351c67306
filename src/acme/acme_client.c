#include "acme/acme_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_client_test.h"
#include "acme/acme_counts.h"
#include "base/b64.h"
#include "base/list.h"
#include "base/log.h"
#include "crypto/jws.h"

#define NONCE_POOL_SIZE 64
#define NONCE_MAX_LEN 256
#define RETRY_AFTER_MAX (7L * 24 * 3600)
#define MESSAGE_LEN 1024

enum request_kind {
	REQUEST_DIRECTORY,
	REQUEST_GET,
	REQUEST_POST,
};

struct request {
	struct acme_client *client;
	struct list_node node; /* in client->requests */
	enum request_kind kind;
	unsigned flags; /* enum acme_client_flags */
	char *url;
	char *payload; /* NULL: POST-as-GET */
	EVP_PKEY *key; /* borrowed */
	char *kid;
	int bad_nonces;
	int tries; /* attempts after a transient refusal, beyond the first */
	ev_timer wait; /* until the next attempt */
	acme_reply_fn done;
	acme_ready_fn ready;
	void *arg;
};

static int send_post(struct request *req);
static void fail_request(struct request *req, const char *url, const char *why);
static void on_get(const struct http_response *resp, void *arg);
static void on_directory(const struct http_response *resp, void *arg);
static void on_wait(struct ev_loop *loop, ev_timer *w, int revents);

struct acme_client {
	const struct acme_transport *transport;
	void *transport_ctx;
	struct ev_loop *loop;
	char *directory_url;
	struct acme_directory directory;
	bool have_directory;
	char *nonces[NONCE_POOL_SIZE];
	size_t n_nonces;
	struct list requests;
	struct acme_counts counts; /* every answer, for the metrics */
};

static int
http_send(void *ctx, unsigned flags, const char *method, const char *url, const char *content_type,
          const char *body, size_t len, http_done_fn done, void *arg)
{
	return http_request_with(ctx, flags, method, url, content_type, body, len, done, arg);
}

static time_t
wall_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static void
loop_timer_start(void *ctx, struct ev_loop *loop, ev_timer *w, double delay)
{
	(void)ctx;
	ev_timer_set(w, delay, 0.0);
	ev_timer_start(loop, w);
}

static const struct acme_transport http_transport = {
        .request = http_send,
        .now = wall_now,
        .timer_start = loop_timer_start,
};

struct acme_client *
acme_client_create(struct http *http, const char *directory_url)
{
	return acme_client_create_with(http_loop(http), &http_transport, http, directory_url);
}

struct acme_client *
acme_client_create_with(struct ev_loop *loop, const struct acme_transport *transport, void *ctx,
                        const char *directory_url)
{
	struct acme_client *client;

	client = calloc(1, sizeof(*client));
	if (client == NULL) {
		log_error("out of memory");
		return NULL;
	}
	client->transport = transport;
	client->transport_ctx = ctx;
	client->loop = loop;
	list_init(&client->requests);
	client->directory_url = strdup(directory_url);
	if (client->directory_url == NULL) {
		log_error("out of memory");
		free(client);
		return NULL;
	}
	return client;
}

time_t
acme_client_now(const struct acme_client *client)
{
	return client->transport->now(client->transport_ctx);
}

void
acme_client_timer_start(struct acme_client *client, ev_timer *w, double delay)
{
	client->transport->timer_start(client->transport_ctx, client->loop, w, delay);
}

double
acme_client_poll_delay(const struct acme_client *client, int polls, time_t retry_after, double left)
{
	double delay = ACME_CLIENT_POLL_FIRST;

	for (int i = 0; i < polls && delay < ACME_CLIENT_POLL_MAX; i++) {
		delay *= 2;
	}
	if (delay > ACME_CLIENT_POLL_MAX) {
		delay = ACME_CLIENT_POLL_MAX;
	}
	if (retry_after != 0) {
		double ra = difftime(retry_after, acme_client_now(client));

		/* Never sooner than the CA asks; a Retry-After of 0 or in the
		 * past does not undo the backoff (no poll storm from a CA that
		 * says "now" every time). */
		if (ra > delay) {
			delay = ra;
		}
	}
	if (delay > left) {
		delay = left > 0 ? left : 0.0;
	}
	return delay;
}

/* Starts a request through the transport. */
static int
send_request(struct request *req, const char *method, const char *url, const char *content_type,
             const char *body, size_t len, http_done_fn done)
{
	struct acme_client *client = req->client;
	/* The newNonce HEAD on the way is not the request that asked. */
	unsigned flags = (req->flags & ACME_CLIENT_LINKS) != 0 && strcmp(method, "POST") == 0
	                         ? HTTP_KEEP_LINKS
	                         : 0;

	return client->transport->request(client->transport_ctx, flags, method, url, content_type,
	                                  body, len, done, req);
}

static void
request_free(struct request *req)
{
	struct acme_client *client;

	if (req == NULL) {
		return;
	}
	client = req->client;
	ev_timer_stop(client->loop, &req->wait);
	list_unlink(&req->node);
	free(req->url);
	free(req->payload);
	free(req->kid);
	free(req);
}

void
acme_client_destroy(struct acme_client *client)
{
	if (client == NULL) {
		return;
	}
	while (!list_empty(&client->requests)) {
		request_free(list_entry(list_first(&client->requests), struct request, node));
	}
	for (size_t i = 0; i < client->n_nonces; i++) {
		free(client->nonces[i]);
	}
	acme_parse_directory_finish(&client->directory);
	free(client->directory_url);
	free(client);
}

const struct acme_directory *
acme_client_directory(const struct acme_client *client)
{
	return client->have_directory ? &client->directory : NULL;
}

const struct acme_counts *
acme_client_counts(const struct acme_client *client)
{
	return &client->counts;
}

void
acme_client_count_problem(struct acme_client *client, const struct acme_problem *p)
{
	if (client != NULL && p != NULL) {
		acme_counts_problem(&client->counts, acme_problem_short_type(p->type));
	}
}

const char *
acme_client_directory_url(const struct acme_client *client)
{
	return client->directory_url;
}

size_t
acme_client_nonces(const struct acme_client *client)
{
	return client->n_nonces;
}

/* RFC 8555 section 6.5: every response may carry a fresh nonce; keep them
 * all (up to the pool size) so most requests need no newNonce round trip. */
static void
nonce_push(struct acme_client *client, const char *nonce)
{
	char *copy;

	if (nonce == NULL || !b64_is_token(nonce, NONCE_MAX_LEN)) {
		return;
	}
	copy = strdup(nonce);
	if (copy == NULL) {
		return;
	}
	if (client->n_nonces == NONCE_POOL_SIZE) {
		/* Drop the oldest: it is the likeliest to have expired. */
		free(client->nonces[0]);
		memmove(client->nonces, client->nonces + 1,
		        (NONCE_POOL_SIZE - 1) * sizeof(client->nonces[0]));
		client->n_nonces--;
	}
	client->nonces[client->n_nonces++] = copy;
}

/* The newest nonce, owned by the caller; NULL when the pool is empty. */
static char *
nonce_pop(struct acme_client *client)
{
	if (client->n_nonces == 0) {
		return NULL;
	}
	return client->nonces[--client->n_nonces];
}

static struct request *
request_create(struct acme_client *client, enum request_kind kind, const char *url)
{
	struct request *req;

	req = calloc(1, sizeof(*req));
	if (req == NULL) {
		log_error("out of memory");
		return NULL;
	}
	req->url = strdup(url);
	if (req->url == NULL) {
		log_error("out of memory");
		free(req);
		return NULL;
	}
	req->client = client;
	req->kind = kind;
	ev_timer_init(&req->wait, on_wait, 0.0, 0.0);
	req->wait.data = req;
	list_push(&client->requests, &req->node);
	return req;
}

static bool
is_json_type(const char *content_type, const char *type)
{
	size_t n = strlen(type);

	return content_type != NULL && strncasecmp(content_type, type, n) == 0 &&
	       (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

/* Fills problem for a failed response: the server's problem document when it
 * sent one, else a description of what came back. */
static void
make_problem(const struct http_response *resp, struct acme_problem *problem, char *detail,
             size_t detail_len)
{
	char err[128];

	memset(problem, 0, sizeof(*problem));
	if (resp->status == 0) {
		snprintf(detail, detail_len, "%s", resp->error != NULL ? resp->error : "failed");
		problem->detail = detail;
		return;
	}
	if (resp->body_len > 0 &&
	    (is_json_type(resp->content_type, "application/problem+json") ||
	     is_json_type(resp->content_type, "application/json")) &&
	    acme_problem_parse(resp->body, resp->body_len, problem, err, sizeof(err)) == 0) {
		if (problem->status == 0) {
			problem->status = resp->status;
		}
		return;
	}
	memset(problem, 0, sizeof(*problem));
	problem->status = resp->status;
	snprintf(detail, detail_len, "HTTP error without a problem document (%s)",
	         resp->content_type != NULL ? resp->content_type : "no content type");
	problem->detail = detail;
}

/* The problem's strings belong to it unless they are the caller's detail
 * buffer. */
static void
problem_release(struct acme_problem *problem, const char *detail)
{
	if (problem->detail == detail) {
		problem->detail = NULL;
	}
	acme_problem_finish(problem);
}

/* Tells when the CA asked to be tried again (RFC 8555 section 6.6). */
static void
append_retry_after(char *message, size_t len, time_t when)
{
	struct tm tm;
	char stamp[32];
	size_t n = strlen(message);

	if (when == 0 || gmtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		return;
	}
	snprintf(message + n, len - n, " (the CA asks to retry after %s)", stamp);
}

static void
deliver(struct request *req, const struct http_response *resp)
{
	struct acme_reply reply;
	struct acme_problem problem;
	char detail[512];
	char message[MESSAGE_LEN];
	time_t now = acme_client_now(req->client);
	bool failed = resp->status == 0 || resp->status >= 400;

	memset(&reply, 0, sizeof(reply));
	memset(&problem, 0, sizeof(problem));
	message[0] = '\0';
	reply.url = req->url;
	reply.status = resp->status;
	reply.body = resp->body;
	reply.body_len = resp->body_len;
	reply.content_type = resp->content_type;
	reply.location = resp->location;
	reply.links = (req->flags & ACME_CLIENT_LINKS) != 0 ? resp->links : NULL;
	if (resp->retry_after != NULL &&
	    acme_parse_retry_after(resp->retry_after, now, RETRY_AFTER_MAX, &reply.retry_after) <
	            0) {
		reply.retry_after = 0;
	}
	if (failed) {
		make_problem(resp, &problem, detail, sizeof(detail));
		acme_problem_format(&problem, req->url, message, sizeof(message));
		append_retry_after(message, sizeof(message), reply.retry_after);
		reply.problem = &problem;
	}
	reply.message = message;
	req->done(&reply, req->arg);
	problem_release(&problem, detail);
}

/* Sends req again; -1 when nothing was started. */
static int
resend(struct request *req)
{
	switch (req->kind) {
	case REQUEST_POST:
		return send_post(req);
	case REQUEST_GET:
		return send_request(req, "GET", req->url, NULL, NULL, 0, on_get);
	case REQUEST_DIRECTORY:
		return send_request(req, "GET", req->url, NULL, NULL, 0, on_directory);
	}
	return -1;
}

static void
on_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct request *req = w->data;

	(void)loop;
	(void)revents;
	if (resend(req) < 0) {
		fail_request(req, req->url, "cannot send the request again");
	}
}

/* RFC 8555 section 6.6 and RFC 9110 section 15.6: 429 and 503 ask the client
 * to come back after Retry-After, and 500, 502 and 504 are most often as
 * passing. Such a request is tried again ACME_CLIENT_TRIES times in all when
 * the CA asks for at most ACME_CLIENT_MAX_WAIT seconds (without Retry-After:
 * 1 s, then 2 s); a longer wait is the caller's (the daemon's backoff), and
 * the reply tells it when. Returns whether the request was put off. */
static bool
retry_later(struct request *req, const struct http_response *resp)
{
	time_t now = acme_client_now(req->client);
	time_t when = 0;
	double delay;

	if (resp->status != 429 && resp->status != 500 && resp->status != 502 &&
	    resp->status != 503 && resp->status != 504) {
		return false;
	}
	if (req->tries + 1 >= ACME_CLIENT_TRIES) {
		return false;
	}
	if (resp->retry_after != NULL &&
	    acme_parse_retry_after(resp->retry_after, now, RETRY_AFTER_MAX, &when) == 0) {
		delay = difftime(when, now);
		if (delay > ACME_CLIENT_MAX_WAIT) {
			return false;
		}
		if (delay < 1.0) {
			delay = 1.0;
		}
	} else {
		delay = (double)(1 << req->tries);
	}
	req->tries++;
	log_warn("%s: the CA answered %ld; trying again in %.0f s (attempt %d of %d)", req->url,
	         resp->status, delay, req->tries + 1, ACME_CLIENT_TRIES);
	acme_client_timer_start(req->client, &req->wait, delay);
	return true;
}

static void
on_post(const struct http_response *resp, void *arg)
{
	struct request *req = arg;
	struct acme_client *client = req->client;

	acme_counts_add(&client->counts, resp);
	nonce_push(client, resp->replay_nonce);
	if (resp->status == 400 && is_json_type(resp->content_type, "application/problem+json")) {
		struct acme_problem problem;
		char err[128];
		bool bad_nonce = false;

		if (acme_problem_parse(resp->body, resp->body_len, &problem, err, sizeof(err)) ==
		    0) {
			bad_nonce = acme_problem_is(&problem, "badNonce");
			acme_problem_finish(&problem);
		}
		/* RFC 8555 section 6.5: retry with the nonce the error
		 * carried, but not forever. */
		if (bad_nonce && req->bad_nonces < ACME_CLIENT_MAX_BAD_NONCE) {
			req->bad_nonces++;
			log_debug("%s: badNonce, retrying (%d)", req->url, req->bad_nonces);
			if (send_post(req) < 0) {
				fail_request(req, req->url, "cannot send the request again");
			}
			return;
		}
	}
	if (retry_later(req, resp)) {
		return;
	}
	deliver(req, resp);
	request_free(req);
}

static void
fail_request(struct request *req, const char *url, const char *why)
{
	struct http_response resp;

	if (req->kind == REQUEST_DIRECTORY) {
		char message[MESSAGE_LEN];

		snprintf(message, sizeof(message), "%s: %s", url, why);
		req->ready(-1, message, req->arg);
		request_free(req);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	resp.url = url;
	resp.error = why;
	resp.body = "";
	deliver(req, &resp);
	request_free(req);
}

static void
on_nonce(const struct http_response *resp, void *arg)
{
	struct request *req = arg;

	nonce_push(req->client, resp->replay_nonce);
	if (req->client->n_nonces == 0) {
		char why[256];

		if (resp->status == 0) {
			snprintf(why, sizeof(why), "newNonce: %s", resp->error);
		} else {
			snprintf(why, sizeof(why), "newNonce: %ld: no usable Replay-Nonce header",
			         resp->status);
		}
		fail_request(req, req->url, why);
		return;
	}
	if (send_post(req) < 0) {
		fail_request(req, req->url, "cannot send the request");
	}
}

/* Signs and sends; fetches a nonce first when the pool is empty. Returns 0,
 * or -1 when nothing was started (the caller reports it). */
static int
send_post(struct request *req)
{
	struct acme_client *client = req->client;
	char *nonce = NULL;
	char *body = NULL;
	int rc = -1;

	nonce = nonce_pop(client);
	if (nonce == NULL) {
		rc = send_request(req, "HEAD", client->directory.new_nonce, NULL, NULL, 0,
		                  on_nonce);
		goto out;
	}
	body = jws_sign_text(req->key, req->kid, nonce, req->url, req->payload);
	if (body == NULL) {
		log_error("%s: cannot sign the request", req->url);
		goto out;
	}
	rc = send_request(req, "POST", req->url, "application/jose+json", body, strlen(body),
	                  on_post);
out:
	free(body);
	free(nonce);
	return rc;
}

/* The "https://host[:port]" part of an https URL: its length, or 0. */
static size_t
origin_len(const char *url)
{
	size_t n = 8;

	if (strncasecmp(url, "https://", 8) != 0) {
		return 0;
	}
	while (url[n] != '\0' && url[n] != '/' && url[n] != '?' && url[n] != '#') {
		n++;
	}
	return n;
}

/* Every URL acmed follows must be on the directory's host and port: a CA
 * cannot send it to another server with the account's signature. */
static bool
same_origin(const struct acme_client *client, const char *url)
{
	size_t a = origin_len(client->directory_url);
	size_t b = origin_len(url);

	return a != 0 && a == b && strncasecmp(client->directory_url, url, a) == 0;
}

int
acme_client_post(struct acme_client *client, const char *url, EVP_PKEY *key, const char *kid,
                 const char *payload, acme_reply_fn done, void *arg)
{
	return acme_client_post_with(client, 0, url, key, kid, payload, done, arg);
}

int
acme_client_post_with(struct acme_client *client, unsigned flags, const char *url, EVP_PKEY *key,
                      const char *kid, const char *payload, acme_reply_fn done, void *arg)
{
	struct request *req = NULL;

	if (!client->have_directory) {
		log_error("%s: no directory yet", url);
		return -1;
	}
	if (!http_url_ok(url)) {
		log_error("%s: not an https URL", url);
		return -1;
	}
	if (!same_origin(client, url)) {
		log_error("%s: refused: not on the CA's host (%s)", url, client->directory_url);
		return -1;
	}
	req = request_create(client, REQUEST_POST, url);
	if (req == NULL) {
		return -1;
	}
	req->key = key;
	req->flags = flags;
	req->done = done;
	req->arg = arg;
	if ((kid != NULL && (req->kid = strdup(kid)) == NULL) ||
	    (payload != NULL && (req->payload = strdup(payload)) == NULL)) {
		log_error("out of memory");
		request_free(req);
		return -1;
	}
	/* done comes from the loop, never from here. */
	if (send_post(req) < 0) {
		request_free(req);
		return -1;
	}
	return 0;
}

static void
on_get(const struct http_response *resp, void *arg)
{
	struct request *req = arg;

	acme_counts_add(&req->client->counts, resp);
	nonce_push(req->client, resp->replay_nonce);
	if (retry_later(req, resp)) {
		return;
	}
	deliver(req, resp);
	request_free(req);
}

int
acme_client_get(struct acme_client *client, const char *url, acme_reply_fn done, void *arg)
{
	struct request *req;

	if (!same_origin(client, url)) {
		log_error("%s: refused: not on the CA's host (%s)", url, client->directory_url);
		return -1;
	}
	req = request_create(client, REQUEST_GET, url);
	if (req == NULL) {
		return -1;
	}
	req->done = done;
	req->arg = arg;
	if (send_request(req, "GET", url, NULL, NULL, 0, on_get) < 0) {
		request_free(req);
		return -1;
	}
	return 0;
}

static void
on_directory(const struct http_response *resp, void *arg)
{
	struct request *req = arg;
	struct acme_client *client = req->client;
	char err[256];
	char message[MESSAGE_LEN];
	int rc = -1;

	acme_counts_add(&client->counts, resp);
	nonce_push(client, resp->replay_nonce);
	if (resp->status == 0) {
		snprintf(message, sizeof(message), "%s: %s", req->url, resp->error);
		goto out;
	}
	if (resp->status != 200) {
		struct acme_problem problem;
		char detail[512];
		time_t when = 0;

		if (retry_later(req, resp)) {
			return;
		}
		make_problem(resp, &problem, detail, sizeof(detail));
		acme_problem_format(&problem, req->url, message, sizeof(message));
		problem_release(&problem, detail);
		if (resp->retry_after != NULL &&
		    acme_parse_retry_after(resp->retry_after, acme_client_now(client),
		                           RETRY_AFTER_MAX, &when) == 0) {
			append_retry_after(message, sizeof(message), when);
		}
		goto out;
	}
	if (acme_parse_directory(resp->body, resp->body_len, &client->directory, err, sizeof(err)) <
	    0) {
		snprintf(message, sizeof(message), "%s: not an ACME directory: %s", req->url, err);
		goto out;
	}
	{
		const struct acme_directory *d = &client->directory;
		const char *urls[] = {d->new_nonce,   d->new_account, d->new_order,
		                      d->revoke_cert, d->key_change,  d->renewal_info};

		for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
			if (urls[i] != NULL && !same_origin(client, urls[i])) {
				snprintf(message, sizeof(message),
				         "%s: the directory points to another host: %s", req->url,
				         urls[i]);
				acme_parse_directory_finish(&client->directory);
				goto out;
			}
		}
	}
	client->have_directory = true;
	message[0] = '\0';
	rc = 0;
out:
	req->ready(rc, message, req->arg);
	request_free(req);
}

int
acme_client_start(struct acme_client *client, acme_ready_fn ready, void *arg)
{
	struct request *req;

	if (!http_url_ok(client->directory_url)) {
		log_error("%s: not an https URL", client->directory_url);
		return -1;
	}
	req = request_create(client, REQUEST_DIRECTORY, client->directory_url);
	if (req == NULL) {
		return -1;
	}
	req->ready = ready;
	req->arg = arg;
	if (send_request(req, "GET", client->directory_url, NULL, NULL, 0, on_directory) < 0) {
		request_free(req);
		return -1;
	}
	return 0;
}

char *
acme_client_ari_url(const struct acme_client *client, const char *cert_id)
{
	const struct acme_directory *dir = acme_client_directory(client);
	char *url = NULL;
	size_t n;

	if (dir == NULL || dir->renewal_info == NULL || cert_id == NULL) {
		goto out;
	}
	n = strlen(dir->renewal_info) + strlen(cert_id) + 2;
	url = malloc(n);
	if (url != NULL) {
		snprintf(url, n, "%s%s%s", dir->renewal_info,
		         dir->renewal_info[strlen(dir->renewal_info) - 1] == '/' ? "" : "/",
		         cert_id);
	}
out:
	return url;
}
