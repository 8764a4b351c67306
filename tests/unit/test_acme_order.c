/* acme_order against a scripted CA (fake_ca.h) on a real loop: the whole
 * order, resumption, refusals, polling and the withdrawal of every
 * challenge presented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acme/acme_order.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "fake_ca.h"
#include "pki.h"

#define ACCOUNT_URL FAKE_CA "/acct/1"
#define ORDER_URL FAKE_CA "/order/1"
#define FINALIZE_URL FAKE_CA "/order/1/finalize"
#define AUTHZ_URL FAKE_CA "/authz/1"
#define AUTHZ2_URL FAKE_CA "/authz/2"
#define CHALL_URL FAKE_CA "/chall/1"
#define CHALL2_URL FAKE_CA "/chall/2"
#define CERT_URL FAKE_CA "/cert/1"
#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

#define IDS_ONE "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]"
#define IDS_TWO                                                                                 \
	"\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},{\"type\":\"dns\",\"value\":" \
	"\"b.test\"}]"
#define ORDER(status, extra)                                                             \
	"{\"status\":\"" status "\"," IDS_ONE ",\"authorizations\":[\"" AUTHZ_URL "\"]," \
	"\"finalize\":\"" FINALIZE_URL "\"" extra "}"
#define CHALL(url, token)                                                                        \
	"{\"type\":\"http-01\",\"url\":\"" url "\",\"status\":\"processing\",\"token\":\"" token \
	"\"}"
#define AUTHZ(value, status, chall, token)                                                      \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"" value "\"},\"status\":\"" status "\"," \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"" chall "\",\"status\":\"pending\","   \
	"\"token\":\"" token "\"}]}"

struct run {
	struct ev_loop *loop;
	struct fake_ca ca;
	struct acme_client *client;
	struct acme_account_handle acct;
	EVP_PKEY *cert_key;
	char names[2][8];
	struct ident ids[2];
	struct acme_order_params params;
	/* what done and the step and URL callbacks saw */
	bool done;
	int rc;
	char message[1024];
	char *pem;
	time_t retry_after;
	enum acme_order_step steps[8];
	size_t n_steps;
	char order_url[256];
	bool url_refused; /* on_url says the journal cannot be written */
};

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	fake_ca_init(&r->ca, CHALLENGE_TYPE_HTTP01);
	r->loop = r->ca.loop;
	r->acct.key = key_generate(KEY_TYPE_EC_P256);
	r->acct.url = strdup(ACCOUNT_URL);
	r->acct.dir = strdup("/nonexistent/account");
	r->cert_key = key_generate(KEY_TYPE_EC_P256);
	assert_non_null(r->acct.key);
	assert_non_null(r->cert_key);
	snprintf(r->names[0], sizeof(r->names[0]), "a.test");
	snprintf(r->names[1], sizeof(r->names[1]), "b.test");
	r->ids[0].type = IDENT_DNS;
	r->ids[0].value = r->names[0];
	r->ids[1].type = IDENT_DNS;
	r->ids[1].value = r->names[1];
	r->params.name = "www";
	r->params.ids = r->ids;
	r->params.n_ids = 1;
	r->params.cert_key = r->cert_key;
	r->params.responder = &r->ca.responder.ch;
	r->client = fake_ca_client(&r->ca);
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;

	acme_client_destroy(r->client);
	fake_ca_finish(&r->ca);
	acme_account_close(&r->acct);
	EVP_PKEY_free(r->cert_key);
	free(r->pem);
	free(r);
	return 0;
}

static void
on_done(int rc, const char *message, const char *pem, size_t pem_len, time_t retry_after, void *arg)
{
	struct run *r = arg;

	assert_false(r->done);
	r->done = true;
	r->rc = rc;
	snprintf(r->message, sizeof(r->message), "%s", message);
	r->pem = pem != NULL ? strndup(pem, pem_len) : NULL;
	r->retry_after = retry_after;
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct run *r = arg;

	assert_true(r->n_steps < sizeof(r->steps) / sizeof(r->steps[0]));
	r->steps[r->n_steps++] = step;
}

static int
on_url(const char *url, void *arg, char *why, size_t len)
{
	struct run *r = arg;

	snprintf(r->order_url, sizeof(r->order_url), "%s", url);
	if (r->url_refused) {
		snprintf(why, len, "www: the journal cannot be written");
		return -1;
	}
	return 0;
}

