/* renew/issue.c against a scripted CA (fake_ca.h) and its responder: the
 * key (given or made by the key generator), the newOrder gate, the account
 * registered again once when the CA forgot it, "replaces" dropped when
 * refused, a resumed order ordered again, and an issue gone while waiting
 * at the gate. */
#include "renew/issue.h"

#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64.h"
#include "crypto/keygen.h"
#include "fake_ca.h"
#include "fixture.h"

#define ACCOUNT_URL FAKE_CA "/acct/1"
#define ACCOUNT2_URL FAKE_CA "/acct/2"
#define ORDER_URL(n) FAKE_CA "/order/" #n
#define FINALIZE_URL(n) FAKE_CA "/order/" #n "/finalize"
#define AUTHZ_URL(n) FAKE_CA "/authz/" #n
#define CHALL_URL(n) FAKE_CA "/chall/" #n
#define CERT_URL(n) FAKE_CA "/cert/" #n
#define PEM(n) "-----BEGIN CERTIFICATE-----\nMIIB" #n "\n-----END CERTIFICATE-----\n"
#define REPLACES "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

#define ORDER(n, status, extra)                                                                 \
	"{\"status\":\"" status "\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]," \
	"\"authorizations\":[\"" AUTHZ_URL(n) "\"],\"finalize\":\"" FINALIZE_URL(n) "\"" extra "}"
#define AUTHZ(n, status)                                                                     \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},\"status\":\"" status "\"," \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"" CHALL_URL(                        \
	        n) "\",\"status\":"                                                          \
	           "\"pending\",\"token\":\"tok_" #n "\"}]}"
#define CHALL(n)                                                                        \
	"{\"type\":\"http-01\",\"url\":\"" CHALL_URL(n) "\",\"status\":\"processing\"," \
	                                                "\"token\":\"tok_" #n "\"}"
#define PROBLEM(type) "{\"type\":\"urn:ietf:params:acme:error:" type "\",\"detail\":\"no\"}"

#define ISSUES 3

struct fixture;

/* What one issue's callbacks saw. */
struct outcome {
	struct fixture *f;
	int calls; /* of done */
	int rc;
	char message[1024];
	char pem[256];
	EVP_PKEY *key; /* the result's, a reference of ours */
	int urls;
	char url[256];
	EVP_PKEY *url_key; /* on_url's, a reference of ours */
	int steps;
	/* When this issue's order stepped into ORDERING: how many newOrder
	 * POSTs had gone out, and whether the issue before it had its URL. */
	size_t new_orders_before;
	int urls_of_previous;
	int urls_of_others; /* of every other issue */
	bool again; /* done calls issue_again once */
};

struct fixture {
	char root[64];
	struct fake_ca ca;
	struct acme_client *client;
	struct acme_account_handle acct;
	struct acme_account_reg_options opts;
	struct issue_shared sh;
	char name[8];
	struct ident ids[1];
	struct issue *is[ISSUES];
	struct outcome out[ISSUES];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_tmpdir(f->root, sizeof(f->root), "issue");
	fake_ca_init(&f->ca, CHALLENGE_TYPE_HTTP01);
	f->client = fake_ca_client(&f->ca);
	/* An account the CA knew when it was last asked. */
	assert_int_equal(acme_account_open(&f->acct, f->root, FAKE_CA_DIRECTORY, KEY_TYPE_EC_P256),
	                 0);
	f->acct.url = strdup(ACCOUNT_URL);
	assert_non_null(f->acct.url);
	f->opts.agree_tos = true;
	f->sh.loop = f->ca.loop;
	f->sh.client = f->client;
	f->sh.acct = &f->acct;
	f->sh.account_options = &f->opts;
	f->sh.keygen = keygen_create(f->ca.loop);
	assert_non_null(f->sh.keygen);
	gate_init(&f->sh.order_gate, 1);
	list_init(&f->sh.account_waiters);
	list_init(&f->sh.probe_waiters);
	f->ids[0].type = IDENT_DNS;
	snprintf(f->name, sizeof(f->name), "a.test");
	f->ids[0].value = f->name;
	for (size_t i = 0; i < ISSUES; i++) {
		f->out[i].f = f;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < ISSUES; i++) {
		issue_destroy(f->is[i]);
		EVP_PKEY_free(f->out[i].key);
		EVP_PKEY_free(f->out[i].url_key);
	}
	keygen_destroy(f->sh.keygen);
	acme_client_destroy(f->client);
	fake_ca_finish(&f->ca);
	acme_account_close(&f->acct);
	fixture_rmtree(f->root);
	free(f);
	return 0;
}

