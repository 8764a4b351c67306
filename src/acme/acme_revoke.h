/* Certificate revocation (RFC 8555 section 7.6): the revokeCert request,
 * signed by the account key (kid) or by the certificate's own key (jwk), and
 * the revocation reasons ACME CAs accept (RFC 5280 section 5.3.1). */
#ifndef ACMED_ACME_REVOKE_H
#define ACMED_ACME_REVOKE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "acme/acme_client.h"

/* No "reason" member: the CA records unspecified (0). */
#define ACME_REVOKE_REASON_NONE (-1)

/* Parses a reason by name (case-insensitive, e.g. "keyCompromise") or by
 * number ("1"). Only unspecified (0), keyCompromise (1), affiliationChanged
 * (3), superseded (4) and cessationOfOperation (5) are accepted. Returns 0
 * and the code in *code, or -1 with a message listing them in err. */
int acme_revoke_reason_parse(const char *s, int *code, char *err, size_t errlen);

/* The name of an accepted code ("keyCompromise"), or NULL. */
const char *acme_revoke_reason_name(int code);

/* Whether key is the private half of cert's public key. */
bool acme_revoke_key_matches(X509 *cert, EVP_PKEY *key);

/* The request payload, JSON text {"certificate":"<base64url DER>","reason":N}
 * ("reason" left out for ACME_REVOKE_REASON_NONE). New string or NULL
 * (logged). */
char *acme_revoke_payload(X509 *cert, int reason);

/* rc of acme_revoke_done_fn besides 0 (revoked) and -1 (the CA refused,
 * message its problem document, or the request failed). */
#define ACME_REVOKE_ALREADY (-2) /* alreadyRevoked: revoked before */

/* rc 0: revoked; ACME_REVOKE_ALREADY; -1: the CA refused or the request
 * failed. message: one line, borrowed for the call. */
typedef void (*acme_revoke_done_fn)(int rc, const char *message, void *arg);

/* Asks the CA to revoke cert with reason (or ACME_REVOKE_REASON_NONE),
 * signed with key: by kid (the account URL) when kid is not NULL, else with
 * the JWK, in which case key must be cert's own key (checked; nothing is
 * sent otherwise). cert and key are borrowed until done is called, once,
 * from the loop. Returns 0, or -1 (logged) when nothing was sent (done not
 * called). */
int acme_revoke_start(struct acme_client *client, X509 *cert, int reason, EVP_PKEY *key,
                      const char *kid, acme_revoke_done_fn done, void *arg);

#endif