/* Starts the order and runs the loop until it is done. */
static void
order(struct run *r)
{
	r->params.on_url = on_url;
	assert_non_null(
	        acme_order_start(r->loop, r->client, &r->acct, &r->params, on_done, on_step, r));
	fake_ca_run_until(&r->ca, &r->done);
	/* Nothing left behind: no request, timer or responder call. */
	assert_int_equal(ev_run(r->loop, EVRUN_NOWAIT), 0);
}

static void
queue_new_order(struct run *r, const char *body)
{
	struct fake_reply reply = {
	        .method = "POST",
	        .url = FAKE_CA_NEW_ORDER,
	        .status = 201,
	        .location = ORDER_URL,
	        .body = body,
	};

	fake_ca_queue(&r->ca, &reply);
}

/* Authorization pending, challenge answered, authorization valid. */
static void
queue_validation(struct run *r)
{
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL(CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "valid", CHALL_URL, "tok_1"));
}

/* The chain. */
static void
queue_cert(struct run *r)
{
	fake_ca_json(&r->ca, CERT_URL, 200, PEM)->content_type =
	        "application/pem-certificate-chain";
}

/* Finalize answered processing, the order polled valid, the chain. */
static void
queue_issuance(struct run *r)
{
	fake_ca_json(&r->ca, FINALIZE_URL, 200, ORDER("processing", ""));
	fake_ca_json(&r->ca, ORDER_URL, 200, ORDER("valid", ",\"certificate\":\"" CERT_URL "\""));
	queue_cert(r);
}

static const char *
header(const struct fake_request *req, const char *name)
{
	return json_string_value(json_object_get(req->protected, name));
}

/* The order failed with want in its message, every challenge presented
 * (presented of them) was withdrawn, and nothing was finalized. */
static void
assert_failed(const struct run *r, const char *want, int presented)
{
	assert_int_equal(r->rc, ACME_ORDER_FAILED);
	assert_non_null(strstr(r->message, want));
	assert_null(r->pem);
	assert_int_equal(r->ca.responder.presented, presented);
	assert_int_equal(r->ca.responder.cleaned, presented);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FINALIZE_URL), 0);
}

/* newOrder -> authz -> challenge -> poll -> finalize -> poll -> certificate */
static void
test_clean_order(void **state)
{
	struct run *r = *state;
	const char *sequence[] = {
	        FAKE_CA_NEW_ORDER, AUTHZ_URL, CHALL_URL, AUTHZ_URL,
	        FINALIZE_URL,      ORDER_URL, CERT_URL,
	};
	const struct fake_request *req;
	char *key_auth;
	size_t i = 0;

	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->message, "");
	assert_string_equal(r->pem, PEM);
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(r->ca.unmatched, 0);
	/* The POSTs, in the order of RFC 8555 section 7.1, each signed by
	 * kid for its own URL with a nonce of the pool. */
	for (size_t k = 0; k < r->ca.n_requests; k++) {
		req = &r->ca.requests[k];
		if (strcmp(req->method, "POST") != 0) {
			continue;
		}
		assert_true(i < sizeof(sequence) / sizeof(sequence[0]));
		assert_string_equal(req->url, sequence[i++]);
		assert_string_equal(header(req, "kid"), ACCOUNT_URL);
		assert_string_equal(header(req, "url"), req->url);
		assert_non_null(header(req, "nonce"));
	}
	assert_int_equal(i, sizeof(sequence) / sizeof(sequence[0]));
	req = fake_ca_find(&r->ca, "POST", FAKE_CA_NEW_ORDER, 0);
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_array_get(json_object_get(req->payload, "identifiers"), 0), "value")),
	        "a.test");
	/* RFC 8555 section 7.5.1: {} tells the CA to validate. */
	req = fake_ca_find(&r->ca, "POST", CHALL_URL, 0);
	assert_non_null(req->payload);
	assert_int_equal(json_object_size(req->payload), 0);
	req = fake_ca_find(&r->ca, "POST", FINALIZE_URL, 0);
	assert_non_null(json_string_value(json_object_get(req->payload, "csr")));
	/* POST-as-GET for the polls and the download. */
	assert_null(fake_ca_find(&r->ca, "POST", ORDER_URL, 0)->payload);
	assert_null(fake_ca_find(&r->ca, "POST", CERT_URL, 0)->payload);
	/* The challenge: presented with token.thumbprint, then withdrawn. */
	assert_int_equal(r->ca.responder.presented, 1);
	assert_int_equal(r->ca.responder.cleaned, 1);
	assert_string_equal(r->ca.responder.token, "tok_1");
	assert_string_equal(r->ca.responder.identifier, "a.test");
	key_auth = jws_key_authorization(r->acct.key, "tok_1");
	assert_string_equal(r->ca.responder.key_auth, key_auth);
	free(key_auth);
	assert_int_equal(r->n_steps, 4);
	assert_int_equal(r->steps[0], ACME_ORDER_STEP_ORDERING);
	assert_int_equal(r->steps[1], ACME_ORDER_STEP_VALIDATING);
	assert_int_equal(r->steps[2], ACME_ORDER_STEP_FINALIZING);
	assert_int_equal(r->steps[3], ACME_ORDER_STEP_DOWNLOADING);
}

