/* http-01 through the web server's own document root: the key authorization
 * goes to <webroot>/.well-known/acme-challenge/<token> (RFC 8555 section
 * 8.3). */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include "base/b64.h"
#include "base/log.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEBROOT_DIR_MODE 0755
#define WEBROOT_FILE_MODE 0644
#define WEBROOT_WELL_KNOWN ".well-known"
#define WEBROOT_CHALLENGE_DIR "acme-challenge"
#define WEBROOT_MAX_MESSAGE 512

struct webroot {
	struct challenge base;
	char *dir;
};

static bool
task_ok(const struct webroot *wr, const struct challenge_task *task)
{
	bool ok = task != NULL && task->token != NULL && task->key_auth != NULL &&
	          b64_is_token(task->token, ACME_MAX_TOKEN);

	if (!ok) {
		/* Callers check too: this one ends up in a path. */
		log_error("webroot %s: refusing a token that is not base64url", wr->dir);
	}
	return ok;
}

/* Opens parent/name as a folder, creating it (mode 0755 whatever the umask)
 * when missing. Returns the descriptor or -1 with errno set. */
static int
open_dir(int parent, const char *name)
{
	int fd = -1;

	if (mkdirat(parent, name, WEBROOT_DIR_MODE) == 0) {
		if (fchmodat(parent, name, WEBROOT_DIR_MODE, 0) < 0) {
			goto out;
		}
	} else if (errno != EEXIST) {
		goto out;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	return fd;
}

/* Writes the file; returns 0, or -1 with the reason in message. */
static int
write_token(struct webroot *wr, const struct challenge_task *task, char *message, size_t len)
{
	char rel[sizeof(WEBROOT_WELL_KNOWN "/" WEBROOT_CHALLENGE_DIR "/") + ACME_MAX_TOKEN];
	const char *op = "create";
	bool created = false;
	int root = -1;
	int well_known = -1;
	int dir = -1;
	int fd = -1;
	int err;
	int ret = -1;

	root = open(wr->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		err = errno;
		snprintf(message, len,
		         "webroot %s: %s: set webroot to the folder your web server serves",
		         wr->dir, strerror(err));
		goto out;
	}
	snprintf(rel, sizeof(rel), "%s", WEBROOT_WELL_KNOWN);
	well_known = open_dir(root, WEBROOT_WELL_KNOWN);
	if (well_known < 0) {
		goto fail;
	}
	snprintf(rel, sizeof(rel), "%s/%s", WEBROOT_WELL_KNOWN, WEBROOT_CHALLENGE_DIR);
	dir = open_dir(well_known, WEBROOT_CHALLENGE_DIR);
	if (dir < 0) {
		goto fail;
	}
	/* A fresh file, never one planted in our way: whatever sits at the
	 * name (a link to somewhere else, say) is removed, and O_EXCL with
	 * O_NOFOLLOW fails if it comes back. */
	snprintf(rel, sizeof(rel), "%s/%s/%s", WEBROOT_WELL_KNOWN, WEBROOT_CHALLENGE_DIR,
	         task->token);
	op = "write";
	if (unlinkat(dir, task->token, 0) < 0 && errno != ENOENT) {
		goto fail;
	}
	fd = openat(dir, task->token, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            WEBROOT_FILE_MODE);
	if (fd < 0) {
		goto fail;
	}
	created = true;
	/* The web server may run as another user: readable whatever the
	 * umask. */
	if (fchmod(fd, WEBROOT_FILE_MODE) < 0 ||
	    file_write_all(fd, task->key_auth, strlen(task->key_auth)) < 0) {
		goto fail;
	}
	err = close(fd);
	fd = -1;
	if (err < 0) {
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	err = errno;
	snprintf(message, len, "webroot %s: %s %s: %s", wr->dir, op, rel, strerror(err));
	if (created) {
		unlinkat(dir, task->token, 0);
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	if (dir >= 0) {
		close(dir);
	}
	if (well_known >= 0) {
		close(well_known);
	}
	if (root >= 0) {
		close(root);
	}
	return ret;
}

static int
webroot_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct webroot *wr = (struct webroot *)ch;
	char message[WEBROOT_MAX_MESSAGE] = "";
	int rc;
	int ret = -1;

	if (!task_ok(wr, task)) {
		goto out;
	}
	rc = write_token(wr, task, message, sizeof(message));
	if (rc == 0) {
		log_debug("webroot %s: %s: wrote %s/%s/%s", wr->dir, task->identifier,
		          WEBROOT_WELL_KNOWN, WEBROOT_CHALLENGE_DIR, task->token);
	}
	ret = challenge_defer(&wr->base, rc, message, done, arg);
out:
	return ret;
}

static int
webroot_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct webroot *wr = (struct webroot *)ch;
	char message[WEBROOT_MAX_MESSAGE] = "";
	char path[PATH_MAX];
	int n;
	int rc = 0;
	int ret = -1;

	if (!task_ok(wr, task)) {
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/%s/%s/%s", wr->dir, WEBROOT_WELL_KNOWN,
	             WEBROOT_CHALLENGE_DIR, task->token);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(message, sizeof(message), "webroot %s: path too long", wr->dir);
		rc = -1;
	} else if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR) {
		/* Already gone is what we want. */
		snprintf(message, sizeof(message), "webroot %s: remove %s/%s/%s: %s", wr->dir,
		         WEBROOT_WELL_KNOWN, WEBROOT_CHALLENGE_DIR, task->token, strerror(errno));
		rc = -1;
	}
	ret = challenge_defer(&wr->base, rc, message, done, arg);
out:
	return ret;
}

static void
webroot_destroy(struct challenge *ch)
{
	struct webroot *wr = (struct webroot *)ch;

	free(wr->dir);
	free(wr);
}

static const struct challenge_ops webroot_ops = {
        .name = "webroot",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = webroot_present,
        .cleanup = webroot_cleanup,
        .destroy = webroot_destroy,
};

struct challenge *
challenge_webroot_create(struct ev_loop *loop, const char *webroot)
{
	struct webroot *wr = NULL;
	size_t len;

	if (webroot == NULL || webroot[0] == '\0') {
		log_error("webroot: no folder given: set webroot");
		goto out;
	}
	wr = calloc(1, sizeof(*wr));
	if (wr == NULL) {
		goto oom;
	}
	wr->dir = strdup(webroot);
	if (wr->dir == NULL) {
		goto oom;
	}
	/* "/var/www/" and "/var/www" are one folder; "/" stays. */
	len = strlen(wr->dir);
	while (len > 1 && wr->dir[len - 1] == '/') {
		wr->dir[--len] = '\0';
	}
	challenge_init(&wr->base, &webroot_ops, loop);
	goto out;
oom:
	log_error("webroot %s: out of memory", webroot);
	if (wr != NULL) {
		free(wr->dir);
		free(wr);
		wr = NULL;
	}
out:
	return wr != NULL ? &wr->base : NULL;
}
