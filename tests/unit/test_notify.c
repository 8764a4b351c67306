#include "io/notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "capture.h"

struct fixture {
	char dir[64];
	char path[128];
	int fd; /* what systemd would listen on */
};

/* A datagram socket at path, or in the abstract namespace when path
 * starts with '@'. */
static int
bind_dgram(const char *path)
{
	struct sockaddr_un addr;
	size_t n = strlen(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(n < sizeof(addr.sun_path));
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@') {
		addr.sun_path[0] = '\0';
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&addr,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
	                 0);
	return fd;
}

/* The next datagram on fd, NUL-terminated in buf. */
static const char *
next_message(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/acmed-notify-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	f->fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->fd >= 0) {
		close(f->fd);
	}
	unlink(f->path);
	rmdir(f->dir);
	unsetenv("NOTIFY_SOCKET");
	free(f);
	return 0;
}

static void
test_path(void **state)
{
	struct fixture *f = *state;
	char buf[600];

	f->fd = bind_dgram(f->path);
	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_string_equal(next_message(f->fd, buf, sizeof(buf)), "READY=1");
	assert_int_equal(notify_send("STATUS=%d certificates, next in %s", 3, "2 days"), 0);
	assert_string_equal(next_message(f->fd, buf, sizeof(buf)),
	                    "STATUS=3 certificates, next in 2 days");
}

static void
test_abstract(void **state)
{
	struct fixture *f = *state;
	char name[64];
	char buf[64];

	snprintf(name, sizeof(name), "@acmed-test-notify-%d", (int)getpid());
	f->fd = bind_dgram(name);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	assert_int_equal(notify_send("STOPPING=1"), 0);
	assert_string_equal(next_message(f->fd, buf, sizeof(buf)), "STOPPING=1");
}

/* A long status is cut, not overflowing. */
static void
test_long(void **state)
{
	struct fixture *f = *state;
	char status[2000];
	char buf[2000];

	memset(status, 'x', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	f->fd = bind_dgram(f->path);
	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	assert_int_equal(notify_send("STATUS=%s", status), 0);
	next_message(f->fd, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "STATUS=xxx", 10), 0);
	assert_true(strlen(buf) < 512);
}

/* Not run by systemd: nothing to do, and no error. */
static void
test_not_set(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	/* Neither a path nor an abstract name. */
	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/notify", 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);
}

static void
test_failures(void **state)
{
	struct fixture *f = *state;
	char path[200];

	/* Nobody listens there. */
	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	assert_int_equal(notify_send("READY=1"), -1);
	/* Longer than a socket address holds. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(notify_send("READY=1"), -1);
}

/* Runs notify_watchdog_usec with WATCHDOG_USEC=us and WATCHDOG_PID=pid
 * (NULL: unset); *usec starts at 7 so that a call that must not set it
 * shows. Returns its result; what it logged in log (at most len). */
static int
watchdog(const char *us, const char *pid, uint64_t *usec, char *log, size_t len)
{
	struct capture c;
	int rc;

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (us != NULL) {
		assert_int_equal(setenv("WATCHDOG_USEC", us, 1), 0);
	}
	if (pid != NULL) {
		assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
	}
	*usec = 7;
	capture_begin(&c, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	rc = notify_watchdog_usec(usec);
	snprintf(log, len, "%s", capture_take(&c));
	capture_end(&c);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return rc;
}

/* Not watched: nothing said, nothing set. */
static void
test_watchdog_unset(void **state)
{
	uint64_t usec;
	char log[512];

	(void)state;
	assert_int_equal(watchdog(NULL, NULL, &usec, log, sizeof(log)), 0);
	assert_int_equal(usec, 7);
	assert_string_equal(log, "");
	/* A PID alone asks for nothing. */
	assert_int_equal(watchdog(NULL, "1", &usec, log, sizeof(log)), 0);
	assert_string_equal(log, "");
}

static void
test_watchdog_ours(void **state)
{
	uint64_t usec;
	char log[512];
	char pid[32];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(watchdog("60000000", pid, &usec, log, sizeof(log)), 1);
	assert_int_equal(usec, 60000000);
	assert_string_equal(log, "");
	/* Without WATCHDOG_PID the watchdog is for whoever reads it. */
	assert_int_equal(watchdog("3000000", NULL, &usec, log, sizeof(log)), 1);
	assert_int_equal(usec, 3000000);
	/* The largest systemd could write. */
	assert_int_equal(watchdog("18446744073709551615", pid, &usec, log, sizeof(log)), 1);
	assert_true(usec == UINT64_MAX);
}

/* Inherited by a child of the watched process: not for it. */
static void
test_watchdog_other_pid(void **state)
{
	uint64_t usec;
	char log[512];
	char pid[32];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	assert_int_equal(watchdog("60000000", pid, &usec, log, sizeof(log)), 0);
	assert_int_equal(usec, 7);
	assert_string_equal(log, "");
}

/* A malformed value: one warning line, no watchdog. */
static void
test_watchdog_bad(void **state)
{
	static const char *const bad_usec[] = {
	        "0",
	        "",
	        "abc",
	        "60s",
	        " 60",
	        "+60",
	        "-60",
	        "6 0",
	        "18446744073709551616",
	        "99999999999999999999999",
	};
	static const char *const bad_pid[] = {"0", "", "x", "-1", "12a", "99999999999"};
	uint64_t usec;
	char log[512];
	char pid[32];

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (size_t i = 0; i < sizeof(bad_usec) / sizeof(bad_usec[0]); i++) {
		assert_int_equal(watchdog(bad_usec[i], pid, &usec, log, sizeof(log)), -1);
		assert_int_equal(usec, 7);
		assert_non_null(strstr(log, "warning: WATCHDOG_USEC="));
		assert_non_null(strstr(log, "no watchdog\n"));
		assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
	}
	for (size_t i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++) {
		assert_int_equal(watchdog("60000000", bad_pid[i], &usec, log, sizeof(log)), -1);
		assert_int_equal(usec, 7);
		assert_non_null(strstr(log, "warning: WATCHDOG_PID="));
		assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_abstract, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_set, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	        cmocka_unit_test(test_watchdog_unset),
	        cmocka_unit_test(test_watchdog_ours),
	        cmocka_unit_test(test_watchdog_other_pid),
	        cmocka_unit_test(test_watchdog_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