/* A CSR made elsewhere (acmed cert --csr) is finalized with as it is,
 * with no certificate key at all. */
static void
test_given_csr(void **state)
{
	struct run *r = *state;
	static const unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	const struct fake_request *req;

	r->params.cert_key = NULL;
	r->params.csr = csr;
	r->params.csr_len = sizeof(csr);
	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	req = fake_ca_find(&r->ca, "POST", FINALIZE_URL, 0);
	assert_string_equal(json_string_value(json_object_get(req->payload, "csr")), "MAMCAQU");
}

/* An order URL from before a restart is fetched and taken on from its
 * status (ready: finalize); no newOrder, nothing presented. */
static void
test_resume(void **state)
{
	struct run *r = *state;

	r->params.resume_url = ORDER_URL;
	fake_ca_json(&r->ca, ORDER_URL, 200, ORDER("ready", ""));
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->pem, PEM);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FAKE_CA_NEW_ORDER), 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ORDER_URL), 2);
	/* The caller persisted the URL already. */
	assert_string_equal(r->order_url, "");
	assert_int_equal(r->ca.responder.presented, 0);
	assert_int_equal(r->ca.unmatched, 0);
}

/* A resumed order that is gone is replaced by a new one. */
static void
test_resume_gone(void **state)
{
	struct run *r = *state;

	r->params.resume_url = FAKE_CA "/order/0";
	fake_ca_problem(&r->ca, FAKE_CA "/order/0", 404,
	                "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"no such "
	                "order\"}");
	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(r->ca.responder.cleaned, r->ca.responder.presented);
}

/* A resumed order for other names (the certificate's names were changed
 * since it was placed) is replaced by a new one, not failed. */
static void
test_resume_other_names(void **state)
{
	struct run *r = *state;
	static const char order_two[] =
	        "{\"status\":\"pending\"," IDS_TWO ",\"authorizations\":"
	        "[\"" AUTHZ_URL "\",\"" AUTHZ2_URL "\"],\"finalize\":\"" FINALIZE_URL "\"}";

	r->params.resume_url = FAKE_CA "/order/0";
	fake_ca_json(&r->ca, FAKE_CA "/order/0", 200, order_two);
	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FAKE_CA "/order/0"), 1);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_string_equal(r->order_url, ORDER_URL);
}

/* The CA could not validate: its problem reaches the result, the
 * challenge is withdrawn, nothing is finalized. */
static void
test_invalid_authz(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL(CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, AUTHZ_URL, 200,
	             "{\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},\"status\":"
	             "\"invalid\",\"challenges\":[{\"type\":\"http-01\",\"url\":\"" CHALL_URL "\","
	             "\"status\":\"invalid\",\"token\":\"tok_1\",\"error\":{\"type\":"
	             "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"Invalid response "
	             "from http://a.test/.well-known/acme-challenge/tok_1: 404\"}}]}");
	order(r);
	assert_failed(r, "www: a.test: http-01 challenge failed", 1);
	assert_non_null(strstr(r->message, "unauthorized: Invalid response from "
	                                   "http://a.test/.well-known/acme-challenge/tok_1: 404"));
}

/* The order itself comes back invalid after finalize: its error is the
 * message. */
