/* Group commit: files written on the loop without fsync are made durable
 * by one thread, for every job waiting at that moment together, and the
 * loop is told when. The durability points of an install (the order's
 * journal: pending.key and state.json; a new set before the switch) wait
 * here instead of calling fsync(2) on the loop, where each call stops
 * every other job for a write and a disk cache flush.
 *
 * A round takes the waits started in one turn of the loop, those started
 * while the thread finished the round before and, when more may come,
 * those of a short while (STORE_SYNC_GROUP_DELAY). Few files (one job's):
 * each is fsynced, as file_write_atomic would. More: one syncfs(2) per
 * file system they are on, which writes and flushes everything dirty
 * there in one go (a database's files too: the thread waits for that,
 * the loop does not) and reports a write-back error that happened since
 * (Linux 5.8 and later). The rounds run one after the other, so a wait
 * ends after every wait started before it. */
#ifndef ACMED_STORE_SYNC_H
#define ACMED_STORE_SYNC_H

#include <ev.h>
#include <stddef.h>

struct store_sync;
struct store_sync_wait;

/* err: 0 when every path is durable, or the errno of the first that is
 * not (its name logged by the caller, who knows what the file was). */
typedef void (*store_sync_fn)(int err, void *arg);

/* Up to this many files in a round are fsynced one by one. */
#define STORE_SYNC_EACH_MAX 8

/* While more waits may come (store_sync_expect: other jobs at work), a
 * round waits for them, up to STORE_SYNC_GROUP_WAITS of them or
 * STORE_SYNC_GROUP_DELAY seconds, whichever comes first; a wait nobody
 * may join goes at once (one `acmed cert`). syncfs costs as much as a
 * few fsyncs: it pays when a round holds many sets. */
#define STORE_SYNC_GROUP_WAITS 32
#define STORE_SYNC_GROUP_DELAY 0.1

/* A barrier served by its own thread; without one (it cannot be started),
 * each wait is synced on the loop when it starts. NULL when out of
 * memory. */
struct store_sync *store_sync_new(struct ev_loop *loop);

/* Ends the thread after its round. Waits still there were cancelled by
 * their owners, or never get their callback. May be called from a
 * callback. */
void store_sync_free(struct store_sync *s);

/* Makes paths (files and folders, written and renamed before this call)
 * durable, then calls fn(err, arg) from the loop, never before this
 * returns. NULL when out of memory (nothing will be called). */
struct store_sync_wait *store_sync_start(struct store_sync *s, const char *const *paths, size_t n,
                                         store_sync_fn fn, void *arg);

/* fn will not be called; the files' sync may still run. */
void store_sync_cancel(struct store_sync *s, struct store_sync_wait *w);

/* Sets the batch's grouping (the defaults above). */
void store_sync_group(struct store_sync *s, size_t waits, double delay_s);

/* Up to n waits may be started soon (the jobs at work; 1 at first): a
 * round gathers at most that many. */
void store_sync_expect(struct store_sync *s, size_t n);

struct store_sync_stats {
	unsigned long rounds; /* rounds run */
	unsigned long waits; /* waits served */
	unsigned long fsyncs; /* fsync(2) calls */
	unsigned long syncfs; /* syncfs(2) calls */
};

void store_sync_stats(struct store_sync *s, struct store_sync_stats *out);

#endif