static void
on_done(const struct issue_result *r, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->rc = r->rc;
	snprintf(o->message, sizeof(o->message), "%s", r->message != NULL ? r->message : "(null)");
	assert_true(r->pem_len < sizeof(o->pem));
	snprintf(o->pem, sizeof(o->pem), "%.*s", (int)r->pem_len, r->pem != NULL ? r->pem : "");
	EVP_PKEY_free(o->key);
	o->key = r->key;
	if (o->key != NULL) {
		assert_int_equal(EVP_PKEY_up_ref(o->key), 1);
	}
	if (o->again) {
		/* As the job does when the resumed order brought what is
		 * installed already. */
		o->again = false;
		issue_again(o->f->is[o - o->f->out]);
	}
}

static int
on_url(const char *url, EVP_PKEY *key, void *arg, char *why, size_t len)
{
	struct outcome *o = arg;

	o->urls++;
	snprintf(o->url, sizeof(o->url), "%s", url);
	EVP_PKEY_free(o->url_key);
	o->url_key = key;
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_up_ref(key), 1);
	(void)why;
	(void)len;
	return 0;
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct outcome *o = arg;
	struct fixture *f = o->f;
	size_t i = (size_t)(o - f->out);

	o->steps++;
	if (step == ACME_ORDER_STEP_ORDERING) {
		o->new_orders_before = fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER);
		o->urls_of_previous = i > 0 ? f->out[i - 1].urls : 0;
		o->urls_of_others = 0;
		for (size_t k = 0; k < ISSUES; k++) {
			o->urls_of_others += k != i ? f->out[k].urls : 0;
		}
	}
}

/* The request of issue i, with key (taken over; NULL: a new one). */
static struct issue_request
request(struct fixture *f, size_t i, EVP_PKEY *key)
{
	struct issue_request req;

	memset(&req, 0, sizeof(req));
	req.name = "www";
	req.ids = f->ids;
	req.n_ids = 1;
	req.key_type = KEY_TYPE_EC_P256;
	req.responder = &f->ca.responder.ch;
	req.key = key;
	req.on_url = on_url;
	req.on_step = on_step;
	req.done = on_done;
	req.arg = &f->out[i];
	return req;
}

static void
create(struct fixture *f, size_t i, const struct issue_request *req)
{
	f->is[i] = issue_create(&f->sh, req);
	assert_non_null(f->is[i]);
}

/* Runs the loop until issue i is done; nothing left behind. */
static void
run_until(struct fixture *f, size_t i)
{
	for (int n = 0; n < 10000 && f->out[i].calls == 0; n++) {
		ev_run(f->ca.loop, EVRUN_ONCE);
	}
	assert_int_equal(f->out[i].calls, 1);
}

/* Issues 0 and 1, with new keys, run together to their end. */
static void
run_two(struct fixture *f)
{
	for (size_t i = 0; i < 2; i++) {
		struct issue_request req = request(f, i, NULL);

		create(f, i, &req);
	}
	issue_run(f->is[0]);
	issue_run(f->is[1]);
	run_until(f, 0);
	run_until(f, 1);
}

static void
queue_new_order(struct fixture *f, const char *location, const char *body)
{
	fake_ca_json(&f->ca, FAKE_CA_NEW_ORDER, 201, body)->location = location;
}

/* The CA registers the account again, as ACCOUNT2_URL. */
static void
queue_account(struct fixture *f)
{
	fake_ca_json(&f->ca, FAKE_CA_NEW_ACCOUNT, 201, "{\"status\":\"valid\"}")->location =
	        ACCOUNT2_URL;
}

