#include "crypto/jws.h"

#include "base/b64.h"
#include "crypto/jws_test.h"
#include "crypto/key.h"
#include "base/log.h"

#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest digest and the largest ECDSA coordinate acmed signs with. */
#define JWS_MD_MAX 64
#define JWS_EC_COORD_MAX 48

/* Signature algorithms per key type (RFC 7518 section 3.1). coord_len is the
 * size of an EC coordinate and of r and s in the JWS signature; 0 for RSA. */
static const struct {
	const char *alg;
	const char *digest;
	const char *crv;
	size_t coord_len;
} jws_algs[KEY_TYPE__MAX] = {
        [KEY_TYPE_EC_P256] = {"ES256", "SHA256", "P-256", 32},
        [KEY_TYPE_EC_P384] = {"ES384", "SHA384", "P-384", 48},
        [KEY_TYPE_RSA_2048] = {"RS256", "SHA256", NULL, 0},
        [KEY_TYPE_RSA_3072] = {"RS256", "SHA256", NULL, 0},
        [KEY_TYPE_RSA_4096] = {"RS256", "SHA256", NULL, 0},
};

/* MAC algorithms for external account binding, sorted by name. */
static const struct {
	const char *alg;
	const char *digest;
} jws_hmacs[] = {
        {"HS256", "SHA256"},
        {"HS384", "SHA384"},
        {"HS512", "SHA512"},
};

/* What jws derives from a key, kept on the key itself (OpenSSL ex_data)
 * for the key's lifetime: an order signs about 7 requests and makes a key
 * authorization with one account key, and OpenSSL 3.0 answers each query
 * of a key's parameters through its provider (profiled: the type and the
 * JWK were about 8% of an order's CPU). */
struct jws_memo {
	int type_rc; /* key_type_of()'s answer */
	enum key_type type;
	json_t *jwk; /* NULL until asked for */
	char *thumb; /* NULL until asked for */
	/* Set up for signing once (EVP_DigestSignInit_ex looks the algorithm
	 * up among the providers: an eighth of an ECDSA signature in OpenSSL
	 * 3.0) and copied for each signature; over a copy of the key, so that
	 * the key's own references do not hold it. NULL until asked for. */
	EVP_MD_CTX *sign_ctx;
};

static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static int memo_index = -1;

static void
memo_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct jws_memo *m = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (m != NULL) {
		json_decref(m->jwk);
		free(m->thumb);
		EVP_MD_CTX_free(m->sign_ctx);
		free(m);
	}
}

/* A copy of a key (EVP_PKEY_dup) starts without a memo: never two owners. */
static int
memo_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl,
         void *argp)
{
	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	*from_d = NULL;
	return 1;
}

static void
memo_init(void)
{
	memo_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, NULL, NULL, memo_dup,
	                                     memo_free);
}

/* The key's memo, made on first use (its type known, the rest empty).
 * NULL when out of memory. Callers fill the rest under memo_lock. */
static struct jws_memo *
memo_of(EVP_PKEY *key)
{
	struct jws_memo *m = NULL;

	pthread_once(&memo_once, memo_init);
	if (memo_index < 0) {
		goto out;
	}
	m = EVP_PKEY_get_ex_data(key, memo_index);
	if (m != NULL) {
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		goto out;
	}
	m->type_rc = key_type_of(key, &m->type);
	if (EVP_PKEY_set_ex_data(key, memo_index, m) != 1) {
		free(m);
		m = NULL;
	}
out:
	return m;
}

/* The key's type as key_type_of() gives it, remembered on the key. */
static int
memo_type(EVP_PKEY *key, enum key_type *type)
{
	struct jws_memo *m;
	int rc = -1;

	if (key == NULL) {
		goto out;
	}
	pthread_mutex_lock(&memo_lock);
	m = memo_of(key);
	if (m != NULL) {
		rc = m->type_rc;
		*type = m->type;
	}
	pthread_mutex_unlock(&memo_lock);
	if (m == NULL) {
		rc = key_type_of(key, type);
	}
out:
	return rc;
}

