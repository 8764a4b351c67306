/* A configuration file in a folder of its own under /tmp, for the tests
 * that load one. */
#ifndef ACMED_TEST_CONF_FILE_H
#define ACMED_TEST_CONF_FILE_H

/* The folder and the file in it, set by conf_file_setup. */
extern char conf_file_dir[64];
extern char conf_file_path[128];

/* Makes the folder /tmp/<prefix>.XXXXXX. Returns 0 or -1 (a group setup's
 * failure). */
int conf_file_setup(const char *prefix);

/* Removes the file and the folder. */
void conf_file_teardown(void);

/* Replaces the file's content with text (a failed assertion when it
 * cannot). */
void conf_file_write(const char *text);

#endif
