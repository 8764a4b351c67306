#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/ctl.h"
#include "base/log.h"

static int
run(struct cli *cli)
{
	struct conf conf;
	json_t *request = NULL;
	json_t *answer = NULL;
	json_int_t active = 0;
	json_int_t pending = 0;
	char *path = NULL;
	bool no_daemon = false;
	int rc = CLI_EXIT_USAGE;

	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	path = cmd_socket_path(cli, &conf);
	request = json_pack("{s:s}", "cmd", "jobs");
	if (path == NULL || request == NULL) {
		goto out;
	}
	answer = ctl_request(path, request, 10.0, &no_daemon);
	if (answer == NULL && no_daemon) {
		/* Like the seed's jobs(): no daemon means nothing is running. */
		log_info("no daemon answers at %s", path);
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
		log_error("%s: unexpected answer from the daemon", path);
		goto out;
	}
	if (cli->flags[CLI_OPT_JSON]) {
		if (cmd_print_json(answer) < 0) {
			goto out;
		}
	} else {
		printf("%lld\n", (long long)(active + pending));
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(request);
	json_decref(answer);
	free(path);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_JSON,
        CLI_OPT__MAX,
};

const struct cli_command cmd_jobs = {
        .name = "jobs",
        .args = "",
        .summary = "Print the number of active and pending jobs of the running daemon.",
        .options = options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
