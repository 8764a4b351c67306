#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/cmd.h"
#include "config.h"
#include "base/log.h"
#include "store/store.h"

/* Sorted by name. */
static const struct cli_command *const commands[] = {
        &cmd_account, &cmd_cert,        &cmd_check,  &cmd_cluster_key, &cmd_delete,
        &cmd_deploy,  &cmd_dns_persist, &cmd_jobs,   &cmd_notify_test, &cmd_renew,
        &cmd_revoke,  &cmd_run,         &cmd_status, &cmd_terms,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: acmed [-c FILE] [-v|-q] COMMAND [options] [args]\n"
	             "       acmed -h | --help\n"
	             "       acmed -V | --version   (and the paths this build uses)\n\n"
	             "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	}
	fprintf(out, "\n'acmed COMMAND --help' shows a command's options.\n");
}

static const struct cli_command *
find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i]->name, name) == 0) {
			return commands[i];
		}
	}
	return NULL;
}

/* Global options may come before the command ("acmed -c FILE renew"); they
 * are moved after it so that the command parses them like its own. Returns
 * the index of the command in argv, or -1 after a usage error. */
static int
command_index(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			i += 2;
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-q") == 0 ||
		           strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "--quiet") == 0 ||
		           strncmp(argv[i], "--config=", 9) == 0 || strcmp(argv[i], "-vv") == 0) {
			i++;
		} else {
			log_error("unknown option %s", argv[i]);
			return -1;
		}
	}
	if (i >= argc) {
		log_error("no command given");
		return -1;
	}
	return i;
}

/* --version: the version, then the files this binary uses when nothing
 * says otherwise (compiled in, or from the environment systemd sets). */
static int
version(void)
{
	char *state = store_default_dir();
	char *socket = store_default_socket();

	printf("acmed %s\n", ACMED_VERSION);
	printf("configuration:  %s\n", ACMED_SYSCONFDIR "/acmed.conf");
	printf("state folder:   %s\n", state != NULL ? state : "(none: set state-dir)");
	printf("control socket: %s\n", socket != NULL ? socket : "(none)");
	free(state);
	free(socket);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* The errors of a command run with --json, for a failure's JSON. */
static void
collect_error(const char *line, void *arg)
{
	json_array_append_new(arg, json_string(line));
}

/* Whether argv (of n) asks for JSON: "--json" before a "--". */
static bool
wants_json(char **argv, int n)
{
	for (int i = 1; i < n && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			return true;
		}
	}
	return false;
}

/* A failure of a command whose --json output promises an answer in every
 * case: {"result": "failed", "exit": rc, "error": the last error, "errors":
 * all of them}. */
static void
print_failure(const struct cli_command *command, json_t *errors, int rc)
{
	size_t n = json_array_size(errors);
	json_t *root = json_pack("{s:s, s:s, s:i, s:O, s:O}", "command", command->name, "result",
	                         "failed", "exit", rc, "error",
	                         n > 0 ? json_array_get(errors, n - 1) : json_string("failed"),
	                         "errors", errors);

	if (cmd_print_json(root) < 0) {
		log_error("cannot print JSON");
	}
	json_decref(root);
}

/* Runs command with its arguments args (args[0] its name). Returns its
 * exit status. */
static int
run_command(const struct cli_command *command, int n, char **args)
{
	struct cli cli;
	json_t *errors = NULL;
	int rc = CLI_EXIT_USAGE;

	if (command->json_on_failure && wants_json(args, n)) {
		errors = json_array();
		if (errors != NULL) {
			log_set_error_hook(collect_error, errors);
		}
	}
	switch (cli_parse(&cli, command, n, args)) {
	case 0:
		break;
	case 1:
		rc = CLI_EXIT_OK;
		goto out;
	default:
		goto out;
	}
	log_set_level(cli.verbosity >= 1    ? LOG_LEVEL_DEBUG
	              : cli.verbosity <= -1 ? LOG_LEVEL_ERROR
	                                    : LOG_LEVEL_INFO);
	rc = command->run(&cli);
	cli_finish(&cli);
out:
	log_set_error_hook(NULL, NULL);
	if (errors != NULL && rc != CLI_EXIT_OK) {
		print_failure(command, errors, rc);
	}
	json_decref(errors);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct cli_command *command;
	char **args = NULL;
	int ci;
	int n = 0;
	int rc = CLI_EXIT_USAGE;

	log_init("acmed", LOG_LEVEL_INFO, false);
	/* A peer or hook that goes away must not kill acmed: a write to it
	 * fails with EPIPE instead (OpenSSL writes to sockets without
	 * MSG_NOSIGNAL). Hooks get the default back (hook.c). */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		return version();
	}
	ci = command_index(argc, argv);
	if (ci < 0) {
		fprintf(stderr, "see acmed --help\n");
		return CLI_EXIT_USAGE;
	}
	command = find_command(argv[ci]);
	if (command == NULL) {
		log_error("unknown command '%s'", argv[ci]);
		fprintf(stderr, "see acmed --help\n");
		return CLI_EXIT_USAGE;
	}
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL) {
		log_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	args[n++] = argv[ci];
	for (int i = 1; i < ci; i++) {
		args[n++] = argv[i];
	}
	for (int i = ci + 1; i < argc; i++) {
		args[n++] = argv[i];
	}
	rc = run_command(command, n, args);
	free(args);
	return rc;
}
