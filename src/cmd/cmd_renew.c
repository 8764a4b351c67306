#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ca.h"
#include "io/ctl.h"
#include "renew/job_runner.h"
#include "base/log.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "cmd/session.h"

/* Certificates are renewed CA by CA: one session, account and runner each. */
struct group {
	const char *ca;
	const char *ca_file;
	struct conf_settings *settings; /* resolved, one per certificate */
	const char **names;
	size_t n;
};

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

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

static int
renew_group(struct group *g, bool force, unsigned long counts[JOB__MAX])
{
	struct session s;
	struct job_runner_config config;
	struct job_request req;
	struct conf_settings base;
	struct job_runner *runner = NULL;
	struct http_stats stats;
	char *state_dir = NULL;
	const char *ca_url = session_ca_url(&g->settings[0]);
	int rc = CLI_EXIT_FAILURE;
	int crc;

	memset(&s, 0, sizeof(s));
	state_dir = session_state_dir(&g->settings[0]);
	if (state_dir == NULL) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	/* A state folder that cannot keep anything stops the run before the
	 * account is registered; a certificate's own problems (its hook, its
	 * webroot) stop only its job, before its order. */
	memset(&base, 0, sizeof(base));
	if (preflight_check(state_dir, NULL, &base, PREFLIGHT_NO_LISTEN, NULL, NULL) < 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	crc = session_connect(&s, &g->settings[0], state_dir,
	                      ca_url != NULL && needs_ca(g, state_dir, ca_url, force), &config);
	if (crc < 0) {
		rc = crc == SESSION_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
		goto out;
	}
	runner = job_runner_create(&config);
	if (runner == NULL) {
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.force = force;
	for (size_t i = 0; i < g->n; i++) {
		if (job_runner_add(runner, g->names[i], &g->settings[i], &req) < 0) {
			counts[JOB_FAILED]++;
		}
	}
	job_runner_run(runner);
	if (s.http != NULL) {
		http_get_stats(s.http, &stats);
		log_debug("%s: %lu HTTP requests, %lu new connections", config.ca_url,
		          stats.requests, stats.connections);
	}
	for (int r = 0; r < JOB__MAX; r++) {
		counts[r] += job_runner_count(runner, (enum job_result)r);
	}
	rc = CLI_EXIT_OK;
out:
	if (rc != CLI_EXIT_OK) {
		counts[JOB_FAILED] += g->n;
	}
	job_runner_destroy(runner);
	session_finish(&s);
	free(state_dir);
	return rc;
}

/* renew --now: the running daemon renews, the command only asks. */
static int
ask_daemon(struct cli *cli, struct conf *conf)
{
	char *path = cmd_socket_path(cli, conf);
	int rc = CLI_EXIT_OK;

	if (path == NULL) {
		return CLI_EXIT_FAILURE;
	}
	for (int i = 0; i < cli->n_args; i++) {
		json_t *request = json_pack("{s:s, s:s}", "cmd", "renew", "cert", cli->args[i]);
		json_t *answer = NULL;
		bool no_daemon = false;
		const char *error = NULL;

		if (request != NULL) {
			answer = ctl_request(path, request, 10.0, &no_daemon);
		}
		json_decref(request);
		if (answer == NULL) {
			if (no_daemon) {
				log_error("no daemon answers at %s: start acmed run, or use acmed "
				          "renew without --now",
				          path);
				rc = CLI_EXIT_NO_DAEMON;
				break;
			}
			rc = CLI_EXIT_FAILURE;
			continue;
		}
		if (json_unpack(answer, "{s:s}", "error", &error) == 0) {
			log_error("%s: %s", cli->args[i], error);
			rc = CLI_EXIT_FAILURE;
		} else {
			log_info("%s: the daemon renews it now", cli->args[i]);
		}
		json_decref(answer);
	}
	free(path);
	return rc;
}

/* "issued 1, renewed 0, unchanged 2, failed 0", then the deployed and
 * deferred counts when there are any. */
static void
print_counts(const unsigned long counts[JOB__MAX])
{
	printf("issued %lu, renewed %lu, unchanged %lu, failed %lu", counts[JOB_ISSUED],
	       counts[JOB_RENEWED], counts[JOB_UNCHANGED], counts[JOB_FAILED]);
	if (counts[JOB_DEPLOYED] > 0) {
		printf(", deployed %lu", counts[JOB_DEPLOYED]);
	}
	if (counts[JOB_DEFERRED] > 0) {
		printf(", deferred %lu", counts[JOB_DEFERRED]);
	}
	printf("\n");
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct group *groups = NULL;
	size_t n_groups = 0;
	unsigned long counts[JOB__MAX] = {0};
	int rc = CLI_EXIT_USAGE;
	int worst = CLI_EXIT_OK;

	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	if (cli->flags[CLI_OPT_NOW]) {
		if (cli->n_args == 0) {
			log_error("renew --now: name the certificates to renew");
			goto out;
		}
		rc = ask_daemon(cli, &conf);
		goto out;
	}
	if (conf.path == NULL) {
		log_error(
		        "no configuration file: pass -c FILE (renew works on its [cert] sections)");
		goto out;
	}
	for (int i = 0; i < cli->n_args; i++) {
		if (conf_find_cert(&conf, cli->args[i]) == NULL) {
			log_error("%s: no such certificate in %s", cli->args[i], conf.path);
			goto out;
		}
	}
	groups = calloc(conf.n_certs + 1, sizeof(*groups));
	if (groups == NULL) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	for (size_t i = 0; i < conf.n_certs; i++) {
		const struct conf_cert *c = &conf.certs[i];
		struct conf_settings st;
		struct group *g = NULL;
		bool wanted = cli->n_args == 0;

		for (int a = 0; a < cli->n_args && !wanted; a++) {
			wanted = conf_find_cert(&conf, cli->args[a]) == c;
		}
		if (!wanted) {
			continue;
		}
		if (conf_resolve(&conf, c, &cli->settings, &st) < 0) {
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		for (size_t k = 0; k < n_groups && g == NULL; k++) {
			if (same(groups[k].ca, st.ca) && same(groups[k].ca_file, st.ca_file)) {
				g = &groups[k];
			}
		}
		if (g == NULL) {
			g = &groups[n_groups++];
			g->settings = calloc(conf.n_certs, sizeof(*g->settings));
			g->names = calloc(conf.n_certs, sizeof(*g->names));
			if (g->settings == NULL || g->names == NULL) {
				conf_settings_finish(&st);
				rc = CLI_EXIT_FAILURE;
				goto out;
			}
		}
		g->settings[g->n] = st;
		g->names[g->n] = c->name;
		g->ca = g->settings[0].ca;
		g->ca_file = g->settings[0].ca_file;
		g->n++;
	}
	for (size_t k = 0; k < n_groups; k++) {
		int grc = renew_group(&groups[k], cli->flags[CLI_OPT_FORCE], counts);

		if (grc > worst) {
			worst = grc;
		}
	}
	print_counts(counts);
	/* A certificate held by its backoff is still failing: a timer that
	 * alerts on failure keeps alerting until it is fixed (nothing reached
	 * the CA for it). */
	rc = worst != CLI_EXIT_OK                                 ? worst
	     : counts[JOB_FAILED] > 0 || counts[JOB_DEFERRED] > 0 ? CLI_EXIT_FAILURE
	                                                          : CLI_EXIT_OK;
out:
	for (size_t k = 0; groups != NULL && k < n_groups; k++) {
		for (size_t i = 0; i < groups[k].n; i++) {
			conf_settings_finish(&groups[k].settings[i]);
		}
		free(groups[k].settings);
		free(groups[k].names);
	}
	free(groups);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_FORCE,   CLI_OPT_NOW,          CLI_OPT_CA,      CLI_OPT_CA_FILE, CLI_OPT_STATE_DIR,
        CLI_OPT_EAB_KID, CLI_OPT_EAB_HMAC_KEY, CLI_OPT_EAB_ALG, CLI_OPT__MAX,
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
