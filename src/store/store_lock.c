#include "store/store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "store/store.h"

/* How often a waiting command looks again. */
#define POLL_NS (100L * 1000 * 1000)

/* A daemon's mark: locks/daemon.<pid>; made as .daemon.<pid>.tmp, locked
 * and written before its rename, so a mark is never seen unlocked while its
 * daemon lives. */
#define DAEMON_MARK "daemon."
#define DAEMON_MARK_MAX 4096

struct store_lock {
	int fd;
	char *path; /* a daemon's mark, removed at release; else NULL */
};

/* Subcommand words worth naming in "pid 12 (acmed run)". */
static const char *const commands[] = {
        "account", "cert", "check", "deploy", "jobs", "renew", "revoke", "run", "status", "terms",
};

/* "acmed run" for pid, from /proc: its name and the first argument that is a
 * subcommand (other arguments may hold secrets). */
static void
describe(long pid, char *out, size_t len)
{
	char path[64];
	char args[4096];
	char comm[32] = "?";
	const char *word = NULL;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (f != NULL) {
		if (fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	if (f != NULL) {
		n = fread(args, 1, sizeof(args) - 1, f);
		fclose(f);
	}
	args[n] = '\0';
	for (size_t i = 0; i < n && word == NULL; i += strlen(args + i) + 1) {
		for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
			if (i > 0 && strcmp(args + i, commands[k]) == 0) {
				word = commands[k];
				break;
			}
		}
	}
	snprintf(out, len, "pid %ld (%s%s%s)", pid, comm, word != NULL ? " " : "",
	         word != NULL ? word : "");
}

/* Who holds the lock on fd: "pid 12 (acmed run)" from /proc/locks, which
 * names the process of every flock(2) lock by its file's device and inode;
 * nothing is written to the lock file, so taking a lock changes nothing in
 * the state folder. */
static void
read_holder(int fd, char *holder)
{
	struct stat st;
	char line[256];
	FILE *f = NULL;
	bool found = false;

	snprintf(holder, STORE_LOCK_HOLDER_LEN, "another process");
	if (fstat(fd, &st) < 0) {
		return;
	}
	f = fopen("/proc/locks", "re");
	if (f == NULL) {
		return;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned int major;
		unsigned int minor;
		unsigned long inode;
		long pid;
		char type[16];

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a
		 * waiter's line starts with "1: ->". */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &pid, &major, &minor,
		           &inode) == 5 &&
		    strcmp(type, "FLOCK") == 0 && inode == (unsigned long)st.st_ino &&
		    major == major(st.st_dev) && minor == minor(st.st_dev)) {
			describe(pid, holder, STORE_LOCK_HOLDER_LEN);
			found = true;
		}
	}
	fclose(f);
}

struct store_lock *
store_lock_try(const char *path, char *holder)
{
	struct store_lock *lock = NULL;
	int fd;
	int err;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR) {
			continue;
		}
		err = errno;
		if (err == EWOULDBLOCK) {
			read_holder(fd, holder);
		}
		close(fd);
		fd = -1;
		errno = err;
		goto out;
	}
	lock = malloc(sizeof(*lock));
	if (lock == NULL) {
		close(fd);
		fd = -1;
		errno = ENOMEM;
		goto out;
	}
	lock->fd = fd;
	lock->path = NULL;
out:
	return lock;
}

struct store_lock *
store_lock_wait(const char *path, const char *what, double timeout)
{
	struct timespec poll = {0, POLL_NS};
	char holder[STORE_LOCK_HOLDER_LEN];
	char first[STORE_LOCK_HOLDER_LEN] = "";
	double waited = 0;
	struct store_lock *lock;

	for (;;) {
		lock = store_lock_try(path, holder);
		if (lock != NULL) {
			break;
		}
		if (errno != EWOULDBLOCK) {
			log_error("%s: cannot lock %s: %s", what, path, strerror(errno));
			break;
		}
		if (first[0] == '\0') {
			snprintf(first, sizeof(first), "%s", holder);
			log_info("%s: waiting for %s, which holds %s", what, holder, path);
		}
		if (waited >= timeout) {
			log_error("%s: still locked by %s after %.0f s (%s); try again when it "
			          "is done",
			          what, holder, waited, path);
			break;
		}
		nanosleep(&poll, NULL);
		waited += (double)POLL_NS / 1e9;
	}
	return lock;
}

void
store_lock_release(struct store_lock *lock)
{
	if (lock == NULL) {
		return;
	}
	/* A daemon's mark goes before its lock: a reader that opened it
	 * before sees it unlocked, as the daemon is gone. Other lock files
	 * stay for the next holder (closing releases them). */
	if (lock->path != NULL) {
		unlink(lock->path);
	}
	close(lock->fd);
	free(lock->path);
	free(lock);
}

