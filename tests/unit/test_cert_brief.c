/* cert_brief must read what the full parse (cert.h) reads, for every key
 * type acmed makes, and tell a set's key and issuer apart from others. */
#include "crypto/cert_brief.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/cert.h"
#include "crypto/key.h"
#include "pki.h"

/* Two keys of every type, made once: an RSA 4096 key takes a minute to
 * make under valgrind, and no case needs a key of its own. */
static EVP_PKEY *keys[KEY_TYPE__MAX][2];

static int
make_keys(void **state)
{
	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		for (int i = 0; i < 2; i++) {
			keys[t][i] = key_generate((enum key_type)t);
			if (keys[t][i] == NULL)
				return -1;
		}
	}
	return 0;
}

static int
free_keys(void **state)
{
	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		for (int i = 0; i < 2; i++)
			EVP_PKEY_free(keys[t][i]);
	}
	return 0;
}

static struct cert_brief *
brief_of(X509 *x)
{
	size_t len;
	char *pem = pki_pem(x, &len);
	struct cert_brief *b = cert_brief_read(pem, len);

	free(pem);
	assert_non_null(b);
	return b;
}

/* Every fact against cert.h's, for a leaf of key. */
static void
same_facts(EVP_PKEY *key, const char *san)
{
	struct pki ca;
	time_t now = time(NULL);
	X509 *leaf;
	struct cert_brief *b;
	time_t nb1, na1, nb2, na2;
	struct ident *ids1, *ids2;
	size_t n1, n2;
	char *a1, *a2;
	enum key_type t1, t2;

	pki_init(&ca);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, san, now - PKI_DAY, now + 90 * PKI_DAY,
	                false);
	b = brief_of(leaf);
	assert_int_equal(cert_validity(leaf, &nb1, &na1), 0);
	assert_int_equal(cert_brief_times(b, &nb2, &na2), 0);
	assert_int_equal(nb1, nb2);
	assert_int_equal(na1, na2);
	assert_int_equal(cert_ids(leaf, &ids1, &n1), 0);
	assert_int_equal(cert_brief_ids(b, &ids2, &n2), 0);
	assert_int_equal(n1, n2);
	for (size_t i = 0; i < n1; i++) {
		assert_int_equal(ids1[i].type, ids2[i].type);
		assert_string_equal(ids1[i].value, ids2[i].value);
	}
	ident_list_free(ids1, n1);
	ident_list_free(ids2, n2);
	a1 = cert_ari_id(leaf);
	a2 = cert_brief_ari_id(b);
	assert_non_null(a1);
	assert_string_equal(a1, a2);
	free(a1);
	free(a2);
	a1 = cert_issuer_name(leaf);
	a2 = cert_brief_issuer_name(b);
	assert_string_equal(a1, a2);
	free(a1);
	free(a2);
	assert_int_equal(key_type_of(key, &t1), 0);
	assert_int_equal(cert_brief_key_type(b, &t2), 0);
	assert_int_equal(t1, t2);
	assert_true(cert_brief_issued_by(b, ca.cert));
	cert_brief_free(b);
	X509_free(leaf);
	pki_finish(&ca);
}

static void
test_facts_each_key_type(void **state)
{
	for (int t = 0; t < KEY_TYPE__MAX; t++)
		same_facts(keys[t][0], "DNS:a.example,DNS:b.example,IP:192.0.2.7");
}

static void
test_no_san(void **state)
{
	struct pki ca;
	EVP_PKEY *key = pki_key();
	time_t now = time(NULL);
	X509 *leaf;
	struct cert_brief *b;
	struct ident *ids = NULL;
	size_t n = 1;

	pki_init(&ca);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, NULL, now, now + PKI_DAY, false);
	b = brief_of(leaf);
	assert_int_equal(cert_brief_ids(b, &ids, &n), 0);
	assert_int_equal(n, 0);
	cert_brief_free(b);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_finish(&ca);
}

/* A key is its certificate's whether it carries its public part or not;
 * another key of the same type never is. */
static void
test_key_is(void **state)
{
	struct pki ca;
	time_t now = time(NULL);

	pki_init(&ca);
	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		EVP_PKEY *key = keys[t][0];
		EVP_PKEY *other = keys[t][1];
		X509 *leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now,
		                      now + PKI_DAY, false);
		struct cert_brief *b = brief_of(leaf);
		size_t len, olen;
		char *pem = key_to_pem(key, &len);
		char *opem = key_to_pem(other, &olen);

		assert_non_null(pem);
		assert_int_equal(cert_brief_key_is(b, pem, len), 1);
		assert_int_equal(cert_brief_key_is(b, opem, olen), 0);
		assert_int_equal(cert_brief_key_is(b, "not a key", 9), -1);
		key_pem_free(pem, len);
		key_pem_free(opem, olen);
		cert_brief_free(b);
		X509_free(leaf);
	}
	pki_finish(&ca);
}

