#include "store/notified.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"

#define NOTIFIED_FILE_MAX (16u << 20)

/* The record's key: "cert event" (a certificate name has no space). */
static int
key_of(char *buf, size_t len, const char *cert, const char *event)
{
	int n = snprintf(buf, len, "%s %s", cert, event);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Holds locks/notified (made when missing) until closed: the read, the
 * change and the write are one step for every process. -1 logged. */
static int
lock_open(const char *state_dir)
{
	char *dir = file_path(state_dir, "locks", NULL);
	char *path = file_path(state_dir, "locks", "notified", NULL);
	int fd = -1;

	if (dir == NULL || path == NULL || file_mkdirs(dir, 0755) < 0) {
		log_error("notifications: %s/locks: cannot be made", state_dir);
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			log_error("notifications: %s: lock: %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0 && errno != 0) {
		log_error("notifications: %s: %s", path, strerror(errno));
	}
out:
	free(dir);
	free(path);
	return fd;
}

/* The records (a new object; an absent or damaged file reads as none,
 * logged when damaged). NULL when out of memory. */
static json_t *
load(const char *path)
{
	json_error_t jerr;
	size_t len = 0;
	char *text = file_read(path, NOTIFIED_FILE_MAX, &len);
	json_t *root = text != NULL ? json_loadb(text, len, 0, &jerr) : NULL;
	json_t *sent = root != NULL ? json_object_get(root, "sent") : NULL;

	if (text != NULL && !json_is_object(sent)) {
		log_warn("notifications: %s: unreadable, starting afresh", path);
	}
	sent = json_is_object(sent) ? json_incref(sent) : json_object();
	json_decref(root);
	free(text);
	return sent;
}

/* Keeps at most NOTIFIED_MAX records: the oldest go. */
static void
trim(json_t *sent)
{
	while (json_object_size(sent) > NOTIFIED_MAX) {
		const char *oldest = NULL;
		json_int_t t_old = 0;
		const char *k;
		json_t *v;

		json_object_foreach(sent, k, v)
		{
			if (oldest == NULL || json_integer_value(v) < t_old) {
				oldest = k;
				t_old = json_integer_value(v);
			}
		}
		json_object_del(sent, oldest);
	}
}

static int
save(const char *path, json_t *sent)
{
	json_t *root = json_pack("{s:O}", "sent", sent);
	char *text = root != NULL ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = -1;

	if (text != NULL) {
		rc = file_write_atomic(path, text, strlen(text), 0644);
	}
	free(text);
	json_decref(root);
	return rc;
}

/* Under the lock: the records, changed by fn (which returns 1 when they
 * are to be written), then written. Returns fn's answer, or -1. */
static int
with_records(const char *state_dir, int (*fn)(json_t *sent, void *arg), void *arg)
{
	char *path = file_path(state_dir, "notified.json", NULL);
	int fd = lock_open(state_dir);
	json_t *sent = NULL;
	int rc = -1;

	if (path == NULL || fd < 0) {
		goto out;
	}
	sent = load(path);
	if (sent == NULL) {
		goto out;
	}
	rc = fn(sent, arg);
	if (rc == 1) {
		trim(sent);
		if (save(path, sent) < 0) {
			rc = -1;
		}
	}
out:
	json_decref(sent);
	if (fd >= 0) {
		close(fd);
	}
	free(path);
	return rc;
}

struct claim {
	char key[512];
	time_t now;
	time_t unless;
	time_t prev;
};

static int
claim_fn(json_t *sent, void *arg)
{
	struct claim *c = arg;
	json_t *last = json_object_get(sent, c->key);

	c->prev = json_is_integer(last) ? (time_t)json_integer_value(last) : 0;
	if (json_is_integer(last) && c->prev >= c->unless) {
		return 0;
	}
	return json_object_set_new(sent, c->key, json_integer((json_int_t)c->now)) == 0 ? 1 : -1;
}

int
notified_claim(const char *state_dir, const char *cert, const char *event, time_t now,
               time_t unless, time_t *prev)
{
	struct claim c = {.now = now, .unless = unless};
	int rc = -1;

	if (key_of(c.key, sizeof(c.key), cert, event) == 0) {
		rc = with_records(state_dir, claim_fn, &c);
	}
	if (prev != NULL) {
		*prev = c.prev;
	}
	return rc;
}

static int
release_fn(json_t *sent, void *arg)
{
	struct claim *c = arg;
	json_t *last = json_object_get(sent, c->key);

	/* Another process claimed it since: its claim stands. */
	if (!json_is_integer(last) || (time_t)json_integer_value(last) != c->now) {
		return 0;
	}
	if (c->prev == 0) {
		return json_object_del(sent, c->key) == 0 ? 1 : -1;
	}
	return json_object_set_new(sent, c->key, json_integer((json_int_t)c->prev)) == 0 ? 1 : -1;
}

void
notified_release(const char *state_dir, const char *cert, const char *event, time_t claimed_at,
                 time_t prev)
{
	struct claim c = {.now = claimed_at, .prev = prev};

	if (key_of(c.key, sizeof(c.key), cert, event) == 0) {
		with_records(state_dir, release_fn, &c);
	}
}

time_t
notified_last(const char *state_dir, const char *cert, const char *event)
{
	char *path = file_path(state_dir, "notified.json", NULL);
	char key[512];
	json_t *sent = NULL;
	time_t t = 0;

	if (path != NULL && key_of(key, sizeof(key), cert, event) == 0) {
		sent = load(path);
		t = (time_t)json_integer_value(json_object_get(sent, key));
	}
	json_decref(sent);
	free(path);
	return t;
}

static int
forget_fn(json_t *sent, void *arg)
{
	const char *cert = arg;
	size_t n = strlen(cert);
	const char *k;
	json_t *v;
	void *tmp;
	int changed = 0;

	json_object_foreach_safe(sent, tmp, k, v)
	{
		if (strncmp(k, cert, n) == 0 && k[n] == ' ') {
			json_object_del(sent, k);
			changed = 1;
		}
	}
	return changed;
}

void
notified_forget(const char *state_dir, const char *cert)
{
	with_records(state_dir, forget_fn, (void *)cert);
}
