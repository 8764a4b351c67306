/* The ACME account (RFC 8555 section 7.3): its key and URL kept under
 * <state>/accounts/<ca-host>/default/, registration on first use, recovery of
 * a lost URL with onlyReturnExisting, re-registration when the CA forgot it. */
#ifndef ACMED_ACME_ACCOUNT_H
#define ACMED_ACME_ACCOUNT_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "acme/acme_client.h"
#include "conf/conf.h"
#include "store/store_lock.h"

/* Replaced account keys kept until acme_account_close: a request waiting
 * for its nonce still signs with the key it was given (borrowed). */
#define ACME_ACCOUNT_RETIRED 4

/* How long a command waits for another process's registration or rollover
 * (acme_account_lock). */
#define ACME_ACCOUNT_LOCK_TIMEOUT 300.0

struct acme_account_handle {
	EVP_PKEY *key; /* owned */
	char *url; /* the kid; NULL until known */
	char *dir; /* the account's folder */
	char *key_path;
	char *json_path;
	char *lock_path; /* <state>/locks/account.<ca-host> */
	/* account.json's URL when it was written for another key: the key's
	 * own account is looked up, and none is registered in its place. */
	char *foreign_url;
	char **contacts; /* "mailto:..." as last seen from the CA; owned */
	size_t n_contacts;
	/* As last recorded in account.json: ACME_STATUS_DEACTIVATED after
	 * acmed deactivated it; UNKNOWN when never recorded. */
	enum acme_status status;
	bool key_created; /* made by acme_account_open, not saved yet */
	EVP_PKEY *retired[ACME_ACCOUNT_RETIRED]; /* owned; oldest first */
};

/* rc of acme_account_done_fn besides 0, -1 (failure) and -2 (a
 * configuration problem the user must fix, exit 2): the CA knows no account
 * for the key (acme_account_lookup). */
#define ACME_ACCOUNT_NOT_FOUND (-3)

/* acme_account_reload: another process holds the account's lock. */
#define ACME_ACCOUNT_BUSY (-4)

/* message: one line, borrowed for the call. */
typedef void (*acme_account_done_fn)(int rc, const char *message, void *arg);

/* The folder name for a CA: the directory URL's host, with ":port" as
 * "_port". New string, or NULL for a URL without a sane host. */
char *acme_account_ca_dir(const char *directory_url);

/* Takes the lock of the account of directory_url under state_dir
 * (<state>/locks/account.<ca-host>), held by whoever registers the account
 * or changes its key or account.json, so that two first runs end up on one
 * account and a reader never sees account.key and account.json of two
 * different accounts. Hold it from acme_account_open until the operation is
 * done. wait: wait up to ACME_ACCOUNT_LOCK_TIMEOUT (logging one line naming
 * the holder; blocks, so for commands); else give up at once, errno
 * EWOULDBLOCK (not logged). Returns a new lock (store_lock_release), or
 * NULL (logged unless EWOULDBLOCK). */
struct store_lock *acme_account_lock(const char *state_dir, const char *directory_url, bool wait);

/* Loads the account key and the account URL if account.json exists. A
 * missing key is made with type and saved (mode 0600, folder 0700) only
 * once the CA accepted the registration. account.json records the key's
 * thumbprint: when it names another key (a crash between the two writes of
 * a rollover), its URL is dropped and looked up again by acme_account_ensure.
 * Refuses, with one line saying which file to restore or move away, an
 * account.json without its account.key (never registers a new account over
 * a lost key), a key acmed cannot sign with, or unreadable files. Returns 0
 * or -1 (logged). */
int acme_account_open(struct acme_account_handle *acct, const char *state_dir,
                      const char *directory_url, enum key_type type);

void acme_account_close(struct acme_account_handle *acct);

/* Makes key (stolen) the account key; the previous one is retired, not
 * freed (see ACME_ACCOUNT_RETIRED). */
void acme_account_set_key(struct acme_account_handle *acct, EVP_PKEY *key);

/* Reads account.key and account.json again, under the account's lock (not
 * waited for), for a daemon that must pick up a key that another process
 * rolled over. Returns 1 when the key changed (acct updated; the old key
 * retired), 0 when it did not (contacts and status refreshed),
 * ACME_ACCOUNT_BUSY when another process holds the lock (logged), -1 when
 * the files are not a usable account (logged; acct unchanged). */
int acme_account_reload(struct acme_account_handle *acct);

/* Replaces acct->contacts with copies of the n strings. Returns 0 or -1
 * (out of memory; acct unchanged). */
int acme_account_set_contacts(struct acme_account_handle *acct, char *const *contacts, size_t n);

/* Writes account.json (mode 0600, atomically): the URL, directory_url, the
 * contacts, the status when known and the thumbprint of acct->key. Write
 * account.key first: a crash in between leaves a key whose account is
 * looked up again, never a URL without its key. Returns 0 or -1 (logged). */
int acme_account_save(const struct acme_account_handle *acct, const char *directory_url);

/* Makes sure the CA knows the account and acct->url is set: nothing to do
 * when it is already; when the key existed but account.json was lost, the
 * URL is recovered with onlyReturnExisting; otherwise a new registration
 * (which needs agree_tos when the CA has terms, and EAB when it requires
 * it). force: register again even though a URL is known (the CA forgot the
 * account), taking the account's lock without waiting (for callers that
 * hold none: a forced registration fails at once when another process
 * holds it). done is called once from the loop. Returns 0 or -1 when nothing
 * started; 1 when
 * the URL is already known and force is false (done not called). */
int acme_account_ensure(struct acme_client *client, struct acme_account_handle *acct,
                        const struct conf_settings *s, bool force, acme_account_done_fn done,
                        void *arg);

/* Finds the URL of the account of an existing key (acct->key_created false)
 * with onlyReturnExisting (RFC 8555 section 7.3.1) and saves it, without
 * ever registering: rc ACME_ACCOUNT_NOT_FOUND when the CA knows no account
 * for the key. done is called once from the loop. Returns 0, or -1 when
 * nothing started (done not called). */
int acme_account_lookup(struct acme_client *client, struct acme_account_handle *acct,
                        acme_account_done_fn done, void *arg);

/* Finishes a rollover that was interrupted between the CA's answer and the
 * replacement of account.key (account.key.new left behind): when the CA
 * knows the account by account.key.new, it is installed as account.key
 * (the old one as account.key.prev, account.json rewritten); when the CA
 * knows no account for it, it is removed. Call with the account's lock
 * held. done is called once from the loop. Returns 0, 1 when there is no
 * account.key.new (done not called), or -1 (logged; done not called). */
int acme_account_resume_rollover(struct acme_client *client, struct acme_account_handle *acct,
                                 acme_account_done_fn done, void *arg);

#endif
