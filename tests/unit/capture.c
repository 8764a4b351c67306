#include "capture.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

/* How long a terminal's master side is waited on for more bytes: what is
 * written to the slave reaches it through the kernel's buffer, not at
 * once. */
#define CAPTURE_PTY_WAIT_MS 100

static int
open_terminal(int *slave)
{
	struct termios t;
	char name[64];
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	assert_int_equal(ptsname_r(master, name, sizeof(name)), 0);
	*slave = open(name, O_RDWR | O_NOCTTY);
	assert_true(*slave >= 0);
	/* Raw: "\n" stays "\n", as a test compares bytes. */
	assert_int_equal(tcgetattr(*slave, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(*slave, TCSANOW, &t), 0);
	return master;
}

void
capture_begin(struct capture *c, bool tty)
{
	char path[] = "/tmp/acmed-test-capture.XXXXXX";

	memset(c, 0, sizeof(*c));
	c->slave = -1;
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	if (tty) {
		c->fd = open_terminal(&c->slave);
		assert_true(dup2(c->slave, STDERR_FILENO) >= 0);
		return;
	}
	c->fd = mkstemp(path);
	assert_true(c->fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

const char *
capture_take(struct capture *c)
{
	size_t n = 0;
	ssize_t got;

	fflush(stderr);
	if (c->slave < 0) {
		got = pread(c->fd, c->text, sizeof(c->text) - 1, (off_t)c->read);
		assert_true(got >= 0);
		n = (size_t)got;
		c->read += n;
	} else {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};

		while (n < sizeof(c->text) - 1 && poll(&p, 1, CAPTURE_PTY_WAIT_MS) == 1) {
			got = read(c->fd, c->text + n, sizeof(c->text) - 1 - n);
			assert_true(got > 0);
			n += (size_t)got;
		}
	}
	c->text[n] = '\0';
	return c->text;
}

void
capture_end(struct capture *c)
{
	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	close(c->fd);
	if (c->slave >= 0) {
		close(c->slave);
	}
}