static void
test_order_invalid(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	fake_ca_json(&r->ca, FINALIZE_URL, 200, ORDER("processing", ""));
	fake_ca_json(&r->ca, ORDER_URL, 200,
	             ORDER("invalid", ",\"error\":{\"type\":\"urn:ietf:params:acme:error:badCSR\","
	                              "\"detail\":\"key too weak\"}"));
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_FAILED);
	assert_string_equal(r->message, "www: " ORDER_URL ": badCSR: key too weak");
	assert_int_equal(fake_ca_count(&r->ca, "POST", CERT_URL), 0);
	assert_int_equal(r->ca.responder.cleaned, 1);
}

/* RFC 8555 sections 7.4 and 7.5.1: each poll waits for the CA's
 * Retry-After, else the backoff from ACME_CLIENT_POLL_FIRST. */
static void
test_retry_after(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL(CHALL_URL, "tok_1"))->retry_after = "7";
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"))
	        ->retry_after = "3";
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "valid", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, FINALIZE_URL, 200, ORDER("processing", ""))->retry_after = "5";
	fake_ca_json(&r->ca, ORDER_URL, 200, ORDER("processing", ""));
	fake_ca_json(&r->ca, ORDER_URL, 200, ORDER("processing", ""));
	fake_ca_json(&r->ca, ORDER_URL, 200, ORDER("valid", ",\"certificate\":\"" CERT_URL "\""));
	queue_cert(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	/* authz: 7 (Retry-After), 3 (Retry-After); order: 5 (Retry-After),
	 * then 0.4 and 0.8 by the backoff of its second and third poll. */
	assert_int_equal(r->ca.n_delays, 5);
	assert_true(r->ca.delays[0] == 7.0);
	assert_true(r->ca.delays[1] == 3.0);
	assert_true(r->ca.delays[2] == 5.0);
	assert_true(r->ca.delays[3] == 2 * ACME_CLIENT_POLL_FIRST);
	assert_true(r->ca.delays[4] == 4 * ACME_CLIENT_POLL_FIRST);
	/* The polls came after the waits, by the CA's clock. */
	assert_int_equal(fake_ca_find(&r->ca, "POST", AUTHZ_URL, 1)->at, FAKE_CA_START_TIME + 7);
	assert_int_equal(fake_ca_find(&r->ca, "POST", AUTHZ_URL, 2)->at,
	                 FAKE_CA_START_TIME + 7 + 3);
}

/* The poll schedule itself: the first wait is short, each next one twice
 * as long up to the cap; the CA's Retry-After wins either way, never
 * shorter than the first wait; the caller's deadline cuts every wait. */
static void
test_poll_schedule(void **state)
{
	struct run *r = *state;
	time_t now = acme_client_now(r->client);
	double total = 0;
	int polls;

	assert_true(acme_client_poll_delay(r->client, 0, 0, 600) == ACME_CLIENT_POLL_FIRST);
	assert_true(acme_client_poll_delay(r->client, 1, 0, 600) == 2 * ACME_CLIENT_POLL_FIRST);
	assert_true(acme_client_poll_delay(r->client, 2, 0, 600) == 4 * ACME_CLIENT_POLL_FIRST);
	assert_true(acme_client_poll_delay(r->client, 50, 0, 600) == ACME_CLIENT_POLL_MAX);
	assert_true(acme_client_poll_delay(r->client, 1000000, 0, 600) == ACME_CLIENT_POLL_MAX);
	/* Retry-After: waited for when later than the backoff; the backoff
	 * stays when the CA says sooner. */
	assert_true(acme_client_poll_delay(r->client, 0, now + 7, 600) == 7.0);
	assert_true(acme_client_poll_delay(r->client, 50, now + 2, 600) == ACME_CLIENT_POLL_MAX);
	/* 0 or in the past: the backoff, not none (no poll storm). */
	assert_true(acme_client_poll_delay(r->client, 0, now, 600) == ACME_CLIENT_POLL_FIRST);
	assert_true(acme_client_poll_delay(r->client, 5, now - 100, 600) ==
	            32 * ACME_CLIENT_POLL_FIRST);
	/* The deadline: what is left, and nothing once it has passed. */
	assert_true(acme_client_poll_delay(r->client, 50, 0, 1.5) == 1.5);
	assert_true(acme_client_poll_delay(r->client, 0, now + 7, 3.0) == 3.0);
	assert_true(acme_client_poll_delay(r->client, 0, 0, -4.0) == 0.0);
	/* Politeness: a CA that takes a minute is asked at most 12 times. */
	for (polls = 0; total < 60; polls++) {
		total += acme_client_poll_delay(r->client, polls, 0, 600);
	}
	assert_true(polls <= 12);
}

