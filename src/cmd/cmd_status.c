#include "cmd/cmd.h"
#include "cmd/fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/parallel.h"
#include "renew/job_runner.h"
#include "base/log.h"
#include "renew/policy.h"
#include "cmd/session.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "store/store.h"
#include "store/store_index.h"
#include "base/strmap.h"

/* What the rows are made from, shared by the threads that make them. */
struct status_ctx {
	struct cli *cli;
	struct conf *conf; /* conf->path NULL: no configuration file */
	/* The state folder alone: no configuration file, or --state-dir
	 * (its sections are not rows; its global settings still apply). */
	bool alone;
	const char *state_dir; /* the global one */
	struct store_index *index; /* of state_dir, or NULL */
	time_t now;
	json_t **rows; /* one per item, NULL when it could not be made */
	char **names; /* certificates of the state folder no row names */
	json_t *certs; /* the rows of the answer (borrowed) */
};

/* What a row says of its certificate at a glance: "ok", "due", "failing"
 * (failures in a row, or an error while it is due: the last error beside
 * it) or "unconfigured" (in the state folder, not in the configuration:
 * nothing renews it). An error that left a valid certificate not due (a
 * forced renewal whose pre-hook failed) is shown, but is no failing. */
static const char *
row_state(json_t *row, bool have_config, time_t now)
{
	json_int_t attempts = 0, next = 0;
	const char *error = NULL;

	if (have_config && json_is_false(json_object_get(row, "configured"))) {
		return "unconfigured";
	}
	json_unpack(row, "{s?I, s?I, s?s}", "attempts", &attempts, "next", &next, "last_error",
	            &error);
	if (attempts > 0 || (error != NULL && error[0] != '\0' && next != 0 && next <= now)) {
		return "failing";
	}
	return next != 0 && next <= now ? "due" : "ok";
}

/* Adds to row what the installed set tells (key type, issuer, days left,
 * a problem with its files) and where its files are, then its state. */
static void
add_details(const struct status_ctx *o, json_t *row, const char *state_dir, const char *name,
            const struct store_cert_info *info)
{
	time_t now = o->now;
	static const struct {
		const char *key;
		enum store_cert_file file;
	} files[] = {
	        {"cert", STORE_CERT_CERT},
	        {"chain", STORE_CERT_CHAIN},
	        {"fullchain", STORE_CERT_FULLCHAIN},
	        {"privkey", STORE_CERT_PRIVKEY},
	};
	json_t *paths = json_object();

	for (size_t i = 0; paths != NULL && i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = store_cert_path(state_dir, name, files[i].file);

		json_object_set_new(paths, files[i].key, json_string(path));
		free(path);
	}
	json_object_set_new(row, "paths", paths != NULL ? paths : json_null());
	json_object_set_new(row, "installed", json_boolean(info->present));
	json_object_set_new(row, "key_type",
	                    info->key_type[0] != '\0' ? json_string(info->key_type) : json_null());
	json_object_set_new(row, "issuer",
	                    info->issuer != NULL ? json_string(info->issuer) : json_null());
	/* Whole days, rounded down (-1 on the day after it expired). */
	json_object_set_new(row, "days_left",
	                    info->present
	                            ? json_integer((json_int_t)(info->not_after - now) / 86400 -
	                                           (info->not_after < now ? 1 : 0))
	                            : json_null());
	if (info->problem[0] != '\0') {
		json_object_set_new(row, "problem", json_string(info->problem));
	}
	if (json_object_get(row, "configured") == NULL) {
		json_object_set_new(row, "configured", json_true());
	}
	json_object_set_new(row, "state", json_string(row_state(row, !o->alone, now)));
}

/* What a row of offline_row is turned into: its JSON, with the files'
 * details. */
struct offline_arg {
	struct status_ctx *o;
	size_t i;
};

static void
offline_json(const struct status_row *row, const char *state_dir, const struct policy_view *v,
             void *arg)
{
	struct offline_arg *a = arg;

	a->o->rows[a->i] = cmd_status_row_json(row);
	if (a->o->rows[a->i] != NULL && state_dir != NULL) {
		add_details(a->o, a->o->rows[a->i], state_dir, row->cert, &v->info);
	}
}

/* Section i's row, from the files (through the index when they are in its
 * state folder). Runs on several threads at once. */
static void
offline_row(size_t i, void *arg)
{
	struct status_ctx *o = arg;
	struct offline_arg a = {o, i};

	cmd_status_row_offline(o->conf, &o->conf->certs[i], o->cli, o->index, o->state_dir, o->now,
	                       offline_json, &a);
}

/* Without a daemon: the same rows from the configuration and the files.
 * The installed sets and state.json are read through the state folder's
 * index (only what changed since the daemon or an earlier status looked),
 * the certificates spread over the processors (stat(2) calls, mostly). */
