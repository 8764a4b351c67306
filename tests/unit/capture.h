/* What a test's stderr received: redirected to a temporary file, or to a
 * pseudo-terminal for what log.c writes only on a terminal (the status
 * line, colour). Failures fail the test (cmocka). Call log_init after
 * capture_begin: it looks at stderr then. */
#ifndef ACMED_TEST_CAPTURE_H
#define ACMED_TEST_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#define CAPTURE_MAX 16384

struct capture {
	int saved; /* stderr before */
	int fd; /* the file, or the terminal's master side */
	int slave; /* the terminal stderr now is, or -1 */
	size_t read; /* of the file, so far */
	char text[CAPTURE_MAX];
};

/* Sends stderr to a new temporary file, or (tty) to a new raw terminal. */
void capture_begin(struct capture *c, bool tty);

/* What stderr received since the last call (into c->text, NUL-terminated;
 * a terminal's bytes as written). */
const char *capture_take(struct capture *c);

/* Puts stderr back and closes what capture_begin opened. */
void capture_end(struct capture *c);

#endif
