/* A certificate's folder under the state folder (store_cert.h): names and
 * paths, the lock, the sets' versions and the switch that installs one,
 * what is installed (inspect, identity), the pending key. The files of a
 * new set are written by store_cert_write.c, a folder removed whole by
 * store_cert_remove.c; store_cert_internal.h is what they share. */
#include "store/store_cert_internal.h"

#include <dirent.h>
#include <openssl/err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/cert_brief.h"
#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "base/log.h"
#include "base/file.h"

/* Indexed by enum store_cert_file; the first N_FILES are the installed set. */
static const char *const file_names[STORE_CERT_FILE__MAX] = {
        [STORE_CERT_PRIVKEY] = "privkey.pem",     [STORE_CERT_CERT] = "cert.pem",
        [STORE_CERT_CHAIN] = "chain.pem",         [STORE_CERT_FULLCHAIN] = "fullchain.pem",
        [STORE_CERT_PENDING_KEY] = "pending.key", [STORE_CERT_LOCK] = "lock",
        [STORE_CERT_COMBINED] = "combined.pem",   [STORE_CERT_PKCS12] = "cert.p12",
};

/* The four every set has. */
#define N_FILES (STORE_CERT_FULLCHAIN + 1)

/* Every file a set's folder may hold. */
static const enum store_cert_file set_files[] = {
        STORE_CERT_PRIVKEY,   STORE_CERT_CERT,     STORE_CERT_CHAIN,
        STORE_CERT_FULLCHAIN, STORE_CERT_COMBINED, STORE_CERT_PKCS12,
};

#define N_SET_FILES (sizeof(set_files) / sizeof(set_files[0]))

const char *
store_cert_file_name(enum store_cert_file file)
{
	return file_names[file];
}

/* The largest PEM file read back from an installed set. */
#define PEM_MAX (1 << 20)

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
	return file_path(state_dir, "certs", name, NULL);
}

/* The version the symlink name (current, previous) in the folder open as
 * dirfd points at, or -1. */
static long
link_version_at(int dirfd, const char *name)
{
	char target[64];
	ssize_t n;
	char *end;
	long v;

	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
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

long
store_cert_link_version(const char *dir, const char *name)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long v = fd >= 0 ? link_version_at(fd, name) : -1;

	if (fd >= 0) {
		close(fd);
	}
	return v;
}

void
store_cert_remove_version(const char *vdir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_SET_FILES; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", vdir, file_names[set_files[i]]) <
		    (int)sizeof(path)) {
			unlink(path);
		}
	}
	rmdir(vdir);
}

/* Removes every v/<n> below newest but keep1 and keep2 (prune); returns the
 * highest number seen. A number above newest is never removed: it can only
 * be another writer's set in progress. */
long
store_cert_scan_versions(const char *dir, long newest, long keep1, long keep2, int prune)
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
		if (prune && v < newest && v != keep1 && v != keep2 &&
		    snprintf(vdir, sizeof(vdir), "%s/%ld", vroot, v) < (int)sizeof(vdir)) {
			store_cert_remove_version(vdir);
		}
	}
	closedir(d);
	return max;
}

/* Removes what a process killed while writing left in dir: ".NAME.XXXXXX"
 * temp files and links of the names written here. The caller holds the
 * certificate's lock, so none of them is another writer's. */
void
store_cert_remove_leftovers(const char *dir)
{
	static const char *const names[] = {
	        "current",       "previous",    "privkey.pem", "cert.pem",     "chain.pem",
	        "fullchain.pem", "pending.key", "state.json",  "combined.pem", "cert.p12",
	};
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		for (size_t i = 0; de->d_name[0] == '.' && i < sizeof(names) / sizeof(names[0]);
		     i++) {
			size_t n = strlen(names[i]);

			/* "." NAME "." and six characters of store.c's temp names */
			if (strncmp(de->d_name + 1, names[i], n) == 0 && de->d_name[n + 1] == '.' &&
			    strlen(de->d_name + n + 2) == 6 &&
			    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
			            (int)sizeof(path)) {
				unlink(path);
				break;
			}
		}
	}
	closedir(d);
}

