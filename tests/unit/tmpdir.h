/* Temporary folders and files for the unit tests: made under /tmp, removed
 * with everything in them. Failures fail the test (cmocka). */
#ifndef ACMED_TEST_TMPDIR_H
#define ACMED_TEST_TMPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A new empty folder /tmp/acmed-test-<tag>.XXXXXX. New string (free()). */
char *tmpdir_make(const char *tag);

/* Removes path and everything under it; safe on NULL and missing paths. */
void tmpdir_remove(const char *path);

/* Writes text to dir/name with mode. Returns the path, a new string. */
char *tmpdir_write(const char *dir, const char *name, const char *text, mode_t mode);

/* The whole of dir/name (at most 1 MiB), a new string, or NULL when it
 * cannot be read. */
char *tmpdir_read(const char *dir, const char *name);

/* Whether dir/name exists (not following a last symbolic link). */
bool tmpdir_exists(const char *dir, const char *name);

/* How many lines dir/name holds; 0 when missing. */
size_t tmpdir_lines(const char *dir, const char *name);

#endif
