#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/job_runner.h"
#include "base/log.h"
#include "cmd/session.h"
#include "store/store_cert.h"

/* Settings for name (typed so on the command line): its [cert] section, else the global ones with
 * the names of what is installed (a certificate made by acmed cert without a configuration). A
 * deploy hook must be set: without one there is nothing to do, a configuration mistake. Returns 0,
 * or -1 (logged). */
static int
settings_for(struct cli *cli, struct conf *conf, const char *typed, const char *name,
             struct conf_settings *st)
{
	const struct conf_cert *section = conf_find_cert(conf, name);
	struct store_cert_info info;
	char *state_dir = NULL;
	char err[256];
	int rc = -1;

	memset(&info, 0, sizeof(info));
	if (conf_resolve(conf, section, &cli->settings, st) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (st->deploy_hook == NULL) {
		log_error("%s: no deploy hook: set deploy-hook or pass --deploy-hook", name);
		goto out;
	}
	if (section != NULL) {
		rc = 0;
		goto out;
	}
	state_dir = session_state_dir(st);
	if (state_dir == NULL || !store_cert_name_ok(name) ||
	    store_cert_inspect(state_dir, name, &info) < 0 || !info.present) {
		log_error("%s: no such certificate%s%s", typed, conf->path != NULL ? " in " : "",
		          conf->path != NULL ? conf->path : " installed");
		goto out;
	}
	for (size_t i = 0; i < info.n_ids; i++) {
		if (conf_set(st, CONF_WHERE_CLI, "domains", info.ids[i].value, err, sizeof(err)) <
		    0) {
			log_error("%s: %s", name, err);
			goto out;
		}
	}
	rc = 0;
out:
	store_cert_info_finish(&info);
	free(state_dir);
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings *settings = NULL;
	char(*names)[256] = NULL;
	struct job_runner_config config;
	struct job_request req;
	struct session s;
	struct job_runner *runner = NULL;
	char *state_dir = NULL;
	int n = 0;
	int rc = CLI_EXIT_USAGE;

	memset(&s, 0, sizeof(s));
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	settings = calloc((size_t)cli->n_args, sizeof(*settings));
	names = calloc((size_t)cli->n_args, sizeof(*names));
	if (settings == NULL || names == NULL) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	/* "bücher.example" deploys xn--bcher-kva.example. */
	for (n = 0; n < cli->n_args; n++) {
		const char *name = cmd_cert_name(&conf, cli->args[n], names[n], sizeof(names[n]));

		if (name != names[n]) {
			snprintf(names[n], sizeof(names[n]), "%s", name);
		}
		if (settings_for(cli, &conf, cli->args[n], names[n], &settings[n]) < 0) {
			conf_settings_finish(&settings[n]);
			goto out;
		}
	}
	state_dir = session_state_dir(&settings[0]);
	if (state_dir == NULL || session_connect(&s, &settings[0], state_dir, false, &config) < 0) {
		goto out;
	}
	config.offline = "acmed deploy orders nothing";
	runner = job_runner_create(&config);
	if (runner == NULL) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.deploy = true;
	for (int i = 0; i < cli->n_args; i++) {
		if (job_runner_add(runner, names[i], &settings[i], &req) < 0) {
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
	}
	job_runner_run(runner);
	rc = job_runner_count(runner, JOB_FAILED) > 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
	if (rc == CLI_EXIT_OK) {
		for (int i = 0; i < cli->n_args; i++) {
			log_info("%s: deployed", names[i]);
		}
	}
out:
	job_runner_destroy(runner);
	session_finish(&s);
	free(state_dir);
	for (int i = 0; settings != NULL && i < n; i++) {
		conf_settings_finish(&settings[i]);
	}
	free(settings);
	free(names);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_DEPLOY_HOOK,
        CLI_OPT_STATE_DIR,
        CLI_OPT__MAX,
};

const struct cli_command cmd_deploy = {
        .name = "deploy",
        .args = "CERT [CERT...]",
        .summary = "Run the deploy hook again for installed certificates, ordering nothing.",
        .options = options,
        .min_args = 1,
        .max_args = -1,
        .run = run,
};