const char *
jws_alg(EVP_PKEY *key)
{
	enum key_type type;
	const char *alg = NULL;

	if (memo_type(key, &type) == 0) {
		alg = jws_algs[type].alg;
	}
	return alg;
}

/* base64url of a big-endian BIGNUM parameter of key, left-padded with zeros
 * to pad bytes, or as short as possible when pad is 0. New string or NULL. */
static char *
bn_param_b64(EVP_PKEY *key, const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	char *b64 = NULL;
	int n;
	size_t len;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) {
		log_openssl("jws: jwk: cannot read %s", param);
		goto out;
	}
	n = BN_num_bytes(bn);
	if (n <= 0 || (pad != 0 && (size_t)n > pad)) {
		log_error("jws: jwk: bad %s", param);
		goto out;
	}
	len = pad != 0 ? pad : (size_t)n;
	buf = malloc(len);
	if (buf == NULL) {
		goto out;
	}
	if (BN_bn2binpad(bn, buf, (int)len) != (int)len) {
		log_openssl("jws: jwk: cannot encode %s", param);
		goto out;
	}
	b64 = b64_encode(buf, len);
out:
	free(buf);
	BN_free(bn);
	return b64;
}

/* The JWK of key, of the type key_type_of() found (type_rc its answer),
 * built from its parameters. New reference or NULL. */
static json_t *
jwk_build(EVP_PKEY *key, int type_rc, enum key_type type)
{
	char *a = NULL, *b = NULL;
	json_t *jwk = NULL;

	if (type_rc != 0) {
		log_error("jws: jwk: unsupported key type");
		goto out;
	}
	if (jws_algs[type].crv != NULL) {
		/* RFC 7518 section 6.2.1.2: x and y are the full coordinate
		 * size, leading zeros included. */
		a = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, jws_algs[type].coord_len);
		b = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, jws_algs[type].coord_len);
		if (a == NULL || b == NULL) {
			goto out;
		}
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", jws_algs[type].crv, "kty", "EC", "x",
		                a, "y", b);
	} else {
		/* RFC 7518 section 6.3.1: n and e without leading zeros. */
		a = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
		b = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N, 0);
		if (a == NULL || b == NULL) {
			goto out;
		}
		jwk = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
	}
out:
	free(a);
	free(b);
	return jwk;
}

json_t *
jws_jwk(EVP_PKEY *key)
{
	struct jws_memo *m;
	json_t *jwk = NULL;

	if (key == NULL) {
		goto out;
	}
	pthread_mutex_lock(&memo_lock);
	m = memo_of(key);
	if (m != NULL && m->jwk == NULL) {
		m->jwk = jwk_build(key, m->type_rc, m->type);
	}
	jwk = m != NULL ? json_incref(m->jwk) : NULL;
	pthread_mutex_unlock(&memo_lock);
	if (m == NULL) {
		enum key_type type = KEY_TYPE_EC_P256;
		int type_rc = key_type_of(key, &type);

		jwk = jwk_build(key, type_rc, type);
	}
out:
	return jwk;
}

/* The RFC 7638 thumbprint of key, computed. New string or NULL. */
static char *
thumbprint_build(EVP_PKEY *key)
{
	json_t *jwk = NULL;
	char *canon = NULL, *thumb = NULL;
	unsigned char md[JWS_MD_MAX];
	unsigned int mdlen = 0;

	jwk = jws_jwk(key);
	if (jwk == NULL) {
		goto out;
	}
	/* RFC 7638 section 3.2: the required members only, sorted, no
	 * whitespace; jws_jwk() returns exactly those. */
	canon = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (canon == NULL) {
		goto out;
	}
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) != 1) {
		log_openssl("jws: thumbprint: sha-256 failed");
		goto out;
	}
	thumb = b64_encode(md, mdlen);
