#include "cmd/cmd.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme_revoke.h"
#include "crypto/cert.h"
#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "base/log.h"
#include "conf/ca.h"
#include "renew/job_runner.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "store/store_cert.h"

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
send_revocation(struct session *s, const struct revocation *r, bool replace)
{
	struct session_wait w;
	int started;
	int rc = -1;

	session_wait_init(&w);
	started = acme_revoke_start(
	        s->acme, r->cert, r->reason, r->cert_key != NULL ? r->cert_key : s->acct.key,
	        r->cert_key != NULL ? NULL : s->acct.url, session_wait_done, &w);
	rc = session_wait(s, &w, started);
	/* Revoked before (by an earlier revoke, or the CA): what --replace
	 * is for all the more. */
	if (rc == ACME_REVOKE_ALREADY && replace) {
		log_warn("%s: already revoked; ordering its replacement", r->cert_path);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		if (started == 0) {
			log_error("%s: revoke: %s", r->cert_path, w.message);
		}
		rc = -1;
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

/* A certificate of the state folder named on the command line: its name
 * and settings (its [cert] section's, else what is installed: names, key
 * type, and the CA recorded with it unless one is set), and its cert.pem. */
struct named {
	const char *name; /* NULL: revoked by file */
	char name_buf[256]; /* the name as kept (cmd_cert_name) */
	char *path; /* the installed cert.pem */
	/* Its settings for the CA that issued it (state.json's, when its
	 * section lists it: after a failover, not the first); settings for
	 * its replacement, ordered as any renewal (the first CA first). */
	struct conf_settings settings;
	struct conf_settings order;
	char *state_dir;
};

/* The settings of section for the CA of its list that issued what is
 * installed (issuer), the first when none is it or the user named one
 * (--ca). Returns 0, or -1 when out of memory. */
static int
issuer_settings(struct cli *cli, const struct conf *conf, const struct conf_cert *section,
                const char *issuer, struct conf_settings *out)
{
	int rc;

	for (size_t i = 0; issuer != NULL && !cli->flags[CLI_OPT_CA]; i++) {
		rc = conf_resolve_at(conf, section, &cli->settings, i, out);
		if (rc != 0) {
			if (rc < 0) {
				return -1;
			}
			break;
		}
		if (cmd_same(ca_settings_url(out->ca), issuer)) {
			return 0;
		}
		conf_settings_finish(out);
	}
	return conf_resolve(conf, section, &cli->settings, out);
}

/* Whether arg names a file (a path, or an existing file) rather than a
 * certificate of the state folder (as typed, or "bücher.example" for
 * xn--bcher-kva.example: resolve_name). */
static bool
is_file(const char *arg)
{
	return strchr(arg, '/') != NULL || access(arg, F_OK) == 0;
}

/* Resolves cli->args[0] as a certificate name into n. Returns CLI_EXIT_OK,
 * or the exit status after a message. */
static int
resolve_name(struct cli *cli, const struct conf *conf, const struct conf_settings *global,
             struct named *n)
{
	const char *arg = cmd_cert_name(conf, cli->args[0], n->name_buf, sizeof(n->name_buf));
	const struct conf_cert *section = conf_find_cert(conf, arg);
	struct policy_view v;
	char err[256];
	int rc = CLI_EXIT_USAGE;

	policy_view_init(&v);
	n->state_dir = session_state_dir(global);
	if (n->state_dir == NULL) {
		goto out;
	}
	n->path = store_cert_path(n->state_dir, arg, STORE_CERT_CERT);
	if (n->path == NULL || policy_view_load(n->state_dir, arg, &v) < 0 || !v.info.present) {
		log_error("%s: no such file, nor a certificate installed in %s (acmed status "
		          "--state-dir %s lists them)",
		          cli->args[0], n->state_dir, n->state_dir);
		goto out;
	}
	n->name = arg;
	rc = CLI_EXIT_FAILURE;
	if (section != NULL) {
		if (issuer_settings(cli, conf, section, v.st.ca, &n->settings) < 0 ||
		    conf_resolve(conf, section, &cli->settings, &n->order) < 0) {
			goto out;
		}
	} else if (cmd_installed_settings(cli, conf, &v.info, &n->settings) < 0) {
		goto out;
	} else if (n->settings.ca == NULL && v.st.ca != NULL &&
	           conf_set(&n->settings, CONF_WHERE_CERT, "ca", v.st.ca, err, sizeof(err)) < 0) {
		log_error("%s: the CA it came from: %s", arg, err);
		goto out;
	}
	if (section == NULL && conf_resolve(&(struct conf){0}, NULL, &n->settings, &n->order) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	policy_view_finish(&v);
	return rc;
}

static void
named_finish(struct named *n)
{
	free(n->path);
	free(n->state_dir);
	conf_settings_finish(&n->settings);
	conf_settings_finish(&n->order);
}

/* --replace: the certificate ordered again at once, with its own settings,
 * whatever the renewal policy says of the revoked one. Returns a CLI exit
 * status. */
static int
replace(struct cli *cli, struct named *n, const struct preflight_memo *memo)
{
	struct session s;
	struct job_runner_config config;
	struct job_request req;
	struct job_runner *runner = NULL;
	struct batch_hooks *batch = NULL;
	char *full = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	req.force = true;
	rc = cmd_exit(session_connect(&s, &n->order, n->state_dir, true, &config));
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	config.concurrency = 1;
	config.preflight = memo;
	batch = cmd_batch_hooks(&n->order);
	config.batch = batch;
	runner = job_runner_create(&config);
	if (runner == NULL || job_runner_add(runner, n->name, &n->order, &req) < 0) {
		goto out;
	}
	job_runner_run(runner);
	batch_hooks_finish(batch);
	if (job_runner_count(runner, JOB_RENEWED) + job_runner_count(runner, JOB_ISSUED) == 0) {
		log_error("%s: revoked, but its replacement failed: acmed cert or renew --force "
		          "orders it again",
		          n->name);
		goto out;
	}
	full = store_cert_path(n->state_dir, n->name, STORE_CERT_FULLCHAIN);
	if (full != NULL) {
		printf("%s\n", full);
	}
	rc = CLI_EXIT_OK;
out:
	(void)cli;
	free(full);
	job_runner_destroy(runner);
	batch_hooks_destroy(batch);
	session_finish(&s);
	return rc;
}

/* The options that only --replace uses: how the new order is validated. */
static const enum cli_opt replace_only[] = {
        CLI_OPT_STANDALONE, CLI_OPT_TLS_ALPN, CLI_OPT_WEBROOT,
        CLI_OPT_HTTP_HOOK,  CLI_OPT_DNS_HOOK, CLI_OPT_DEPLOY_HOOK,
        CLI_OPT_KEY_TYPE,   CLI_OPT_PRE_HOOK, CLI_OPT_POST_HOOK,
};

/* Options given that the revocation alone does not use. Returns 0 or -1
 * (logged). */
static int
check_options(struct cli *cli)
{
	for (size_t i = 0; i < sizeof(replace_only) / sizeof(replace_only[0]); i++) {
		if (cli->flags[replace_only[i]] && !cli->flags[CLI_OPT_REPLACE]) {
			log_error("revoke: --%s applies only with --replace (how the replacement "
			          "is ordered)",
			          cli_opt_name(replace_only[i]));
			return -1;
		}
	}
	if (cli->flags[CLI_OPT_REPLACE] && is_file(cli->args[0])) {
		log_error("revoke: --replace needs a certificate NAME of the state folder, not the "
		          "file %s (acmed status lists the names)",
		          cli->args[0]);
		return -1;
	}
	return 0;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings global;
	struct session s;
	struct named n;
	const struct conf_settings *settings = &global;
	struct revocation r = {.cert_path = cli->args[0], .reason = ACME_REVOKE_REASON_NONE};
	struct preflight_memo memo;
	char err[512];
	int rc = CLI_EXIT_USAGE;

	memset(&memo, 0, sizeof(memo));
	memset(&global, 0, sizeof(global));
	memset(&s, 0, sizeof(s));
	memset(&n, 0, sizeof(n));
	memset(&conf, 0, sizeof(conf));
	if (cli->values[CLI_OPT_REASON] != NULL &&
	    acme_revoke_reason_parse(cli->values[CLI_OPT_REASON], &r.reason, err, sizeof(err)) <
	            0) {
		log_error("--reason: %s", err);
		goto out;
	}
	if (check_options(cli) < 0) {
		goto out;
	}
	rc = cmd_settings(cli, &conf, &global);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	if (!is_file(cli->args[0])) {
		rc = resolve_name(cli, &conf, &global, &n);
		if (rc != CLI_EXIT_OK) {
			goto out;
		}
		r.cert_path = n.path;
		settings = &n.settings;
	}
	/* --replace: what would stop the replacement's order (a port taken,
	 * a webroot or hook missing) stops the revocation too: a revoked
	 * certificate left installed with no replacement is worse than
	 * none revoked. */
	if (cli->flags[CLI_OPT_REPLACE] &&
	    preflight_check(n.state_dir, n.name, &n.order, 0, &memo, NULL, NULL) < 0) {
		log_error("%s: not revoked: its replacement could not be ordered (above)", n.name);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (load_cert(&r, cli->values[CLI_OPT_KEY]) < 0) {
		goto out;
	}
	rc = cmd_exit(session_init(&s, settings));
	if (rc == CLI_EXIT_OK && r.cert_key == NULL) {
		rc = open_account(&s, settings, r.cert_path);
	}
	if (rc == CLI_EXIT_OK && send_revocation(&s, &r, cli->flags[CLI_OPT_REPLACE]) < 0) {
		rc = CLI_EXIT_FAILURE;
	}
	/* The account's lock goes before the replacement's jobs. */
	session_finish(&s);
	if (rc == CLI_EXIT_OK && cli->flags[CLI_OPT_REPLACE]) {
		rc = replace(cli, &n, &memo);
	}
out:
	preflight_memo_finish(&memo);
	revocation_finish(&r);
	session_finish(&s);
	named_finish(&n);
	conf_settings_finish(&global);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_REASON,    CLI_OPT_KEY,       CLI_OPT_CA,         CLI_OPT_CA_FILE,
        CLI_OPT_STATE_DIR, CLI_OPT_REPLACE,   CLI_OPT_STANDALONE, CLI_OPT_TLS_ALPN,
        CLI_OPT_WEBROOT,   CLI_OPT_HTTP_HOOK, CLI_OPT_DNS_HOOK,   CLI_OPT_DEPLOY_HOOK,
        CLI_OPT_KEY_TYPE,  CLI_OPT_PRE_HOOK,  CLI_OPT_POST_HOOK,  CLI_OPT__MAX,
};

const struct cli_command cmd_revoke = {
        .name = "revoke",
        .args = "NAME|CERTFILE",
        .summary = "Revoke a certificate (by name or file); --replace orders a new one at once.",
        .options = options,
        .min_args = 1,
        .max_args = 1,
        .run = run,
};
