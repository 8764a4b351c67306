/* cert_brief must read what the full parse (cert.h) reads, for every key
 * type acmed makes, and tell a set's key and issuer apart from others. */
#include "crypto/cert_brief.h"

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
	for (int t = 0; t < KEY_TYPE__MAX; t++) {
		EVP_PKEY *key = key_generate((enum key_type)t);

		assert_non_null(key);
		same_facts(key, "DNS:a.example,DNS:b.example,IP:192.0.2.7");
		EVP_PKEY_free(key);
	}
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
		EVP_PKEY *key = key_generate((enum key_type)t);
		EVP_PKEY *other = key_generate((enum key_type)t);
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
		EVP_PKEY_free(other);
		EVP_PKEY_free(key);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
