/* What the commands tell those who watch them (cmd.h): status rows
 * without a daemon (`acmed status`, the metrics-file), and `acmed renew`'s
 * metrics-file and notifications. */
#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "renew/metrics.h"
#include "renew/notifier.h"
#include "renew/policy.h"
#include "store/store_index.h"
#include "store/store_lock.h"

void
cmd_status_row_offline(const struct conf *conf, const struct conf_cert *c, const struct cli *cli,
                       struct store_index *ix, const char *ix_dir, time_t now, cmd_row_fn fn,
                       void *arg)
{
	struct conf_settings st;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;
	char holder[STORE_LOCK_HOLDER_LEN + 32];
	char *state_dir = NULL;
	bool same;

	if (conf_resolve(conf, c, &cli->settings, &st) < 0) {
		return;
	}
	state_dir = session_state_dir(&st);
	same = state_dir != NULL && ix_dir != NULL && strcmp(ix_dir, state_dir) == 0;
	policy_view_init(&v);
	memset(&d, 0, sizeof(d));
	if (state_dir == NULL ||
	    policy_view_load_from(same ? ix : NULL, state_dir, c->name, &v, NULL) < 0 ||
	    policy_view_decide(&v, &st, session_ca_url(&st), false, 0, now, &d) < 0) {
		d.when = 0;
	}
	status_row_fill(&row, c->name, &st, &v, &d);
	status_row_holder(&row, &v.st, state_dir, holder, sizeof(holder));
	fn(&row, state_dir, &v, arg);
	policy_view_finish(&v);
	free(state_dir);
	conf_settings_finish(&st);
}

static void
add_row(const struct status_row *row, const char *state_dir, const struct policy_view *view,
        void *arg)
{
	(void)state_dir;
	(void)view;
	metrics_add_row(arg, row);
}

int
cmd_metrics_write(const struct conf *conf, const struct cli *cli, const struct metrics_tally *tally,
                  const char *path)
{
	struct metrics *m = metrics_begin();
	time_t now = time(NULL);
	char *text;
	size_t len = 0;
	int rc = -1;

	for (size_t i = 0; m != NULL && i < conf->n_certs; i++) {
		cmd_status_row_offline(conf, &conf->certs[i], cli, NULL, NULL, now, add_row, m);
	}
	metrics_add_tally(m, tally);
	text = metrics_end(m, &len);
	if (text == NULL) {
		log_error("metrics-file %s: out of memory", path);
		goto out;
	}
	/* Readable by node_exporter's user: nothing secret in it. */
	rc = file_write_atomic(path, text, len, 0644);
	if (rc < 0) {
		/* file_write_atomic named the path and errno; say which
		 * setting it is and what the run did. */
		log_error("metrics-file %s: not written: set metrics-file to a path in a "
		          "folder acmed can write (the certificates were handled)",
		          path);
	}
out:
	free(text);
	return rc;
}

/* How long a run waits at its end for its notifications (the one-shot
 * retries fit in it). */
#define WATCH_WAIT_S 15.

bool
metrics_file_problem(const char *path, char *why, size_t len)
{
	char folder[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(why, len, "metrics-file %s: a folder: name a file in it", path);
		return true;
	}
	if (file_dir_writable(path, folder, sizeof(folder)) < 0) {
		snprintf(why, len, "metrics-file %s: cannot write in %s: %s", path, folder,
		         strerror(errno));
		return true;
	}
	return false;
}

const char *
cmd_host_label(const struct conf_settings *s, char *buf, size_t len)
{
	char node[CONF_NODE_NAME_MAX + 1];

	if (conf_node_name(s, node) != NULL) {
		snprintf(buf, len, "%s", node);
	} else if (gethostname(buf, len) < 0) {
		snprintf(buf, len, "?");
	}
	buf[len - 1] = '\0';
	return buf;
}

int
cmd_watch_begin(struct cmd_watch *w, const struct conf *conf, const struct cli *cli)
{
	struct conf_settings global;
	char why[2 * PATH_MAX + 128];
	char host[256];
	char *state_dir = NULL;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	if (conf_resolve(conf, NULL, &cli->settings, &global) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (global.metrics_file != NULL &&
	    ((w->metrics_file = strdup(global.metrics_file)) == NULL ||
	     (w->tally = metrics_tally_new()) == NULL)) {
		log_error("out of memory");
		goto out;
	}
	/* Said before anything is ordered; the certificates come first: the
	 * run goes on, and exits 1 when the file is still not written. */
	if (w->metrics_file != NULL && metrics_file_problem(w->metrics_file, why, sizeof(why))) {
		log_error("%s: the certificates are renewed all the same; the run will exit 1",
		          why);
	}
	state_dir = session_state_dir(&global);
	if (state_dir != NULL) {
		w->notifier = notifier_create(ev_default_loop(EVFLAG_AUTO), &global, state_dir,
		                              cmd_host_label(&global, host, sizeof(host)),
		                              NOTIFIER_ONE_SHOT);
	}
	rc = 0;
out:
	free(state_dir);
	conf_settings_finish(&global);
	return rc;
}

void
cmd_watch_job_done(const struct job_outcome *o, void *arg)
{
	struct cmd_watch *w = arg;

	notifier_job_done(w->notifier, o);
}

static void
check_expiry(const struct status_row *row, const char *state_dir, const struct policy_view *view,
             void *arg)
{
	(void)state_dir;
	(void)view;
	notifier_check_expiry(arg, row->cert, row->not_before, row->not_after, row->ca,
	                      row->attempts);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

int
cmd_watch_end(struct cmd_watch *w, const struct conf *conf, const struct cli *cli)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	time_t now = time(NULL);
	ev_timer deadline;
	int rc = 0;

	for (size_t i = 0; w->notifier != NULL && i < conf->n_certs; i++) {
		cmd_status_row_offline(conf, &conf->certs[i], cli, NULL, NULL, now, check_expiry,
		                       w->notifier);
	}
	if (w->metrics_file != NULL &&
	    cmd_metrics_write(conf, cli, w->tally, w->metrics_file) < 0) {
		rc = -1;
	}
	/* What is on its way is waited for: the run is the only chance to
	 * tell it. The deadline's timer makes each turn end by then. */
	ev_timer_init(&deadline, on_deadline, WATCH_WAIT_S, 0.);
	ev_timer_start(loop, &deadline);
	while (notifier_busy(w->notifier) && ev_is_active(&deadline)) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &deadline);
	return rc;
}

void
cmd_watch_finish(struct cmd_watch *w)
{
	notifier_destroy(w->notifier);
	metrics_tally_free(w->tally);
	free(w->metrics_file);
	memset(w, 0, sizeof(*w));
}
