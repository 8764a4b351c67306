/* A daemon's mark on its state folder (store_daemon.c): found while its
 * daemon lives, gone at its unmark, not counted after kill -9 and removed
 * by the next daemon; two daemons on one folder. */
#include "store/store_daemon.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "store/store.h"
#include "tmpdir.h"

struct fixture {
	char *dir;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->dir = tmpdir_make("store-daemon");
	*state = f;
	return f->dir != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Whether dir/locks holds a file called name. */
static bool
has_mark(const char *dir, const char *name)
{
	char *path = file_path(dir, "locks", name, NULL);
	bool ret = path != NULL && access(path, F_OK) == 0;

	free(path);
	return ret;
}

/* A daemon's mark: its socket found from the folder alone while it is held,
 * gone at release. */
static void
test_daemon_mark(void **state)
{
	struct fixture *f = *state;
	struct store_daemon *mark;
	char **sockets = NULL;
	size_t n = 9;
	char name[64];

	/* No locks/ folder yet: no daemon, not an error. */
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);
	assert_null(sockets);
	mark = store_daemon_mark(f->dir, "/run/acmed/a.sock");
	assert_non_null(mark);
	snprintf(name, sizeof(name), "daemon.%ld", (long)getpid());
	assert_true(has_mark(f->dir, name));
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], "/run/acmed/a.sock");
	store_list_free(sockets, n);
	store_daemon_unmark(mark);
	assert_false(has_mark(f->dir, name));
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);
}

/* A relative socket path is recorded from the working directory: the
 * reader runs elsewhere. */
static void
test_daemon_mark_relative(void **state)
{
	struct fixture *f = *state;
	struct store_daemon *mark;
	char **sockets = NULL;
	size_t n = 0;
	char cwd[4096];
	char want[4200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/ctl.sock", cwd);
	mark = store_daemon_mark(f->dir, "ctl.sock");
	assert_non_null(mark);
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], want);
	store_list_free(sockets, n);
	store_daemon_unmark(mark);
}

/* A daemon gone without its release (kill -9: the process ends, its lock
 * with it, the file stays) is not a daemon; the next one removes its mark.
 * Two live daemons on one folder are both found. */
static struct store_daemon *volatile killed_mark;

static void
test_daemon_mark_killed(void **state)
{
	struct fixture *f = *state;
	struct store_daemon *mark;
	struct store_daemon *other;
	char **sockets = NULL;
	size_t n = 0;
	char dead[64];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Exits holding it, as kill -9 would leave it (kept in a
		 * static so that valgrind sees it reachable, not leaked). */
		killed_mark = store_daemon_mark(f->dir, "/run/dead.sock");
		_exit(killed_mark != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(dead, sizeof(dead), "daemon.%ld", (long)pid);
	assert_true(has_mark(f->dir, dead));
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A second live daemon: holds its mark until told to go. */
		other = store_daemon_mark(f->dir, "/run/b.sock");
		pause();
		_exit(other != NULL ? 0 : 1);
	}
	mark = store_daemon_mark(f->dir, "/run/a.sock");
	assert_non_null(mark);
	assert_false(has_mark(f->dir, dead));
	for (int i = 0; i < 100 && n < 2; i++) {
		store_list_free(sockets, n);
		assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
		if (n < 2) {
			usleep(20 * 1000);
		}
	}
	assert_int_equal(n, 2);
	assert_true(
	        (strcmp(sockets[0], "/run/a.sock") == 0 &&
	         strcmp(sockets[1], "/run/b.sock") == 0) ||
	        (strcmp(sockets[1], "/run/a.sock") == 0 && strcmp(sockets[0], "/run/b.sock") == 0));
	store_list_free(sockets, n);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_int_equal(store_daemon_list(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], "/run/a.sock");
	store_list_free(sockets, n);
	store_daemon_unmark(mark);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_daemon_mark, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_mark_relative, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_mark_killed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
