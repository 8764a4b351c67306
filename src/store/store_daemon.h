/* The mark of a running daemon on its state folder: locks/daemon.<pid>,
 * locked (flock(2), store_lock) by the daemon for as long as it runs and
 * holding its control socket's path, so that a command given only the
 * folder (delete, status --state-dir) finds the daemon that renews from
 * it. Two daemons may share a folder: each has its own mark. A mark counts
 * only while it is locked: a daemon killed with -9 leaves an unlocked file,
 * which readers skip and the next daemon to start removes. */
#ifndef ACMED_STORE_DAEMON_H
#define ACMED_STORE_DAEMON_H

#include <stddef.h>

struct store_daemon;

/* Marks state_dir as watched by this process, listening at socket_path
 * (recorded absolute: a relative one from the working directory); locks/
 * is made when missing, the marks of dead daemons are removed. Returns a
 * new mark (store_daemon_unmark), or NULL with errno (not logged). */
struct store_daemon *store_daemon_mark(const char *state_dir, const char *socket_path);

/* Removes the mark and releases its lock; safe on NULL. */
void store_daemon_unmark(struct store_daemon *mark);

/* The control sockets of the daemons running on state_dir (their locked
 * marks), sorted, in a new array in *sockets (store_list_free; NULL when
 * none) of *n. A folder without locks/ has none. Returns 0, or -1 with
 * errno when the marks cannot be read. */
int store_daemon_list(const char *state_dir, char ***sockets, size_t *n);

#endif