/* A challenge POST that answers valid (RFC 8555 section 7.1.6: the
 * authorization is then valid) needs no poll of the authorization. */
static void
test_challenge_valid_no_poll(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200,
	             "{\"type\":\"http-01\",\"url\":\"" CHALL_URL "\",\"status\":\"valid\","
	             "\"token\":\"tok_1\"}");
	fake_ca_json(&r->ca, FINALIZE_URL, 200,
	             ORDER("valid", ",\"certificate\":\"" CERT_URL "\""));
	queue_cert(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->pem, PEM);
	/* One look at the authorization, before the challenge; none after;
	 * finalize answered valid: no order poll either; no wait at all. */
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 1);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ORDER_URL), 0);
	assert_int_equal(r->ca.n_delays, 0);
	assert_int_equal(r->ca.responder.cleaned, 1);
}

/* A challenge POST that answers invalid with its error fails the order
 * with that error, without a poll. */
static void
test_challenge_invalid_no_poll(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200,
	             "{\"type\":\"http-01\",\"url\":\"" CHALL_URL "\",\"status\":\"invalid\","
	             "\"token\":\"tok_1\",\"error\":{\"type\":"
	             "\"urn:ietf:params:acme:error:connection\",\"detail\":\"refused\"}}");
	order(r);
	assert_failed(r, "www: a.test: http-01 challenge failed", 1);
	assert_non_null(strstr(r->message, "connection: refused"));
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 1);
	assert_int_equal(r->ca.n_delays, 0);
}

/* RFC 8555 section 6.5: badNonce is retried with the nonce of the error. */
static void
test_bad_nonce(void **state)
{
	struct run *r = *state;
	struct fake_reply *bad;
	const struct fake_request *first;
	const struct fake_request *again;

	bad = fake_ca_problem(
	        &r->ca, FAKE_CA_NEW_ORDER, 400,
	        "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"stale\"}");
	bad->nonce = "fresh_nonce";
	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	queue_issuance(r);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FAKE_CA_NEW_ORDER), 2);
	first = fake_ca_find(&r->ca, "POST", FAKE_CA_NEW_ORDER, 0);
	again = fake_ca_find(&r->ca, "POST", FAKE_CA_NEW_ORDER, 1);
	assert_string_not_equal(header(first, "nonce"), "fresh_nonce");
	assert_string_equal(header(again, "nonce"), "fresh_nonce");
	assert_true(json_equal(first->payload, again->payload));
}

/* Two authorizations: one fails while the other's challenge is out; both
 * presented challenges are withdrawn and the first failure is reported. */
static void
test_withdrawn_on_failure(void **state)
{
	struct run *r = *state;
	static const char order_two[] =
	        "{\"status\":\"pending\"," IDS_TWO ",\"authorizations\":"
	        "[\"" AUTHZ_URL "\",\"" AUTHZ2_URL "\"],\"finalize\":\"" FINALIZE_URL "\"}";

	r->params.n_ids = 2;
	queue_new_order(r, order_two);
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, AUTHZ2_URL, 200, AUTHZ("b.test", "pending", CHALL2_URL, "tok_2"));
	fake_ca_problem(&r->ca, CHALL_URL, 403,
	                "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":"
	                "\"a.test is blocked\"}");
	fake_ca_json(&r->ca, CHALL2_URL, 200, CHALL(CHALL2_URL, "tok_2"));
	fake_ca_json(&r->ca, AUTHZ2_URL, 200, AUTHZ("b.test", "pending", CHALL2_URL, "tok_2"));
	order(r);
	assert_failed(r, "rejectedIdentifier: a.test is blocked", 2);
}

/* Its owner stops while the authorization's poll waits (a CA that asks
 * for an hour): the wait ends, the challenge is withdrawn, nothing more is
 * asked, and done says ACME_ORDER_STOPPED; the order's URL was given out
 * for the next run to resume. */
