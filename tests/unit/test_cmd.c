/* What the commands share (cmd.c) that runs without a CA or a daemon: exit
 * statuses, the settings from a file and the command line, the control
 * socket, a request that finds no daemon, the --json output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_file.h"
#include "tmpdir.h"

#include "base/log.h"
#include "cmd/cmd.h"
#include "store/store_daemon.h"

#define OUT_MAX 4096

static int
group_setup(void **state)
{
	log_init("acmed", LOG_LEVEL_ERROR, false);
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	return conf_file_setup(state);
}

/* "acmed terms -c conf_file_path", then the option a with its value b when a
 * is not NULL. */
static void
parse_terms(struct cli *cli, char **argv, const char *a, const char *b)
{
	int argc = 0;

	argv[argc++] = (char *)"terms";
	argv[argc++] = (char *)"-c";
	argv[argc++] = conf_file_path;
	if (a != NULL) {
		argv[argc++] = (char *)a;
		argv[argc++] = (char *)b;
	}
	argv[argc] = NULL;
	assert_int_equal(cli_parse(cli, &cmd_terms, argc, argv), 0);
}

static void
test_exit(void **state)
{
	(void)state;
	assert_int_equal(cmd_exit(SESSION_OK), CLI_EXIT_OK);
	assert_int_equal(cmd_exit(SESSION_USAGE), CLI_EXIT_USAGE);
	assert_int_equal(cmd_exit(SESSION_FAILED), CLI_EXIT_FAILURE);
	assert_int_equal(cmd_exit(SESSION_NO_ACCOUNT), CLI_EXIT_FAILURE);
	assert_int_equal(cmd_exit(SESSION_BUSY), CLI_EXIT_FAILURE);
}

static void
test_same(void **state)
{
	(void)state;
	assert_true(cmd_same(NULL, NULL));
	assert_true(cmd_same("zerossl", "zerossl"));
	assert_false(cmd_same("zerossl", NULL));
	assert_false(cmd_same(NULL, "zerossl"));
	assert_false(cmd_same("zerossl", "google"));
}

/* The file's global settings, with the command line's on top. */
static void
test_settings(void **state)
{
	char *argv[8];
	struct cli cli;
	struct conf conf;
	struct conf_settings st;

	(void)state;
	conf_file_write("ca = zerossl\nemail = a@example.com\nstate-dir = /srv/acmed\n"
	                "[cert www]\ndomains = www.example\n");
	parse_terms(&cli, argv, "--ca", "letsencrypt-staging");
	assert_int_equal(cmd_settings(&cli, &conf, &st), CLI_EXIT_OK);
	assert_string_equal(st.ca, "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_int_equal(st.n_emails, 1);
	assert_string_equal(st.state_dir, "/srv/acmed");
	/* Only the global settings: no section's domains. */
	assert_int_equal(st.n_domains, 0);
	assert_int_equal(conf.n_certs, 1);
	conf_settings_finish(&st);
	conf_finish(&conf);
	cli_finish(&cli);

	/* A broken file is the user's to fix. */
	conf_file_write("ca = nope\n");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cmd_settings(&cli, &conf, &st), CLI_EXIT_USAGE);
	conf_settings_finish(&st);
	conf_finish(&conf);
	cli_finish(&cli);
}

static void
test_session_start(void **state)
{
	char *argv[8];
	struct cli cli;
	struct conf conf;
	struct conf_settings st;
	struct session s;

	(void)state;
	conf_file_write("ca = nope\n");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cmd_session(&cli, &conf, &st, &s), CLI_EXIT_USAGE);
	assert_null(s.acme);
	session_finish(&s);
	conf_settings_finish(&st);
	conf_finish(&conf);
	cli_finish(&cli);

	/* Nothing listens on port 1. */
	conf_file_write("ca = https://127.0.0.1:1/directory\n");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cmd_session(&cli, &conf, &st, &s), CLI_EXIT_FAILURE);
	assert_null(s.acme);
	session_finish(&s);
	conf_settings_finish(&st);
	conf_finish(&conf);
	cli_finish(&cli);
}

