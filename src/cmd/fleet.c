#include "cmd/fleet.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme/acme_account.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/seal.h"
#include "renew/responders.h"
#include "store/store.h"
#include "store/store_account.h"

#define PASSWORD_MAX 4096
#define ACCOUNT_MAX (64 * 1024)
/* How long a node waits for the account another one registers. */
#define ACCOUNT_WAIT_TRIES 60
#define FLEET_ACCOUNT_LEASE_MS 60000L

/* --- waiting in a command --------------------------------------------------- */

struct wait {
	bool done;
	bool timed_out;
	struct cluster_reply r;
	char message[512];
	char *key_pem; /* account_get */
	char *json;
};

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wait *w8 = w->data;

	(void)loop;
	(void)revents;
	w8->timed_out = true;
}

/* Runs the loop until *flag is set or seconds passed. */
static void
run_until(struct ev_loop *loop, struct wait *w8, bool (*ready)(void *), void *arg, double seconds)
{
	ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, seconds, 0.0);
	deadline.data = w8;
	ev_timer_start(loop, &deadline);
	while (!ready(arg) && !w8->timed_out) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &deadline);
}

static bool
wait_done(void *arg)
{
	return ((struct wait *)arg)->done;
}

static void
on_reply(const struct cluster_reply *r, void *arg)
{
	struct wait *w8 = arg;

	w8->r = *r;
	snprintf(w8->message, sizeof(w8->message), "%s", r->message != NULL ? r->message : "");
	w8->r.message = w8->message;
	w8->done = true;
}

static void
on_account(const struct cluster_reply *r, const char *key_pem, const char *json, void *arg)
{
	struct wait *w8 = arg;

	on_reply(r, arg);
	w8->key_pem = key_pem != NULL ? strdup(key_pem) : NULL;
	w8->json = json != NULL ? strdup(json) : NULL;
}

static void
wait_finish(struct wait *w8)
{
	if (w8->key_pem != NULL) {
		OPENSSL_cleanse(w8->key_pem, strlen(w8->key_pem));
	}
	free(w8->key_pem);
	free(w8->json);
}

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
	struct wait w8;
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
	config.on_event = on_event;
	config.arg = f;
	f->cluster = cluster_create(loop, &config, err, sizeof(err));
	if (f->cluster == NULL) {
		log_error("cluster: %s", err);
		rc = -1;
		goto out;
	}
	run_until(loop, &w8, not_connecting, f->cluster, FLEET_CONNECT_WAIT);
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

/* --- the account --------------------------------------------------------------- */

static char *
account_path(const char *state_dir, const char *ca_url, enum store_account_file file)
{
	char *host = acme_account_ca_dir(ca_url);
	char *path = host != NULL ? store_account_path(state_dir, host, file) : NULL;

	free(host);
	return path;
}

/* This node's account files set aside (account.*.local) before the fleet's
 * are written over them. */
static void
set_aside(const char *state_dir, const char *ca_url)
{
	char *key = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
	char *json = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON);
	char *key_local = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY_LOCAL);
	char *json_local = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON_LOCAL);

	if (key != NULL && key_local != NULL && rename(key, key_local) == 0) {
		log_warn("this node's account key differs from the fleet's: set aside as %s",
		         key_local);
	}
	if (json != NULL && json_local != NULL) {
		(void)rename(json, json_local);
	}
	free(key);
	free(json);
	free(key_local);
	free(json_local);
}

/* Writes the fleet's account here. Returns 1 when the files changed, 0
 * when they were the same, -1 on failure (logged). */
static int
write_account(const char *state_dir, const char *ca_url, const char *key_pem, const char *json)
{
	char *key_path = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
	char *json_path = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON);
	char *dir = account_path(state_dir, ca_url, STORE_ACCOUNT_DIR);
	size_t len = 0;
	char *have = key_path != NULL ? file_read(key_path, ACCOUNT_MAX, &len) : NULL;
	int rc = -1;

	if (key_path == NULL || json_path == NULL || dir == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (have != NULL && strcmp(have, key_pem) == 0) {
		rc = 0;
		goto out;
	}
	if (have != NULL) {
		set_aside(state_dir, ca_url);
	}
	/* The key first: a crash between leaves a key whose account is
	 * looked up again (acme_account_open), never a URL without it. */
	if (file_mkdirs(dir, 0700) < 0 ||
	    file_write_atomic(key_path, key_pem, strlen(key_pem), 0600) < 0 ||
	    file_write_atomic(json_path, json, strlen(json), 0600) < 0) {
		log_error("cannot write the fleet's account into %s", dir);
		goto out;
	}
	log_info("the fleet's account installed in %s", dir);
	rc = 1;
out:
	if (have != NULL) {
		OPENSSL_cleanse(have, len);
	}
	free(have);
	free(key_path);
	free(json_path);
	free(dir);
	return rc;
}

/* The fleet's account for ca_url into w8 (waited for). Returns 0 when the
 * store answered. */
static int
get_account(struct cmd_fleet *f, const char *ca_url, struct wait *w8)
{
	char *host = acme_account_ca_dir(ca_url);
	int rc = -1;

	memset(w8, 0, sizeof(*w8));
	if (host != NULL && cluster_account_get(f->cluster, host, on_account, w8) == 0) {
		run_until(f->loop, w8, wait_done, w8, FLEET_CONNECT_WAIT);
		rc = w8->done && w8->r.rc == CLUSTER_OK ? 0 : -1;
		if (w8->done && w8->r.rc != CLUSTER_OK) {
			log_warn("cluster: the fleet's account: %s", w8->r.message);
		}
		if (!w8->done) {
			/* Its answer must not reach a struct that is gone. */
			run_until(f->loop, w8, wait_done, w8, 60.0);
		}
	}
	free(host);
	return rc;
}

