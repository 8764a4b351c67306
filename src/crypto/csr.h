/* Certificate signing requests (RFC 2986) for ACME finalize (RFC 8555
 * section 7.4). */
#ifndef ACMED_CSR_H
#define ACMED_CSR_H

#include <openssl/evp.h>
#include <stddef.h>

#include "base/ident.h"

/* A DER CSR for the identifiers, signed by key: every identifier in
 * subjectAltName (dNSName, or iPAddress for RFC 8738 ip identifiers); the
 * subject CN is the first dns identifier when it fits in 64 characters,
 * else empty (IP identifiers never go in the CN). SHA-256 signature. Returns
 * a new buffer (free()) and its length, or NULL (logged). */
unsigned char *csr_create(EVP_PKEY *key, const struct ident *ids, size_t n_ids, size_t *len);

#endif
