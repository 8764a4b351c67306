#include "cmd/fleet.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acme/acme_account.h"
#include "base/file.h"
#include "base/log.h"
#include "cmd/fleet_wait.h"
#include "crypto/seal.h"
#include "renew/responders.h"
#include "store/store.h"

#define PASSWORD_MAX 4096

/* --- opening --------------------------------------------------------------- */

static void
on_up(void *arg)
{
	struct cmd_fleet *f = arg;

	/* The daemon's log says it; a command's output would only be
	 * cluttered. */
	log_msg(f->watching ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "cluster: %s ready (node %s)",
	        cluster_name(f->cluster), f->node);
	if (f->watching) {
		/* Whatever was announced while away: compare everything. */
		ev_feed_event(f->loop, &f->reconcile, EV_TIMER);
		ev_feed_event(f->loop, &f->beat, EV_TIMER);
		ev_feed_event(f->loop, &f->account_check, EV_TIMER);
	}
	if (f->on_ready != NULL) {
		ev_feed_event(f->loop, &f->ready, EV_TIMER);
	}
}

static void
on_ready_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	(void)loop;
	(void)revents;
	if (f->on_ready != NULL) {
		f->on_ready(f->ready_arg);
	}
}

/* A store set up with another key found after the start (it waited for
 * the fleet's nodes to set a wiped store up): the daemon goes, as it
 * would have at its start. */
static void
on_bad_key(void *arg)
{
	struct cmd_fleet *f = arg;

	if (f->on_refused != NULL) {
		ev_feed_event(f->loop, &f->refused, EV_TIMER);
	}
}

static void
on_refused_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	(void)loop;
	(void)revents;
	if (f->on_refused != NULL) {
		f->on_refused(f->ready_arg);
	}
}

static void
on_down(const char *why, void *arg)
{
	struct cmd_fleet *f = arg;

	f->was_down = true;
	(void)why;
}

static void
on_event(const struct cluster_event *ev, void *arg)
{
	struct cmd_fleet *f = arg;

	if (!f->watching || ev->node == NULL || strcmp(ev->node, f->node) == 0) {
		return;
	}
	if (ev->kind == CLUSTER_EVENT_INSTALLED) {
		log_debug("cluster: %s installed %s version %ld", ev->node, ev->name, ev->version);
		schedule_fleet_installed(f->schedule, ev->name, ev->version);
	} else if (ev->kind == CLUSTER_EVENT_WEBROOT && f->answers != NULL) {
		struct conf_settings s;
		bool known = ev->name != NULL && schedule_settings(f->schedule, ev->name, &s) == 0;

		fleet_answers_webroot_event(f->answers, ev, known ? &s : NULL);
	}
}

/* The password file's first line (its newline not part of it). */
static char *
read_password(const char *path)
{
	size_t len = 0;
	char *text = file_read(path, PASSWORD_MAX, &len);
	struct stat sb;

	if (text == NULL) {
		log_error("cluster-password-file %s: %s", path, strerror(errno));
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0) {
		log_warn("cluster-password-file %s can be read by others (mode %04o): chmod 600 %s",
		         path, (unsigned)(sb.st_mode & 07777), path);
	}
	return text;
}

static bool
not_connecting(void *arg)
{
	return cluster_state(arg, NULL) != CLUSTER_STATE_CONNECTING;
}

