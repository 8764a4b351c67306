#include "cmd/cmd.h"
#include "cmd/fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/strmap.h"
#include "cmd/session.h"
#include "cmd/status_table.h"
#include "renew/policy.h"
#include "renew/status.h"
#include "store/state.h"
#include "store/store.h"
#include "store/store_cert.h"
#include "store/store_index.h"
#include "store/store_lock.h"

/* The longest certificate name a row is read with (store_cert_name_ok
 * takes fewer). */
#define ROW_NAME_MAX 1024

/* One certificate's row as JSON text (status_row_write): the daemon's,
 * borrowed from its answer, or one made here. The rows of 100,000
 * certificates go from the daemon to the output without a tree of values
 * (ten times their text in memory, and most of the time). */
struct row {
	char *name; /* owned */
	const char *text;
	size_t len;
	char *own; /* the text when made here, else NULL */
	bool paths; /* the daemon's: its "paths" are added here */
};

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
	struct row *rows;
	size_t n_rows;
	size_t cap_rows;
	char **names; /* certificates of the state folder no row names */
	struct row *made; /* folder_row's and offline_row's, one per item */
	bool daemon; /* a daemon answered */
	bool ready; /* its rows are the daemon's view */
	char *answer; /* the daemon's answer: its rows point into it */
};

/* r made from b's text (b emptied), for name. r->text NULL when out of
 * memory. */
static void
row_take(struct row *r, const char *name, struct buf *b)
{
	r->name = strdup(name);
	r->own = buf_steal(b, &r->len);
	r->text = r->own;
	if (r->name == NULL || r->own == NULL) {
		free(r->name);
		free(r->own);
		memset(r, 0, sizeof(*r));
	}
}

static void
row_finish(struct row *r)
{
	free(r->name);
	free(r->own);
}

/* Appends r (taken: emptied) to the rows. Returns 0, or -1 when out of
 * memory (r freed). */
