/* Status rows without a daemon (cmd.h), for `acmed status` and the
 * metrics-file `acmed renew` writes. */
#include "cmd/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "renew/metrics.h"
#include "renew/policy.h"
#include "store/store_index.h"

void
cmd_status_row_offline(const struct conf *conf, const struct conf_cert *c, const struct cli *cli,
                       struct store_index *ix, const char *ix_dir, time_t now, cmd_row_fn fn,
                       void *arg)
{
	struct conf_settings st;
	struct policy_view v;
	struct policy_decision d;
	struct status_row row;
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