/* What the CA answers after newOrder for order n: validation, issuance. */
#define QUEUE_REST(f, n)                                                                  \
	do {                                                                              \
		fake_ca_json(&(f)->ca, AUTHZ_URL(n), 200, AUTHZ(n, "pending"));           \
		fake_ca_json(&(f)->ca, CHALL_URL(n), 200, CHALL(n));                      \
		fake_ca_json(&(f)->ca, AUTHZ_URL(n), 200, AUTHZ(n, "valid"));             \
		fake_ca_json(&(f)->ca, FINALIZE_URL(n), 200, ORDER(n, "processing", "")); \
		fake_ca_json(&(f)->ca, ORDER_URL(n), 200,                                 \
		             ORDER(n, "valid", ",\"certificate\":\"" CERT_URL(n) "\""));  \
		fake_ca_json(&(f)->ca, CERT_URL(n), 200, PEM(n))->content_type =          \
		        "application/pem-certificate-chain";                              \
	} while (0)

/* A whole order n: newOrder, validation, issuance. */
#define QUEUE_ORDER(f, n)                                                    \
	do {                                                                 \
		queue_new_order((f), ORDER_URL(n), ORDER(n, "pending", "")); \
		QUEUE_REST((f), n);                                          \
	} while (0)

static const char *
kid(const struct fake_request *req)
{
	return json_string_value(json_object_get(req->protected, "kid"));
}

/* Whether the CSR sent to finalize url is for key. */
static void
assert_csr_key(const struct fixture *f, const char *url, EVP_PKEY *key)
{
	const struct fake_request *req = fake_ca_find(&f->ca, "POST", url, 0);
	const char *csr;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_REQ *x;

	assert_non_null(req);
	csr = json_string_value(json_object_get(req->payload, "csr"));
	assert_non_null(csr);
	assert_int_equal(b64_decode(csr, strlen(csr), &der, &len), 0);
	p = der;
	x = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(x), key), 1);
	X509_REQ_free(x);
	free(der);
}

/* The order done with PEM(n) by issue i, its URL told once with the key
 * of the result, which the CSR is for. */
static void
assert_ordered(const struct fixture *f, size_t i, const char *order_url, const char *finalize_url,
               const char *pem)
{
	const struct outcome *o = &f->out[i];

	assert_int_equal(o->calls, 1);
	assert_int_equal(o->rc, ACME_ORDER_OK);
	assert_string_equal(o->message, "");
	assert_string_equal(o->pem, pem);
	assert_non_null(o->key);
	assert_int_equal(o->urls, 1);
	assert_string_equal(o->url, order_url);
	assert_ptr_equal(o->url_key, o->key);
	assert_csr_key(f, finalize_url, o->key);
}

/* A clean order with the key given: that key, one newOrder. */
static void
test_given_key(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key = key_generate(KEY_TYPE_EC_P256);
	struct issue_request req = request(f, 0, key);

	assert_non_null(key);
	QUEUE_ORDER(f, 1);
	create(f, 0, &req);
	/* Sends nothing yet. */
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 0);
	issue_run(f->is[0]);
	assert_int_equal(f->out[0].calls, 0);
	run_until(f, 0);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_ptr_equal(f->out[0].key, key);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_int_equal(f->ca.unmatched, 0);
	assert_int_equal(f->ca.responder.presented, 1);
	assert_int_equal(f->ca.responder.cleaned, 1);
	issue_destroy(f->is[0]);
	f->is[0] = NULL;
	issue_destroy(NULL);
}

/* No key: one of the type asked for, made by the key generator. */
static void
test_new_key(void **state)
{
	struct fixture *f = *state;
	struct issue_request req = request(f, 0, NULL);
	enum key_type type;

	req.key_type = KEY_TYPE_EC_P384;
	QUEUE_ORDER(f, 1);
	create(f, 0, &req);
	issue_run(f->is[0]);
	/* The key comes from the loop: nothing sent yet. */
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 0);
	run_until(f, 0);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_int_equal(key_type_of(f->out[0].key, &type), 0);
	assert_int_equal(type, KEY_TYPE_EC_P384);
	assert_int_equal(f->ca.unmatched, 0);
}

/* Two at once: one newOrder at a time through the gate, the second sent
 * once the first order exists (the gate opens when it goes on to its
 * authorizations). */
