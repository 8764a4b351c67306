/* jws.c's exports for the tests only: acmed signs with the "alg" jws_sign
 * picks itself. */
#ifndef ACMED_JWS_TEST_H
#define ACMED_JWS_TEST_H

#include <openssl/evp.h>

/* "ES256", "ES384" or "RS256" for the key; NULL for another key type. */
const char *jws_alg(EVP_PKEY *key);

#endif
