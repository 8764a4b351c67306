/* What the daemon's files share (cmd_run.c: its life, start, reload;
 * cmd_run_cas.c: the CAs its certificates name; cmd_run_ctl.c: what it
 * answers on its control socket; cmd_run_watch.c: its metrics
 * endpoint; cmd_run_notify.c: what it tells systemd). Not for other
 * commands. */
#ifndef ACMED_DAEMON_H
#define ACMED_DAEMON_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cmd/cli.h"
#include "cmd/fleet.h"
#include "cmd/session.h"
#include "conf/conf.h"
#include "io/ctl.h"
#include "io/http_page.h"
#include "renew/batch_hooks.h"
#include "renew/job_runner.h"
#include "renew/notifier.h"
#include "renew/responders.h"
#include "renew/schedule.h"
#include "store/store_daemon.h"

/* What the daemon tells systemd (cmd_run_notify.c). */
struct daemon_notify {
	ev_timer watchdog; /* "WATCHDOG=1" every WATCHDOG_USEC / 2, or idle */
	ev_check check; /* after each turn of the loop: did the counts change? */
	ev_timer soon; /* a change within STATUS_EVERY of the last STATUS= */
	ev_tstamp sent_at; /* the last STATUS= with counts */
	size_t sent[3]; /* its certificates, jobs running, jobs waiting */
};

/* The daemon: its CAs and their accounts, a job runner and the schedule. */
struct daemon {
	struct ev_loop *loop;
	struct cli *cli;
	struct conf conf;
	struct conf_settings settings; /* global, resolved */
	struct session s; /* the first CA of the global settings */
	/* Every other CA a certificate may order from (its own, or one of
	 * its failover list), each once, resolved for the first certificate
	 * naming it; their sessions once started. */
	struct conf_settings *more_settings;
	size_t n_more;
	struct session_more more;
	char *ca_set; /* cas_signature at the start: a reload keeps it */
	char *state_dir; /* session_state_dir of settings */
	/* Why the first CA could not be used at the start, while the other
	 * CAs carry its certificates (failover); "" once it is reached. */
	char first_offline[640];
	ev_timer more_retry; /* the other CAs that could not be reached */
	double more_delay;
	bool ready;
	struct job_runner *runner;
	struct batch_hooks *batch; /* pre-hook and post-hook, or NULL */
	struct schedule *schedule;
	struct cmd_fleet fleet; /* fleet mode: the shared store, or none */
	/* fleet mode: the challenge responders, open from the start (this
	 * node answers the other nodes' validations), or NULL */
	struct responders *responders;
	struct ctl *ctl;
	struct http_page_server *metrics; /* metrics-listen, or NULL */
	struct notifier *notifier; /* the channels, or NULL: none set */
	struct notifier *old_notifier; /* a reload's predecessor, finishing */
	ev_timer expiry; /* the hourly look at notAfter and renewal windows */
	char *socket_path;
	struct store_daemon *mark; /* on the state folder: a daemon runs here */
	ev_timer retry;
	double retry_delay;
	bool starting; /* in start(), which runs the loop while it waits */
	ev_signal sigterm;
	ev_signal sigint;
	bool stopping; /* a signal stops the runner (job_runner_stop) */
	ev_signal sighup;
	struct daemon_notify notify;
	int rc;
};

/* Every CA the certificates of conf may order from besides global's
 * first: from the global list and from each section that sets ca, each
 * once, resolved for the first certificate naming it (*out, n of them;
 * cmd_more_cas_free). Returns 0 or -1 (logged). */
int daemon_collect_cas(const struct conf *conf, const struct cli *cli,
                       const struct conf_settings *global, struct conf_settings **out, size_t *n);

/* The daemon's CAs as one string (sorted directory URLs, each with its
 * ca-file): what a reload must keep. NULL when out of memory. */
char *daemon_cas_signature(const struct conf_settings *global, const struct conf_settings *list,
                           size_t n);

/* Picks up the account key from disk when another process rolled it over
 * (acmed account rollover): the key on disk is the one the CA knows.
 * Returns acme_account_reload's rc (0 before the account is set up). */
int daemon_reload_account(struct daemon *d, const char *why);

/* The control socket's handler (ctl_listen; arg the daemon): status, jobs,
 * renew, watches, account-reload. */
char *daemon_on_request(json_t *request, void *arg);

/* What the daemon tells those who watch it (cmd_run_watch.c): the
 * metrics endpoint on metrics-listen and the notifications (notify-hook,
 * notify-webhook, notify-email), with an hourly look for certificates
 * expiring or whose CA asks to replace them now. Started (0; also when
 * nothing is configured) or not (-1, logged: the address taken); stopped
 * (nothing when not started). */
int daemon_watch_start(struct daemon *d);
void daemon_watch_stop(struct daemon *d);

/* A job ended: what it raises is told. */
void daemon_watch_job_done(struct daemon *d, const struct job_outcome *o);

/* A reload's notification settings (the channels, notify-interval,
 * warn-before) from now on; what is on its way is still told. */
void daemon_watch_reload(struct daemon *d, const struct conf_settings *settings);

/* Starts what the daemon tells systemd from its loop (d->loop set):
 * "WATCHDOG=1" every WATCHDOG_USEC / 2 when systemd watches this process
 * (notify_watchdog_usec; one sent now), and STATUS= again whenever the
 * counts change once the daemon is ready (at most once a second). */
void daemon_notify_start(struct daemon *d);

/* Stops them; before the runner and the schedule go. Safe on a daemon
 * never started. */
void daemon_notify_stop(struct daemon *d);

/* STATUS= with the counts (certificates, jobs running and waiting), now. */
void daemon_notify_status(struct daemon *d);

/* "WATCHDOG=1" now, when systemd watches: before work that holds the
 * loop for long in one callback (a reload reads every new certificate),
 * which then has a whole WatchdogSec=. */
void daemon_notify_watchdog(struct daemon *d);

#endif
