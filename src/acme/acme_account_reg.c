#include "acme/acme_account_reg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_account.h"
#include "base/b64.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/jws.h"
#include "crypto/key.h"

struct ensure {
	struct acme_client *client;
	struct acme_account_handle *acct;
	const struct acme_account_reg_options *opts; /* NULL for a lookup */
	acme_account_done_fn done;
	void *arg;
	EVP_PKEY *new_key; /* an interrupted rollover's; owned */
	char *new_path; /* account.key.new */
	struct store_lock *lock; /* taken by a forced registration */
};

/* Records what the CA said about the account and saves it. Returns 0 or -1
 * (logged). */
static int
save_url(struct acme_account_handle *acct, const char *url, const struct acme_account *info,
         const char *directory_url)
{
	char *copy = NULL;
	int rc = -1;

	copy = strdup(url);
	if (copy == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (acme_account_set_contacts(acct, info->contacts, info->n_contacts) < 0) {
		goto out;
	}
	free(acct->url);
	acct->url = copy;
	copy = NULL;
	acct->status = info->status;
	rc = acme_account_save(acct, directory_url);
out:
	free(copy);
	return rc;
}

static struct ensure *
ensure_create(struct acme_client *client, struct acme_account_handle *acct,
              acme_account_done_fn done, void *arg)
{
	struct ensure *e;

	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_error("out of memory");
		return NULL;
	}
	e->client = client;
	e->acct = acct;
	e->done = done;
	e->arg = arg;
	return e;
}

static void
ensure_free(struct ensure *e)
{
	if (e != NULL) {
		store_lock_release(e->lock);
		EVP_PKEY_free(e->new_key);
		free(e->new_path);
		free(e);
	}
}

static void
finish(struct ensure *e, enum acme_account_result rc, const char *message)
{
	/* Released before done: it may take the lock again. */
	store_lock_release(e->lock);
	e->lock = NULL;
	e->done(rc, message, e->arg);
	ensure_free(e);
}

/* Both newAccount replies: 201 created or 200 existing, the URL in
 * Location (RFC 8555 section 7.3). */
static void
on_account(const struct acme_reply *reply, void *arg)
{
	struct ensure *e = arg;
	struct acme_account info;
	char err[256];
	char message[1024];
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	memset(&info, 0, sizeof(info));
	if (reply->problem != NULL) {
		/* A deactivated account's key is refused (RFC 8555 section
		 * 7.3.6); the key is useless from then on. */
		if (acme_problem_is(reply->problem, "unauthorized") && !e->acct->key_created) {
			snprintf(message, sizeof(message),
			         "%s; if the account was deactivated, move %s away: a new "
			         "account is registered on the next run",
			         reply->message, e->acct->dir);
		} else {
			snprintf(message, sizeof(message), "%s", reply->message);
		}
		goto out;
	}
	if (reply->location == NULL || !http_url_ok(reply->location)) {
		snprintf(message, sizeof(message), "%s: %ld: no account URL in Location",
		         reply->url, reply->status);
		goto out;
	}
	if (acme_parse_account(reply->body, reply->body_len, &info, err, sizeof(err)) < 0) {
		snprintf(message, sizeof(message), "%s: account: %s", reply->url, err);
		goto out;
	}
	if (info.status != ACME_STATUS_VALID) {
		snprintf(message, sizeof(message),
		         "%s: the account is %s: move %s away: a new account is registered on "
		         "the next run",
		         reply->location, acme_status_name(info.status), e->acct->dir);
		goto out;
	}
	if (e->acct->key_created) {
		if (file_mkdirs(e->acct->dir, 0700) < 0 ||
		    key_save(e->acct->key, e->acct->key_path) < 0) {
			snprintf(message, sizeof(message), "cannot save the account key");
			goto out;
		}
		e->acct->key_created = false;
		log_info("created account key %s", e->acct->key_path);
	}
	if (save_url(e->acct, reply->location, &info, acme_client_directory_url(e->client)) < 0) {
		snprintf(message, sizeof(message), "cannot save the account");
		goto out;
	}
	log_info("account %s", e->acct->url);
	message[0] = '\0';
	rc = ACME_ACCOUNT_OK;
out:
	acme_parse_account_finish(&info);
	finish(e, rc, message);
}

