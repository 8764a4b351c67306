#include "cmd.h"

#include <stdio.h>

#include "config.h"

static int
run(struct cli *cli)
{
	struct conf conf;
	int rc = CLI_EXIT_USAGE;

	conf_init(&conf);
	if (cli->n_args == 1) {
		cli->config_path = cli->args[0];
	}
	if (cli->config_path == NULL) {
		cli->config_path = ACMED_SYSCONFDIR "/acmed.conf";
	}
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	if (!cli->flags[CLI_OPT_QUIET]) {
		printf("%s: ok, %zu certificate%s\n", conf.path, conf.n_certs,
		       conf.n_certs == 1 ? "" : "s");
	}
	rc = CLI_EXIT_OK;
out:
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT__MAX,
};

const struct cli_command cmd_check = {
        .name = "check",
        .args = "[FILE]",
        .summary = "Validate the configuration; print each problem as file:line: message.",
        .options = options,
        .min_args = 0,
        .max_args = 1,
        .run = run,
};