/* Whether the lock file name in dir is held by a live process. Its open fd
 * in *fdp when it is not (to remove it), else -1. */
static bool
mark_live(int dir, const char *name, int *fdp)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool live = false;
	int rc;

	*fdp = -1;
	if (fd < 0) {
		return false;
	}
	do {
		rc = flock(fd, LOCK_SH | LOCK_NB);
	} while (rc < 0 && errno == EINTR);
	live = rc < 0 && errno == EWOULDBLOCK;
	if (live) {
		close(fd);
	} else {
		*fdp = fd;
	}
	return live;
}

/* Removes the marks of daemons that died without their release (kill -9):
 * unlocked files. One is removed only if the name still is the file found
 * unlocked (a new daemon of the same pid renames its own over it). */
static void
sweep_marks(DIR *d)
{
	struct dirent *de;

	while ((de = readdir(d)) != NULL) {
		struct stat a, b;
		int fd;

		if (strncmp(de->d_name, DAEMON_MARK, strlen(DAEMON_MARK)) != 0 ||
		    mark_live(dirfd(d), de->d_name, &fd) || fd < 0) {
			continue;
		}
		if (fstat(fd, &a) == 0 &&
		    fstatat(dirfd(d), de->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			unlinkat(dirfd(d), de->d_name, 0);
		}
		close(fd);
	}
}

/* Writes the mark: the socket's absolute path and a newline. */
static int
write_mark(int fd, const char *socket_path)
{
	char cwd[PATH_MAX];
	int rc = 0;

	if (socket_path[0] != '/') {
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
	return rc;
}

struct store_lock *
store_lock_daemon(const char *state_dir, const char *socket_path)
{
	char name[64];
	char tmp_name[64];
	char *dir = file_path(state_dir, "locks", NULL);
	char *path = NULL;
	char *tmp = NULL;
	struct store_lock *lock = NULL;
	DIR *d = NULL;
	int fd = -1;
	int err = ENOMEM;

	snprintf(name, sizeof(name), DAEMON_MARK "%ld", (long)getpid());
	snprintf(tmp_name, sizeof(tmp_name), "." DAEMON_MARK "%ld.tmp", (long)getpid());
	path = dir != NULL ? file_path(dir, name, NULL) : NULL;
	tmp = dir != NULL ? file_path(dir, tmp_name, NULL) : NULL;
	lock = malloc(sizeof(*lock));
	if (path == NULL || tmp == NULL || lock == NULL) {
		goto out;
	}
	if (file_mkdirs(dir, 0755) < 0) {
		err = errno;
		goto out;
	}
	d = opendir(dir);
	if (d != NULL) {
		sweep_marks(d);
	}
	unlink(tmp);
	/* Readable by all: status as another user finds the socket. */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || write_mark(fd, socket_path) < 0 ||
	    rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		goto out;
	}
	lock->fd = fd;
	lock->path = path;
	path = NULL;
	fd = -1;
	err = 0;
out:
	if (err != 0) {
		free(lock);
		lock = NULL;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (d != NULL) {
		closedir(d);
	}
	free(tmp);
	free(path);
	free(dir);
	errno = err;
	return lock;
}

/* The socket path of the mark name in dir (at most DAEMON_MARK_MAX bytes), a new
 * string or NULL. */
static char *
read_mark(int dir, const char *name)
{
	char buf[DAEMON_MARK_MAX + 1];
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, buf, DAEMON_MARK_MAX) : -1;

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

int
store_lock_daemons(const char *state_dir, char ***sockets, size_t *n)
{
	char *dir = file_path(state_dir, "locks", NULL);
	DIR *d = dir != NULL ? opendir(dir) : NULL;
	struct dirent *de;
	char **list = NULL;
	size_t count = 0;
	int rc = -1;

	*sockets = NULL;
	*n = 0;
	if (d == NULL) {
		rc = dir != NULL && errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char **grown;
		char *socket;
		int fd = -1;

		if (strncmp(de->d_name, DAEMON_MARK, strlen(DAEMON_MARK)) != 0 ||
		    !mark_live(dirfd(d), de->d_name, &fd)) {
			if (fd >= 0) {
				close(fd);
			}
			continue;
		}
		/* Written before it got its name: an unreadable one is skipped. */
		socket = read_mark(dirfd(d), de->d_name);
		if (socket == NULL) {
			continue;
		}
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL) {
			free(socket);
			errno = ENOMEM;
			goto out;
		}
		list = grown;
		list[count++] = socket;
	}
	*sockets = list;
	*n = count;
	list = NULL;
	rc = 0;
out:
	store_list_free(list, count);
	if (d != NULL) {
		closedir(d);
	}
	free(dir);
	return rc;
}