int
cmd_fleet_open(struct cmd_fleet *f, struct ev_loop *loop, const struct conf_settings *settings)
{
	struct cluster_config config;
	struct fleet_wait w8;
	char err[512];
	char *password = NULL;
	char host[CONF_NODE_NAME_MAX + 1];
	const char *node;
	const char *why = NULL;
	int rc = -2;

	memset(f, 0, sizeof(*f));
	memset(&config, 0, sizeof(config));
	memset(&w8, 0, sizeof(w8));
	f->loop = loop;
	ev_timer_init(&f->ready, on_ready_timer, 0.0, 0.0);
	f->ready.data = f;
	ev_timer_init(&f->refused, on_refused_timer, 0.0, 0.0);
	f->refused.data = f;
	if (settings->cluster == NULL) {
		return 0;
	}
	node = conf_node_name(settings, host);
	if (node == NULL) {
		log_error("node-name: the host name is not a usable node name; set node-name");
		goto out;
	}
	snprintf(f->node, sizeof(f->node), "%s", node);
	if (seal_key_load(settings->cluster_key_file, config.key, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (settings->cluster_password_file != NULL &&
	    (password = read_password(settings->cluster_password_file)) == NULL) {
		goto out;
	}
	config.url = settings->cluster;
	/* Read above to refuse an unreadable one at the start; read again at
	 * each connection attempt, so that a corrected file is taken. */
	config.password_file = settings->cluster_password_file;
	config.node = f->node;
	config.on_up = on_up;
	config.on_down = on_down;
	config.on_bad_key = on_bad_key;
	config.on_event = on_event;
	config.arg = f;
	f->cluster = cluster_create(loop, &config, err, sizeof(err));
	if (f->cluster == NULL) {
		log_error("cluster: %s", err);
		rc = -1;
		goto out;
	}
	fleet_wait_run(loop, &w8, not_connecting, f->cluster, FLEET_CONNECT_WAIT);
	switch (cluster_state(f->cluster, &why)) {
	case CLUSTER_STATE_READY:
		rc = 0;
		break;
	case CLUSTER_STATE_BAD_KEY:
		/* The store's front said why. */
		cluster_destroy(f->cluster);
		f->cluster = NULL;
		break;
	default:
		log_warn("cluster: %s cannot be reached (%s): serving the certificates here; "
		         "nothing is ordered until it is back",
		         cluster_name(f->cluster),
		         cluster_state(f->cluster, NULL) == CLUSTER_STATE_CONNECTING ? "see above"
		                                                                     : why);
		f->was_down = true;
		rc = 0;
		break;
	}
out:
	OPENSSL_cleanse(config.key, sizeof(config.key));
	if (password != NULL) {
		OPENSSL_cleanse(password, strlen(password));
	}
	free(password);
	return rc;
}

/* --- the daemon ---------------------------------------------------------------- */

static void
on_versions(const struct cluster_reply *r, size_t n, const char *const *names, const long *versions,
            const char *const *nodes, void *arg)
{
	struct cmd_fleet *f = arg;
	const char *generation = cluster_generation(f->cluster);
	/* Versions of another generation than the one this node's were
	 * compared with say nothing: every certificate is compared (its job
	 * goes by the certificates themselves). */
	bool all = generation[0] != '\0' && strcmp(generation, f->generation) != 0;
	size_t looked;

	(void)nodes;
	if (r->rc != CLUSTER_OK || !f->watching) {
		return;
	}
	looked = schedule_fleet_reconcile(f->schedule, n, names, versions, f->was_down, all);
	if (looked > 0) {
		log_info("cluster: %zu certificate%s to look at again%s", looked,
		         looked == 1 ? "" : "s",
		         all && f->generation[0] != '\0' ? " (the store was set up anew)" : "");
	}
	if (all && store_fleet_generation_write(f->state_dir, generation) == 0) {
		snprintf(f->generation, sizeof(f->generation), "%s", generation);
	}
	f->was_down = false;
}

static void
on_reconcile(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	(void)loop;
	(void)revents;
	if (f->watching && cluster_state(f->cluster, NULL) == CLUSTER_STATE_READY) {
		cluster_versions(f->cluster, on_versions, f);
	}
}

/* Two nodes with one name take each other's announcements for their own
 * (and are one line in status): said at most once an hour. */
static void
on_beaten(const struct cluster_reply *r, void *arg)
{
	struct cmd_fleet *f = arg;
	time_t now = time(NULL);

	if (r->rc == CLUSTER_CONFLICT && (f->twin_said == 0 || now - f->twin_said >= 3600)) {
		log_error("cluster: another running node is named %s too: give each node its own "
		          "node-name (they miss each other's installs until the next "
		          "comparison, and status shows them as one)",
		          f->node);
		f->twin_said = now;
	}
}

static void
on_beat(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	(void)loop;
	(void)revents;
	if (f->watching && cluster_state(f->cluster, NULL) == CLUSTER_STATE_READY) {
		cluster_beat(f->cluster, FLEET_ALIVE_MS, (long)job_runner_active(f->runner),
		             on_beaten, f);
	}
	/* A store wiped, or taken over by another key (or set up again with
	 * this one after that), since. */
	if (f->watching) {
		(void)cluster_recheck(f->cluster);
	}
}

static void
on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	on_beat(loop, &f->beat, revents);
}

void
cmd_fleet_jobs_changed(struct cmd_fleet *f)
{
	if (f->watching && !ev_is_active(&f->soon)) {
		ev_timer_set(&f->soon, FLEET_BEAT_SOON, 0.0);
		ev_timer_start(f->loop, &f->soon);
	}
}

static void
open_responder(const struct conf_settings *s, void *arg)
{
	responders_open(arg, s);
}

/* The store came back: a node that set its account up alone meanwhile
 * (or a store that lost the fleet's) meets the fleet's account. */
static void
on_account_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmd_fleet *f = w->data;

	(void)loop;
	(void)revents;
	if (f->watching && f->acct != NULL) {
		cmd_fleet_account_push(f, f->acct, f->state_dir, f->ca_url);
	}
}