/* Makes the top-level names point into current/, once: cert.pem last, so
 * that a reader who finds cert.pem finds the others (a kill between two
 * of them on a first install leaves no cert.pem, and the next run repairs
 * the set). combined.pem and cert.p12 are linked when the set has them,
 * and their links go (after the switch) when it has not. */
int
store_cert_ensure_links(const char *dir, bool combined, bool pkcs12)
{
	static const enum store_cert_file order[] = {
	        STORE_CERT_PRIVKEY,  STORE_CERT_CHAIN,  STORE_CERT_FULLCHAIN,
	        STORE_CERT_COMBINED, STORE_CERT_PKCS12, STORE_CERT_CERT,
	};
	char path[PATH_MAX];
	char target[PATH_MAX];
	char have[PATH_MAX];
	struct stat st;

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		size_t i = order[k];
		bool wanted = (i != STORE_CERT_COMBINED || combined) &&
		              (i != STORE_CERT_PKCS12 || pkcs12);
		ssize_t n;

		if (snprintf(path, sizeof(path), "%s/%s", dir, file_names[i]) >=
		            (int)sizeof(path) ||
		    snprintf(target, sizeof(target), "current/%s", file_names[i]) >=
		            (int)sizeof(target)) {
			return -1;
		}
		if (!wanted) {
			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && unlink(path) < 0) {
				log_error("%s: unlink: %s", path, strerror(errno));
				return -1;
			}
			continue;
		}
		n = readlink(path, have, sizeof(have) - 1);
		if (n >= 0) {
			have[n] = '\0';
			if (strcmp(have, target) == 0) {
				continue;
			}
		}
		if (file_symlink_atomic(dir, file_names[i], target) < 0) {
			return -1;
		}
	}
	return 0;
}

char *
store_cert_path(const char *state_dir, const char *name, enum store_cert_file file)
{
	char lock[80];

	if (file >= STORE_CERT_FILE__MAX || !store_cert_name_ok(name)) {
		return NULL;
	}
	/* Locks live apart: taking one changes nothing under certs/, which
	 * holds only what was issued. */
	if (file == STORE_CERT_LOCK) {
		snprintf(lock, sizeof(lock), "cert.%s", name);
		return file_path(state_dir, "locks", lock, NULL);
	}
	return file_path(state_dir, "certs", name, file_names[file], NULL);
}

struct store_lock *
store_cert_lock(const char *state_dir, const char *name, char *holder)
{
	char *dir = file_path(state_dir, "locks", NULL);
	char *path = store_cert_path(state_dir, name, STORE_CERT_LOCK);
	struct store_lock *lock = NULL;
	int err = ENAMETOOLONG;

	if (dir == NULL || path == NULL) {
		goto out;
	}
	if (file_mkdirs(dir, 0755) < 0) {
		err = errno;
		goto out;
	}
	lock = store_lock_try(path, holder);
	err = errno;
out:
	free(path);
	free(dir);
	if (lock == NULL) {
		errno = err;
	}
	return lock;
}

long
store_cert_version(const char *state_dir, const char *name)
{
	char *dir = store_cert_dir(state_dir, name);
	long v = dir != NULL ? store_cert_link_version(dir, "current") : -1;

	free(dir);
	return v;
}

double
store_cert_installed_at(const char *state_dir, const char *name)
{
	char *dir = store_cert_dir(state_dir, name);
	char path[PATH_MAX];
	struct stat st;
	double t = 0;

	if (dir != NULL && snprintf(path, sizeof(path), "%s/current", dir) < (int)sizeof(path) &&
	    lstat(path, &st) == 0) {
		t = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	}
	free(dir);
	return t;
}

/* What was read of a set's files, for its identity: each file's
 * file_ident, read[i] when file i was opened (or failed to be). */
struct set_idents {
	struct file_ident fi[N_FILES];
	bool read[N_FILES];
};

/* A file of the folder open as dirfd, through its link; ids (may be NULL)
 * gets what it was. */
