#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* The names fuzz_write_file was given, so that the folder can be emptied at
 * exit; targets use one or two. */
#define FUZZ_MAX_FILES 8

static char fuzz_dir[PATH_MAX];
static char *fuzz_files[FUZZ_MAX_FILES];
static size_t fuzz_n_files;

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}

void
fuzz_setup(void)
{
	static bool done;

	if (!done) {
		log_set_level(LOG_LEVEL_ERROR);
		done = true;
	}
}

char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL) {
		fuzz_fail(__FILE__, __LINE__, "out of memory");
	}
	if (size > 0) {
		memcpy(s, data, size);
	}
	s[size] = '\0';
	return s;
}

static void
remove_tmpdir(void)
{
	char path[PATH_MAX];
	int n;

	for (size_t i = 0; i < fuzz_n_files; i++) {
		n = snprintf(path, sizeof(path), "%s/%s", fuzz_dir, fuzz_files[i]);
		if (n > 0 && (size_t)n < sizeof(path)) {
			unlink(path);
		}
		free(fuzz_files[i]);
	}
	fuzz_n_files = 0;
	rmdir(fuzz_dir);
}

const char *
fuzz_tmpdir(void)
{
	const char *base;
	int n;

	if (fuzz_dir[0] == '\0') {
		/* Memory rather than disk: tens of thousands of files a second,
		 * and ext4 flushes a file truncated and written again on close. */
		base = getenv("TMPDIR");
		if (base == NULL || base[0] == '\0') {
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		}
		n = snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/acmed-fuzz.XXXXXX", base);
		if (n < 0 || (size_t)n >= sizeof(fuzz_dir) || mkdtemp(fuzz_dir) == NULL) {
			fuzz_fail(__FILE__, __LINE__, "mkdtemp");
		}
		atexit(remove_tmpdir);
	}
	return fuzz_dir;
}

static void
remember(const char *name)
{
	for (size_t i = 0; i < fuzz_n_files; i++) {
		if (strcmp(fuzz_files[i], name) == 0) {
			return;
		}
	}
	if (fuzz_n_files == FUZZ_MAX_FILES) {
		fuzz_fail(__FILE__, __LINE__, "too many file names");
	}
	fuzz_files[fuzz_n_files] = strdup(name);
	if (fuzz_files[fuzz_n_files] == NULL) {
		fuzz_fail(__FILE__, __LINE__, "out of memory");
	}
	fuzz_n_files++;
}

char *
fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	const char *dir = fuzz_tmpdir();
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *path = malloc(len);
	size_t done = 0;
	ssize_t n;
	int fd;

	if (path == NULL) {
		fuzz_fail(__FILE__, __LINE__, "out of memory");
	}
	snprintf(path, len, "%s/%s", dir, name);
	remember(name);
	/* A new file each time rather than O_TRUNC, for the same reason. */
	if (unlink(path) < 0 && errno != ENOENT) {
		fuzz_fail(__FILE__, __LINE__, "unlink");
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fuzz_fail(__FILE__, __LINE__, "open");
	}
	while (done < size) {
		n = write(fd, data + done, size - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			fuzz_fail(__FILE__, __LINE__, "write");
		}
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		fuzz_fail(__FILE__, __LINE__, "close");
	}
	return path;
}

bool
fuzz_is_zero(const void *p, size_t size)
{
	const unsigned char *b = p;
	bool zero = true;

	for (size_t i = 0; i < size && zero; i++) {
		zero = b[i] == 0;
	}
	return zero;
}