static void
test_gate(void **state)
{
	struct fixture *f = *state;
	size_t first = 0;
	size_t second = 0;

	QUEUE_ORDER(f, 1);
	QUEUE_ORDER(f, 2);
	run_two(f);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_ordered(f, 1, ORDER_URL(2), FINALIZE_URL(2), PEM(2));
	assert_int_not_equal(EVP_PKEY_eq(f->out[0].key, f->out[1].key), 1);
	/* When the second order started, the first newOrder was answered. */
	assert_int_equal(f->out[0].new_orders_before, 0);
	assert_int_equal(f->out[1].new_orders_before, 1);
	assert_int_equal(f->out[1].urls_of_previous, 1);
	/* And in the CA's log, the second newOrder after the first. */
	for (size_t k = 0; k < f->ca.n_requests; k++) {
		if (strcmp(f->ca.requests[k].url, FAKE_CA_NEW_ORDER) == 0) {
			if (first == 0) {
				first = k + 1;
			} else {
				second = k + 1;
			}
		}
	}
	assert_true(first > 0 && second > first);
	assert_int_equal(f->ca.unmatched, 0);
}

/* A gate of width 2 (new-order-concurrency = 2), three issues with their
 * keys: two newOrders go out together, the third once one of them has its
 * order. */
static void
test_gate_width(void **state)
{
	struct fixture *f = *state;

	gate_init(&f->sh.order_gate, 2);
	QUEUE_ORDER(f, 1);
	QUEUE_ORDER(f, 2);
	QUEUE_ORDER(f, 3);
	for (size_t i = 0; i < ISSUES; i++) {
		struct issue_request req = request(f, i, key_generate(KEY_TYPE_EC_P256));

		assert_non_null(req.key);
		create(f, i, &req);
		issue_run(f->is[i]);
	}
	/* The first two are ordering, neither with its order yet (through a
	 * gate of width 1 the second would wait for the first's); the third
	 * waits. */
	assert_int_equal(f->out[0].steps, 1);
	assert_int_equal(f->out[1].steps, 1);
	assert_int_equal(f->out[2].steps, 0);
	assert_int_equal(f->out[0].urls_of_others, 0);
	assert_int_equal(f->out[1].urls_of_others, 0);
	for (size_t i = 0; i < ISSUES; i++) {
		run_until(f, i);
		assert_int_equal(f->out[i].rc, ACME_ORDER_OK);
	}
	/* When the third started, one of the others had its order. */
	assert_true(f->out[2].urls_of_others >= 1);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 3);
	assert_int_equal(f->ca.unmatched, 0);
}

/* A newOrder without an answer (no HTTP status: a timeout): the issues
 * waiting at the gate fail at once, without a newOrder of their own, and
 * say why. */
static void
test_no_answer(void **state)
{
	struct fixture *f = *state;
	size_t sent;

	for (int k = 0; k < ACME_CLIENT_TRIES; k++) {
		fake_ca_json(&f->ca, FAKE_CA_NEW_ORDER, 0, NULL);
	}
	run_two(f);
	sent = fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER);
	assert_true(sent >= 1);
	assert_int_equal(f->out[0].rc, ACME_ORDER_NO_ANSWER);
	assert_int_equal(f->out[1].rc, ACME_ORDER_CA_FAILED);
	assert_non_null(strstr(f->out[1].message, "not ordered: the CA did not answer a newOrder"));
	/* Nothing more was sent for the second. */
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), sent);
}

/* After test_no_answer's newOrder without an answer, the hold over (its
 * seconds pass in the test by clearing it): the next issue asks for the
 * directory first. answered: the CA is back, and the newOrder goes out;
 * else the issue fails at once, without a newOrder, and a new hold
 * begins. */
static void
silent_then(struct fixture *f, bool answered)
{
	struct issue_request req = request(f, 2, NULL);
	size_t orders;
	size_t gets;

	/* One: a request without an answer is not sent again. */
	fake_ca_json(&f->ca, FAKE_CA_NEW_ORDER, 0, NULL);
	run_two(f);
	assert_int_equal(f->out[0].rc, ACME_ORDER_NO_ANSWER);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_true(f->sh.silent_seen);
	f->sh.silent_until = 0;
	orders = fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER);
	gets = fake_ca_count(&f->ca, "GET", FAKE_CA_DIRECTORY);
	if (answered) {
		QUEUE_ORDER(f, 3);
	} else {
		struct fake_reply r = {.method = "GET", .url = FAKE_CA_DIRECTORY};

		fake_ca_queue(&f->ca, &r);
	}
	create(f, 2, &req);
	issue_run(f->is[2]);
	run_until(f, 2);
	assert_true(fake_ca_count(&f->ca, "GET", FAKE_CA_DIRECTORY) > gets);
	if (answered) {
		assert_int_equal(f->out[2].rc, ACME_ORDER_OK);
		assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), orders + 1);
		assert_false(f->sh.silent_seen);
	} else {
		assert_int_equal(f->out[2].rc, ACME_ORDER_CA_FAILED);
		assert_non_null(strstr(f->out[2].message, "not ordered: the CA did not answer"));
		assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), orders);
		assert_true(f->sh.silent_seen);
		assert_true(f->sh.silent_until > ev_now(f->ca.loop));
	}
	assert_false(f->sh.probing);
	assert_true(list_empty(&f->sh.probe_waiters));
}

