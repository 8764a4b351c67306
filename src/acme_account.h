/* The ACME account (RFC 8555 section 7.3): its key and URL kept under
 * <state>/accounts/<ca-host>/default/, registration on first use, recovery of
 * a lost URL with onlyReturnExisting, re-registration when the CA forgot it. */
#ifndef ACMED_ACME_ACCOUNT_H
#define ACMED_ACME_ACCOUNT_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "acme_client.h"
#include "conf.h"

struct acme_account_handle {
	EVP_PKEY *key; /* owned */
	char *url; /* the kid; NULL until known */
	char *dir; /* the account's folder */
	char *key_path;
	char *json_path;
	bool key_created; /* made by acme_account_open, not saved yet */
};

/* rc 0; -1 failure; -2 a configuration problem the user must fix (exit 2).
 * message: one line, borrowed for the call. */
typedef void (*acme_account_done_fn)(int rc, const char *message, void *arg);

/* The folder name for a CA: the directory URL's host, with ":port" as
 * "_port". New string, or NULL for a URL without a sane host. */
char *acme_account_ca_dir(const char *directory_url);

/* Loads the account key and the account URL if account.json exists. A
 * missing key is made with type and saved (mode 0600, folder 0700) only
 * once the CA accepted the registration. Returns 0 or -1 (logged). */
int acme_account_open(struct acme_account_handle *acct, const char *state_dir,
                      const char *directory_url, enum key_type type);

void acme_account_close(struct acme_account_handle *acct);

/* Makes sure the CA knows the account and acct->url is set: nothing to do
 * when it is already; when the key existed but account.json was lost, the
 * URL is recovered with onlyReturnExisting; otherwise a new registration
 * (which needs agree_tos when the CA has terms, and EAB when it requires
 * it). force: register again even though a URL is known (the CA forgot the
 * account). done is called once from the loop. Returns 0 or -1 when nothing
 * started; 1 when
 * the URL is already known and force is false (done not called). */
int acme_account_ensure(struct acme_client *client, struct acme_account_handle *acct,
                        const struct conf_settings *s, bool force, acme_account_done_fn done,
                        void *arg);

#endif
