#include "acme_account.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "jws.h"
#include "key.h"
#include "log.h"
#include "store.h"

#define ACCOUNT_JSON_MAX (64 * 1024)

struct ensure {
	struct acme_client *client;
	struct acme_account_handle *acct;
	const struct conf_settings *s; /* NULL for a lookup */
	acme_account_done_fn done;
	void *arg;
};

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

static int
load_url(struct acme_account_handle *acct)
{
	json_error_t jerr;
	json_t *root = NULL;
	json_t *contacts = NULL;
	const char *url = NULL;
	const char *status = NULL;
	char *text;
	size_t len;
	int rc = -1;

	text = store_read_file(acct->json_path, ACCOUNT_JSON_MAX, &len);
	if (text == NULL) {
		if (errno == ENOENT) {
			/* not registered yet, or account.json was lost */
			rc = 0;
		} else {
			log_error("%s: %s", acct->json_path, strerror(errno));
		}
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL ||
	    json_unpack(root, "{s:s, s?o, s?s}", "url", &url, "contact", &contacts, "status",
	                &status) != 0 ||
	    !http_url_ok(url) || load_contacts(acct, contacts) < 0) {
		log_error("%s: not an account file (no https \"url\"); move it away to recover "
		          "the account",
		          acct->json_path);
		goto out;
	}
	acct->status = status != NULL ? acme_status_parse(status) : ACME_STATUS_UNKNOWN;
	acct->url = strdup(url);
	if (acct->url == NULL) {
		log_error("out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

int
acme_account_open(struct acme_account_handle *acct, const char *state_dir,
                  const char *directory_url, enum key_type type)
{
	char *host = NULL;
	int rc = -1;

	memset(acct, 0, sizeof(*acct));
	host = acme_account_ca_dir(directory_url);
	if (host == NULL) {
		log_error("%s: no usable host name in the directory URL", directory_url);
		goto out;
	}
	acct->dir = store_path(state_dir, "accounts", host, "default", NULL);
	acct->key_path = store_path(state_dir, "accounts", host, "default", "account.key", NULL);
	acct->json_path = store_path(state_dir, "accounts", host, "default", "account.json", NULL);
	if (acct->dir == NULL || acct->key_path == NULL || acct->json_path == NULL) {
		log_error("%s: path too long", state_dir);
		goto out;
	}
	if (access(acct->key_path, F_OK) == 0) {
		acct->key = key_load(acct->key_path);
		if (acct->key == NULL) {
			goto out;
		}
	} else {
		/* Saved once the CA accepted the registration, so that a
		 * refused one leaves no state behind. */
		acct->key = key_generate(type);
		if (acct->key == NULL) {
			goto out;
		}
		acct->key_created = true;
	}
	if (load_url(acct) < 0) {
		goto out;
	}
	rc = 0;
out:
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
	for (size_t i = 0; i < acct->n_contacts; i++) {
		free(acct->contacts[i]);
	}
	free(acct->contacts);
	free(acct->url);
	free(acct->dir);
	free(acct->key_path);
	free(acct->json_path);
	memset(acct, 0, sizeof(*acct));
}

int
acme_account_save(const struct acme_account_handle *acct, const char *directory_url)
{
	json_t *root = NULL;
	json_t *contacts = NULL;
	char *text = NULL;
	int rc = -1;

	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < acct->n_contacts; i++) {
		json_array_append_new(contacts, json_string(acct->contacts[i]));
	}
	root = json_pack("{s:s, s:s, s:O*}", "url", acct->url, "directory", directory_url,
	                 "contact", contacts);
	if (root != NULL && acct->status != ACME_STATUS_UNKNOWN) {
		json_object_set_new(root, "status", json_string(acme_status_name(acct->status)));
	}
	if (root != NULL) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	}
	if (text == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (store_write_atomic(acct->json_path, text, strlen(text), 0600) < 0) {
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(root);
	json_decref(contacts);
	return rc;
}

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

static void
finish(struct ensure *e, int rc, const char *message)
{
	e->done(rc, message, e->arg);
	free(e);
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
	int rc = -1;

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
		if (store_mkdirs(e->acct->dir, 0700) < 0 ||
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
	rc = 0;
out:
	acme_account_finish(&info);
	finish(e, rc, message);
}

static json_t *
eab_member(struct ensure *e, const char *new_account_url, char *message, size_t len)
{
	unsigned char *hmac = NULL;
	size_t hmac_len = 0;
	json_t *jws = NULL;

	if (b64_decode(e->s->eab_hmac_key, strlen(e->s->eab_hmac_key), &hmac, &hmac_len) < 0) {
		snprintf(message, len, "eab-hmac-key is not base64url");
		return NULL;
	}
	jws = jws_sign_eab(e->s->eab_alg != NULL ? e->s->eab_alg : "HS256", e->s->eab_kid, hmac,
	                   hmac_len, e->acct->key, new_account_url);
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

	if (dir->terms_of_service != NULL && !e->s->agree_tos) {
		snprintf(message, sizeof(message),
		         "registering an account needs agreement to the CA's terms of service "
		         "at %s: set agree-tos = yes or pass --agree-tos",
		         dir->terms_of_service);
		finish(e, -2, message);
		goto out;
	}
	if ((e->s->eab_kid == NULL) != (e->s->eab_hmac_key == NULL)) {
		snprintf(message, sizeof(message),
		         "external account binding needs both eab-kid and eab-hmac-key (or "
		         "--eab-kid and --eab-hmac-key); only %s is set",
		         e->s->eab_kid != NULL ? "eab-kid" : "eab-hmac-key");
		finish(e, -2, message);
		goto out;
	}
	if (dir->external_account_required && e->s->eab_kid == NULL) {
		snprintf(message, sizeof(message),
		         "%s requires external account binding: set eab-kid and eab-hmac-key "
		         "(or --eab-kid and --eab-hmac-key) to the values the CA gave you",
		         acme_client_directory_url(e->client));
		finish(e, -2, message);
		goto out;
	}
	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < e->s->n_emails; i++) {
		json_array_append_new(contacts, json_pack("s+", "mailto:", e->s->emails[i]));
	}
	payload = json_pack("{s:b, s:O}", "termsOfServiceAgreed", e->s->agree_tos ? 1 : 0,
	                    "contact", contacts);
	if (payload != NULL && e->s->eab_kid != NULL) {
		eab = eab_member(e, dir->new_account, message, sizeof(message));
		if (eab == NULL) {
			finish(e, -2, message);
			goto out;
		}
		json_object_set(payload, "externalAccountBinding", eab);
	}
	if (payload != NULL) {
		text = json_dumps(payload, JSON_COMPACT);
	}
	if (text == NULL) {
		finish(e, -1, "out of memory");
		goto out;
	}
	if (acme_client_post(e->client, dir->new_account, e->acct->key, NULL, text, on_account, e) <
	    0) {
		finish(e, -1, "cannot send newAccount");
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

	/* RFC 8555 section 7.3.1: accountDoesNotExist means the key is not
	 * registered: go on with a registration. */
	if (reply->problem == NULL || !acme_problem_is(reply->problem, "accountDoesNotExist")) {
		on_account(reply, arg);
	} else if (e->s == NULL) {
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

int
acme_account_ensure(struct acme_client *client, struct acme_account_handle *acct,
                    const struct conf_settings *s, bool force, acme_account_done_fn done, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct ensure *e = NULL;
	int rc = -1;

	if (acct->url != NULL && !force) {
		rc = 1;
		goto out;
	}
	if (dir == NULL) {
		log_error("no directory");
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_error("out of memory");
		goto out;
	}
	e->client = client;
	e->acct = acct;
	e->s = s;
	e->done = done;
	e->arg = arg;
	if (!acct->key_created && acct->url == NULL) {
		if (find_existing(e) < 0) {
			goto out;
		}
	} else {
		/* reports through done, even when it fails at once */
		register_account(e);
	}
	e = NULL;
	rc = 0;
out:
	free(e);
	return rc;
}

int
acme_account_lookup(struct acme_client *client, struct acme_account_handle *acct,
                    acme_account_done_fn done, void *arg)
{
	struct ensure *e = NULL;
	int rc = -1;

	if (acme_client_directory(client) == NULL || acct->key_created) {
		log_error("%s: no directory or no account key", acme_client_directory_url(client));
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_error("out of memory");
		goto out;
	}
	e->client = client;
	e->acct = acct;
	e->done = done;
	e->arg = arg;
	if (find_existing(e) < 0) {
		goto out;
	}
	e = NULL;
	rc = 0;
out:
	free(e);
	return rc;
}
