#include "renew/lock_wait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/state.h"
#include "store/store_cert.h"

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	lock_wait_start(t->data);
}

/* The set version state.json speaks of, -1 when none. */
static long
recorded_version(const char *state_dir, const char *name)
{
	char *dir = store_cert_dir(state_dir, name);
	struct state st;
	long v = -1;

	if (dir != NULL && state_load(dir, &st) == 0) {
		v = st.version;
		state_finish(&st);
	}
	free(dir);
	return v;
}

/* "NAME: waiting for HOLDER ...", unless the waits w shares said
 * already that they wait for holder (then only at debug level). */
static void
say_waiting(struct lock_wait *w, const char *holder)
{
	struct lock_wait_said *said = w->said;
	double now = ev_now(w->loop);

	if (said != NULL && strcmp(said->holder, holder) == 0 &&
	    now - said->at < LOCK_WAIT_SAID_S) {
		log_debug("%s: waiting for %s, which is working on it", w->name, holder);
		return;
	}
	log_info("%s: waiting for %s, which is working on it%s", w->name, holder,
	         said != NULL ? " (said once for all the certificates it holds)" : "");
	if (said != NULL) {
		snprintf(said->holder, sizeof(said->holder), "%s", holder);
		said->at = now;
	}
}

void
lock_wait_init(struct lock_wait *w, struct ev_loop *loop, const char *state_dir, const char *name,
               double max_s, lock_wait_done_fn done, lock_wait_busy_fn busy, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->state_dir = state_dir;
	w->name = name;
	w->max_s = max_s;
	w->done = done;
	w->busy = busy;
	w->arg = arg;
	w->version_before = -1;
	ev_init(&w->timer, on_timer);
	w->timer.data = w;
}

void
lock_wait_start(struct lock_wait *w)
{
	char holder[STORE_LOCK_HOLDER_LEN];
	char why[STORE_LOCK_HOLDER_LEN + 512];
	struct store_lock *lock = store_cert_lock(w->state_dir, w->name, holder);

	if (lock != NULL) {
		w->done(lock, NULL, w->arg);
		return;
	}
	if (errno != EWOULDBLOCK) {
		snprintf(why, sizeof(why), "%s: cannot lock it under %s: %s; nothing ordered",
		         w->name, w->state_dir, strerror(errno));
		w->done(NULL, why, w->arg);
		return;
	}
	if (!w->waited) {
		w->waited = true;
		w->version_before = store_cert_version(w->state_dir, w->name);
		w->unrecorded = w->version_before >= 0 &&
		                w->version_before > recorded_version(w->state_dir, w->name);
		snprintf(w->holder, sizeof(w->holder), "%s", holder);
		say_waiting(w, holder);
		if (w->busy != NULL) {
			w->busy(holder, w->arg);
		}
	}
	if (w->waited_s >= w->max_s) {
		snprintf(why, sizeof(why), "%s: still locked by %s after %.0f s; nothing done",
		         w->name, holder, w->waited_s);
		w->done(NULL, why, w->arg);
		return;
	}
	w->waited_s += LOCK_WAIT_POLL;
	ev_timer_set(&w->timer, LOCK_WAIT_POLL, 0.0);
	ev_timer_start(w->loop, &w->timer);
}

void
lock_wait_stop(struct lock_wait *w)
{
	ev_timer_stop(w->loop, &w->timer);
}
