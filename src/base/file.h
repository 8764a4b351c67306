/* Files: atomic writes and symbolic links, whole reads, paths. Knows no
 * file names of its own (the state folder's are store/'s). */
#ifndef ACMED_FILE_H
#define ACMED_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Writes len bytes to path atomically: a temp file in the same folder
 * (O_EXCL|O_NOFOLLOW, the given mode), fsync, rename over path, fsync of the
 * folder. On failure nothing is left behind and path is unchanged. Returns 0
 * or -1 (logged with the path and the reason). */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* file_write_atomic without the folder's fsync (FILE_SYNC_LATER): the file
 * is whole and durable before its rename, which lasts once the folder is
 * synced (by the caller's next file_write_atomic or file_sync_dir there);
 * a crash before that leaves the previous file (and a temp name, which
 * store/ removes). One folder fsync then serves two writes. */
#define FILE_SYNC_LATER 1u
int file_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode,
                            unsigned flags);
/* With FILE_NO_SYNC (below) neither the file nor its folder is synced:
 * after a crash before the caller's own sync the name may hold the old
 * file, none, or a file whose data never reached the disk. Only for a file
 * whose loss a reader survives (pending.key: an order placed again). */

/* The first half of file_write_atomic_flags with FILE_NO_SYNC, for a
 * caller that makes the file durable together with others
 * (store/store_sync.h) before it takes path's place: a temp file beside
 * path (its name in tmp, tmplen bytes: PATH_MAX will do) holds the data,
 * nothing synced, nothing renamed. The caller renames it over path once it
 * is durable, or removes it. Returns 0, or -1 (logged with path and the
 * reason) with nothing left. */
int file_write_temp(const char *path, const void *data, size_t len, mode_t mode, char *tmp,
                    size_t tmplen);

/* Creates path, which must not exist (O_EXCL|O_NOFOLLOW), with len bytes
 * and mode, and fsyncs it; the folder is not synced (the caller does, once
 * for all it wrote there). For a folder no reader looks into yet, where a
 * temp name and a rename would buy nothing. On failure the file is removed.
 * Returns 0 or -1 (logged with the path and the reason). */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode);

/* file_write_atomic and file_write_new with the file owned by uid and gid
 * ((uid_t)-1 or (gid_t)-1: that one as created), owner and mode set before
 * its data is written (and, atomic, before it has its name). Changing the
 * owner needs root, or a group the writer is a member of (EPERM).
 * file_write_new_as with FILE_NO_SYNC does not fsync the file: the caller
 * makes it durable later, with others (store/store_sync.h). */
#define FILE_NO_SYNC 2u
int file_write_atomic_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                         gid_t gid);
int file_write_new_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                      gid_t gid, unsigned flags);

/* Points dir/name at target (a symbolic link): made directly when the name
 * is free, else through a uniquely named temp link renamed over it: readers
 * see the old or the new target, never none, and two writers never share a
 * temp name. Returns 0 or -1 (logged). */
int file_symlink_atomic(const char *dir, const char *name, const char *target);

/* Whether the folder path is in (its dirname; "." for a bare name) can
 * take a new file: 0, or -1 with errno set (ENOENT, ENOTDIR, EACCES...).
 * folder (len bytes) gets that folder's name for the message. */
int file_dir_writable(const char *path, char *folder, size_t len);

/* fsync of a folder, which makes the renames in it durable. Returns 0 or -1
 * (errno set, not logged). */
int file_sync_dir(const char *dir);

/* fsync of a file or a folder by name (a last symbolic link not followed):
 * 0, or -1 with errno set (not logged); EINVAL of a folder is no error. */
int file_sync_path(const char *path);

/* Writes all len bytes to fd, again after EINTR and short writes. Returns 0,
 * or -1 with errno set (ENOSPC when the file system takes no more). */
int file_write_all(int fd, const void *data, size_t len);

/* Creates path and its missing parents with mode (existing ones are left as
 * they are). Returns 0 or -1 (logged). */
int file_mkdirs(const char *path, mode_t mode);

/* Reads a whole regular file of at most max bytes. Returns a new
 * NUL-terminated buffer (free()), its length in *len if len is not NULL, or
 * NULL (errno set; ENOENT when missing, EFBIG when larger than max). Does not
 * log. */
char *file_read(const char *path, size_t max, size_t *len);

/* The same for path relative to the folder open as dirfd (or AT_FDCWD). */
char *file_read_at(int dirfd, const char *path, size_t max, size_t *len);

/* What a file's identity (file_identity) is made of: the stat(2) of the
 * file, or the error (err not 0) that stat or open gave. */
struct file_ident {
	int err;
	struct stat st;
};

/* file_read_at that also fills *fi (may be NULL) from the descriptor it
 * read: the identity of exactly what was read, with no stat before (see
 * file_identity_fold), or the open's error. */
char *file_read_at_ident(int dirfd, const char *path, size_t max, size_t *len,
                         struct file_ident *fi);

/* A number for what is at path now (symbolic links followed), folded into
 * seed: it changes when the file is replaced, renamed over, written to,
 * truncated, chmod'ed or removed (a hash of its device, inode, size,
 * modification and status change times, or of the error stat gives). For
 * caches of what was read from a file: the same number means the same
 * file, unless it was written twice within the file system's timestamp
 * granularity keeping its size. Start with seed 0. */
uint64_t file_identity(const char *path, uint64_t seed);

/* The same for path relative to the folder open as dirfd (or AT_FDCWD). */
uint64_t file_identity_at(int dirfd, const char *path, uint64_t seed);

/* The same for what fd is open on. */
uint64_t file_identity_fd(int fd, uint64_t seed);

/* The same for what fi holds: file_identity_at(dirfd, path, seed) is
 * file_identity_fold of path's stat (or error) with seed. */
uint64_t file_identity_fold(const struct file_ident *fi, uint64_t seed);

/* A new private folder (mode 0700) named prefix.XXXXXX under $TMPDIR when
 * it is an absolute path, else under /tmp. Returns its path (free()), or
 * NULL (logged). */
char *file_temp_dir(const char *prefix);

/* Removes path and everything under it, never following a symbolic link
 * (the link goes, not what it points at). Missing is done. Returns 0, or -1
 * (logged with the first path that stayed). */
int file_remove_tree(const char *path);

/* Joins parts with '/'. Returns a new string (free()), or NULL when out of
 * memory or longer than PATH_MAX. The list ends with NULL. */
char *file_path(const char *first, ...) __attribute__((sentinel));

#endif
