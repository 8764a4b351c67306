#include "io/hook.h"

#include <ev.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* argv and env arrays are char *const[]; the literals are never written. */
#define W(s) ((char *)(s))

struct result {
	bool called;
	int calls;
	int status;
	char why[256];
	char *output;
	size_t output_len;
};

struct fixture {
	char dir[64];
	struct ev_loop *loop;
	struct ev_timer watchdog;
	bool watchdog_fired;
};

static void
on_done(int status, const char *why, const char *output, void *arg)
{
	struct result *r = arg;

	r->called = true;
	r->calls++;
	r->status = status;
	snprintf(r->why, sizeof(r->why), "%s", why != NULL ? why : "");
	r->output_len = strlen(output);
	r->output = strdup(output);
	ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
on_watchdog(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct fixture *f = w->data;

	f->watchdog_fired = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until a hook is done (or seconds pass). */
static void
run_loop(struct fixture *f, double seconds)
{
	f->watchdog_fired = false;
	ev_now_update(f->loop);
	ev_timer_init(&f->watchdog, on_watchdog, seconds, 0.);
	f->watchdog.data = f;
	ev_timer_start(f->loop, &f->watchdog);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &f->watchdog);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/acmed-test-hook-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->loop = EV_DEFAULT;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Writes an executable shell script; returns its path (static buffer). */
static const char *
script(struct fixture *f, const char *name, const char *body)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\n%s", body);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static void
result_finish(struct result *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}

static void
run_hook(struct fixture *f, char *const argv[], char *const env[], double timeout, struct result *r)
{
	struct hook *h;

	memset(r, 0, sizeof(*r));
	h = hook_run(f->loop, argv, env, timeout, on_done, r);
	assert_non_null(h);
	assert_false(r->called); /* never from inside hook_run */
	run_loop(f, 30.);
	assert_false(f->watchdog_fired);
	assert_true(r->called);
	assert_int_equal(r->calls, 1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_argv_verbatim(void **state)
{
	struct fixture *f = *state;
	char marker[128];
	char evil[512];
	char expected[1024];
	struct result r;
	const char *prog = script(f, "args", "for a; do printf '[%s]\\n' \"$a\"; done\n");
	char *argv[] = {(char *)prog, W("two words"), evil, W("it's \"quoted\""),
	                W(""),        W("*"),         NULL};

	snprintf(marker, sizeof(marker), "%s/pwned", f->dir);
	snprintf(evil, sizeof(evil), "$(touch %s) `touch %s`; touch %s", marker, marker, marker);
	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.why, "");
	snprintf(expected, sizeof(expected), "[two words]\n[%s]\n[it's \"quoted\"]\n[]\n[*]\n",
	         evil);
	assert_string_equal(r.output, expected);
	assert_int_equal(access(marker, F_OK), -1);
	result_finish(&r);
}

static void
test_env(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "env",
	                          "printf '%s|%s|%s|%s\\n' \"$ACMED_ACTION\" \"$ACMED_DOMAIN\" "
	                          "\"$ACMED_TEST_PARENT\" \"$ACMED_TEST_OVERRIDE\"\n");
	char *argv[] = {(char *)prog, NULL};
	char *env[] = {W("ACMED_ACTION=add"), W("ACMED_DOMAIN=example.org"),
	               W("ACMED_TEST_OVERRIDE=new value"), NULL};

	assert_int_equal(setenv("ACMED_TEST_PARENT", "from parent", 1), 0);
	assert_int_equal(setenv("ACMED_TEST_OVERRIDE", "old", 1), 0);
	run_hook(f, argv, env, 10., &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.output, "add|example.org|from parent|new value\n");
	result_finish(&r);
	unsetenv("ACMED_TEST_PARENT");
	unsetenv("ACMED_TEST_OVERRIDE");
}

static void
test_stdin_is_devnull(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "stdin", "cat; echo end\n");
	char *argv[] = {(char *)prog, NULL};

	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.output, "end\n");
	result_finish(&r);
}

/* hook_run_input: the program reads the input on its stdin, all of it
 * (up to HOOK_MAX_INPUT); more is refused before anything runs; a program
 * that reads nothing still ends with its own status. */