out:
	free(canon);
	json_decref(jwk);
	return thumb;
}

char *
jws_thumbprint(EVP_PKEY *key)
{
	struct jws_memo *m = NULL;
	char *thumb = NULL;

	if (key == NULL) {
		goto out;
	}
	pthread_mutex_lock(&memo_lock);
	m = memo_of(key);
	if (m != NULL && m->thumb != NULL) {
		thumb = strdup(m->thumb);
	}
	pthread_mutex_unlock(&memo_lock);
	if (thumb != NULL) {
		goto out;
	}
	thumb = thumbprint_build(key);
	if (m != NULL && thumb != NULL) {
		/* m lives as long as the key the caller holds. */
		pthread_mutex_lock(&memo_lock);
		if (m->thumb == NULL) {
			m->thumb = strdup(thumb);
		}
		pthread_mutex_unlock(&memo_lock);
	}
out:
	return thumb;
}

/* Concatenates a, ".", b. New string or NULL. */
static char *
join_dot(const char *a, const char *b)
{
	size_t alen, blen;
	char *s = NULL;

	alen = strlen(a);
	blen = strlen(b);
	if (alen > SIZE_MAX - 2 - blen) {
		goto out;
	}
	s = malloc(alen + blen + 2);
	if (s == NULL) {
		goto out;
	}
	memcpy(s, a, alen);
	s[alen] = '.';
	memcpy(s + alen + 1, b, blen + 1);
out:
	return s;
}

char *
jws_key_authorization(EVP_PKEY *key, const char *token)
{
	char *thumb = NULL, *ka = NULL;

	if (token == NULL || token[0] == '\0') {
		goto out;
	}
	thumb = jws_thumbprint(key);
	if (thumb == NULL) {
		goto out;
	}
	ka = join_dot(token, thumb);
out:
	free(thumb);
	return ka;
}

/* base64url of the compact JSON text of obj. New string or NULL. */
static char *
json_b64(const json_t *obj)
{
	char *text = NULL, *b64 = NULL;

	text = json_dumps(obj, JSON_COMPACT);
	if (text == NULL) {
		goto out;
	}
	b64 = b64_encode(text, strlen(text));
out:
	free(text);
	return b64;
}

/* RFC 7518 section 3.4: the JWS signature is r || s, each left-padded to the
 * coordinate size, where OpenSSL gives DER. Writes 2 * coord_len bytes to
 * out. Returns 0 or -1. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t coord_len, unsigned char *out)
{
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r = NULL, *s = NULL;
	const unsigned char *p = der;
	int rc = -1;

	if (derlen > LONG_MAX) {
		goto out;
	}
	sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (sig == NULL) {
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)coord_len) != (int)coord_len ||
	    BN_bn2binpad(s, out + coord_len, (int)coord_len) != (int)coord_len) {
		goto out;
	}
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	return rc;
}

/* A context ready to sign with key: a copy of the one its memo keeps, or
 * one set up here when there is no memo. New context or NULL. */