static char *
read_set_file(int dirfd, enum store_cert_file file, size_t *len, struct set_idents *ids)
{
	struct file_ident fi;
	char *text = file_read_at_ident(dirfd, file_names[file], PEM_MAX, len, &fi);

	if (ids != NULL) {
		ids->fi[file] = fi;
		ids->read[file] = true;
	}
	return text;
}

/* Whether the four files of dir (cert.pem's text already read: cert) make
 * a whole set; what is wrong in problem. */
static void
check_set(int dirfd, const struct cert_brief *leaf, const char *cert, size_t cert_len,
          char *problem, size_t len, struct set_idents *ids)
{
	char *pem[N_FILES] = {NULL};
	size_t n[N_FILES] = {0};
	struct cert_chain chain;
	char err[200];
	int is;

	memset(&chain, 0, sizeof(chain));
	for (size_t i = 0; i < N_FILES; i++) {
		if (i == STORE_CERT_CERT) {
			continue;
		}
		pem[i] = read_set_file(dirfd, (enum store_cert_file)i, &n[i], ids);
		if (pem[i] == NULL) {
			snprintf(problem, len, "%s: %s", file_names[i],
			         errno == ENOENT ? "missing" : strerror(errno));
			goto out;
		}
	}
	is = cert_brief_key_is(leaf, pem[STORE_CERT_PRIVKEY], n[STORE_CERT_PRIVKEY]);
	if (is < 0) {
		snprintf(problem, len, "privkey.pem: not a private key");
		goto out;
	}
	if (is == 0) {
		snprintf(problem, len, "privkey.pem is not the key of cert.pem");
		goto out;
	}
	/* An empty chain is what a CA sending the leaf alone leaves. Every
	 * certificate of chain.pem is an issuer: parsed once for all sets. */
	if (n[STORE_CERT_CHAIN] > 0 &&
	    cert_issuers_parse(pem[STORE_CERT_CHAIN], n[STORE_CERT_CHAIN], &chain, err,
	                       sizeof(err)) < 0) {
		snprintf(problem, len, "chain.pem: %s", err);
		goto out;
	}
	if (chain.n > 0 && !cert_brief_issued_by(leaf, chain.certs[0])) {
		snprintf(problem, len, "chain.pem does not hold the issuer of cert.pem");
		goto out;
	}
	if (n[STORE_CERT_FULLCHAIN] != cert_len + n[STORE_CERT_CHAIN] ||
	    memcmp(pem[STORE_CERT_FULLCHAIN], cert, cert_len) != 0 ||
	    memcmp(pem[STORE_CERT_FULLCHAIN] + cert_len, pem[STORE_CERT_CHAIN],
	           n[STORE_CERT_CHAIN]) != 0) {
		snprintf(problem, len, "fullchain.pem is not cert.pem followed by chain.pem");
		goto out;
	}
out:
	cert_chain_finish(&chain);
	for (size_t i = 0; i < N_FILES; i++) {
		if (i == STORE_CERT_PRIVKEY && pem[i] != NULL) {
			key_pem_free(pem[i], n[i]);
		} else {
			free(pem[i]);
		}
	}
	ERR_clear_error();
}

/* The installed set of the folder open as dirfd (see store_cert_inspect;
 * info cleared and its version -1 already); ids (may be NULL) as
 * read_set_file fills it. */