static void
test_stdin_input(void **state)
{
	struct fixture *f = *state;
	struct result r;
	/* script() answers in one buffer: each path copied. */
	char *prog = strdup(script(f, "stdin", "wc -c; head -c 5\n"));
	char *quiet = strdup(script(f, "quiet", "exit 4\n"));
	char *argv[] = {prog, NULL};
	char *argv_quiet[] = {quiet, NULL};
	char *big = malloc(HOOK_MAX_INPUT + 1);
	struct hook *h;

	assert_non_null(big);
	memset(big, 'x', HOOK_MAX_INPUT + 1);
	memset(&r, 0, sizeof(r));
	h = hook_run_input(f->loop, argv, NULL, big, HOOK_MAX_INPUT, 10., on_done, &r);
	assert_non_null(h);
	run_loop(f, 30.);
	assert_true(r.called);
	assert_int_equal(r.status, 0);
	assert_int_equal(atoi(r.output), HOOK_MAX_INPUT);
	result_finish(&r);
	memset(&r, 0, sizeof(r));
	assert_null(hook_run_input(f->loop, argv, NULL, big, HOOK_MAX_INPUT + 1, 10., on_done, &r));
	assert_false(r.called);
	h = hook_run_input(f->loop, argv_quiet, NULL, big, HOOK_MAX_INPUT, 10., on_done, &r);
	assert_non_null(h);
	run_loop(f, 30.);
	assert_true(r.called);
	assert_int_equal(r.status, 4);
	result_finish(&r);
	free(big);
	free(prog);
	free(quiet);
}

static void
test_exit_code_and_stderr(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "fail", "echo out; echo err >&2; exit 3\n");
	char *argv[] = {(char *)prog, NULL};

	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.why, "exit 3");
	assert_string_equal(r.output, "out\nerr\n");
	result_finish(&r);
}

static void
test_killed_by_signal(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "suicide", "kill -9 $$\n");
	char *argv[] = {(char *)prog, NULL};

	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "killed by signal 9");
	result_finish(&r);
}

static void
test_signals_and_fds_reset(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "pipe",
	                          "[ -e /proc/$$/fd/50 ] && echo leaked || echo clean\n"
	                          "kill -PIPE $$\n"
	                          "echo survived\n");
	char *argv[] = {(char *)prog, NULL};
	int fd = open("/dev/null", O_RDONLY);

	/* acmed ignores SIGPIPE and holds descriptors without O_CLOEXEC: the
	 * hook gets neither. */
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 50), 50);
	close(fd);
	run_hook(f, argv, NULL, 10., &r);
	close(50);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "killed by signal 13");
	assert_string_equal(r.output, "clean\n");
	result_finish(&r);
}

static void
test_output_capped(void **state)
{
	struct fixture *f = *state;
	struct result r;
	/* Far more than a pipe holds: the hook must not block on it. */
	const char *prog = script(f, "chatty",
	                          "head -c 300000 /dev/zero | tr '\\0' a\n"
	                          "echo done >&2\n");
	char *argv[] = {(char *)prog, NULL};
	size_t i;

	run_hook(f, argv, NULL, 20., &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.output_len, HOOK_MAX_OUTPUT);
	for (i = 0; i < r.output_len; i++) {
		assert_int_equal(r.output[i], 'a');
	}
	result_finish(&r);
}

/* Whether pid is gone (or a zombie waiting for a reaper that is not us). */
static bool
process_gone(pid_t pid)
{
	char path[64];
	char buf[256];
	FILE *fp;
	char *p;
	bool gone = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL) {
		goto out;
	}
	if (fgets(buf, sizeof(buf), fp) != NULL) {
		p = strrchr(buf, ')');
		gone = p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	}
	fclose(fp);
out:
	return gone;
}

/* A killed process closes its descriptors (our EOF) a moment before it is a
 * zombie: give it that moment. */
static bool
process_ends(pid_t pid)
{
	double start = now();

	while (!process_gone(pid) && now() - start < 2.) {
		usleep(10000);
	}
	return process_gone(pid);
}

static pid_t
read_pid(const char *path)
{
	FILE *fp = fopen(path, "r");
	long pid = 0;

	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	return (pid_t)pid;
}

