/* The subcommands, one file each. */
#ifndef ACMED_CMD_H
#define ACMED_CMD_H

#include "cli.h"

extern const struct cli_command cmd_cert;
extern const struct cli_command cmd_check;
extern const struct cli_command cmd_renew;
extern const struct cli_command cmd_terms;

#endif
