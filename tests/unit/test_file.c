#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "tmpdir.h"

/* Link-time seam: this definition takes the place of libc's for the code
 * under test, so that a test can predict the temp name. Unless a test asks,
 * it behaves like the real call. */
static unsigned fake_random_calls; /* calls left that return fake bytes */
static unsigned char fake_random_byte; /* what they return ... */
static unsigned char fake_random_step; /* ... and how it changes per call */

ssize_t
getrandom(void *buf, size_t buflen, unsigned int flags)
{
	if (fake_random_calls > 0) {
		fake_random_calls--;
		memset(buf, fake_random_byte, buflen);
		fake_random_byte += fake_random_step;
		return (ssize_t)buflen;
	}
	return syscall(SYS_getrandom, buf, buflen, flags);
}

/* The same seam for fsync: counts the folders and the files synced. */
static unsigned folder_syncs;
static unsigned file_syncs;

int
fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		folder_syncs++;
	} else {
		file_syncs++;
	}
	return (int)syscall(SYS_fsync, fd);
}

struct fixture {
	char dir[64];
	char path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	free(f);
	umask(022);
	fake_random_calls = 0;
	fake_random_step = 0;
	return 0;
}

static const char *
in_dir(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* The names in dir, sorted and joined with spaces. */
static char *
list_dir(const char *dir)
{
	struct dirent **names = NULL;
	char *out;
	size_t used = 0;
	int n;
	int i;

	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	out = calloc(1, 4096);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
			used += (size_t)snprintf(out + used, 4096 - used, "%s%s",
			                         used > 0 ? " " : "", names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static void
assert_dir_is(const char *dir, const char *expected)
{
	char *names = list_dir(dir);

	assert_string_equal(names, expected);
	free(names);
}

static void
assert_file_is(const char *path, const char *content, mode_t mode)
{
	struct stat st;
	char *data;
	size_t len = 0;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	data = file_read(path, 1 << 20, &len);
	assert_non_null(data);
	assert_int_equal(len, strlen(content));
	assert_string_equal(data, content);
	free(data);
}

static void
write_plain(const char *path, const char *content)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Sets path's times a day back (its status change time stays now). */
static void
backdate(const char *path)
{
	struct timespec t[2];

	t[0].tv_sec = t[1].tv_sec = time(NULL) - 86400;
	t[0].tv_nsec = t[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* The identity of a file changes with what is done to it, and stays while
 * nothing is. */
static void
test_identity(void **state)
{
	struct fixture *f = *state;
	const char *dir = f->dir;
	char *path = file_path(dir, "f", NULL);
	char *link = file_path(dir, "l", NULL);
	uint64_t id, again;
	int fd;

	write_plain(path, "one\n");
	backdate(path);
	id = file_identity(path, 0);
	assert_int_not_equal(id, 0);
	assert_int_equal(file_identity(path, 0), id);
	/* Another seed, another number; the same seed, the same. */
	assert_int_not_equal(file_identity(path, 1), id);
	assert_int_equal(file_identity(path, 1), file_identity(path, 1));
	/* Through a link: the file's. */
	assert_int_equal(symlink("f", link), 0);
	assert_int_equal(file_identity(link, 0), id);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(file_identity_at(fd, "l", 0), id);

	/* Written in place, the same size. */
	write_plain(path, "two\n");
	again = file_identity(path, 0);
	assert_int_not_equal(again, id);
	backdate(path);
	id = file_identity(path, 0);
	/* chmod. */
	assert_int_equal(chmod(path, 0600), 0);
	again = file_identity(path, 0);
	assert_int_not_equal(again, id);
	id = again;
	/* Replaced by a rename. */
	assert_int_equal(file_write_atomic(path, "two\n", 4, 0600), 0);
	again = file_identity(path, 0);
	assert_int_not_equal(again, id);
	id = again;
	/* Removed: another number, the same while it stays away. */
	assert_int_equal(unlink(path), 0);
	again = file_identity(path, 0);
	assert_int_not_equal(again, id);
	assert_int_equal(file_identity(path, 0), again);
	assert_int_equal(file_identity_at(fd, "l", 0), again);
	close(fd);
	free(link);
	free(path);
}

static void
test_write_mode_under_umask_077(void **state)
{
	struct fixture *f = *state;
	const char *path = in_dir(f, "cert.pem");

	umask(077);
	assert_int_equal(file_write_atomic(path, "hello\n", 6, 0644), 0);
	assert_file_is(path, "hello\n", 0644);
	assert_dir_is(f->dir, "cert.pem");
}

static void
test_write_mode_under_umask_022(void **state)
{
	struct fixture *f = *state;
	const char *path = in_dir(f, "shared");

	umask(022);
	assert_int_equal(file_write_atomic(path, "x", 1, 0666), 0);
	assert_file_is(path, "x", 0666);
	path = in_dir(f, "privkey.pem");
	assert_int_equal(file_write_atomic(path, "key", 3, 0600), 0);
	assert_file_is(path, "key", 0600);
	assert_dir_is(f->dir, "privkey.pem shared");
}

static void
test_write_overwrites(void **state)
{
	struct fixture *f = *state;
	const char *path = in_dir(f, "state.json");

	assert_int_equal(file_write_atomic(path, "first version", 13, 0644), 0);
	assert_int_equal(file_write_atomic(path, "second", 6, 0600), 0);
	assert_file_is(path, "second", 0600);
	assert_int_equal(file_write_atomic(path, "", 0, 0600), 0);
	assert_file_is(path, "", 0600);
	assert_dir_is(f->dir, "state.json");
}

/* FILE_SYNC_LATER: the same file, replaced the same way, without the
 * folder's fsync, which file_write_atomic does once per write. */
static void
test_write_sync_later(void **state)
{
	struct fixture *f = *state;
	const char *path = in_dir(f, "state.json");

	folder_syncs = 0;
	assert_int_equal(file_write_atomic(path, "first version", 13, 0644), 0);
	assert_int_equal(folder_syncs, 1);
	assert_int_equal(file_write_atomic_flags(path, "second", 6, 0600, FILE_SYNC_LATER), 0);
	assert_int_equal(folder_syncs, 1);
	assert_file_is(path, "second", 0600);
	assert_dir_is(f->dir, "state.json");
	assert_int_equal(file_write_atomic_flags(path, "third", 5, 0644, 0), 0);
	assert_int_equal(folder_syncs, 2);
	assert_file_is(path, "third", 0644);
	assert_int_equal(file_sync_dir(f->dir), 0);
	assert_int_equal(folder_syncs, 3);
}

/* file_write_temp: the data beside path under a temp name, nothing synced,
 * path untouched until the caller renames it; a folder that is not there
 * leaves nothing. */
static void
test_write_temp(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	char prefix[PATH_MAX];

	snprintf(path, sizeof(path), "%s", in_dir(f, "state.json"));
	snprintf(prefix, sizeof(prefix), "%s/.state.json.", f->dir);
	assert_int_equal(file_write_atomic(path, "old", 3, 0644), 0);
	folder_syncs = 0;
	file_syncs = 0;
	assert_int_equal(file_write_temp(path, "new", 3, 0640, tmp, sizeof(tmp)), 0);
	assert_int_equal(folder_syncs, 0);
	assert_int_equal(file_syncs, 0);
	assert_int_equal(strncmp(tmp, prefix, strlen(prefix)), 0);
	assert_file_is(tmp, "new", 0640);
	assert_file_is(path, "old", 0644);
	assert_int_equal(rename(tmp, path), 0);
	assert_file_is(path, "new", 0640);
	assert_dir_is(f->dir, "state.json");
	errno = 0;
	assert_int_equal(file_write_temp(in_dir(f, "nope/file"), "x", 1, 0600, tmp, sizeof(tmp)),
	                 -1);
	assert_int_equal(errno, ENOENT);
	assert_dir_is(f->dir, "state.json");
}

static void
test_dir_writable(void **state)
{
	struct fixture *f = *state;
	char folder[PATH_MAX];
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/acmed.prom", f->dir);
	assert_int_equal(file_dir_writable(path, folder, sizeof(folder)), 0);
	assert_string_equal(folder, f->dir);
	assert_int_equal(file_dir_writable("acmed.prom", folder, sizeof(folder)), 0);
	assert_string_equal(folder, ".");
	snprintf(path, sizeof(path), "%s/nosuch/acmed.prom", f->dir);
	assert_int_equal(file_dir_writable(path, folder, sizeof(folder)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(file_write_atomic(in_dir(f, "file"), "x", 1, 0644), 0);
	snprintf(path, sizeof(path), "%s/file/acmed.prom", f->dir);
	assert_int_equal(file_dir_writable(path, folder, sizeof(folder)), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_write_relative_path(void **state)
{
	struct fixture *f = *state;
	char cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(file_write_atomic("plain", "p", 1, 0640), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_file_is(in_dir(f, "plain"), "p", 0640);
	assert_dir_is(f->dir, "plain");
}

static void
test_write_missing_folder(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_int_equal(file_write_atomic(in_dir(f, "nope/file"), "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	assert_dir_is(f->dir, "");
}

static void
test_write_folder_is_a_file(void **state)
{
	struct fixture *f = *state;

	write_plain(in_dir(f, "regular"), "keep");
	errno = 0;
	assert_int_equal(file_write_atomic(in_dir(f, "regular/file"), "x", 1, 0600), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_dir_is(f->dir, "regular");
	assert_file_is(in_dir(f, "regular"), "keep", 0644);
}

/* The temp file is created and written, then the rename fails: the temp must
 * go and the target stay. */
static void
test_write_rename_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(in_dir(f, "target"), 0755), 0);
	write_plain(in_dir(f, "target/inside"), "old");
	assert_int_equal(file_write_atomic(in_dir(f, "target"), "new", 3, 0600), -1);
	assert_dir_is(f->dir, "target");
	assert_dir_is(in_dir(f, "target"), "inside");
	assert_file_is(in_dir(f, "target/inside"), "old", 0644);
}

static void
test_write_refuses_symlink_at_temp(void **state)
{
	struct fixture *f = *state;
	char victim[PATH_MAX];
	char trap[PATH_MAX];
	struct stat st;

	/* With the seam, the first temp name is ".cert.pem.AAAAAA" and the
	 * second ".cert.pem.BBBBBB". */
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	snprintf(trap, sizeof(trap), "%s/.cert.pem.AAAAAA", f->dir);
	write_plain(victim, "precious");
	assert_int_equal(symlink(victim, trap), 0);
	fake_random_byte = 0;
	fake_random_step = 1;
	fake_random_calls = 2;
	assert_int_equal(file_write_atomic(in_dir(f, "cert.pem"), "new", 3, 0600), 0);
	assert_int_equal(fake_random_calls, 0);
	assert_file_is(victim, "precious", 0644);
	assert_file_is(in_dir(f, "cert.pem"), "new", 0600);
	assert_int_equal(lstat(trap, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_dir_is(f->dir, ".cert.pem.AAAAAA cert.pem victim");
}

/* Every attempt lands on the same planted dangling link: give up after a
 * bounded number of tries, create nothing through it. */
static void
test_write_refuses_dangling_symlink(void **state)
{
	struct fixture *f = *state;
	char victim[PATH_MAX];
	char trap[PATH_MAX];

	snprintf(victim, sizeof(victim), "%s/created-through-link", f->dir);
	snprintf(trap, sizeof(trap), "%s/.key.AAAAAA", f->dir);
	assert_int_equal(symlink(victim, trap), 0);
	fake_random_byte = 0;
	fake_random_step = 0;
	fake_random_calls = 100000;
	errno = 0;
	assert_int_equal(file_write_atomic(in_dir(f, "key"), "k", 1, 0600), -1);
	assert_int_equal(errno, EEXIST);
	assert_true(fake_random_calls < 100000 - 1);
	assert_true(fake_random_calls > 0);
	fake_random_calls = 0;
	assert_int_equal(access(victim, F_OK), -1);
	assert_dir_is(f->dir, ".key.AAAAAA");
}

static void
test_read_file(void **state)
{
	struct fixture *f = *state;
	const char *path = in_dir(f, "data");
	size_t len = 99;
	char *data;

	write_plain(path, "0123456789");
	data = file_read(path, 10, &len);
	assert_non_null(data);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);

	/* len may be NULL. */
	data = file_read(path, 100, NULL);
	assert_non_null(data);
	assert_string_equal(data, "0123456789");
	free(data);

	errno = 0;
	assert_null(file_read(path, 9, &len));
	assert_int_equal(errno, EFBIG);

	write_plain(path, "");
	data = file_read(path, 0, &len);
	assert_non_null(data);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
}

static void
test_read_file_errors(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(file_read(in_dir(f, "missing"), 100, NULL));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(file_read(f->dir, 100, NULL));
	assert_int_equal(errno, EISDIR);
	errno = 0;
	assert_null(file_read("/dev/null", 100, NULL));
	assert_int_equal(errno, EINVAL);
}

/* A /proc file says it is empty: the size is only a hint, the cap still
 * holds. */
static void
test_read_file_size_hint_wrong(void **state)
{
	size_t len = 0;
	char *data;

	data = file_read("/proc/self/status", 1 << 20, &len);
	assert_non_null(data);
	assert_true(len > 100);
	assert_int_equal(strlen(data), len);
	assert_non_null(strstr(data, "Name:"));
	free(data);
	errno = 0;
	assert_null(file_read("/proc/self/status", 300, &len));
	assert_int_equal(errno, EFBIG);
}

static void
test_mkdirs(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	umask(022);
	assert_int_equal(file_mkdirs(in_dir(f, "accounts/host//acct/"), 0700), 0);
	assert_int_equal(stat(in_dir(f, "accounts/host/acct"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Existing folders are fine and left alone. */
	assert_int_equal(chmod(in_dir(f, "accounts"), 0755), 0);
	assert_int_equal(file_mkdirs(in_dir(f, "accounts/host/acct"), 0700), 0);
	assert_int_equal(stat(in_dir(f, "accounts"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	assert_int_equal(file_mkdirs(f->dir, 0700), 0);
	/* Only the last one missing: made with the mode asked. */
	assert_int_equal(file_mkdirs(in_dir(f, "accounts/host/other"), 0750), 0);
	assert_int_equal(stat(in_dir(f, "accounts/host/other"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);

	write_plain(in_dir(f, "file"), "x");
	errno = 0;
	assert_int_equal(file_mkdirs(in_dir(f, "file"), 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	errno = 0;
	assert_int_equal(file_mkdirs(in_dir(f, "file/sub"), 0700), -1);
	assert_int_equal(errno, ENOTDIR);
}

/* file_write_new: the mode whatever the umask; never over an existing file
 * or through a link, and nothing left behind when it cannot write. */
static void
test_write_new(void **state)
{
	struct fixture *f = *state;

	umask(077);
	assert_int_equal(file_write_new(in_dir(f, "cert.pem"), "abc", 3, 0644), 0);
	assert_file_is(in_dir(f, "cert.pem"), "abc", 0644);
	errno = 0;
	assert_int_equal(file_write_new(in_dir(f, "cert.pem"), "other", 5, 0600), -1);
	assert_int_equal(errno, EEXIST);
	assert_file_is(in_dir(f, "cert.pem"), "abc", 0644);
	assert_int_equal(symlink("cert.pem", in_dir(f, "link.pem")), 0);
	errno = 0;
	assert_int_equal(file_write_new(in_dir(f, "link.pem"), "x", 1, 0600), -1);
	assert_int_equal(errno, EEXIST);
	assert_file_is(in_dir(f, "cert.pem"), "abc", 0644);
	errno = 0;
	assert_int_equal(file_write_new(in_dir(f, "missing/key.pem"), "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	assert_dir_is(f->dir, "cert.pem link.pem");
	umask(022);
}

static void
test_path(void **state)
{
	char *long_part;
	char *p;

	(void)state;
	p = file_path("/var/lib/acmed", "certs", "www", "cert.pem", (char *)NULL);
	assert_string_equal(p, "/var/lib/acmed/certs/www/cert.pem");
	free(p);
	p = file_path("/var/lib/acmed/", "certs", (char *)NULL);
	assert_string_equal(p, "/var/lib/acmed/certs");
	free(p);
	p = file_path("alone", (char *)NULL);
	assert_string_equal(p, "alone");
	free(p);
	p = file_path("a", "a", "a", (char *)NULL);
	assert_string_equal(p, "a/a/a");
	free(p);

	long_part = malloc(PATH_MAX);
	assert_non_null(long_part);
	memset(long_part, 'x', PATH_MAX - 4);
	long_part[PATH_MAX - 4] = '\0';
	p = file_path("/", long_part, (char *)NULL);
	assert_non_null(p);
	assert_int_equal(strlen(p), PATH_MAX - 3);
	free(p);
	/* "/a" "/" and the part: PATH_MAX - 1 characters and the NUL. */
	p = file_path("/a", long_part, (char *)NULL);
	assert_non_null(p);
	assert_int_equal(strlen(p), PATH_MAX - 1);
	free(p);
	errno = 0;
	assert_null(file_path("/ab", long_part, (char *)NULL));
	assert_int_equal(errno, ENAMETOOLONG);
	free(long_part);
}

/* A private folder under $TMPDIR (absolute only), removed with all it
 * holds; a link inside goes, what it points at stays. */
static void
test_temp_dir_and_remove_tree(void **state)
{
	struct fixture *f = *state;
	char keep[PATH_MAX];
	char sub[PATH_MAX];
	char file[PATH_MAX + 16];
	char link[PATH_MAX];
	struct stat st;
	const char *old = getenv("TMPDIR");
	char *saved = old != NULL ? strdup(old) : NULL;
	char *dir;

	assert_int_equal(setenv("TMPDIR", f->dir, 1), 0);
	dir = file_temp_dir("acmed-dry-run");
	assert_non_null(dir);
	assert_int_equal(strncmp(dir, f->dir, strlen(f->dir)), 0);
	assert_non_null(strstr(dir, "/acmed-dry-run."));
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);

	snprintf(keep, sizeof(keep), "%s/keep", f->dir);
	assert_int_equal(file_write_atomic(keep, "k", 1, 0600), 0);
	snprintf(sub, sizeof(sub), "%s/certs/www/v/1", dir);
	assert_int_equal(file_mkdirs(sub, 0700), 0);
	snprintf(file, sizeof(file), "%s/cert.pem", sub);
	assert_int_equal(file_write_atomic(file, "c", 1, 0644), 0);
	snprintf(link, sizeof(link), "%s/certs/www/outside", dir);
	assert_int_equal(symlink(f->dir, link), 0);
	assert_int_equal(file_remove_tree(dir), 0);
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(stat(keep, &st), 0);
	/* Missing: nothing to do. */
	assert_int_equal(file_remove_tree(dir), 0);
	free(dir);

	/* A relative TMPDIR is not used. */
	assert_int_equal(setenv("TMPDIR", "relative", 1), 0);
	dir = file_temp_dir("acmed-dry-run");
	assert_non_null(dir);
	assert_int_equal(strncmp(dir, "/tmp/acmed-dry-run.", 19), 0);
	assert_int_equal(file_remove_tree(dir), 0);
	free(dir);

	if (saved != NULL) {
		setenv("TMPDIR", saved, 1);
	} else {
		unsetenv("TMPDIR");
	}
	free(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_write_mode_under_umask_077, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_mode_under_umask_022, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_overwrites, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_sync_later, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_temp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dir_writable, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_relative_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_missing_folder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_folder_is_a_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_rename_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_refuses_symlink_at_temp, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_write_refuses_dangling_symlink, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_file_errors, setup, teardown),
	        cmocka_unit_test(test_read_file_size_hint_wrong),
	        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_new, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	        cmocka_unit_test(test_path),
	        cmocka_unit_test_setup_teardown(test_temp_dir_and_remove_tree, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
