#include "store/store_lock.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "store/store.h"
#include "tmpdir.h"

struct fixture {
	char *dir;
	char *path; /* dir/lock */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->dir = tmpdir_make("store-lock");
	f->path = file_path(f->dir, "lock", NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "pid N (comm)" for this process, as the holder text names it. */
static void
this_holder(char *out, size_t len)
{
	char comm[64] = "?";
	FILE *f = fopen("/proc/self/comm", "re");

	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(out, len, "pid %ld (%s)", (long)getpid(), comm);
}

static void
test_try_free_lock(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN] = "";
	struct store_lock *lock;
	struct stat st;
	char *text;

	lock = store_lock_try(f->path, holder);
	assert_non_null(lock);
	/* Made when missing, for its owner alone; nothing written in it. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 0);
	store_lock_release(lock);
	/* The file stays for the next holder, still empty. */
	text = tmpdir_read(f->dir, "lock");
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
	store_lock_release(NULL);
}

static void
test_try_taken_lock(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN] = "";
	char me[STORE_LOCK_HOLDER_LEN];
	struct store_lock *first;
	struct store_lock *second;

	/* flock(2) locks belong to an open file description: a second
	 * open in the same process is refused like another process. */
	first = store_lock_try(f->path, holder);
	assert_non_null(first);
	errno = 0;
	second = store_lock_try(f->path, holder);
	assert_null(second);
	assert_int_equal(errno, EWOULDBLOCK);
	this_holder(me, sizeof(me));
	assert_string_equal(holder, me);
	/* Released, it can be taken again. */
	store_lock_release(first);
	second = store_lock_try(f->path, holder);
	assert_non_null(second);
	store_lock_release(second);
}

static void
test_try_no_folder(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN] = "untouched";
	char *path = file_path(f->dir, "missing", "lock", NULL);

	errno = 0;
	assert_null(store_lock_try(path, holder));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(holder, "untouched");
	free(path);
}

static void
test_try_refuses_symlink(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	char *target = file_path(f->dir, "elsewhere", NULL);

	/* A link planted at the lock's name is not followed. */
	assert_int_equal(symlink(target, f->path), 0);
	assert_null(store_lock_try(f->path, holder));
	assert_int_not_equal(errno, EWOULDBLOCK);
	assert_false(tmpdir_exists(f->dir, "elsewhere"));
	free(target);
}

static void
test_lock_not_inherited(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	struct store_lock *lock = store_lock_try(f->path, holder);
	char script[512];
	int status;
	pid_t pid;

	/* A program started while the lock is held (a hook) has no copy
	 * of it: it ends when the holder releases it, not when the program
	 * does. The child looks at its open descriptors after exec. */
	assert_non_null(lock);
	snprintf(script, sizeof(script),
	         "for fd in /proc/self/fd/*; do [ \"$(readlink $fd)\" = '%s' ] && exit 1; done; "
	         "exit 0",
	         f->path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	store_lock_release(lock);
}

static void
test_wait_free_lock(void **state)
{
	struct fixture *f = *state;
	double t0 = now_s();
	struct store_lock *lock = store_lock_wait(f->path, "unit", 5.0);

	assert_non_null(lock);
	assert_true(now_s() - t0 < 1.0);
	store_lock_release(lock);
}

static void
test_wait_times_out(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	struct store_lock *held = store_lock_try(f->path, holder);
	double t0;
	double took;

	assert_non_null(held);
	t0 = now_s();
	assert_null(store_lock_wait(f->path, "unit", 0.3));
	took = now_s() - t0;
	assert_true(took >= 0.3);
	assert_true(took < 3.0);
	/* Released: the next wait takes it at once. */
	store_lock_release(held);
	t0 = now_s();
	held = store_lock_wait(f->path, "unit", 0.3);
	assert_non_null(held);
	assert_true(now_s() - t0 < 0.3);
	store_lock_release(held);
}

static void
test_wait_gets_released_lock(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	struct store_lock *lock;
	int pipefd[2];
	char c;
	double t0;
	pid_t pid;

	/* Another process holds it for half a second. */
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec half = {0, 500L * 1000 * 1000};
		struct store_lock *mine = store_lock_try(f->path, holder);

		close(pipefd[0]);
		if (write(pipefd[1], mine != NULL ? "y" : "n", 1) != 1) {
			_exit(1);
		}
		nanosleep(&half, NULL);
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	assert_int_equal(c, 'y');
	t0 = now_s();
	lock = store_lock_wait(f->path, "unit", 10.0);
	assert_non_null(lock);
	assert_true(now_s() - t0 >= 0.2);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	store_lock_release(lock);
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
	struct store_lock *mark;
	char **sockets = NULL;
	size_t n = 9;
	char name[64];

	/* No locks/ folder yet: no daemon, not an error. */
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);
	assert_null(sockets);
	mark = store_lock_daemon(f->dir, "/run/acmed/a.sock");
	assert_non_null(mark);
	snprintf(name, sizeof(name), "daemon.%ld", (long)getpid());
	assert_true(has_mark(f->dir, name));
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], "/run/acmed/a.sock");
	store_list_free(sockets, n);
	store_lock_release(mark);
	assert_false(has_mark(f->dir, name));
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);
}

/* A relative socket path is recorded from the working directory: the
 * reader runs elsewhere. */
static void
test_daemon_mark_relative(void **state)
{
	struct fixture *f = *state;
	struct store_lock *mark;
	char **sockets = NULL;
	size_t n = 0;
	char cwd[4096];
	char want[4200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/ctl.sock", cwd);
	mark = store_lock_daemon(f->dir, "ctl.sock");
	assert_non_null(mark);
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], want);
	store_list_free(sockets, n);
	store_lock_release(mark);
}

/* A daemon gone without its release (kill -9: the process ends, its lock
 * with it, the file stays) is not a daemon; the next one removes its mark.
 * Two live daemons on one folder are both found. */
static void
test_daemon_mark_killed(void **state)
{
	struct fixture *f = *state;
	struct store_lock *mark;
	struct store_lock *other;
	char **sockets = NULL;
	size_t n = 0;
	char dead[64];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Exits holding it, as kill -9 would leave it. */
		_exit(store_lock_daemon(f->dir, "/run/dead.sock") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(dead, sizeof(dead), "daemon.%ld", (long)pid);
	assert_true(has_mark(f->dir, dead));
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A second live daemon: holds its mark until told to go. */
		other = store_lock_daemon(f->dir, "/run/b.sock");
		pause();
		_exit(other != NULL ? 0 : 1);
	}
	mark = store_lock_daemon(f->dir, "/run/a.sock");
	assert_non_null(mark);
	assert_false(has_mark(f->dir, dead));
	for (int i = 0; i < 100 && n < 2; i++) {
		store_list_free(sockets, n);
		assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
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
	assert_int_equal(store_lock_daemons(f->dir, &sockets, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sockets[0], "/run/a.sock");
	store_list_free(sockets, n);
	store_lock_release(mark);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_try_free_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_try_taken_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_try_no_folder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_try_refuses_symlink, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock_not_inherited, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wait_free_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wait_times_out, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wait_gets_released_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_mark, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_mark_relative, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_daemon_mark_killed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
