#include "cmd/cmd.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_revoke.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "base/log.h"

/* What is revoked and how the request is signed. */
struct revocation {
	const char *cert_path;
	X509 *cert;
	char *serial; /* for messages; NULL when unknown */
	EVP_PKEY *cert_key; /* --key, else NULL: the account signs */
	int reason;
};

static void
revocation_finish(struct revocation *r)
{
	free(r->serial);
	EVP_PKEY_free(r->cert_key);
	X509_free(r->cert);
}

/* Without --key the request is signed by the account that got the
 * certificate: it must exist, and revoking is no reason to register one.
 * Returns a CLI exit status. */
static int
open_account(struct session *s, const struct conf_settings *settings, const char *cert_path)
{
	enum session_result arc = session_account_existing(s, settings);

	if (arc == SESSION_NO_ACCOUNT) {
		log_error("%s: no account for %s under %s: revoke with the account that got the "
		          "certificate (--state-dir, --ca), or sign with the certificate's own key "
		          "(--key KEYFILE)",
		          cert_path, acme_client_directory_url(s->acme), s->state_dir);
	}
	return cmd_exit(arc);
}

/* The certificate and, with --key, its private key, which must match:
 * nothing is sent when they do not. Returns 0, or -1 (logged). */
static int
load_cert(struct revocation *r, const char *key_path)
{
	char err[512];
	int rc = -1;

	r->cert = cert_load(r->cert_path, err, sizeof(err));
	if (r->cert == NULL) {
		log_error("%s: %s", r->cert_path, err);
		goto out;
	}
	r->serial = cert_serial_hex(r->cert);
	if (key_path == NULL) {
		rc = 0;
		goto out;
	}
	r->cert_key = key_load(key_path);
	if (r->cert_key == NULL) {
		goto out;
	}
	if (!acme_revoke_key_matches(r->cert, r->cert_key)) {
		log_error("%s: not the private key of %s (serial %s): nothing was sent to the CA; "
		          "pass the key the certificate was issued for, or leave out --key to sign "
		          "with the account key",
		          key_path, r->cert_path, r->serial != NULL ? r->serial : "?");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* Sends the revocation and runs the loop until the CA answered. Returns 0,
 * or -1 (logged). */
static int
send_revocation(struct session *s, const struct revocation *r)
{
	struct session_wait w;
	int started;
	int rc = -1;

	session_wait_init(&w);
	started = acme_revoke_start(
	        s->acme, r->cert, r->reason, r->cert_key != NULL ? r->cert_key : s->acct.key,
	        r->cert_key != NULL ? NULL : s->acct.url, session_wait_done, &w);
	if (session_wait(s, &w, started) < 0) {
		if (started == 0) {
			log_error("%s: revoke: %s", r->cert_path, w.message);
		}
		goto out;
	}
	log_info("%s: revoked (serial %s, reason %s, signed with %s)", r->cert_path,
	         r->serial != NULL ? r->serial : "?",
	         r->reason != ACME_REVOKE_REASON_NONE ? acme_revoke_reason_name(r->reason)
	                                              : "none given",
	         r->cert_key != NULL ? "the certificate key" : "the account key");
	rc = 0;
out:
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	struct revocation r = {.cert_path = cli->args[0], .reason = ACME_REVOKE_REASON_NONE};
	char err[512];
	int rc = CLI_EXIT_USAGE;

	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	memset(&conf, 0, sizeof(conf));
	if (cli->values[CLI_OPT_REASON] != NULL &&
	    acme_revoke_reason_parse(cli->values[CLI_OPT_REASON], &r.reason, err, sizeof(err)) <
	            0) {
		log_error("--reason: %s", err);
		goto out;
	}
	rc = cmd_settings(cli, &conf, &settings);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (load_cert(&r, cli->values[CLI_OPT_KEY]) < 0) {
		goto out;
	}
	rc = cmd_exit(session_init(&s, &settings));
	if (rc == CLI_EXIT_OK && r.cert_key == NULL) {
		rc = open_account(&s, &settings, r.cert_path);
	}
	if (rc == CLI_EXIT_OK && send_revocation(&s, &r) < 0) {
		rc = CLI_EXIT_FAILURE;
	}
out:
	revocation_finish(&r);
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_REASON, CLI_OPT_KEY, CLI_OPT_CA, CLI_OPT_CA_FILE, CLI_OPT_STATE_DIR, CLI_OPT__MAX,
};

const struct cli_command cmd_revoke = {
        .name = "revoke",
        .args = "CERTFILE",
        .summary = "Revoke a certificate, signed by the account key or with --key by its own key.",
        .options = options,
        .min_args = 1,
        .max_args = 1,
        .run = run,
};
