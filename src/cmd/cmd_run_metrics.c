/* The daemon's metrics endpoint (daemon.h): GET /metrics on metrics-listen
 * answers the Prometheus text of renew/metrics.h, built when asked from
 * the schedule's status rows (the same as `acmed status`) and the runner's
 * counts. */
#include "cmd/daemon.h"

#include <string.h>

#include "base/log.h"
#include "io/http_page.h"
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

int
daemon_metrics_start(struct daemon *d)
{
	if (d->settings.metrics_listen == NULL) {
		return 0;
	}
	d->metrics =
	        http_page_start(d->loop, "metrics-listen", d->settings.metrics_listen, page, d);
	if (d->metrics == NULL) {
		return -1;
	}
	log_info("metrics on http://%s/metrics", d->settings.metrics_listen);
	return 0;
}

void
daemon_metrics_stop(struct daemon *d)
{
	http_page_stop(d->metrics);
	d->metrics = NULL;
}
