#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* Attempts at a fresh temp name before giving up; a collision needs someone
 * guessing 36 random bits, so running out means something is wrong. */
#define TEMP_ATTEMPTS 64
#define TEMP_SUFFIX_LEN 6

static const char temp_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
random_fill(unsigned char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int ret = -1;

	while (done < len) {
		n = getrandom(buf + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			goto out;
		}
		done += (size_t)n;
	}
	ret = 0;
out:
	return ret;
}

/* Splits path into its folder ("." when there is none) and its last
 * component. Returns 0, or -1 with errno set. */
static int
split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash;
	size_t n;
	int ret = -1;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		n = 1;
		path = ".";
		*base = NULL;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		*base = slash + 1;
	}
	if (n >= dirlen) {
		errno = ENAMETOOLONG;
		goto out;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	ret = 0;
out:
	return ret;
}

int
file_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;
	int ret = -1;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			if (n == 0) {
				errno = ENOSPC;
			}
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	ret = 0;
out:
	return ret;
}

/* A random suffix of TEMP_SUFFIX_LEN characters and its NUL. */
static int
random_suffix(char *suffix)
{
	unsigned char rnd[TEMP_SUFFIX_LEN];

	if (random_fill(rnd, sizeof(rnd)) < 0) {
		return -1;
	}
	for (size_t i = 0; i < TEMP_SUFFIX_LEN; i++) {
		suffix[i] = temp_alphabet[rnd[i] % (sizeof(temp_alphabet) - 1)];
	}
	suffix[TEMP_SUFFIX_LEN] = '\0';
	return 0;
}

/* Creates "<dir>/.<base>.XXXXXX" exclusively, never through a symlink. Returns
 * the descriptor with the name in tmp, or -1 with errno set. */
static int
create_temp(const char *dir, const char *base, mode_t mode, char *tmp, size_t tmplen)
{
	char suffix[TEMP_SUFFIX_LEN + 1];
	int attempt;
	int fd = -1;
	int n;

	for (attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
		if (random_suffix(suffix) < 0) {
			goto out;
		}
		n = snprintf(tmp, tmplen, "%s/.%s.%s", dir, base, suffix);
		if (n < 0 || (size_t)n >= tmplen) {
			errno = ENAMETOOLONG;
			goto out;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST) {
			goto out;
		}
	}
	errno = EEXIST;
out:
	return fd;
}

