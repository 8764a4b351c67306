/* Operations on an existing account (RFC 8555 sections 7.3.2 to 7.3.6):
 * fetching it, changing its contacts, rolling its key over, deactivating it.
 * Each request is signed with the account key by kid, so acct->url must be
 * known (acme_account_ensure or acme_account_lookup). done is called once
 * from the loop with rc 0, or -1 and the reason (the CA's problem document
 * when it refused). Each start function returns 0, or -1 (logged) when
 * nothing was sent (done not called). */
#ifndef ACMED_ACME_ACCOUNT_OPS_H
#define ACMED_ACME_ACCOUNT_OPS_H

#include <jansson.h>
#include <openssl/evp.h>

#include "acme/acme_account.h"
#include "acme/acme_client.h"

/* POST-as-GET of the account URL: acct->contacts and acct->status are set
 * from the CA's answer. Nothing is written. */
int acme_account_ops_fetch(struct acme_client *client, struct acme_account_handle *acct,
                           acme_account_done_fn done, void *arg);

/* Sets the account's contacts to emails (addresses without "mailto:"),
 * n_emails of them (0 clears them). On success acct->contacts holds what the
 * CA answered and account.json is rewritten. */
int acme_account_ops_update(struct acme_client *client, struct acme_account_handle *acct,
                            char *const *emails, size_t n_emails, acme_account_done_fn done,
                            void *arg);

/* Deactivates the account ({"status":"deactivated"}); it cannot be undone.
 * On success the status is recorded in account.json, so that later
 * commands say so instead of sending requests the CA refuses. */
int acme_account_ops_deactivate(struct acme_client *client, struct acme_account_handle *acct,
                                acme_account_done_fn done, void *arg);

/* The keyChange request's inner JWS (RFC 8555 section 7.3.5): signed by
 * new_key, protected {"alg","jwk" (of new_key),"url"} without a nonce,
 * payload {"account": account_url, "oldKey": JWK of old_key}. New
 * reference, or NULL (logged). */
json_t *acme_account_ops_key_change(EVP_PKEY *old_key, EVP_PKEY *new_key, const char *account_url,
                                    const char *key_change_url);

/* Rolls the account key over to new_key (the function steals the
 * reference, whatever happens). new_key is first saved as account.key.new;
 * only when the CA agreed is the old key saved as account.key.prev and
 * account.key replaced with the new one (atomically), and acct->key becomes
 * new_key. When the CA refuses, account.key.new is removed and nothing else
 * changed. */
int acme_account_ops_rollover(struct acme_client *client, struct acme_account_handle *acct,
                              EVP_PKEY *new_key, acme_account_done_fn done, void *arg);

#endif