static void
test_silent_then_back(void **state)
{
	silent_then(*state, true);
}

static void
test_silent_still(void **state)
{
	silent_then(*state, false);
}

/* accountDoesNotExist: registered again (once), then ordered again with
 * the new account. */
static void
test_account_again(void **state)
{
	struct fixture *f = *state;
	struct issue_request req = request(f, 0, NULL);

	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	queue_account(f);
	QUEUE_ORDER(f, 1);
	create(f, 0, &req);
	issue_run(f->is[0]);
	run_until(f, 0);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 1);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 2);
	assert_string_equal(kid(fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 0)), ACCOUNT_URL);
	assert_string_equal(kid(fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 1)), ACCOUNT2_URL);
	assert_string_equal(f->acct.url, ACCOUNT2_URL);
	assert_false(f->sh.account_busy);
	assert_true(list_empty(&f->sh.account_waiters));
	assert_int_equal(f->ca.unmatched, 0);
}

/* Two orders hit it together: one registration, both ordered again. */
static void
test_account_again_shared(void **state)
{
	struct fixture *f = *state;

	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	queue_account(f);
	QUEUE_ORDER(f, 1);
	QUEUE_ORDER(f, 2);
	run_two(f);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 1);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 4);
	assert_string_equal(kid(fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 2)), ACCOUNT2_URL);
	assert_string_equal(kid(fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 3)), ACCOUNT2_URL);
	assert_int_equal(f->out[0].rc, ACME_ORDER_OK);
	assert_int_equal(f->out[1].rc, ACME_ORDER_OK);
	assert_int_equal(f->out[0].calls + f->out[1].calls, 2);
	assert_false(f->sh.account_busy);
	assert_int_equal(f->ca.unmatched, 0);
}

/* Registering again fails: the order fails saying so, and is not retried;
 * a second accountDoesNotExist is not registered for again. */
static void
test_account_again_fails(void **state)
{
	struct fixture *f = *state;
	struct issue_request req = request(f, 0, NULL);
	struct issue_request again = request(f, 1, NULL);

	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ACCOUNT, 403, PROBLEM("unauthorized"));
	create(f, 0, &req);
	issue_run(f->is[0]);
	run_until(f, 0);
	assert_int_equal(f->out[0].rc, ACME_ORDER_FAILED);
	assert_string_equal(f->out[0].message,
	                    "www: registering the account again: " FAKE_CA_NEW_ACCOUNT
	                    ": 403: unauthorized: no");
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_false(f->sh.account_busy);

	/* Registered, but the CA still does not know it: once only. */
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	queue_account(f);
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("accountDoesNotExist"));
	create(f, 1, &again);
	issue_run(f->is[1]);
	run_until(f, 1);
	assert_int_equal(f->out[1].rc, ACME_ORDER_NO_ACCOUNT);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 2);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 3);
	assert_int_equal(f->ca.unmatched, 0);
}

/* RFC 9773 section 5: the CA refuses "replaces": ordered again without. */
static void
test_replaced(void **state)
{
	struct fixture *f = *state;
	struct issue_request req = request(f, 0, NULL);
	const struct fake_request *first;
	const struct fake_request *second;

	req.replaces = REPLACES;
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 409, PROBLEM("alreadyReplaced"));
	QUEUE_ORDER(f, 1);
	create(f, 0, &req);
	issue_run(f->is[0]);
	run_until(f, 0);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 2);
	first = fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 0);
	second = fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ORDER, 1);
	assert_string_equal(json_string_value(json_object_get(first->payload, "replaces")),
	                    REPLACES);
	assert_null(json_object_get(second->payload, "replaces"));
	assert_true(json_equal(json_object_get(first->payload, "identifiers"),
	                       json_object_get(second->payload, "identifiers")));
	assert_int_equal(f->ca.unmatched, 0);
}