int
file_dir_writable(const char *path, char *folder, size_t len)
{
	struct stat st;
	const char *base;

	if (split_path(path, folder, len, &base) < 0 || stat(folder, &st) < 0) {
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return access(folder, W_OK | X_OK);
}

/* Some file systems cannot sync a folder (EINVAL); there is nothing more to
 * do on those. */
static int
sync_open(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	int err;

	if (fd < 0) {
		return -1;
	}
	if (fsync(fd) < 0 && errno != EINVAL) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

int
file_sync_dir(const char *dir)
{
	return sync_open(dir, O_DIRECTORY);
}

int
file_sync_path(const char *path)
{
	return sync_open(path, O_NOFOLLOW);
}

/* Fills the file open on fd with len bytes of data, owned by uid and gid
 * ((uid_t)-1, (gid_t)-1: as created) and with mode whatever the umask (it
 * must not loosen or tighten what the caller asked for), durably (fsync;
 * not with FILE_NO_SYNC), and closes it. The owner is set before the mode (chown may clear bits)
 * and both before the data is in. Returns 0, or -1 with errno set; fd is
 * closed either way. */
static int
fill_and_close(int fd, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
               unsigned flags)
{
	int err;

	if (((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) ||
	    fchmod(fd, mode) < 0 || file_write_all(fd, data, len) < 0 ||
	    ((flags & FILE_NO_SYNC) == 0 && fsync(fd) < 0)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return file_write_atomic_as(path, data, len, mode, (uid_t)-1, (gid_t)-1);
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                        gid_t gid, unsigned flags);

int
file_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode, unsigned flags)
{
	return write_atomic(path, data, len, mode, (uid_t)-1, (gid_t)-1, flags);
}

int
file_write_atomic_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                     gid_t gid)
{
	return write_atomic(path, data, len, mode, uid, gid, 0);
}

/* The temp file beside path with data in it (synced unless FILE_NO_SYNC),
 * not renamed: its name in tmp (tmplen bytes, PATH_MAX will do), its folder
 * in dir. Returns 0, or -1 with errno set and nothing left. */
static int
write_temp(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
           unsigned flags, char *dir, size_t dirlen, char *tmp, size_t tmplen)
{
	const char *base;
	int fd;
	int err;

	if (split_path(path, dir, dirlen, &base) < 0) {
		return -1;
	}
	if (base == NULL) {
		base = path;
	}
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EISDIR;
		return -1;
	}
	fd = create_temp(dir, base, mode, tmp, tmplen);
	if (fd < 0) {
		return -1;
	}
	if (fill_and_close(fd, data, len, mode, uid, gid, flags & FILE_NO_SYNC) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

static int
write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
             unsigned flags)
{
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	int err;

	if (write_temp(path, data, len, mode, uid, gid, flags, dir, sizeof(dir), tmp, sizeof(tmp)) <
	    0) {
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		goto fail;
	}
	if ((flags & (FILE_SYNC_LATER | FILE_NO_SYNC)) == 0 && file_sync_dir(dir) < 0) {
		goto fail;
	}
	return 0;
fail:
	err = errno;
	log_error("%s: write: %s", path, strerror(err));
	errno = err;
	return -1;
}

int
file_write_temp(const char *path, const void *data, size_t len, mode_t mode, char *tmp,
                size_t tmplen)
{
	char dir[PATH_MAX];
	int err;

	if (write_temp(path, data, len, mode, (uid_t)-1, (gid_t)-1, FILE_NO_SYNC, dir, sizeof(dir),
	               tmp, tmplen) < 0) {
		err = errno;
		log_error("%s: write: %s", path, strerror(err));
		errno = err;
		return -1;
	}
	return 0;
}

int
file_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	return file_write_new_as(path, data, len, mode, (uid_t)-1, (gid_t)-1, 0);
}

int
file_write_new_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                  unsigned flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int err;

	if (fd >= 0 && fill_and_close(fd, data, len, mode, uid, gid, flags) == 0) {
		return 0;
	}
	err = errno;
	if (fd >= 0) {
		unlink(path);
	}
	log_error("%s: write: %s", path, strerror(err));
	errno = err;
	return -1;
}

int
file_symlink_atomic(const char *dir, const char *name, const char *target)
{
	char tmp[PATH_MAX];
	char dst[PATH_MAX];
	char suffix[TEMP_SUFFIX_LEN + 1];
	bool made = false;
	int n;
	int ret = -1;

	n = snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(dst)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	/* A name not there yet is made in one step (symlink is atomic). */
	if (symlink(target, dst) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EEXIST) {
		goto out;
	}
	for (int attempt = 0; attempt < TEMP_ATTEMPTS && !made; attempt++) {
		if (random_suffix(suffix) < 0) {
			goto out;
		}
		n = snprintf(tmp, sizeof(tmp), "%s/.%s.%s", dir, name, suffix);
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		if (symlink(target, tmp) == 0) {
			made = true;
		} else if (errno != EEXIST) {
			goto out;
		}
	}
	if (!made) {
		errno = EEXIST;
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		int err = errno;

		unlink(tmp);
		errno = err;
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		log_error("%s: symlink: %s", dst, strerror(errno));
	}
	return ret;
}

static int
mkdir_one(const char *path, mode_t mode)
{
	struct stat st;
	int ret = -1;

	if (mkdir(path, mode) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EEXIST) {
		goto out;
	}
	if (stat(path, &st) < 0) {
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto out;
	}
	ret = 0;
out:
	return ret;
}

