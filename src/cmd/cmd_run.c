#include "cmd/cmd.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf/ca.h"
#include "base/buf.h"
#include "io/ctl.h"
#include "store/store.h"
#include "store/store_daemon.h"
#include "renew/job_runner.h"
#include "base/log.h"
#include "io/notify.h"
#include "renew/preflight.h"
#include "renew/responders.h"
#include "renew/schedule.h"
#include "cmd/fleet.h"
#include "cmd/daemon.h"
#include "cmd/session.h"

#define RETRY_MIN 10.0
#define RETRY_MAX 3600.0

/* What acmed check refuses: a state folder it cannot write to stops the
 * daemon (nothing could be kept); a certificate's own problem (a hook that
 * is not there, a webroot not mounted yet, a port taken) is said and stops
 * only that certificate's orders, each time they come due, so one broken
 * section does not leave every other certificate unrenewed. flags:
 * PREFLIGHT_NO_LISTEN once the responders may hold their ports. */
static int
preflight_all(const struct conf *conf, const struct cli *cli, const struct conf_settings *global,
              unsigned flags)
{
	struct conf_settings base;
	/* Thousands of certificates share their hooks, ports and file
	 * system: each is checked once. */
	struct preflight_memo memo;
	int rc = -1;

	memset(&base, 0, sizeof(base));
	memset(&memo, 0, sizeof(memo));
	base.state_dir = global->state_dir;
	if (preflight_check(NULL, NULL, &base, PREFLIGHT_NO_LISTEN, &memo, NULL, NULL) < 0) {
		goto out;
	}
	for (size_t i = 0; i < conf->n_certs; i++) {
		struct conf_settings st;

		if (conf_resolve(conf, &conf->certs[i], &cli->settings, &st) < 0) {
			goto out;
		}
		if (preflight_check(NULL, conf->certs[i].name, &st, flags, &memo, NULL, NULL) < 0) {
			log_error("%s: not renewed until the above is fixed (acmed check lists it)",
			          conf->certs[i].name);
		}
		conf_settings_finish(&st);
	}
	rc = 0;
out:
	preflight_memo_finish(&memo);
	return rc;
}

/* Puts every [cert] of conf on the schedule; drops the others. */
static int
load_certs(struct daemon *d, const struct conf *conf)
{
	const char **names = calloc(conf->n_certs + 1, sizeof(*names));

	/* Without it (out of memory) each is read by its schedule_set. */
	if (names != NULL) {
		for (size_t i = 0; i < conf->n_certs; i++) {
			names[i] = conf->certs[i].name;
		}
		schedule_preload(d->schedule, names, conf->n_certs);
		free(names);
	}
	for (size_t i = 0; i < conf->n_certs; i++) {
		struct conf_settings st;
		int rc;

		if (conf_resolve(conf, &conf->certs[i], &d->cli->settings, &st) < 0) {
			return -1;
		}
		rc = schedule_set(d->schedule, conf->certs[i].name, &st);
		conf_settings_finish(&st);
		if (rc < 0) {
			return -1;
		}
	}
	schedule_sweep(d->schedule);
	return 0;
}

/* Once the schedule holds every certificate (its own copies), the
 * configuration's sections are let go: with 100,000 of them they are tens
 * of megabytes. The file is read again on SIGHUP. The freed memory goes
 * back to the system (it lies below what the schedule allocated). */
static void
drop_sections(struct conf *conf)
{
	for (size_t i = 0; i < conf->n_certs; i++) {
		free(conf->certs[i].name);
		conf_settings_finish(&conf->certs[i].settings);
	}
	free(conf->certs);
	conf->certs = NULL;
	conf->n_certs = 0;
	malloc_trim(0);
}

/* Picks up the account key from disk when another process rolled it over
 * (acmed account rollover): the key on disk is the one the CA knows.
 * Returns acme_account_reload's rc (0 before the account is set up). */
int
daemon_reload_account(struct daemon *d, const char *why)
{
	int rc = 0;

	if (!d->ready || d->first_offline[0] != '\0') {
		goto out;
	}
	rc = acme_account_reload(&d->s.acct);
	if (rc == ACME_ACCOUNT_KEY_CHANGED) {
		log_info("%s: account key reloaded from %s (%s)", d->s.acct.url, d->s.acct.key_path,
		         why);
	}
out:
	return rc;
}