void
cmd_fleet_watch(struct cmd_fleet *f, struct schedule *sched, struct job_runner *runner,
                struct acme_account_handle *acct, const char *state_dir, const char *ca_url)
{
	if (f->cluster == NULL) {
		return;
	}
	f->schedule = sched;
	f->runner = runner;
	f->acct = acct;
	f->state_dir = state_dir;
	f->ca_url = ca_url;
	(void)store_fleet_generation_read(state_dir, f->generation, sizeof(f->generation));
	ev_timer_init(&f->account_check, on_account_check, 0.0, 0.0);
	f->account_check.data = f;
	f->watching = true;
	/* Without it this node writes no other node's webroot file (logged). */
	f->answers = fleet_answers_create(f->loop, f->cluster);
	schedule_each_settings(sched, open_responder, job_runner_responders(runner));
	ev_timer_init(&f->beat, on_beat, 0.0, FLEET_BEAT);
	f->beat.data = f;
	ev_timer_init(&f->reconcile, on_reconcile, 0.0, FLEET_RECONCILE);
	f->reconcile.data = f;
	ev_timer_init(&f->soon, on_soon, FLEET_BEAT_SOON, 0.0);
	f->soon.data = f;
	ev_timer_start(f->loop, &f->beat);
	ev_timer_start(f->loop, &f->reconcile);
}

void
cmd_fleet_unwatch(struct cmd_fleet *f)
{
	if (!f->watching) {
		return;
	}
	f->watching = false;
	fleet_answers_destroy(f->answers);
	f->answers = NULL;
	ev_timer_stop(f->loop, &f->beat);
	ev_timer_stop(f->loop, &f->reconcile);
	ev_timer_stop(f->loop, &f->soon);
	ev_clear_pending(f->loop, &f->account_check);
	f->acct = NULL;
}

void
cmd_fleet_close(struct cmd_fleet *f)
{
	cmd_fleet_unwatch(f);
	f->on_ready = NULL;
	f->on_refused = NULL;
	if (f->loop != NULL) {
		ev_clear_pending(f->loop, &f->ready);
		ev_clear_pending(f->loop, &f->refused);
	}
	cluster_destroy(f->cluster);
	f->cluster = NULL;
}

/* --- the fleet's view ------------------------------------------------------------ */

struct view {
	struct fleet_wait w8;
	const char *node; /* this one's: its own orders are counted by its daemon */
	json_t *answer;
	size_t pending; /* lease_holder answers awaited */
	bool failed;
};

struct view_row {
	struct view *v;
	json_t *fleet; /* the row's "fleet" object (borrowed) */
};

static bool
view_done(void *arg)
{
	struct view *v = arg;

	return v->w8.done && v->pending == 0;
}

