/* renew/batch_hooks.c: the pre-hook once for the jobs that come together,
 * the jobs let go after it, the post-hook once after the last left, a
 * failing pre-hook failing the batch with a self-contained reason, and no
 * hooks when none is set. Real programs (sh) on the default loop. */
#include "renew/batch_hooks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tmpdir.h"

struct seen {
	int called;
	char failed[1024];
};

static void
on_go(const char *failed, void *arg)
{
	struct seen *s = arg;

	s->called++;
	snprintf(s->failed, sizeof(s->failed), "%s", failed != NULL ? failed : "");
}

/* A hook that appends "STAGE NAMES ARG" to dir/log and exits with ARG's
 * number when it is one. */
static char *
make_hook(const char *dir)
{
	char text[512];

	snprintf(text, sizeof(text),
	         "#!/bin/sh\necho \"$ACMED_HOOK $ACMED_CERT_NAMES $1\" >> %s/log\n"
	         "case $1 in [0-9]) echo \"out $1\"; exit $1;; esac\nexit 0\n",
	         dir);
	return tmpdir_write(dir, "hook", text, 0755);
}

static void
run_until(struct seen *s, int n)
{
	while (s->called < n) {
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	}
}

static void
test_none(void **state)
{
	(void)state;
	assert_null(batch_hooks_create(EV_DEFAULT, NULL, NULL, 10, false));
	batch_hooks_destroy(NULL);
	assert_int_equal(batch_hooks_finish(NULL), 0);
}

static void
test_once_around(void **state)
{
	char *dir = tmpdir_make("batch");
	char *hook = make_hook(dir);
	char pre[600], post[600];
	struct seen a = {0}, b = {0}, c = {0};
	struct batch_hooks *bh;
	char *log;

	(void)state;
	snprintf(pre, sizeof(pre), "%s x", hook);
	snprintf(post, sizeof(post), "%s y", hook);
	bh = batch_hooks_create(EV_DEFAULT, pre, post, 10, false);
	assert_non_null(bh);
	batch_hooks_enter(bh, "www", on_go, &a);
	batch_hooks_enter(bh, "api", on_go, &b);
	assert_int_equal(a.called + b.called, 0);
	run_until(&a, 1);
	run_until(&b, 1);
	assert_string_equal(a.failed, "");
	assert_string_equal(b.failed, "");
	/* One that comes once the pre-hook ran goes at once. */
	batch_hooks_enter(bh, "late", on_go, &c);
	assert_int_equal(c.called, 1);
	batch_hooks_leave(bh, &a);
	batch_hooks_leave(bh, &b);
	batch_hooks_leave(bh, &c);
	assert_int_equal(batch_hooks_finish(bh), 0);
	log = tmpdir_read(dir, "log");
	assert_string_equal(log, "pre www api x\npost www api late y\n");
	free(log);
	/* A second finish with no batch runs nothing. */
	assert_int_equal(batch_hooks_finish(bh), 0);
	assert_int_equal(tmpdir_lines(dir, "log"), 2);
	batch_hooks_destroy(bh);
	free(hook);
	tmpdir_remove(dir);
	free(dir);
}

static void
test_pre_fails(void **state)
{
	char *dir = tmpdir_make("batch");
	char *hook = make_hook(dir);
	char pre[600], post[600];
	struct seen a = {0};
	struct batch_hooks *bh;
	char *log;

	(void)state;
	snprintf(pre, sizeof(pre), "%s 3", hook);
	snprintf(post, sizeof(post), "%s y", hook);
	bh = batch_hooks_create(EV_DEFAULT, pre, post, 10, true);
	batch_hooks_enter(bh, "www", on_go, &a);
	run_until(&a, 1);
	/* Named and with what it said: stored, shown by status later. */
	assert_non_null(strstr(a.failed, "not ordered: pre-hook '"));
	assert_non_null(strstr(a.failed, "failed: exit 3: out 3"));
	batch_hooks_leave(bh, &a);
	/* The daemon's way: the post-hook when the runner is idle. */
	batch_hooks_idle(bh);
	assert_int_equal(batch_hooks_finish(bh), -1);
	log = tmpdir_read(dir, "log");
	assert_string_equal(log, "pre www 3\npost www y\n");
	free(log);
	batch_hooks_destroy(bh);
	free(hook);
	tmpdir_remove(dir);
	free(dir);
}

/* A daemon's batch made without hooks takes them at a reload. */
static void
test_set_on_reload(void **state)
{
	char *dir = tmpdir_make("batch");
	char *hook = make_hook(dir);
	char pre[600], post[600];
	struct seen a = {0};
	struct batch_hooks *bh;
	char *log;

	(void)state;
	bh = batch_hooks_create(EV_DEFAULT, NULL, NULL, 10, true);
	assert_non_null(bh);
	assert_false(batch_hooks_any(bh));
	assert_false(batch_hooks_has_post(bh));
	snprintf(pre, sizeof(pre), "%s new", hook);
	snprintf(post, sizeof(post), "%s z", hook);
	assert_int_equal(batch_hooks_set(bh, pre, post, 10), 0);
	assert_true(batch_hooks_any(bh));
	assert_true(batch_hooks_has_post(bh));
	batch_hooks_enter(bh, "www", on_go, &a);
	run_until(&a, 1);
	assert_string_equal(a.failed, "");
	batch_hooks_leave(bh, &a);
	batch_hooks_idle(bh);
	assert_int_equal(batch_hooks_finish(bh), 0);
	log = tmpdir_read(dir, "log");
	assert_string_equal(log, "pre www new\npost www z\n");
	free(log);
	/* Taken away again: nothing to join. */
	assert_int_equal(batch_hooks_set(bh, NULL, NULL, 10), 0);
	assert_false(batch_hooks_any(bh));
	batch_hooks_destroy(bh);
	free(hook);
	tmpdir_remove(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_none),
	        cmocka_unit_test(test_once_around),
	        cmocka_unit_test(test_pre_fails),
	        cmocka_unit_test(test_set_on_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
