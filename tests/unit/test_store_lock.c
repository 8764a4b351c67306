#include "store/store_lock.h"

#include <errno.h>
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

/* Whether a lock is held: by another process, or another open of it. */
static void
test_busy(void **state)
{
	struct fixture *f = *state;
	char holder[STORE_LOCK_HOLDER_LEN];
	struct store_lock *lock;

	assert_false(store_lock_busy(f->path));
	/* Nothing was created by the look. */
	assert_int_equal(access(f->path, F_OK), -1);
	lock = store_lock_try(f->path, holder);
	assert_non_null(lock);
	assert_true(store_lock_busy(f->path));
	store_lock_release(lock);
	assert_false(store_lock_busy(f->path));
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
	        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
