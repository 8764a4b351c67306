/* What several unit tests share: fixture files under tests/data/ and
 * temporary folders. Failures fail the test. */
#ifndef ACMED_TEST_FIXTURE_H
#define ACMED_TEST_FIXTURE_H

#include <stddef.h>

/* The contents of tests/data/<folder>/<name>: a new NUL-terminated buffer,
 * its length in *len. */
char *fixture_read(const char *folder, const char *name, size_t *len);

/* Makes a new empty folder /tmp/acmed-test-<tag>.XXXXXX, its path in buf
 * (size bytes). */
void fixture_tmpdir(char *buf, size_t size, const char *tag);

/* Removes root and everything below it. */
void fixture_rmtree(const char *root);

#endif
