#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

/* The jobs of an answer checked by run. */
static void
print_count(json_t *answer)
{
	json_int_t active = 0;
	json_int_t pending = 0;

	json_unpack(answer, "{s:I, s:I}", "active", &active, "pending", &pending);
	printf("%lld\n", (long long)(active + pending));
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct cmd_daemon daemon = {0};
	json_t *answer = NULL;
	json_int_t active = 0;
	json_int_t pending = 0;
	int rc = CLI_EXIT_USAGE;

	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (cmd_daemon_init(&daemon, cli, &conf) < 0) {
		goto out;
	}
	answer = cmd_daemon_ask(&daemon, "jobs", NULL, CMD_DAEMON_TIMEOUT_S);
	if (answer == NULL && daemon.none) {
		/* Like the seed's jobs(): no daemon means nothing is running. */
		log_info("no daemon answers at %s", daemon.path);
		if (cli->flags[CLI_OPT_JSON]) {
			printf("{\"active\": 0, \"pending\": 0, \"jobs\": []}\n");
		} else {
			printf("0\n");
		}
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (answer == NULL ||
	    json_unpack(answer, "{s:I, s:I}", "active", &active, "pending", &pending) != 0) {
		log_error("%s: unexpected answer from the daemon", daemon.path);
		goto out;
	}
	rc = cmd_print(cli, answer, print_count);
out:
	json_decref(answer);
	cmd_daemon_finish(&daemon);
	conf_finish(&conf);
	return rc;
}

const struct cli_command cmd_jobs = {
        .name = "jobs",
        .args = "",
        .summary = "Print the number of active and pending jobs of the running daemon.",
        .options = cmd_json_options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
