/* A certificate's folder removed whole (store_cert_remove, what
 * `acmed delete` uses): the links, every set, pending.key, state.json and
 * the lock file, cert.pem first so that a reader finds nothing installed
 * rather than half. */
#include "store/store_cert_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"

/* Removes dir/name when it is there. 0, or -1 with why. */
static int
remove_entry(const char *dir, const char *name, char *why, size_t len)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		snprintf(why, len, "%s/%s: name too long", dir, name);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
store_cert_remove(const char *state_dir, const char *name, char *why, size_t len)
{
	/* cert.pem first: a reader finds nothing installed, never half. */
	static const char *const names[] = {
	        "cert.pem", "fullchain.pem", "chain.pem", "privkey.pem", "combined.pem",
	        "cert.p12", "current",       "previous",  "pending.key", "state.json",
	};
	char *dir = store_cert_dir(state_dir, name);
	char *lock = store_cert_path(state_dir, name, STORE_CERT_LOCK);
	char vroot[PATH_MAX];
	int rc = -1;

	if (dir == NULL || lock == NULL) {
		snprintf(why, len, "'%s' is not a certificate name", name);
		goto out;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (remove_entry(dir, names[i], why, len) < 0) {
			goto out;
		}
	}
	store_cert_remove_leftovers(dir);
	/* Every set: nothing is current or previous any more. */
	store_cert_scan_versions(dir, STORE_CERT_MAX_VERSION, -1, -1, 1);
	snprintf(vroot, sizeof(vroot), "%s/v", dir);
	if ((rmdir(vroot) < 0 && errno != ENOENT) || (rmdir(dir) < 0 && errno != ENOENT)) {
		snprintf(why, len, "%s: %s (files acmed did not make are left)", dir,
		         strerror(errno));
		goto out;
	}
	/* Durable: a crash does not bring the folder back half. */
	*strrchr(dir, '/') = '\0';
	file_sync_dir(dir);
	unlink(lock);
	rc = 0;
out:
	free(lock);
	free(dir);
	return rc;
}