static void
test_socket_and_no_daemon(void **state)
{
	char *argv[8];
	char sock[160];
	struct cli cli;
	struct conf conf;
	struct cmd_daemon daemon;
	char *path;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/acmed.sock", conf_file_dir);
	conf_file_write("control-socket = /run/elsewhere.sock\n");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cli_load_config(&cli, &conf), 0);
	path = cmd_socket_path(&cli, &conf);
	assert_string_equal(path, "/run/elsewhere.sock");
	free(path);
	conf_finish(&conf);
	cli_finish(&cli);

	/* The default follows $XDG_RUNTIME_DIR for a user. */
	conf_file_write("");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cli_load_config(&cli, &conf), 0);
	if (geteuid() != 0) {
		setenv("XDG_RUNTIME_DIR", conf_file_dir, 1);
		path = cmd_socket_path(&cli, &conf);
		assert_string_equal(path, sock);
		free(path);
	}
	conf_finish(&conf);
	cli_finish(&cli);

	/* Nothing listens there: NULL, and none is said. */
	memset(&conf, 0, sizeof(conf));
	conf_set(&conf.global, CONF_WHERE_GLOBAL, "control-socket", sock, NULL, 0);
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cmd_daemon_init(&daemon, &cli, &conf), 0);
	assert_string_equal(daemon.path, sock);
	assert_null(cmd_daemon_ask(&daemon, "jobs", NULL, 1.0));
	assert_true(daemon.none);
	assert_null(cmd_daemon_ask(&daemon, "renew", "www", 1.0));
	assert_true(daemon.none);
	cmd_daemon_finish(&daemon);
	assert_null(daemon.path);
	cmd_daemon_finish(&daemon);
	conf_finish(&conf);
	cli_finish(&cli);
}

/* "acmed status -c conf_file_path", with --state-dir dir when dir is not
 * NULL. */
static void
parse_status(struct cli *cli, char **argv, const char *dir)
{
	int argc = 0;

	argv[argc++] = (char *)"status";
	argv[argc++] = (char *)"-c";
	argv[argc++] = conf_file_path;
	if (dir != NULL) {
		argv[argc++] = (char *)"--state-dir";
		argv[argc++] = (char *)dir;
	}
	argv[argc] = NULL;
	assert_int_equal(cli_parse(cli, &cmd_status, argc, argv), 0);
}

/* The daemon to ask about a folder: the one whose mark is on it, else the
 * configuration's socket for its own folder only (not for --state-dir). */
static void
test_daemon_of(void **state)
{
	char *argv[8];
	char dir[160];
	struct cli cli;
	struct conf conf;
	struct cmd_daemon daemon;
	struct store_daemon *mark;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/other", conf_file_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	conf_file_write("control-socket = /run/own.sock\n");
	parse_status(&cli, argv, NULL);
	assert_int_equal(cli_load_config(&cli, &conf), 0);
	assert_int_equal(cmd_daemon_of(&daemon, &cli, &conf, dir), 0);
	assert_string_equal(daemon.path, "/run/own.sock");
	cmd_daemon_finish(&daemon);
	conf_finish(&conf);
	cli_finish(&cli);

	/* Another folder: not the configuration's daemon's. */
	parse_status(&cli, argv, dir);
	assert_int_equal(cli_load_config(&cli, &conf), 0);
	assert_int_equal(cmd_daemon_of(&daemon, &cli, &conf, dir), 0);
	assert_null(daemon.path);
	cmd_daemon_finish(&daemon);

	/* A daemon that runs on it: found from the folder alone. */
	mark = store_daemon_mark(dir, "/run/there.sock");
	assert_non_null(mark);
	assert_int_equal(cmd_daemon_of(&daemon, &cli, &conf, dir), 0);
	assert_string_equal(daemon.path, "/run/there.sock");
	cmd_daemon_finish(&daemon);
	store_daemon_unmark(mark);
	conf_finish(&conf);
	cli_finish(&cli);
	tmpdir_remove(dir);
}

