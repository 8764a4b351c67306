/* The file backend's folder: escaped entry names, JSON entries, expiry,
 * the lock (cluster_dir.h). */
#include "store/cluster_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"

#define ENTRY_MAX (4 * 1024 * 1024) /* a larger file is no entry of ours */

long long
cluster_dir_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
cluster_dir_live(const json_t *o)
{
	const json_t *until = json_object_get(o, "until");

	return until == NULL || json_integer_value(until) > cluster_dir_now_ms();
}

static bool
plain_char(unsigned char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || (ch == '.' && !first);
}

int
cluster_dir_path(const struct cluster_dir *d, char out[PATH_MAX], const char *sub, const char *name)
{
	const unsigned char *p;
	int n;

	if (name == NULL || name[0] == '\0') {
		return -1;
	}
	if (sub == NULL) {
		n = snprintf(out, PATH_MAX, "%s/%s", d->path, name);
		return n > 0 && n < PATH_MAX ? 0 : -1;
	}
	n = snprintf(out, PATH_MAX, "%s/%s/", d->path, sub);
	for (p = (const unsigned char *)name; n > 0 && n + 4 < PATH_MAX && *p != '\0'; p++) {
		if (plain_char(*p, p == (const unsigned char *)name)) {
			out[n++] = (char)*p;
		} else {
			n += snprintf(out + n, 4, "%%%02X", *p);
		}
	}
	if (n <= 0 || n + 4 >= PATH_MAX) {
		return -1;
	}
	out[n] = '\0';
	return 0;
}

int
cluster_dir_load(const char *path, bool live, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	size_t len = 0;
	char *text = file_read(path, ENTRY_MAX, &len);

	*out = NULL;
	if (text == NULL) {
		if (errno == ENOENT) {
			return 0;
		}
		if (err != NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		return -1;
	}
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		if (err != NULL) {
			snprintf(err, errlen, "%s: not a JSON object", path);
		}
		return -1;
	}
	if (live && !cluster_dir_live(*out)) {
		json_decref(*out);
		*out = NULL;
	}
	return 0;
}

int
cluster_dir_save(const char *path, const json_t *o, char *err, size_t errlen)
{
	char *text = json_dumps(o, JSON_COMPACT);
	int rc = -1;

	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
	} else if (file_write_atomic(path, text, strlen(text), 0600) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
	} else {
		rc = 0;
	}
	free(text);
	return rc;
}

int
cluster_dir_drop(const char *path, char *err, size_t errlen)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
cluster_dir_sweep(const struct cluster_dir *d, const char *sub)
{
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *e;
	json_t *o;

	if (cluster_dir_path(d, path, NULL, sub) < 0 || (dir = opendir(path)) == NULL) {
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		int n = snprintf(path, sizeof(path), "%s/%s/%s", d->path, sub, e->d_name);

		/* Temp files of file_write_atomic start with '.'; a broken
		 * entry is left for the call that reads it to report. */
		if (e->d_name[0] == '.' || n <= 0 || n >= PATH_MAX ||
		    cluster_dir_load(path, false, &o, NULL, 0) < 0) {
			continue;
		}
		if (o != NULL && !cluster_dir_live(o)) {
			unlink(path);
		}
		json_decref(o);
	}
	closedir(dir);
}

int
cluster_dir_lock(struct cluster_dir *d, char *err, size_t errlen)
{
	while (flock(d->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "%s/lock: %s", d->path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void
cluster_dir_unlock(struct cluster_dir *d)
{
	flock(d->lock_fd, LOCK_UN);
}

int
cluster_dir_open(struct cluster_dir *d, const char *path, const char *const *subs, size_t n,
                 char *err, size_t errlen)
{
	char sub[PATH_MAX];
	size_t i;

	d->lock_fd = -1;
	d->path = strdup(path);
	if (d->path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* i == n: the folder itself, made first by file_mkdirs anyway. */
	for (i = 0; i <= n; i++) {
		int len = snprintf(sub, sizeof(sub), "%s/%s", path, i < n ? subs[i] : "");

		if (len <= 0 || len >= PATH_MAX || file_mkdirs(sub, 0700) < 0) {
			snprintf(err, errlen, "%s: cannot make the store's folder: %s", sub,
			         strerror(errno));
			return -1;
		}
	}
	if (cluster_dir_path(d, sub, NULL, "lock") < 0 ||
	    (d->lock_fd = open(sub, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "%s/lock: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
cluster_dir_close(struct cluster_dir *d)
{
	if (d->path != NULL && d->lock_fd >= 0) {
		close(d->lock_fd);
	}
	free(d->path);
	d->path = NULL;
	d->lock_fd = -1;
}
