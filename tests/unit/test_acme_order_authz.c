/* One authorization of an order against a scripted CA (fake_ca.h): what
 * the responder is given, an authorization for another name, a run
 * cancelled while it waits for its next poll, dns-persist-01's task. */
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme_order_authz.h"
#include "base/b64.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "fake_ca.h"

#define AUTHZ_URL FAKE_CA "/authz/1"
#define CHALL_URL FAKE_CA "/chall/1"
#define AUTHZ(value, status, type)                                                              \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"" value "\"},\"status\":\"" status "\"," \
	"\"challenges\":[{\"type\":\"" type "\",\"url\":\"" CHALL_URL "\",\"status\":"          \
	"\"pending\",\"token\":\"tok_1\"}]}"
#define CHALL "{\"type\":\"dns-01\",\"url\":\"" CHALL_URL "\",\"status\":\"processing\"}"

struct run {
	struct ev_loop *loop;
	struct fake_ca ca;
	struct acme_client *client;
	EVP_PKEY *key;
	char name[16];
	struct ident id;
	struct acme_order_authz_params params;
	struct acme_order_authz *authz;
	bool done;
	int rc;
	char message[1024];
};

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	fake_ca_init(&r->ca, CHALLENGE_TYPE_DNS01);
	r->loop = r->ca.loop;
	r->client = fake_ca_client(&r->ca);
	r->key = key_generate(KEY_TYPE_EC_P256);
	assert_non_null(r->key);
	snprintf(r->name, sizeof(r->name), "a.test");
	r->id.type = IDENT_DNS;
	r->id.value = r->name;
	r->params.name = "www";
	r->params.ids = &r->id;
	r->params.n_ids = 1;
	r->params.responder = &r->ca.responder.ch;
	r->params.key = r->key;
	r->params.kid = FAKE_CA "/acct/1";
	r->params.deadline = ev_now(r->loop) + 600;
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;

	acme_order_authz_destroy(r->authz);
	acme_client_destroy(r->client);
	fake_ca_finish(&r->ca);
	EVP_PKEY_free(r->key);
	free(r);
	return 0;
}

static void
on_done(int rc, const char *message, time_t retry_after, void *arg)
{
	struct run *r = arg;

	(void)retry_after;
	assert_false(r->done);
	r->done = true;
	r->rc = rc;
	snprintf(r->message, sizeof(r->message), "%s", message);
}

static void
start(struct run *r)
{
	r->authz = acme_order_authz_start(r->loop, r->client, &r->params, AUTHZ_URL, on_done, r);
	assert_non_null(r->authz);
}

/* RFC 8555 section 8.4: dns-01 is a TXT record _acme-challenge.<name>.
 * holding base64url(SHA-256(key authorization)). */
static void
test_dns01_task(void **state)
{
	struct run *r = *state;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *key_auth = jws_key_authorization(r->key, "tok_1");
	char *want;

	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", "dns-01"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL);
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "valid", "dns-01"));
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, 0);
	assert_string_equal(r->ca.responder.txt_name, "_acme-challenge.a.test.");
	assert_int_equal(EVP_Digest(key_auth, strlen(key_auth), md, &md_len, EVP_sha256(), NULL),
	                 1);
	want = b64_encode(md, md_len);
	assert_string_equal(r->ca.responder.txt_value, want);
	assert_string_equal(r->ca.responder.key_auth, key_auth);
	assert_int_equal(r->ca.responder.cleaned, 1);
	free(want);
	free(key_auth);
}

/* An authorization for a name the order did not ask for is refused before
 * anything is presented; one without the configured type too. */
static void
test_refused(void **state)
{
	struct run *r = *state;

	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("b.test", "pending", "dns-01"));
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, -1);
	assert_string_equal(r->message,
	                    "www: " AUTHZ_URL ": authorization for an identifier not requested");
	assert_int_equal(r->ca.responder.presented, 0);

	acme_order_authz_destroy(r->authz);
	r->done = false;
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", "http-01"));
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, -1);
	assert_string_equal(r->message, "www: a.test: the CA offers no dns-01 challenge for it");
	assert_int_equal(r->ca.responder.presented, 0);
}

/* Cancelled while it waits for its next poll: the challenge is withdrawn
 * at once, no poll is sent. */
static void
test_cancel_while_waiting(void **state)
{
	struct run *r = *state;

	r->ca.hold_timers = true;
	fake_ca_json(&r->ca, AUTHZ_URL, 200, AUTHZ("a.test", "pending", "dns-01"));
	fake_ca_json(&r->ca, CHALL_URL, 200, CHALL);
	start(r);
	for (int i = 0; i < 1000 && r->ca.n_delays == 0; i++) {
		ev_run(r->loop, EVRUN_ONCE);
	}
	assert_int_equal(r->ca.n_delays, 1);
	assert_int_equal(r->ca.responder.presented, 1);
	assert_int_equal(r->ca.responder.cleaned, 0);
	acme_order_authz_cancel(r->authz);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->ca.responder.cleaned, 1);
	assert_int_equal(fake_ca_count(&r->ca, "POST", AUTHZ_URL), 1);
	/* Once done, cancel does nothing. */
	acme_order_authz_cancel(r->authz);
	assert_int_equal(r->ca.responder.cleaned, 1);
}

