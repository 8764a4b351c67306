#include "cmd/cmd.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_revoke.h"
#include "conf/ca.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "base/log.h"
#include "cmd/session.h"

struct wait {
	bool waiting;
	int rc;
	char message[1024];
};

static void
on_revoked(int rc, const char *message, void *arg)
{
	struct wait *w = arg;

	w->rc = rc;
	snprintf(w->message, sizeof(w->message), "%s", message);
	w->waiting = false;
}

/* Without --key the request is signed by the account that got the
 * certificate: it must exist, and revoking is no reason to register one.
 * Returns a CLI exit status. */
static int
open_account(struct session *s, const struct conf_settings *settings, const char *cert_path)
{
	int arc;
	int rc = CLI_EXIT_OK;

	arc = session_account_existing(s, settings);
	if (arc == SESSION_NO_ACCOUNT) {
		log_error("%s: no account for %s under %s: revoke with the account that got the "
		          "certificate (--state-dir, --ca), or sign with the certificate's own key "
		          "(--key KEYFILE)",
		          cert_path, acme_client_directory_url(s->acme), s->state_dir);
		rc = CLI_EXIT_FAILURE;
	} else if (arc < 0) {
		rc = arc == -2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
	}
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	struct wait w;
	X509 *cert = NULL;
	EVP_PKEY *cert_key = NULL;
	const char *cert_path = cli->args[0];
	const char *key_path = cli->values[CLI_OPT_KEY];
	char *serial = NULL;
	char err[512];
	int reason = ACME_REVOKE_REASON_NONE;
	int rc = CLI_EXIT_USAGE;

	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	memset(&conf, 0, sizeof(conf));
	if (cli->values[CLI_OPT_REASON] != NULL &&
	    acme_revoke_reason_parse(cli->values[CLI_OPT_REASON], &reason, err, sizeof(err)) < 0) {
		log_error("--reason: %s", err);
		goto out;
	}
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	if (conf_resolve(&conf, NULL, &cli->settings, &settings) < 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	cert = cert_load(cert_path, err, sizeof(err));
	if (cert == NULL) {
		log_error("%s: %s", cert_path, err);
		goto out;
	}
	serial = cert_serial_hex(cert);
	if (key_path != NULL) {
		cert_key = key_load(key_path);
		if (cert_key == NULL) {
			goto out;
		}
		if (!acme_revoke_key_matches(cert, cert_key)) {
			log_error("%s: not the private key of %s (serial %s): nothing was sent to "
			          "the "
			          "CA; pass the key the certificate was issued for, or leave out "
			          "--key "
			          "to sign with the account key",
			          key_path, cert_path, serial != NULL ? serial : "?");
			goto out;
		}
	}
	if (session_init(&s, &settings) < 0) {
		rc = settings.ca != NULL && ca_directory_url(settings.ca) == NULL
		             ? CLI_EXIT_USAGE
		             : CLI_EXIT_FAILURE;
		goto out;
	}
	if (cert_key == NULL) {
		rc = open_account(&s, &settings, cert_path);
		if (rc != CLI_EXIT_OK) {
			goto out;
		}
	}
	rc = CLI_EXIT_FAILURE;
	memset(&w, 0, sizeof(w));
	w.waiting = true;
	if (acme_revoke_start(s.acme, cert, reason, cert_key != NULL ? cert_key : s.acct.key,
	                      cert_key != NULL ? NULL : s.acct.url, on_revoked, &w) < 0) {
		goto out;
	}
	while (w.waiting) {
		ev_run(s.loop, EVRUN_ONCE);
	}
	if (w.rc < 0) {
		log_error("%s: revoke: %s", cert_path, w.message);
		goto out;
	}
	log_info("%s: revoked (serial %s, reason %s, signed with %s)", cert_path,
	         serial != NULL ? serial : "?",
	         reason != ACME_REVOKE_REASON_NONE ? acme_revoke_reason_name(reason) : "none given",
	         cert_key != NULL ? "the certificate key" : "the account key");
	rc = CLI_EXIT_OK;
out:
	free(serial);
	EVP_PKEY_free(cert_key);
	X509_free(cert);
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