/* An EC key written without its public part (RFC 5915 allows it) is
 * decoded and compared by OpenSSL instead. */
static void
test_key_is_without_public_part(void **state)
{
	struct pki ca;
	EVP_PKEY *key = pki_key();
	time_t now = time(NULL);
	X509 *leaf;
	struct cert_brief *b;
	OSSL_PARAM params[2];
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int include = 0;

	pki_init(&ca);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now, now + PKI_DAY, false);
	b = brief_of(leaf);
	params[0] = OSSL_PARAM_construct_int("include-public", &include);
	params[1] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_PKEY_set_params(key, params), 1);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	assert_true(len > 0);
	assert_int_equal(cert_brief_key_is(b, data, (size_t)len), 1);
	BIO_free(bio);
	cert_brief_free(b);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_finish(&ca);
}

static void
test_issued_by(void **state)
{
	struct pki ca, other;
	EVP_PKEY *key = pki_key();
	time_t now = time(NULL);
	X509 *leaf;
	struct cert_brief *b;

	pki_init(&ca);
	pki_init(&other);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now, now + PKI_DAY, false);
	b = brief_of(leaf);
	assert_true(cert_brief_issued_by(b, ca.cert));
	/* Same name (pki_init names every CA alike), another key: the key
	 * identifiers tell them apart. */
	assert_false(cert_brief_issued_by(b, other.cert));
	assert_false(cert_brief_issued_by(b, leaf));
	assert_false(cert_brief_issued_by(b, NULL));
	cert_brief_free(b);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_finish(&other);
	pki_finish(&ca);
}

static void
test_not_a_certificate(void **state)
{
	static const char garbage[] =
	        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	EVP_PKEY *key = pki_key();
	size_t len;
	char *pem = key_to_pem(key, &len);

	assert_null(cert_brief_read(garbage, sizeof(garbage) - 1));
	assert_null(cert_brief_read("", 0));
	assert_null(cert_brief_read(NULL, 0));
	assert_null(cert_brief_read(pem, len));
	key_pem_free(pem, len);
	EVP_PKEY_free(key);
}

/* The DER of x (OPENSSL_free). */
static unsigned char *
der_of(X509 *x, long *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = n;
	return der;
}

/* The leaf read from its DER is the same certificate in every form: its
 * DER, the full X509 made from it, a second read. */
static void
test_from_der(void **state)
{
	struct pki ca;
	EVP_PKEY *key = pki_key();
	time_t now = time(NULL);
	X509 *leaf, *full;
	struct cert_brief *b, *again;
	unsigned char *der, *longer;
	const unsigned char *kept;
	size_t kept_len;
	long len;

	pki_init(&ca);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now, now + PKI_DAY, false);
	der = der_of(leaf, &len);
	b = cert_brief_from_der(der, len);
	assert_non_null(b);
	kept = cert_brief_der(b, &kept_len);
	assert_int_equal(kept_len, len);
	assert_memory_equal(kept, der, kept_len);
	full = cert_brief_to_x509(b);
	assert_non_null(full);
	assert_int_equal(X509_cmp(full, leaf), 0);
	again = brief_of(leaf);
	assert_true(cert_brief_same(b, again));
	assert_int_equal(X509_NAME_cmp(cert_brief_issuer(b), X509_get_issuer_name(leaf)), 0);
	assert_int_equal(X509_NAME_cmp(cert_brief_subject(b), X509_get_subject_name(leaf)), 0);
	/* Anything after the certificate: not a certificate. */
	longer = OPENSSL_malloc((size_t)len + 1);
	assert_non_null(longer);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0;
	assert_null(cert_brief_from_der(longer, len + 1));
	assert_null(cert_brief_from_der(der, len - 1));
	assert_null(cert_brief_from_der(NULL, len));
	OPENSSL_free(longer);
	cert_brief_free(again);
	X509_free(full);
	cert_brief_free(b);
	OPENSSL_free(der);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_finish(&ca);
}

/* Each key type: the certificate's own key, loaded again from its PEM
 * too, is its key; another key of the same or another type is not. */
