/* A certificate read for what acmed needs of it (dates, names, ARI ID,
 * issuer, key type, whether a key and an issuer belong to it, whether the
 * issuer signed it) without building an X509: OpenSSL 3.0's d2i_X509
 * decodes the public key through its provider decoders, about four fifths
 * of a parse. `acmed status`, certs.index and the daemon's first start read
 * every installed set this way, and every job the leaf it is about to
 * install (cert_chain.h). */
#ifndef ACMED_CERT_BRIEF_H
#define ACMED_CERT_BRIEF_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/ident.h"
#include "crypto/key.h"

struct cert_brief;

/* The first certificate of a PEM text of len bytes, as cert_load reads a
 * file. NULL when there is none or it is not a certificate (not logged,
 * OpenSSL's error queue cleared). */
struct cert_brief *cert_brief_read(const char *pem, size_t len);

/* The same from the DER of one certificate, len bytes, all of it (copied).
 * NULL when it is not a certificate. */
struct cert_brief *cert_brief_from_der(const unsigned char *der, long len);

void cert_brief_free(struct cert_brief *b);

/* The DER it was read from (borrowed), its length in *len. */
const unsigned char *cert_brief_der(const struct cert_brief *b, size_t *len);

/* The certificate as a full X509 (its public key decoded: the slow parse),
 * for what needs one (a PKCS#12 bundle). New X509 or NULL. */
X509 *cert_brief_to_x509(const struct cert_brief *b);

/* Its issuer's and subject's names (borrowed). */
const X509_NAME *cert_brief_issuer(const struct cert_brief *b);
const X509_NAME *cert_brief_subject(const struct cert_brief *b);

/* Whether a and b are the same certificate, byte for byte. */
bool cert_brief_same(const struct cert_brief *a, const struct cert_brief *b);

/* Whether issuer's public key verifies the certificate's signature, as
 * X509_verify does (the outer algorithm equal to the signed one, the
 * signature over the to-be-signed part as it was encoded). Names are not
 * compared here. */
bool cert_brief_signed_by(const struct cert_brief *b, X509 *issuer);

/* Whether key is the certificate's public key: 1 yes, 0 no. An EC key's
 * encoded point and an RSA key's modulus and exponent are compared as
 * they are; anything else is decoded and compared by OpenSSL. */
int cert_brief_key_eq(const struct cert_brief *b, EVP_PKEY *key);

/* As cert_validity. Returns 0 or -1. */
int cert_brief_times(const struct cert_brief *b, time_t *not_before, time_t *not_after);

/* As cert_ids: the subjectAltName's names; none when there is no
 * subjectAltName. Returns 0 and a new array (ident_list_free), or -1 for
 * a malformed or repeated one. */
int cert_brief_ids(const struct cert_brief *b, struct ident **ids, size_t *n);

/* As cert_ari_id. New string or NULL. */
char *cert_brief_ari_id(const struct cert_brief *b);

/* As cert_issuer_name. New string or NULL. */
char *cert_brief_issuer_name(const struct cert_brief *b);

/* As key_type_of for the certificate's public key. Returns 0 or -1. */
int cert_brief_key_type(const struct cert_brief *b, enum key_type *type);

/* Whether issuer is the certificate's issuer by name and, where both say
 * it, by key identifier (the AKI against the issuer's SKI). The signature
 * is not checked: acmed checked it before it installed the set. */
bool cert_brief_issued_by(const struct cert_brief *b, X509 *issuer);

/* Whether the PEM private key of len bytes is the certificate's key: 1 yes,
 * 0 another key, -1 not a private key. A PKCS#8 key that carries its
 * public key (as acmed and OpenSSL write EC keys) or an RSA key is compared
 * as it is written; anything else, or what does not compare equal, is
 * decoded and compared by OpenSSL. */
int cert_brief_key_is(const struct cert_brief *b, const char *pem, size_t len);

#endif