static void
test_stop_while_polling(void **state)
{
	struct run *r = *state;
	struct acme_order_run *o;

	r->ca.hold_timers = true;
	r->params.on_url = on_url;
	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL(CHALL_URL, "tok_1"))->retry_after = "3600";
	o = acme_order_start(r->loop, r->client, &r->acct, &r->params, on_done, on_step, r);
	assert_non_null(o);
	for (int i = 0; i < 10000 && r->ca.n_delays == 0; i++) {
		ev_run(r->loop, EVRUN_ONCE);
	}
	assert_int_equal(r->ca.n_delays, 1);
	assert_int_equal(r->ca.responder.presented, 1);
	assert_int_equal(r->ca.responder.cleaned, 0);
	acme_order_stop(o);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(ev_run(r->loop, EVRUN_NOWAIT), 0);
	assert_int_equal(r->rc, ACME_ORDER_STOPPED);
	assert_string_equal(r->message, "www: stopped");
	assert_int_equal(r->ca.responder.cleaned, 1);
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 1);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FINALIZE_URL), 0);
}

/* The caller cannot keep the order's URL (a full disk): the order goes
 * no further than newOrder, nothing presented, fetched or finalized. */
static void
test_url_refused(void **state)
{
	struct run *r = *state;

	r->url_refused = true;
	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_FAILED);
	assert_string_equal(r->message, "www: the journal cannot be written");
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(r->ca.responder.presented, 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FINALIZE_URL), 0);
}

/* Stopped before newOrder is answered: the order the CA made is given
 * out (the next run resumes it), nothing is presented or fetched. */
static void
test_stop_before_the_order(void **state)
{
	struct run *r = *state;
	struct acme_order_run *o;

	r->params.on_url = on_url;
	queue_new_order(r, ORDER("pending", ""));
	o = acme_order_start(r->loop, r->client, &r->acct, &r->params, on_done, on_step, r);
	assert_non_null(o);
	acme_order_stop(o);
	assert_false(r->done);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(ev_run(r->loop, EVRUN_NOWAIT), 0);
	assert_int_equal(r->rc, ACME_ORDER_STOPPED);
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(r->ca.responder.presented, 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 0);
}

/* A responder that cannot present is still asked to clean up; the CA was
 * not told to validate, so the order is pending there still: the result
 * says so (ACME_ORDER_NOT_PRESENTED) and the order URL was given. */
static void
test_withdrawn_when_present_fails(void **state)
{
	struct run *r = *state;

	r->ca.responder.present_rc = -1;
	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_NOT_PRESENTED);
	assert_null(r->pem);
	assert_int_equal(r->ca.responder.presented, 1);
	assert_int_equal(r->ca.responder.cleaned, 1);
	assert_int_equal(fake_ca_count(&r->ca, "POST", FINALIZE_URL), 0);
	assert_string_equal(r->message, "www: a.test: fake: cannot present");
	assert_string_equal(r->order_url, ORDER_URL);
	assert_int_equal(fake_ca_count(&r->ca, "POST", CHALL_URL), 0);
}

/* newOrder refusals the caller acts on, and the Retry-After that came with
 * one. */
static void
test_refusals(void **state)
{
	struct run *r = *state;
	struct fake_reply *refused;

	refused = fake_ca_problem(&r->ca, FAKE_CA_NEW_ORDER, 400,
	                          "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\"}");
	refused->retry_after = "3600";
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_NO_ACCOUNT);
	assert_int_equal(r->retry_after, FAKE_CA_START_TIME + 3600);
	assert_int_equal(r->ca.responder.presented, 0);
}

/* Whose trouble a failure is (failover): rateLimited and the CA's own
 * failures are told apart from the request's. */
static void
test_rate_limited(void **state)
{
	struct run *r = *state;

	fake_ca_problem(&r->ca, FAKE_CA_NEW_ORDER, 429,
	                "{\"type\":\"urn:ietf:params:acme:error:rateLimited\"}")
	        ->retry_after = "86400";
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_RATE_LIMITED);
	assert_int_equal(r->retry_after, FAKE_CA_START_TIME + 86400);
}

static void
test_ca_failed_at_finalize(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	queue_validation(r);
	for (int k = 0; k < ACME_CLIENT_TRIES; k++) {
		fake_ca_problem(&r->ca, FINALIZE_URL, 500,
		                "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}");
	}
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_CA_FAILED);
	assert_int_equal(r->ca.responder.cleaned, r->ca.responder.presented);
}

