#include "acme/acme_account_ops.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
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

#include "base/b64.h"
#include "crypto/jws.h"
#include "crypto/key.h"

#define ACCOUNT_URL "https://ca.example/acme/acct/evOfKhNU60wg"
#define KEY_CHANGE_URL "https://ca.example/acme/key-change"

struct fixture {
	EVP_PKEY *p256;
	EVP_PKEY *p384;
	EVP_PKEY *rsa;
};

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->p256 = key_generate(KEY_TYPE_EC_P256);
	f->p384 = key_generate(KEY_TYPE_EC_P384);
	f->rsa = key_generate(KEY_TYPE_RSA_2048);
	if (f->p256 == NULL || f->p384 == NULL || f->rsa == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	EVP_PKEY_free(f->p256);
	EVP_PKEY_free(f->p384);
	EVP_PKEY_free(f->rsa);
	free(f);
	return 0;
}

/* Decodes a base64url member of obj as JSON. New reference. */
static json_t *
b64_json(json_t *obj, const char *member)
{
	const char *text = json_string_value(json_object_get(obj, member));
	unsigned char *raw = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *out;

	assert_non_null(text);
	assert_int_equal(b64_decode(text, strlen(text), &raw, &len), 0);
	out = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(out);
	free(raw);
	return out;
}

/* Whether the flattened JWS jws carries a valid signature by key (ES256,
 * ES384 with r || s, or RS256). */
static bool
verifies(json_t *jws, EVP_PKEY *key, const char *digest, size_t coord_len)
{
	const char *protected = json_string_value(json_object_get(jws, "protected"));
	const char *payload = json_string_value(json_object_get(jws, "payload"));
	const char *sig_b64 = json_string_value(json_object_get(jws, "signature"));
	unsigned char *sig = NULL;
	unsigned char *der = NULL;
	size_t sig_len = 0;
	char *input = NULL;
	EVP_MD_CTX *ctx = NULL;
	const unsigned char *check;
	size_t check_len;
	bool ok = false;
	int der_len;

	assert_int_equal(b64_decode(sig_b64, strlen(sig_b64), &sig, &sig_len), 0);
	assert_int_not_equal(asprintf(&input, "%s.%s", protected, payload), -1);
	check = sig;
	check_len = sig_len;
	if (coord_len != 0) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		assert_non_null(es);
		if (sig_len != 2 * coord_len) {
			ECDSA_SIG_free(es);
			goto out;
		}
		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)coord_len, NULL),
		                                BN_bin2bn(sig + coord_len, (int)coord_len, NULL)),
		                 1);
		der_len = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		assert_true(der_len > 0);
		check = der;
		check_len = (size_t)der_len;
	}
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, digest, NULL, NULL, key, NULL), 1);
	ok = EVP_DigestVerify(ctx, check, check_len, (const unsigned char *)input, strlen(input)) ==
	     1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(input);
	free(sig);
	return ok;
}

/* RFC 8555 section 7.3.5: the inner JWS's shape for old_key -> new_key. */
static void
check_key_change(EVP_PKEY *old_key, EVP_PKEY *new_key, const char *alg, const char *digest,
                 size_t coord_len)
{
	json_t *inner, *protected, *payload, *jwk_new, *jwk_old;

	inner = acme_account_ops_key_change(old_key, new_key, ACCOUNT_URL, KEY_CHANGE_URL);
	assert_non_null(inner);
	/* Flattened JSON serialization, nothing else. */
	assert_int_equal(json_object_size(inner), 3);
	assert_true(json_is_string(json_object_get(inner, "signature")));

	protected = b64_json(inner, "protected");
	/* alg, jwk (the new key), url; no nonce, no kid. */
	assert_int_equal(json_object_size(protected), 3);
	assert_string_equal(json_string_value(json_object_get(protected, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(protected, "url")), KEY_CHANGE_URL);
	assert_null(json_object_get(protected, "nonce"));
	assert_null(json_object_get(protected, "kid"));
	jwk_new = jws_jwk(new_key);
	assert_non_null(jwk_new);
	assert_true(json_equal(json_object_get(protected, "jwk"), jwk_new));

	payload = b64_json(inner, "payload");
	/* account and oldKey (the old key's public JWK), nothing else. */
	assert_int_equal(json_object_size(payload), 2);
	assert_string_equal(json_string_value(json_object_get(payload, "account")), ACCOUNT_URL);
	jwk_old = jws_jwk(old_key);
	assert_non_null(jwk_old);
	assert_true(json_equal(json_object_get(payload, "oldKey"), jwk_old));
	assert_null(json_object_get(json_object_get(payload, "oldKey"), "d"));

	/* Signed by the new key, not the old one. */
	assert_true(verifies(inner, new_key, digest, coord_len));

	json_decref(jwk_old);
	json_decref(jwk_new);
	json_decref(payload);
	json_decref(protected);
	json_decref(inner);
}

static void
test_key_change_ec(void **state)
{
	struct fixture *f = *state;

	check_key_change(f->p256, f->p384, "ES384", "SHA384", 48);
	check_key_change(f->p384, f->p256, "ES256", "SHA256", 32);
}

static void
test_key_change_rsa(void **state)
{
	struct fixture *f = *state;

	check_key_change(f->p256, f->rsa, "RS256", "SHA256", 0);
	check_key_change(f->rsa, f->p256, "ES256", "SHA256", 32);
}

static void
test_key_change_not_by_old_key(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other = key_generate(KEY_TYPE_EC_P256);
	json_t *inner;

	assert_non_null(other);
	inner = acme_account_ops_key_change(f->p256, other, ACCOUNT_URL, KEY_CHANGE_URL);
	assert_non_null(inner);
	assert_true(verifies(inner, other, "SHA256", 32));
	assert_false(verifies(inner, f->p256, "SHA256", 32));
	json_decref(inner);
	EVP_PKEY_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_change_ec),
	        cmocka_unit_test(test_key_change_rsa),
	        cmocka_unit_test(test_key_change_not_by_old_key),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
