/* acmed cert --csr FILE: a certificate for a CSR made elsewhere. Its names
 * are the CSR's and its key stays with whoever made it: acmed never sees
 * the private key, and writes no privkey.pem. The certificate goes where
 * --cert-path, --fullchain-path and --chain-path say, each file replaced
 * atomically; nothing enters the state folder's certificate sets (the
 * account is the state folder's, as for any order), so status and renew
 * never see it: renewing is running the command again. */
#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme_order.h"
#include "base/file.h"
#include "base/log.h"
#include "challenge/select.h"
#include "crypto/cert_chain.h"
#include "crypto/csr.h"

/* The CSR as read and checked. */
struct csr_file {
	const char *path;
	unsigned char *der;
	size_t der_len;
	struct ident *ids; /* normalized as the domains key does */
	size_t n_ids;
	EVP_PKEY *pub;
};

/* What the order ended with. */
struct csr_order {
	struct session_signals *sig; /* told when the run ends */
	bool done;
	int rc;
	char message[1024];
	char *pem;
	size_t pem_len;
};

static void
on_order(int rc, const char *message, const char *pem, size_t pem_len, time_t retry_after,
         void *arg)
{
	struct csr_order *o = arg;

	(void)retry_after;
	/* The run is gone after this: no signal may stop it. */
	session_signals_order(o->sig, NULL, NULL);
	o->done = true;
	o->rc = rc;
	snprintf(o->message, sizeof(o->message), "%s", message != NULL ? message : "");
	if (rc == ACME_ORDER_OK && pem != NULL) {
		o->pem = malloc(pem_len + 1);
		if (o->pem != NULL) {
			memcpy(o->pem, pem, pem_len);
			o->pem[pem_len] = '\0';
			o->pem_len = pem_len;
		}
	}
}

/* Whether the folder of the file path (given as opt) can take it: checked
 * before ordering, so that an issuance is not thrown away. */
static bool
writable_folder(enum cli_opt opt, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	}
	if (access(dir, W_OK | X_OK) < 0) {
		log_error("--%s %s: the folder %s: %s; nothing ordered", cli_opt_name(opt), path,
		          dir, strerror(errno));
		return false;
	}
	return true;
}

/* The options that mean nothing for a CSR: refused by name, not ignored. */
static int
check_flags(struct cli *cli)
{
	static const enum cli_opt outputs[] = {
	        CLI_OPT_CERT_PATH,
	        CLI_OPT_FULLCHAIN_PATH,
	        CLI_OPT_CHAIN_PATH,
	};

	static const enum cli_opt refused[] = {
	        CLI_OPT_NAME,  CLI_OPT_REUSE_KEY,   CLI_OPT_KEY_TYPE, CLI_OPT_DROP_NAMES,
	        CLI_OPT_FORCE, CLI_OPT_DEPLOY_HOOK, CLI_OPT_JSON,
	};

	if (cli->n_args > 0) {
		log_error("--csr: the names are the CSR's: drop '%s' (or --csr)", cli->args[0]);
		return -1;
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (cli->flags[refused[i]] || cli->values[refused[i]] != NULL) {
			log_error(
			        "--%s: not with --csr (the key and the files are the CSR maker's)",
			        cli_opt_name(refused[i]));
			return -1;
		}
	}
	if (cli->values[CLI_OPT_CERT_PATH] == NULL && cli->values[CLI_OPT_FULLCHAIN_PATH] == NULL) {
		log_error("--csr: say where the certificate goes: --cert-path FILE, "
		          "--fullchain-path FILE or both");
		return -1;
	}
	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		if (cli->values[outputs[i]] != NULL &&
		    !writable_folder(outputs[i], cli->values[outputs[i]])) {
			return -1;
		}
	}
	return 0;
}

/* Reads and checks the CSR, and puts its names on the command line's
 * settings as domains (checked as names in the configuration are).
 * Returns 0, or -1 (logged). */
static int
read_csr(struct cli *cli, struct csr_file *c)
{
	struct ident *raw = NULL;
	size_t n_raw = 0;
	char err[256];
	size_t len = 0;
	unsigned char *data;
	int rc = -1;

	c->path = cli->values[CLI_OPT_CSR];
	data = (unsigned char *)file_read(c->path, CSR_FILE_MAX, &len);
	if (data == NULL) {
		log_error("--csr %s: %s", c->path,
		          errno == EFBIG ? "larger than 64 KiB: not a CSR" : strerror(errno));
		goto out;
	}
	if (csr_parse(data, len, &c->der, &c->der_len, &raw, &n_raw, &c->pub, err, sizeof(err)) <
	    0) {
		log_error("--csr %s: %s", c->path, err);
		goto out;
	}
	for (size_t i = 0; i < n_raw; i++) {
		if (conf_set(&cli->settings, CONF_WHERE_CLI, "domains", raw[i].value, err,
		             sizeof(err)) < 0) {
			log_error("--csr %s: the name '%s': %s", c->path, raw[i].value, err);
			goto out;
		}
	}
	if (ident_list_make(cli->settings.domains, cli->settings.n_domains, &c->ids) < 0) {
		log_error("out of memory");
		goto out;
	}
	c->n_ids = cli->settings.n_domains;
	rc = 0;
out:
	ident_list_free(raw, n_raw);
	free(data);
	return rc;
}

/* Writes one file of the certificate with cert-owner, cert-group and
 * cert-mode, atomically, and prints its path unless -q; path NULL: not
 * asked for. */
