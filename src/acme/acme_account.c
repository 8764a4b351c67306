#include "acme/acme_account.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_account.h"
#include "base/b64.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "base/log.h"
#include "base/file.h"
#include "io/http.h"

#define ACCOUNT_JSON_MAX (64 * 1024)

#define ACCOUNT_MAX_CONTACTS 16

char *
acme_account_ca_dir(const char *directory_url)
{
	const char *p;
	size_t n = 0;
	char *out;

	if (strncmp(directory_url, "https://", 8) != 0) {
		return NULL;
	}
	p = directory_url + 8;
	out = malloc(strlen(p) + 1);
	if (out == NULL) {
		return NULL;
	}
	for (; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++) {
		char c = *p;

		if (c == '[' || c == ']') {
			continue;
		}
		if (c == ':') {
			c = '_';
		} else if (c == '@') {
			/* userinfo: start over with the host */
			n = 0;
			continue;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '.' || c == '-')) {
			free(out);
			return NULL;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n == 0 || out[0] == '.') {
		free(out);
		return NULL;
	}
	return out;
}

int
acme_account_set_contacts(struct acme_account_handle *acct, char *const *contacts, size_t n)
{
	char **copy = NULL;
	size_t i = 0;
	int rc = -1;

	if (n > 0) {
		copy = calloc(n, sizeof(*copy));
		if (copy == NULL) {
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		copy[i] = strdup(contacts[i]);
		if (copy[i] == NULL) {
			goto out;
		}
	}
	for (size_t k = 0; k < acct->n_contacts; k++) {
		free(acct->contacts[k]);
	}
	free(acct->contacts);
	acct->contacts = copy;
	acct->n_contacts = n;
	copy = NULL;
	rc = 0;
out:
	if (copy != NULL) {
		while (i > 0) {
			free(copy[--i]);
		}
		free(copy);
	}
	if (rc < 0) {
		log_error("out of memory");
	}
	return rc;
}

/* The contacts of account.json: an array of at most ACCOUNT_MAX_CONTACTS
 * strings, or nothing. Returns 0 or -1. */
static int
load_contacts(struct acme_account_handle *acct, json_t *array)
{
	const char *list[ACCOUNT_MAX_CONTACTS];
	size_t n = 0;
	json_t *v;
	size_t i;
	int rc = -1;

	if (array == NULL) {
		rc = 0;
		goto out;
	}
	if (!json_is_array(array) || json_array_size(array) > ACCOUNT_MAX_CONTACTS) {
		goto out;
	}
	json_array_foreach(array, i, v)
	{
		if (!json_is_string(v)) {
			goto out;
		}
		list[n++] = json_string_value(v);
	}
	rc = acme_account_set_contacts(acct, (char *const *)list, n);
out:
	return rc;
}

/* What account.json holds, as read by read_json. */
struct account_file {
	char *url;
	char **contacts;
	size_t n_contacts;
	enum acme_status status;
	char *thumbprint; /* of the key it was written with; NULL when older */
};

static void
account_file_finish(struct account_file *f)
{
	for (size_t i = 0; i < f->n_contacts; i++) {
		free(f->contacts[i]);
	}
	free(f->contacts);
	free(f->url);
	free(f->thumbprint);
	memset(f, 0, sizeof(*f));
}

/* Reads account.json at path into f (zeroed first). Returns 1 when read, 0
 * when there is none, -1 when it is unusable (logged, saying what to do). */
static int
read_json(const char *path, struct account_file *f)
{
	struct acme_account_handle tmp;
	json_error_t jerr;
	json_t *root = NULL;
	json_t *contacts = NULL;
	const char *url = NULL;
	const char *status = NULL;
	const char *thumb = NULL;
	char *text;
	size_t len;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	memset(&tmp, 0, sizeof(tmp));
	text = file_read(path, ACCOUNT_JSON_MAX, &len);
	if (text == NULL) {
		if (errno == ENOENT) {
			/* not registered yet, or account.json was lost */
			rc = 0;
		} else {
			log_error(
			        "%s: cannot read: %s: run acmed as the owner of the state folder, "
			        "or fix the file's owner and mode",
			        path, errno == EFBIG ? "too large" : strerror(errno));
		}
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL ||
	    json_unpack(root, "{s:s, s?o, s?s, s?s}", "url", &url, "contact", &contacts, "status",
	                &status, "thumbprint", &thumb) != 0 ||
	    !http_url_ok(url) || load_contacts(&tmp, contacts) < 0) {
		log_error("%s: not an account file (no https \"url\"): move it away and the "
		          "account of account.key is looked up again on the next run",
		          path);
		goto out;
	}
	f->status = status != NULL ? acme_status_parse(status) : ACME_STATUS_UNKNOWN;
	f->url = strdup(url);
	f->thumbprint = thumb != NULL ? strdup(thumb) : NULL;
	if (f->url == NULL || (thumb != NULL && f->thumbprint == NULL)) {
		log_error("out of memory");
		goto out;
	}
	f->contacts = tmp.contacts;
	f->n_contacts = tmp.n_contacts;
	tmp.contacts = NULL;
	tmp.n_contacts = 0;
	rc = 1;
out:
	if (rc < 0) {
		account_file_finish(f);
	}
	acme_account_close(&tmp);
	json_decref(root);
	free(text);
	return rc;
}

EVP_PKEY *
acme_account_read_key(const char *path, const char *dir)
{
	EVP_PKEY *key = NULL;
	enum key_type type;
	char *pem = NULL;
	size_t len = 0;

	pem = file_read(path, ACCOUNT_JSON_MAX, &len);
	if (pem == NULL) {
		if (errno != ENOENT) {
			log_error(
			        "%s: cannot read: %s: run acmed as the owner of the state folder, "
			        "or fix the file's owner and mode",
			        path, errno == EFBIG ? "too large for a key" : strerror(errno));
		}
		goto out;
	}
	key = key_from_pem(pem, len);
	if (key == NULL) {
		log_error("%s: not an unencrypted PEM private key: restore the account key from a "
		          "backup, or move %s away to register a new account on the next run",
		          path, dir);
		errno = EINVAL;
		goto out;
	}
	if (key_type_of(key, &type) < 0) {
		log_error(
		        "%s: not a key type acmed can sign with (%s %d bits; want ec-p256, "
		        "ec-p384 or rsa-2048 to rsa-4096): restore the account key from a backup, "
		        "or move %s away to register a new account on the next run",
		        path, EVP_PKEY_get0_type_name(key), EVP_PKEY_get_bits(key), dir);
		EVP_PKEY_free(key);
		key = NULL;
		errno = EINVAL;
	}
out:
	key_pem_free(pem, len);
	return key;
}

/* Puts what f holds into acct (taking it), unless f was written for another
 * key than acct->key. Returns 0, 1 when it was (nothing taken), or -1 (out
 * of memory, logged). */
static int
take_file(struct acme_account_handle *acct, struct account_file *f)
{
	char *thumb = NULL;
	int rc = -1;

	thumb = jws_thumbprint(acct->key);
	if (thumb == NULL) {
		log_error("%s: cannot compute the key's thumbprint", acct->key_path);
		goto out;
	}
	if (f->thumbprint != NULL && strcmp(f->thumbprint, thumb) != 0) {
		rc = 1;
		goto out;
	}
	if (acme_account_set_contacts(acct, f->contacts, f->n_contacts) < 0) {
		goto out;
	}
	free(acct->url);
	acct->url = f->url;
	f->url = NULL;
	acct->status = f->status;
	rc = 0;
out:
	free(thumb);
	return rc;
}

/* The account's lock (store_account.h). New string or NULL. */
static char *
lock_path(const char *state_dir, const char *host)
{
	return store_account_path(state_dir, host, STORE_ACCOUNT_LOCK);
}

/* Takes the lock at path, its folder made when missing (a state folder
 * from before locks, or one whose locks/ was removed). wait: as in
 * acme_account_lock; else holder gets the holder (store_lock_try). */
static struct store_lock *
take_lock(const char *path, const char *what, bool wait, char *holder)
{
	struct store_lock *lock = NULL;
	char *dir = NULL;
	char *slash;
	int err = 0;

	dir = strdup(path);
	if (dir == NULL) {
		log_error("out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
	}
	if (file_mkdirs(dir, 0755) < 0) {
		log_error("%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	if (wait) {
		lock = store_lock_wait(path, what, ACME_ACCOUNT_LOCK_TIMEOUT);
		goto out;
	}
	lock = store_lock_try(path, holder);
	err = errno;
	if (lock == NULL && err != EWOULDBLOCK) {
		log_error("%s: cannot lock: %s", path, strerror(err));
	}
out:
	free(dir);
	if (lock == NULL && err != 0) {
		errno = err;
	}
	return lock;
}

struct store_lock *
acme_account_lock(const char *state_dir, const char *directory_url, bool wait)
{
	char holder[STORE_LOCK_HOLDER_LEN];
	char what[300];
	char *host = NULL;
	char *path = NULL;
	struct store_lock *lock = NULL;
	int err = 0;

	host = acme_account_ca_dir(directory_url);
	if (host == NULL) {
		log_error("%s: no usable host name in the directory URL", directory_url);
		goto out;
	}
	path = lock_path(state_dir, host);
	if (path == NULL) {
		log_error("%s: path too long", state_dir);
		goto out;
	}
	snprintf(what, sizeof(what), "account %s", host);
	lock = take_lock(path, what, wait, holder);
	err = errno;
out:
	free(path);
	free(host);
	if (lock == NULL && err != 0) {
		errno = err;
	}
	return lock;
}

struct store_lock *
acme_account_lock_try(const struct acme_account_handle *acct, char *holder)
{
	return take_lock(acct->lock_path, NULL, false, holder);
}

int
acme_account_open(struct acme_account_handle *acct, const char *state_dir,
                  const char *directory_url, enum key_type type)
{
	struct account_file f;
	char *host = NULL;
	int jrc;
	int trc;
	int rc = -1;

	memset(acct, 0, sizeof(*acct));
	memset(&f, 0, sizeof(f));
	host = acme_account_ca_dir(directory_url);
	if (host == NULL) {
		log_error("%s: no usable host name in the directory URL", directory_url);
		goto out;
	}
	acct->dir = store_account_path(state_dir, host, STORE_ACCOUNT_DIR);
	acct->key_path = store_account_path(state_dir, host, STORE_ACCOUNT_KEY);
	acct->json_path = store_account_path(state_dir, host, STORE_ACCOUNT_JSON);
	acct->lock_path = lock_path(state_dir, host);
	if (acct->dir == NULL || acct->key_path == NULL || acct->json_path == NULL ||
	    acct->lock_path == NULL) {
		log_error("%s: path too long", state_dir);
		goto out;
	}
	jrc = read_json(acct->json_path, &f);
	if (jrc < 0) {
		goto out;
	}
	acct->key = acme_account_read_key(acct->key_path, acct->dir);
	if (acct->key == NULL && errno != ENOENT) {
		goto out;
	}
	if (acct->key == NULL && jrc == 1) {
		/* The account's key is gone: every request would fail the
		 * CA's signature check. A new account is the operator's call,
		 * not acmed's. */
		log_error("%s: missing, but %s names the account %s, which cannot be used without "
		          "its key: restore account.key from a backup, or move %s away to register "
		          "a new account on the next run",
		          acct->key_path, acct->json_path, f.url, acct->json_path);
		goto out;
	}
	if (acct->key == NULL) {
		/* Saved once the CA accepted the registration, so that a
		 * refused one leaves no state behind. */
		acct->key = key_generate(type);
		if (acct->key == NULL) {
			goto out;
		}
		acct->key_created = true;
	}
	if (jrc == 1) {
		trc = take_file(acct, &f);
		if (trc < 0) {
			goto out;
		}
		/* A crash between the writes of account.key and account.json
		 * leaves them disagreeing; the key is what the CA knows, and
		 * its URL can be found again (RFC 8555 section 7.3.1). */
		if (trc == 1) {
			acct->foreign_url = f.url;
			f.url = NULL;
			log_warn("%s: names the account %s but was written for another key than "
			         "%s; looking up the account of that key",
			         acct->json_path, acct->foreign_url, acct->key_path);
		}
	}
	rc = 0;
out:
	account_file_finish(&f);
	free(host);
	if (rc < 0) {
		acme_account_close(acct);
	}
	return rc;
}

void
acme_account_close(struct acme_account_handle *acct)
{
	EVP_PKEY_free(acct->key);
	for (size_t i = 0; i < ACME_ACCOUNT_RETIRED; i++) {
		EVP_PKEY_free(acct->retired[i]);
	}
	for (size_t i = 0; i < acct->n_contacts; i++) {
		free(acct->contacts[i]);
	}
	free(acct->contacts);
	free(acct->url);
	free(acct->dir);
	free(acct->key_path);
	free(acct->json_path);
	free(acct->lock_path);
	free(acct->foreign_url);
	memset(acct, 0, sizeof(*acct));
}

void
acme_account_set_key(struct acme_account_handle *acct, EVP_PKEY *key)
{
	if (acct->retired[0] != NULL) {
		/* The oldest has long been signed with or dropped. */
		EVP_PKEY_free(acct->retired[0]);
	}
	memmove(acct->retired, acct->retired + 1,
	        sizeof(acct->retired[0]) * (ACME_ACCOUNT_RETIRED - 1));
	acct->retired[ACME_ACCOUNT_RETIRED - 1] = acct->key;
	acct->key = key;
}

enum acme_account_result
acme_account_reload(struct acme_account_handle *acct)
{
	struct account_file f;
	char holder[STORE_LOCK_HOLDER_LEN];
	struct store_lock *lock = NULL;
	struct acme_account_handle fresh;
	int jrc;
	int trc;
	int changed;
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	memset(&f, 0, sizeof(f));
	memset(&fresh, 0, sizeof(fresh));
	lock = acme_account_lock_try(acct, holder);
	if (lock == NULL) {
		if (errno == EWOULDBLOCK) {
			log_info("account: %s is held by %s; reloading when it is done",
			         acct->lock_path, holder);
			rc = ACME_ACCOUNT_BUSY;
		}
		goto out;
	}
	jrc = read_json(acct->json_path, &f);
	if (jrc < 0) {
		goto out;
	}
	fresh.key = acme_account_read_key(acct->key_path, acct->dir);
	if (fresh.key == NULL) {
		if (errno == ENOENT) {
			log_error("%s: missing; going on with the key loaded before: restore it "
			          "from a backup",
			          acct->key_path);
		}
		goto out;
	}
	if (jrc == 0) {
		log_error("%s: missing; going on with the account loaded before", acct->json_path);
		goto out;
	}
	/* Borrowed for take_file's messages. */
	fresh.key_path = acct->key_path;
	trc = take_file(&fresh, &f);
	fresh.key_path = NULL;
	if (trc < 0) {
		goto out;
	}
	/* Only a key with its own account.json is taken: a URL of another
	 * key would make every request fail. */
	if (trc == 1) {
		log_error("%s was written for another key than %s; going on with the key loaded "
		          "before: run acmed account show to look the account up again",
		          acct->json_path, acct->key_path);
		goto out;
	}
	if (acme_account_set_contacts(acct, fresh.contacts, fresh.n_contacts) < 0) {
		goto out;
	}
	changed = EVP_PKEY_eq(fresh.key, acct->key) != 1;
	if (changed) {
		acme_account_set_key(acct, fresh.key);
		fresh.key = NULL;
	}
	/* The same URL stays where it is: an authorization in flight signs
	 * its polls with it as the kid (borrowed), and a SIGHUP reloads. */
	if (acct->url == NULL || fresh.url == NULL || strcmp(acct->url, fresh.url) != 0) {
		free(acct->url);
		acct->url = fresh.url;
		fresh.url = NULL;
	}
	acct->status = fresh.status;
	rc = changed ? ACME_ACCOUNT_KEY_CHANGED : ACME_ACCOUNT_OK;
out:
	acme_account_close(&fresh);
	account_file_finish(&f);
	store_lock_release(lock);
	return rc;
}

int
acme_account_save(const struct acme_account_handle *acct, const char *directory_url)
{
	json_t *root = NULL;
	json_t *contacts = NULL;
	char *thumb = NULL;
	char *text = NULL;
	int rc = -1;

	thumb = jws_thumbprint(acct->key);
	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < acct->n_contacts; i++) {
		json_array_append_new(contacts, json_string(acct->contacts[i]));
	}
	/* The thumbprint ties the URL to its key: see acme_account_open. */
	root = json_pack("{s:s, s:s, s:O*, s:s*}", "url", acct->url, "directory", directory_url,
	                 "contact", contacts, "thumbprint", thumb);
	if (root != NULL && acct->status != ACME_STATUS_UNKNOWN) {
		json_object_set_new(root, "status", json_string(acme_status_name(acct->status)));
	}
	if (root != NULL && thumb != NULL) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	}
	if (text == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (file_write_atomic(acct->json_path, text, strlen(text), 0600) < 0) {
		goto out;
	}
	rc = 0;
out:
	free(thumb);
	free(text);
	json_decref(root);
	json_decref(contacts);
	return rc;
}

int
acme_account_install_key(struct acme_account_handle *acct, EVP_PKEY **new_key)
{
	char *prev_path = NULL;
	int rc = -1;

	prev_path = store_account_in(acct->dir, STORE_ACCOUNT_KEY_PREV);
	if (prev_path == NULL || key_save(acct->key, prev_path) < 0) {
		log_warn("%s: the old account key could not be kept", acct->dir);
	}
	if (key_save(*new_key, acct->key_path) < 0) {
		goto out;
	}
	acme_account_set_key(acct, *new_key);
	*new_key = NULL;
	rc = 0;
out:
	free(prev_path);
	return rc;
}