/* A NAME argument as the state folder keeps it: a section by name or first
 * domain (also in Unicode), else lower case A-labels, else as typed. */
static void
test_cert_name(void **state)
{
	char *argv[8];
	struct cli cli;
	struct conf conf;
	char out[256];

	(void)state;
	conf_file_write("[cert idn]\ndomains = b\xc3\xbc"
	                "cher.example\n[cert www]\ndomains = www.example\n");
	parse_terms(&cli, argv, NULL, NULL);
	assert_int_equal(cli_load_config(&cli, &conf), 0);
	assert_string_equal(cmd_cert_name(&conf, "idn", out, sizeof(out)), "idn");
	assert_string_equal(cmd_cert_name(&conf,
	                                  "b\xc3\xbc"
	                                  "cher.example",
	                                  out, sizeof(out)),
	                    "idn");
	assert_string_equal(cmd_cert_name(&conf, "www.example", out, sizeof(out)), "www");
	assert_string_equal(cmd_cert_name(&conf,
	                                  "st\xc3\xbc"
	                                  "ck.example",
	                                  out, sizeof(out)),
	                    "xn--stck-1ra.example");
	assert_string_equal(cmd_cert_name(&conf, "Other.Example", out, sizeof(out)),
	                    "other.example");
	assert_string_equal(cmd_cert_name(&conf, "my_cert", out, sizeof(out)), "my_cert");
	conf_finish(&conf);
	cli_finish(&cli);
}

/* What cmd_print wrote on stdout. */
static void
print_captured(const struct cli *cli, json_t *value, cmd_text_fn text, char *out, size_t len,
               enum cli_exit *rc)
{
	FILE *file = tmpfile();
	int saved = dup(STDOUT_FILENO);
	size_t n;

	assert_non_null(file);
	fflush(stdout);
	assert_true(dup2(fileno(file), STDOUT_FILENO) >= 0);
	*rc = cmd_print(cli, value, text);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	rewind(file);
	n = fread(out, 1, len - 1, file);
	out[n] = '\0';
	fclose(file);
}

static void
print_name(json_t *value)
{
	printf("name %s\n", json_string_value(json_object_get(value, "name")));
}

static void
test_print(void **state)
{
	struct cli cli;
	json_t *value = json_pack("{s:s, s:i}", "name", "www", "attempts", 2);
	char out[OUT_MAX];
	enum cli_exit rc;

	(void)state;
	memset(&cli, 0, sizeof(cli));
	print_captured(&cli, value, print_name, out, sizeof(out), &rc);
	assert_int_equal(rc, CLI_EXIT_OK);
	assert_string_equal(out, "name www\n");
	cli.flags[CLI_OPT_JSON] = true;
	print_captured(&cli, value, print_name, out, sizeof(out), &rc);
	assert_int_equal(rc, CLI_EXIT_OK);
	/* Indented, keys sorted, a final newline. */
	assert_string_equal(out, "{\n  \"attempts\": 2,\n  \"name\": \"www\"\n}\n");
	print_captured(&cli, NULL, print_name, out, sizeof(out), &rc);
	assert_int_equal(rc, CLI_EXIT_FAILURE);
	assert_int_equal(cmd_print_json(NULL), -1);
	json_decref(value);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exit),
	        cmocka_unit_test(test_same),
	        cmocka_unit_test(test_settings),
	        cmocka_unit_test(test_session_start),
	        cmocka_unit_test(test_socket_and_no_daemon),
	        cmocka_unit_test(test_daemon_of),
	        cmocka_unit_test(test_cert_name),
	        cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, group_setup, conf_file_teardown);
}
