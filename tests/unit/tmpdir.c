#include "tmpdir.h"

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"

char *
tmpdir_make(const char *tag)
{
	char path[PATH_MAX];
	char *dir;

	snprintf(path, sizeof(path), "/tmp/acmed-test-%s.XXXXXX", tag);
	assert_non_null(mkdtemp(path));
	dir = strdup(path);
	assert_non_null(dir);
	return dir;
}

void
tmpdir_remove(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (path == NULL || lstat(path, &st) < 0) {
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	d = opendir(path);
	if (d != NULL) {
		for (de = readdir(d); de != NULL; de = readdir(d)) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
				continue;
			}
			snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
			tmpdir_remove(child);
		}
		closedir(d);
	}
	rmdir(path);
}

char *
tmpdir_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = file_path(dir, name, NULL);
	FILE *f;

	assert_non_null(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

char *
tmpdir_read(const char *dir, const char *name)
{
	char *path = file_path(dir, name, NULL);
	char *text;

	assert_non_null(path);
	text = file_read(path, 1 << 20, NULL);
	free(path);
	return text;
}

bool
tmpdir_exists(const char *dir, const char *name)
{
	char *path = file_path(dir, name, NULL);
	struct stat st;
	bool there;

	assert_non_null(path);
	there = lstat(path, &st) == 0;
	free(path);
	return there;
}

size_t
tmpdir_lines(const char *dir, const char *name)
{
	char *text = tmpdir_read(dir, name);
	size_t n = 0;

	for (const char *p = text; p != NULL && *p != '\0'; p++) {
		n += *p == '\n';
	}
	free(text);
	return n;
}
