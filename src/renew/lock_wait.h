/* Taking a certificate's lock from the event loop: at once when it is
 * free, else looked at again every LOCK_WAIT_POLL seconds while another
 * process (a daemon, a timer, a person at the shell) holds it, up to a
 * limit. The holder is named once in the log: once per certificate, or
 * once for all the certificates of a run that share a struct
 * lock_wait_said. */
#ifndef ACMED_LOCK_WAIT_H
#define ACMED_LOCK_WAIT_H

#include <ev.h>
#include <stdbool.h>

#include "store/store_lock.h"

#define LOCK_WAIT_POLL 0.2

/* How long a holder named stays said for the waits that share it. */
#define LOCK_WAIT_SAID_S 60.0

/* What the waits of one run said (a runner's jobs share it): the holder
 * named last and when, so that a run whose certificates another process
 * holds names it once, not once per certificate. Zeroed to begin. */
struct lock_wait_said {
	char holder[STORE_LOCK_HOLDER_LEN];
	double at; /* ev_now when it was said */
};

/* lock: taken (the callee owns it), or NULL with why: one line naming the
 * certificate ("NAME: still locked by pid 12 (acmed run) after 900 s;
 * nothing done"). Borrowed for the call. */
typedef void (*lock_wait_done_fn)(struct store_lock *lock, const char *why, void *arg);

/* The lock was found taken (once, before the first wait). */
typedef void (*lock_wait_busy_fn)(const char *holder, void *arg);

struct lock_wait {
	struct ev_loop *loop;
	const char *state_dir; /* borrowed */
	const char *name; /* borrowed */
	double max_s;
	lock_wait_done_fn done;
	lock_wait_busy_fn busy;
	void *arg;
	ev_timer timer;
	double waited_s;
	bool waited; /* found it taken */
	long version_before; /* the installed set when the wait began */
	/* The installed set was newer than the one state.json recorded when
	 * the wait began: its installer (the holder, in its deploy hook or
	 * about to record it) has not finished with it. */
	bool unrecorded;
	char holder[STORE_LOCK_HOLDER_LEN];
	/* Shared with the run's other waits (borrowed), or NULL (set after
	 * lock_wait_init): the same holder is then named once a minute. */
	struct lock_wait_said *said;
};

void lock_wait_init(struct lock_wait *w, struct ev_loop *loop, const char *state_dir,
                    const char *name, double max_s, lock_wait_done_fn done, lock_wait_busy_fn busy,
                    void *arg);

/* Tries now; done may be called before this returns. */
void lock_wait_start(struct lock_wait *w);

/* Stops looking (done is not called). */
void lock_wait_stop(struct lock_wait *w);

#endif
