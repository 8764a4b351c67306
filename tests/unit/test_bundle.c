#include "crypto/bundle.h"

#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "pki.h"

static const char *const names[] = {"example.com", "www.example.com"};

struct fixture {
	struct pki ca;
	EVP_PKEY *key;
	char *pem; /* leaf then the CA */
	size_t pem_len;
	struct cert_chain chain;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	time_t now = time(NULL);
	char err[256];
	X509 *leaf;

	assert_non_null(f);
	pki_init(&f->ca);
	f->key = pki_key();
	leaf = pki_leaf(&f->ca, f->key, names, 2, now - PKI_DAY, now + 90 * PKI_DAY);
	f->pem = pki_chain(&f->ca, leaf, &f->pem_len);
	X509_free(leaf);
	assert_int_equal(cert_chain_parse(f->pem, f->pem_len, &f->chain, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	cert_chain_finish(&f->chain);
	free(f->pem);
	EVP_PKEY_free(f->key);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

/* The key's PEM, as privkey.pem holds it, then the full chain unchanged. */
static void
test_combined(void **state)
{
	struct fixture *f = *state;
	size_t key_len = 0;
	size_t len = 0;
	char *key_pem = key_to_pem(f->key, &key_len);
	char *combined = bundle_combined(f->key, f->pem, f->pem_len, &len);
	EVP_PKEY *back;

	assert_non_null(key_pem);
	assert_non_null(combined);
	assert_int_equal(len, key_len + f->pem_len);
	assert_memory_equal(combined, key_pem, key_len);
	assert_memory_equal(combined + key_len, f->pem, f->pem_len);
	assert_int_equal(combined[len], '\0');
	back = key_from_pem(combined, len);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, f->key), 1);
	EVP_PKEY_free(back);
	key_pem_free(key_pem, key_len);
	bundle_free(combined, len);
}

/* Reads der back with password: the key, the leaf and the CA, and the
 * algorithms of OpenSSL 3's defaults (no RC2, no 3DES, no SHA-1 MAC). */
static void
check_pkcs12(struct fixture *f, const unsigned char *der, size_t len, const char *password)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	const X509_ALGOR *mac_alg = NULL;
	const ASN1_OBJECT *mac_obj = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *cas = NULL;

	assert_non_null(p12);
	assert_int_equal(PKCS12_mac_present(p12), 1);
	PKCS12_get0_mac(NULL, &mac_alg, NULL, NULL, p12);
	X509_ALGOR_get0(&mac_obj, NULL, NULL, mac_alg);
	assert_int_equal(OBJ_obj2nid(mac_obj), NID_sha256);
	assert_int_equal(PKCS12_verify_mac(p12, password, -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong", -1), 0);
	assert_int_equal(PKCS12_parse(p12, password, &key, &cert, &cas), 1);
	assert_int_equal(EVP_PKEY_eq(key, f->key), 1);
	assert_int_equal(X509_cmp(cert, cert_chain_leaf(&f->chain)), 0);
	assert_int_equal(sk_X509_num(cas), 1);
	assert_int_equal(X509_cmp(sk_X509_value(cas, 0), f->ca.cert), 0);
	sk_X509_pop_free(cas, X509_free);
	X509_free(cert);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
}

/* The encryption of both bags: PBES2 with AES-256-CBC. */
static void
check_pbes2(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	int encrypted = 0;

	assert_non_null(safes);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
			const X509_ALGOR *alg = p7->d.encrypted->enc_data->algorithm;
			const ASN1_OBJECT *obj = NULL;

			X509_ALGOR_get0(&obj, NULL, NULL, alg);
			assert_int_equal(OBJ_obj2nid(obj), NID_pbes2);
			encrypted++;
		}
	}
	assert_int_equal(encrypted, 1);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
}

static void
test_pkcs12(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	unsigned char *der = bundle_pkcs12(f->key, &f->chain, "www", "s3cret pass", &len);

	assert_non_null(der);
	assert_true(len > 0);
	check_pkcs12(f, der, len, "s3cret pass");
	check_pbes2(der, len);
	bundle_free(der, len);
}

/* No pkcs12-password-file: an empty password, which readers take. */
static void
test_pkcs12_empty_password(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	unsigned char *der = bundle_pkcs12(f->key, &f->chain, "www", "", &len);

	assert_non_null(der);
	check_pkcs12(f, der, len, "");
	bundle_free(der, len);
}

/* A CA sending the leaf alone: no CA certificates. */
static void
test_pkcs12_lone_leaf(void **state)
{
	struct fixture *f = *state;
	struct cert_chain one;
	const unsigned char *p;
	unsigned char *der;
	size_t len = 0;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *cas = NULL;

	/* The leaf parsed in f->chain first: the copy borrows it. */
	assert_non_null(cert_chain_leaf(&f->chain));
	one = f->chain;
	one.n = 1;
	der = bundle_pkcs12(f->key, &one, "www", "x", &len);
	assert_non_null(der);
	p = der;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	assert_int_equal(PKCS12_parse(p12, "x", &key, &cert, &cas), 1);
	assert_int_equal(cas == NULL ? 0 : sk_X509_num(cas), 0);
	sk_X509_pop_free(cas, X509_free);
	X509_free(cert);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
	bundle_free(der, len);
	bundle_free(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_combined),
	        cmocka_unit_test(test_pkcs12),
	        cmocka_unit_test(test_pkcs12_empty_password),
	        cmocka_unit_test(test_pkcs12_lone_leaf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
