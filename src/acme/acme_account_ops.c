#include "acme/acme_account_ops.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_account.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "base/log.h"
#include "base/file.h"

#define MESSAGE_LEN 1024

/* What the reply must show for the operation to have worked. */
enum op_kind {
	OP_FETCH,
	OP_UPDATE,
	OP_DEACTIVATE,
	OP_ROLLOVER,
};

struct op {
	enum op_kind kind;
	struct acme_client *client;
	struct acme_account_handle *acct;
	EVP_PKEY *new_key; /* rollover: owned until installed */
	char *new_path; /* rollover: account.key.new */
	acme_account_done_fn done;
	void *arg;
};

static void
op_free(struct op *op)
{
	if (op != NULL) {
		EVP_PKEY_free(op->new_key);
		free(op->new_path);
		free(op);
	}
}

static struct op *
op_create(enum op_kind kind, struct acme_client *client, struct acme_account_handle *acct,
          acme_account_done_fn done, void *arg)
{
	struct op *op = NULL;

	if (acct->url == NULL || acme_client_directory(client) == NULL) {
		log_error("%s: no account URL or no directory yet",
		          acme_client_directory_url(client));
		goto out;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		log_error("out of memory");
		goto out;
	}
	op->kind = kind;
	op->client = client;
	op->acct = acct;
	op->done = done;
	op->arg = arg;
out:
	return op;
}

static void
op_finish(struct op *op, int rc, const char *message)
{
	op->done(rc, message, op->arg);
	op_free(op);
}

/* The CA could not check the signature of the account's key: account.key
 * and account.json's URL are of two accounts. Pebble says "JWS
 * verification error" or "signature type ... not supported" (malformed);
 * RFC 8555 section 6.2 names badSignatureAlgorithm for the latter. */
static bool
bad_signature(const struct acme_reply *reply)
{
	return acme_problem_is(reply->problem, "badSignatureAlgorithm") ||
	       (reply->message != NULL && (strstr(reply->message, "JWS verification") != NULL ||
	                                   strstr(reply->message, "signature type") != NULL));
}

/* The account object in the reply of a POST to the account URL (RFC 8555
 * section 7.3.2): recorded in acct, and saved unless it was only fetched. */
static void
on_account(const struct acme_reply *reply, void *arg)
{
	struct op *op = arg;
	struct acme_account info;
	char err[256];
	char message[MESSAGE_LEN];
	int rc = -1;

	memset(&info, 0, sizeof(info));
	if (reply->problem != NULL && bad_signature(reply)) {
		snprintf(message, sizeof(message),
		         "%s; %s does not hold the key of the account %s: if account.key is the "
		         "right one, move %s away and its account is looked up again",
		         reply->message, op->acct->key_path, op->acct->url, op->acct->json_path);
		goto out;
	}
	if (reply->problem != NULL) {
		snprintf(message, sizeof(message), "%s", reply->message);
		goto out;
	}
	if (acme_parse_account(reply->body, reply->body_len, &info, err, sizeof(err)) < 0) {
		snprintf(message, sizeof(message), "%s: account: %s", reply->url, err);
		goto out;
	}
	if (op->kind == OP_DEACTIVATE && info.status != ACME_STATUS_DEACTIVATED) {
		snprintf(message, sizeof(message), "%s: deactivate: the CA answered status %s",
		         reply->url, acme_status_name(info.status));
		goto out;
	}
	if (acme_account_set_contacts(op->acct, info.contacts, info.n_contacts) < 0) {
		snprintf(message, sizeof(message), "out of memory");
		goto out;
	}
	op->acct->status = info.status;
	if (op->kind != OP_FETCH &&
	    acme_account_save(op->acct, acme_client_directory_url(op->client)) < 0) {
		snprintf(message, sizeof(message),
		         "%s: the CA changed the account but %s could not "
		         "be updated",
		         reply->url, op->acct->json_path);
		goto out;
	}
	message[0] = '\0';
	rc = 0;
out:
	acme_parse_account_finish(&info);
	op_finish(op, rc, message);
}

/* Posts payload (NULL: POST-as-GET) to the account URL. */
static int
post_account(enum op_kind kind, struct acme_client *client, struct acme_account_handle *acct,
             const char *payload, acme_account_done_fn done, void *arg)
{
	struct op *op;
	int rc = -1;

	op = op_create(kind, client, acct, done, arg);
	if (op == NULL) {
		goto out;
	}
	if (acme_client_post(client, acct->url, acct->key, acct->url, payload, on_account, op) <
	    0) {
		goto out;
	}
	op = NULL;
	rc = 0;
out:
	op_free(op);
	return rc;
}

int
acme_account_ops_fetch(struct acme_client *client, struct acme_account_handle *acct,
                       acme_account_done_fn done, void *arg)
{
	return post_account(OP_FETCH, client, acct, NULL, done, arg);
}