/* The lease on registering the fleet's account (a name no certificate
 * can have): held by the node that registers it, until it is stored. */
static void
account_lease_name(const char *ca_url, char *out, size_t len)
{
	char *host = acme_account_ca_dir(ca_url);

	snprintf(out, len, ".account.%s", host != NULL ? host : "");
	free(host);
}

static enum cluster_result
take_account_lease(struct cmd_fleet *f, const char *ca_url)
{
	struct wait w8;
	char name[300];

	memset(&w8, 0, sizeof(w8));
	account_lease_name(ca_url, name, sizeof(name));
	if (cluster_lease_take(f->cluster, name, FLEET_ACCOUNT_LEASE_MS, on_reply, &w8) < 0) {
		return CLUSTER_ERROR;
	}
	run_until(f->loop, &w8, wait_done, &w8, 60.0);
	if (w8.r.rc == CLUSTER_OK) {
		f->account_token = w8.r.token;
	}
	return w8.r.rc;
}

static void
sleep_loop(struct ev_loop *loop, double seconds)
{
	struct wait w8;

	memset(&w8, 0, sizeof(w8));
	run_until(loop, &w8, wait_done, &w8, seconds);
}

int
cmd_fleet_account_pull(struct cmd_fleet *f, const char *state_dir, const char *ca_url)
{
	struct wait w8;

	if (f->cluster == NULL) {
		return 0;
	}
	if (cluster_state(f->cluster, NULL) != CLUSTER_STATE_READY) {
		char *key = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
		bool have = key != NULL && access(key, F_OK) == 0;

		free(key);
		if (!have) {
			log_error("cluster: %s cannot be reached and this node has no account for "
			          "%s yet: it takes the fleet's once the store is back (a node "
			          "registers none on its own)",
			          cluster_name(f->cluster), ca_url);
			return -1;
		}
		/* This node's own: compared with the fleet's once it is back. */
		return 0;
	}
	if (get_account(f, ca_url, &w8) == 0 && w8.key_pem == NULL &&
	    take_account_lease(f, ca_url) == CLUSTER_BUSY) {
		/* Another node registers the fleet's account right now: that
		 * one, rather than one account per node. */
		log_info("cluster: waiting for the account another node registers");
		for (int i = 0;
		     i < ACCOUNT_WAIT_TRIES && w8.r.rc == CLUSTER_OK && w8.key_pem == NULL; i++) {
			sleep_loop(f->loop, 0.5);
			wait_finish(&w8);
			(void)get_account(f, ca_url, &w8);
		}
	}
	if (w8.key_pem != NULL && w8.json != NULL) {
		(void)write_account(state_dir, ca_url, w8.key_pem, w8.json);
	}
	wait_finish(&w8);
	return 0;
}

void
cmd_fleet_account_push(struct cmd_fleet *f, struct acme_account_handle *acct, const char *state_dir,
                       const char *ca_url)
{
	struct wait w8;
	char *key_pem = NULL;
	char *json = NULL;
	size_t key_len = 0, json_len = 0;
	char *host = acme_account_ca_dir(ca_url);

	memset(&w8, 0, sizeof(w8));
	if (f->cluster == NULL || host == NULL ||
	    cluster_state(f->cluster, NULL) != CLUSTER_STATE_READY) {
		goto out;
	}
	key_pem = file_read(acct->key_path, ACCOUNT_MAX, &key_len);
	json = file_read(acct->json_path, ACCOUNT_MAX, &json_len);
	if (key_pem == NULL || json == NULL ||
	    cluster_account_put(f->cluster, host, key_pem, json, on_reply, &w8) < 0) {
		goto out;
	}
	run_until(f->loop, &w8, wait_done, &w8, 60.0);
	if (w8.r.rc == CLUSTER_OK) {
		log_info("cluster: this node's account is the fleet's");
	} else if (w8.r.rc == CLUSTER_CONFLICT) {
		/* Another node registered at the same time: its account wins. */
		wait_finish(&w8);
		if (get_account(f, ca_url, &w8) == 0 && w8.key_pem != NULL && w8.json != NULL &&
		    write_account(state_dir, ca_url, w8.key_pem, w8.json) == 1) {
			acme_account_reload(acct);
		}
	}
out:
	if (f->account_token != 0) {
		char name[300];

		account_lease_name(ca_url, name, sizeof(name));
		cluster_lease_release(f->cluster, name, f->account_token, NULL, NULL);
		f->account_token = 0;
	}
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, key_len);
	}
	wait_finish(&w8);
	free(key_pem);
	free(json);
	free(host);
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
		/* A store wiped, or taken over by another key, since. */
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
	if (f->loop != NULL) {
		ev_clear_pending(f->loop, &f->ready);
	}
	cluster_destroy(f->cluster);
	f->cluster = NULL;
}

/* --- the fleet's view ------------------------------------------------------------ */

struct view {
	struct wait w8;
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
	run_until(f->loop, &v.w8, view_done, &v, 60.0);
	if (!view_done(&v)) {
		/* Its answers must not reach v once it is gone: closed now,
		 * the store answers every call still waiting. */
		cluster_destroy(f->cluster);
		f->cluster = NULL;
		v.failed = true;
	}
	return v.failed ? -1 : 0;
}