static void
on_view_versions(const struct cluster_reply *r, size_t n, const char *const *names,
                 const long *versions, const char *const *nodes, void *arg)
{
	struct view *v = arg;
	json_t *certs = json_object_get(v->answer, "certs");
	json_t *row;
	size_t i, k;

	if (r->rc != CLUSTER_OK) {
		v->failed = true;
		return;
	}
	json_array_foreach(certs, k, row)
	{
		const char *name = json_string_value(json_object_get(row, "cert"));
		json_t *fleet = json_object_get(row, "fleet");

		for (i = 0; name != NULL && fleet != NULL && i < n; i++) {
			if (strcmp(names[i], name) == 0) {
				json_object_set_new(fleet, "version", json_integer(versions[i]));
				json_object_set_new(fleet, "ordered_by", json_string(nodes[i]));
				break;
			}
		}
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(const struct cluster_node *const *)a)->name,
	              (*(const struct cluster_node *const *)b)->name);
}

static void
on_view_nodes(const struct cluster_reply *r, size_t n, const struct cluster_node *nodes, void *arg)
{
	struct view *v = arg;
	json_t *list = json_array();
	const struct cluster_node **sorted = n > 0 ? calloc(n, sizeof(*sorted)) : NULL;
	json_int_t running = 0;

	v->w8.done = true;
	if (r->rc != CLUSTER_OK || list == NULL || (n > 0 && sorted == NULL)) {
		v->failed = true;
		json_decref(list);
		free(sorted);
		return;
	}
	/* By name: the same order on every node and every time. */
	for (size_t i = 0; i < n; i++) {
		sorted[i] = &nodes[i];
	}
	if (n > 1) {
		qsort(sorted, n, sizeof(*sorted), by_name);
	}
	for (size_t i = 0; i < n; i++) {
		const struct cluster_node *node = sorted[i];

		json_array_append_new(list,
		                      json_pack("{s:s, s:I, s:I, s:b}", "node", node->name, "seen",
		                                (json_int_t)node->seen, "running",
		                                (json_int_t)node->running, "alive", node->alive));
		if (node->alive && strcmp(node->name, v->node) != 0) {
			running += node->running;
		}
	}
	free(sorted);
	json_object_set_new(v->answer, "nodes", list);
	json_object_set_new(v->answer, "fleet_running", json_integer(running));
}

static void
on_view_lease(const struct cluster_reply *r, void *arg)
{
	struct view_row *vr = arg;

	if (r->rc == CLUSTER_OK) {
		json_object_set_new(vr->fleet, "lease",
		                    json_string(r->holder != NULL ? r->holder : ""));
	}
	vr->v->pending--;
	free(vr);
}

int
cmd_fleet_view(struct cmd_fleet *f, json_t *answer)
{
	struct view v;
	json_t *certs = json_object_get(answer, "certs");
	json_t *row;
	size_t k;

	memset(&v, 0, sizeof(v));
	v.answer = answer;
	v.node = f->node;
	if (f->cluster == NULL || cluster_state(f->cluster, NULL) != CLUSTER_STATE_READY) {
		return 0;
	}
	json_array_foreach(certs, k, row)
	{
		const char *name = json_string_value(json_object_get(row, "cert"));
		json_t *fleet = json_pack("{s:I, s:s, s:s}", "version", (json_int_t)0, "ordered_by",
		                          "", "lease", "");
		struct view_row *vr = calloc(1, sizeof(*vr));

		if (name == NULL || fleet == NULL || vr == NULL ||
		    json_object_set_new(row, "fleet", fleet) < 0) {
			free(vr);
			continue;
		}
		vr->v = &v;
		vr->fleet = fleet;
		if (cluster_lease_holder(f->cluster, name, on_view_lease, vr) == 0) {
			v.pending++;
		} else {
			free(vr);
		}
	}
	/* Replies keep the order of the calls: the versions come before the
	 * nodes, whose answer ends the wait with the leases'. */
	if (cluster_versions(f->cluster, on_view_versions, &v) < 0 ||
	    cluster_nodes(f->cluster, on_view_nodes, &v) < 0) {
		v.w8.done = true;
		v.failed = true;
	}
	fleet_wait_run(f->loop, &v.w8, view_done, &v, 60.0);
	if (!view_done(&v)) {
		/* Its answers must not reach v once it is gone: closed now,
		 * the store answers every call still waiting. */
		cluster_destroy(f->cluster);
		f->cluster = NULL;
		v.failed = true;
	}
	return v.failed ? -1 : 0;
}