/* dns-persist-01: a responder that records the issuer names and account
 * URL it is given, and answers rc. */
struct persist_responder {
	struct challenge ch;
	int rc;
	int presented;
	int cleaned;
	char issuers[256]; /* joined by ' ' */
	char account[256];
	bool has_token;
};

static int
persist_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct persist_responder *p = (struct persist_responder *)ch;
	size_t off = 0;

	p->presented++;
	p->has_token = task->token != NULL || task->key_auth != NULL;
	for (size_t i = 0; i < task->n_issuers; i++) {
		off += (size_t)snprintf(p->issuers + off, sizeof(p->issuers) - off, "%s%s",
		                        i > 0 ? " " : "", task->issuers[i]);
	}
	snprintf(p->account, sizeof(p->account), "%s",
	         task->account_uri != NULL ? task->account_uri : "(none)");
	return challenge_defer(ch, p->rc, p->rc < 0 ? "no record" : NULL, done, arg);
}

static int
persist_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	(void)task;
	((struct persist_responder *)ch)->cleaned++;
	return challenge_defer(ch, 0, NULL, done, arg);
}

static void
persist_destroy(struct challenge *ch)
{
	(void)ch;
}

static const struct challenge_ops persist_ops = {
        .name = "persist",
        .type = CHALLENGE_TYPE_DNSPERSIST01,
        .present = persist_present,
        .cleanup = persist_cleanup,
        .destroy = persist_destroy,
};

#define PERSIST_AUTHZ(status, names)                                                         \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},\"status\":\"" status "\"," \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"" FAKE_CA "/chall/0\",\"status\":"  \
	"\"pending\",\"token\":\"tok_0\"},{\"type\":\"dns-persist-01\",\"url\":\"" CHALL_URL \
	"\",\"status\":\"pending\",\"issuer-domain-names\":" names "}]}"

/* The responder gets the challenge's issuer names and the account's URL
 * (no token); the CA is then told to validate (RFC 8555 section 7.5.1). A
 * responder that finds no record stops the run before that POST, and so
 * does a challenge whose issuer names are malformed. */
static void
test_persist(void **state)
{
	struct run *r = *state;
	struct persist_responder p;

	memset(&p, 0, sizeof(p));
	challenge_init(&p.ch, &persist_ops, r->loop);
	r->params.responder = &p.ch;
	fake_ca_json(&r->ca, AUTHZ_URL, 200,
	             PERSIST_AUTHZ("pending", "[\"ca.test\",\"ca2.test\"]"));
	fake_ca_json(&r->ca, CHALL_URL, 200,
	             "{\"type\":\"dns-persist-01\",\"url\":\"" CHALL_URL "\",\"status\":\"valid\","
	             "\"issuer-domain-names\":[\"ca.test\"]}");
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, 0);
	assert_int_equal(p.presented, 1);
	assert_false(p.has_token);
	assert_string_equal(p.issuers, "ca.test ca2.test");
	assert_string_equal(p.account, FAKE_CA "/acct/1");
	assert_int_equal(fake_ca_count(&r->ca, "POST", CHALL_URL), 1);
	assert_int_equal(p.cleaned, 1);

	/* No record: nothing is sent to the challenge URL. */
	acme_order_authz_destroy(r->authz);
	r->done = false;
	p.rc = -1;
	fake_ca_json(&r->ca, AUTHZ_URL, 200, PERSIST_AUTHZ("pending", "[\"ca.test\"]"));
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	/* The responder's own failure: the CA was not told. */
	assert_int_equal(r->rc, ACME_ORDER_AUTHZ_NOT_PRESENTED);
	assert_string_equal(r->message, "www: a.test: no record");
	assert_int_equal(fake_ca_count(&r->ca, "POST", CHALL_URL), 1);

	/* Malformed issuer names: not presented, not answered. */
	acme_order_authz_destroy(r->authz);
	r->done = false;
	fake_ca_json(&r->ca, AUTHZ_URL, 200, PERSIST_AUTHZ("pending", "[\"CA.test\"]"));
	start(r);
	fake_ca_run_until(&r->ca, &r->done);
	assert_int_equal(r->rc, -1);
	assert_non_null(strstr(r->message,
	                       "www: a.test: the CA's dns-persist-01 challenge is malformed: "));
	assert_int_equal(p.presented, 2);
	assert_int_equal(fake_ca_count(&r->ca, "POST", CHALL_URL), 1);
	challenge_destroy(&p.ch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_dns01_task, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_while_waiting, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