static json_t *
eab_member(struct ensure *e, const char *new_account_url, char *message, size_t len)
{
	unsigned char *hmac = NULL;
	size_t hmac_len = 0;
	json_t *jws = NULL;

	if (b64_decode(e->opts->eab_hmac_key, strlen(e->opts->eab_hmac_key), &hmac, &hmac_len) <
	    0) {
		snprintf(message, len, "eab-hmac-key is not base64url");
		return NULL;
	}
	jws = jws_sign_eab(e->opts->eab_alg != NULL ? e->opts->eab_alg : "HS256", e->opts->eab_kid,
	                   hmac, hmac_len, e->acct->key, new_account_url);
	OPENSSL_cleanse(hmac, hmac_len);
	free(hmac);
	if (jws == NULL) {
		snprintf(message, len, "cannot sign the external account binding");
	}
	return jws;
}

static void
register_account(struct ensure *e)
{
	const struct acme_directory *dir = acme_client_directory(e->client);
	json_t *payload = NULL;
	json_t *contacts = NULL;
	json_t *eab = NULL;
	char *text = NULL;
	char message[1024];

	if (dir->terms_of_service != NULL && !e->opts->agree_tos) {
		snprintf(message, sizeof(message),
		         "registering an account needs agreement to the CA's terms of service "
		         "at %s: set agree-tos = yes or pass --agree-tos",
		         dir->terms_of_service);
		finish(e, ACME_ACCOUNT_USAGE, message);
		goto out;
	}
	if ((e->opts->eab_kid == NULL) != (e->opts->eab_hmac_key == NULL)) {
		snprintf(message, sizeof(message),
		         "external account binding needs both eab-kid and eab-hmac-key (or "
		         "--eab-kid and --eab-hmac-key); only %s is set",
		         e->opts->eab_kid != NULL ? "eab-kid" : "eab-hmac-key");
		finish(e, ACME_ACCOUNT_USAGE, message);
		goto out;
	}
	if (dir->external_account_required && e->opts->eab_kid == NULL) {
		snprintf(message, sizeof(message),
		         "%s requires external account binding: set eab-kid and eab-hmac-key "
		         "(or --eab-kid and --eab-hmac-key) to the values the CA gave you",
		         acme_client_directory_url(e->client));
		finish(e, ACME_ACCOUNT_USAGE, message);
		goto out;
	}
	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < e->opts->n_emails; i++) {
		json_array_append_new(contacts, json_pack("s+", "mailto:", e->opts->emails[i]));
	}
	payload = json_pack("{s:b, s:O}", "termsOfServiceAgreed", e->opts->agree_tos ? 1 : 0,
	                    "contact", contacts);
	if (payload != NULL && e->opts->eab_kid != NULL) {
		eab = eab_member(e, dir->new_account, message, sizeof(message));
		if (eab == NULL) {
			finish(e, ACME_ACCOUNT_USAGE, message);
			goto out;
		}
		json_object_set(payload, "externalAccountBinding", eab);
	}
	if (payload != NULL) {
		text = json_dumps(payload, JSON_COMPACT);
	}
	if (text == NULL) {
		finish(e, ACME_ACCOUNT_FAILED, "out of memory");
		goto out;
	}
	if (acme_client_post(e->client, dir->new_account, e->acct->key, NULL, text, on_account, e) <
	    0) {
		finish(e, ACME_ACCOUNT_FAILED, "cannot send newAccount");
	}
out:
	free(text);
	json_decref(eab);
	json_decref(contacts);
	json_decref(payload);
}