int
file_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len;
	size_t i;
	int err;
	int ret = -1;

	len = strlen(path);
	if (len == 0) {
		errno = ENOENT;
		goto out;
	}
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	memcpy(buf, path, len + 1);
	/* Mostly the parents are there: one mkdir (or stat) does. */
	if (mkdir_one(buf, mode) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != ENOENT) {
		goto out;
	}
	/* Each '/' after a component ends a parent to create first. */
	for (i = 1; i < len; i++) {
		if (buf[i] != '/' || buf[i - 1] == '/') {
			continue;
		}
		buf[i] = '\0';
		err = mkdir_one(buf, mode);
		buf[i] = '/';
		if (err < 0) {
			goto out;
		}
	}
	if (mkdir_one(buf, mode) < 0) {
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		log_error("%s: mkdir: %s", path, strerror(errno));
	}
	return ret;
}

/* Opens path for reading when it is a regular file of at most max bytes:
 * the descriptor with its size in *size, or -1 with errno set. fi (may be
 * NULL) gets what file_identity_at would fold for what was opened: its
 * stat, or the error of the open. */
static int
open_regular(int dirfd, const char *path, size_t max, size_t *size, struct file_ident *fi)
{
	struct stat st;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0) {
		if (fi != NULL) {
			fi->err = errno;
		}
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
	} else if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
	} else if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		err = EFBIG;
	}
	if (fi != NULL) {
		fi->err = 0;
		fi->st = st;
	}
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	*size = (size_t)st.st_size;
	return fd;
}

/* At max bytes read: 0 when the file ends there, else -1 with errno set
 * (EFBIG when it goes on). */
static int
check_end(int fd)
{
	char extra;
	ssize_t n;

	do {
		n = read(fd, &extra, 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		errno = EFBIG;
	}
	return n == 0 ? 0 : -1;
}

/* Reads fd to its end into *buf (cap bytes, grown up to max + 1), the
 * length in *used: 0, or -1 with errno set. */
static int
read_all(int fd, char **buf, size_t cap, size_t max, size_t *used)
{
	char *grown;
	size_t want;
	ssize_t n;

	*used = 0;
	for (;;) {
		if (*used == max) {
			return check_end(fd);
		}
		if (*used + 1 == cap) {
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			grown = realloc(*buf, cap);
			if (grown == NULL) {
				errno = ENOMEM;
				return -1;
			}
			*buf = grown;
		}
		want = cap - 1 - *used;
		n = read(fd, *buf + *used, want);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n == 0 ? 0 : -1;
		}
		*used += (size_t)n;
		/* A regular file (open_regular) reads short only at its end:
		 * no read(2) more to be told so (five a certificate, 100,000
		 * certificates at a daemon's first start). */
		if ((size_t)n < want) {
			return 0;
		}
	}
}

char *
file_read(const char *path, size_t max, size_t *len)
{
	return file_read_at(AT_FDCWD, path, max, len);
}

char *
file_read_at(int dirfd, const char *path, size_t max, size_t *len)
{
	return file_read_at_ident(dirfd, path, max, len, NULL);
}

char *
file_read_at_ident(int dirfd, const char *path, size_t max, size_t *len, struct file_ident *fi)
{
	char *buf = NULL;
	char *ret = NULL;
	size_t cap = 0;
	size_t used = 0;
	int fd;
	int err = 0;

	if (max >= SIZE_MAX) {
		max = SIZE_MAX - 1;
	}
	fd = open_regular(dirfd, path, max, &cap, fi);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	/* The size is a hint: the file may change while it is read. Room
	 * for one byte more than it, so that reading it whole is one short
	 * read(2), and the NUL; never past max and the NUL (a file of max
	 * bytes: read whole, then one read(2) says whether it goes on). */
	cap = cap < max ? cap + 2 : max + 1;
	if (cap < 256 && max >= 256) {
		cap = 256;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		err = ENOMEM;
		goto out;
	}
	if (read_all(fd, &buf, cap, max, &used) < 0) {
		err = errno;
		goto out;
	}
	buf[used] = '\0';
	if (len != NULL) {
		*len = used;
	}
	ret = buf;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0) {
		close(fd);
	}
	if (ret == NULL) {
		errno = err;
	}
	return ret;
}

