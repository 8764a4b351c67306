#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/cmd.h"
#include "config.h"
#include "base/log.h"

/* Sorted by name. */
static const struct cli_command *const commands[] = {
        &cmd_account, &cmd_cert,  &cmd_check,  &cmd_cluster_key, &cmd_delete, &cmd_deploy,
        &cmd_jobs,    &cmd_renew, &cmd_revoke, &cmd_run,         &cmd_status, &cmd_terms,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: acmed [-c FILE] [-v|-q] COMMAND [options] [args]\n"
	             "       acmed --help | --version\n\n"
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

int
main(int argc, char **argv)
{
	const struct cli_command *command;
	struct cli cli;
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
		printf("acmed %s\n", ACMED_VERSION);
		return CLI_EXIT_OK;
	}
	ci = command_index(argc, argv);
	if (ci < 0) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	command = find_command(argv[ci]);
	if (command == NULL) {
		log_error("unknown command '%s'", argv[ci]);
		usage(stderr);
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
	free(args);
	return rc;
}
