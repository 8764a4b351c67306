/* What servers that do not read the four PEM files take: the key with the
 * full chain in one PEM file (HAProxy's crt), and PKCS#12 (Java, Windows,
 * appliances). Both hold the private key: the caller writes them with the
 * key's owner and mode, and frees them with bundle_free. */
#ifndef ACMED_BUNDLE_H
#define ACMED_BUNDLE_H

#include <openssl/evp.h>
#include <stddef.h>

#include "crypto/cert_chain.h"

/* The key as PEM (PKCS#8, as privkey.pem) followed by fullchain (len
 * bytes: the leaf, then its issuers). Returns a new buffer (bundle_free),
 * its length in *out_len, or NULL (logged). */
char *bundle_combined(EVP_PKEY *key, const char *fullchain, size_t len, size_t *out_len);

/* A DER PKCS#12 of key, the chain's leaf as its certificate and the rest as
 * the CA certificates, under the friendly name name; the key and the
 * certificates encrypted with AES-256-CBC (PBES2, PBKDF2 with
 * HMAC-SHA-256) and a SHA-256 MAC, all with password ("" for none), so
 * that OpenSSL 3 reads it without -legacy. Returns a new buffer
 * (bundle_free), its length in *out_len, or NULL (logged). */
unsigned char *bundle_pkcs12(EVP_PKEY *key, struct cert_chain *chain, const char *name,
                             const char *password, size_t *out_len);

/* Clears and frees what bundle_combined or bundle_pkcs12 returned; safe on
 * NULL. */
void bundle_free(void *buf, size_t len);

#endif
