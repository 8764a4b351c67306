/* Certificates and chains: parsing what a CA sends and the checks before
 * anything is installed (RFC 8555 section 11.4). */
#ifndef ACMED_CERT_H
#define ACMED_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/ident.h"

#define CERT_MAX_CHAIN 16

/* A parsed chain: leaf first. */
struct cert_chain {
	X509 *certs[CERT_MAX_CHAIN];
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

void cert_chain_finish(struct cert_chain *chain);

/* The checks before install: the leaf's public key is key's, its names
 * (SAN dNSName and iPAddress, case-insensitive) are exactly ids, notAfter is
 * after now, and each certificate is signed by the next one. Returns 0, or -1
 * with the reason in err. */
int cert_chain_check(const struct cert_chain *chain, EVP_PKEY *key, const struct ident *ids,
                     size_t n_ids, time_t now, char *err, size_t errlen);

/* Validity of a certificate as Unix times. Returns 0 or -1. */
int cert_validity(X509 *cert, time_t *not_before, time_t *not_after);

/* The same from the two times of a validity (either out may be NULL). */
int cert_times(const ASN1_TIME *from, const ASN1_TIME *until, time_t *not_before,
               time_t *not_after);

/* Loads the first certificate of a PEM file. New X509 or NULL (not logged;
 * errno-like reason in err). */
X509 *cert_load(const char *path, char *err, size_t errlen);

/* The RFC 9773 (ARI) certificate identifier: base64url(AKI keyIdentifier)
 * "." base64url(serial DER content bytes). New string, or NULL when the
 * certificate has no AKI. */
char *cert_ari_id(X509 *cert);

/* The same from the AKI keyIdentifier and the serial number; NULL when
 * keyid is NULL or empty. */
char *cert_ari_id_of(const ASN1_OCTET_STRING *keyid, const ASN1_INTEGER *serial);

/* The subjectAltName entries as identifiers. Returns 0 and a new array
 * (ident_list_free), or -1. */
int cert_ids(X509 *cert, struct ident **ids, size_t *n);

/* Who issued cert, for people: the issuer's commonName, else its
 * organizationName, else its whole name on one line. New string or NULL. */
char *cert_issuer_name(X509 *cert);

/* The same text for any name: its commonName, else organizationName, else
 * the whole name on one line. New string or NULL. */
char *cert_name_text(const X509_NAME *name);
/* The dNSName and iPAddress entries of names (others skipped) as
 * identifiers. Returns 0 and a new array (ident_list_free), or -1 for an
 * entry that is not a plain name or address. */
int cert_names_ids(const GENERAL_NAMES *names, struct ident **ids, size_t *n);

/* chain->certs[from] up to (not including) certs[to] as one PEM text (""
 * when none: a leaf's issuers when the CA sent it alone). New
 * NUL-terminated string (free()), its length in *len, or NULL when out of
 * memory. */
char *cert_chain_pem(const struct cert_chain *chain, size_t from, size_t to, size_t *len);

/* The serial as lower-case hex without leading zeros. New string or NULL. */
char *cert_serial_hex(X509 *cert);

#endif