static void
test_timeout_kills_group(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char pidfile[128];
	char body[512];
	const char *prog;
	char *argv[] = {NULL, NULL};
	double start;
	double elapsed;
	pid_t child;

	snprintf(pidfile, sizeof(pidfile), "%s/pid", f->dir);
	snprintf(body, sizeof(body),
	         "sleep 30 &\n"
	         "echo $! > %s.tmp && mv %s.tmp %s\n"
	         "echo started\n"
	         "wait\n",
	         pidfile, pidfile, pidfile);
	prog = script(f, "sleeper", body);
	argv[0] = (char *)prog;
	start = now();
	run_hook(f, argv, NULL, 1., &r);
	elapsed = now() - start;
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "killed after 1 s timeout");
	assert_string_equal(r.output, "started\n");
	assert_true(elapsed >= 0.9);
	assert_true(elapsed < 4.);
	child = read_pid(pidfile);
	assert_true(child > 0);
	assert_true(process_ends(child));
	result_finish(&r);
}

static void
test_timeout_sigkill(void **state)
{
	struct fixture *f = *state;
	struct result r;
	const char *prog = script(f, "stubborn", "trap '' TERM\necho ignoring\nsleep 30\n");
	char *argv[] = {(char *)prog, NULL};
	double start;
	double elapsed;

	start = now();
	run_hook(f, argv, NULL, 0.5, &r);
	elapsed = now() - start;
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "killed after 0.5 s timeout");
	assert_string_equal(r.output, "ignoring\n");
	assert_true(elapsed >= 5.);
	assert_true(elapsed < 8.);
	result_finish(&r);
}

static void
test_leftover_child_does_not_hold_done(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char pidfile[128];
	char body[512];
	char *argv[] = {NULL, NULL};
	double start;
	pid_t child;

	/* A hook that starts something long-lived which keeps its stdout. */
	snprintf(pidfile, sizeof(pidfile), "%s/daemon", f->dir);
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s\necho ok\nexit 0\n", pidfile);
	argv[0] = (char *)script(f, "daemon", body);
	start = now();
	run_hook(f, argv, NULL, 20., &r);
	assert_true(now() - start < 10.);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.output, "ok\n");
	child = read_pid(pidfile);
	assert_true(child > 0);
	kill(child, SIGKILL);
	result_finish(&r);
}

static void
test_cannot_run(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char *missing[] = {W("/nonexistent/acmed-hook"), W("add"), NULL};
	char *not_in_path[] = {W("acmed-test-no-such-program"), NULL};
	char noexec[128];
	char *argv[] = {noexec, NULL};
	FILE *fp;

	run_hook(f, missing, NULL, 10., &r);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "cannot run: No such file or directory");
	assert_string_equal(r.output, "");
	result_finish(&r);

	run_hook(f, not_in_path, NULL, 10., &r);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "cannot run: No such file or directory");
	result_finish(&r);

	snprintf(noexec, sizeof(noexec), "%s/noexec", f->dir);
	fp = fopen(noexec, "w");
	assert_non_null(fp);
	fclose(fp);
	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "cannot run: Permission denied");
	result_finish(&r);
}

static void
test_path_lookup(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char *argv[] = {W("sh"), W("-c"), W("echo $0 $1"), W("x"), W("y"), NULL};

	run_hook(f, argv, NULL, 10., &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.output, "x y\n");
	result_finish(&r);
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char pidfile[128];
	char body[512];
	char *argv[] = {NULL, NULL};
	struct hook *h;
	double start;
	pid_t pid = 0;

	snprintf(pidfile, sizeof(pidfile), "%s/cancel.pid", f->dir);
	snprintf(body, sizeof(body), "echo $$ > %s.tmp && mv %s.tmp %s\nexec sleep 30\n", pidfile,
	         pidfile, pidfile);
	argv[0] = (char *)script(f, "cancel", body);
	memset(&r, 0, sizeof(r));
	h = hook_run(f->loop, argv, NULL, 10., on_done, &r);
	assert_non_null(h);
	start = now();
	while (access(pidfile, F_OK) != 0 && now() - start < 10.) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(10000);
	}
	pid = read_pid(pidfile);
	hook_cancel(h);
	run_loop(f, 0.5);
	assert_false(r.called);
	assert_true(process_ends(pid));
	hook_cancel(NULL);
}

/* What test_stop's timer looks at: the hook's child is up, then stop. */
struct stopper {
	struct ev_timer timer;
	struct hook *hook;
	const char *pidfile;
	bool stopped;
};

static void
on_stopper(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct stopper *s = w->data;

	if (access(s->pidfile, F_OK) == 0) {
		ev_timer_stop(loop, w);
		hook_stop(s->hook);
		hook_stop(s->hook); /* a second does nothing more */
		s->stopped = true;
	}
}

