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

/* The largest CSR file read. */
#define CSR_FILE_MAX (64 * 1024)

/* A CSR made elsewhere (acmed cert --csr): data (len bytes) is PEM
 * ("CERTIFICATE REQUEST", or "NEW CERTIFICATE REQUEST") or DER. Its
 * signature must verify with its own key. The names are its
 * subjectAltName dNSName and iPAddress entries, else the subject's CN.
 * Returns 0 with *der (the DER to finalize with; free()), *ids
 * (ident_list_free) and *pub (its public key; EVP_PKEY_free), or -1 with
 * the reason in err (nothing to free). */
int csr_parse(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
              struct ident **ids, size_t *n_ids, EVP_PKEY **pub, char *err, size_t errlen);

#endif
