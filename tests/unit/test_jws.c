#include "crypto/jws.h"
#include "crypto/jws_test.h"

#include "base/b64.h"
#include "crypto/key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* RFC 7638 section 3.1. */
#define RFC7638_N                                                                                 \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_" \
	"BJEC"                                                                                    \
	"PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"    \
	"FDW2QvzqY"                                                                               \
	"368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"                \
	"bFTWhAI4vMQFh6WeZu0fM"                                                                   \
	"4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_E "AQAB"
#define RFC7638_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* RFC 7515 appendix A.3.1: an ES256 key. */
#define RFC7515_EC_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_EC_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC7515_EC_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"

#define URL "https://ca.example/acme/new-order"
#define KID "https://ca.example/acme/acct/evOfKhNU60wg"
#define NONCE "6S8IqOGY7eL2lsGoTZYifg"

struct fixture {
	EVP_PKEY *p256;
	EVP_PKEY *p384;
	EVP_PKEY *rsa;
};

static int
group_setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return -1;
	}
	f->p256 = key_generate(KEY_TYPE_EC_P256);
	f->p384 = key_generate(KEY_TYPE_EC_P384);
	f->rsa = key_generate(KEY_TYPE_RSA_2048);
	*state = f;
	return f->p256 != NULL && f->p384 != NULL && f->rsa != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL) {
		EVP_PKEY_free(f->p256);
		EVP_PKEY_free(f->p384);
		EVP_PKEY_free(f->rsa);
		free(f);
	}
	return 0;
}

/* Decodes a base64url string, failing the test when it is not one. */
static unsigned char *
decode(const char *s, size_t *len)
{
	unsigned char *out = NULL;

	assert_non_null(s);
	assert_int_equal(b64_decode(s, strlen(s), &out, len), 0);
	return out;
}

static BIGNUM *
decode_bn(const char *s)
{
	unsigned char *bytes;
	size_t len;
	BIGNUM *bn;

	bytes = decode(s, &len);
	bn = BN_bin2bn(bytes, (int)len, NULL);
	assert_non_null(bn);
	free(bytes);
	return bn;
}

/* The JSON object a base64url member of obj encodes. */
static json_t *
decode_json_member(const json_t *obj, const char *member)
{
	unsigned char *text;
	size_t len;
	json_t *json;
	json_error_t err;

	text = decode(json_string_value(json_object_get(obj, member)), &len);
	json = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &err);
	if (json == NULL) {
		fail_msg("%s: not JSON: %s", member, err.text);
	}
	free(text);
	return json;
}

/* The members of obj in document order, joined with ','. */
static void
member_order(const json_t *obj, char *buf, size_t size)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)obj, k, v)
	{
		used += (size_t)snprintf(buf + used, size - used, "%s%s", used == 0 ? "" : ",", k);
		assert_true(used < size);
	}
}

/* The public key a JWK describes, built independently of jws.c. */
static EVP_PKEY *
key_from_jwk(const json_t *jwk)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	BIGNUM *n = NULL, *e = NULL;
	unsigned char point[1 + 2 * 48];
	unsigned char *x, *y;
	size_t xlen, ylen;

	assert_non_null(kty);
	bld = OSSL_PARAM_BLD_new();
	assert_non_null(bld);
	if (strcmp(kty, "EC") == 0) {
		const char *crv = json_string_value(json_object_get(jwk, "crv"));

		assert_non_null(crv);
		x = decode(json_string_value(json_object_get(jwk, "x")), &xlen);
		y = decode(json_string_value(json_object_get(jwk, "y")), &ylen);
		assert_int_equal(xlen, ylen);
		assert_true(xlen <= 48);
		point[0] = 0x04;
		memcpy(point + 1, x, xlen);
		memcpy(point + 1 + xlen, y, ylen);
		free(x);
		free(y);
		assert_int_equal(
		        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0),
		        1);
		assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
		                                                  point, 1 + 2 * xlen),
		                 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		assert_string_equal(kty, "RSA");
		n = decode_bn(json_string_value(json_object_get(jwk, "n")));
		e = decode_bn(json_string_value(json_object_get(jwk, "e")));
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

