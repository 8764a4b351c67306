/* JSON Web Keys and flattened JSON Web Signatures (RFC 7515, 7517, 7518,
 * 7638) as ACME uses them (RFC 8555 section 6.2). */
#ifndef ACMED_JWS_H
#define ACMED_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

/* The public JWK of the key: {"crv","kty","x","y"} or {"e","kty","n"}.
 * Returns a new reference, or NULL. */
json_t *jws_jwk(EVP_PKEY *key);

/* RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)). New string or NULL. */
char *jws_thumbprint(EVP_PKEY *key);

/* RFC 8555 section 8.1 key authorization "token.thumbprint". New string or
 * NULL. */
char *jws_key_authorization(EVP_PKEY *key, const char *token);

/* Flattened JWS {"protected","payload","signature"} signed with key.
 * Protected header: alg, then kid if kid is not NULL else jwk, then nonce if
 * not NULL, then url. payload NULL means POST-as-GET (empty payload, RFC 8555
 * section 6.3); otherwise it is the exact JSON text to sign. Returns a new
 * reference, or NULL (logged). */
json_t *jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                 const char *payload);

/* The same JWS as jws_sign(), as its compact JSON text (the body of an
 * ACME POST). New string or NULL (logged). */
char *jws_sign_text(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                    const char *payload);

/* Flattened JWS with an HMAC key (RFC 8555 section 7.3.4, external account
 * binding): protected {"alg","kid","url"}, payload the JWK of account_key.
 * alg is "HS256", "HS384" or "HS512". Returns a new reference or NULL. */
json_t *jws_sign_eab(const char *alg, const char *kid, const unsigned char *hmac_key,
                     size_t hmac_key_len, EVP_PKEY *account_key, const char *url);

#endif
