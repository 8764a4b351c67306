/* acme_account_reg against a scripted CA (fake_ca.h): registration, a
 * known account, a lost URL looked up, EAB, and the refusals that are the
 * user's to fix. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme/acme_account_reg.h"
#include "base/b64.h"
#include "base/file.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "fake_ca.h"
#include "fixture.h"

#define ACCOUNT_URL FAKE_CA "/acct/7"
#define ACCOUNT_BODY "{\"status\":\"valid\",\"contact\":[\"mailto:me@a.test\"]}"

struct fixture {
	char root[64];
	struct ev_loop *loop;
	struct fake_ca ca;
	struct acme_client *client;
	struct acme_account_handle acct;
	char *emails[1];
	struct acme_account_reg_options opts;
	bool done;
	int rc;
	char message[1024];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_tmpdir(f->root, sizeof(f->root), "reg");
	fake_ca_init(&f->ca, CHALLENGE_TYPE_HTTP01);
	f->loop = f->ca.loop;
	f->emails[0] = strdup("me@a.test");
	f->opts.emails = f->emails;
	f->opts.n_emails = 1;
	f->opts.agree_tos = true;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	acme_client_destroy(f->client);
	fake_ca_finish(&f->ca);
	acme_account_close(&f->acct);
	fixture_rmtree(f->root);
	free(f->emails[0]);
	free(f);
	return 0;
}

/* The client, once the directory flags are set; the account opened. */
static void
open_account(struct fixture *f)
{
	f->client = fake_ca_client(&f->ca);
	assert_int_equal(acme_account_open(&f->acct, f->root, FAKE_CA_DIRECTORY, KEY_TYPE_EC_P256),
	                 0);
}

static void
on_done(int rc, const char *message, void *arg)
{
	struct fixture *f = arg;

	assert_false(f->done);
	f->done = true;
	f->rc = rc;
	snprintf(f->message, sizeof(f->message), "%s", message);
}

static void
ensure(struct fixture *f)
{
	assert_int_equal(acme_account_reg_ensure(f->client, &f->acct, &f->opts, false, on_done, f),
	                 ACME_ACCOUNT_OK);
	fake_ca_run_until(&f->ca, &f->done);
}

static void
queue_account(struct fixture *f, long status)
{
	struct fake_reply reply = {
	        .method = "POST",
	        .url = FAKE_CA_NEW_ACCOUNT,
	        .status = status,
	        .location = ACCOUNT_URL,
	        .body = ACCOUNT_BODY,
	};

	fake_ca_queue(&f->ca, &reply);
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A first run: newAccount with the contacts and the agreement, signed with
 * the JWK; the key and account.json saved only then. */
static void
test_register(void **state)
{
	struct fixture *f = *state;
	const struct fake_request *req;
	json_t *jwk;

	f->ca.terms = true;
	open_account(f);
	assert_true(f->acct.key_created);
	assert_false(exists(f->acct.key_path));
	queue_account(f, 201);
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_OK);
	assert_string_equal(f->acct.url, ACCOUNT_URL);
	assert_false(f->acct.key_created);
	assert_true(exists(f->acct.key_path));
	assert_true(exists(f->acct.json_path));
	assert_int_equal(f->acct.n_contacts, 1);
	assert_string_equal(f->acct.contacts[0], "mailto:me@a.test");
	req = fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT, 0);
	assert_non_null(req);
	assert_null(json_object_get(req->protected, "kid"));
	jwk = jws_jwk(f->acct.key);
	assert_true(json_equal(json_object_get(req->protected, "jwk"), jwk));
	json_decref(jwk);
	assert_true(json_is_true(json_object_get(req->payload, "termsOfServiceAgreed")));
	assert_string_equal(
	        json_string_value(json_array_get(json_object_get(req->payload, "contact"), 0)),
	        "mailto:me@a.test");
	assert_null(json_object_get(req->payload, "externalAccountBinding"));
	assert_int_equal(f->ca.unmatched, 0);
}

/* An account whose URL is known: nothing to do, nothing sent. */
static void
test_known(void **state)
{
	struct fixture *f = *state;
	size_t before;

	open_account(f);
	f->acct.url = strdup(ACCOUNT_URL);
	before = f->ca.n_requests;
	assert_int_equal(acme_account_reg_ensure(f->client, &f->acct, &f->opts, false, on_done, f),
	                 ACME_ACCOUNT_KNOWN);
	assert_int_equal(ev_run(f->loop, EVRUN_NOWAIT), 0);
	assert_false(f->done);
	assert_int_equal(f->ca.n_requests, before);
}