static EVP_PKEY *
rfc7638_key(void)
{
	json_t *jwk;
	EVP_PKEY *key;

	jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", RFC7638_N, "e", RFC7638_E);
	assert_non_null(jwk);
	key = key_from_jwk(jwk);
	json_decref(jwk);
	return key;
}

static EVP_PKEY *
rfc7515_ec_key(void)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	unsigned char point[65];
	unsigned char *x, *y;
	size_t xlen, ylen;
	BIGNUM *d;

	x = decode(RFC7515_EC_X, &xlen);
	y = decode(RFC7515_EC_Y, &ylen);
	assert_int_equal(xlen, 32);
	assert_int_equal(ylen, 32);
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	free(x);
	free(y);
	d = decode_bn(RFC7515_EC_D);
	bld = OSSL_PARAM_BLD_new();
	assert_non_null(bld);
	assert_int_equal(
	        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
	        1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
	                                                  sizeof(point)),
	                 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params), 1);
	EVP_PKEY_CTX_free(ctx);
	/* d must match x and y, or signatures would not verify. */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_pairwise_check(ctx), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(d);
	return key;
}

/* Whether the flattened JWS verifies with key, as alg. Signatures of EC keys
 * are rebuilt from r || s into the DER OpenSSL expects. */
static bool
jws_verifies(const json_t *jws, EVP_PKEY *key, const char *alg)
{
	const char *protected = json_string_value(json_object_get(jws, "protected"));
	const char *payload = json_string_value(json_object_get(jws, "payload"));
	unsigned char *sig, *der = NULL;
	const unsigned char *verify_sig;
	size_t siglen, verify_len, coord = 0;
	const char *md = "SHA256";
	char input[8192];
	EVP_MD_CTX *ctx;
	ECDSA_SIG *ecdsa;
	BIGNUM *r, *s;
	bool ok;
	int derlen;

	assert_non_null(protected);
	assert_non_null(payload);
	assert_true(snprintf(input, sizeof(input), "%s.%s", protected, payload) <
	            (int)sizeof(input));
	sig = decode(json_string_value(json_object_get(jws, "signature")), &siglen);
	verify_sig = sig;
	verify_len = siglen;
	if (strcmp(alg, "ES256") == 0) {
		coord = 32;
	} else if (strcmp(alg, "ES384") == 0) {
		coord = 48;
		md = "SHA384";
	} else {
		assert_string_equal(alg, "RS256");
		assert_int_equal(siglen, (size_t)EVP_PKEY_get_size(key));
	}
	if (coord != 0) {
		/* RFC 7518 section 3.4: exactly r || s, each coord bytes. */
		assert_int_equal(siglen, 2 * coord);
		r = BN_bin2bn(sig, (int)coord, NULL);
		s = BN_bin2bn(sig + coord, (int)coord, NULL);
		ecdsa = ECDSA_SIG_new();
		assert_non_null(r);
		assert_non_null(s);
		assert_non_null(ecdsa);
		assert_int_equal(ECDSA_SIG_set0(ecdsa, r, s), 1);
		derlen = i2d_ECDSA_SIG(ecdsa, &der);
		assert_true(derlen > 0);
		ECDSA_SIG_free(ecdsa);
		verify_sig = der;
		verify_len = (size_t)derlen;
	}
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
	ok = EVP_DigestVerify(ctx, verify_sig, verify_len, (const unsigned char *)input,
	                      strlen(input)) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(sig);
	return ok;
}

static void
test_jws_rfc7638_thumbprint(void **state)
{
	EVP_PKEY *key;
	json_t *jwk;
	char *canon, *thumb;

	key = rfc7638_key();
	jwk = jws_jwk(key);
	assert_non_null(jwk);
	canon = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(canon,
	                    "{\"e\":\"" RFC7638_E "\",\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}");
	free(canon);
	json_decref(jwk);

	thumb = jws_thumbprint(key);
	assert_non_null(thumb);
	assert_string_equal(thumb, RFC7638_THUMBPRINT);
	free(thumb);
	EVP_PKEY_free(key);
}

