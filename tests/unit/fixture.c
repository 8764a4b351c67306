#define _XOPEN_SOURCE_EXTENDED 1
#include "fixture.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/file.h"

char *
fixture_read(const char *folder, const char *name, size_t *len)
{
	char *path = file_path(TEST_DATA_DIR, folder, name, NULL);
	char *body;

	assert_non_null(path);
	body = file_read(path, 1 << 20, len);
	assert_non_null(body);
	free(path);
	return body;
}

void
fixture_tmpdir(char *buf, size_t size, const char *tag)
{
	int n = snprintf(buf, size, "/tmp/acmed-test-%s.XXXXXX", tag);

	assert_true(n > 0 && (size_t)n < size);
	assert_non_null(mkdtemp(buf));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
fixture_rmtree(const char *root)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