/* account.json lost, account.key kept: the URL is found again with
 * onlyReturnExisting (RFC 8555 section 7.3.1), nothing registered. */
static void
test_lost_url(void **state)
{
	struct fixture *f = *state;
	const struct fake_request *req;

	open_account(f);
	assert_int_equal(file_mkdirs(f->acct.dir, 0700), 0);
	assert_int_equal(key_save(f->acct.key, f->acct.key_path), 0);
	f->acct.key_created = false;
	queue_account(f, 200);
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_OK);
	assert_string_equal(f->acct.url, ACCOUNT_URL);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 1);
	req = fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT, 0);
	assert_true(json_is_true(json_object_get(req->payload, "onlyReturnExisting")));
	assert_true(exists(f->acct.json_path));
}

/* A lookup never registers: the CA's accountDoesNotExist is the rc. */
static void
test_lookup_not_found(void **state)
{
	struct fixture *f = *state;
	open_account(f);
	f->acct.key_created = false;
	fake_ca_problem(&f->ca, FAKE_CA_NEW_ACCOUNT, 400,
	                "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\"}");
	assert_int_equal(acme_account_reg_lookup(f->client, &f->acct, on_done, f), ACME_ACCOUNT_OK);
	fake_ca_run_until(&f->ca, &f->done);
	assert_int_equal(f->rc, ACME_ACCOUNT_NOT_FOUND);
	assert_null(f->acct.url);
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 1);
}

/* RFC 8555 section 7.3.4: the binding is a JWS by the MAC key, over the
 * account's JWK, for the newAccount URL. */
static void
test_eab(void **state)
{
	struct fixture *f = *state;
	static const unsigned char mac[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	const struct fake_request *req;
	json_t *eab;
	json_t *inner;
	json_t *jwk;
	unsigned char *raw = NULL;
	size_t len = 0;
	char *hmac = b64_encode(mac, sizeof(mac));
	const char *text;

	f->ca.external_account_required = true;
	f->opts.eab_kid = "kid-1";
	f->opts.eab_hmac_key = hmac;
	open_account(f);
	queue_account(f, 201);
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_OK);
	req = fake_ca_find(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT, 0);
	eab = json_object_get(req->payload, "externalAccountBinding");
	assert_non_null(eab);
	text = json_string_value(json_object_get(eab, "protected"));
	assert_int_equal(b64_decode(text, strlen(text), &raw, &len), 0);
	inner = json_loadb((const char *)raw, len, 0, NULL);
	assert_non_null(inner);
	assert_string_equal(json_string_value(json_object_get(inner, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(inner, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(inner, "url")), FAKE_CA_NEW_ACCOUNT);
	json_decref(inner);
	free(raw);
	raw = NULL;
	text = json_string_value(json_object_get(eab, "payload"));
	assert_int_equal(b64_decode(text, strlen(text), &raw, &len), 0);
	inner = json_loadb((const char *)raw, len, 0, NULL);
	jwk = jws_jwk(f->acct.key);
	assert_true(json_equal(inner, jwk));
	json_decref(jwk);
	json_decref(inner);
	free(raw);
	free(hmac);
}

/* What the user must fix is said without a request: terms not agreed,
 * EAB required but not configured, half an EAB. */
static void
test_usage(void **state)
{
	struct fixture *f = *state;

	f->ca.terms = true;
	f->ca.external_account_required = true;
	open_account(f);
	f->opts.agree_tos = false;
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_USAGE);
	assert_non_null(strstr(f->message, "set agree-tos = yes or pass --agree-tos"));
	f->done = false;
	f->opts.agree_tos = true;
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_USAGE);
	assert_non_null(strstr(f->message, "requires external account binding"));
	f->done = false;
	f->opts.eab_kid = "kid-1";
	ensure(f);
	assert_int_equal(f->rc, ACME_ACCOUNT_USAGE);
	assert_non_null(strstr(f->message, "only eab-kid is set"));
	assert_int_equal(fake_ca_count(&f->ca, "POST", FAKE_CA_NEW_ACCOUNT), 0);
	assert_null(f->acct.url);
}

/* No account.key.new: nothing to settle, nothing sent. */
static void
test_no_rollover(void **state)
{
	struct fixture *f = *state;
	size_t before;

	open_account(f);
	f->acct.key_created = false;
	before = f->ca.n_requests;
	assert_int_equal(acme_account_reg_resume_rollover(f->client, &f->acct, on_done, f),
	                 ACME_ACCOUNT_NO_ROLLOVER);
	assert_int_equal(f->ca.n_requests, before);
	assert_false(f->done);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_register, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_known, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lost_url, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookup_not_found, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eab, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_rollover, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