int
acme_account_ops_update(struct acme_client *client, struct acme_account_handle *acct,
                        char *const *emails, size_t n_emails, acme_account_done_fn done, void *arg)
{
	json_t *contacts = NULL;
	json_t *payload = NULL;
	char *text = NULL;
	int rc = -1;

	contacts = json_array();
	for (size_t i = 0; contacts != NULL && i < n_emails; i++) {
		if (json_array_append_new(contacts, json_pack("s+", "mailto:", emails[i])) < 0) {
			goto out;
		}
	}
	/* RFC 8555 section 7.3.2: the new list replaces the old one. */
	payload = json_pack("{s:O}", "contact", contacts);
	if (payload != NULL) {
		text = json_dumps(payload, JSON_COMPACT);
	}
	if (text == NULL) {
		log_error("out of memory");
		goto out;
	}
	rc = post_account(OP_UPDATE, client, acct, text, done, arg);
out:
	free(text);
	json_decref(payload);
	json_decref(contacts);
	return rc;
}

int
acme_account_ops_deactivate(struct acme_client *client, struct acme_account_handle *acct,
                            acme_account_done_fn done, void *arg)
{
	/* RFC 8555 section 7.3.6. */
	return post_account(OP_DEACTIVATE, client, acct, "{\"status\":\"deactivated\"}", done, arg);
}

json_t *
acme_account_ops_key_change(EVP_PKEY *old_key, EVP_PKEY *new_key, const char *account_url,
                            const char *key_change_url)
{
	json_t *old_jwk = NULL;
	json_t *payload = NULL;
	json_t *inner = NULL;
	char *text = NULL;

	old_jwk = jws_jwk(old_key);
	if (old_jwk == NULL) {
		goto out;
	}
	payload = json_pack("{s:s, s:O}", "account", account_url, "oldKey", old_jwk);
	if (payload != NULL) {
		text = json_dumps(payload, JSON_COMPACT);
	}
	if (text == NULL) {
		log_error("keyChange: out of memory");
		goto out;
	}
	/* RFC 8555 section 7.3.5: the inner JWS has the new key as jwk, the
	 * same url as the outer one, and no nonce. */
	inner = jws_sign(new_key, NULL, NULL, key_change_url, text);
out:
	free(text);
	json_decref(payload);
	json_decref(old_jwk);
	return inner;
}

static void
on_rollover(const struct acme_reply *reply, void *arg)
{
	struct op *op = arg;
	struct acme_account_handle *acct = op->acct;
	char message[MESSAGE_LEN];
	int rc = -1;

	if (reply->problem != NULL) {
		/* The CA still knows the account by the old key. */
		if (unlink(op->new_path) < 0 && errno != ENOENT) {
			log_warn("%s: cannot remove: %s", op->new_path, strerror(errno));
		}
		snprintf(message, sizeof(message), "%s", reply->message);
		goto out;
	}
	/* From here on the CA knows the account by the new key only: it must
	 * end up in account.key whatever else fails. */
	if (acme_account_install_key(acct, &op->new_key) < 0) {
		snprintf(message, sizeof(message),
		         "%s: the CA accepted the new key but %s could not be replaced: move %s to "
		         "%s",
		         reply->url, acct->key_path, op->new_path, acct->key_path);
		goto out;
	}
	/* account.key first, then account.json with the new thumbprint: a
	 * crash in between leaves a key whose URL is looked up again. */
	if (acme_account_save(acct, acme_client_directory_url(op->client)) < 0) {
		log_warn("%s: not updated; the account's URL is looked up again on the next run",
		         acct->json_path);
	}
	if (unlink(op->new_path) < 0) {
		log_warn("%s: cannot remove: %s", op->new_path, strerror(errno));
	}
	message[0] = '\0';
	rc = 0;
out:
	op_finish(op, rc, message);
}

int
acme_account_ops_rollover(struct acme_client *client, struct acme_account_handle *acct,
                          EVP_PKEY *new_key, acme_account_done_fn done, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct op *op = NULL;
	json_t *inner = NULL;
	char *payload = NULL;
	bool saved = false;
	int rc = -1;

	op = op_create(OP_ROLLOVER, client, acct, done, arg);
	if (op == NULL) {
		EVP_PKEY_free(new_key);
		goto out;
	}
	op->new_key = new_key;
	if (dir->key_change == NULL) {
		log_error("%s: the CA offers no keyChange", acme_client_directory_url(client));
		goto out;
	}
	inner = acme_account_ops_key_change(acct->key, new_key, acct->url, dir->key_change);
	if (inner != NULL) {
		payload = json_dumps(inner, JSON_COMPACT);
	}
	op->new_path = store_account_in(acct->dir, STORE_ACCOUNT_KEY_NEW);
	if (payload == NULL || op->new_path == NULL) {
		log_error("keyChange: cannot build the request");
		goto out;
	}
	/* Saved before the CA hears of it: were acmed to die between the CA's
	 * answer and the replacement of account.key, the key would be here. */
	if (key_save(new_key, op->new_path) < 0) {
		goto out;
	}
	saved = true;
	if (acme_client_post(client, dir->key_change, acct->key, acct->url, payload, on_rollover,
	                     op) < 0) {
		goto out;
	}
	op = NULL;
	rc = 0;
out:
	if (op != NULL && saved) {
		unlink(op->new_path);
	}
	op_free(op);
	free(payload);
	json_decref(inner);
	return rc;
}
