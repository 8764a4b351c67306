#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* Link-time seam: this geteuid takes the place of libc's for the code under
 * test, so that a test can play root or a user. */
static int fake_euid = -1;

uid_t
geteuid(void)
{
	if (fake_euid >= 0) {
		return (uid_t)fake_euid;
	}
	return (uid_t)syscall(SYS_geteuid);
}

/* The variables the defaults read; saved before each test, restored after. */
static const char *const vars[] = {
        "HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "STATE_DIRECTORY", "RUNTIME_DIRECTORY",
};

#define N_VARS (sizeof(vars) / sizeof(vars[0]))

static int
setup(void **state)
{
	char **saved = calloc(N_VARS, sizeof(*saved));

	if (saved == NULL) {
		return -1;
	}
	for (size_t i = 0; i < N_VARS; i++) {
		const char *v = getenv(vars[i]);

		saved[i] = v != NULL ? strdup(v) : NULL;
		unsetenv(vars[i]);
	}
	*state = saved;
	return 0;
}

static int
teardown(void **state)
{
	char **saved = *state;

	for (size_t i = 0; i < N_VARS; i++) {
		if (saved[i] != NULL) {
			setenv(vars[i], saved[i], 1);
		} else {
			unsetenv(vars[i]);
		}
		free(saved[i]);
	}
	free(saved);
	fake_euid = -1;
	return 0;
}

/* Asserts that got (freed here) is want. */
static void
assert_path(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_default_dir(void **state)
{
	(void)state;
	fake_euid = 0;
	setenv("XDG_STATE_HOME", "/xdg", 1);
	assert_path(store_default_dir(), ACMED_STATEDIR);

	fake_euid = 1000;
	assert_path(store_default_dir(), "/xdg/acmed");

	/* A relative XDG_STATE_HOME is ignored (XDG Base Directory). */
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("HOME", "/home/op", 1);
	assert_path(store_default_dir(), "/home/op/.local/state/acmed");

	unsetenv("XDG_STATE_HOME");
	assert_path(store_default_dir(), "/home/op/.local/state/acmed");

	unsetenv("HOME");
	assert_null(store_default_dir());
	setenv("HOME", "", 1);
	assert_null(store_default_dir());
}

static void
test_default_dir_systemd(void **state)
{
	(void)state;
	/* systemd's StateDirectory= wins, for root as for a user. */
	setenv("STATE_DIRECTORY", "/var/lib/acmed-unit", 1);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	fake_euid = 0;
	assert_path(store_default_dir(), "/var/lib/acmed-unit");
	fake_euid = 1000;
	assert_path(store_default_dir(), "/var/lib/acmed-unit");

	/* Several folders (colon-separated) or a relative one name none. */
	setenv("STATE_DIRECTORY", "/var/lib/a:/var/lib/b", 1);
	assert_path(store_default_dir(), "/xdg/acmed");
	setenv("STATE_DIRECTORY", "var/lib/acmed", 1);
	assert_path(store_default_dir(), "/xdg/acmed");
	fake_euid = 0;
	assert_path(store_default_dir(), ACMED_STATEDIR);
}

static void
test_default_socket_systemd(void **state)
{
	(void)state;
	/* systemd's RuntimeDirectory= wins, for root as for a user. */
	setenv("RUNTIME_DIRECTORY", "/run/acmed-unit", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	fake_euid = 0;
	assert_path(store_default_socket(), "/run/acmed-unit/acmed.sock");
	fake_euid = 1000;
	assert_path(store_default_socket(), "/run/acmed-unit/acmed.sock");

	setenv("RUNTIME_DIRECTORY", "/run/a:/run/b", 1);
	assert_path(store_default_socket(), "/run/user/1000/acmed.sock");
	setenv("RUNTIME_DIRECTORY", "run/acmed", 1);
	assert_path(store_default_socket(), "/run/user/1000/acmed.sock");
}

static void
test_default_socket_root(void **state)
{
	(void)state;
	/* Root's socket is in the system's runtime folder, whatever a user's
	 * environment says. */
	fake_euid = 0;
	setenv("XDG_RUNTIME_DIR", "/run/user/0", 1);
	setenv("HOME", "/root", 1);
	assert_path(store_default_socket(), ACMED_RUNDIR "/acmed.sock");
}

static void
test_default_socket_user(void **state)
{
	(void)state;
	fake_euid = 1000;
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("HOME", "/home/op", 1);
	assert_path(store_default_socket(), "/run/user/1000/acmed.sock");

	/* Without a runtime folder (or a relative one): in the state
	 * folder. */
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	assert_path(store_default_socket(), "/home/op/.local/state/acmed/acmed.sock");
	unsetenv("XDG_RUNTIME_DIR");
	setenv("XDG_STATE_HOME", "/xdg", 1);
	assert_path(store_default_socket(), "/xdg/acmed/acmed.sock");
	setenv("STATE_DIRECTORY", "/var/lib/acmed-unit", 1);
	assert_path(store_default_socket(), "/var/lib/acmed-unit/acmed.sock");

	/* Nowhere to put it. */
	unsetenv("STATE_DIRECTORY");
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	assert_null(store_default_socket());
}

/* Every certificate folder of a state folder, sorted; not what
 * store_cert_dir cannot name, nor files. */
static void
test_list_certs(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store.XXXXXX";
	char *root = mkdtemp(tmpl);
	char path[512];
	char **names = NULL;
	size_t n = 99;

	(void)state;
	assert_non_null(root);
	assert_int_equal(store_list_certs(root, &names, &n), 0);
	assert_null(names);
	assert_int_equal(n, 0);
	snprintf(path, sizeof(path), "%s/certs", root);
	assert_int_equal(mkdir(path, 0755), 0);
	for (size_t i = 0; i < 4; i++) {
		static const char *const dirs[] = {"www", "api.example", ".www.tmp", "b c"};

		snprintf(path, sizeof(path), "%s/certs/%s", root, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s/certs/file", root);
	fclose(fopen(path, "w"));
	assert_int_equal(store_list_certs(root, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "api.example");
	assert_string_equal(names[1], "www");
	store_list_free(names, n);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_list_certs),
	        cmocka_unit_test_setup_teardown(test_default_dir, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_default_dir_systemd, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_default_socket_systemd, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_default_socket_root, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_default_socket_user, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