/* The CA failing once the order is made (answering the challenge): the
 * CA's trouble too. */
static void
test_ca_failed_at_challenge(void **state)
{
	struct run *r = *state;

	queue_new_order(r, ORDER("pending", ""));
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", CHALL_URL, "tok_1"));
	for (int k = 0; k < ACME_CLIENT_TRIES; k++) {
		fake_ca_problem(&r->ca, CHALL_URL, 503,
		                "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}");
	}
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_CA_FAILED);
	assert_int_equal(r->ca.responder.cleaned, r->ca.responder.presented);
}

static void
test_request_refused_is_no_ca_trouble(void **state)
{
	struct run *r = *state;

	fake_ca_problem(&r->ca, FAKE_CA_NEW_ORDER, 400,
	                "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\"}");
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_FAILED);
}

static void
test_unauthorized_is_the_account(void **state)
{
	struct run *r = *state;

	fake_ca_problem(&r->ca, FAKE_CA_NEW_ORDER, 403,
	                "{\"type\":\"urn:ietf:params:acme:error:unauthorized\"}");
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_ACCOUNT_REFUSED);
}

/* --- alternate chains (RFC 8555 section 7.4.2) ----------------------- */

#define ALT1_URL FAKE_CA "/cert/1/alt/1"
#define ALT2_URL FAKE_CA "/cert/1/alt/2"
#define LINKS                                                                             \
	"<" FAKE_CA "/dir>;rel=\"index\", <" ALT1_URL ">;rel=\"alternate\", "             \
	"</cert/1/alt/2>; rel=alternate, <https://evil.test/x>;rel=alternate, <" CERT_URL \
	">;rel=alternate"

/* One leaf under an intermediate certified by Root A (the default chain,
 * chains[0]) and by Root B (chains[1]), and through Root B cross-signed
 * by Root C (chains[2]). */
struct alt_chains {
	char *pem[3];
};

static void
alt_chains_init(struct alt_chains *c)
{
	time_t nb = time(NULL) - PKI_DAY, na = time(NULL) + 90 * PKI_DAY;
	EVP_PKEY *ka = pki_key(), *kb = pki_key(), *kc = pki_key(), *ki = pki_key();
	EVP_PKEY *kl = pki_key();
	X509 *certs[7];

	certs[0] = pki_cert(ka, "Root A", NULL, ka, NULL, nb, na, true);
	certs[1] = pki_cert(kb, "Root B", NULL, kb, NULL, nb, na, true);
	certs[2] = pki_cert(kc, "Root C", NULL, kc, NULL, nb, na, true);
	certs[3] = pki_cert(kb, "Root B", certs[2], kc, NULL, nb, na, true);
	certs[4] = pki_cert(ki, "Int", certs[0], ka, NULL, nb, na, true);
	certs[5] = pki_cert(ki, "Int", certs[1], kb, NULL, nb, na, true);
	certs[6] = pki_cert(kl, "a.test", certs[4], ki, "DNS:a.test", nb, na, false);
	c->pem[0] = pki_pem_list((X509 *[]){certs[6], certs[4]}, 2, NULL);
	c->pem[1] = pki_pem_list((X509 *[]){certs[6], certs[5]}, 2, NULL);
	c->pem[2] = pki_pem_list((X509 *[]){certs[6], certs[5], certs[3]}, 3, NULL);
	for (size_t i = 0; i < 7; i++) {
		X509_free(certs[i]);
	}
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(kc);
	EVP_PKEY_free(ki);
	EVP_PKEY_free(kl);
}

static void
alt_chains_finish(struct alt_chains *c)
{
	for (size_t i = 0; i < 3; i++) {
		free(c->pem[i]);
	}
}

/* An order valid at once, its chain downloaded with LINKS, and the two
 * alternates (alt2_status: 200, or a refusal). */
static void
queue_alternates(struct run *r, const struct alt_chains *c, long alt2_status)
{
	queue_new_order(r, ORDER("valid", ",\"certificate\":\"" CERT_URL "\""));
	fake_ca_json(&r->ca, CERT_URL, 200, c->pem[0])->links = LINKS;
	fake_ca_json(&r->ca, ALT1_URL, 200, c->pem[1]);
	if (alt2_status == 200) {
		fake_ca_json(&r->ca, ALT2_URL, 200, c->pem[2]);
	} else {
		fake_ca_problem(&r->ca, ALT2_URL, alt2_status,
		                "{\"type\":\"urn:ietf:params:acme:error:malformed\","
		                "\"detail\":\"no such chain\"}");
	}
}

