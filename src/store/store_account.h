/* Where an ACME account lives in the state folder:
 *
 *   accounts/<ca-host>/default/   account.key (0600), account.json,
 *                                 account.key.new (a key rollover in
 *                                 flight), account.key.prev (the key
 *                                 before the last rollover),
 *                                 account.key.local, account.json.local
 *                                 (fleet mode: this node's own account,
 *                                 set aside for the fleet's)
 *   locks/account.<ca-host>       its lock (store_lock.h), beside the
 *                                 certificates' so that taking it changes
 *                                 nothing under accounts/
 *
 * Only this module spells these names. */
#ifndef ACMED_STORE_ACCOUNT_H
#define ACMED_STORE_ACCOUNT_H

enum store_account_file {
	STORE_ACCOUNT_ROOT, /* accounts/, every CA's (host unused) */
	STORE_ACCOUNT_DIR,
	STORE_ACCOUNT_KEY,
	STORE_ACCOUNT_JSON,
	STORE_ACCOUNT_KEY_NEW,
	STORE_ACCOUNT_KEY_PREV,
	/* fleet mode: this node's own account, set aside when the fleet's
	 * was installed over it */
	STORE_ACCOUNT_KEY_LOCAL,
	STORE_ACCOUNT_JSON_LOCAL,
	STORE_ACCOUNT_LOCK,
	STORE_ACCOUNT_FILE__MAX,
};

/* The path of one of the account's files for the CA whose directory is on
 * host. New string, or NULL when out of memory or too long. */
char *store_account_path(const char *state_dir, const char *host, enum store_account_file file);

/* The same inside the account's folder (STORE_ACCOUNT_DIR's path) for the
 * files in it (KEY, JSON, KEY_NEW, KEY_PREV). New string or NULL. */
char *store_account_in(const char *account_dir, enum store_account_file file);

#endif
