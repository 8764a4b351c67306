#include "cmd/cmd.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_account_ops.h"
#include "crypto/jws.h"
#include "crypto/key.h"
#include "base/log.h"

struct sub {
	const char *name;
	const enum cli_opt *options; /* besides --ca, --ca-file, --state-dir */
	bool confirm; /* cannot be undone: needs --yes */
	bool reload_daemon; /* changes the account a running daemon holds */
	int (*run)(struct cli *cli, struct session *s, const struct conf_settings *settings);
};

/* Runs the loop until the operation started (started: the starter's rc)
 * is over. Returns 0, or -1 with the reason logged for sub. */
static int
wait_for(struct session *s, struct session_wait *w, int started, const char *sub)
{
	int rc = session_wait(s, w, started);

	if (rc < 0 && started == 0) {
		log_error("account %s: %s", sub, w->message);
	}
	return rc < 0 ? -1 : 0;
}

/* The account this CA knows already. Returns a CLI exit status. */
static int
open_existing(struct session *s, const struct conf_settings *settings, const char *sub)
{
	enum session_result arc = session_account_existing(s, settings);

	if (arc == SESSION_NO_ACCOUNT) {
		log_error("account %s: no account for %s under %s: create one with 'acmed account "
		          "register --agree-tos' (or get a certificate with 'acmed cert')",
		          sub, acme_client_directory_url(s->acme), s->state_dir);
	}
	return cmd_exit(arc);
}

static int
print_show(struct session *s, bool as_json)
{
	enum key_type type;
	const char *type_name = "unknown";
	const char *status = acme_status_name(s->acct.status);
	json_t *root = NULL;
	json_t *contacts = NULL;
	char *thumb = NULL;
	int rc = CLI_EXIT_FAILURE;

	if (key_type_of(s->acct.key, &type) == 0) {
		type_name = key_type_name(type);
	}
	thumb = jws_thumbprint(s->acct.key);
	if (thumb == NULL) {
		goto out;
	}
	if (as_json) {
		contacts = json_array();
		for (size_t i = 0; contacts != NULL && i < s->acct.n_contacts; i++) {
			json_array_append_new(contacts, json_string(s->acct.contacts[i]));
		}
		root = json_pack("{s:s, s:s, s:O*, s:s, s:s, s:s, s:s}", "url", s->acct.url,
		                 "status", status, "contact", contacts, "key_type", type_name,
		                 "thumbprint", thumb, "directory",
		                 acme_client_directory_url(s->acme), "key_file", s->acct.key_path);
		if (cmd_print_json(root) < 0) {
			log_error("account show: cannot print JSON");
			goto out;
		}
	} else {
		printf("url:        %s\n", s->acct.url);
		printf("status:     %s\n", status);
		printf("contact:    ");
		for (size_t i = 0; i < s->acct.n_contacts; i++) {
			printf("%s%s", i > 0 ? ", " : "", s->acct.contacts[i]);
		}
		printf("%s\n", s->acct.n_contacts == 0 ? "none" : "");
		printf("key type:   %s\n", type_name);
		printf("thumbprint: %s\n", thumb);
		printf("ca:         %s\n", acme_client_directory_url(s->acme));
		printf("key file:   %s\n", s->acct.key_path);
	}
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
	free(thumb);
	json_decref(root);
	json_decref(contacts);
	return rc;
}