static void
test_jws_key_authorization(void **state)
{
	EVP_PKEY *key;
	char *ka;

	key = rfc7638_key();
	ka = jws_key_authorization(key, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
	assert_non_null(ka);
	assert_string_equal(ka, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." RFC7638_THUMBPRINT);
	free(ka);
	assert_null(jws_key_authorization(key, NULL));
	assert_null(jws_key_authorization(key, ""));
	assert_null(jws_key_authorization(NULL, "token"));
	EVP_PKEY_free(key);
}

static void
test_jws_ec_jwk_known_key(void **state)
{
	EVP_PKEY *key;
	json_t *jwk;
	const char *canon;
	char *thumb, *expected;
	unsigned char md[32];
	unsigned int mdlen;

	key = rfc7515_ec_key();
	jwk = jws_jwk(key);
	assert_non_null(jwk);
	assert_int_equal(json_object_size(jwk), 4);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(jwk, "x")), RFC7515_EC_X);
	assert_string_equal(json_string_value(json_object_get(jwk, "y")), RFC7515_EC_Y);
	json_decref(jwk);

	/* RFC 7638 section 3.2: the EC members in lexicographic order. */
	canon = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" RFC7515_EC_X "\",\"y\":\"" RFC7515_EC_Y
	        "\"}";
	assert_int_equal(EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL), 1);
	expected = b64_encode(md, mdlen);
	thumb = jws_thumbprint(key);
	assert_non_null(thumb);
	assert_string_equal(thumb, expected);
	free(thumb);
	free(expected);
	assert_string_equal(jws_alg(key), "ES256");
	EVP_PKEY_free(key);
}

static void
test_jws_alg(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key;

	assert_string_equal(jws_alg(f->p256), "ES256");
	assert_string_equal(jws_alg(f->p384), "ES384");
	assert_string_equal(jws_alg(f->rsa), "RS256");
	assert_null(jws_alg(NULL));
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(key);
	assert_null(jws_alg(key));
	assert_null(jws_jwk(key));
	assert_null(jws_thumbprint(key));
	assert_null(jws_sign(key, KID, NONCE, URL, "{}"));
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(key);
	assert_null(jws_alg(key));
	EVP_PKEY_free(key);
}

static void
check_ec_jwk(EVP_PKEY *key, const char *crv, size_t coord)
{
	json_t *jwk;
	EVP_PKEY *pub;
	unsigned char *x, *y;
	size_t xlen, ylen;
	char order[64];

	jwk = jws_jwk(key);
	assert_non_null(jwk);
	member_order(jwk, order, sizeof(order));
	assert_string_equal(order, "crv,kty,x,y");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), crv);
	x = decode(json_string_value(json_object_get(jwk, "x")), &xlen);
	y = decode(json_string_value(json_object_get(jwk, "y")), &ylen);
	assert_int_equal(xlen, coord);
	assert_int_equal(ylen, coord);
	free(x);
	free(y);
	pub = key_from_jwk(jwk);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	EVP_PKEY_free(pub);
	json_decref(jwk);
}

static void
test_jws_ec_jwk(void **state)
{
	struct fixture *f = *state;

	check_ec_jwk(f->p256, "P-256", 32);
	check_ec_jwk(f->p384, "P-384", 48);
}

/* A P-256 key whose public coordinate param is shorter than 32 bytes, about
 * one in 256 keys. */
static EVP_PKEY *
key_with_short(const char *param)
{
	EVP_PKEY *key = NULL;
	BIGNUM *c = NULL;
	bool found = false;
	int i;

	for (i = 0; i < 50000 && !found; i++) {
		EVP_PKEY_free(key);
		key = key_generate(KEY_TYPE_EC_P256);
		assert_non_null(key);
		assert_int_equal(EVP_PKEY_get_bn_param(key, param, &c), 1);
		found = BN_num_bytes(c) < 32;
		BN_free(c);
		c = NULL;
	}
	assert_true(found);
	return key;
}

/* RFC 7518 section 6.2.1.2: a coordinate with a leading zero byte is still 32
 * bytes long. */
static void
test_jws_ec_jwk_padded(void **state)
{
	EVP_PKEY *key;

	key = key_with_short(OSSL_PKEY_PARAM_EC_PUB_X);
	check_ec_jwk(key, "P-256", 32);
	EVP_PKEY_free(key);
	key = key_with_short(OSSL_PKEY_PARAM_EC_PUB_Y);
	check_ec_jwk(key, "P-256", 32);
	EVP_PKEY_free(key);
}