static int
inspect_at(int dirfd, struct store_cert_info *info, struct set_idents *ids)
{
	struct cert_brief *leaf = NULL;
	char *pem = NULL;
	size_t len = 0;
	enum key_type kt;

	info->version = link_version_at(dirfd, "current");
	pem = read_set_file(dirfd, STORE_CERT_CERT, &len, ids);
	leaf = pem != NULL ? cert_brief_read(pem, len) : NULL;
	if (leaf == NULL) {
		if (pem != NULL || errno != ENOENT || info->version >= 0) {
			snprintf(info->problem, sizeof(info->problem), "cert.pem: %s",
			         pem != NULL ? "no PEM certificate" : strerror(errno));
		}
		goto out;
	}
	if (cert_brief_times(leaf, &info->not_before, &info->not_after) < 0 ||
	    cert_brief_ids(leaf, &info->ids, &info->n_ids) < 0) {
		snprintf(info->problem, sizeof(info->problem),
		         "cert.pem: unreadable validity or names");
		goto out;
	}
	info->present = true;
	info->ari_id = cert_brief_ari_id(leaf);
	info->issuer = cert_brief_issuer_name(leaf);
	if (cert_brief_key_type(leaf, &kt) == 0) {
		snprintf(info->key_type, sizeof(info->key_type), "%s", key_type_name(kt));
	}
	check_set(dirfd, leaf, pem, len, info->problem, sizeof(info->problem), ids);
out:
	cert_brief_free(leaf);
	free(pem);
	return 0;
}

int
store_cert_inspect_at(int dirfd, struct store_cert_info *info)
{
	memset(info, 0, sizeof(*info));
	info->version = -1;
	return inspect_at(dirfd, info, NULL);
}

int
store_cert_inspect_ident_at(int dirfd, struct store_cert_info *info, uint64_t *id, uint64_t *folder)
{
	struct set_idents ids;
	uint64_t h = file_identity_fd(dirfd, 0);

	memset(&ids, 0, sizeof(ids));
	memset(info, 0, sizeof(*info));
	info->version = -1;
	if (folder != NULL) {
		*folder = h;
	}
	inspect_at(dirfd, info, &ids);
	*id = 0;
	if (ids.fi[STORE_CERT_CERT].err == ENOENT && !ids.read[STORE_CERT_PRIVKEY]) {
		/* Nothing read: a folder with nothing installed yet (a first
		 * order, a failed one) when current is not a folder now, which
		 * is what identities_at counts then. Else a link is missing:
		 * unknown. */
		int fd = openat(dirfd, "current", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			*id = file_identity_at(dirfd, "current", h);
		} else {
			close(fd);
		}
		return 0;
	}
	/* identities_at's number for the files as they were read: the
	 * folder's, then each file's through current/ (the links lead
	 * there). A file not read, or one that could not be opened (current/
	 * itself may be what is missing), leaves it unknown. */
	for (size_t i = 0; i < N_FILES; i++) {
		if (!ids.read[i] || ids.fi[i].err != 0) {
			return 0;
		}
		h = file_identity_fold(&ids.fi[i], h);
	}
	*id = h;
	return 0;
}

int
store_cert_inspect(const char *state_dir, const char *name, struct store_cert_info *info)
{
	char *dir = store_cert_dir(state_dir, name);
	int dirfd = -1;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	info->version = -1;
	if (dir == NULL) {
		goto out;
	}
	/* Each file through the folder's own links, looked up from the folder
	 * (one path walk for the five). */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		if (errno != ENOENT) {
			snprintf(info->problem, sizeof(info->problem), "cert.pem: %s",
			         strerror(errno));
		}
		rc = 0;
		goto out;
	}
	rc = inspect_at(dirfd, info, NULL);
out:
	if (dirfd >= 0) {
		close(dirfd);
	}
	free(dir);
	return rc;
}

uint64_t
store_cert_identity(const char *state_dir, const char *name, uint64_t *folder)
{
	return store_cert_identities(state_dir, name, folder, NULL);
}

/* The identities of the folder open as dirfd (see
 * store_cert_identities). */
static uint64_t
identities_at(int dirfd, uint64_t *folder, uint64_t *state)
{
	uint64_t id = file_identity_at(dirfd, ".", 0);
	int fd;

	if (folder != NULL) {
		*folder = id;
	}
	if (state != NULL) {
		*state = file_identity_at(dirfd, "state.json", 0);
	}
	/* The files themselves change in place without their folders: each
	 * one's, looked up once through current. */
	fd = openat(dirfd, "current", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return file_identity_at(dirfd, "current", id);
	}
	for (size_t i = 0; i < N_FILES; i++) {
		id = file_identity_at(fd, file_names[i], id);
	}
	close(fd);
	return id;
}

