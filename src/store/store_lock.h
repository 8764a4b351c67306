/* Advisory locks on the state folder (flock(2)): one per certificate, held
 * for its whole order, install and deploy; one per account, held while it is
 * registered or its key rolled over. So a daemon, a timer and a person at the
 * shell can share a state folder without interleaving their writes.
 *
 * A process that finds a lock taken can name its holder ("pid 12 (acmed run)",
 * from /proc/locks); nothing is written to a lock file. A lock is released
 * when its holder exits, however it exits (kill -9 included), and is never
 * inherited by a hook's program (close-on-exec). */
#ifndef ACMED_STORE_LOCK_H
#define ACMED_STORE_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#define STORE_LOCK_HOLDER_LEN 256

struct store_lock;

/* Takes the lock at path (created mode 0600 when missing; its folder must
 * exist) without waiting. Returns a new lock (store_lock_release), or NULL:
 * errno EWOULDBLOCK when another holds it, with its "pid 12 (acmed run)" in holder
 * (at least STORE_LOCK_HOLDER_LEN bytes; "another process" when unknown);
 * another errno when the lock file cannot be opened (not logged). */
struct store_lock *store_lock_try(const char *path, char *holder);

/* Takes the lock at path, waiting at most timeout seconds; what names it in
 * the one line logged when it must wait ("www: waiting for pid 12 (acmed
 * run), which holds certs/www/lock"). Blocks: for commands, not for the
 * daemon's loop. Returns a new lock, or NULL (logged, naming the holder). */
struct store_lock *store_lock_wait(const char *path, const char *what, double timeout);

/* Whether another process holds the lock at path now (a missing file is
 * not held; nothing is created). Does not wait, does not log. */
bool store_lock_busy(const char *path);

/* Whether /proc/locks names a process holding the lock at path now, and
 * which, in holder ("pid 12 (acmed cert)"; at least STORE_LOCK_HOLDER_LEN
 * bytes). Takes no lock, so that it never gets in a holder's way (status
 * asks); false when the file is missing or /proc/locks unreadable. */
bool store_lock_holder(const char *path, char *holder);

/* Releases and frees lock; safe on NULL. */
void store_lock_release(struct store_lock *lock);

#endif