static void
on_existing(const struct acme_reply *reply, void *arg)
{
	struct ensure *e = arg;
	char message[1024];

	/* RFC 8555 section 7.3.1: accountDoesNotExist means the key is not
	 * registered: go on with a registration. */
	if (reply->problem == NULL || !acme_problem_is(reply->problem, "accountDoesNotExist")) {
		on_account(reply, arg);
	} else if (e->acct->foreign_url != NULL) {
		/* The key of account.json's account is gone: like a lost key,
		 * a new account is the operator's call. */
		snprintf(message, sizeof(message),
		         "%s is not the key of the account %s in %s, and the CA knows no account "
		         "for it: put that account's key back as account.key (account.key.prev "
		         "after a rollover), or move %s away to register a new account with this "
		         "key",
		         e->acct->key_path, e->acct->foreign_url, e->acct->json_path,
		         e->acct->json_path);
		finish(e, ACME_ACCOUNT_FAILED, message);
	} else if (e->opts == NULL) {
		finish(e, ACME_ACCOUNT_NOT_FOUND, reply->message);
	} else {
		register_account(e);
	}
}

/* RFC 8555 section 7.3.1: newAccount with onlyReturnExisting finds the
 * account of a key without creating one. */
static int
find_existing(struct ensure *e)
{
	const struct acme_directory *dir = acme_client_directory(e->client);

	log_info("%s: looking up the account for %s", dir->new_account, e->acct->key_path);
	return acme_client_post(e->client, dir->new_account, e->acct->key, NULL,
	                        "{\"onlyReturnExisting\":true}", on_existing, e);
}

enum acme_account_result
acme_account_reg_ensure(struct acme_client *client, struct acme_account_handle *acct,
                        const struct acme_account_reg_options *opts, bool force,
                        acme_account_done_fn done, void *arg)
{
	char holder[STORE_LOCK_HOLDER_LEN];
	struct ensure *e = NULL;
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	if (acct->url != NULL && !force) {
		rc = ACME_ACCOUNT_KNOWN;
		goto out;
	}
	if (acme_client_directory(client) == NULL) {
		log_error("no directory");
		goto out;
	}
	e = ensure_create(client, acct, done, arg);
	if (e == NULL) {
		goto out;
	}
	e->opts = opts;
	/* The job runner registers again, in the daemon's loop, when the CA
	 * forgot the account: it holds no lock, and must not wait for one. */
	if (force) {
		e->lock = acme_account_lock_try(acct, holder);
		if (e->lock == NULL) {
			if (errno == EWOULDBLOCK) {
				log_error("account: %s is held by %s; not registering again now",
				          acct->lock_path, holder);
			}
			goto out;
		}
	}
	if (!acct->key_created && acct->url == NULL) {
		if (find_existing(e) < 0) {
			goto out;
		}
	} else {
		/* reports through done, even when it fails at once */
		register_account(e);
	}
	e = NULL;
	rc = ACME_ACCOUNT_OK;
out:
	ensure_free(e);
	return rc;
}

enum acme_account_result
acme_account_reg_lookup(struct acme_client *client, struct acme_account_handle *acct,
                        acme_account_done_fn done, void *arg)
{
	struct ensure *e = NULL;
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	if (acme_client_directory(client) == NULL || acct->key_created) {
		log_error("%s: no directory or no account key", acme_client_directory_url(client));
		goto out;
	}
	e = ensure_create(client, acct, done, arg);
	if (e != NULL && find_existing(e) == 0) {
		/* done owns e now */
		e = NULL;
		rc = ACME_ACCOUNT_OK;
	}
out:
	ensure_free(e);
	return rc;
}

/* Installs the key of an interrupted rollover that the CA took: the old
 * one as account.key.prev, then account.key, then account.json, in the
 * order of acme_account_ops_rollover. Returns 0 or -1 (message set). */