static int
rows_add(struct status_ctx *o, struct row *r)
{
	struct row *grown;

	if (o->n_rows == o->cap_rows) {
		size_t cap = o->cap_rows < 64 ? 64 : o->cap_rows * 2;

		grown = realloc(o->rows, cap * sizeof(*grown));
		if (grown == NULL) {
			row_finish(r);
			memset(r, 0, sizeof(*r));
			return -1;
		}
		o->rows = grown;
		o->cap_rows = cap;
	}
	o->rows[o->n_rows++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

static void
rows_clear(struct status_ctx *o)
{
	for (size_t i = 0; i < o->n_rows; i++) {
		row_finish(&o->rows[i]);
	}
	free(o->rows);
	o->rows = NULL;
	o->n_rows = 0;
	o->cap_rows = 0;
}

/* The made rows (n) appended to the rows, those that could not be made
 * left out. Returns 0, or -1 when out of memory. */
static int
rows_add_made(struct status_ctx *o, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (o->made[i].text != NULL && rows_add(o, &o->made[i]) < 0) {
			rc = -1;
		}
		row_finish(&o->made[i]);
	}
	free(o->made);
	o->made = NULL;
	return rc;
}

/* What offline_row's row is written into. */
struct offline_arg {
	struct status_ctx *o;
	size_t i;
};

static void
offline_text(const struct status_row *row, const char *state_dir, const struct policy_view *v,
             void *arg)
{
	struct offline_arg *a = arg;
	struct buf b;

	(void)v;
	buf_init(&b, SIZE_MAX);
	status_row_write(&b, row, state_dir, !a->o->alone, a->o->now);
	row_take(&a->o->made[a->i], row->cert, &b);
}

/* Section i's row, from the files (through the index when they are in its
 * state folder). Runs on several threads at once. */
static void
offline_row(size_t i, void *arg)
{
	struct status_ctx *o = arg;
	struct offline_arg a = {o, i};

	cmd_status_row_offline(o->conf, &o->conf->certs[i], o->cli, o->index, o->state_dir, o->now,
	                       offline_text, &a);
}

/* Without a daemon: the same rows from the configuration and the files.
 * The installed sets and state.json are read through the state folder's
 * index (only what changed since the daemon or an earlier status looked),
 * the certificates spread over the processors (stat(2) calls, mostly).
 * Returns 0, or -1 when out of memory. */
static int
offline_status(struct status_ctx *o)
{
	size_t n = o->alone ? 0 : o->conf->n_certs;

	o->made = calloc(n + 1, sizeof(*o->made));
	if (o->made == NULL) {
		return -1;
	}
	parallel_for(n, 0, offline_row, o);
	return rows_add_made(o, n);
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
	struct buf b;
	char holder[STORE_LOCK_HOLDER_LEN + 32];
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
		/* Nothing renews it without its names: due, and how to go on. */
		d.when = o->now;
		snprintf(d.why, sizeof(d.why), "nothing installed%s",
		         v.st.order_url != NULL ? ": an order was begun and stopped: `acmed cert` "
		                                  "of its names takes it on"
		                                : "");
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
	row.key_type = v.info.key_type;
	row.issuer = v.info.issuer;
	row.persist_until = st.challenge == CONF_CHALLENGE_DNSPERSIST01 ? v.st.persist_until : 0;
	row.installed = v.info.present;
	row.problem = v.info.problem;
	row.unconfigured = true;
	status_row_holder(&row, &v.st, o->state_dir, holder, sizeof(holder));
	buf_init(&b, SIZE_MAX);
	status_row_write(&b, &row, o->state_dir, !o->alone, o->now);
	row_take(&o->made[i], name, &b);
out:
	free(domains);
	conf_settings_finish(&st);
	policy_view_finish(&v);
}

/* Each certificate of the state folder that no row names gets a row of
 * its own. Returns 0, or -1 (logged). */
static int
add_folder_rows(struct status_ctx *o)
{
	char **all = NULL;
	size_t n_all = 0, n = 0;
	struct strmap shown;
	int rc = -1;

	strmap_init(&shown);
	if (store_list_certs(o->state_dir, &all, &n_all) < 0) {
		log_warn("%s: cannot list its certificates: %s", o->state_dir, strerror(errno));
	}
	for (size_t i = 0; i < o->n_rows; i++) {
		if (strmap_put(&shown, o->rows[i].name, o) < 0) {
			goto out;
		}
	}
	o->names = calloc(n_all + 1, sizeof(*o->names));
	o->made = calloc(n_all + 1, sizeof(*o->made));
	if (o->names == NULL || o->made == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n_all; i++) {
		if (strmap_get(&shown, all[i]) == NULL) {
			o->names[n++] = all[i];
		}
	}
	parallel_for(n, 0, folder_row, o);
	rc = rows_add_made(o, n);
out:
	if (rc < 0) {
		log_error("out of memory");
	}
	strmap_finish(&shown);
	store_list_free(all, n_all);
	free(o->names);
	free(o->made);
	o->names = NULL;
	o->made = NULL;
	return rc;
}

/* The name of a row of the daemon's answer ("cert", its first member). */
static int
on_row_member(const char *key, const char *value, size_t len, void *arg)
{
	if (key == NULL || strcmp(key, "cert") != 0) {
		/* An element of an array: no row. */
		return key == NULL ? -1 : 0;
	}
	return json_text_decode(value, len, arg, ROW_NAME_MAX) >= 0 ? 1 : -1;
}

static int
on_row(const char *key, const char *value, size_t len, void *arg)
{
	struct status_ctx *o = arg;
	char name[ROW_NAME_MAX];
	struct row r = {0};

	(void)key;
	if (json_text_each(value, len, on_row_member, name) != 1) {
		return -1;
	}
	r.name = strdup(name);
	r.text = value;
	r.len = len;
	r.paths = true;
	/* An object ends with its brace: the paths go before it. */
	if (len < 2 || value[len - 1] != '}') {
		free(r.name);
		return -1;
	}
	return r.name != NULL ? rows_add(o, &r) : -1;
}

static int
on_answer_member(const char *key, const char *value, size_t len, void *arg)
{
	struct status_ctx *o = arg;

	if (key == NULL) {
		return -1; /* an array: not the daemon's answer */
	}
	if (strcmp(key, "ready") == 0) {
		o->ready = len == 4 && memcmp(value, "true", 4) == 0;
	} else if (strcmp(key, "certs") == 0) {
		return json_text_each(value, len, on_row, o) == 0 ? 0 : -1;
	}
	return 0;
}

/* The daemon's rows when it is ready, else the files' (marked running when
 * a daemon answered). Returns 0, or -1 (logged) when a daemon is there but
 * cannot be asked: the files would show it as stopped. */
static int
current_status(struct status_ctx *o, struct cmd_daemon *daemon)
{
	size_t len = 0;
	int rc = -1;

	o->answer = cmd_daemon_ask_text(daemon, "status", CMD_DAEMON_TIMEOUT_S, &len);
	if (o->answer == NULL && !daemon->none) {
		goto out;
	}
	if (o->answer != NULL) {
		o->daemon = true;
		if (json_text_each(o->answer, len, on_answer_member, o) != 0) {
			log_error("control-socket %s: the daemon's answer is not JSON",
			          daemon->path);
			goto out;
		}
		if (o->ready) {
			rc = 0;
			goto out;
		}
	}
	/* No daemon, or one still waiting for its CA: the files tell more,
	 * but a daemon that answered is running. */
	rows_clear(o);
	rc = offline_status(o);
out:
	return rc;
}

static int
compare_rows(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

static void
add(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* r's text appended to b, with its "paths" when the daemon left them out. */
static void
row_write(struct buf *b, const struct status_ctx *o, const struct row *r)
{
	if (!r->paths) {
		buf_add(b, r->text, r->len);
		return;
	}
	buf_add(b, r->text, r->len - 1);
	status_paths_write(b, o->state_dir, r->name);
	buf_add(b, "}", 1);
}

/* The answer as JSON text: the rows (sorted) one a line. */
static char *
answer_text(struct status_ctx *o, size_t *len)
{
	struct buf b;

	buf_init(&b, SIZE_MAX);
	add(&b, "{\n  \"certs\": [");
	for (size_t i = 0; i < o->n_rows; i++) {
		add(&b, i == 0 ? "\n    " : ",\n    ");
		row_write(&b, o, &o->rows[i]);
	}
	add(&b, o->n_rows > 0 ? "\n  ],\n  \"daemon\": " : "],\n  \"daemon\": ");
	json_text_bool(&b, o->daemon);
	if (o->daemon) {
		add(&b, ",\n  \"ready\": ");
		json_text_bool(&b, o->ready);
	}
	add(&b, ",\n  \"state_dir\": ");
	json_text_string(&b, o->state_dir);
	add(&b, "\n}\n");
	return buf_steal(&b, len);
}
/* The width of the CERT column: the longest name, 20 to 256. */
static int
name_width(const struct status_ctx *o)
{
	size_t w = 20;

	for (size_t i = 0; i < o->n_rows; i++) {
		if (strlen(o->rows[i].name) > w) {
			w = strlen(o->rows[i].name);
		}
	}
	return w < 256 ? (int)w : 256;
}

/* The table from the rows' text, one row read at a time: 100,000 rows
 * never make one tree. Returns 0, or -1 when a row is not JSON. */
static int
print_rows(const struct status_ctx *o)
{
	int w = name_width(o);
	int rc = 0;

	status_table_head(o->state_dir, o->daemon && o->ready, w);
	for (size_t i = 0; i < o->n_rows; i++) {
		struct buf b;
		json_t *c;

		buf_init(&b, SIZE_MAX);
		row_write(&b, o, &o->rows[i]);
		c = b.failed ? NULL : json_loadb(b.data, b.len, 0, NULL);
		buf_finish(&b);
		if (c == NULL) {
			log_error("status: %s: its row is not JSON", o->rows[i].name);
			rc = -1;
			continue;
		}
		status_table_row(c, w);
		json_decref(c);
	}
	return rc;
}

/* Fleet mode: the store's view added to the rows (cmd_fleet_view). A
 * store that cannot be reached leaves the local view (said once). */
static void
fleet_view(const struct conf_settings *settings, json_t *answer)
{
	struct cmd_fleet fleet;

	memset(&fleet, 0, sizeof(fleet));
	if (cmd_fleet_open(&fleet, ev_default_loop(EVFLAG_AUTO), settings) == 0 &&
	    cmd_fleet_view(&fleet, answer) < 0) {
		log_warn("cluster: the fleet's view could not be read; showing this node's");
	}
	cmd_fleet_close(&fleet);
}

/* The answer printed, sorted by name: --json as it is (the rows passed on
 * as text), the table a row at a time, a fleet's (whose view is added to
 * the rows) read into values first. Returns the exit status. */
static int
print_answer(struct status_ctx *o, const struct conf_settings *global)
{
	size_t len = 0;
	char *text = NULL;
	json_t *answer = NULL;
	int rc = CLI_EXIT_FAILURE;

	qsort(o->rows, o->n_rows, sizeof(*o->rows), compare_rows);
	if (!o->cli->flags[CLI_OPT_JSON] && global->cluster == NULL) {
		rc = print_rows(o) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		goto out;
	}
	text = answer_text(o, &len);
	if (text == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (o->cli->flags[CLI_OPT_JSON] && global->cluster == NULL) {
		if (fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0) {
			rc = CLI_EXIT_OK;
		}
		goto out;
	}
	answer = json_loadb(text, len, 0, NULL);
	if (answer == NULL) {
		log_error("status: the rows are not JSON (out of memory?)");
		goto out;
	}
	if (global->cluster != NULL) {
		fleet_view(global, answer);
	}
	rc = cmd_print(o->cli, answer, status_table);
out:
	json_decref(answer);
	free(text);
	return rc;
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
		const char *typed = cli->values[CLI_OPT_STATE_DIR];

		/* A relative one: the folder looked at too. */
		log_error("--state-dir %s%s%s%s: no such folder", typed,
		          strcmp(typed, state_dir) != 0 ? " (" : "",
		          strcmp(typed, state_dir) != 0 ? state_dir : "",
		          strcmp(typed, state_dir) != 0 ? ")" : "");
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
	if ((daemon.path != NULL ? current_status(&o, &daemon) : offline_status(&o)) < 0 ||
	    add_folder_rows(&o) < 0) {
		goto out;
	}
	if (o.index != NULL) {
		/* What was read here is not read again next time. */
		store_index_sweep(o.index);
		store_index_save(o.index);
	}
	rc = print_answer(&o, &global);
out:
	rows_clear(&o);
	free(o.answer);
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
