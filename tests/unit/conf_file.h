/* A configuration file in a folder of its own under /tmp, for the tests
 * that load one. */
#ifndef ACMED_TEST_CONF_FILE_H
#define ACMED_TEST_CONF_FILE_H

/* The folder and the file in it, set by conf_file_setup. */
extern char conf_file_dir[64];
extern char conf_file_path[128];

/* A group setup: makes the folder /tmp/acmed_test.XXXXXX. Returns 0 or
 * -1. */
int conf_file_setup(void **state);

/* A group teardown: removes the file and the folder. Returns 0. */
int conf_file_teardown(void **state);

/* Replaces the file's content with text (a failed assertion when it
 * cannot). */
void conf_file_write(const char *text);

#endif
