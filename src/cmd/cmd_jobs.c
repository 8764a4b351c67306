#include "cmd/cmd.h"
#include "cmd/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The jobs of an answer checked by run. */
static void
print_count(json_t *answer)
{
	json_int_t active = 0;
	json_int_t pending = 0;
	json_int_t fleet = 0;

	json_unpack(answer, "{s:I, s:I, s?I}", "active", &active, "pending", &pending,
	            "fleet_running", &fleet);
	printf("%lld\n", (long long)(active + pending + fleet));
}

/* Fleet mode: the orders the other live nodes run (their last
 * heartbeat), and the nodes. */
static void
fleet_jobs(struct cli *cli, const struct conf *conf, json_t *answer)
{
	struct conf_settings settings;
	struct cmd_fleet fleet;

	memset(&fleet, 0, sizeof(fleet));
	memset(&settings, 0, sizeof(settings));
	if (conf_resolve(conf, NULL, &cli->settings, &settings) == 0 && settings.cluster != NULL &&
	    cmd_fleet_open(&fleet, ev_default_loop(EVFLAG_AUTO), &settings) == 0 &&
	    cmd_fleet_view(&fleet, answer) < 0) {
		log_warn("cluster: the fleet's orders could not be counted; this node's only");
	}
	cmd_fleet_close(&fleet);
	conf_settings_finish(&settings);
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
		/* Like the seed's jobs(): no daemon means nothing is running
		 * here. */
		log_info("no daemon answers at %s", daemon.path);
		answer = json_pack("{s:I, s:I, s:[]}", "active", (json_int_t)0, "pending",
		                   (json_int_t)0, "jobs");
	} else if (answer == NULL) {
		/* Why (no answer in time, refused) was said by the request. */
		goto out;
	} else if (json_unpack(answer, "{s:I, s:I}", "active", &active, "pending", &pending) != 0) {
		log_error("%s: unexpected answer from the daemon", daemon.path);
		goto out;
	}
	if (answer == NULL) {
		log_error("out of memory");
		goto out;
	}
	fleet_jobs(cli, &conf, answer);
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
