#include "renew/deploy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/file.h"
#include "store/store_cert.h"
#include "tmpdir.h"

static const struct ident ids[] = {
        {IDENT_DNS, (char *)"example.com"},
        {IDENT_DNS, (char *)"www.example.com"},
        {IDENT_IP, (char *)"192.0.2.1"},
};

struct fixture {
	char *state_dir;
	char *dir; /* certs/www */
	struct deploy_request req;
	ev_timer watchdog;
	/* What done said. */
	int calls;
	bool ok;
	char detail[1024];
};

static void
on_done(bool ok, const char *detail, void *arg)
{
	struct fixture *f = arg;

	f->calls++;
	f->ok = ok;
	assert_non_null(detail);
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->state_dir = tmpdir_make("deploy");
	f->dir = file_path(f->state_dir, "certs", "www", NULL);
	f->req.loop = EV_DEFAULT;
	f->req.state_dir = f->state_dir;
	f->req.name = "www";
	f->req.dir = f->dir;
	f->req.timeout_s = 10;
	f->req.ids = ids;
	f->req.n_ids = 3;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	free(f->dir);
	free(f);
	return 0;
}

/* A /bin/sh script in the state folder with body; its path is the hook. */
static char *
script(struct fixture *f, const char *name, const char *body)
{
	char text[2048];

	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	return tmpdir_write(f->state_dir, name, text, 0755);
}

/* Starts the hook and runs the loop until done (at most 20 s). */
static void
run(struct fixture *f, const char *hook)
{
	char detail[512] = "untouched";

	f->req.hook = hook;
	f->calls = 0;
	assert_non_null(deploy_start(&f->req, on_done, f, detail, sizeof(detail)));
	/* Never from inside deploy_start. */
	assert_int_equal(f->calls, 0);
	ev_timer_init(&f->watchdog, on_watchdog, 20.0, 0.0);
	ev_timer_start(EV_DEFAULT, &f->watchdog);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &f->watchdog);
	assert_int_equal(f->calls, 1);
}

static void
test_ok(void **state)
{
	struct fixture *f = *state;
	char *hook = script(f, "ok.sh", "echo reloaded; exit 0");

	run(f, hook);
	assert_true(f->ok);
	assert_string_equal(f->detail, "");
	free(hook);
}

static void
test_exit_status(void **state)
{
	struct fixture *f = *state;
	char *hook = script(f, "fail.sh", "echo 'cannot reload'; echo ' nginx: down ' >&2; exit 3");

	run(f, hook);
	assert_false(f->ok);
	/* The reason, then what it printed, on one line: trailing space
	 * trimmed, the lines inside joined. */
	assert_string_equal(f->detail, "exit 3: cannot reload  nginx: down");
	free(hook);
}

static void
test_exit_silent(void **state)
{
	struct fixture *f = *state;
	char *hook = script(f, "quiet.sh", "exit 7");

	run(f, hook);
	assert_false(f->ok);
	assert_string_equal(f->detail, "exit 7");
	free(hook);
}

static void
test_environment(void **state)
{
	struct fixture *f = *state;
	char *out = file_path(f->state_dir, "env.out", NULL);
	char body[1024];
	char *hook;
	char *env;
	char want[4096];
	char *key = store_cert_path(f->state_dir, "www", STORE_CERT_PRIVKEY);
	char *cert = store_cert_path(f->state_dir, "www", STORE_CERT_CERT);
	char *chain = store_cert_path(f->state_dir, "www", STORE_CERT_CHAIN);
	char *full = store_cert_path(f->state_dir, "www", STORE_CERT_FULLCHAIN);

	snprintf(body, sizeof(body),
	         "{ echo \"name=$ACMED_CERT_NAME\"; echo \"dir=$ACMED_CERT_DIR\";"
	         " echo \"key=$ACMED_KEY_FILE\"; echo \"cert=$ACMED_CERT_FILE\";"
	         " echo \"chain=$ACMED_CHAIN_FILE\"; echo \"full=$ACMED_FULLCHAIN_FILE\";"
	         " echo \"domains=$ACMED_DOMAINS\"; echo \"args=$#\"; } > '%s'",
	         out);
	hook = script(f, "env.sh", body);
	run(f, hook);
	assert_true(f->ok);
	env = tmpdir_read(f->state_dir, "env.out");
	assert_non_null(env);
	snprintf(want, sizeof(want),
	         "name=www\ndir=%s\nkey=%s\ncert=%s\nchain=%s\nfull=%s\n"
	         "domains=example.com www.example.com 192.0.2.1\nargs=0\n",
	         f->dir, key, cert, chain, full);
	assert_string_equal(env, want);
	free(env);
	free(hook);
	free(out);
	free(key);
	free(cert);
	free(chain);
	free(full);
}

