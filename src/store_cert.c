#include "store_cert.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define MAX_VERSION 1000000000L

static const char *const file_names[] = {
        "cert.pem",
        "chain.pem",
        "fullchain.pem",
        "privkey.pem",
};

#define N_FILES (sizeof(file_names) / sizeof(file_names[0]))

int
store_cert_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.') {
		return 0;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) {
			return 0;
		}
	}
	return 1;
}

char *
store_cert_dir(const char *state_dir, const char *name)
{
	if (!store_cert_name_ok(name)) {
		return NULL;
	}
	return store_path(state_dir, "certs", name, NULL);
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) < 0) {
		log_error("%s: fsync: %s", dir, strerror(errno));
		rc = -1;
	}
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

/* Points dir/name at target with a temp symlink renamed over it: atomic for
 * readers. */
static int
symlink_atomic(const char *dir, const char *name, const char *target)
{
	char tmp[PATH_MAX];
	char dst[PATH_MAX];
	int rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst)) {
		log_error("%s: path too long", dir);
		return -1;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0) {
		log_error("%s: symlink: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		log_error("%s: rename: %s", dst, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* The version a symlink (current, previous) points at, or -1. */
static long
link_version(const char *dir, const char *name)
{
	char path[PATH_MAX];
	char target[64];
	ssize_t n;
	char *end;
	long v;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		return -1;
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 2) {
		return -1;
	}
	target[n] = '\0';
	if (strncmp(target, "v/", 2) != 0) {
		return -1;
	}
	errno = 0;
	v = strtol(target + 2, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		return -1;
	}
	return v;
}

static void
remove_version(const char *vdir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_FILES; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", vdir, file_names[i]) <
		    (int)sizeof(path)) {
			unlink(path);
		}
	}
	rmdir(vdir);
}

/* Removes every v/<n> but keep1 and keep2; returns the highest number seen. */
static long
scan_versions(const char *dir, long keep1, long keep2, int prune)
{
	char vroot[PATH_MAX];
	char vdir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	long max = 0;

	if (snprintf(vroot, sizeof(vroot), "%s/v", dir) >= (int)sizeof(vroot)) {
		return -1;
	}
	d = opendir(vroot);
	if (d == NULL) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v;

		if (de->d_name[0] < '0' || de->d_name[0] > '9') {
			continue;
		}
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno != 0 || *end != '\0') {
			continue;
		}
		if (v > max) {
			max = v;
		}
		if (prune && v != keep1 && v != keep2 &&
		    snprintf(vdir, sizeof(vdir), "%s/%ld", vroot, v) < (int)sizeof(vdir)) {
			remove_version(vdir);
		}
	}
	closedir(d);
	return max;
}

static int
write_set(const char *vdir, const struct store_cert_set *set)
{
	char path[PATH_MAX];
	char *full = NULL;
	size_t full_len = set->cert_len + set->chain_len;
	int rc = -1;

	full = malloc(full_len + 1);
	if (full == NULL) {
		log_error("out of memory");
		goto out;
	}
	memcpy(full, set->cert_pem, set->cert_len);
	memcpy(full + set->cert_len, set->chain_pem, set->chain_len);
	if (snprintf(path, sizeof(path), "%s/privkey.pem", vdir) >= (int)sizeof(path) ||
	    store_write_atomic(path, set->key_pem, set->key_len, 0600) < 0) {
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/cert.pem", vdir) >= (int)sizeof(path) ||
	    store_write_atomic(path, set->cert_pem, set->cert_len, 0644) < 0) {
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/chain.pem", vdir) >= (int)sizeof(path) ||
	    store_write_atomic(path, set->chain_pem, set->chain_len, 0644) < 0) {
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/fullchain.pem", vdir) >= (int)sizeof(path) ||
	    store_write_atomic(path, full, full_len, 0644) < 0) {
		goto out;
	}
	rc = 0;
out:
	free(full);
	return rc;
}

/* Makes the top-level names point into current/, once. */
static int
ensure_links(const char *dir)
{
	char path[PATH_MAX];
	char target[PATH_MAX];
	char have[PATH_MAX];

	for (size_t i = 0; i < N_FILES; i++) {
		ssize_t n;

		if (snprintf(path, sizeof(path), "%s/%s", dir, file_names[i]) >=
		            (int)sizeof(path) ||
		    snprintf(target, sizeof(target), "current/%s", file_names[i]) >=
		            (int)sizeof(target)) {
			return -1;
		}
		n = readlink(path, have, sizeof(have) - 1);
		if (n >= 0) {
			have[n] = '\0';
			if (strcmp(have, target) == 0) {
				continue;
			}
		}
		if (symlink_atomic(dir, file_names[i], target) < 0) {
			return -1;
		}
	}
	return 0;
}

int
store_cert_install(const char *state_dir, const char *name, const struct store_cert_set *set)
{
	char *dir = NULL;
	char vdir[PATH_MAX];
	char target[64];
	long current;
	long next;
	int rc = -1;

	vdir[0] = '\0';
	dir = store_cert_dir(state_dir, name);
	if (dir == NULL) {
		log_error("%s: not a usable certificate name", name);
		goto out;
	}
	if (store_mkdirs(dir, 0755) < 0) {
		goto out;
	}
	if (snprintf(vdir, sizeof(vdir), "%s/v", dir) >= (int)sizeof(vdir) ||
	    store_mkdirs(vdir, 0755) < 0) {
		vdir[0] = '\0';
		goto out;
	}
	current = link_version(dir, "current");
	next = scan_versions(dir, -1, -1, 0);
	if (next < 0 || next >= MAX_VERSION) {
		vdir[0] = '\0';
		goto out;
	}
	/* A leftover folder from a crash is skipped, never reused. */
	for (next++; next < MAX_VERSION; next++) {
		if (snprintf(vdir, sizeof(vdir), "%s/v/%ld", dir, next) >= (int)sizeof(vdir)) {
			vdir[0] = '\0';
			goto out;
		}
		if (mkdir(vdir, 0755) == 0) {
			break;
		}
		if (errno != EEXIST) {
			log_error("%s: mkdir: %s", vdir, strerror(errno));
			vdir[0] = '\0';
			goto out;
		}
	}
	if (write_set(vdir, set) < 0) {
		goto out;
	}
	if (current >= 0) {
		snprintf(target, sizeof(target), "v/%ld", current);
		if (symlink_atomic(dir, "previous", target) < 0) {
			goto out;
		}
	}
	/* The four names exist before the switch (dangling on a first
	 * install), so that the switch makes all of them appear at once, even
	 * if acmed is killed right after it. */
	if (ensure_links(dir) < 0) {
		goto out;
	}
	snprintf(target, sizeof(target), "v/%ld", next);
	/* The switch: from here on the new set is the installed one. */
	if (symlink_atomic(dir, "current", target) < 0) {
		goto out;
	}
	vdir[0] = '\0';
	if (fsync_dir(dir) < 0) {
		goto out;
	}
	scan_versions(dir, next, current, 1);
	rc = 0;
out:
	if (rc < 0 && vdir[0] != '\0') {
		remove_version(vdir);
	}
	free(dir);
	return rc;
}
