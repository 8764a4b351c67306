#include "cmd/cmd.h"
#include "renew/metrics.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cmd/dry_run.h"
#include "conf/ca.h"
#include "renew/batch_hooks.h"
#include "renew/job_runner.h"
#include "base/log.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "cmd/session.h"

/* Certificates are renewed CA by CA: one session, account and runner each. */
struct group {
	const char *ca;
	const char *ca_file;
	const char *ca_list;
	/* The later CAs of the list (failover), resolved for the first
	 * certificate. */
	struct conf_settings *more;
	size_t n_more;
	double asked_at; /* when the run began (job_request.asked_at) */
	struct conf_settings *settings; /* resolved, one per certificate */
	const char **names;
	size_t n;
};

/* Whether any certificate of g is to be ordered, or its renewal window is
 * to be asked: only then is the CA needed, so a run with nothing due works
 * while the CA is down. */
static bool
needs_ca(const struct group *g, const char *state_dir, const char *ca_url, bool force)
{
	struct policy_decision d;

	if (force) {
		return true;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (policy_check(state_dir, g->names[i], &g->settings[i], ca_url, false, 0,
		                 time(NULL), &d, NULL) < 0 ||
		    d.action == POLICY_ORDER || d.ari_stale) {
			return true;
		}
	}
	return false;
}

/* The daemon of the state folder, for the jobs whose built-in responder's
 * port it holds (job_hand_off_fn): found at the first such job. */
struct hand_off {
	struct cli *cli;
	struct conf *conf;
	char *state_dir; /* the folder daemon was looked up for, or NULL */
	struct cmd_daemon daemon;
};

static bool
hand_off(void *arg, const char *state_dir, const char *name, const char *address, char *msg,
         size_t len)
{
	struct hand_off *h = arg;
	const char *text = NULL;
	json_t *answer;
	bool taken = false;

	if (h->state_dir == NULL || strcmp(h->state_dir, state_dir) != 0) {
		cmd_daemon_finish(&h->daemon);
		free(h->state_dir);
		h->state_dir = strdup(state_dir);
		if (h->state_dir == NULL ||
		    cmd_daemon_of(&h->daemon, h->cli, h->conf, state_dir) < 0) {
			memset(&h->daemon, 0, sizeof(h->daemon));
		}
	}
	/* No daemon marked the folder, or none answered already. */
	if (h->daemon.path == NULL || h->daemon.none) {
		return false;
	}
	/* Taken only when the port is the daemon's own. */
	answer = cmd_daemon_request(
	        &h->daemon,
	        json_pack("{s:s, s:s, s:s}", "cmd", "renew", "cert", name, "listening", address),
	        CMD_DAEMON_TIMEOUT_S);
	if (answer == NULL) {
		return false;
	}
	if (json_unpack(answer, "{s:s}", "error", &text) == 0) {
		/* Another program's port, or not the daemon's certificate:
		 * the job's failure says what holds the port. */
		log_debug("%s: the daemon at %s did not take it: %s", name, h->daemon.path, text);
	} else {
		taken = true;
		json_unpack(answer, "{s:s}", "waits", &text);
		snprintf(msg, len,
		         "the daemon at %s listens on %s, the responder's address: handed to it, "
		         "it renews this certificate now%s%s",
		         h->daemon.path, address, text != NULL ? "; " : "",
		         text != NULL ? text : "");
	}
	json_decref(answer);
	return taken;
}

/* Renews g's certificates; dr: a dry run's (g's settings are its), else
 * NULL; w (may be NULL) gets what the group's runner counted and each
 * job's outcome; ho (NULL in a dry run) hands a certificate to the daemon
 * that holds its responder's port. */
static int
renew_group(struct group *g, bool force, struct batch_hooks *batch, unsigned long counts[JOB__MAX],
            struct dry_run *dr, struct cmd_watch *w, struct session_signals *sig,
            struct hand_off *ho)
{
	struct session s;
	struct job_runner_config config;
	struct job_request req;
	struct conf_settings base;
	struct job_runner *runner = NULL;
	struct http_stats stats;
	struct session_more more;
	const struct conf_settings *more_settings[CONF_CA_LIST_MAX];
	char *state_dir = NULL;
	const char *ca_url = session_ca_url(&g->settings[0]);
	bool need_ca;
	int rc = CLI_EXIT_FAILURE;