static EVP_MD_CTX *
sign_ctx_of(EVP_PKEY *key, enum key_type type)
{
	const char *digest = jws_algs[type].digest;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *made = NULL;
	EVP_PKEY *own = NULL;
	struct jws_memo *m;
	bool copied = false;

	if (ctx == NULL) {
		goto out;
	}
	pthread_mutex_lock(&memo_lock);
	m = memo_of(key);
	if (m != NULL && m->sign_ctx == NULL) {
		own = EVP_PKEY_dup(key);
		made = EVP_MD_CTX_new();
		if (own != NULL && made != NULL &&
		    EVP_DigestSignInit_ex(made, NULL, digest, NULL, NULL, own, NULL) == 1) {
			m->sign_ctx = made;
			made = NULL;
		}
	}
	copied = m != NULL && m->sign_ctx != NULL && EVP_MD_CTX_copy_ex(ctx, m->sign_ctx) == 1;
	pthread_mutex_unlock(&memo_lock);
	if (!copied && EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, key, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
out:
	EVP_MD_CTX_free(made);
	EVP_PKEY_free(own);
	return ctx;
}

/* Signs input with key. Returns the base64url signature (new string) or NULL
 * (logged). */
static char *
sign_b64(EVP_PKEY *key, enum key_type type, const char *input)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	unsigned char raw[2 * JWS_EC_COORD_MAX];
	size_t siglen = 0;
	char *b64 = NULL;

	ctx = sign_ctx_of(key, type);
	if (ctx == NULL) {
		log_openssl("jws: sign %s: cannot start", jws_algs[type].alg);
		goto out;
	}
	if (EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		log_openssl("jws: sign %s: cannot start", jws_algs[type].alg);
		goto out;
	}
	sig = malloc(siglen);
	if (sig == NULL) {
		log_error("jws: sign: out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		log_openssl("jws: sign %s: failed", jws_algs[type].alg);
		goto out;
	}
	if (jws_algs[type].coord_len != 0) {
		if (ecdsa_der_to_raw(sig, siglen, jws_algs[type].coord_len, raw) != 0) {
			log_openssl("jws: sign %s: bad ecdsa signature", jws_algs[type].alg);
			goto out;
		}
		b64 = b64_encode(raw, 2 * jws_algs[type].coord_len);
	} else {
		b64 = b64_encode(sig, siglen);
	}
	if (b64 == NULL) {
		log_error("jws: sign: out of memory");
	}
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return b64;
}

/* A signed request's three base64url parts. */
struct jws_parts {
	char *protected_b64;
	char *payload_b64;
	char *sig_b64;
};

static void
parts_clear(struct jws_parts *p)
{
	free(p->protected_b64);
	free(p->payload_b64);
	free(p->sig_b64);
	memset(p, 0, sizeof(*p));
}

/* Signs as jws_sign() says. Returns 0, or -1 (logged; parts cleared). */
static int
sign_parts(EVP_PKEY *key, const char *kid, const char *nonce, const char *url, const char *payload,
           struct jws_parts *parts)
{
	enum key_type type;
	json_t *jwk = NULL, *protected = NULL;
	char *input = NULL;
	int rc = -1;

	memset(parts, 0, sizeof(*parts));
	if (url == NULL) {
		log_error("jws: sign: no url");
		goto out;
	}
	if (memo_type(key, &type) != 0) {
		log_error("jws: sign %s: unsupported key type", url);
		goto out;
	}
	/* RFC 8555 section 6.2: kid once the account exists, jwk before. */
	if (kid == NULL) {
		jwk = jws_jwk(key);
		if (jwk == NULL) {
			log_error("jws: sign %s: no jwk", url);
			goto out;
		}
	}
	protected = json_pack("{s:s, s:s*, s:O*, s:s*, s:s}", "alg", jws_algs[type].alg, "kid", kid,
	                      "jwk", jwk, "nonce", nonce, "url", url);
	if (protected == NULL) {
		log_error("jws: sign %s: cannot build the protected header", url);
		goto out;
	}
	parts->protected_b64 = json_b64(protected);
	/* RFC 8555 section 6.3: POST-as-GET has an empty payload. */
	parts->payload_b64 =
	        b64_encode(payload != NULL ? payload : "", payload != NULL ? strlen(payload) : 0);
	if (parts->protected_b64 == NULL || parts->payload_b64 == NULL) {
		log_error("jws: sign %s: out of memory", url);
		goto out;
	}
	input = join_dot(parts->protected_b64, parts->payload_b64);
	if (input == NULL) {
		log_error("jws: sign %s: out of memory", url);
		goto out;
	}
	parts->sig_b64 = sign_b64(key, type, input);
	if (parts->sig_b64 == NULL) {
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		parts_clear(parts);
	}
	free(input);
	json_decref(protected);
	json_decref(jwk);
	return rc;
}

json_t *
jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url, const char *payload)
{
	struct jws_parts parts;
	json_t *jws = NULL;

	if (sign_parts(key, kid, nonce, url, payload, &parts) != 0) {
		goto out;
	}
	jws = json_pack("{s:s, s:s, s:s}", "protected", parts.protected_b64, "payload",
	                parts.payload_b64, "signature", parts.sig_b64);
	if (jws == NULL) {
		log_error("jws: sign %s: out of memory", url);
	}
out:
	parts_clear(&parts);
	return jws;
}