static json_t *
offline_status(struct status_ctx *o)
{
	json_t *list = json_array();
	size_t n = o->alone ? 0 : o->conf->n_certs;

	o->rows = calloc(n + 1, sizeof(*o->rows));
	if (list == NULL || o->rows == NULL) {
		goto out;
	}
	parallel_for(n, 0, offline_row, o);
	for (size_t i = 0; i < n; i++) {
		if (o->rows[i] != NULL) {
			json_array_append_new(list, o->rows[i]);
		}
	}
out:
	free(o->rows);
	o->rows = NULL;
	return json_pack("{s:b, s:o*}", "daemon", 0, "certs", list);
}

/* The row of a certificate of the state folder no section names: what
 * its files say. Without a configuration file its state is decided from
 * the global settings with the installed names (what `acmed renew` of it
 * would do); with one, nothing renews it. Runs on several threads. */
static void
folder_row(size_t i, void *arg)
{
	struct status_ctx *o = arg;
	const char *name = o->names[i];
	struct conf_settings st;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;
	char **domains = NULL;

	memset(&st, 0, sizeof(st));
	memset(&d, 0, sizeof(d));
	policy_view_init(&v);
	if (policy_view_load_from(o->index, o->state_dir, name, &v, NULL) < 0) {
		goto out;
	}
	domains = calloc(v.info.n_ids + 1, sizeof(*domains));
	if (domains == NULL) {
		goto out;
	}
	for (size_t k = 0; k < v.info.n_ids; k++) {
		domains[k] = v.info.ids[k].value;
	}
	if (!o->alone) {
		snprintf(d.why, sizeof(d.why), "not in %s: nothing renews it", o->conf->path);
	} else if (!v.info.present) {
		snprintf(d.why, sizeof(d.why), "nothing installed");
	} else if (cmd_installed_settings(o->cli, o->conf, &v.info, &st) < 0 ||
	           policy_view_decide(&v, &st, v.st.ca != NULL ? v.st.ca : session_ca_url(&st),
	                              false, 0, o->now, &d) < 0) {
		d.when = 0;
	}
	memset(&row, 0, sizeof(row));
	row.cert = name;
	row.domains = domains;
	row.n_domains = v.info.n_ids;
	row.not_after = v.info.not_after;
	row.next = d.when;
	row.attempts = v.st.attempts;
	row.last_error = status_last_error(&v.st);
	row.why = d.why;
	row.persist_until = st.challenge == CONF_CHALLENGE_DNSPERSIST01 ? v.st.persist_until : 0;
	o->rows[i] = cmd_status_row_json(&row);
	if (o->rows[i] != NULL) {
		json_object_set_new(o->rows[i], "configured", json_false());
		add_details(o, o->rows[i], o->state_dir, name, &v.info);
	}
out:
	free(domains);
	conf_settings_finish(&st);
	policy_view_finish(&v);
}

/* A daemon's row i: the files' details added (the daemon keeps only what
 * it schedules by). Runs on several threads. */
static void
daemon_row(size_t i, void *arg)
{
	struct status_ctx *o = arg;
	json_t *row = json_array_get(o->certs, i);
	const char *name = json_string_value(json_object_get(row, "cert"));
	struct policy_view v;

	policy_view_init(&v);
	if (name != NULL && json_object_get(row, "paths") == NULL &&
	    policy_view_load_from(o->index, o->state_dir, name, &v, NULL) == 0) {
		add_details(o, row, o->state_dir, name, &v.info);
	}
	policy_view_finish(&v);
}

static int
compare_rows(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "cert"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "cert"));

	return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* The rows in one order, by name, whoever made them. */
static void
sort_rows(json_t *certs)
{
	size_t n = json_array_size(certs);
	json_t **v = n > 0 ? calloc(n, sizeof(*v)) : NULL;

	if (v == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = json_incref(json_array_get(certs, i));
	}
	qsort(v, n, sizeof(*v), compare_rows);
	json_array_clear(certs);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(certs, v[i]);
	}
	free(v);
}

/* Every certificate of the state folder in answer: the daemon's rows get
 * the files' details, the folders no row names get rows of their own;
 * sorted by name, with the folder's path. Returns 0 or -1 (logged). */
