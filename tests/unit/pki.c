#include "pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/key.h"
#include "store/store_cert.h"

EVP_PKEY *
pki_key(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(key);
	return key;
}

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);

	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

X509 *
pki_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san,
         time_t not_before, time_t not_after, bool ca)
{
	static long serial = 1000;
	X509V3_CTX ctx;
	X509_NAME *name;
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)cn, -1, -1, 0),
	                 1);
	assert_int_equal(
	        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), not_before));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (san != NULL) {
		add_ext(x, &ctx, NID_subject_alt_name, san);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

void
pki_init(struct pki *p)
{
	time_t now = time(NULL);

	p->key = pki_key();
	p->cert = pki_cert(p->key, "acmed test CA", NULL, p->key, NULL, now - PKI_DAY,
	                   now + 3650 * PKI_DAY, true);
}

void
pki_finish(struct pki *p)
{
	X509_free(p->cert);
	EVP_PKEY_free(p->key);
	p->cert = NULL;
	p->key = NULL;
}

X509 *
pki_leaf(const struct pki *p, EVP_PKEY *key, const char *const *names, size_t n, time_t not_before,
         time_t not_after)
{
	char san[2048] = "";
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(san + used, sizeof(san) - used, "%sDNS:%s", i > 0 ? "," : "",
		                 names[i]);

		assert_true(w > 0 && (size_t)w < sizeof(san) - used);
		used += (size_t)w;
	}
	return pki_cert(key, n > 0 ? names[0] : "leaf", p->cert, p->key, san, not_before, not_after,
	                false);
}

char *
pki_pem(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *out;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL) {
		*len = (size_t)n;
	}
	BIO_free(bio);
	return out;
}

char *
pki_chain(const struct pki *p, X509 *leaf, size_t *len)
{
	size_t leaf_len = 0;
	size_t ca_len = 0;
	char *one = pki_pem(leaf, &leaf_len);
	char *two = pki_pem(p->cert, &ca_len);
	char *out = malloc(leaf_len + ca_len + 1);

	assert_non_null(out);
	memcpy(out, one, leaf_len);
	memcpy(out + leaf_len, two, ca_len + 1);
	if (len != NULL) {
		*len = leaf_len + ca_len;
	}
	free(one);
	free(two);
	return out;
}

char *
pki_pem_list(X509 *const *certs, size_t n, size_t *len)
{
	char *out = NULL;
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l;
		char *p = pki_pem(certs[i], &l);

		out = realloc(out, used + l + 1);
		assert_non_null(out);
		memcpy(out + used, p, l);
		used += l;
		out[used] = '\0';
		free(p);
	}
	if (len != NULL) {
		*len = used;
	}
	return out;
}

void
pki_install(const struct pki *p, const char *state_dir, const char *name, EVP_PKEY *key,
            const char *const *names, size_t n, long days, X509 **want_leaf)
{
	time_t now = time(NULL);
	X509 *leaf = pki_leaf(p, key, names, n, now - PKI_DAY, now - PKI_DAY + days * PKI_DAY);
	struct store_cert_set set;
	char *key_pem;
	char *cert_pem;
	char *chain_pem;

	memset(&set, 0, sizeof(set));
	key_pem = key_to_pem(key, &set.key_len);
	assert_non_null(key_pem);
	cert_pem = pki_pem(leaf, &set.cert_len);
	chain_pem = pki_pem(p->cert, &set.chain_len);
	set.key_pem = key_pem;
	set.cert_pem = cert_pem;
	set.chain_pem = chain_pem;
	assert_int_equal(store_cert_install(state_dir, name, &set), 0);
	key_pem_free(key_pem, set.key_len);
	free(cert_pem);
	free(chain_pem);
	if (want_leaf != NULL) {
		*want_leaf = leaf;
	} else {
		X509_free(leaf);
	}
}
