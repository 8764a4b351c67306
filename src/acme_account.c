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
	const struct conf_settings *s;
	acme_account_done_fn done;
	void *arg;
};

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

static int
load_url(struct acme_account_handle *acct)
{
	json_error_t jerr;
	json_t *root = NULL;
	const char *url = NULL;
	char *text;
	size_t len;
	int rc = -1;

	text = store_read_file(acct->json_path, ACCOUNT_JSON_MAX, &len);
	if (text == NULL) {
		if (errno == ENOENT) {
			return 0;
		}
		log_error("%s: %s", acct->json_path, strerror(errno));
		return -1;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || json_unpack(root, "{s:s}", "url", &url) != 0 || !http_url_ok(url)) {
		log_error("%s: not an account file (no https \"url\"); move it away to recover "
		          "the account",
		          acct->json_path);
		goto out;
	}
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
	free(acct->url);
	free(acct->dir);
	free(acct->key_path);
	free(acct->json_path);
	memset(acct, 0, sizeof(*acct));
}

static int
save_url(struct acme_account_handle *acct, const char *url, const char *directory_url,
         const struct conf_settings *s)
{
	json_t *root = NULL;
	json_t *contacts = NULL;
	char *text = NULL;
	char *copy = NULL;
	int rc = -1;

	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < s->n_emails; i++) {
		json_array_append_new(contacts, json_pack("s+", "mailto:", s->emails[i]));
	}
	root = json_pack("{s:s, s:s, s:O*}", "url", url, "directory", directory_url, "contact",
	                 contacts);
	if (root != NULL) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	}
	copy = strdup(url);
	if (text == NULL || copy == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (store_write_atomic(acct->json_path, text, strlen(text), 0600) < 0) {
		goto out;
	}
	free(acct->url);
	acct->url = copy;
	copy = NULL;
	rc = 0;
out:
	free(copy);
	free(text);
	json_decref(root);
	json_decref(contacts);
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

	if (reply->problem != NULL) {
		finish(e, -1, reply->message);
		return;
	}
	if (reply->location == NULL || !http_url_ok(reply->location)) {
		snprintf(message, sizeof(message), "%s: %ld: no account URL in Location",
		         reply->url, reply->status);
		finish(e, -1, message);
		return;
	}
	if (acme_parse_account(reply->body, reply->body_len, &info, err, sizeof(err)) < 0) {
		snprintf(message, sizeof(message), "%s: account: %s", reply->url, err);
		finish(e, -1, message);
		return;
	}
	if (info.status != ACME_STATUS_VALID) {
		snprintf(message, sizeof(message),
		         "%s: the account is %s; a new account key is needed (move %s away)",
		         reply->location, acme_status_name(info.status), e->acct->key_path);
		acme_account_finish(&info);
		finish(e, -1, message);
		return;
	}
	acme_account_finish(&info);
	if (e->acct->key_created) {
		if (store_mkdirs(e->acct->dir, 0700) < 0 ||
		    key_save(e->acct->key, e->acct->key_path) < 0) {
			finish(e, -1, "cannot save the account key");
			return;
		}
		e->acct->key_created = false;
		log_info("created account key %s", e->acct->key_path);
	}
	if (save_url(e->acct, reply->location, acme_client_directory_url(e->client), e->s) < 0) {
		finish(e, -1, "cannot save the account");
		return;
	}
	log_info("account %s", e->acct->url);
	finish(e, 0, "");
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
	if (reply->problem != NULL && acme_problem_is(reply->problem, "accountDoesNotExist")) {
		register_account(e);
		return;
	}
	on_account(reply, arg);
}

int
acme_account_ensure(struct acme_client *client, struct acme_account_handle *acct,
                    const struct conf_settings *s, bool force, acme_account_done_fn done, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct ensure *e;

	if (acct->url != NULL && !force) {
		return 1;
	}
	if (dir == NULL) {
		log_error("no directory");
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		log_error("out of memory");
		return -1;
	}
	e->client = client;
	e->acct = acct;
	e->s = s;
	e->done = done;
	e->arg = arg;
	if (!acct->key_created && acct->url == NULL) {
		log_info("%s: looking up the account for %s", dir->new_account, acct->key_path);
		if (acme_client_post(client, dir->new_account, acct->key, NULL,
		                     "{\"onlyReturnExisting\":true}", on_existing, e) < 0) {
			free(e);
			return -1;
		}
		return 0;
	}
	register_account(e);
	return 0;
}
