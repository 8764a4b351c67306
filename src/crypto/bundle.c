#include "crypto/bundle.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/key.h"

/* PBKDF2 and MAC iterations: OpenSSL's default (PKCS12_DEFAULT_ITER). */
#define BUNDLE_ITER 2048

char *
bundle_combined(EVP_PKEY *key, const char *fullchain, size_t len, size_t *out_len)
{
	size_t key_len = 0;
	char *key_pem = key_to_pem(key, &key_len);
	char *out = NULL;

	if (key_pem == NULL) {
		log_error("the key cannot be encoded for combined.pem");
		goto out;
	}
	out = malloc(key_len + len + 1);
	if (out == NULL) {
		log_error("out of memory");
		goto out;
	}
	memcpy(out, key_pem, key_len);
	memcpy(out + key_len, fullchain, len);
	out[key_len + len] = '\0';
	*out_len = key_len + len;
out:
	if (key_pem != NULL) {
		key_pem_free(key_pem, key_len);
	}
	return out;
}

unsigned char *
bundle_pkcs12(EVP_PKEY *key, struct cert_chain *chain, const char *name, const char *password,
              size_t *out_len)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	unsigned char *out = NULL;
	int n = 0;

	if (cas == NULL || cert_chain_leaf(chain) == NULL) {
		log_error("PKCS#12: no certificate, or out of memory");
		goto out;
	}
	for (size_t i = 1; i < chain->n; i++) {
		if (sk_X509_push(cas, chain->certs[i]) <= 0) {
			log_openssl("PKCS#12: the chain");
			goto out;
		}
	}
	/* The algorithms are named rather than left to the library's
	 * defaults, which were RC2 and 3DES with a SHA-1 MAC before OpenSSL
	 * 3.0; mac_iter -1: no MAC yet, it is set with SHA-256 below. */
	p12 = PKCS12_create(password, name, key, cert_chain_leaf(chain), cas, NID_aes_256_cbc,
	                    NID_aes_256_cbc, BUNDLE_ITER, -1, 0);
	if (p12 == NULL) {
		log_openssl("PKCS#12: PKCS12_create");
		goto out;
	}
	if (PKCS12_set_mac(p12, password, -1, NULL, 0, BUNDLE_ITER, EVP_sha256()) != 1) {
		log_openssl("PKCS#12: PKCS12_set_mac");
		goto out;
	}
	n = i2d_PKCS12(p12, &der);
	if (n <= 0) {
		log_openssl("PKCS#12: i2d_PKCS12");
		goto out;
	}
	out = malloc((size_t)n);
	if (out == NULL) {
		log_error("out of memory");
		goto out;
	}
	memcpy(out, der, (size_t)n);
	*out_len = (size_t)n;
out:
	if (der != NULL) {
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	}
	PKCS12_free(p12);
	/* The certificates are chain's: only the stack goes. */
	sk_X509_free(cas);
	return out;
}

void
bundle_free(void *buf, size_t len)
{
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}
