#include "store/store_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "store/store.h"
#include "store/store_lock.h"

/* locks/daemon.<pid>; made as locks/.daemon.<pid>.tmp, locked and written
 * before its rename, so a mark is never seen unlocked while its daemon
 * lives. */
#define MARK_PREFIX "daemon."
#define MARK_MAX 4096

struct store_daemon {
	struct store_lock *lock;
	char *path;
};

/* Whether name in the folder locks is a daemon's mark and its daemon runs
 * (the lock held). */
static bool
mark_live(const char *locks, const char *name)
{
	char *path = NULL;
	bool live = false;

	if (strncmp(name, MARK_PREFIX, strlen(MARK_PREFIX)) != 0) {
		return false;
	}
	path = file_path(locks, name, NULL);
	live = path != NULL && store_lock_busy(path);
	free(path);
	return live;
}

/* store_list_fn: the marks of daemons gone without their unmark (kill -9),
 * to be removed. */
static int
keep_dead(int dir, const char *name, unsigned char type, void *locks, char **out)
{
	(void)dir;
	*out = NULL;
	if (strncmp(name, MARK_PREFIX, strlen(MARK_PREFIX)) != 0 || mark_live(locks, name)) {
		return 0;
	}
	*out = strdup(name);
	return *out != NULL ? 0 : -1;
}

/* The mark name in the folder open as dir: its socket path, a new string,
 * or NULL when it cannot be read. */
static char *
read_mark(int dir, const char *name)
{
	char buf[MARK_MAX + 1];
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, buf, MARK_MAX) : -1;

	if (fd >= 0) {
		close(fd);
	}
	if (n <= 0) {
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] != '\0' ? strdup(buf) : NULL;
}

/* store_list_fn: the socket of a live daemon's mark. One that cannot be
 * read (written before it got its name: another's permissions) is
 * skipped. */
static int
keep_live(int dir, const char *name, unsigned char type, void *locks, char **out)
{
	*out = mark_live(locks, name) ? read_mark(dir, name) : NULL;
	return 0;
}

/* Removes the marks of dead daemons from locks (a folder). A daemon of the
 * same pid as a dead one renames its own mark over it: the window between
 * the look and the removal is the only one in which it could go. */
static void
sweep(const char *locks)
{
	char **dead = NULL;
	size_t n = 0;

	if (store_list_dir(locks, keep_dead, (void *)locks, &dead, &n) < 0) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *path = file_path(locks, dead[i], NULL);

		if (path != NULL) {
			unlink(path);
		}
		free(path);
	}
	store_list_free(dead, n);
}

/* Writes the socket's absolute path and a newline to path. */
static int
write_mark(const char *path, const char *socket_path)
{
	char cwd[PATH_MAX];
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = fd >= 0 ? 0 : -1;

	if (rc == 0 && socket_path[0] != '/') {
		rc = getcwd(cwd, sizeof(cwd)) != NULL ? 0 : -1;
		if (rc == 0) {
			rc = file_write_all(fd, cwd, strlen(cwd));
		}
		if (rc == 0) {
			rc = file_write_all(fd, "/", 1);
		}
	}
	if (rc == 0) {
		rc = file_write_all(fd, socket_path, strlen(socket_path));
	}
	if (rc == 0) {
		rc = file_write_all(fd, "\n", 1);
	}
	/* Readable by all: status as another user finds the socket. */
	if (rc == 0) {
		rc = fchmod(fd, 0644);
	}
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

struct store_daemon *
store_daemon_mark(const char *state_dir, const char *socket_path)
{
	char name[64];
	char tmp_name[64];
	char holder[STORE_LOCK_HOLDER_LEN];
	char *locks = file_path(state_dir, "locks", NULL);
	char *tmp = NULL;
	struct store_daemon *mark = calloc(1, sizeof(*mark));
	int err = ENOMEM;

	snprintf(name, sizeof(name), MARK_PREFIX "%ld", (long)getpid());
	snprintf(tmp_name, sizeof(tmp_name), "." MARK_PREFIX "%ld.tmp", (long)getpid());
	if (locks == NULL || mark == NULL) {
		goto out;
	}
	mark->path = file_path(locks, name, NULL);
	tmp = file_path(locks, tmp_name, NULL);
	if (mark->path == NULL || tmp == NULL) {
		goto out;
	}
	if (file_mkdirs(locks, 0755) < 0) {
		err = errno;
		goto out;
	}
	sweep(locks);
	unlink(tmp);
	mark->lock = store_lock_try(tmp, holder);
	if (mark->lock == NULL || write_mark(tmp, socket_path) < 0 || rename(tmp, mark->path) < 0) {
		err = errno;
		unlink(tmp);
		goto out;
	}
	err = 0;
out:
	if (err != 0) {
		store_lock_release(mark != NULL ? mark->lock : NULL);
		if (mark != NULL) {
			free(mark->path);
		}
		free(mark);
		mark = NULL;
	}
	free(tmp);
	free(locks);
	errno = err;
	return mark;
}

void
store_daemon_unmark(struct store_daemon *mark)
{
	if (mark == NULL) {
		return;
	}
	/* The file goes before the lock: a reader that opened it before
	 * finds it unlocked, as its daemon is gone. */
	unlink(mark->path);
	store_lock_release(mark->lock);
	free(mark->path);
	free(mark);
}

int
store_daemon_list(const char *state_dir, char ***sockets, size_t *n)
{
	char *locks = file_path(state_dir, "locks", NULL);
	int rc = -1;

	*sockets = NULL;
	*n = 0;
	if (locks != NULL) {
		rc = store_list_dir(locks, keep_live, locks, sockets, n);
	} else {
		errno = ENOMEM;
	}
	free(locks);
	return rc;
}
