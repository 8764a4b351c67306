/* A small CA for the unit tests, made in-process with OpenSSL 3: its key
 * and self-signed certificate, and leaves it issues for a key and names, as
 * the PEM text a CA sends (leaf then issuer). Failures fail the test. */
#ifndef ACMED_TEST_PKI_H
#define ACMED_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define PKI_DAY (24L * 60 * 60)

struct pki {
	EVP_PKEY *key;
	X509 *cert;
};

/* A new CA valid from a day ago for ten years. */
void pki_init(struct pki *p);

void pki_finish(struct pki *p);

/* A new EC P-256 key (EVP_PKEY_free). */
EVP_PKEY *pki_key(void);

/* A certificate for key with subject CN=cn, issued by issuer with
 * issuer_key (self-signed when issuer is NULL), valid from not_before to
 * not_after, a CA or a leaf, with the subjectAltName san ("DNS:a,IP:1.2.3.4";
 * NULL for none) and key identifiers (X509_free). */
X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san,
               time_t not_before, time_t not_after, bool ca);

/* A leaf for key with the DNS names (n of them), valid from not_before to
 * not_after, issued by p (X509_free). */
X509 *pki_leaf(const struct pki *p, EVP_PKEY *key, const char *const *names, size_t n,
               time_t not_before, time_t not_after);

/* x as PEM, a new string (free()); its length in *len when not NULL. */
char *pki_pem(X509 *x, size_t *len);

/* The chain a CA sends for leaf: its PEM then the CA's. New string. */
char *pki_chain(const struct pki *p, X509 *leaf, size_t *len);

/* The n certificates as one PEM text, in order (a chain as a CA sends
 * it). New string; its length in *len when not NULL. */
char *pki_pem_list(X509 *const *certs, size_t n, size_t *len);

/* Installs certs/<name> under state_dir as the store does after an order:
 * key, a leaf for names valid from a day ago for days days, the CA as its
 * chain (store_cert_install). The leaf is returned when want_leaf is not
 * NULL. */
void pki_install(const struct pki *p, const char *state_dir, const char *name, EVP_PKEY *key,
                 const char *const *names, size_t n, long days, X509 **want_leaf);

#endif