static void
on_job_done(const struct job_outcome *o, void *arg)
{
	struct daemon *d = arg;
	const char *name = o->name;
	enum job_result result = o->result;

	schedule_job_done(d->schedule, o);
	daemon_watch_job_done(d, o);
	cmd_fleet_jobs_changed(&d->fleet);
	/* An order signed with a key the CA no longer knows fails (a JWS or
	 * unauthorized error); if account.key changed on disk meanwhile,
	 * once more with the new key. Only a change retries: no loop. */
	if (result == JOB_FAILED && daemon_reload_account(d, "changed on disk") == 1) {
		log_warn("%s: the account key changed on disk; ordering again with the new key",
		         name);
		schedule_renew_now(d->schedule, name);
	}
}

static void start(struct daemon *d);
static void retry_first(struct daemon *d);

/* Fleet mode: every configuration's challenge responder opened now, before
 * the CA is reached, so that this node answers the validations of the
 * other nodes' orders from its start (one that cannot be opened is logged
 * and tried again by the next job); again after a reload, for the new
 * ones. Returns 0 or -1 (logged). */
static int
open_responders(struct daemon *d)
{
	if (d->fleet.cluster == NULL) {
		return 0;
	}
	if (d->responders == NULL) {
		d->responders = responders_create(d->loop);
		if (d->responders == NULL ||
		    responders_set_fleet(d->responders, d->fleet.cluster) < 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < d->conf.n_certs; i++) {
		struct conf_settings st;

		if (conf_resolve(&d->conf, &d->conf.certs[i], &d->cli->settings, &st) < 0) {
			return -1;
		}
		responders_open(d->responders, &st);
		conf_settings_finish(&st);
	}
	return 0;
}

/* The other CAs that could not be reached at the start (or since): tried
 * again, each reached one handed to the runner, with a growing delay. */
static void
on_more_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	size_t left = 0;

	for (size_t i = 0; d->runner != NULL && i < d->more.n; i++) {
		if (d->more.cas[i].client != NULL) {
			continue;
		}
		if (session_more_retry(&d->more, i, &d->more_settings[i], d->state_dir,
		                       d->fleet.cluster != NULL ? &d->fleet : NULL) == SESSION_OK &&
		    d->more.cas[i].client != NULL) {
			log_info("%s: reached; its certificates order from it again",
			         d->more.cas[i].ca_url);
		} else {
			left++;
		}
		job_runner_set_ca(d->runner, &d->more.cas[i]);
	}
	if (left > 0) {
		d->more_delay = d->more_delay * 2 > RETRY_MAX ? RETRY_MAX : d->more_delay * 2;
		ev_timer_set(w, d->more_delay, 0.0);
		ev_timer_start(loop, w);
	}
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	if (!d->ready) {
		start(d);
	} else if (d->first_offline[0] != '\0') {
		retry_first(d);
	}
}

/* Fleet mode: the store is ready. A daemon still waiting to start (for
 * the fleet's account, or for the CA) tries again now. */
static void
on_fleet_ready(void *arg)
{
	struct daemon *d = arg;

	if (d->ready || d->starting) {
		return;
	}
	ev_timer_stop(d->loop, &d->retry);
	d->retry_delay = RETRY_MIN;
	ev_timer_set(&d->retry, 0.0, 0.0);
	ev_timer_start(d->loop, &d->retry);
}

/* Fleet mode: the store holds another cluster key (found after the start;
 * said in the log): the daemon goes, exit status 2, as at its start. */
static void
on_fleet_refused(void *arg)
{
	struct daemon *d = arg;

	d->rc = CLI_EXIT_USAGE;
	ev_break(d->loop, EVBREAK_ALL);
}

/* Connects to the CA and sets the account up; until it works, tries again
 * with a growing delay (the CA may be down when the daemon starts). */
/* Whether the daemon may start while its first CA cannot be used: other
 * CAs carry the certificates meanwhile (not in a fleet, whose watch is on
 * the first CA's account). */
static bool
may_start_without_first(const struct daemon *d)
{
	return d->n_more > 0 && d->fleet.cluster == NULL;
}

/* The first CA reached and its account made sure of. Returns SESSION_OK,
 * SESSION_USAGE, or SESSION_FAILED with why in d->first_offline (d->s
 * finished). */
