/* A new set installed: written into a new v/<n> (store_cert_write.c),
 * made durable, then switched to by the current link, the old current
 * kept as previous and older sets removed. In one call
 * (store_cert_install: each file fsynced) or in two around the caller's
 * group sync (store_cert_stage, store_sync.h, store_cert_switch). */
#include "store/store_cert_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/log.h"

void
store_cert_staged_finish(struct store_cert_staged *staged)
{
	if (staged->vdir != NULL) {
		store_cert_remove_version(staged->vdir);
	}
	for (size_t i = 0; i < staged->n_paths; i++) {
		free(staged->paths[i]);
	}
	free(staged->vdir);
	free(staged->dir);
	memset(staged, 0, sizeof(*staged));
}

int
store_cert_stage(const char *state_dir, const char *name, const struct store_cert_set *set,
                 struct store_cert_staged *staged)
{
	char vroot[PATH_MAX];
	char vdir[PATH_MAX];
	long next;

	memset(staged, 0, sizeof(*staged));
	staged->combined = set->combined != NULL;
	staged->pkcs12 = set->pkcs12 != NULL;
	staged->dir = store_cert_dir(state_dir, name);
	if (staged->dir == NULL) {
		log_error("%s: not a usable certificate name", name);
		goto fail;
	}
	if (file_mkdirs(staged->dir, 0755) < 0) {
		goto fail;
	}
	if (snprintf(vroot, sizeof(vroot), "%s/v", staged->dir) >= (int)sizeof(vroot) ||
	    file_mkdirs(vroot, 0755) < 0) {
		goto fail;
	}
	staged->current = store_cert_link_version(staged->dir, "current");
	next = store_cert_scan_versions(staged->dir, 0, -1, -1, 0);
	if (next < 0 || next >= STORE_CERT_MAX_VERSION) {
		goto fail;
	}
	/* A leftover folder from a crash is skipped, never reused. */
	for (next++; next < STORE_CERT_MAX_VERSION; next++) {
		if (snprintf(vdir, sizeof(vdir), "%s/v/%ld", staged->dir, next) >=
		    (int)sizeof(vdir)) {
			goto fail;
		}
		if (mkdir(vdir, 0755) == 0) {
			break;
		}
		if (errno != EEXIST) {
			log_error("%s: mkdir: %s", vdir, strerror(errno));
			goto fail;
		}
	}
	if (next >= STORE_CERT_MAX_VERSION) {
		goto fail;
	}
	staged->next = next;
	staged->vdir = strdup(vdir);
	if (staged->vdir == NULL) {
		log_error("out of memory");
		store_cert_remove_version(vdir);
		goto fail;
	}
	if (store_cert_write_set(staged->dir, vroot, vdir, set, staged) < 0) {
		goto fail;
	}
	return 0;
fail:
	store_cert_staged_finish(staged);
	return -1;
}

int
store_cert_staged_sync(const struct store_cert_staged *staged)
{
	for (size_t i = 0; i < staged->n_paths; i++) {
		if (file_sync_path(staged->paths[i]) < 0) {
			log_error("%s: fsync: %s", staged->paths[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
store_cert_switch(struct store_cert_staged *staged)
{
	const char *dir = staged->dir;
	char target[64];

	if (staged->current >= 0) {
		snprintf(target, sizeof(target), "v/%ld", staged->current);
		if (file_symlink_atomic(dir, "previous", target) < 0) {
			goto fail;
		}
	}
	snprintf(target, sizeof(target), "v/%ld", staged->next);
	/* The switch: from here on the new set is the installed one. */
	if (file_symlink_atomic(dir, "current", target) < 0) {
		goto fail;
	}
	free(staged->vdir);
	staged->vdir = NULL;
	/* On a first install, the four names appear after the switch, never
	 * dangling; on a renewal they are there already and change with it. */
	if (store_cert_ensure_links(dir, staged->combined, staged->pkcs12) < 0) {
		goto fail;
	}
	return 0;
fail:
	store_cert_staged_finish(staged);
	return -1;
}

void
store_cert_settle(struct store_cert_staged *staged)
{
	store_cert_remove_leftovers(staged->dir);
	/* What previous pointed at before is dropped now, and with it any set
	 * a crash left half-written. */
	store_cert_scan_versions(staged->dir, staged->next, staged->next, staged->current, 1);
	store_cert_staged_finish(staged);
}

int
store_cert_install(const char *state_dir, const char *name, const struct store_cert_set *set)
{
	struct store_cert_staged staged;

	if (store_cert_stage(state_dir, name, set, &staged) < 0) {
		return -1;
	}
	if (store_cert_staged_sync(&staged) < 0) {
		store_cert_staged_finish(&staged);
		return -1;
	}
	if (store_cert_switch(&staged) < 0) {
		return -1;
	}
	if (file_sync_dir(staged.dir) < 0) {
		log_error("%s: fsync: %s", staged.dir, strerror(errno));
		store_cert_staged_finish(&staged);
		return -1;
	}
	store_cert_settle(&staged);
	return 0;
}