char *
jws_sign_text(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
              const char *payload)
{
	static const char fmt[] = "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}";
	struct jws_parts parts;
	char *text = NULL;
	size_t n;

	if (sign_parts(key, kid, nonce, url, payload, &parts) != 0) {
		goto out;
	}
	/* The three parts are base64url: nothing in them needs escaping. */
	n = sizeof(fmt) + strlen(parts.protected_b64) + strlen(parts.payload_b64) +
	    strlen(parts.sig_b64);
	text = malloc(n);
	if (text == NULL) {
		log_error("jws: sign %s: out of memory", url);
		goto out;
	}
	snprintf(text, n, fmt, parts.protected_b64, parts.payload_b64, parts.sig_b64);
out:
	parts_clear(&parts);
	return text;
}

json_t *
jws_sign_eab(const char *alg, const char *kid, const unsigned char *hmac_key, size_t hmac_key_len,
             EVP_PKEY *account_key, const char *url)
{
	const char *digest = NULL;
	json_t *jwk = NULL, *protected = NULL, *jws = NULL;
	char *protected_b64 = NULL, *payload_b64 = NULL, *input = NULL, *sig_b64 = NULL;
	unsigned char mac[JWS_MD_MAX];
	size_t maclen = 0;
	size_t i;

	if (alg == NULL || kid == NULL || url == NULL || hmac_key == NULL || hmac_key_len == 0) {
		log_error("jws: eab: missing alg, key id, hmac key or url");
		goto out;
	}
	for (i = 0; i < sizeof(jws_hmacs) / sizeof(jws_hmacs[0]); i++) {
		if (strcmp(alg, jws_hmacs[i].alg) == 0) {
			digest = jws_hmacs[i].digest;
			break;
		}
	}
	if (digest == NULL) {
		log_error("jws: eab: unsupported mac algorithm %s: use HS256, HS384 or HS512", alg);
		goto out;
	}
	jwk = jws_jwk(account_key);
	if (jwk == NULL) {
		log_error("jws: eab: no jwk for the account key");
		goto out;
	}
	/* RFC 8555 section 7.3.4: no nonce in the inner JWS. */
	protected = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", kid, "url", url);
	if (protected == NULL) {
		log_error("jws: eab: cannot build the protected header");
		goto out;
	}
	protected_b64 = json_b64(protected);
	payload_b64 = json_b64(jwk);
	if (protected_b64 == NULL || payload_b64 == NULL) {
		log_error("jws: eab: out of memory");
		goto out;
	}
	input = join_dot(protected_b64, payload_b64);
	if (input == NULL) {
		log_error("jws: eab: out of memory");
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, hmac_key, hmac_key_len,
	              (const unsigned char *)input, strlen(input), mac, sizeof(mac),
	              &maclen) == NULL) {
		log_openssl("jws: eab: %s failed", alg);
		goto out;
	}
	sig_b64 = b64_encode(mac, maclen);
	if (sig_b64 == NULL) {
		log_error("jws: eab: out of memory");
		goto out;
	}
	jws = json_pack("{s:s, s:s, s:s}", "protected", protected_b64, "payload", payload_b64,
	                "signature", sig_b64);
	if (jws == NULL) {
		log_error("jws: eab: out of memory");
	}
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(sig_b64);
	free(input);
	free(payload_b64);
	free(protected_b64);
	json_decref(protected);
	json_decref(jwk);
	return jws;
}