static void
test_jws_rsa_jwk(void **state)
{
	struct fixture *f = *state;
	json_t *jwk;
	EVP_PKEY *pub;
	unsigned char *n;
	size_t nlen;
	char order[64];

	jwk = jws_jwk(f->rsa);
	assert_non_null(jwk);
	member_order(jwk, order, sizeof(order));
	assert_string_equal(order, "e,kty,n");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	n = decode(json_string_value(json_object_get(jwk, "n")), &nlen);
	/* RFC 7518 section 6.3.1.1: no leading zero. */
	assert_int_equal(nlen, 256);
	assert_int_not_equal(n[0], 0);
	free(n);
	pub = key_from_jwk(jwk);
	assert_int_equal(EVP_PKEY_eq(pub, f->rsa), 1);
	EVP_PKEY_free(pub);
	json_decref(jwk);
}

static void
check_sign(EVP_PKEY *key, const char *alg)
{
	static const char payload[] =
	        "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}]}";
	json_t *jws, *protected, *jwk, *expected_jwk;
	unsigned char *decoded;
	size_t len;
	char order[128];
	EVP_PKEY *pub;

	/* With kid and nonce: the usual request. */
	jws = jws_sign(key, KID, NONCE, URL, payload);
	assert_non_null(jws);
	assert_int_equal(json_object_size(jws), 3);
	protected = decode_json_member(jws, "protected");
	member_order(protected, order, sizeof(order));
	assert_string_equal(order, "alg,kid,nonce,url");
	assert_string_equal(json_string_value(json_object_get(protected, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(protected, "kid")), KID);
	assert_string_equal(json_string_value(json_object_get(protected, "nonce")), NONCE);
	assert_string_equal(json_string_value(json_object_get(protected, "url")), URL);
	json_decref(protected);
	decoded = decode(json_string_value(json_object_get(jws, "payload")), &len);
	assert_int_equal(len, strlen(payload));
	assert_memory_equal(decoded, payload, len);
	free(decoded);
	assert_true(jws_verifies(jws, key, alg));
	json_decref(jws);

	/* Without kid: the jwk, which verifies the signature on its own. */
	jws = jws_sign(key, NULL, NONCE, URL, payload);
	assert_non_null(jws);
	protected = decode_json_member(jws, "protected");
	member_order(protected, order, sizeof(order));
	assert_string_equal(order, "alg,jwk,nonce,url");
	jwk = json_object_get(protected, "jwk");
	expected_jwk = jws_jwk(key);
	assert_true(json_equal(jwk, expected_jwk));
	pub = key_from_jwk(jwk);
	assert_true(jws_verifies(jws, pub, alg));
	EVP_PKEY_free(pub);
	json_decref(expected_jwk);
	json_decref(protected);
	json_decref(jws);

	/* Without nonce, POST-as-GET: no nonce member, empty payload. */
	jws = jws_sign(key, KID, NULL, URL, NULL);
	assert_non_null(jws);
	protected = decode_json_member(jws, "protected");
	member_order(protected, order, sizeof(order));
	assert_string_equal(order, "alg,kid,url");
	json_decref(protected);
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
	assert_true(jws_verifies(jws, key, alg));
	/* The check can fail: another payload does not verify. */
	assert_int_equal(json_object_set_new(jws, "payload", json_string("e30")), 0);
	assert_false(jws_verifies(jws, key, alg));
	json_decref(jws);

	assert_null(jws_sign(key, KID, NONCE, NULL, payload));
}

static void
test_jws_sign_es256(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key;
	bool padded = false;
	int i;

	check_sign(f->p256, "ES256");
	key = rfc7515_ec_key();
	check_sign(key, "ES256");
	EVP_PKEY_free(key);
	/* r or s with a leading zero byte is still 32 bytes: sign until one
	 * has one (about 1 in 128 signatures). */
	for (i = 0; i < 20000 && !padded; i++) {
		json_t *jws = jws_sign(f->p256, KID, NONCE, URL, NULL);
		unsigned char *sig;
		size_t len;

		assert_non_null(jws);
		sig = decode(json_string_value(json_object_get(jws, "signature")), &len);
		assert_int_equal(len, 64);
		padded = sig[0] == 0 || sig[32] == 0;
		free(sig);
		if (padded) {
			assert_true(jws_verifies(jws, f->p256, "ES256"));
		}
		json_decref(jws);
	}
	assert_true(padded);
}

static void
test_jws_sign_es384(void **state)
{
	struct fixture *f = *state;

	check_sign(f->p384, "ES384");
}

static void
test_jws_sign_rs256(void **state)
{
	struct fixture *f = *state;

	check_sign(f->rsa, "RS256");
}

/* jws_sign_text: the body acme_client sends, the same JWS as text, with
 * nothing escaped wrongly (a nonce and URL with characters JSON escapes in
 * the protected header), for each key type. */
static void
test_jws_sign_text(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *keys[] = {f->p256, f->p384, f->rsa};
	const char *algs[] = {"ES256", "ES384", "RS256"};
	size_t i;

	for (i = 0; i < 3; i++) {
		char *text = jws_sign_text(keys[i], KID, "n\"o/nce", URL "?a=\"b\"", "{\"x\":1}");
		json_error_t err;
		json_t *jws, *protected;

		assert_non_null(text);
		jws = json_loads(text, JSON_REJECT_DUPLICATES, &err);
		assert_non_null(jws);
		assert_int_equal(json_object_size(jws), 3);
		protected = decode_json_member(jws, "protected");
		assert_string_equal(json_string_value(json_object_get(protected, "nonce")),
		                    "n\"o/nce");
		assert_string_equal(json_string_value(json_object_get(protected, "url")),
		                    URL "?a=\"b\"");
		assert_true(jws_verifies(jws, keys[i], algs[i]));
		json_decref(protected);
		json_decref(jws);
		free(text);
	}
	assert_null(jws_sign_text(f->p256, KID, NONCE, NULL, NULL));
}

/* What jws keeps on a key (its type, JWK, thumbprint, its signing
 * context) is the key's own: the same answers each time, a copy of the key
 * answers the same without sharing it (freed twice otherwise: the
 * sanitizers see that), and another key has another thumbprint and signs
 * as itself. */
static void
test_jws_memo(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *copy, *other;
	char *t1, *t2, *t3, *t4;
	json_t *j1, *j2;

	t1 = jws_thumbprint(f->p256);
	t2 = jws_thumbprint(f->p256);
	assert_non_null(t1);
	assert_string_equal(t1, t2);
	j1 = jws_jwk(f->p256);
	copy = EVP_PKEY_dup(f->p256);
	assert_non_null(copy);
	t3 = jws_thumbprint(copy);
	assert_string_equal(t1, t3);
	j2 = jws_jwk(copy);
	assert_true(json_equal(j1, j2));
	assert_ptr_not_equal(j1, j2);
	for (int i = 0; i < 3; i++) {
		json_t *a = jws_sign(f->p256, KID, NONCE, URL, NULL);
		json_t *b = jws_sign(copy, KID, NONCE, URL, NULL);

		assert_true(jws_verifies(a, f->p256, "ES256"));
		assert_true(jws_verifies(b, f->p256, "ES256"));
		json_decref(a);
		json_decref(b);
	}
	EVP_PKEY_free(copy);
	other = key_generate(KEY_TYPE_EC_P256);
	assert_non_null(other);
	t4 = jws_thumbprint(other);
	assert_string_not_equal(t1, t4);
	assert_string_equal(jws_alg(other), "ES256");
	for (int i = 0; i < 2; i++) {
		json_t *c = jws_sign(other, KID, NONCE, URL, NULL);

		assert_true(jws_verifies(c, other, "ES256"));
		assert_false(jws_verifies(c, f->p256, "ES256"));
		json_decref(c);
	}
	EVP_PKEY_free(other);
	json_decref(j1);
	json_decref(j2);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
}

static void
test_jws_sign_wrong_key_fails(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other;
	json_t *jws;

	other = key_generate(KEY_TYPE_EC_P256);
	assert_non_null(other);
	jws = jws_sign(f->p256, KID, NONCE, URL, "{}");
	assert_non_null(jws);
	assert_true(jws_verifies(jws, f->p256, "ES256"));
	assert_false(jws_verifies(jws, other, "ES256"));
	json_decref(jws);
	EVP_PKEY_free(other);
}

static void
check_eab(EVP_PKEY *account, const char *alg, const EVP_MD *md, size_t maclen)
{
	static const unsigned char hmac_key[] = "a secret hmac key from the ca, thirty-two+";
	json_t *jws, *protected, *payload, *jwk;
	unsigned char *sig;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t siglen;
	char input[8192], order[64];

	jws = jws_sign_eab(alg, "kid-1", hmac_key, sizeof(hmac_key) - 1, account, URL);
	assert_non_null(jws);
	assert_int_equal(json_object_size(jws), 3);

	protected = decode_json_member(jws, "protected");
	member_order(protected, order, sizeof(order));
	/* RFC 8555 section 7.3.4: no nonce. */
	assert_string_equal(order, "alg,kid,url");
	assert_string_equal(json_string_value(json_object_get(protected, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(protected, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(protected, "url")), URL);
	json_decref(protected);

	payload = decode_json_member(jws, "payload");
	jwk = jws_jwk(account);
	assert_true(json_equal(payload, jwk));
	json_decref(jwk);
	json_decref(payload);

	snprintf(input, sizeof(input), "%s.%s",
	         json_string_value(json_object_get(jws, "protected")),
	         json_string_value(json_object_get(jws, "payload")));
	assert_non_null(HMAC(md, hmac_key, (int)sizeof(hmac_key) - 1, (unsigned char *)input,
	                     strlen(input), mac, &mac_len));
	assert_int_equal(mac_len, maclen);
	sig = decode(json_string_value(json_object_get(jws, "signature")), &siglen);
	assert_int_equal(siglen, maclen);
	assert_memory_equal(sig, mac, maclen);
	free(sig);
	json_decref(jws);
}

static void
test_jws_sign_eab(void **state)
{
	struct fixture *f = *state;

	check_eab(f->p256, "HS256", EVP_sha256(), 32);
	check_eab(f->p384, "HS384", EVP_sha384(), 48);
	check_eab(f->rsa, "HS512", EVP_sha512(), 64);
}

static void
test_jws_sign_eab_rejects(void **state)
{
	struct fixture *f = *state;
	static const unsigned char k[] = "key";

	assert_null(jws_sign_eab("HS1", "kid", k, 3, f->p256, URL));
	assert_null(jws_sign_eab("RS256", "kid", k, 3, f->p256, URL));
	assert_null(jws_sign_eab("hs256", "kid", k, 3, f->p256, URL));
	assert_null(jws_sign_eab("none", "kid", k, 3, f->p256, URL));
	assert_null(jws_sign_eab(NULL, "kid", k, 3, f->p256, URL));
	assert_null(jws_sign_eab("HS256", NULL, k, 3, f->p256, URL));
	assert_null(jws_sign_eab("HS256", "kid", NULL, 3, f->p256, URL));
	assert_null(jws_sign_eab("HS256", "kid", k, 0, f->p256, URL));
	assert_null(jws_sign_eab("HS256", "kid", k, 3, NULL, URL));
	assert_null(jws_sign_eab("HS256", "kid", k, 3, f->p256, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_jws_rfc7638_thumbprint),
	        cmocka_unit_test(test_jws_key_authorization),
	        cmocka_unit_test(test_jws_ec_jwk_known_key),
	        cmocka_unit_test(test_jws_alg),
	        cmocka_unit_test(test_jws_ec_jwk),
	        cmocka_unit_test(test_jws_ec_jwk_padded),
	        cmocka_unit_test(test_jws_rsa_jwk),
	        cmocka_unit_test(test_jws_sign_es256),
	        cmocka_unit_test(test_jws_sign_es384),
	        cmocka_unit_test(test_jws_sign_rs256),
	        cmocka_unit_test(test_jws_sign_text),
	        cmocka_unit_test(test_jws_memo),
	        cmocka_unit_test(test_jws_sign_wrong_key_fails),
	        cmocka_unit_test(test_jws_sign_eab),
	        cmocka_unit_test(test_jws_sign_eab_rejects),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