static int
add_state_folder(struct status_ctx *o, json_t *answer)
{
	json_t *certs = json_object_get(answer, "certs");
	char **all = NULL;
	size_t n_all = 0, n = 0;
	struct strmap shown;
	int rc = -1;

	strmap_init(&shown);
	o->certs = certs;
	if (!json_is_array(certs)) {
		goto out;
	}
	if (json_is_true(json_object_get(answer, "daemon")) &&
	    json_is_true(json_object_get(answer, "ready"))) {
		parallel_for(json_array_size(certs), 0, daemon_row, o);
	}
	if (store_list_certs(o->state_dir, &all, &n_all) < 0) {
		log_warn("%s: cannot list its certificates: %s", o->state_dir, strerror(errno));
	}
	for (size_t i = 0; i < json_array_size(certs); i++) {
		const char *name =
		        json_string_value(json_object_get(json_array_get(certs, i), "cert"));

		if (name != NULL && strmap_put(&shown, name, certs) < 0) {
			goto out;
		}
	}
	o->names = calloc(n_all + 1, sizeof(*o->names));
	o->rows = calloc(n_all + 1, sizeof(*o->rows));
	if (o->names == NULL || o->rows == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n_all; i++) {
		if (strmap_get(&shown, all[i]) == NULL) {
			o->names[n++] = all[i];
		}
	}
	parallel_for(n, 0, folder_row, o);
	for (size_t i = 0; i < n; i++) {
		if (o->rows[i] != NULL) {
			json_array_append_new(certs, o->rows[i]);
		}
	}
	sort_rows(certs);
	rc = json_object_set_new(answer, "state_dir", json_string(o->state_dir));
out:
	strmap_finish(&shown);
	store_list_free(all, n_all);
	free(o->names);
	free(o->rows);
	o->names = NULL;
	o->rows = NULL;
	return rc;
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
print_fleet_row(json_t *fleet, int w)
{
	json_int_t version = 0;
	const char *by = "";
	const char *lease = "";

	if (fleet == NULL || json_unpack(fleet, "{s:I, s:s, s:s}", "version", &version,
	                                 "ordered_by", &by, "lease", &lease) != 0) {
		return;
	}
	if (version == 0) {
		printf("%-*s fleet: nothing installed yet", w, "");
	} else {
		printf("%-*s fleet: version %lld, ordered by %s", w, "", (long long)version, by);
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

/* "/var/lib/acmed/certs/www/{cert,chain,fullchain,privkey}.pem" from the
 * row's paths: where its files are (also before anything is installed). */
static void
print_files(json_t *row, int w)
{
	const char *cert =
	        json_string_value(json_object_get(json_object_get(row, "paths"), "cert"));
	const char *slash = cert != NULL ? strrchr(cert, '/') : NULL;

	if (slash != NULL) {
		printf("%-*s files: %.*s/{cert,chain,fullchain,privkey}.pem\n", w, "",
		       (int)(slash - cert), cert);
	}
}

/* The CERT column's width: the longest name, at least 20. */
static int
name_width(json_t *certs)
{
	size_t w = 20;
	json_t *c;
	size_t i;

	json_array_foreach(certs, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "cert"));

		if (name != NULL && strlen(name) > w) {
			w = strlen(name);
		}
	}
	return w < 256 ? (int)w : 256;
}

static void
print_table(json_t *answer)
{
	json_t *certs = json_object_get(answer, "certs");
	const char *state_dir = json_string_value(json_object_get(answer, "state_dir"));
	int w = name_width(certs);
	json_t *c;
	size_t i;

	printf("state folder: %s (%s)\n", state_dir != NULL ? state_dir : "?",
	       json_is_true(json_object_get(answer, "daemon")) &&
	                       json_is_true(json_object_get(answer, "ready"))
	               ? "the running daemon's view"
	               : "read from the files");
	printf("%-*s %-12s %5s %-17s %-17s %s\n", w, "CERT", "STATE", "DAYS", "NOT AFTER (UTC)",
	       "NEXT RENEWAL", "NAMES");
	json_array_foreach(certs, i, c)
	{
		const char *name = "", *state = "", *key_type = NULL, *issuer = NULL;
		const char *error = NULL, *why = NULL, *problem = NULL, *ca = NULL,
		           *fallback = NULL, *warning = NULL;
		json_int_t not_after = 0, next = 0, attempts = 0;
		json_t *domains = NULL, *days = NULL, *d;
		char na[32], nx[32], dl[16], st[32];
		size_t k;

		json_unpack(
		        c, "{s:s, s?o, s?I, s?I, s?I, s?s, s?s, s?s, s?o, s?s, s?s, s?s, s?s, s?s}",
		        "cert", &name, "domains", &domains, "not_after", &not_after, "next", &next,
		        "attempts", &attempts, "last_error", &error, "why", &why, "state", &state,
		        "days_left", &days, "key_type", &key_type, "issuer", &issuer, "problem",
		        &problem, "ca", &ca, "ca_fallback", &fallback);
		format_time(not_after, na, sizeof(na));
		format_time(next, nx, sizeof(nx));
		snprintf(dl, sizeof(dl), "%s", "-");
		if (json_is_integer(days)) {
			snprintf(dl, sizeof(dl), "%lld", (long long)json_integer_value(days));
		}
		snprintf(st, sizeof(st), "%s", state);
		if (attempts > 0) {
			snprintf(st, sizeof(st), "%s (%lld)", state, (long long)attempts);
		}
		printf("%-*s %-12s %5s %-17s %-17s", w, name, st, dl, na, nx);
		json_array_foreach(domains, k, d)
		{
			printf(" %s", json_string_value(d));
		}
		printf("\n");
		if (key_type != NULL || issuer != NULL) {
			printf("%-*s key %s, issued by %s\n", w, "",
			       key_type != NULL ? key_type : "?", issuer != NULL ? issuer : "?");
		}
		if (ca != NULL) {
			printf("%-*s from %s%s%s%s\n", w, "", ca,
			       fallback != NULL ? " (failover: " : "",
			       fallback != NULL ? fallback : "", fallback != NULL ? ")" : "");
		}
		print_files(c, w);
		if (problem != NULL) {
			printf("%-*s problem: %s\n", w, "", problem);
		}
		warning = json_string_value(json_object_get(c, "warning"));
		if (warning != NULL) {
			printf("%-*s warning: %s\n", w, "", warning);
		}
		if (error != NULL && error[0] != '\0') {
			printf("%-*s last error: %s\n", w, "", error);
		}
		/* Why it is due or held, unless it is simply valid. */
		if (why != NULL && why[0] != '\0' && strncmp(why, "valid until", 11) != 0) {
			printf("%-*s %s\n", w, "", why);
		}
		print_fleet_row(json_object_get(c, "fleet"), w);
	}
	print_nodes(json_object_get(answer, "nodes"));
}

/* The daemon's view when it is ready, else the files' (marked running when
 * a daemon answered). New reference, or NULL (logged) when a daemon is
 * there but cannot be asked: the files would show it as stopped. */
static json_t *
current_status(struct status_ctx *o, struct cmd_daemon *daemon)
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
	answer = offline_status(o);
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

/* A folder named by --state-dir, or the default one without a
 * configuration, that does not exist is a mistyped name, not an empty
 * folder (a configuration's own folder may wait for its first order).
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after a message. */
static int
folder_missing(const struct cli *cli, const struct conf *conf, const char *state_dir)
{
	struct stat sb;

	if ((!cli->flags[CLI_OPT_STATE_DIR] && conf->path != NULL) || stat(state_dir, &sb) == 0 ||
	    errno != ENOENT) {
		return CLI_EXIT_OK;
	}
	if (cli->flags[CLI_OPT_STATE_DIR]) {
		log_error("--state-dir %s: no such folder", cli->values[CLI_OPT_STATE_DIR]);
	} else {
		log_error("%s: no such folder: nothing was issued here yet (--state-dir or -c FILE "
		          "names another)",
		          state_dir);
	}
	return CLI_EXIT_USAGE;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings global;
	struct cmd_daemon daemon = {0};
	struct status_ctx o;
	json_t *answer = NULL;
	char *state_dir = NULL;
	int rc = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&global, 0, sizeof(global));
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	/* The state folder is global: one index for every section, and the
	 * folder whose certificates are all listed. */
	if (conf_resolve(&conf, NULL, &cli->settings, &global) < 0) {
		goto out;
	}
	state_dir = session_state_dir(&global);
	if (state_dir == NULL) {
		goto out;
	}
	o.cli = cli;
	o.conf = &conf;
	o.alone = conf.path == NULL || cli->flags[CLI_OPT_STATE_DIR];
	o.state_dir = state_dir;
	o.now = time(NULL);
	rc = folder_missing(cli, &conf, state_dir);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	o.index = store_index_open(state_dir);
	/* The daemon that runs on this folder (its mark), or the
	 * configuration's on its own folder; none: the files alone. */
	if (cmd_daemon_of(&daemon, cli, &conf, state_dir) < 0) {
		goto out;
	}
	answer = daemon.path != NULL ? current_status(&o, &daemon) : offline_status(&o);
	if (answer == NULL || add_state_folder(&o, answer) < 0) {
		goto out;
	}
	if (o.index != NULL) {
		/* What was read here is not read again next time. */
		store_index_sweep(o.index);
		store_index_save(o.index);
	}
	fleet_view(cli, &conf, answer);
	rc = cmd_print(cli, answer, print_table);
out:
	json_decref(answer);
	store_index_close(o.index);
	free(state_dir);
	conf_settings_finish(&global);
	cmd_daemon_finish(&daemon);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_JSON,
        CLI_OPT_STATE_DIR,
        CLI_OPT__MAX,
};

const struct cli_command cmd_status = {
        .name = "status",
        .args = "",
        .summary = "Show every certificate of the state folder: names, expiry, state, files.",
        .options = options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
