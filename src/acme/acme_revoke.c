#include "acme/acme_revoke.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "base/log.h"

/* The CRLReason codes (RFC 5280 section 5.3.1) that CAs accept from ACME
 * clients, sorted by code: the others (cACompromise, certificateHold,
 * removeFromCRL, privilegeWithdrawn, aACompromise) are for CAs themselves. */
static const struct {
	int code;
	const char *name;
} reasons[] = {
        {0, "unspecified"}, {1, "keyCompromise"},        {3, "affiliationChanged"},
        {4, "superseded"},  {5, "cessationOfOperation"},
};

#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

struct revoke {
	acme_revoke_done_fn done;
	void *arg;
};

const char *
acme_revoke_reason_name(int code)
{
	const char *name = NULL;

	for (size_t i = 0; i < N_REASONS; i++) {
		if (reasons[i].code == code) {
			name = reasons[i].name;
		}
	}
	return name;
}

/* "unspecified (0), keyCompromise (1), ..." into buf. */
static void
list_reasons(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_REASONS && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s (%d)", i > 0 ? ", " : "", reasons[i].name,
		                 reasons[i].code);

		if (w < 0) {
			break;
		}
		n += (size_t)w;
	}
}

int
acme_revoke_reason_parse(const char *s, int *code, char *err, size_t errlen)
{
	char list[256];
	char *end = NULL;
	long number;
	int rc = -1;

	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		number = strtol(s, &end, 10);
		if (errno == 0 && *end == '\0' && number <= 10 &&
		    acme_revoke_reason_name((int)number) != NULL) {
			*code = (int)number;
			rc = 0;
			goto out;
		}
	} else {
		for (size_t i = 0; i < N_REASONS; i++) {
			if (strcasecmp(s, reasons[i].name) == 0) {
				*code = reasons[i].code;
				rc = 0;
				goto out;
			}
		}
	}
	list_reasons(list, sizeof(list));
	snprintf(err, errlen, "'%s' is not a revocation reason: use one of %s", s, list);
out:
	return rc;
}

bool
acme_revoke_key_matches(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	return pub != NULL && key != NULL && EVP_PKEY_eq(pub, key) == 1;
}

char *
acme_revoke_payload(X509 *cert, int reason)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	char *text = NULL;
	json_t *root = NULL;
	int len;

	len = i2d_X509(cert, &der);
	if (len <= 0) {
		log_openssl("revoke: cannot encode the certificate");
		goto out;
	}
	b64 = b64_encode(der, (size_t)len);
	if (b64 == NULL) {
		log_error("revoke: out of memory");
		goto out;
	}
	if (reason == ACME_REVOKE_REASON_NONE) {
		root = json_pack("{s:s}", "certificate", b64);
	} else {
		root = json_pack("{s:s, s:i}", "certificate", b64, "reason", reason);
	}
	if (root != NULL) {
		text = json_dumps(root, JSON_COMPACT);
	}
	if (text == NULL) {
		log_error("revoke: out of memory");
	}
out:
	json_decref(root);
	free(b64);
	OPENSSL_free(der);
	return text;
}

static void
on_revoke(const struct acme_reply *reply, void *arg)
{
	struct revoke *r = arg;

	/* RFC 8555 section 7.6: 200 and nothing else on success; a problem
	 * document (alreadyRevoked, unauthorized, badRevocationReason)
	 * otherwise. */
	if (acme_problem_is(reply->problem, "alreadyRevoked")) {
		r->done(ACME_REVOKE_ALREADY, reply->message, r->arg);
	} else if (reply->problem != NULL) {
		r->done(-1, reply->message, r->arg);
	} else {
		r->done(0, "", r->arg);
	}
	free(r);
}

int
acme_revoke_start(struct acme_client *client, X509 *cert, int reason, EVP_PKEY *key,
                  const char *kid, acme_revoke_done_fn done, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct revoke *r = NULL;
	char *payload = NULL;
	int rc = -1;

	if (dir == NULL || dir->revoke_cert == NULL) {
		log_error("%s: the directory has no revokeCert", acme_client_directory_url(client));
		goto out;
	}
	if (reason != ACME_REVOKE_REASON_NONE && acme_revoke_reason_name(reason) == NULL) {
		log_error("revoke: reason %d is not one ACME CAs accept", reason);
		goto out;
	}
	/* RFC 8555 section 7.6: a JWK-signed request proves possession of
	 * the certificate's key; anything else would only be refused. */
	if (kid == NULL && !acme_revoke_key_matches(cert, key)) {
		log_error("revoke: the key does not match the certificate's public key");
		goto out;
	}
	payload = acme_revoke_payload(cert, reason);
	r = calloc(1, sizeof(*r));
	if (payload == NULL || r == NULL) {
		log_error("revoke: out of memory");
		goto out;
	}
	r->done = done;
	r->arg = arg;
	if (acme_client_post(client, dir->revoke_cert, key, kid, payload, on_revoke, r) < 0) {
		goto out;
	}
	r = NULL;
	rc = 0;
out:
	free(r);
	free(payload);
	return rc;
}
