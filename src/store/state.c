#include "store/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/file.h"

#define STATE_MAX (64 * 1024)

static int
dup_field(char **field, const char *value)
{
	if (value == NULL) {
		return 0;
	}
	*field = strdup(value);
	return *field != NULL ? 0 : -1;
}

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->version = -1;
}

/* state.json of the folder open as dirfd (path: relative to it), as
 * state_load; fi (may be NULL) as file_read_at_ident fills it. */
static int
load_at(int dirfd, const char *path, struct state *st, struct file_ident *fi)
{
	char *text = NULL;
	json_t *root = NULL;
	json_int_t not_after = 0;
	json_int_t last_attempt = 0;
	json_int_t last_success = 0;
	json_int_t attempts = 0;
	json_int_t next_try = 0;
	const char *last_error = NULL;
	const char *order_url = NULL;
	const char *ca = NULL;
	const char *ca_fallback = NULL;
	const char *deploy_error = NULL;
	const char *ari_id = NULL;
	json_int_t ari_when = 0;
	json_int_t ari_next = 0;
	int deploy_pending = 0;
	json_int_t deploy_attempts = 0;
	json_int_t deploy_next_try = 0;
	json_int_t version = -1;
	json_int_t fleet_version = 0;
	int fleet_owed = 0;
	json_int_t persist_until = 0;
	size_t len = 0;
	int rc = -1;

	state_init(st);
	text = file_read_at_ident(dirfd, path, STATE_MAX, &len, fi);
	if (text == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL ||
	    json_unpack(root,
	                "{s?I, s?I, s?I, s?I, s?I, s?s, s?s, s?s, s?b, s?I, s?I, s?s, s?s, s?I, "
	                "s?I, s?I, s?I, s?b, s?s, s?I}",
	                "not_after", &not_after, "last_attempt", &last_attempt, "last_success",
	                &last_success, "attempts", &attempts, "next_try", &next_try, "last_error",
	                &last_error, "order_url", &order_url, "ca", &ca, "deploy_pending",
	                &deploy_pending, "deploy_attempts", &deploy_attempts, "deploy_next_try",
	                &deploy_next_try, "deploy_error", &deploy_error, "ari_id", &ari_id,
	                "ari_when", &ari_when, "ari_next", &ari_next, "version", &version,
	                "fleet_version", &fleet_version, "fleet_owed", &fleet_owed, "ca_fallback",
	                &ca_fallback, "persist_until", &persist_until) != 0 ||
	    fleet_version < 0 || attempts < 0 || attempts > 1000000 || deploy_attempts < 0 ||
	    deploy_attempts > 1000000 || version < -1 || version > 1000000000) {
		goto out;
	}
	st->not_after = (time_t)not_after;
	st->last_attempt = (time_t)last_attempt;
	st->last_success = (time_t)last_success;
	st->attempts = (long)attempts;
	st->next_try = (time_t)next_try;
	st->deploy_pending = deploy_pending != 0;
	st->deploy_attempts = (long)deploy_attempts;
	st->deploy_next_try = (time_t)deploy_next_try;
	st->ari_when = (time_t)ari_when;
	st->ari_next = (time_t)ari_next;
	st->version = (long)version;
	st->fleet_version = (long)fleet_version;
	st->fleet_owed = fleet_owed != 0;
	st->persist_until = (time_t)persist_until;
	if (dup_field(&st->last_error, last_error) < 0 ||
	    dup_field(&st->order_url, order_url) < 0 || dup_field(&st->ca, ca) < 0 ||
	    dup_field(&st->ca_fallback, ca_fallback) < 0 ||
	    dup_field(&st->deploy_error, deploy_error) < 0 || dup_field(&st->ari_id, ari_id) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		state_finish(st);
	}
	json_decref(root);
	free(text);
	return rc;
}

int
state_load(const char *dir, struct state *st)
{
	char *path = file_path(dir, "state.json", NULL);
	int rc = -1;

	if (path != NULL) {
		rc = load_at(AT_FDCWD, path, st, NULL);
	} else {
		state_init(st);
	}
	free(path);
	return rc;
}

int
state_load_at(int dirfd, struct state *st)
{
	return load_at(dirfd, "state.json", st, NULL);
}

