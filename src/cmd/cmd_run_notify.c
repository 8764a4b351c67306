/* What the daemon tells systemd while it runs (daemon.h): "WATCHDOG=1"
 * from its loop when systemd watches it, and STATUS= with its counts when
 * they change. */
#include "cmd/daemon.h"

#include <stdint.h>

#include "base/log.h"
#include "io/notify.h"

/* STATUS= at most this often (seconds): a batch of a thousand jobs
 * ending is one datagram, not a thousand. */
#define STATUS_EVERY 1.0

/* The counts STATUS= shows, into c (certificates, running, waiting). */
static void
counts(const struct daemon *d, size_t c[3])
{
	c[0] = d->schedule != NULL ? schedule_count(d->schedule) : 0;
	c[1] = d->runner != NULL ? job_runner_active(d->runner) : 0;
	c[2] = d->runner != NULL ? job_runner_waiting(d->runner) : 0;
}

void
daemon_notify_status(struct daemon *d)
{
	struct daemon_notify *n = &d->notify;

	counts(d, n->sent);
	n->sent_at = ev_now(d->loop);
	ev_timer_stop(d->loop, &n->soon);
	notify_send("STATUS=%zu certificate%s, %zu job%s running, %zu waiting", n->sent[0],
	            n->sent[0] == 1 ? "" : "s", n->sent[1], n->sent[1] == 1 ? "" : "s", n->sent[2]);
}

void
daemon_notify_watchdog(struct daemon *d)
{
	if (ev_is_active(&d->notify.watchdog)) {
		notify_send("WATCHDOG=1");
	}
}

/* Sent only from the loop: a loop stuck in a callback sends nothing, and
 * systemd kills and restarts the daemon after WatchdogSec=. */
static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	notify_send("WATCHDOG=1");
}

static void
on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	daemon_notify_status(w->data);
}

/* After every turn of the loop (jobs start and end in its callbacks): the
 * counts compared with those said last. Costs three reads a turn and no
 * wake-up of its own. Before the daemon is ready its STATUS= says what it
 * waits for, which zeros would hide. */
static void
on_check(struct ev_loop *loop, ev_check *w, int revents)
{
	struct daemon *d = w->data;
	struct daemon_notify *n = &d->notify;
	size_t now[3];
	double wait;

	(void)revents;
	counts(d, now);
	if (!d->ready || ev_is_active(&n->soon) ||
	    (now[0] == n->sent[0] && now[1] == n->sent[1] && now[2] == n->sent[2])) {
		return;
	}
	wait = n->sent_at + STATUS_EVERY - ev_now(loop);
	if (wait <= 0.0) {
		daemon_notify_status(d);
		return;
	}
	ev_timer_set(&n->soon, wait, 0.0);
	ev_timer_start(loop, &n->soon);
}

void
daemon_notify_start(struct daemon *d)
{
	struct daemon_notify *n = &d->notify;
	uint64_t usec = 0;

	ev_check_init(&n->check, on_check);
	n->check.data = d;
	ev_check_start(d->loop, &n->check);
	ev_init(&n->soon, on_soon);
	n->soon.data = d;
	ev_init(&n->watchdog, on_watchdog);
	n->watchdog.data = d;
	if (notify_watchdog_usec(&usec) != 1) {
		return;
	}
	/* Twice per timeout, as sd_watchdog_enabled(3) advises: one late
	 * turn of the loop is not a stuck one. */
	ev_timer_set(&n->watchdog, (double)usec / 2e6, (double)usec / 2e6);
	ev_timer_start(d->loop, &n->watchdog);
	log_info("systemd watchdog: every %.1f s from the event loop", (double)usec / 2e6);
	notify_send("WATCHDOG=1");
}

void
daemon_notify_stop(struct daemon *d)
{
	struct daemon_notify *n = &d->notify;

	if (d->loop == NULL) {
		return;
	}
	ev_check_stop(d->loop, &n->check);
	ev_timer_stop(d->loop, &n->soon);
	ev_timer_stop(d->loop, &n->watchdog);
}
