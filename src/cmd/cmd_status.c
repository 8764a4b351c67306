#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/job_runner.h"
#include "base/log.h"
#include "renew/policy.h"
#include "cmd/session.h"
#include "store/state.h"
#include "store/store_cert.h"

/* Without a daemon: the same rows from the configuration and the files. */
static json_t *
offline_status(struct cli *cli, struct conf *conf)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < conf->n_certs; i++) {
		const struct conf_cert *c = &conf->certs[i];
		struct conf_settings st;
		struct policy_view v;
		struct policy_decision d;
		struct status_row row;
		char *state_dir = NULL;

		if (conf_resolve(conf, c, &cli->settings, &st) < 0) {
			continue;
		}
		state_dir = session_state_dir(&st);
		policy_view_init(&v);
		memset(&d, 0, sizeof(d));
		if (state_dir == NULL || policy_view_load(state_dir, c->name, &v) < 0 ||
		    policy_view_decide(&v, &st, session_ca_url(&st), false, 0, time(NULL), &d) <
		            0) {
			d.when = 0;
		}
		status_row_fill(&row, c->name, &st, &v, &d);
		json_array_append_new(list, cmd_status_row_json(&row));
		policy_view_finish(&v);
		free(state_dir);
		conf_settings_finish(&st);
	}
	return json_pack("{s:b, s:o*}", "daemon", 0, "certs", list);
}

static void
format_time(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static void
print_table(json_t *answer)
{
	json_t *certs = json_object_get(answer, "certs");
	json_t *c;
	size_t i;

	printf("%-20s %-17s %-17s %-8s %s\n", "CERT", "NOT AFTER (UTC)", "NEXT RENEWAL", "FAILS",
	       "NAMES / LAST ERROR");
	json_array_foreach(certs, i, c)
	{
		const char *name = "";
		const char *error = NULL;
		const char *why = NULL;
		json_int_t not_after = 0;
		json_int_t next = 0;
		json_int_t attempts = 0;
		json_t *domains = NULL;
		char na[32];
		char nx[32];
		json_t *d;
		size_t k;

		json_unpack(c, "{s:s, s?o, s?I, s?I, s?I, s?s, s?s}", "cert", &name, "domains",
		            &domains, "not_after", &not_after, "next", &next, "attempts", &attempts,
		            "last_error", &error, "why", &why);
		format_time(not_after, na, sizeof(na));
		format_time(next, nx, sizeof(nx));
		printf("%-20s %-17s %-17s %-8lld", name, na, nx, (long long)attempts);
		json_array_foreach(domains, k, d)
		{
			printf(" %s", json_string_value(d));
		}
		printf("\n");
		if (error != NULL && error[0] != '\0') {
			printf("%-20s last error: %s\n", "", error);
		}
		/* Why it is due or held, unless it is simply valid. */
		if (why != NULL && why[0] != '\0' && strncmp(why, "valid until", 11) != 0) {
			printf("%-20s %s\n", "", why);
		}
	}
}

/* The daemon's view when it is ready, else the files' (marked running when
 * a daemon answered). New reference, or NULL (logged) when a daemon is
 * there but cannot be asked: the files would show it as stopped. */
static json_t *
current_status(struct cli *cli, struct conf *conf, struct cmd_daemon *daemon)
{
	json_t *answer = cmd_daemon_ask(daemon, "status", NULL, CMD_DAEMON_TIMEOUT_S);
	bool running = answer != NULL;

	if (answer == NULL && !daemon->none) {
		goto out;
	}
	if (answer != NULL && json_is_true(json_object_get(answer, "ready"))) {
		json_object_set_new(answer, "daemon", json_true());
		goto out;
	}
	/* No daemon, or one still waiting for its CA: the files tell more,
	 * but a daemon that answered is running. */
	json_decref(answer);
	answer = offline_status(cli, conf);
	if (answer != NULL && running) {
		json_object_set_new(answer, "daemon", json_true());
		json_object_set_new(answer, "ready", json_false());
	}
out:
	return answer;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct cmd_daemon daemon = {0};
	json_t *answer = NULL;
	int rc = CLI_EXIT_USAGE;

	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	if (conf.path == NULL) {
		log_error("no configuration file: pass -c FILE");
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (cmd_daemon_init(&daemon, cli, &conf) < 0) {
		goto out;
	}
	answer = current_status(cli, &conf, &daemon);
	if (answer != NULL) {
		rc = cmd_print(cli, answer, print_table);
	}
out:
	json_decref(answer);
	cmd_daemon_finish(&daemon);
	conf_finish(&conf);
	return rc;
}

const struct cli_command cmd_status = {
        .name = "status",
        .args = "",
        .summary = "Show every configured certificate: names, expiry, next renewal, last error.",
        .options = cmd_json_options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