int
state_load_at_ident(int dirfd, struct state *st, uint64_t *id)
{
	struct file_ident fi;
	int rc = load_at(dirfd, "state.json", st, &fi);

	*id = file_identity_fold(&fi, 0);
	return rc;
}

uint64_t
state_identity(const char *dir)
{
	char *path = file_path(dir, "state.json", NULL);
	uint64_t id = path != NULL ? file_identity(path, 0) : 0;

	free(path);
	return id;
}

/* state.json's text for st (free()), or NULL (out of memory, logged). */
static char *
state_text(const char *dir, const char *name, const struct state *st)
{
	json_t *root;
	char *text = NULL;

	root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s*, s:s*, s:s*, s:b, s:I, s:I, s:s*, "
	                 "s:s*, s:I, s:I, s:I, s:I, s:b, s:s*, s:I}",
	                 "name", name, "not_after", (json_int_t)st->not_after, "last_attempt",
	                 (json_int_t)st->last_attempt, "last_success", (json_int_t)st->last_success,
	                 "attempts", (json_int_t)st->attempts, "next_try", (json_int_t)st->next_try,
	                 "last_error", st->last_error, "order_url", st->order_url, "ca", st->ca,
	                 "deploy_pending", st->deploy_pending, "deploy_attempts",
	                 (json_int_t)st->deploy_attempts, "deploy_next_try",
	                 (json_int_t)st->deploy_next_try, "deploy_error", st->deploy_error,
	                 "ari_id", st->ari_id, "ari_when", (json_int_t)st->ari_when, "ari_next",
	                 (json_int_t)st->ari_next, "version", (json_int_t)st->version,
	                 "fleet_version", (json_int_t)st->fleet_version, "fleet_owed",
	                 st->fleet_owed, "ca_fallback", st->ca_fallback, "persist_until",
	                 (json_int_t)st->persist_until);
	if (root != NULL) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	}
	json_decref(root);
	if (text == NULL) {
		log_error("%s: out of memory", dir);
	}
	return text;
}

/* Writes st as dir/state.json: replacing it (file_write_atomic), or, with
 * tmp, only written beside it (file_write_temp). */
static int
save(const char *dir, const char *name, const struct state *st, char *tmp, size_t tmplen)
{
	char *path = file_path(dir, "state.json", NULL);
	char *text = NULL;
	int rc = -1;

	if (path == NULL) {
		log_error("%s: path too long", dir);
		goto out;
	}
	text = state_text(dir, name, st);
	if (text == NULL || file_mkdirs(dir, 0755) < 0) {
		goto out;
	}
	if (tmp != NULL ? file_write_temp(path, text, strlen(text), 0644, tmp, tmplen)
	                : file_write_atomic(path, text, strlen(text), 0644)) {
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(path);
	return rc;
}

int
state_save(const char *dir, const char *name, const struct state *st)
{
	return save(dir, name, st, NULL, 0);
}

int
state_save_temp(const char *dir, const char *name, const struct state *st, char *tmp, size_t tmplen)
{
	return save(dir, name, st, tmp, tmplen);
}

/* The temp names of state.json's writes: ".state.json." and six
 * characters (base/file.c). */
#define TEMP_PREFIX ".state.json."
#define TEMP_LEN (sizeof(TEMP_PREFIX) - 1 + 6)

static bool
newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* Puts dirfd's temp name in state.json's place, made durable first. */
static int
adopt(int dirfd, const char *dir, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = -1;

	if (fd >= 0 && fsync(fd) == 0 && renameat(dirfd, name, dirfd, "state.json") == 0 &&
	    fsync(dirfd) == 0) {
		rc = 0;
	} else {
		log_error("%s/%s: cannot take it as state.json: %s", dir, name, strerror(errno));
	}
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

int
state_recover(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st_json, st_temp;
	struct timespec best_at = {0, 0};
	char best[TEMP_LEN + 1] = "";
	struct state probe;
	int rc = 0;

	if (d == NULL) {
		return errno == ENOENT ? 0 : -1;
	}
	if (fstatat(dirfd(d), "state.json", &st_json, AT_SYMLINK_NOFOLLOW) < 0) {
		memset(&st_json, 0, sizeof(st_json));
	}
	/* The newest whole record no older than state.json: the last one
	 * written, which a kill kept from its rename. */
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != TEMP_LEN ||
		    strncmp(de->d_name, TEMP_PREFIX, sizeof(TEMP_PREFIX) - 1) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st_temp, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st_temp.st_mode) || !newer(&st_temp.st_mtim, &st_json.st_mtim) ||
		    (best[0] != '\0' && !newer(&st_temp.st_mtim, &best_at))) {
			continue;
		}
		if (load_at(dirfd(d), de->d_name, &probe, NULL) == 0) {
			memcpy(best, de->d_name, TEMP_LEN + 1);
			best_at = st_temp.st_mtim;
		}
		state_finish(&probe);
	}
	if (best[0] != '\0' && adopt(dirfd(d), dir, best) == 0) {
		log_info("%s: state.json: the record a killed run wrote beside it is taken", dir);
		rc = 1;
	}
	/* Every other is older than what state.json holds now, or half. */
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == TEMP_LEN &&
		    strncmp(de->d_name, TEMP_PREFIX, sizeof(TEMP_PREFIX) - 1) == 0 &&
		    strcmp(de->d_name, best) != 0) {
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
	return rc;
}

