/* What acmed reads of one certificate: its dates, names, issuer, ARI
 * identifier, serial. Chains and files: cert_chain.h. */
#ifndef ACMED_CERT_H
#define ACMED_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/ident.h"

/* Validity of a certificate as Unix times. Returns 0 or -1. */
int cert_validity(X509 *cert, time_t *not_before, time_t *not_after);

/* The same from the two times of a validity (either out may be NULL). */
int cert_times(const ASN1_TIME *from, const ASN1_TIME *until, time_t *not_before,
               time_t *not_after);

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

/* The serial as lower-case hex without leading zeros. New string or NULL. */
char *cert_serial_hex(X509 *cert);

#endif