/* preferred-chain: the download keeps its Link headers, every alternate
 * on the CA's host is fetched (POST-as-GET) once, the one issued by the
 * name installed. */
static void
test_alternates_preferred(void **state)
{
	struct run *r = *state;
	const char *names[] = {"Root B", "Root C", "root a"};
	struct alt_chains c;

	alt_chains_init(&c);
	for (size_t i = 0; i < 3; i++) {
		teardown(state);
		setup(state);
		r = *state;
		r->params.chain.issuer = names[i];
		queue_alternates(r, &c, 200);
		order(r);
		assert_int_equal(r->rc, ACME_ORDER_OK);
		assert_string_equal(r->pem, c.pem[(i + 1) % 3]);
		assert_int_equal(fake_ca_find(&r->ca, "POST", CERT_URL, 0)->flags, HTTP_KEEP_LINKS);
		assert_int_equal(fake_ca_count(&r->ca, "POST", CERT_URL), 1);
		assert_int_equal(fake_ca_count(&r->ca, "POST", ALT1_URL), 1);
		assert_int_equal(fake_ca_count(&r->ca, "POST", ALT2_URL), 1);
		assert_null(fake_ca_find(&r->ca, "POST", ALT1_URL, 0)->payload);
		assert_int_equal(fake_ca_find(&r->ca, "POST", ALT1_URL, 0)->flags, 0);
		assert_int_equal(fake_ca_count(&r->ca, "POST", "https://evil.test/x"), 0);
		assert_int_equal(r->ca.unmatched, 0);
	}
	/* chain = shortest: a tie between the default and alternate 1. */
	teardown(state);
	setup(state);
	r = *state;
	r->params.chain.shortest = true;
	queue_alternates(r, &c, 200);
	order(r);
	assert_string_equal(r->pem, c.pem[0]);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ALT2_URL), 1);
	alt_chains_finish(&c);
}

/* No preference: the Link headers are not even kept, no alternate is
 * asked for. */
static void
test_alternates_not_asked(void **state)
{
	struct run *r = *state;
	struct alt_chains c;

	alt_chains_init(&c);
	queue_alternates(r, &c, 200);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->pem, c.pem[0]);
	assert_int_equal(fake_ca_find(&r->ca, "POST", CERT_URL, 0)->flags, 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ALT1_URL), 0);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ALT2_URL), 0);
	alt_chains_finish(&c);
}

/* An alternate the CA refuses is left out; the order is not failed. */
static void
test_alternate_refused(void **state)
{
	struct run *r = *state;
	struct alt_chains c;

	alt_chains_init(&c);
	r->params.chain.issuer = "Root C";
	queue_alternates(r, &c, 404);
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->pem, c.pem[0]);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ALT2_URL), 1);
	alt_chains_finish(&c);
}

/* A Link header that is not one: the default chain. */
static void
test_alternates_bad_link(void **state)
{
	struct run *r = *state;
	struct alt_chains c;

	alt_chains_init(&c);
	r->params.chain.issuer = "Root B";
	queue_new_order(r, ORDER("valid", ",\"certificate\":\"" CERT_URL "\""));
	fake_ca_json(&r->ca, CERT_URL, 200, c.pem[0])->links = "<" ALT1_URL ";rel=alternate";
	order(r);
	assert_int_equal(r->rc, ACME_ORDER_OK);
	assert_string_equal(r->pem, c.pem[0]);
	assert_int_equal(fake_ca_count(&r->ca, "POST", ALT1_URL), 0);
	alt_chains_finish(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_clean_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_given_csr, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resume_gone, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resume_other_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_invalid_authz, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_order_invalid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_poll_schedule, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_challenge_valid_no_poll, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_challenge_invalid_no_poll, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_nonce, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_withdrawn_on_failure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_while_polling, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_url_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_before_the_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_withdrawn_when_present_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ca_failed_at_finalize, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ca_failed_at_challenge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_request_refused_is_no_ca_trouble, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_unauthorized_is_the_account, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alternates_preferred, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alternates_not_asked, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alternate_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alternates_bad_link, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
