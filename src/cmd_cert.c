#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "job.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "store_cert.h"

/* The certificate's name from its first domain: "*.example.com" becomes
 * "_.example.com", an IPv6 address loses its colons. */
static void
name_from_domain(const char *domain, char *name, size_t len)
{
	size_t n = 0;

	for (const char *p = domain; *p != '\0' && n + 1 < len; p++) {
		name[n++] = (*p == '*' || *p == ':') ? '_' : *p;
	}
	name[n] = '\0';
}

/* --json: what happened, where the files are, until when they are valid. */
static int
print_json(const char *name, const struct conf_settings *st, const char *state_dir,
           const struct job_runner *runner)
{
	const char *result = job_runner_count(runner, JOB_ISSUED) > 0    ? "issued"
	                     : job_runner_count(runner, JOB_RENEWED) > 0 ? "renewed"
	                                                                 : "unchanged";
	char *dir = store_cert_dir(state_dir, name);
	json_t *domains = json_array();
	json_t *root = NULL;
	char *paths[4] = {NULL, NULL, NULL, NULL};
	static const char *const files[4] = {"privkey.pem", "cert.pem", "chain.pem",
	                                     "fullchain.pem"};
	time_t not_after = 0;
	int rc = CLI_EXIT_FAILURE;

	if (dir == NULL || domains == NULL) {
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		paths[i] = store_path(dir, files[i], NULL);
		if (paths[i] == NULL) {
			goto out;
		}
	}
	for (size_t i = 0; i < st->n_domains; i++) {
		json_array_append_new(domains, json_string(st->domains[i]));
	}
	job_due(state_dir, name, st, &not_after);
	root = json_pack("{s:s, s:s, s:O, s:I, s:{s:s, s:s, s:s, s:s}}", "cert", name, "result",
	                 result, "domains", domains, "not_after", (json_int_t)not_after, "files",
	                 "privkey", paths[0], "cert", paths[1], "chain", paths[2], "fullchain",
	                 paths[3]);
	if (cmd_print_json(root) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	for (size_t i = 0; i < 4; i++) {
		free(paths[i]);
	}
	free(dir);
	json_decref(root);
	json_decref(domains);
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	struct job_runner *runner = NULL;
	const struct conf_cert *section = NULL;
	const char *name = cli->values[CLI_OPT_NAME];
	char derived[80];
	char err[256];
	int rc = CLI_EXIT_USAGE;
	int arc;

	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	section = conf_find_cert(&conf, name != NULL ? name : cli->args[0]);
	/* A NAME matching a section alone takes that section's domains;
	 * names on the command line otherwise are the domains. */
	if (section == NULL || cli->n_args > 1) {
		for (int i = 0; i < cli->n_args; i++) {
			if (conf_set(&cli->settings, CONF_WHERE_CLI, "domains", cli->args[i], err,
			             sizeof(err)) < 0) {
				log_error("%s: %s", cli->args[i], err);
				goto out;
			}
		}
	}
	if (name == NULL) {
		if (section != NULL) {
			name = section->name;
		} else {
			name_from_domain(cli->args[0], derived, sizeof(derived));
			name = derived;
		}
	}
	if (!store_cert_name_ok(name)) {
		log_error("'%s' is not a usable certificate name: use --name with letters, digits, "
		          "'.', '_' or '-'",
		          name);
		goto out;
	}
	if (conf_resolve(&conf, section, &cli->settings, &settings) < 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	for (size_t i = 0; i < settings.n_domains; i++) {
		if (strncmp(settings.domains[i], "*.", 2) == 0 &&
		    settings.challenge != CONF_CHALLENGE_DNS01) {
			log_error("%s: wildcards need dns-01: pass --dns-hook PROG or set dns-hook",
			          settings.domains[i]);
			goto out;
		}
	}
	if (session_init(&s, &settings) < 0) {
		rc = settings.ca != NULL && ca_directory_url(settings.ca) == NULL
		             ? CLI_EXIT_USAGE
		             : CLI_EXIT_FAILURE;
		goto out;
	}
	arc = session_account(&s, &settings);
	if (arc < 0) {
		rc = arc == -2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
		goto out;
	}
	runner = job_runner_create(s.loop, s.acme, &s.acct, &settings, s.state_dir, 1);
	if (runner == NULL ||
	    job_runner_add(runner, name, &settings, cli->flags[CLI_OPT_FORCE]) < 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	job_runner_run(runner);
	if (job_runner_count(runner, JOB_FAILED) > 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (cli->flags[CLI_OPT_JSON]) {
		rc = print_json(name, &settings, s.state_dir, runner);
		goto out;
	}
	if (job_runner_count(runner, JOB_UNCHANGED) == 0) {
		char *dir = store_cert_dir(s.state_dir, name);

		if (dir != NULL) {
			printf("%s/fullchain.pem\n%s/privkey.pem\n", dir, dir);
		}
		free(dir);
	}
	rc = CLI_EXIT_OK;
out:
	job_runner_destroy(runner);
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_NAME,       CLI_OPT_WEBROOT,
        CLI_OPT_STANDALONE, CLI_OPT_TLS_ALPN,
        CLI_OPT_HTTP_HOOK,  CLI_OPT_DNS_HOOK,
        CLI_OPT_KEY_TYPE,   CLI_OPT_REUSE_KEY,
        CLI_OPT_PROFILE,    CLI_OPT_CA,
        CLI_OPT_CA_FILE,    CLI_OPT_EMAIL,
        CLI_OPT_AGREE_TOS,  CLI_OPT_ACCOUNT_KEY_TYPE,
        CLI_OPT_STATE_DIR,  CLI_OPT_DEPLOY_HOOK,
        CLI_OPT_FORCE,      CLI_OPT_JSON,
        CLI_OPT_EAB_KID,    CLI_OPT_EAB_HMAC_KEY,
        CLI_OPT_EAB_ALG,    CLI_OPT__MAX,
};

const struct cli_command cmd_cert = {
        .name = "cert",
        .args = "NAME [NAME...]",
        .summary = "Get (or renew when due) one certificate covering all NAMEs.",
        .options = options,
        .min_args = 1,
        .max_args = -1,
        .run = run,
};
