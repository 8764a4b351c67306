/* The ACME account (RFC 8555 section 7.3) as acmed keeps it: its key and URL
 * under <state>/accounts/<ca-host>/default/, the lock of those files, and
 * their reload by a daemon. Talking to the CA about it is
 * acme_account_reg.h's (registration) and acme_account_ops.h's. */
#ifndef ACMED_ACME_ACCOUNT_H
#define ACMED_ACME_ACCOUNT_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "acme/acme_parse.h"
#include "crypto/key.h"
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

/* What the account functions (here, acme_account_reg.h, acme_account_ops.h)
 * return and pass to acme_account_done_fn. */
enum acme_account_result {
	/* acme_account_reload: another process holds the account's lock */
	ACME_ACCOUNT_BUSY = -4,
	/* acme_account_reg_lookup: the CA knows no account for the key */
	ACME_ACCOUNT_NOT_FOUND = -3,
	/* a setting the user must fix (exit 2): terms, EAB */
	ACME_ACCOUNT_USAGE = -2,
	ACME_ACCOUNT_FAILED = -1,
	ACME_ACCOUNT_OK = 0,
	/* acme_account_reload: the key on disk changed */
	ACME_ACCOUNT_KEY_CHANGED = 1,
	/* acme_account_reg_ensure: the URL is known already; done not called */
	ACME_ACCOUNT_KNOWN = 2,
	/* acme_account_reg_resume_rollover: no account.key.new; done not
	 * called */
	ACME_ACCOUNT_NO_ROLLOVER = 3,
};

/* rc: an enum acme_account_result; message: one line, borrowed for the
 * call. */
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

/* The same lock for an open account, not waited for: NULL with errno
 * EWOULDBLOCK and the holder in holder (STORE_LOCK_HOLDER_LEN bytes) when
 * another process holds it (not logged), NULL (logged) on other errors. */
struct store_lock *acme_account_lock_try(const struct acme_account_handle *acct, char *holder);

/* Loads the account key and the account URL if account.json exists. A
 * missing key is made with type and saved (mode 0600, folder 0700) only
 * once the CA accepted the registration. account.json records the key's
 * thumbprint: when it names another key (a crash between the two writes of
 * a rollover), its URL is dropped and looked up again by
 * acme_account_reg_ensure.
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
 * rolled over. Returns ACME_ACCOUNT_KEY_CHANGED (acct updated; the old key
 * retired), ACME_ACCOUNT_OK when it did not change (contacts and status
 * refreshed), ACME_ACCOUNT_BUSY when another process holds the lock
 * (logged), ACME_ACCOUNT_FAILED when the files are not a usable account
 * (logged; acct unchanged). */
enum acme_account_result acme_account_reload(struct acme_account_handle *acct);

/* Loads the account key at path (dir: the account's folder, for the
 * message), one line saying what to do when it is not one acmed can sign
 * with. New key, or NULL with errno ENOENT (not logged) when there is no
 * file, else NULL (logged). */
EVP_PKEY *acme_account_read_key(const char *path, const char *dir);

/* Makes *new_key the account key on disk once the CA knows the account by
 * it: the old key kept as account.key.prev (a warning when it cannot be),
 * account.key replaced atomically, acct->key set (the old one retired) and
 * *new_key NULLed. account.json is the caller's to rewrite. Returns 0, or
 * -1 (logged) when account.key could not be written: nothing taken. */
int acme_account_install_key(struct acme_account_handle *acct, EVP_PKEY **new_key);

/* Replaces acct->contacts with copies of the n strings. Returns 0 or -1
 * (out of memory; acct unchanged). */
int acme_account_set_contacts(struct acme_account_handle *acct, char *const *contacts, size_t n);

/* Writes account.json (mode 0600, atomically): the URL, directory_url, the
 * contacts, the status when known and the thumbprint of acct->key. Write
 * account.key first: a crash in between leaves a key whose account is
 * looked up again, never a URL without its key. Returns 0 or -1 (logged). */
int acme_account_save(const struct acme_account_handle *acct, const char *directory_url);

#endif
