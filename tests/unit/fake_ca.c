#include "fake_ca.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64.h"

/* A reply on its way: delivered from the loop, never from inside request. */
struct fake_delivery {
	ev_timer timer;
	struct fake_ca *ca;
	struct fake_delivery *next;
	const struct fake_reply *reply; /* NULL: nothing was queued */
	char *url;
	char nonce[32];
	http_done_fn done;
	void *arg;
	unsigned flags;
};

static const char directory_fmt[] =
        "{\"newNonce\":\"" FAKE_CA_NONCE "\",\"newAccount\":\"" FAKE_CA_NEW_ACCOUNT "\","
        "\"newOrder\":\"" FAKE_CA_NEW_ORDER "\",\"revokeCert\":\"" FAKE_CA "/revoke\","
        "\"keyChange\":\"" FAKE_CA "/key-change\",\"meta\":{%s%s%s}}";

/* Decodes a base64url member of obj as JSON; NULL when empty. */
static json_t *
b64_member(json_t *obj, const char *member)
{
	const char *text = json_string_value(json_object_get(obj, member));
	unsigned char *raw = NULL;
	size_t len = 0;
	json_t *out = NULL;

	assert_non_null(text);
	if (text[0] == '\0') {
		return NULL;
	}
	assert_int_equal(b64_decode(text, strlen(text), &raw, &len), 0);
	out = json_loadb((const char *)raw, len, 0, NULL);
	assert_non_null(out);
	free(raw);
	return out;
}

static void
record(struct fake_ca *ca, const char *method, const char *url, const char *body, size_t len)
{
	struct fake_request *r;

	assert_true(ca->n_requests < FAKE_CA_MAX);
	r = &ca->requests[ca->n_requests++];
	r->method = strdup(method);
	r->url = strdup(url);
	r->at = ca->now;
	if (strcmp(method, "POST") == 0) {
		json_t *jws = json_loadb(body, len, 0, NULL);

		assert_non_null(jws);
		r->protected = b64_member(jws, "protected");
		r->payload = b64_member(jws, "payload");
		json_decref(jws);
	}
}

/* The first reply queued for method and url not used yet. */
static const struct fake_reply *
match(struct fake_ca *ca, const char *method, const char *url)
{
	for (size_t i = 0; i < ca->n_replies; i++) {
		if (!ca->used[i] && strcmp(ca->replies[i].method, method) == 0 &&
		    strcmp(ca->replies[i].url, url) == 0) {
			ca->used[i] = true;
			return &ca->replies[i];
		}
	}
	return NULL;
}