static enum session_result
connect_first(struct daemon *d)
{
	struct log_capture cap;
	enum session_result rc;

	log_capture_begin(&cap);
	rc = session_init(&d->s, &d->settings);
	if (rc == SESSION_OK) {
		/* The loop must not block on a command's registration. */
		d->s.account_nowait = true;
		rc = session_account(&d->s, &d->settings);
		if (rc != SESSION_OK && rc != SESSION_USAGE) {
			session_finish(&d->s);
		}
	}
	log_capture_end(&cap);
	if (rc != SESSION_OK) {
		snprintf(d->first_offline, sizeof(d->first_offline), "%s: %s",
		         SESSION_OFFLINE_UNREACHABLE,
		         cap.first[0] != '\0' ? cap.first : "no answer");
	}
	return rc;
}

/* The first CA, away since the start, tried again; handed to the runner
 * once it answers. */
static void
retry_first(struct daemon *d)
{
	struct job_runner_ca c;

	if (connect_first(d) != SESSION_OK) {
		d->retry_delay = d->retry_delay * 2 > RETRY_MAX ? RETRY_MAX : d->retry_delay * 2;
		ev_timer_set(&d->retry, d->retry_delay, 0.0);
		ev_timer_start(d->loop, &d->retry);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.client = d->s.acme;
	c.acct = &d->s.acct;
	c.ca_url = session_ca_url(&d->settings);
	job_runner_set_ca(d->runner, &c);
	d->first_offline[0] = '\0';
	log_info("%s: reached; its certificates order from it again", c.ca_url);
}

static void
start(struct daemon *d)
{
	struct job_runner_config config;
	enum session_result arc;
	int pulled = 0;

	d->starting = true;
	d->first_offline[0] = '\0';
	if (may_start_without_first(d)) {
		arc = connect_first(d);
		if (arc == SESSION_USAGE) {
			d->rc = CLI_EXIT_USAGE;
			ev_break(d->loop, EVBREAK_ALL);
			return;
		}
		if (arc != SESSION_OK) {
			log_warn("%s: %s; its certificates fail over meanwhile (tried again in "
			         "%.0f s)",
			         session_ca_url(&d->settings), d->first_offline, d->retry_delay);
		}
		goto runner;
	}
	if (session_init(&d->s, &d->settings) != SESSION_OK) {
		goto retry;
	}
	/* The loop must not block on a command's registration: retry. */
	d->s.account_nowait = true;
	if (d->fleet.cluster != NULL) {
		/* Before session_account opens (or registers) one. */
		char *state_dir = session_state_dir(&d->settings);

		if (state_dir != NULL) {
			pulled = cmd_fleet_account_pull(&d->fleet, state_dir,
			                                acme_client_directory_url(d->s.acme));
		}
		free(state_dir);
		if (pulled < 0) {
			/* Started again once the store is ready (on_fleet_ready). */
			session_finish(&d->s);
			d->starting = false;
			notify_send("STATUS=waiting for the cluster");
			return;
		}
	}
	arc = session_account(&d->s, &d->settings);
	if (arc == SESSION_USAGE) {
		d->rc = CLI_EXIT_USAGE;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	if (arc != SESSION_OK) {
		session_finish(&d->s);
		goto retry;
	}
	cmd_fleet_account_push(&d->fleet, &d->s.acct, d->state_dir,
	                       acme_client_directory_url(d->s.acme));
runner:
	memset(&config, 0, sizeof(config));
	config.loop = d->loop;
	config.cluster = d->fleet.cluster;
	config.responders = d->responders;
	config.client = d->first_offline[0] == '\0' ? d->s.acme : NULL;
	config.acct = d->first_offline[0] == '\0' ? &d->s.acct : NULL;
	config.offline = d->first_offline[0] == '\0' ? NULL : d->first_offline;
	session_account_options(&d->settings, &config.account_options);
	config.ca_url = session_ca_url(&d->settings);
	config.state_dir = d->state_dir;
	config.concurrency = d->settings.concurrency;
	config.new_order_concurrency = d->settings.new_order_concurrency;
	if (d->n_more > 0) {
		const struct conf_settings **more = calloc(d->n_more, sizeof(*more));

		for (size_t i = 0; more != NULL && i < d->n_more; i++) {
			more[i] = &d->more_settings[i];
		}
		arc = more == NULL
		              ? SESSION_FAILED
		              : session_connect_more(&d->more, more, d->n_more, d->state_dir, true,
		                                     d->fleet.cluster != NULL ? &d->fleet : NULL,
		                                     &config);
		free(more);
		if (arc == SESSION_USAGE) {
			d->rc = CLI_EXIT_USAGE;
			ev_break(d->loop, EVBREAK_ALL);
			return;
		}
		if (arc != SESSION_OK) {
			goto fatal;
		}
		for (size_t i = 0; i < d->more.n; i++) {
			if (d->more.cas[i].client == NULL) {
				log_warn("%s: %s; its certificates fail over or wait for it (tried "
				         "again in %.0f s)",
				         d->more.cas[i].ca_url, d->more.cas[i].offline, RETRY_MIN);
				d->more_delay = RETRY_MIN;
				ev_timer_set(&d->more_retry, RETRY_MIN, 0.0);
				ev_timer_start(d->loop, &d->more_retry);
			}
		}
	}
	/* Once per batch of renewals that run together: the post-hook when
	 * the runner is idle again. */
	if (d->batch == NULL) {
		d->batch = batch_hooks_create(d->loop, d->settings.pre_hook, d->settings.post_hook,
		                              d->settings.hook_timeout, true);
	}
	config.batch = d->batch;
	d->runner = job_runner_create(&config);
	if (d->runner == NULL) {
		goto fatal;
	}
	job_runner_on_done(d->runner, on_job_done, d);
	d->schedule = schedule_create(d->loop, d->runner, d->s.acme, d->state_dir, config.ca_url);
	if (d->schedule == NULL || load_certs(d, &d->conf) < 0) {
		goto fatal;
	}
	drop_sections(&d->conf);
	cmd_fleet_watch(&d->fleet, d->schedule, d->runner, &d->s.acct, d->state_dir, config.ca_url);
	d->ready = true;
	d->starting = false;
	if (d->first_offline[0] != '\0') {
		ev_timer_stop(d->loop, &d->retry);
		ev_timer_set(&d->retry, d->retry_delay, 0.0);
		ev_timer_start(d->loop, &d->retry);
	}
	log_info("watching %zu certificate%s", schedule_count(d->schedule),
	         schedule_count(d->schedule) == 1 ? "" : "s");
	daemon_notify_status(d);
	return;
retry:
	log_warn("%s: not usable yet; trying again in %.0f s",
	         d->settings.ca != NULL ? d->settings.ca : "letsencrypt", d->retry_delay);
	notify_send("STATUS=waiting for the CA");
	d->starting = false;
	ev_timer_stop(d->loop, &d->retry);
	ev_timer_set(&d->retry, d->retry_delay, 0.0);
	ev_timer_start(d->loop, &d->retry);
	d->retry_delay = d->retry_delay * 2 > RETRY_MAX ? RETRY_MAX : d->retry_delay * 2;
	return;
fatal:
	d->starting = false;
	d->rc = CLI_EXIT_FAILURE;
	ev_break(d->loop, EVBREAK_ALL);
}

/* The runner's stop is over: every challenge withdrawn. */
static void
on_runner_stopped(void *arg)
{
	struct daemon *d = arg;

	ev_break(d->loop, EVBREAK_ALL);
}

/* The first signal withdraws what the running orders presented (their
 * orders kept for the next start), then the daemon ends; a second ends it
 * at once. */
static void
on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	if (d->stopping) {
		log_warn("stopping at once (signal %d): challenges may be left in place",
		         w->signum);
		_exit(d->rc);
	}
	if (d->runner == NULL || job_runner_active(d->runner) == 0) {
		log_info("stopping (signal %d)", w->signum);
		notify_send("STOPPING=1");
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	d->stopping = true;
	log_info("stopping (signal %d): cleaning up the challenges (again to stop at once)",
	         w->signum);
	notify_send("STOPPING=1");
	job_runner_stop(d->runner, on_runner_stopped, d);
}

/* pre-hook, post-hook and hook-timeout from a reloaded configuration: for
 * the next batch of renewals. Returns 0 or -1 (out of memory). */
static int
reload_batch_hooks(struct daemon *d, const struct conf_settings *s)
{
	char *pre = NULL;
	char *post = NULL;

	if (cmd_same(s->pre_hook, d->settings.pre_hook) &&
	    cmd_same(s->post_hook, d->settings.post_hook) &&
	    s->hook_timeout == d->settings.hook_timeout) {
		return 0;
	}
	if ((s->pre_hook != NULL && (pre = strdup(s->pre_hook)) == NULL) ||
	    (s->post_hook != NULL && (post = strdup(s->post_hook)) == NULL) ||
	    (d->batch != NULL &&
	     batch_hooks_set(d->batch, s->pre_hook, s->post_hook, s->hook_timeout) < 0)) {
		free(pre);
		free(post);
		return -1;
	}
	free(d->settings.pre_hook);
	free(d->settings.post_hook);
	d->settings.pre_hook = pre;
	d->settings.post_hook = post;
	d->settings.hook_timeout = s->hook_timeout;
	log_info("reload: pre-hook %s, post-hook %s, from the next renewals on",
	         pre != NULL ? pre : "none", post != NULL ? post : "none");
	return 0;
}

/* SIGHUP: the new configuration replaces the old only if it is valid and
 * keeps the CA; certificates that stay keep their schedule and backoff. */
static void
on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct conf conf;
	struct conf_settings settings;
	struct conf_settings *more = NULL;
	size_t n_more = 0;
	char *ca_set = NULL;
	size_t n;

	notify_send("RELOADING=1");
	/* conf_load to load_certs run in this one callback. */
	daemon_notify_watchdog(d);
	memset(&settings, 0, sizeof(settings));
	conf_init(&conf);
	if (conf_load(&conf, d->conf.path) < 0) {
		for (size_t i = 0; i < conf.n_errors; i++) {
			log_error("reload: %s", conf.errors[i]);
		}
		log_error("reload: configuration not changed");
		goto out;
	}
	if (conf_resolve(&conf, NULL, &d->cli->settings, &settings) < 0 ||
	    daemon_collect_cas(&conf, d->cli, &settings, &more, &n_more) < 0 ||
	    (ca_set = daemon_cas_signature(&settings, more, n_more)) == NULL ||
	    preflight_all(&conf, d->cli, &settings, PREFLIGHT_NO_LISTEN) < 0) {
		log_error("reload: configuration not changed");
		goto out;
	}
	/* The CAs' clients and accounts are made at the start. */
	if (strcmp(ca_set, d->ca_set) != 0 ||
	    !cmd_same(settings.state_dir, d->settings.state_dir)) {
		log_error("reload: the CAs (ca, [ca] sections, ca-file) and state-dir change only "
		          "with a restart; configuration not changed");
		goto out;
	}
	if (!cmd_same(settings.cluster, d->settings.cluster) ||
	    !cmd_same(settings.cluster_key_file, d->settings.cluster_key_file) ||
	    !cmd_same(settings.cluster_password_file, d->settings.cluster_password_file) ||
	    !cmd_same(settings.node_name, d->settings.node_name)) {
		log_warn("reload: cluster, cluster-key-file, cluster-password-file and node-name "
		         "change only with a restart; the fleet's store stays as it was");
	}
	if (reload_batch_hooks(d, &settings) < 0) {
		log_error("reload: out of memory");
		goto out;
	}
	daemon_watch_reload(d, &settings);
	if (settings.new_order_concurrency != d->settings.new_order_concurrency) {
		log_warn("reload: new-order-concurrency changes only with a restart; keeping %ld",
		         d->settings.new_order_concurrency);
	}
	if (d->ready && load_certs(d, &conf) < 0) {
		log_error("reload: out of memory");
		goto out;
	}
	conf_finish(&d->conf);
	d->conf = conf;
	conf_init(&conf);
	if (open_responders(d) < 0) {
		log_error("reload: out of memory");
	}
	if (d->ready) {
		drop_sections(&d->conf);
	}
	n = d->schedule != NULL ? schedule_count(d->schedule) : d->conf.n_certs;
	log_info("reloaded %s: %zu certificate%s", d->conf.path, n, n == 1 ? "" : "s");
out:
	/* Whatever became of the configuration: SIGHUP is also how an
	 * operator makes the daemon take a new account key. */
	daemon_reload_account(d, "SIGHUP");
	cmd_more_cas_free(more, n_more);
	free(ca_set);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	notify_send("READY=1");
	daemon_notify_status(d);
}

static int
run(struct cli *cli)
{
	struct daemon d;

	memset(&d, 0, sizeof(d));
	d.cli = cli;
	d.rc = CLI_EXIT_USAGE;
	/* A status of 100,000 certificates is tens of megabytes for a moment:
	 * allocations that large are mapped apart and given back when freed,
	 * whatever was freed before (glibc would otherwise raise this
	 * threshold past them and keep them). */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	if (cli->flags[CLI_OPT_SYSLOG]) {
		log_init("acmed", log_get_level(), true);
	}
	if (cli_load_config(cli, &d.conf) < 0) {
		goto out;
	}
	if (d.conf.path == NULL) {
		log_error("no configuration file: pass -c FILE or create %s",
		          ACMED_SYSCONFDIR "/acmed.conf");
		goto out;
	}
	if (conf_resolve(&d.conf, NULL, &cli->settings, &d.settings) < 0 ||
	    daemon_collect_cas(&d.conf, cli, &d.settings, &d.more_settings, &d.n_more) < 0 ||
	    (d.ca_set = daemon_cas_signature(&d.settings, d.more_settings, d.n_more)) == NULL ||
	    (d.state_dir = session_state_dir(&d.settings)) == NULL) {
		goto out;
	}
	if (preflight_all(&d.conf, cli, &d.settings, 0) < 0) {
		log_error("not started: fix the above (acmed check lists it too)");
		goto out;
	}
	d.rc = CLI_EXIT_FAILURE;
	d.loop = ev_default_loop(EVFLAG_AUTO);
	d.socket_path = cmd_socket_of(&d.settings);
	if (d.socket_path == NULL) {
		goto out;
	}
	/* A node with the wrong cluster key (or none to read) refuses to
	 * start before it writes anything. */
	switch (cmd_fleet_open(&d.fleet, d.loop, &d.settings)) {
	case 0:
		break;
	case -2:
		d.rc = CLI_EXIT_USAGE;
		goto out;
	default:
		goto out;
	}
	d.fleet.on_ready = on_fleet_ready;
	d.fleet.on_refused = on_fleet_refused;
	d.fleet.ready_arg = &d;
	if (open_responders(&d) < 0) {
		goto out;
	}
	d.ctl = ctl_listen(d.loop, d.socket_path, daemon_on_request, &d);
	if (d.ctl == NULL) {
		goto out;
	}
	if (daemon_watch_start(&d) < 0) {
		d.rc = CLI_EXIT_USAGE; /* a listen address this host cannot use */
		goto out;
	}
	d.mark = cmd_daemon_mark(&d.settings, d.socket_path);
	if (d.mark == NULL) {
		goto out;
	}
	ev_signal_init(&d.sigterm, on_stop, SIGTERM);
	ev_signal_init(&d.sigint, on_stop, SIGINT);
	ev_signal_init(&d.sighup, on_reload, SIGHUP);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	ev_signal_start(d.loop, &d.sighup);
	ev_init(&d.retry, on_retry);
	d.retry.data = &d;
	ev_init(&d.more_retry, on_more_retry);
	d.more_retry.data = &d;
	d.retry_delay = RETRY_MIN;
	d.rc = CLI_EXIT_OK;
	log_info("daemon started, control socket %s", d.socket_path);
	/* Ready as soon as it answers on its socket, even while the CA is
	 * still unreachable: systemd would otherwise kill a daemon that is
	 * only waiting for the network. */
	notify_send("READY=1");
	/* Before start(), whose waits for the CA or the store turn the loop. */
	daemon_notify_start(&d);
	start(&d);
	if (d.rc == CLI_EXIT_OK) {
		ev_run(d.loop, 0);
	}
	/* The orders a signal stopped are out of the batch: the post-hook
	 * brings back what the pre-hook stopped. */
	if (d.stopping) {
		(void)batch_hooks_finish(d.batch);
	}
out:
	/* Before the runner and the schedule it reads go. */
	daemon_notify_stop(&d);
	ev_timer_stop(d.loop != NULL ? d.loop : EV_DEFAULT, &d.retry);
	ev_timer_stop(d.loop != NULL ? d.loop : EV_DEFAULT, &d.more_retry);
	store_daemon_unmark(d.mark);
	ctl_close(d.ctl);
	daemon_watch_stop(&d);
	cmd_fleet_unwatch(&d.fleet);
	schedule_destroy(d.schedule);
	/* The HTTP client goes before the runner whose jobs it would call. */
	http_destroy(d.s.http);
	d.s.http = NULL;
	for (size_t i = 0; i < d.more.n; i++) {
		http_destroy(d.more.sessions[i].http);
		d.more.sessions[i].http = NULL;
	}
	job_runner_destroy(d.runner);
	batch_hooks_destroy(d.batch);
	responders_destroy(d.responders);
	session_finish(&d.s);
	session_more_finish(&d.more);
	cmd_more_cas_free(d.more_settings, d.n_more);
	free(d.ca_set);
	free(d.state_dir);
	cmd_fleet_close(&d.fleet);
	free(d.socket_path);
	conf_settings_finish(&d.settings);
	conf_finish(&d.conf);
	return d.rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_SYSLOG,
        CLI_OPT__MAX,
};

const struct cli_command cmd_run = {
        .name = "run",
        .args = "",
        .summary = "Run the daemon: renew the configured certificates on schedule until SIGTERM.",
        .options = options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