void
state_finish(struct state *st)
{
	free(st->last_error);
	free(st->order_url);
	free(st->ca);
	free(st->ca_fallback);
	free(st->deploy_error);
	free(st->ari_id);
	state_init(st);
}

int
state_set(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL) {
		copy = strdup(value);
		if (copy == NULL) {
			return -1;
		}
	}
	free(*field);
	*field = copy;
	return 0;
}

char *
state_shared_to_json(const struct state *st)
{
	json_t *root = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s*, s:s*, s:s*, s:I, s:I}",
	                         "not_after", (json_int_t)st->not_after, "last_attempt",
	                         (json_int_t)st->last_attempt, "last_success",
	                         (json_int_t)st->last_success, "attempts", (json_int_t)st->attempts,
	                         "next_try", (json_int_t)st->next_try, "last_error", st->last_error,
	                         "ca", st->ca, "ari_id", st->ari_id, "ari_when",
	                         (json_int_t)st->ari_when, "ari_next", (json_int_t)st->ari_next);
	char *text = root != NULL ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(root);
	return text;
}

int
state_shared_merge(struct state *st, const char *text, bool force)
{
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	json_int_t not_after = 0, last_attempt = 0, last_success = 0, attempts = 0;
	json_int_t next_try = 0, ari_when = 0, ari_next = 0;
	const char *last_error = NULL, *ca = NULL, *ari_id = NULL;
	char *e = NULL, *c = NULL, *a = NULL;
	int rc = -1;

	if (root == NULL ||
	    json_unpack(root, "{s?I, s?I, s?I, s?I, s?I, s?s, s?s, s?s, s?I, s?I}", "not_after",
	                &not_after, "last_attempt", &last_attempt, "last_success", &last_success,
	                "attempts", &attempts, "next_try", &next_try, "last_error", &last_error,
	                "ca", &ca, "ari_id", &ari_id, "ari_when", &ari_when, "ari_next",
	                &ari_next) != 0 ||
	    attempts < 0 || attempts > 1000000) {
		goto out;
	}
	if (!force && (time_t)last_attempt <= st->last_attempt) {
		rc = 0;
		goto out;
	}
	if (dup_field(&e, last_error) < 0 || dup_field(&c, ca) < 0 || dup_field(&a, ari_id) < 0) {
		goto out;
	}
	st->not_after = (time_t)not_after;
	st->last_attempt = (time_t)last_attempt;
	st->last_success = (time_t)last_success;
	st->attempts = (long)attempts;
	st->next_try = (time_t)next_try;
	st->ari_when = (time_t)ari_when;
	st->ari_next = (time_t)ari_next;
	free(st->last_error);
	free(st->ca);
	free(st->ari_id);
	st->last_error = e;
	st->ca = c;
	st->ari_id = a;
	e = c = a = NULL;
	rc = 1;
out:
	free(e);
	free(c);
	free(a);
	json_decref(root);
	return rc;
}
