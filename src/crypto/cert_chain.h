/* Certificates from PEM text: the chain a CA sends and the checks before
 * anything is installed (RFC 8555 section 11.4), the issuers of an
 * installed set, a certificate file. */
#ifndef ACMED_CERT_CHAIN_H
#define ACMED_CERT_CHAIN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

#include "base/ident.h"
#include "crypto/cert_brief.h"

#define CERT_MAX_CHAIN 16

/* A parsed chain: leaf first. cert_chain_parse reads the leaf as a brief
 * (its public key not decoded: OpenSSL 3.0 looks through its provider
 * decoders for it, most of the cost of a parse) and leaves certs[0] NULL
 * until cert_chain_leaf asks for the X509; the issuers are X509s from
 * certs[1] on. cert_issuers_parse fills certs[0..n) and no leaf. */
struct cert_chain {
	X509 *certs[CERT_MAX_CHAIN];
	struct cert_brief *leaf;
	size_t n;
};

/* Splits a PEM text of len bytes into certificates. Only CERTIFICATE blocks
 * are allowed, with nothing but whitespace between them; at least one, at
 * most CERT_MAX_CHAIN. Returns 0, or -1 with the reason in err. */
int cert_chain_parse(const char *pem, size_t len, struct cert_chain *chain, char *err,
                     size_t errlen);

/* The same for a text of issuers only (a chain.pem): every certificate is
 * parsed once for all the texts that hold it (the last few are kept) and
 * shared, read-only. */
int cert_issuers_parse(const char *pem, size_t len, struct cert_chain *chain, char *err,
                       size_t errlen);

/* The leaf of a cert_chain_parse chain as an X509 (borrowed, parsed in full
 * on the first call and kept in certs[0]). NULL when there is none or
 * out of memory. */
X509 *cert_chain_leaf(struct cert_chain *chain);

void cert_chain_finish(struct cert_chain *chain);

/* The checks before install: the leaf's public key is key's, its names
 * (SAN dNSName and iPAddress, case-insensitive) are exactly ids, notAfter is
 * after now, and each certificate is signed by the next one. Returns 0, or -1
 * with the reason in err. */
int cert_chain_check(const struct cert_chain *chain, EVP_PKEY *key, const struct ident *ids,
                     size_t n_ids, time_t now, char *err, size_t errlen);

/* chain->certs[from] up to (not including) certs[to] as one PEM text (""
 * when none: a leaf's issuers when the CA sent it alone). New
 * NUL-terminated string (free()), its length in *len, or NULL when out of
 * memory. */
char *cert_chain_pem(const struct cert_chain *chain, size_t from, size_t to, size_t *len);

/* Loads the first certificate of a PEM file. New X509 or NULL (not logged;
 * errno-like reason in err). */
X509 *cert_load(const char *path, char *err, size_t errlen);

#endif