	memset(&s, 0, sizeof(s));
	memset(&more, 0, sizeof(more));
	state_dir = session_state_dir(&g->settings[0]);
	if (state_dir == NULL) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	/* A state folder that cannot keep anything stops the run before the
	 * account is registered; a certificate's own problems (its hook, its
	 * webroot) stop only its job, before its order. */
	memset(&base, 0, sizeof(base));
	if (preflight_check(state_dir, NULL, &base, PREFLIGHT_NO_LISTEN, NULL, NULL, NULL) < 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	need_ca = ca_url != NULL && needs_ca(g, state_dir, ca_url, force);
	rc = cmd_exit(session_connect(&s, &g->settings[0], state_dir, need_ca, &config));
	for (size_t i = 0; i < g->n_more; i++) {
		more_settings[i] = &g->more[i];
	}
	if (rc == CLI_EXIT_OK && g->n_more > 0) {
		rc = cmd_exit(session_connect_more(&more, more_settings, g->n_more, state_dir,
		                                   need_ca, s.fleet, &config));
	}
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	config.batch = batch;
	if (ho != NULL) {
		config.hand_off = hand_off;
		config.hand_off_arg = ho;
	}
	runner = job_runner_create(&config);
	if (runner == NULL) {
		goto out;
	}
	if (dr != NULL) {
		dr->ca_url = config.ca_url;
		job_runner_on_done(runner, dry_run_on_done, dr);
	} else if (w != NULL) {
		job_runner_on_done(runner, cmd_watch_job_done, w);
	}
	memset(&req, 0, sizeof(req));
	req.force = force;
	req.asked_at = force && dr == NULL ? g->asked_at : 0;
	for (size_t i = 0; i < g->n; i++) {
		if (job_runner_add(runner, g->names[i], &g->settings[i], &req) < 0) {
			counts[JOB_FAILED]++;
		}
	}
	session_signals_runner(sig, runner);
	job_runner_run(runner);
	session_signals_runner(sig, NULL);
	if (s.http != NULL) {
		http_get_stats(s.http, &stats);
		log_debug("%s: %lu HTTP requests, %lu new connections", config.ca_url,
		          stats.requests, stats.connections);
	}
	for (int r = 0; r < JOB__MAX; r++) {
		counts[r] += job_runner_count(runner, (enum job_result)r);
	}
	metrics_tally_runner(w != NULL ? w->tally : NULL, runner);
	rc = CLI_EXIT_OK;
out:
	if (rc != CLI_EXIT_OK) {
		counts[JOB_FAILED] += g->n;
		metrics_tally_result(w != NULL ? w->tally : NULL, JOB_FAILED, g->n);
	}
	if (dr != NULL) {
		dr->ca_url = g->ca;
		dry_run_not_run(dr, g->names, g->n);
	}
	job_runner_destroy(runner);
	session_more_finish(&more);
	session_finish(&s);
	free(state_dir);
	return rc;
}

/* renew --now: the running daemon renews, the command only asks. */
static int
ask_daemon(struct cli *cli, struct conf *conf)
{
	struct cmd_daemon daemon;
	int rc = CLI_EXIT_FAILURE;

	if (cmd_daemon_init(&daemon, cli, conf) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
	for (int i = 0; i < cli->n_args; i++) {
		json_t *answer =
		        cmd_daemon_ask(&daemon, "renew", cli->args[i], CMD_DAEMON_TIMEOUT_S);
		const char *error = NULL;

		if (answer == NULL && daemon.none) {
			log_error("no daemon answers at %s: start acmed run, or use acmed renew "
			          "without --now",
			          daemon.path);
			rc = CLI_EXIT_NO_DAEMON;
			break;
		}
		if (answer == NULL || json_unpack(answer, "{s:s}", "error", &error) == 0) {
			int unknown = 0;

			/* Exit 2 for a name it does not know, as without --now. */
			json_unpack(answer, "{s?b}", "unknown", &unknown);
			if (error != NULL) {
				log_error("%s: %s%s", cli->args[i], error,
				          unknown ? " in the daemon's configuration" : "");
			}
			if (unknown && rc != CLI_EXIT_USAGE) {
				rc = CLI_EXIT_USAGE;
			} else if (rc == CLI_EXIT_OK) {
				rc = CLI_EXIT_FAILURE;
			}
		} else if (json_unpack(answer, "{s:s}", "waits", &error) == 0) {
			log_warn("%s: %s", cli->args[i], error);
		} else {
			log_info("%s: the daemon renews it now", cli->args[i]);
		}
		json_decref(answer);
	}
out:
	cmd_daemon_finish(&daemon);
	return rc;
}

/* "issued 1, renewed 0, unchanged 2, failed 0", then the deployed,
 * deferred and handed counts when there are any, and how many of total certificates
 * have no result (0: not counted). */
static void
print_counts(const unsigned long counts[JOB__MAX], unsigned long total)
{
	unsigned long done = 0;

	for (int r = 0; r < JOB__MAX; r++) {
		done += counts[r];
	}
	printf("issued %lu, renewed %lu, unchanged %lu, failed %lu", counts[JOB_ISSUED],
	       counts[JOB_RENEWED], counts[JOB_UNCHANGED], counts[JOB_FAILED]);
	if (counts[JOB_DEPLOYED] > 0) {
		printf(", deployed %lu", counts[JOB_DEPLOYED]);
	}
	if (counts[JOB_DEFERRED] > 0) {
		printf(", deferred %lu", counts[JOB_DEFERRED]);
	}
	if (counts[JOB_HANDED] > 0) {
		printf(", handed to the daemon %lu", counts[JOB_HANDED]);
	}
	if (total > done) {
		printf(", not done %lu (stopped)", total - done);
	}
	printf("\n");
}

/* The groups of the certificates to renew. */
struct groups {
	struct group *list; /* one per CA at the most */
	size_t n;
};

static void
groups_finish(struct groups *gs)
{
	for (size_t k = 0; gs->list != NULL && k < gs->n; k++) {
		for (size_t i = 0; i < gs->list[k].n; i++) {
			conf_settings_finish(&gs->list[k].settings[i]);
		}
		free(gs->list[k].settings);
		free(gs->list[k].names);
		cmd_more_cas_free(gs->list[k].more, gs->list[k].n_more);
	}
	free(gs->list);
	memset(gs, 0, sizeof(*gs));
}

/* The group of gs for st's CA, made when there is none yet (room for
 * max certificates). NULL when out of memory. */
static struct group *
group_for(struct groups *gs, const struct conf_settings *st, size_t max)
{
	struct group *g = NULL;

	for (size_t k = 0; k < gs->n && g == NULL; k++) {
		if (cmd_same(gs->list[k].ca, st->ca) &&
		    cmd_same(gs->list[k].ca_file, st->ca_file) &&
		    cmd_same(gs->list[k].ca_list, st->ca_list)) {
			g = &gs->list[k];
		}
	}
	if (g == NULL) {
		g = &gs->list[gs->n++];
		g->settings = calloc(max, sizeof(*g->settings));
		g->names = calloc(max, sizeof(*g->names));
		if (g->settings == NULL || g->names == NULL) {
			g = NULL;
		}
	}
	return g;
}

/* Whether section c is to be renewed: every section when no CERT is named. */
static bool
wanted(struct cli *cli, const struct conf *conf, const struct conf_cert *c)
{
	bool ret = cli->n_args == 0;

	for (int a = 0; a < cli->n_args && !ret; a++) {
		ret = conf_find_cert(conf, cli->args[a]) == c;
	}
	return ret;
}

/* The sections to renew, resolved and grouped by CA into gs; dr: a dry
 * run's settings (grouped by staging directory), else NULL. Returns
 * CLI_EXIT_OK, CLI_EXIT_USAGE (a dry run without a staging directory:
 * logged) or CLI_EXIT_FAILURE when out of memory. */
static int
group_certs(struct cli *cli, const struct conf *conf, struct groups *gs, const struct dry_run *dr)
{
	double asked_at = job_wall_time();

	gs->list = calloc(conf->n_certs + 1, sizeof(*gs->list));
	if (gs->list == NULL) {
		return CLI_EXIT_FAILURE;
	}
	for (size_t i = 0; i < conf->n_certs; i++) {
		const struct conf_cert *c = &conf->certs[i];
		struct conf_settings st;
		struct conf_settings *more = NULL;
		size_t n_more = 0;
		int kept = 0;
		struct group *g;

		if (!wanted(cli, conf, c)) {
			continue;
		}
		if (conf_resolve(conf, c, &cli->settings, &st) < 0) {
			return CLI_EXIT_FAILURE;
		}
		if (dr != NULL) {
			int rc = dry_run_settings(dr, c->name, &st);

			/* Failover from staging to staging: the list (and so
			 * the group) is known only now. */
			if (rc == CLI_EXIT_OK &&
			    (cmd_more_cas(conf, c, cli, &more, &n_more) < 0 ||
			     (kept = dry_run_more(dr, c->name, &st, more, n_more)) < 0)) {
				rc = CLI_EXIT_FAILURE;
			}
			if (rc != CLI_EXIT_OK) {
				cmd_more_cas_free(more, n_more);
				conf_settings_finish(&st);
				return rc;
			}
			n_more = (size_t)kept;
		}
		g = group_for(gs, &st, conf->n_certs);
		if (g == NULL) {
			cmd_more_cas_free(more, n_more);
			conf_settings_finish(&st);
			return CLI_EXIT_FAILURE;
		}
		/* Its failover CAs. */
		if (g->n == 0 && dr != NULL) {
			g->more = more;
			g->n_more = n_more;
		} else if (dr != NULL) {
			cmd_more_cas_free(more, n_more);
		} else if (g->n == 0 && cmd_more_cas(conf, c, cli, &g->more, &g->n_more) < 0) {
			conf_settings_finish(&st);
			return CLI_EXIT_FAILURE;
		}
		more = NULL;
		n_more = 0;
		g->settings[g->n] = st;
		g->names[g->n] = c->name;
		g->ca = g->settings[0].ca;
		g->ca_file = g->settings[0].ca_file;
		g->ca_list = g->settings[0].ca_list;
		g->asked_at = asked_at;
		g->n++;
	}
	return CLI_EXIT_OK;
}

/* Whether the configuration can be renewed: a file, with every CERT
 * named in it. */
static bool
certs_known(struct cli *cli, const struct conf *conf)
{
	if (conf->path == NULL) {
		log_error(
		        "no configuration file: pass -c FILE (renew works on its [cert] sections)");
		return false;
	}
	for (int i = 0; i < cli->n_args; i++) {
		if (conf_find_cert(conf, cli->args[i]) == NULL) {
			log_error("%s: no such certificate in %s", cli->args[i], conf->path);
			return false;
		}
	}
	return true;
}

/* Renews every group, CA by CA; the worst exit status of a group, else
 * failure when a certificate failed or is held by its backoff. */
static int
renew_groups(struct groups *gs, bool force, bool quiet, struct dry_run *dr, struct cmd_watch *w,
             struct hand_off *ho)
{
	unsigned long counts[JOB__MAX] = {0};
	int worst = CLI_EXIT_OK;
	/* The hooks are global: once around every group's orders. */
	struct batch_hooks *batch = gs->n > 0 ? cmd_batch_hooks(&gs->list[0].settings[0]) : NULL;
	struct session_signals sig;

	/* A signal withdraws what the orders presented and ends the run
	 * after its group (acmed(8) SIGNALS). */
	session_signals_start(&sig, ev_default_loop(EVFLAG_AUTO));
	for (size_t k = 0; k < gs->n && session_signals_exit(&sig) == 0; k++) {
		int grc = renew_group(&gs->list[k], force || dr != NULL, batch, counts, dr, w, &sig,
		                      dr != NULL ? NULL : ho);

		if (grc > worst) {
			worst = grc;
		}
	}
	if (batch_hooks_finish(batch) < 0 && worst == CLI_EXIT_OK) {
		worst = CLI_EXIT_FAILURE;
	}
	batch_hooks_destroy(batch);
	session_signals_stop(&sig);
	/* A dry run counts what a real run would have done (its jobs all
	 * issued, in a folder of their own). */
	if (dr != NULL) {
		memcpy(counts, dr->counts, sizeof(counts));
	}
	/* -q: for cron, which mails whatever is printed. */
	if (!quiet) {
		unsigned long total = 0;

		for (size_t k = 0; k < gs->n; k++) {
			total += gs->list[k].n;
		}
		/* Only a signal leaves certificates without a result. */
		print_counts(counts, session_signals_exit(&sig) != 0 ? total : 0);
	}
	/* A certificate held by its backoff is still failing: a timer that
	 * alerts on failure keeps alerting until it is fixed (nothing reached
	 * the CA for it). */
	return session_signals_exit(&sig) != 0                      ? session_signals_exit(&sig)
	       : worst != CLI_EXIT_OK                               ? worst
	       : counts[JOB_FAILED] > 0 || counts[JOB_DEFERRED] > 0 ? CLI_EXIT_FAILURE
	                                                            : CLI_EXIT_OK;
}

/* --dry-run: its private state folder into dr, beside the real one (read
 * only; state-dir is global) into *real. Returns 0, or -1 (logged). */
static int
dry_run_begin(struct cli *cli, const struct conf *conf, struct dry_run *dr, char **real)
{
	struct conf_settings global;
	int rc = -1;

	if (conf_resolve(conf, NULL, &cli->settings, &global) < 0) {
		log_error("out of memory");
		goto out;
	}
	*real = session_state_dir(&global);
	if (*real == NULL || dry_run_init(dr, *real, false) < 0) {
		goto out;
	}
	rc = 0;
out:
	conf_settings_finish(&global);
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct groups gs = {NULL, 0};
	struct dry_run dr;
	struct cmd_watch watch = {NULL, NULL, NULL};
	struct hand_off ho;
	char *real = NULL;
	bool dry = cli->flags[CLI_OPT_DRY_RUN];
	int rc = CLI_EXIT_USAGE;

	memset(&dr, 0, sizeof(dr));
	memset(&ho, 0, sizeof(ho));
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	if (dry && cli->flags[CLI_OPT_NOW]) {
		log_error("--dry-run: not with --now: the daemon does no dry runs (drop --now)");
		goto out;
	}
	if (cli->flags[CLI_OPT_NOW]) {
		if (cli->n_args == 0) {
			log_error("renew --now: name the certificates to renew");
			goto out;
		}
		/* The daemon orders with its own configuration. */
		if (cli->values[CLI_OPT_PREFERRED_CHAIN] != NULL) {
			log_error("renew --now: --preferred-chain is the daemon's configuration's: "
			          "set preferred-chain in acmed.conf (or renew without --now)");
			goto out;
		}
		rc = ask_daemon(cli, &conf);
		goto out;
	}
	if (!certs_known(cli, &conf)) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (dry && dry_run_begin(cli, &conf, &dr, &real) < 0) {
		goto out;
	}
	/* A certificate without a staging directory stops a dry run before
	 * anything is sent. */
	rc = group_certs(cli, &conf, &gs, dry ? &dr : NULL);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	if (dry) {
		dry_run_announce(&dr);
	}
	/* A dry run tells nothing and writes no metrics: nothing real
	 * happened. */
	if (!dry) {
		int wrc = cmd_watch_begin(&watch, &conf, cli);

		if (wrc < 0) {
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
	}
	ho.cli = cli;
	ho.conf = &conf;
	rc = renew_groups(&gs, cli->flags[CLI_OPT_FORCE], cmd_quiet(cli), dry ? &dr : NULL,
	                  dry ? NULL : &watch, &ho);
	/* What a monitor reads: a run whose file cannot be written fails. */
	if (!dry && cmd_watch_end(&watch, &conf, cli) < 0 && rc == CLI_EXIT_OK) {
		rc = CLI_EXIT_FAILURE;
	}
out:
	cmd_daemon_finish(&ho.daemon);
	free(ho.state_dir);
	cmd_watch_finish(&watch);
	dry_run_finish(&dr);
	free(real);
	groups_finish(&gs);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_FORCE,
        CLI_OPT_NOW,
        CLI_OPT_CA,
        CLI_OPT_CA_FILE,
        CLI_OPT_STATE_DIR,
        CLI_OPT_EAB_KID,
        CLI_OPT_EAB_HMAC_KEY,
        CLI_OPT_EAB_ALG,
        CLI_OPT_PRE_HOOK,
        CLI_OPT_POST_HOOK,
        CLI_OPT_PREFERRED_CHAIN,
        CLI_OPT_DNS_PERSIST,
        CLI_OPT_DNS_UPDATE,
        CLI_OPT_DNS_UPDATE_KEY,
        CLI_OPT_DNS_PROPAGATION_SERVERS,
        CLI_OPT_NO_CAA_CHECK,
        CLI_OPT_DRY_RUN, /* the staging directory, a private state folder */
        CLI_OPT__MAX,
};

const struct cli_command cmd_renew = {
        .name = "renew",
        .args = "[CERT...]",
        .summary = "Issue the missing and renew the due certificates of the configuration.",
        .options = options,
        .min_args = 0,
        .max_args = -1,
        .run = run,
};
