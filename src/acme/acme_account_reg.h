/* Registration (RFC 8555 sections 7.3 and 7.3.1): making sure the CA knows
 * the account of the key on disk, by registering it on first use, finding
 * a lost URL with onlyReturnExisting, registering again when the CA forgot
 * it, and settling a rollover that was interrupted. done is called once
 * from the loop with an enum acme_account_result. */
#ifndef ACMED_ACME_ACCOUNT_REG_H
#define ACMED_ACME_ACCOUNT_REG_H

#include <stdbool.h>
#include <stddef.h>

#include "acme/acme_account.h"
#include "acme/acme_client.h"

/* What a new registration sends; everything borrowed. */
struct acme_account_reg_options {
	char *const *emails; /* addresses without "mailto:" */
	size_t n_emails;
	bool agree_tos; /* needed when the CA has terms of service */
	/* External account binding (RFC 8555 section 7.3.4): both or none. */
	const char *eab_kid;
	const char *eab_hmac_key; /* base64url */
	const char *eab_alg; /* HS256 (NULL), HS384, HS512 */
};

/* Makes sure the CA knows the account and acct->url is set: nothing to do
 * when it is already; when the key existed but account.json was lost, the
 * URL is recovered with onlyReturnExisting; otherwise a new registration
 * with opts (borrowed until done), which needs agree_tos when the CA has
 * terms, and EAB when it requires it (else rc ACME_ACCOUNT_USAGE). force:
 * register again even though a URL is known (the CA forgot the account),
 * taking the account's lock without waiting (for callers that hold none: a
 * forced registration fails at once when another process holds it).
 * Returns ACME_ACCOUNT_OK (done will be called), ACME_ACCOUNT_KNOWN when
 * the URL is known and force is false, or ACME_ACCOUNT_FAILED when nothing
 * started (logged); done is not called then. */
enum acme_account_result acme_account_reg_ensure(struct acme_client *client,
                                                 struct acme_account_handle *acct,
                                                 const struct acme_account_reg_options *opts,
                                                 bool force, acme_account_done_fn done, void *arg);

/* Finds the URL of the account of an existing key (acct->key_created false)
 * with onlyReturnExisting and saves it, without ever registering: rc
 * ACME_ACCOUNT_NOT_FOUND when the CA knows no account for the key. Returns
 * ACME_ACCOUNT_OK, or ACME_ACCOUNT_FAILED when nothing started (done not
 * called). */
enum acme_account_result acme_account_reg_lookup(struct acme_client *client,
                                                 struct acme_account_handle *acct,
                                                 acme_account_done_fn done, void *arg);

/* Finishes a rollover that was interrupted between the CA's answer and the
 * replacement of account.key (account.key.new left behind): when the CA
 * knows the account by account.key.new, it is installed as account.key
 * (the old one as account.key.prev, account.json rewritten); when the CA
 * knows no account for it, it is removed. Call with the account's lock
 * held. Returns ACME_ACCOUNT_OK (done will be called),
 * ACME_ACCOUNT_NO_ROLLOVER when there is no account.key.new, or
 * ACME_ACCOUNT_FAILED (logged); done is not called then. */
enum acme_account_result acme_account_reg_resume_rollover(struct acme_client *client,
                                                          struct acme_account_handle *acct,
                                                          acme_account_done_fn done, void *arg);

#endif