static int
install_pending(struct ensure *e, char *message, size_t len)
{
	struct acme_account_handle *acct = e->acct;
	int rc = -1;

	if (acme_account_install_key(acct, &e->new_key) < 0) {
		snprintf(message, len,
		         "the CA knows the account by %s, but %s could not be replaced: "
		         "move the one to the other",
		         e->new_path, acct->key_path);
		goto out;
	}
	if (acme_account_save(acct, acme_client_directory_url(e->client)) < 0) {
		snprintf(message, len, "cannot save the account");
		goto out;
	}
	if (unlink(e->new_path) < 0) {
		log_warn("%s: cannot remove: %s", e->new_path, strerror(errno));
	}
	rc = 0;
out:
	return rc;
}

/* The CA's answer to onlyReturnExisting signed by account.key.new: it
 * knows the account by that key when the rollover went through. */
static void
on_pending(const struct acme_reply *reply, void *arg)
{
	struct ensure *e = arg;
	char message[1024];
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	message[0] = '\0';
	if (reply->problem != NULL && acme_problem_is(reply->problem, "accountDoesNotExist")) {
		if (unlink(e->new_path) < 0 && errno != ENOENT) {
			snprintf(message, sizeof(message), "%s: cannot remove: %s", e->new_path,
			         strerror(errno));
			goto out;
		}
		log_info("%s: left by a rollover the CA never saw; removed", e->new_path);
		rc = ACME_ACCOUNT_OK;
		goto out;
	}
	if (reply->problem != NULL) {
		snprintf(message, sizeof(message),
		         "%s; %s is left by an interrupted rollover: acmed cannot tell whether the "
		         "CA took it until the CA answers",
		         reply->message, e->new_path);
		goto out;
	}
	if (reply->location == NULL || !http_url_ok(reply->location) ||
	    (e->acct->url != NULL && strcmp(reply->location, e->acct->url) != 0)) {
		snprintf(message, sizeof(message),
		         "%s is the key of the account %s, not of %s: move it away", e->new_path,
		         reply->location != NULL ? reply->location : "(unknown)",
		         e->acct->url != NULL ? e->acct->url : "(none)");
		goto out;
	}
	/* account.json was lost too: the CA just said which account. */
	if (e->acct->url == NULL) {
		e->acct->url = strdup(reply->location);
		if (e->acct->url == NULL) {
			snprintf(message, sizeof(message), "out of memory");
			goto out;
		}
	}
	if (install_pending(e, message, sizeof(message)) < 0) {
		goto out;
	}
	log_info("%s: the CA took the key of an interrupted rollover; %s is that key now",
	         e->acct->url, e->acct->key_path);
	rc = ACME_ACCOUNT_OK;
out:
	finish(e, rc, message);
}

enum acme_account_result
acme_account_reg_resume_rollover(struct acme_client *client, struct acme_account_handle *acct,
                                 acme_account_done_fn done, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct ensure *e = NULL;
	enum acme_account_result rc = ACME_ACCOUNT_FAILED;

	e = ensure_create(client, acct, done, arg);
	if (e == NULL) {
		goto out;
	}
	e->new_path = store_account_in(acct->dir, STORE_ACCOUNT_KEY_NEW);
	if (e->new_path == NULL) {
		log_error("%s: path too long", acct->dir);
		goto out;
	}
	if (access(e->new_path, F_OK) < 0 || acct->key_created) {
		rc = ACME_ACCOUNT_NO_ROLLOVER;
		goto out;
	}
	if (dir == NULL) {
		log_error("no directory");
		goto out;
	}
	e->new_key = acme_account_read_key(e->new_path, acct->dir);
	if (e->new_key == NULL) {
		/* acme_account_read_key said what to do */
		goto out;
	}
	/* RFC 8555 section 7.3.1: whether the CA knows an account by the
	 * new key tells whether the keyChange went through. */
	log_info("%s: left by an interrupted rollover; asking the CA whether it took it",
	         e->new_path);
	if (acme_client_post(client, dir->new_account, e->new_key, NULL,
	                     "{\"onlyReturnExisting\":true}", on_pending, e) < 0) {
		goto out;
	}
	e = NULL;
	rc = ACME_ACCOUNT_OK;
out:
	ensure_free(e);
	return rc;
}
