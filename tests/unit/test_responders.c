#include "renew/responders.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/file.h"
#include "tmpdir.h"

struct fixture {
	char *dir;
	struct responders *p;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->dir = tmpdir_make("responders");
	f->p = responders_create(EV_DEFAULT);
	if (f->p == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	responders_destroy(f->p);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* http-01 settings answering from a webroot under the test's folder. */
static void
webroot_settings(struct conf_settings *s, const struct fixture *f, const char *sub)
{
	char err[256];
	char *path = file_path(f->dir, sub, NULL);

	memset(s, 0, sizeof(*s));
	assert_non_null(path);
	assert_int_equal(conf_set(s, CONF_WHERE_CERT, "challenge", "http-01", err, sizeof(err)), 0);
	assert_int_equal(conf_set(s, CONF_WHERE_CERT, "webroot", path, err, sizeof(err)), 0);
	free(path);
}

static void
test_equal_settings_share(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;
	struct challenge *one;
	char err[256];

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "www");
	/* What the responder does not depend on does not split it. */
	assert_int_equal(
	        conf_set(&b, CONF_WHERE_CERT, "deploy-hook", "/bin/true", err, sizeof(err)), 0);
	assert_int_equal(responders_count(f->p), 0);
	one = responders_get(f->p, &a);
	assert_non_null(one);
	assert_int_equal(responders_count(f->p), 1);
	assert_ptr_equal(responders_get(f->p, &b), one);
	assert_ptr_equal(responders_get(f->p, &a), one);
	assert_int_equal(responders_count(f->p), 1);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
}

static void
test_different_settings_apart(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;
	struct conf_settings dns;
	struct challenge *one;
	struct challenge *two;
	struct challenge *three;
	char err[256];

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "other");
	memset(&dns, 0, sizeof(dns));
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "challenge", "dns-01", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "dns-hook", "/bin/true", err, sizeof(err)),
	                 0);
	one = responders_get(f->p, &a);
	two = responders_get(f->p, &b);
	three = responders_get(f->p, &dns);
	assert_non_null(one);
	assert_non_null(two);
	assert_non_null(three);
	assert_ptr_not_equal(one, two);
	assert_ptr_not_equal(one, three);
	assert_ptr_not_equal(two, three);
	assert_int_equal(responders_count(f->p), 3);
	/* Each still found again. */
	assert_ptr_equal(responders_get(f->p, &b), two);
	assert_ptr_equal(responders_get(f->p, &dns), three);
	assert_int_equal(responders_count(f->p), 3);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
	conf_settings_finish(&dns);
}

static void
test_no_responder(void **state)
{
	struct fixture *f = *state;
	struct conf_settings s;
	char err[256];

	/* dns-01 without a dns-hook: none to make, nothing kept. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_CERT, "challenge", "dns-01", err, sizeof(err)), 0);
	assert_null(responders_get(f->p, &s));
	assert_int_equal(responders_count(f->p), 0);
	conf_settings_finish(&s);
}

static void
test_close(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "other");
	assert_non_null(responders_get(f->p, &a));
	assert_non_null(responders_get(f->p, &b));
	assert_int_equal(responders_count(f->p), 2);
	responders_close(f->p);
	assert_int_equal(responders_count(f->p), 0);
	/* Closing an empty set is harmless; the next get opens anew. */
	responders_close(f->p);
	assert_int_equal(responders_count(f->p), 0);
	assert_non_null(responders_get(f->p, &a));
	assert_int_equal(responders_count(f->p), 1);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
	responders_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_equal_settings_share, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_different_settings_apart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_responder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_close, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
