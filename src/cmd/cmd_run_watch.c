/* What the daemon tells those who watch it (daemon.h). The metrics
 * endpoint: GET /metrics on metrics-listen answers the Prometheus text of
 * renew/metrics.h, built when asked from the schedule's status rows (the
 * same as `acmed status`) and the runner's counts. The notifications
 * (renew/notifier.h): what each job raises, and an hourly look at every
 * certificate for expiring and ari-replace-now. */
#include "cmd/daemon.h"
#include "cmd/cmd.h"

#include <string.h>

#include "base/log.h"
#include "io/http_page.h"
#include "io/listener.h"
#include "renew/metrics.h"

/* Prometheus's text format, version 0.0.4. */
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void
add_row(const struct status_row *row, void *arg)
{
	metrics_add_row(arg, row);
}

static int
page(const char *path, size_t len, char **body, size_t *body_len, const char **type, void *arg)
{
	static const char want[] = "/metrics";
	struct daemon *d = arg;
	size_t n = sizeof(want) - 1;
	struct metrics_tally *tally;
	struct metrics *m;

	/* A query string (?name[]=...) asks for a subset; all is fine. */
	if (len < n || strncmp(path, want, n) != 0 || (len > n && path[n] != '?')) {
		return -1;
	}
	m = metrics_begin();
	if (d->schedule != NULL) {
		/* NULL while the daemon waits for its CA at the start: the
		 * counts alone then. */
		schedule_each(d->schedule, add_row, m);
	}
	tally = metrics_tally_new();
	metrics_tally_runner(tally, d->runner);
	metrics_add_tally(m, tally);
	metrics_tally_free(tally);
	*body = metrics_end(m, body_len);
	*type = METRICS_TYPE;
	return 0;
}

/* The first look a minute after the start (the schedule has read every
 * certificate by then), then hourly. */
#define EXPIRY_FIRST_S 60.
#define EXPIRY_EVERY_S 3600.

static void
check_row(const struct status_row *row, void *arg)
{
	struct notifier *n = arg;

	notifier_check_expiry(n, row->cert, row->not_before, row->not_after, row->ca,
	                      row->attempts);
	notifier_check_window(n, row->cert, row->not_after, row->ca, row->ari_end);
}

static void
on_expiry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	if (d->notifier != NULL && d->schedule != NULL) {
		schedule_each(d->schedule, check_row, d->notifier);
	}
	/* A reload's predecessor is done once it has nothing on its way. */
	if (d->old_notifier != NULL && !notifier_busy(d->old_notifier)) {
		notifier_destroy(d->old_notifier);
		d->old_notifier = NULL;
	}
}

static struct notifier *
make_notifier(struct daemon *d, const struct conf_settings *settings)
{
	char host[256];

	return notifier_create(d->loop, settings, d->state_dir,
	                       cmd_host_label(settings, host, sizeof(host)), NOTIFIER_DAEMON);
}

/* Whether address (metrics-listen's) is on loopback only. */
static bool
loopback(const char *address)
{
	struct listener_address a;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a.ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;

	if (listener_parse_address(address, &a) < 0 || a.dual) {
		return false;
	}
	if (a.ss.ss_family == AF_INET) {
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	return a.ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

int
daemon_watch_start(struct daemon *d)
{
	d->notifier = make_notifier(d, &d->settings);
	ev_timer_init(&d->expiry, on_expiry, EXPIRY_FIRST_S, EXPIRY_EVERY_S);
	d->expiry.data = d;
	ev_timer_start(d->loop, &d->expiry);
	if (d->settings.metrics_listen == NULL) {
		return 0;
	}
	d->metrics =
	        http_page_start(d->loop, "metrics-listen", d->settings.metrics_listen, page, d);
	if (d->metrics == NULL) {
		return -1;
	}
	log_info("metrics on http://%s/metrics", d->settings.metrics_listen);
	if (!loopback(d->settings.metrics_listen)) {
		log_warn(
		        "metrics-listen %s is not a loopback address: whoever reaches it reads the "
		        "certificates' names, dates and CAs (no key): let a firewall choose who "
		        "scrapes",
		        d->settings.metrics_listen);
	}
	return 0;
}

void
daemon_watch_job_done(struct daemon *d, const struct job_outcome *o)
{
	notifier_job_done(d->notifier, o);
}

void
daemon_watch_reload(struct daemon *d, const struct conf_settings *settings)
{
	struct notifier *next = make_notifier(d, settings);

	if (!cmd_same(settings->metrics_listen, d->settings.metrics_listen)) {
		log_warn("reload: metrics-listen changes only with a restart; keeping %s",
		         d->settings.metrics_listen != NULL ? d->settings.metrics_listen : "none");
	}
	/* At most one predecessor finishing: an older one is cut short. */
	notifier_destroy(d->old_notifier);
	d->old_notifier = d->notifier;
	d->notifier = next;
}

void
daemon_watch_stop(struct daemon *d)
{
	if (d->loop != NULL) {
		ev_timer_stop(d->loop, &d->expiry);
	}
	notifier_destroy(d->old_notifier);
	notifier_destroy(d->notifier);
	d->old_notifier = NULL;
	d->notifier = NULL;
	http_page_stop(d->metrics);
	d->metrics = NULL;
}