static int
write_one(const struct cli *cli, const char *path, const char *data, size_t len,
          const struct conf_settings *s)
{
	uid_t uid = s->cert_owner >= 0 ? (uid_t)s->cert_owner : (uid_t)-1;
	gid_t gid = s->cert_group >= 0 ? (gid_t)s->cert_group : (gid_t)-1;

	if (path == NULL) {
		return 0;
	}
	if (file_write_atomic_as(path, data, len, (mode_t)s->cert_mode, uid, gid) < 0) {
		return -1;
	}
	if (!cmd_quiet(cli)) {
		printf("%s\n", path);
	}
	return 0;
}

/* Checks what the CA sent against the CSR (its key, its names, the chain)
 * and writes it. Returns 0, or -1 (logged). */
static int
write_files(struct cli *cli, const struct csr_file *c, const struct csr_order *o,
            const struct conf_settings *s)
{
	struct cert_chain chain;
	char err[512];
	char *leaf = NULL;
	char *rest = NULL;
	char *full = NULL;
	size_t leaf_len = 0;
	size_t rest_len = 0;
	size_t full_len = 0;
	int rc = -1;

	memset(&chain, 0, sizeof(chain));
	if (cert_chain_parse(o->pem, o->pem_len, &chain, err, sizeof(err)) < 0 ||
	    cert_chain_check(&chain, c->pub, c->ids, c->n_ids, time(NULL), err, sizeof(err)) < 0) {
		log_error("--csr %s: the CA's certificate was refused, nothing written: %s",
		          c->path, err);
		goto out;
	}
	leaf = cert_chain_pem(&chain, 0, 1, &leaf_len);
	rest = cert_chain_pem(&chain, 1, chain.n, &rest_len);
	full = cert_chain_pem(&chain, 0, chain.n, &full_len);
	if (leaf == NULL || rest == NULL || full == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (write_one(cli, cli->values[CLI_OPT_CHAIN_PATH], rest, rest_len, s) < 0 ||
	    write_one(cli, cli->values[CLI_OPT_CERT_PATH], leaf, leaf_len, s) < 0 ||
	    write_one(cli, cli->values[CLI_OPT_FULLCHAIN_PATH], full, full_len, s) < 0) {
		goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : -1;
out:
	free(leaf);
	free(rest);
	free(full);
	cert_chain_finish(&chain);
	return rc;
}

/* The order on s's loop, to its end. Returns 0, or -1 (logged). */
static int
order(struct session *s, const struct csr_file *c, const struct conf_settings *settings,
      struct csr_order *o)
{
	struct acme_order_params params;
	struct challenge *responder = challenge_create(s->loop, settings);
	struct acme_order_run *run;
	int rc = -1;

	if (responder == NULL) {
		goto out;
	}
	memset(&params, 0, sizeof(params));
	params.name = c->ids[0].value;
	params.ids = c->ids;
	params.n_ids = c->n_ids;
	params.csr = c->der;
	params.csr_len = c->der_len;
	params.responder = responder;
	params.profile = settings->profile;
	params.chain.issuer = settings->preferred_chain;
	params.chain.shortest = settings->chain == CONF_CHAIN_SHORTEST;
	run = acme_order_start(s->loop, s->acme, &s->acct, &params, on_order, NULL, o);
	if (run == NULL) {
		goto out;
	}
	session_signals_order(o->sig, run, responder);
	while (!o->done) {
		ev_run(s->loop, EVRUN_ONCE);
	}
	if (o->rc != ACME_ORDER_OK || o->pem == NULL) {
		log_error("%s", o->message[0] != '\0' ? o->message : "out of memory");
		goto out;
	}
	rc = 0;
out:
	challenge_destroy(responder);
	return rc;
}

int
cmd_cert_csr(struct cli *cli)
{
	struct csr_file c;
	struct csr_order o;
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	struct session_signals sig;
	int rc = CLI_EXIT_USAGE;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	memset(&sig, 0, sizeof(sig));
	o.sig = &sig;
	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	conf_init(&conf);
	if (check_flags(cli) < 0 || read_csr(cli, &c) < 0) {
		goto out;
	}
	rc = cmd_session(cli, &conf, &settings, &s);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	for (size_t i = 0; i < settings.n_domains; i++) {
		if (strncmp(settings.domains[i], "*.", 2) == 0 &&
		    !conf_challenge_dns(settings.challenge)) {
			log_error(
			        "--csr %s: %s: wildcards need dns-01: pass --dns-hook PROG or set "
			        "dns-hook",
			        c.path, settings.domains[i]);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	rc = cmd_exit(session_account(&s, &settings));
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_USAGE;
	/* RFC 8555 section 11.1: the CA refuses it anyway; say why first. */
	if (EVP_PKEY_eq(s.acct.key, c.pub) == 1) {
		log_error("--csr %s: its key is the ACME account's key: make the CSR with a key of "
		          "its own",
		          c.path);
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	/* A signal withdraws what the order presented (acmed(8) SIGNALS). */
	session_signals_start(&sig, s.loop);
	if (order(&s, &c, &settings, &o) < 0 || session_signals_exit(&sig) != 0 ||
	    write_files(cli, &c, &o, &settings) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	session_signals_stop(&sig);
	if (session_signals_exit(&sig) != 0) {
		rc = session_signals_exit(&sig);
	}
	free(o.pem);
	free(c.der);
	ident_list_free(c.ids, c.n_ids);
	EVP_PKEY_free(c.pub);
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}