uint64_t
store_cert_identities_at(int dirfd, uint64_t *folder, uint64_t *state)
{
	return identities_at(dirfd, folder, state);
}

uint64_t
store_cert_identities(const char *state_dir, const char *name, uint64_t *folder, uint64_t *state)
{
	char *dir = store_cert_dir(state_dir, name);
	uint64_t id = 0;
	int dirfd = -1;

	if (folder != NULL) {
		*folder = 0;
	}
	if (state != NULL) {
		*state = 0;
	}
	if (dir == NULL) {
		goto out;
	}
	/* Everything from the folder's descriptor: one path walk. The
	 * folder's own times change with each of its entries: the four
	 * links, current, state.json. */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0) {
		id = identities_at(dirfd, folder, state);
		close(dirfd);
		goto out;
	}
	id = file_identity(dir, 0);
	if (folder != NULL) {
		*folder = id;
	}
	if (state != NULL) {
		*state = id;
	}
out:
	free(dir);
	return id;
}

uint64_t
store_cert_folder_identity(const char *state_dir, const char *name)
{
	char *dir = store_cert_dir(state_dir, name);
	uint64_t id = dir != NULL ? file_identity(dir, 0) : 0;

	free(dir);
	return id;
}

uint64_t
store_cert_folder_identity_at(int certs, const char *name)
{
	return store_cert_name_ok(name) ? file_identity_at(certs, name, 0) : 0;
}

int
store_cert_open_certs(const char *state_dir)
{
	char *dir = file_path(state_dir, "certs", NULL);
	int fd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	free(dir);
	return fd;
}

void
store_cert_info_finish(struct store_cert_info *info)
{
	ident_list_free(info->ids, info->n_ids);
	free(info->ari_id);
	free(info->issuer);
	memset(info, 0, sizeof(*info));
	info->version = -1;
}

int
store_cert_pending_save(const char *state_dir, const char *name, EVP_PKEY *key)
{
	return store_cert_pending_save_flags(state_dir, name, key, FILE_SYNC_LATER);
}

int
store_cert_pending_save_flags(const char *state_dir, const char *name, EVP_PKEY *key,
                              unsigned flags)
{
	char *dir = store_cert_dir(state_dir, name);
	char *path = store_cert_path(state_dir, name, STORE_CERT_PENDING_KEY);
	int rc = -1;

	if (dir != NULL && path != NULL && file_mkdirs(dir, 0755) == 0 &&
	    key_save_flags(key, path, flags) == 0) {
		rc = 0;
	}
	free(dir);
	free(path);
	return rc;
}

EVP_PKEY *
store_cert_pending_load(const char *state_dir, const char *name)
{
	char *path = store_cert_path(state_dir, name, STORE_CERT_PENDING_KEY);
	EVP_PKEY *key = NULL;

	if (path != NULL && access(path, F_OK) == 0) {
		key = key_load(path);
	}
	free(path);
	return key;
}

void
store_cert_pending_remove(const char *state_dir, const char *name)
{
	char *path = store_cert_path(state_dir, name, STORE_CERT_PENDING_KEY);

	if (path != NULL) {
		unlink(path);
	}
	free(path);
}

int
store_cert_key_load(const char *state_dir, const char *name, EVP_PKEY **key, char *path, size_t len)
{
	char *p = store_cert_path(state_dir, name, STORE_CERT_PRIVKEY);
	int rc = 0;

	*key = NULL;
	if (path != NULL) {
		snprintf(path, len, "%s", p != NULL ? p : name);
	}
	if (p == NULL || access(p, F_OK) != 0) {
		goto out;
	}
	*key = key_load(p);
	rc = *key != NULL ? 1 : -1;
out:
	free(p);
	return rc;
}

char *
store_cert_read_leaf(const char *state_dir, const char *name, size_t *len)
{
	char *path = store_cert_path(state_dir, name, STORE_CERT_CERT);
	char *leaf = path != NULL ? file_read(path, 1 << 20, len) : NULL;

	free(path);
	return leaf;
}