static void
test_arguments(void **state)
{
	struct fixture *f = *state;
	char *prog = script(f, "args.sh", "printf '%s|' \"$@\" > \"$(dirname \"$0\")/args.out\"");
	char hook[1024];
	char *args;

	/* A command line: words split on spaces, quotes group, no shell. */
	snprintf(hook, sizeof(hook), "%s reload 'two words' $HOME", prog);
	run(f, hook);
	assert_true(f->ok);
	args = tmpdir_read(f->state_dir, "args.out");
	assert_non_null(args);
	assert_string_equal(args, "reload|two words|$HOME|");
	free(args);
	free(prog);
}

static void
test_not_a_command(void **state)
{
	static const char *const bad[] = {"", "   ", "'unbalanced", "reload \"x"};
	struct fixture *f = *state;
	char detail[512];
	char want[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->req.hook = bad[i];
		f->calls = 0;
		detail[0] = '\0';
		assert_null(deploy_start(&f->req, on_done, f, detail, sizeof(detail)));
		snprintf(want, sizeof(want), "deploy-hook '%s' is not a command", bad[i]);
		assert_string_equal(detail, want);
		assert_int_equal(f->calls, 0);
	}
}

static void
test_missing_program(void **state)
{
	struct fixture *f = *state;
	char *hook = file_path(f->state_dir, "no-such-hook", NULL);

	/* It starts, and says from the loop that it could not run. */
	run(f, hook);
	assert_false(f->ok);
	assert_true(strncmp(f->detail, "cannot run: ", 12) == 0);
	free(hook);
}

static void
test_timeout(void **state)
{
	struct fixture *f = *state;
	char *hook = script(f, "slow.sh", "echo started; exec sleep 30");

	f->req.timeout_s = 1;
	run(f, hook);
	assert_false(f->ok);
	assert_string_equal(f->detail, "killed after 1 s timeout: started");
	free(hook);
}

/* combined.pem and cert.p12 are named to the hook when the installed set
 * has them (output), and left out of its environment when not. */
static void
test_environment_outputs(void **state)
{
	struct fixture *f = *state;
	char *out = file_path(f->state_dir, "env.out", NULL);
	char *combined = store_cert_path(f->state_dir, "www", STORE_CERT_COMBINED);
	char *p12 = store_cert_path(f->state_dir, "www", STORE_CERT_PKCS12);
	char body[1024];
	char want[4096];
	char *hook;
	char *env;

	snprintf(body, sizeof(body),
	         "{ echo \"combined=${ACMED_COMBINED_FILE-unset}\";"
	         " echo \"p12=${ACMED_PKCS12_FILE-unset}\"; } > '%s'",
	         out);
	hook = script(f, "env.sh", body);
	run(f, hook);
	assert_true(f->ok);
	env = tmpdir_read(f->state_dir, "env.out");
	assert_string_equal(env, "combined=unset\np12=unset\n");
	free(env);

	assert_int_equal(file_mkdirs(f->dir, 0755), 0);
	assert_int_equal(file_write_atomic(combined, "K\n", 2, 0600), 0);
	assert_int_equal(file_write_atomic(p12, "P", 1, 0600), 0);
	f->calls = 0;
	run(f, hook);
	assert_true(f->ok);
	env = tmpdir_read(f->state_dir, "env.out");
	snprintf(want, sizeof(want), "combined=%s\np12=%s\n", combined, p12);
	assert_string_equal(env, want);
	free(env);
	free(hook);
	free(out);
	free(combined);
	free(p12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exit_silent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_environment_outputs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_a_command, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_program, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
