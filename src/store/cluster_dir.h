/* The folder of the file backend of the shared store (cluster_file.c): JSON
 * entries, each a file written atomically (base/file.h), some expiring, and
 * one lock file flock(2)'d around each of the backend's operations so that
 * several processes (on one host, or sharing the folder) see each whole.
 *
 * An entry is PATH/NAME or PATH/SUB/NAME with NAME escaped: %XX for all but
 * letters, digits, '-', '_' and a '.' that does not lead (so no entry is
 * "..", has a '/', or starts with the '.' of base/file.h's temp files).
 * An expiring entry holds "until": the wall clock in ms since the epoch
 * past which it is as if absent. */
#ifndef ACMED_CLUSTER_DIR_H
#define ACMED_CLUSTER_DIR_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct cluster_dir {
	char *path;
	int lock_fd; /* PATH/lock, -1 when not open */
};

/* Makes path (0700) and its subfolders subs[0..n) when missing, opens the
 * lock file. Returns 0, or -1 with a reason in err. */
int cluster_dir_open(struct cluster_dir *d, const char *path, const char *const *subs, size_t n,
                     char *err, size_t errlen);
/* Closes the lock file, frees the path. Safe on a zeroed d. */
void cluster_dir_close(struct cluster_dir *d);

/* Takes (waiting for it) and lets go the lock. 0 or -1 with err. */
int cluster_dir_lock(struct cluster_dir *d, char *err, size_t errlen);
void cluster_dir_unlock(struct cluster_dir *d);

/* out = PATH/sub/NAME (name escaped), or PATH/name as it is when sub is
 * NULL. -1 when name is empty or the path too long. */
int cluster_dir_path(const struct cluster_dir *d, char out[PATH_MAX], const char *sub,
                     const char *name);

/* The JSON object at path: 0 with *out a new reference, NULL when there is
 * no such file or (live) it has expired; -1 with a reason in err (err
 * NULL: none). */
int cluster_dir_load(const char *path, bool live, json_t **out, char *err, size_t errlen);
/* Writes o to path atomically (0600). 0 or -1 with err. */
int cluster_dir_save(const char *path, const json_t *o, char *err, size_t errlen);
/* Removes path (missing is fine). 0 or -1 with err. */
int cluster_dir_drop(const char *path, char *err, size_t errlen);
/* Removes the expired entries of PATH/sub (under the lock). */
void cluster_dir_sweep(const struct cluster_dir *d, const char *sub);

/* The wall clock in ms since the epoch; whether o has not expired (no
 * "until": it never does). */
long long cluster_dir_now_ms(void);
bool cluster_dir_live(const json_t *o);

#endif