static int
run_show(struct cli *cli, struct session *s, const struct conf_settings *settings)
{
	struct session_wait w;
	int rc;

	rc = open_existing(s, settings, "show");
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	/* RFC 8555 section 7.3.6: the CA answers nothing but unauthorized
	 * for a deactivated account; what acmed recorded is all there is. */
	if (s->acct.status != ACME_STATUS_DEACTIVATED) {
		session_wait_init(&w);
		if (wait_for(s, &w,
		             acme_account_ops_fetch(s->acme, &s->acct, session_wait_done, &w),
		             "show") < 0) {
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
	}
	rc = print_show(s, cli->flags[CLI_OPT_JSON]);
out:
	return rc;
}

static int
run_register(struct cli *cli, struct session *s, const struct conf_settings *settings)
{
	int rc;

	(void)cli;
	rc = cmd_exit(session_account(s, settings));
	if (rc == CLI_EXIT_OK) {
		printf("%s\n", s->acct.url);
		rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	return rc;
}

static int
run_update(struct cli *cli, struct session *s, const struct conf_settings *settings)
{
	struct session_wait w;
	int rc = CLI_EXIT_USAGE;

	(void)cli;
	if (settings->n_emails == 0) {
		log_error(
		        "account update: nothing to change: pass --email ADDR (repeatable) or set "
		        "email");
		goto out;
	}
	rc = open_existing(s, settings, "update");
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	session_wait_init(&w);
	if (wait_for(s, &w,
	             acme_account_ops_update(s->acme, &s->acct, settings->emails,
	                                     settings->n_emails, session_wait_done, &w),
	             "update") < 0) {
		goto out;
	}
	for (size_t i = 0; i < s->acct.n_contacts; i++) {
		printf("%s\n", s->acct.contacts[i]);
	}
	log_info("%s: contacts updated", s->acct.url);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
	return rc;
}

static int
run_rollover(struct cli *cli, struct session *s, const struct conf_settings *settings)
{
	struct session_wait w;
	enum key_type type = settings->account_key_type;
	EVP_PKEY *new_key = NULL;
	char *thumb = NULL;
	int rc;

	/* --key-type names the new account key here, not a certificate's. */
	if (cli->settings.set & (UINT64_C(1) << CONF_KEY_KEY_TYPE)) {
		type = cli->settings.key_type;
	}
	rc = open_existing(s, settings, "rollover");
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (s->acct.status == ACME_STATUS_DEACTIVATED) {
		log_error("%s: the account is deactivated: its key cannot be rolled over",
		          s->acct.url);
		goto out;
	}
	new_key = key_generate(type);
	if (new_key == NULL) {
		goto out;
	}
	session_wait_init(&w);
	/* The rollover owns the new key from here on. */
	if (wait_for(s, &w,
	             acme_account_ops_rollover(s->acme, &s->acct, new_key, session_wait_done, &w),
	             "rollover") < 0) {
		goto out;
	}
	thumb = jws_thumbprint(s->acct.key);
	log_info("%s: the account key is now a new %s key (thumbprint %s); the old one is kept "
	         "in %s/account.key.prev",
	         s->acct.url, key_type_name(type), thumb != NULL ? thumb : "?", s->acct.dir);
	rc = CLI_EXIT_OK;
out:
	free(thumb);
	return rc;
}

static int
run_deactivate(struct cli *cli, struct session *s, const struct conf_settings *settings)
{
	struct session_wait w;
	int rc;

	(void)cli;
	rc = open_existing(s, settings, "deactivate");
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	if (s->acct.status == ACME_STATUS_DEACTIVATED) {
		log_info("%s: already deactivated", s->acct.url);
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	session_wait_init(&w);
	if (wait_for(s, &w, acme_account_ops_deactivate(s->acme, &s->acct, session_wait_done, &w),
	             "deactivate") < 0) {
		goto out;
	}
	log_info("%s: deactivated; to get certificates again, move %s away and a new account "
	         "is registered on the next run",
	         s->acct.url, s->acct.dir);
	rc = CLI_EXIT_OK;
out:
	return rc;
}

static const enum cli_opt show_options[] = {CLI_OPT_JSON, CLI_OPT__MAX};
static const enum cli_opt register_options[] = {
        CLI_OPT_EMAIL,   CLI_OPT_AGREE_TOS, CLI_OPT_ACCOUNT_KEY_TYPE,
        CLI_OPT_EAB_KID, CLI_OPT_EAB_ALG,   CLI_OPT_EAB_HMAC_KEY,
        CLI_OPT__MAX,
};
static const enum cli_opt update_options[] = {CLI_OPT_EMAIL, CLI_OPT__MAX};
static const enum cli_opt rollover_options[] = {CLI_OPT_KEY_TYPE, CLI_OPT_ACCOUNT_KEY_TYPE,
                                                CLI_OPT__MAX};
static const enum cli_opt deactivate_options[] = {CLI_OPT_YES, CLI_OPT__MAX};

/* Sorted by name. */
static const struct sub subs[] = {
        {"deactivate", deactivate_options, true, true, run_deactivate},
        {"register", register_options, false, false, run_register},
        {"rollover", rollover_options, false, true, run_rollover},
        {"show", show_options, false, false, run_show},
        {"update", update_options, false, true, run_update},
};

#define N_SUBS (sizeof(subs) / sizeof(subs[0]))

/* Every sub-command takes these. */
static const enum cli_opt shared_options[] = {CLI_OPT_CA, CLI_OPT_CA_FILE, CLI_OPT_STATE_DIR};

static bool
in(const enum cli_opt *list, size_t n, enum cli_opt opt)
{
	bool found = false;

	for (size_t i = 0; i < n && !found && list[i] != CLI_OPT__MAX; i++) {
		found = list[i] == opt;
	}
	return found;
}

/* All of the sub-commands' options. */
static const enum cli_opt options[] = {
        CLI_OPT_JSON,         CLI_OPT_EMAIL,   CLI_OPT_AGREE_TOS,        CLI_OPT_EAB_KID,
        CLI_OPT_EAB_HMAC_KEY, CLI_OPT_EAB_ALG, CLI_OPT_ACCOUNT_KEY_TYPE, CLI_OPT_KEY_TYPE,
        CLI_OPT_YES,          CLI_OPT_CA,      CLI_OPT_CA_FILE,          CLI_OPT_STATE_DIR,
        CLI_OPT__MAX,
};

/* The sub-command named by the first argument, after checking that every
 * option given applies to it. NULL after a message (exit 2). */
static const struct sub *
find_sub(struct cli *cli)
{
	const struct sub *sub = NULL;

	for (size_t i = 0; i < N_SUBS && sub == NULL; i++) {
		if (strcmp(cli->args[0], subs[i].name) == 0) {
			sub = &subs[i];
		}
	}
	if (sub == NULL) {
		log_error("account: unknown sub-command '%s': use show, register, update, rollover "
		          "or deactivate",
		          cli->args[0]);
		cli_see_help(cli->command);
		goto out;
	}
	for (const enum cli_opt *o = options; *o != CLI_OPT__MAX; o++) {
		if (cli->flags[*o] &&
		    !in(shared_options, sizeof(shared_options) / sizeof(shared_options[0]), *o) &&
		    !in(sub->options, SIZE_MAX, *o)) {
			log_error("account %s: --%s does not apply", sub->name, cli_opt_name(*o));
			cli_see_help(cli->command);
			sub = NULL;
			goto out;
		}
	}
	if (sub->confirm && !cli->flags[CLI_OPT_YES]) {
		log_error(
		        "account %s: this cannot be undone (the CA refuses the account for good): "
		        "pass --yes to go on",
		        sub->name);
		sub = NULL;
	}
out:
	return sub;
}

/* Tells a daemon on the control socket to read the account files again,
 * once the account's lock is released: otherwise it would sign with a key
 * the CA no longer knows until it failed an order. A daemon that is not
 * running needs nothing. */
static void
reload_daemon(struct cli *cli, struct conf *conf)
{
	struct cmd_daemon daemon;
	json_t *answer = NULL;
	const char *error = NULL;
	int changed = 0;

	if (cmd_daemon_init(&daemon, cli, conf) < 0) {
		goto out;
	}
	answer = cmd_daemon_ask(&daemon, "account-reload", NULL, CMD_DAEMON_TIMEOUT_S);
	if (answer == NULL) {
		if (!daemon.none) {
			log_warn("the daemon at %s did not answer: send it SIGHUP so that it "
			         "reads the account key again",
			         daemon.path);
		}
		goto out;
	}
	if (json_unpack(answer, "{s:s}", "error", &error) == 0) {
		log_warn("the daemon at %s did not read the account again: %s: send it SIGHUP",
		         daemon.path, error);
	} else if (json_unpack(answer, "{s:b}", "changed", &changed) == 0 && changed) {
		log_info("the daemon at %s now uses the new account key", daemon.path);
	}
out:
	json_decref(answer);
	cmd_daemon_finish(&daemon);
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	const struct sub *sub;
	int rc = CLI_EXIT_USAGE;

	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	memset(&conf, 0, sizeof(conf));
	sub = find_sub(cli);
	if (sub == NULL) {
		goto out;
	}
	rc = cmd_session(cli, &conf, &settings, &s);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = sub->run(cli, &s, &settings);
	if (rc == CLI_EXIT_OK && sub->reload_daemon) {
		session_account_unlock(&s);
		reload_daemon(cli, &conf);
	}
out:
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

/* Here --key-type is the account's own key (rollover's new one), not a
 * certificate's. */
static const char *const option_help[CLI_OPT__MAX] = {
        [CLI_OPT_KEY_TYPE] = "rollover: the new account key: ec-p256 ec-p384 rsa-2048 "
                             "rsa-3072 rsa-4096",
};

const struct cli_command cmd_account = {
        .name = "account",
        .args = "show|register|update|rollover|deactivate",
        .summary = "The account: show, register, update (--email), rollover (--key-type: the "
                   "new key's), deactivate.",
        .options = options,
        .min_args = 1,
        .max_args = 1,
        .run = run,
        .option_help = option_help,
};