/* Its owner stops: the timeout's way out, now; done says "stopped". */
static void
test_stop(void **state)
{
	struct fixture *f = *state;
	struct result r;
	struct stopper s;
	char pidfile[128];
	char body[512];
	char *argv[] = {NULL, NULL};
	pid_t child;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", f->dir);
	snprintf(body, sizeof(body),
	         "sleep 30 &\n"
	         "echo $! > %s.tmp && mv %s.tmp %s\n"
	         "wait\n",
	         pidfile, pidfile, pidfile);
	argv[0] = (char *)script(f, "stopped", body);
	s.pidfile = pidfile;
	s.hook = hook_run(f->loop, argv, NULL, 600., on_done, &r);
	assert_non_null(s.hook);
	ev_timer_init(&s.timer, on_stopper, 0.05, 0.05);
	s.timer.data = &s;
	ev_timer_start(f->loop, &s.timer);
	run_loop(f, 30.);
	ev_timer_stop(f->loop, &s.timer);
	assert_false(f->watchdog_fired);
	assert_true(s.stopped);
	assert_true(r.called);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.why, "stopped");
	child = read_pid(pidfile);
	assert_true(child > 0);
	assert_true(process_ends(child));
	result_finish(&r);
	hook_stop(NULL);
}

static void
test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct result r;
	char *empty[] = {NULL};

	memset(&r, 0, sizeof(r));
	assert_null(hook_run(f->loop, empty, NULL, 1., on_done, &r));
	assert_null(hook_run(f->loop, NULL, NULL, 1., on_done, &r));
	assert_false(r.called);
}

static void
check_split(const char *command, const char *const expected[])
{
	char **argv = hook_split(command);
	size_t i;

	if (expected == NULL) {
		assert_null(argv);
		return;
	}
	assert_non_null(argv);
	for (i = 0; expected[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], expected[i]);
	}
	assert_null(argv[i]);
	hook_argv_free(argv);
}

static void
test_split(void **state)
{
	check_split("/usr/bin/prog", (const char *const[]){"/usr/bin/prog", NULL});
	check_split("  a\tb   c  ", (const char *const[]){"a", "b", "c", NULL});
	check_split("prog 'two words' \"and three more\"",
	            (const char *const[]){"prog", "two words", "and three more", NULL});
	check_split("a'b c'd", (const char *const[]){"ab cd", NULL});
	check_split("x '' y", (const char *const[]){"x", "", "y", NULL});
	check_split("\"it's\" 'say \"hi\"'", (const char *const[]){"it's", "say \"hi\"", NULL});
	check_split(
	        "$(reboot) `id` ~ * $HOME a\\ b",
	        (const char *const[]){"$(reboot)", "`id`", "~", "*", "$HOME", "a\\", "b", NULL});
	check_split("", NULL);
	check_split(" \t ", NULL);
	check_split(NULL, NULL);
	check_split("prog 'open", NULL);
	check_split("prog \"open", NULL);
	check_split("prog 'mixed\"", NULL);
}

static void
test_argv_append(void **state)
{
	char **argv = hook_split("prog --flag");
	char *extra[] = {W("add"), W("name with space"), NULL};
	char *none[] = {NULL};

	assert_non_null(argv);
	argv = hook_argv_append(argv, extra);
	assert_non_null(argv);
	assert_string_equal(argv[0], "prog");
	assert_string_equal(argv[1], "--flag");
	assert_string_equal(argv[2], "add");
	assert_string_equal(argv[3], "name with space");
	assert_null(argv[4]);
	argv = hook_argv_append(argv, none);
	assert_non_null(argv);
	assert_null(argv[4]);
	hook_argv_free(argv);

	argv = hook_argv_append(NULL, extra);
	assert_non_null(argv);
	assert_string_equal(argv[1], "name with space");
	assert_null(argv[2]);
	hook_argv_free(argv);
	hook_argv_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_argv_verbatim, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stdin_is_devnull, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stdin_input, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exit_code_and_stderr, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_killed_by_signal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_signals_and_fds_reset, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_output_capped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_sigkill, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_leftover_child_does_not_hold_done, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_cannot_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_path_lookup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	        cmocka_unit_test(test_split),
	        cmocka_unit_test(test_argv_append),
	};

	/* A hook must get the default SIGPIPE even when acmed ignores it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
