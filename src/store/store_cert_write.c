/* A new set's files written into its folder v/<n> before the switch makes
 * it current: the key (written, or pending.key linked in), cert.pem,
 * chain.pem, fullchain.pem, and the output bundles combined.pem and
 * cert.p12 when asked for, each with the owner, group and mode its
 * key-owner/cert-owner settings ask (store_cert_access), the folders
 * opened so that owner can reach them, nothing fsynced yet.
 * store_cert_stage (store_cert_install.c) calls it. */
#include "store/store_cert_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"

/* A folder the owner or group of a file in it must pass through: 0755 at
 * least, whatever the umask made it. 0 or -1 (logged). */
static int
open_up(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 ||
	    ((st.st_mode & 0755) != 0755 && chmod(path, (st.st_mode & 07777) | 0755) < 0)) {
		log_error("%s: chmod 0755: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether a names an owner or a group. */
static bool
has_owner(const struct store_cert_access *a)
{
	return a != NULL && (a->uid >= 0 || a->gid >= 0);
}

static uid_t
access_uid(const struct store_cert_access *a)
{
	return a != NULL && a->uid >= 0 ? (uid_t)a->uid : (uid_t)-1;
}

static gid_t
access_gid(const struct store_cert_access *a)
{
	return a != NULL && a->gid >= 0 ? (gid_t)a->gid : (gid_t)-1;
}

static mode_t
access_mode(const struct store_cert_access *a, mode_t def)
{
	return a != NULL ? (mode_t)a->mode : def;
}

/* Adds path to what staged must sync. */
static int
note_path(struct store_cert_staged *staged, const char *path)
{
	if (staged->n_paths == STORE_CERT_STAGED_PATHS ||
	    (staged->paths[staged->n_paths] = strdup(path)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	staged->n_paths++;
	return 0;
}

/* Writes vdir/<file> with a's owner, group and mode (def without a), not
 * fsynced: noted in staged for the caller to sync. */
static int
put_file(const char *vdir, enum store_cert_file file, const void *data, size_t len,
         const struct store_cert_access *a, mode_t def, struct store_cert_staged *staged)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", vdir, store_cert_file_name(file)) >=
	    (int)sizeof(path)) {
		log_error("%s: path too long", vdir);
		return -1;
	}
	if (file_write_new_as(path, data, len, access_mode(a, def), access_uid(a), access_gid(a),
	                      FILE_NO_SYNC) < 0) {
		if (errno == EPERM && has_owner(a)) {
			log_error(
			        "%s: owner %ld, group %ld: only root gives files away, or a member "
			        "of the group its own (key-owner, key-group, cert-owner, "
			        "cert-group)",
			        path, a->uid, a->gid);
		}
		return -1;
	}
	return note_path(staged, path);
}

/* Gives the key linked in at path a's owner, group and mode, durably. */
static int
own_linked(const char *path, const struct store_cert_access *a)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = -1;

	if (fd < 0 || (has_owner(a) && fchown(fd, access_uid(a), access_gid(a)) < 0) ||
	    fchmod(fd, (mode_t)a->mode) < 0 || fsync(fd) < 0) {
		log_error("%s: owner %ld, group %ld, mode %04o: %s%s", path, a->uid, a->gid,
		          a->mode, strerror(errno),
		          errno == EPERM ? " (only root gives files away, or a member of the "
		                           "group its own: key-owner, key-group)"
		                         : "");
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

/* The set's key: written, or (set->key_pem NULL) pending.key of dir linked
 * in: the same file under a second name, nothing encoded or written again,
 * and pending.key stays until the order is forgotten, so that a crash or a
 * failure before the switch still finds it to resume with. The owner and
 * mode asked for are the linked file's too: pending.key is the key it
 * becomes. */
static int
put_key(const char *dir, const char *vdir, const struct store_cert_set *set,
        struct store_cert_staged *staged)
{
	char pending[PATH_MAX];
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", vdir, store_cert_file_name(STORE_CERT_PRIVKEY)) >=
	            (int)sizeof(path) ||
	    snprintf(pending, sizeof(pending), "%s/%s", dir,
	             store_cert_file_name(STORE_CERT_PENDING_KEY)) >= (int)sizeof(pending)) {
		log_error("%s: path too long", vdir);
		return -1;
	}
	if (set->key_pem != NULL) {
		return put_file(vdir, STORE_CERT_PRIVKEY, set->key_pem, set->key_len,
		                set->key_access, 0600, staged);
	}
	if (link(pending, path) < 0) {
		log_error("%s: cannot link it as %s: %s", pending, path, strerror(errno));
		return -1;
	}
	if (set->key_access != NULL && own_linked(path, set->key_access) < 0) {
		return -1;
	}
	/* Synced with the set: pending.key's own sync (the order's journal)
	 * may not have ended. */
	return note_path(staged, path);
}

/* vdir was just created and nothing points at it yet: its files are
 * written in place, not fsynced, their paths and the folder's noted for
 * the caller to sync before the switch makes them visible. */
static int
write_set(const char *dir, const char *vdir, const struct store_cert_set *set,
          struct store_cert_staged *staged)
{
	char *full = NULL;
	size_t full_len = set->cert_len + set->chain_len;
	const struct {
		enum store_cert_file file;
		const void *data;
		size_t len;
		bool key; /* holds the key */
	} files[] = {
	        {STORE_CERT_CERT, set->cert_pem, set->cert_len, false},
	        {STORE_CERT_CHAIN, set->chain_pem, set->chain_len, false},
	        {STORE_CERT_FULLCHAIN, NULL, full_len, false},
	        {STORE_CERT_COMBINED, set->combined, set->combined_len, true},
	        {STORE_CERT_PKCS12, set->pkcs12, set->pkcs12_len, true},
	};
	int rc = -1;

	if (put_key(dir, vdir, set, staged) < 0) {
		goto out;
	}
	full = malloc(full_len + 1);
	if (full == NULL) {
		log_error("out of memory");
		goto out;
	}
	memcpy(full, set->cert_pem, set->cert_len);
	memcpy(full + set->cert_len, set->chain_pem, set->chain_len);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const void *data = files[i].file == STORE_CERT_FULLCHAIN ? full : files[i].data;

		if (data == NULL) {
			continue;
		}
		if (put_file(vdir, files[i].file, data, files[i].len,
		             files[i].key ? set->key_access : set->cert_access,
		             files[i].key ? 0600 : 0644, staged) < 0) {
			goto out;
		}
	}
	if (note_path(staged, vdir) < 0) {
		goto out;
	}
	rc = 0;
out:
	free(full);
	return rc;
}

int
store_cert_write_set(const char *dir, const char *vroot, const char *vdir,
                     const struct store_cert_set *set, struct store_cert_staged *staged)
{
	if ((has_owner(set->key_access) || has_owner(set->cert_access)) &&
	    (open_up(dir) < 0 || open_up(vroot) < 0 || open_up(vdir) < 0)) {
		return -1;
	}
	return write_set(dir, vdir, set, staged);
}
