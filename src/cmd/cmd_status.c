#include "cmd/cmd.h"
#include "cmd/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "renew/job_runner.h"
#include "base/log.h"
#include "renew/policy.h"
#include "cmd/session.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "store/store_index.h"

/* What the rows of offline_status are made from, shared by its threads. */
struct offline {
	struct cli *cli;
	struct conf *conf;
	struct store_index *index; /* of index_dir, or NULL */
	const char *index_dir;
	time_t now;
	json_t **rows; /* one per section, NULL when it could not be made */
};

/* Section i's row, from the files (through the index when they are in its
 * state folder). Runs on several threads at once. */
static void
offline_row(size_t i, void *arg)
{
	struct offline *o = arg;
	const struct conf_cert *c = &o->conf->certs[i];
	struct conf_settings st;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;
	char *state_dir = NULL;

	if (conf_resolve(o->conf, c, &o->cli->settings, &st) < 0) {
		return;
	}
	state_dir = session_state_dir(&st);
	policy_view_init(&v);
	memset(&d, 0, sizeof(d));
	if (state_dir == NULL ||
	    policy_view_load_from(
	            o->index_dir != NULL && strcmp(o->index_dir, state_dir) == 0 ? o->index : NULL,
	            state_dir, c->name, &v, NULL) < 0 ||
	    policy_view_decide(&v, &st, session_ca_url(&st), false, 0, o->now, &d) < 0) {
		d.when = 0;
	}
	status_row_fill(&row, c->name, &st, &v, &d);
	o->rows[i] = cmd_status_row_json(&row);
	policy_view_finish(&v);
	free(state_dir);
	conf_settings_finish(&st);
}

/* Without a daemon: the same rows from the configuration and the files.
 * The installed sets and state.json are read through the state folder's
 * index (only what changed since the daemon or an earlier status looked),
 * the certificates spread over the processors (stat(2) calls, mostly). */
static json_t *
offline_status(struct cli *cli, struct conf *conf)
{
	struct offline o = {.cli = cli, .conf = conf, .now = time(NULL)};
	struct conf_settings global;
	char *state_dir = NULL;
	json_t *list = json_array();

	o.rows = calloc(conf->n_certs + 1, sizeof(*o.rows));
	if (list == NULL || o.rows == NULL) {
		goto out;
	}
	/* The state folder is global: one index for every section. */
	if (conf_resolve(conf, NULL, &cli->settings, &global) == 0) {
		state_dir = session_state_dir(&global);
		conf_settings_finish(&global);
	}
	if (state_dir != NULL) {
		o.index_dir = state_dir;
		o.index = store_index_open(state_dir);
	}
	parallel_for(conf->n_certs, 0, offline_row, &o);
	for (size_t i = 0; i < conf->n_certs; i++) {
		if (o.rows[i] != NULL) {
			json_array_append_new(list, o.rows[i]);
		}
	}
	if (o.index != NULL) {
		/* What was read here is not read again next time. */
		store_index_sweep(o.index);
		store_index_save(o.index);
	}
out:
	store_index_close(o.index);
	free(state_dir);
	free(o.rows);
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

/* A heartbeat's time, to the second (one comes every 10 s). */
static void
format_seconds(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Fleet mode: the shared record's version, who ordered it, who holds its
 * lease now. */
static void
print_fleet_row(json_t *fleet)
{
	json_int_t version = 0;
	const char *by = "";
	const char *lease = "";

	if (fleet == NULL || json_unpack(fleet, "{s:I, s:s, s:s}", "version", &version,
	                                 "ordered_by", &by, "lease", &lease) != 0) {
		return;
	}
	if (version == 0) {
		printf("%-20s fleet: nothing installed yet", "");
	} else {
		printf("%-20s fleet: version %lld, ordered by %s", "", (long long)version, by);
	}
	if (lease[0] != '\0') {
		printf("; %s is ordering it now", lease);
	}
	printf("\n");
}

static void
print_nodes(json_t *nodes)
{
	json_t *n;
	size_t i;

	if (nodes == NULL) {
		return;
	}
	printf("\n%-20s %-20s %-8s %s\n", "NODE", "LAST CONTACT (UTC)", "ORDERS", "ALIVE");
	json_array_foreach(nodes, i, n)
	{
		const char *name = "";
		json_int_t seen = 0, running = 0;
		int alive = 0;
		char when[32];

		json_unpack(n, "{s:s, s:I, s:I, s:b}", "node", &name, "seen", &seen, "running",
		            &running, "alive", &alive);
		format_seconds(seen, when, sizeof(when));
		printf("%-20s %-20s %-8lld %s\n", name, when, (long long)running,
		       alive ? "yes" : "no (no heartbeat for 30 s)");
	}
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
		print_fleet_row(json_object_get(c, "fleet"));
	}
	print_nodes(json_object_get(answer, "nodes"));
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

/* Fleet mode: the store's view added to the rows (cmd_fleet_view). A
 * store that cannot be reached leaves the local view (said once). */
static void
fleet_view(struct cli *cli, const struct conf *conf, json_t *answer)
{
	struct conf_settings settings;
	struct cmd_fleet fleet;

	memset(&fleet, 0, sizeof(fleet));
	memset(&settings, 0, sizeof(settings));
	if (conf_resolve(conf, NULL, &cli->settings, &settings) < 0 || settings.cluster == NULL) {
		goto out;
	}
	if (cmd_fleet_open(&fleet, ev_default_loop(EVFLAG_AUTO), &settings) == 0 &&
	    cmd_fleet_view(&fleet, answer) < 0) {
		log_warn("cluster: the fleet's view could not be read; showing this node's");
	}
	cmd_fleet_close(&fleet);
out:
	conf_settings_finish(&settings);
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
		fleet_view(cli, &conf, answer);
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