char *
file_temp_dir(const char *prefix)
{
	const char *base = getenv("TMPDIR");
	char *dir = NULL;
	char *ret = NULL;

	/* A relative TMPDIR would depend on the folder the command runs in. */
	if (base == NULL || base[0] != '/') {
		base = "/tmp";
	}
	dir = malloc(PATH_MAX);
	if (dir == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (snprintf(dir, PATH_MAX, "%s/%s.XXXXXX", base, prefix) >= PATH_MAX) {
		log_error("%s/%s: cannot make a temporary folder: name too long", base, prefix);
		goto out;
	}
	/* mkdtemp(3) makes it 0700. */
	if (mkdtemp(dir) == NULL) {
		log_error("%s: cannot make a temporary folder: %s", base, strerror(errno));
		goto out;
	}
	ret = dir;
	dir = NULL;
out:
	free(dir);
	return ret;
}

/* nftw(3) callback of file_remove_tree: each entry after what it holds. */
static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	int rc;

	(void)st;
	(void)ftw;
	rc = type == FTW_DP ? rmdir(path) : unlink(path);
	if (rc < 0 && errno != ENOENT) {
		log_error("%s: cannot remove: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
file_remove_tree(const char *path)
{
	struct stat st;
	int rc = 0;

	if (lstat(path, &st) < 0 && errno == ENOENT) {
		goto out;
	}
	/* FTW_PHYS: a link is removed, never walked into. */
	rc = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
out:
	return rc;
}

char *
file_path(const char *first, ...)
{
	char buf[PATH_MAX];
	const char *part;
	bool later = false;
	size_t used = 0;
	size_t n;
	va_list ap;
	char *ret = NULL;

	va_start(ap, first);
	for (part = first; part != NULL; part = va_arg(ap, const char *)) {
		if (later && (used == 0 || buf[used - 1] != '/')) {
			if (used + 1 >= sizeof(buf)) {
				errno = ENAMETOOLONG;
				goto out;
			}
			buf[used++] = '/';
		}
		n = strlen(part);
		if (n >= sizeof(buf) - used) {
			errno = ENAMETOOLONG;
			goto out;
		}
		memcpy(buf + used, part, n);
		used += n;
		later = true;
	}
	buf[used] = '\0';
	ret = strdup(buf);
out:
	va_end(ap);
	return ret;
}

/* FNV-1a over v's eight bytes. */
static uint64_t
mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
file_identity(const char *path, uint64_t seed)
{
	return file_identity_at(AT_FDCWD, path, seed);
}

uint64_t
file_identity_fold(const struct file_ident *fi, uint64_t seed)
{
	uint64_t h = seed != 0 ? seed : 14695981039346656037ULL;
	const struct stat *st = &fi->st;

	if (fi->err != 0) {
		return mix(mix(h, 1), (uint64_t)fi->err);
	}
	h = mix(h, 2);
	h = mix(h, (uint64_t)st->st_dev);
	h = mix(h, (uint64_t)st->st_ino);
	h = mix(h, (uint64_t)st->st_size);
	h = mix(h, (uint64_t)st->st_mode);
	h = mix(h, (uint64_t)st->st_mtim.tv_sec);
	h = mix(h, (uint64_t)st->st_mtim.tv_nsec);
	h = mix(h, (uint64_t)st->st_ctim.tv_sec);
	return mix(h, (uint64_t)st->st_ctim.tv_nsec);
}

uint64_t
file_identity_at(int dirfd, const char *path, uint64_t seed)
{
	struct file_ident fi;

	fi.err = fstatat(dirfd, path, &fi.st, 0) < 0 ? errno : 0;
	return file_identity_fold(&fi, seed);
}

uint64_t
file_identity_fd(int fd, uint64_t seed)
{
	struct file_ident fi;

	fi.err = fstat(fd, &fi.st) < 0 ? errno : 0;
	return file_identity_fold(&fi, seed);
}