static void
test_key_eq(void **state)
{
	struct pki ca;
	time_t now = time(NULL);

	pki_init(&ca);
	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		EVP_PKEY *key = keys[t][0];
		EVP_PKEY *other = keys[t][1];
		EVP_PKEY *another = keys[(t + 1) % KEY_TYPE__MAX][0];
		X509 *leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now,
		                      now + PKI_DAY, false);
		struct cert_brief *b = brief_of(leaf);
		size_t len;
		char *pem = key_to_pem(key, &len);
		EVP_PKEY *loaded = key_from_pem_as(pem, len, NULL);

		assert_non_null(loaded);
		assert_int_equal(cert_brief_key_eq(b, key), 1);
		assert_int_equal(cert_brief_key_eq(b, loaded), 1);
		assert_int_equal(cert_brief_key_eq(b, other), 0);
		assert_int_equal(cert_brief_key_eq(b, another), 0);
		assert_int_equal(cert_brief_key_eq(b, NULL), 0);
		EVP_PKEY_free(loaded);
		key_pem_free(pem, len);
		cert_brief_free(b);
		X509_free(leaf);
	}
	pki_finish(&ca);
}

/* A certificate whose EC point is written compressed: not the bytes the
 * key's own encoding gives, and still the same key. */
static void
test_key_eq_compressed_point(void **state)
{
	struct pki ca;
	time_t now = time(NULL);
	EVP_PKEY *key = pki_key();
	EVP_PKEY *compressed = EVP_PKEY_dup(key);
	EVP_PKEY *other = pki_key();
	X509 *leaf;
	struct cert_brief *b;
	unsigned char *der = NULL;
	int n;

	pki_init(&ca);
	assert_non_null(compressed);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(
	                         compressed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	                         OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
	                 1);
	leaf = pki_cert(compressed, "leaf", ca.cert, ca.key, "DNS:a.example", now, now + PKI_DAY,
	                false);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
	/* 0x02 or 0x03 then x: 33 bytes, in a 59-byte SubjectPublicKeyInfo. */
	assert_int_equal(n, 59);
	b = brief_of(leaf);
	assert_int_equal(cert_brief_key_eq(b, key), 1);
	assert_int_equal(cert_brief_key_eq(b, other), 0);
	cert_brief_free(b);
	OPENSSL_free(der);
	X509_free(leaf);
	EVP_PKEY_free(other);
	EVP_PKEY_free(compressed);
	EVP_PKEY_free(key);
	pki_finish(&ca);
}

/* The signature check agrees with X509_verify: the issuer's key verifies
 * it, a CA of the same name with another key (EC or RSA) does not, and
 * neither does a signature changed by one bit. */
static void
test_signed_by(void **state)
{
	struct pki ca, other;
	EVP_PKEY *key = pki_key();
	EVP_PKEY *rsa = keys[KEY_TYPE_RSA_2048][0];
	time_t now = time(NULL);
	X509 *leaf, *rsa_ca, *rsa_leaf;
	struct cert_brief *b, *rb, *bent;
	unsigned char *der;
	long len;

	pki_init(&ca);
	pki_init(&other);
	leaf = pki_cert(key, "leaf", ca.cert, ca.key, "DNS:a.example", now, now + PKI_DAY, false);
	b = brief_of(leaf);
	assert_true(cert_brief_signed_by(b, ca.cert));
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(ca.cert)), 1);
	assert_false(cert_brief_signed_by(b, other.cert));
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(other.cert)), 0);
	assert_false(cert_brief_signed_by(b, NULL));
	ERR_clear_error();

	rsa_ca = pki_cert(rsa, "rsa ca", NULL, rsa, NULL, now, now + PKI_DAY, true);
	rsa_leaf = pki_cert(key, "leaf", rsa_ca, rsa, "DNS:a.example", now, now + PKI_DAY, false);
	rb = brief_of(rsa_leaf);
	assert_true(cert_brief_signed_by(rb, rsa_ca));
	assert_false(cert_brief_signed_by(rb, ca.cert));
	assert_false(cert_brief_signed_by(b, rsa_ca));

	der = der_of(leaf, &len);
	der[len - 1] ^= 0x01;
	bent = cert_brief_from_der(der, len);
	if (bent != NULL) {
		/* The last byte is the signature's: it still parses. */
		assert_false(cert_brief_signed_by(bent, ca.cert));
	}
	cert_brief_free(bent);
	OPENSSL_free(der);
	cert_brief_free(rb);
	X509_free(rsa_leaf);
	X509_free(rsa_ca);
	cert_brief_free(b);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_finish(&other);
	pki_finish(&ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_facts_each_key_type),
	        cmocka_unit_test(test_no_san),
	        cmocka_unit_test(test_key_is),
	        cmocka_unit_test(test_key_is_without_public_part),
	        cmocka_unit_test(test_issued_by),
	        cmocka_unit_test(test_not_a_certificate),
	        cmocka_unit_test(test_from_der),
	        cmocka_unit_test(test_key_eq),
	        cmocka_unit_test(test_key_eq_compressed_point),
	        cmocka_unit_test(test_signed_by),
	};

	return cmocka_run_group_tests(tests, make_keys, free_keys);
}
