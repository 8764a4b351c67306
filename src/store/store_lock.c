#include "store/store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* How often a waiting command looks again. */
#define POLL_NS (100L * 1000 * 1000)

struct store_lock {
	int fd;
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
static bool
read_holder(int fd, char *holder)
{
	struct stat st;
	char line[256];
	FILE *f = NULL;
	bool found = false;

	snprintf(holder, STORE_LOCK_HOLDER_LEN, "another process");
	if (fstat(fd, &st) < 0) {
		return false;
	}
	f = fopen("/proc/locks", "re");
	if (f == NULL) {
		return false;
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
	return found;
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

bool
store_lock_busy(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 0;

	if (fd < 0) {
		return false;
	}
	do {
		rc = flock(fd, LOCK_SH | LOCK_NB);
	} while (rc < 0 && errno == EINTR);
	/* A shared lock taken here goes with the close. */
	close(fd);
	return rc < 0 && errno == EWOULDBLOCK;
}

bool
store_lock_holder(const char *path, char *holder)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool held;

	if (fd < 0) {
		return false;
	}
	held = read_holder(fd, holder);
	close(fd);
	return held;
}

void
store_lock_release(struct store_lock *lock)
{
	if (lock == NULL) {
		return;
	}
	/* Closing releases it; the file stays for the next holder. */
	close(lock->fd);
	free(lock);
}