/* Without "replaces" the same problem is a failure like any. */
static void
test_malformed_without_replaces(void **state)
{
	struct fixture *f = *state;
	struct issue_request req = request(f, 0, NULL);

	fake_ca_problem(&f->ca, FAKE_CA_NEW_ORDER, 400, PROBLEM("malformed"));
	create(f, 0, &req);
	issue_run(f->is[0]);
	run_until(f, 0);
	assert_int_equal(f->out[0].rc, ACME_ORDER_FAILED);
	assert_non_null(strstr(f->out[0].message, "malformed"));
	assert_non_null(f->out[0].key);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	assert_int_equal(f->out[0].urls, 0);
}

/* A resumed order, then issue_again: a new key and a new order, not the
 * resumed one. */
static void
test_again_after_resume(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key = key_generate(KEY_TYPE_EC_P256);
	struct issue_request req = request(f, 0, key);
	EVP_PKEY *first = NULL;

	assert_non_null(key);
	req.resume_url = ORDER_URL(1);
	fake_ca_json(&f->ca, ORDER_URL(1), 200, ORDER(1, "ready", ""));
	fake_ca_json(&f->ca, FINALIZE_URL(1), 200, ORDER(1, "processing", ""));
	fake_ca_json(&f->ca, ORDER_URL(1), 200,
	             ORDER(1, "valid", ",\"certificate\":\"" CERT_URL(1) "\""));
	fake_ca_json(&f->ca, CERT_URL(1), 200, PEM(1))->content_type =
	        "application/pem-certificate-chain";
	QUEUE_ORDER(f, 2);
	f->out[0].again = true;
	create(f, 0, &req);
	issue_run(f->is[0]);
	run_until(f, 0);
	/* The resumed order's answer. */
	assert_int_equal(f->out[0].rc, ACME_ORDER_OK);
	assert_string_equal(f->out[0].pem, PEM(1));
	assert_ptr_equal(f->out[0].key, key);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 0);
	assert_csr_key(f, FINALIZE_URL(1), key);
	first = f->out[0].key;
	f->out[0].key = NULL;
	f->out[0].calls = 0;
	/* Then the new order. */
	run_until(f, 0);
	assert_ordered(f, 0, ORDER_URL(2), FINALIZE_URL(2), PEM(2));
	assert_int_not_equal(EVP_PKEY_eq(f->out[0].key, first), 1);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 1);
	/* The resumed order was fetched, finalized and polled once each, and
	 * not looked at again. */
	assert_int_equal(fake_ca_count(&f->ca, "POST", ORDER_URL(1)), 2);
	assert_int_equal(f->ca.unmatched, 0);
	EVP_PKEY_free(first);
}

/* Three at the gate, the middle one destroyed while it waits: the third
 * passes when the first leaves, and the second sends nothing. */
static void
test_destroy_at_gate(void **state)
{
	struct fixture *f = *state;

	QUEUE_ORDER(f, 1);
	QUEUE_ORDER(f, 2);
	for (size_t i = 0; i < ISSUES; i++) {
		struct issue_request req = request(f, i, key_generate(KEY_TYPE_EC_P256));

		assert_non_null(req.key);
		create(f, i, &req);
		issue_run(f->is[i]);
	}
	/* With the keys given, the first is at the gate now, the others wait. */
	assert_int_equal(f->out[0].steps, 1);
	assert_int_equal(f->out[1].steps, 0);
	assert_int_equal(f->out[2].steps, 0);
	issue_destroy(f->is[1]);
	f->is[1] = NULL;
	run_until(f, 0);
	run_until(f, 2);
	assert_ordered(f, 0, ORDER_URL(1), FINALIZE_URL(1), PEM(1));
	assert_ordered(f, 2, ORDER_URL(2), FINALIZE_URL(2), PEM(2));
	assert_int_equal(f->out[1].steps, 0);
	assert_int_equal(f->out[1].calls, 0);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ORDER), 2);
	assert_int_equal(f->ca.unmatched, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_given_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_new_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gate_width, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_silent_then_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_silent_still, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_account_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_account_again_shared, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_account_again_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_replaced, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_without_replaces, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_again_after_resume, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroy_at_gate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