static void
deliver(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fake_delivery *d = w->data;
	struct fake_ca *ca = d->ca;
	const struct fake_reply *r = d->reply;
	struct http_response resp;
	char directory[1024];

	(void)revents;
	ev_timer_stop(loop, w);
	for (struct fake_delivery **p = &ca->deliveries; *p != NULL; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	memset(&resp, 0, sizeof(resp));
	resp.url = d->url;
	resp.replay_nonce = d->nonce;
	resp.body = "";
	if (strcmp(d->url, FAKE_CA_DIRECTORY) == 0 && r == NULL) {
		snprintf(directory, sizeof(directory), directory_fmt,
		         ca->terms ? "\"termsOfService\":\"" FAKE_CA "/terms\"" : "",
		         ca->terms && ca->external_account_required ? "," : "",
		         ca->external_account_required ? "\"externalAccountRequired\":true" : "");
		resp.status = 200;
		resp.body = directory;
		resp.content_type = "application/json";
	} else if (strcmp(d->url, FAKE_CA_NONCE) == 0 && r == NULL) {
		resp.status = 200;
	} else if (r == NULL) {
		resp.status = 599;
		resp.body = "{\"type\":\"about:blank\",\"detail\":\"fake: nothing queued\"}";
		resp.content_type = "application/problem+json";
	} else {
		resp.status = r->status;
		resp.location = r->location;
		resp.retry_after = r->retry_after;
		if ((d->flags & HTTP_KEEP_LINKS) != 0) {
			resp.links = r->links;
		}
		if (r->nonce != NULL) {
			resp.replay_nonce = r->nonce;
		}
		if (r->body != NULL) {
			resp.body = r->body;
			resp.content_type =
			        r->content_type != NULL ? r->content_type : "application/json";
		}
	}
	resp.body_len = strlen(resp.body);
	d->done(&resp, d->arg);
	free(d->url);
	free(d);
}

static int
fake_request(void *ctx, unsigned flags, const char *method, const char *url,
             const char *content_type, const char *body, size_t len, http_done_fn done, void *arg)
{
	struct fake_ca *ca = ctx;
	struct fake_delivery *d;

	(void)content_type;
	record(ca, method, url, body, len);
	ca->requests[ca->n_requests - 1].flags = flags;
	d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->flags = flags;
	d->ca = ca;
	d->url = strdup(url);
	d->done = done;
	d->arg = arg;
	d->reply = match(ca, method, url);
	if (d->reply == NULL && strcmp(url, FAKE_CA_DIRECTORY) != 0 &&
	    strcmp(url, FAKE_CA_NONCE) != 0) {
		ca->unmatched++;
	}
	snprintf(d->nonce, sizeof(d->nonce), "nonce_%d", ++ca->nonce_serial);
	d->next = ca->deliveries;
	ca->deliveries = d;
	ev_timer_init(&d->timer, deliver, 0.0, 0.0);
	d->timer.data = d;
	ev_timer_start(ca->loop, &d->timer);
	return 0;
}

static time_t
fake_now(void *ctx)
{
	struct fake_ca *ca = ctx;

	return ca->now;
}

/* Records the wait and lets the clock jump over it: the timer fires at the
 * next loop round. */
static void
fake_timer_start(void *ctx, struct ev_loop *loop, ev_timer *w, double delay)
{
	struct fake_ca *ca = ctx;

	assert_true(ca->n_delays < FAKE_CA_MAX);
	ca->delays[ca->n_delays++] = delay;
	ca->now += (time_t)delay;
	if (ca->hold_timers) {
		return;
	}
	ev_timer_set(w, 0.0, 0.0);
	ev_timer_start(loop, w);
}

const struct acme_transport fake_ca_transport = {
        .request = fake_request,
        .now = fake_now,
        .timer_start = fake_timer_start,
};

static void responder_init(struct fake_responder *r, struct ev_loop *loop,
                           enum challenge_type type);

void
fake_ca_init(struct fake_ca *ca, enum challenge_type type)
{
	memset(ca, 0, sizeof(*ca));
	ca->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(ca->loop);
	responder_init(&ca->responder, ca->loop, type);
	ca->now = FAKE_CA_START_TIME;
}

void
fake_ca_finish(struct fake_ca *ca)
{
	while (ca->deliveries != NULL) {
		struct fake_delivery *d = ca->deliveries;

		ca->deliveries = d->next;
		ev_timer_stop(ca->loop, &d->timer);
		free(d->url);
		free(d);
	}
	for (size_t i = 0; i < ca->n_requests; i++) {
		free(ca->requests[i].method);
		free(ca->requests[i].url);
		json_decref(ca->requests[i].protected);
		json_decref(ca->requests[i].payload);
	}
	challenge_destroy(&ca->responder.ch);
	ev_loop_destroy(ca->loop);
	memset(ca, 0, sizeof(*ca));
}

void
fake_ca_queue(struct fake_ca *ca, const struct fake_reply *r)
{
	assert_true(ca->n_replies < FAKE_CA_MAX);
	ca->replies[ca->n_replies++] = *r;
}

struct fake_reply *
fake_ca_json(struct fake_ca *ca, const char *url, long status, const char *body)
{
	struct fake_reply r = {.method = "POST", .url = url, .status = status, .body = body};

	fake_ca_queue(ca, &r);
	return &ca->replies[ca->n_replies - 1];
}

struct fake_reply *
fake_ca_problem(struct fake_ca *ca, const char *url, long status, const char *body)
{
	struct fake_reply *r = fake_ca_json(ca, url, status, body);

	r->content_type = "application/problem+json";
	return r;
}

static void
on_ready(int rc, const char *message, void *arg)
{
	bool *ready = arg;

	assert_int_equal(rc, 0);
	(void)message;
	*ready = true;
}

struct acme_client *
fake_ca_client(struct fake_ca *ca)
{
	struct acme_client *client;
	bool ready = false;

	client = acme_client_create_with(ca->loop, &fake_ca_transport, ca, FAKE_CA_DIRECTORY);
	assert_non_null(client);
	assert_int_equal(acme_client_start(client, on_ready, &ready), 0);
	fake_ca_run_until(ca, &ready);
	return client;
}

size_t
fake_ca_count(const struct fake_ca *ca, const char *method, const char *url)
{
	size_t n = 0;

	for (size_t i = 0; i < ca->n_requests; i++) {
		n += strcmp(ca->requests[i].method, method) == 0 &&
		     strcmp(ca->requests[i].url, url) == 0;
	}
	return n;
}

const struct fake_request *
fake_ca_find(const struct fake_ca *ca, const char *method, const char *url, size_t n)
{
	for (size_t i = 0; i < ca->n_requests; i++) {
		if (strcmp(ca->requests[i].method, method) == 0 &&
		    strcmp(ca->requests[i].url, url) == 0 && n-- == 0) {
			return &ca->requests[i];
		}
	}
	return NULL;
}

void
fake_ca_run_until(struct fake_ca *ca, const bool *flag)
{
	for (int i = 0; i < 10000 && !*flag; i++) {
		ev_run(ca->loop, EVRUN_ONCE);
	}
	assert_true(*flag);
}

/* --- the responder ---------------------------------------------------- */

static int
responder_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                  void *arg)
{
	struct fake_responder *r = (struct fake_responder *)ch;

	r->presented++;
	snprintf(r->token, sizeof(r->token), "%s", task->token);
	snprintf(r->key_auth, sizeof(r->key_auth), "%s", task->key_auth);
	snprintf(r->identifier, sizeof(r->identifier), "%s", task->identifier);
	snprintf(r->txt_name, sizeof(r->txt_name), "%s",
	         task->txt_name != NULL ? task->txt_name : "");
	snprintf(r->txt_value, sizeof(r->txt_value), "%s",
	         task->txt_value != NULL ? task->txt_value : "");
	return challenge_defer(ch, r->present_rc, r->present_rc < 0 ? "fake: cannot present" : NULL,
	                       done, arg);
}

static int
responder_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                  void *arg)
{
	struct fake_responder *r = (struct fake_responder *)ch;

	(void)task;
	r->cleaned++;
	return challenge_defer(ch, 0, NULL, done, arg);
}

static void
responder_destroy(struct challenge *ch)
{
	(void)ch;
}

static const struct challenge_ops http01_ops = {
        .name = "fake",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = responder_present,
        .cleanup = responder_cleanup,
        .destroy = responder_destroy,
};

static const struct challenge_ops dns01_ops = {
        .name = "fake",
        .type = CHALLENGE_TYPE_DNS01,
        .present = responder_present,
        .cleanup = responder_cleanup,
        .destroy = responder_destroy,
};

static void
responder_init(struct fake_responder *r, struct ev_loop *loop, enum challenge_type type)
{
	memset(r, 0, sizeof(*r));
	challenge_init(&r->ch, type == CHALLENGE_TYPE_DNS01 ? &dns01_ops : &http01_ops, loop);
}
