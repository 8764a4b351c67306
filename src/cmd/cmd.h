/* The subcommands, one file each. */
#ifndef ACMED_CMD_H
#define ACMED_CMD_H

#include <jansson.h>

#include "cmd/cli.h"
#include "renew/status.h"

extern const struct cli_command cmd_account;
extern const struct cli_command cmd_cert;
extern const struct cli_command cmd_check;
extern const struct cli_command cmd_deploy;
extern const struct cli_command cmd_jobs;
extern const struct cli_command cmd_renew;
extern const struct cli_command cmd_revoke;
extern const struct cli_command cmd_run;
extern const struct cli_command cmd_status;
extern const struct cli_command cmd_terms;

/* The daemon's control socket path: control-socket from the configuration
 * or the command line, else the default. New string or NULL. */
char *cmd_socket_path(struct cli *cli, struct conf *conf);

/* Prints value (borrowed) on stdout as indented JSON with sorted keys and
 * a final newline: the --json output of every command. Returns 0 or -1. */
int cmd_print_json(json_t *value);

/* A status row as `acmed status --json` and the daemon's control socket
 * give it: {"cert", "domains", "not_after", "next", "attempts",
 * "last_error", "why", "running"}. New reference, or NULL. */
json_t *cmd_status_row_json(const struct status_row *row);

#endif
