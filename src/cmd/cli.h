/* Command-line parsing shared by the subcommands: one table of options, each
 * either a config key (applied with conf_set, so the command line overrides
 * the file) or a command flag. */
#ifndef ACMED_CLI_H
#define ACMED_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILURE = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_NO_DAEMON = 3,
};

/* Options; those marked "key" set a config key. */
enum cli_opt {
	CLI_OPT_ACCOUNT_KEY_TYPE, /* key */
	CLI_OPT_AGREE_TOS, /* key */
	CLI_OPT_CA, /* key */
	CLI_OPT_CA_FILE, /* key */
	CLI_OPT_CERT_PATH,
	CLI_OPT_CHAIN_PATH,
	CLI_OPT_CONFIG,
	CLI_OPT_CSR,
	CLI_OPT_DEPLOY_HOOK, /* key */
	CLI_OPT_DNS_HOOK, /* key */
	CLI_OPT_DNS_PERSIST, /* key */
	CLI_OPT_DNS_PROPAGATION_SERVERS, /* key */
	CLI_OPT_DNS_PROPAGATION_TIMEOUT, /* key */
	CLI_OPT_DNS_RESOLVER, /* key */
	CLI_OPT_DNS_UPDATE, /* key */
	CLI_OPT_DNS_UPDATE_KEY, /* key */
	CLI_OPT_DROP_NAMES,
	CLI_OPT_DRY_RUN,
	CLI_OPT_EAB_ALG, /* key */
	CLI_OPT_EAB_HMAC_KEY, /* key */
	CLI_OPT_EAB_KID, /* key */
	CLI_OPT_EMAIL, /* key */
	CLI_OPT_FORCE,
	CLI_OPT_FULLCHAIN_PATH,
	CLI_OPT_HELP,
	CLI_OPT_HTTP_HOOK, /* key */
	CLI_OPT_JSON,
	CLI_OPT_KEY,
	CLI_OPT_KEY_TYPE, /* key */
	CLI_OPT_NAME,
	CLI_OPT_NO_CAA_CHECK, /* key */
	CLI_OPT_NOW,
	CLI_OPT_POST_HOOK, /* key */
	CLI_OPT_PRE_HOOK, /* key */
	CLI_OPT_PREFERRED_CHAIN, /* key */
	CLI_OPT_PROFILE, /* key */
	CLI_OPT_QUIET,
	CLI_OPT_REASON,
	CLI_OPT_REPLACE,
	CLI_OPT_REUSE_KEY, /* key */
	CLI_OPT_STANDALONE, /* key */
	CLI_OPT_STATE_DIR, /* key */
	CLI_OPT_SYNTAX,
	CLI_OPT_SYSLOG,
	CLI_OPT_TLS_ALPN, /* key */
	CLI_OPT_UNTIL,
	CLI_OPT_VERBOSE,
	CLI_OPT_WEBROOT, /* key */
	CLI_OPT_WILDCARD,
	CLI_OPT_YES,
	CLI_OPT__MAX,
};

struct cli;

struct cli_command {
	const char *name;
	const char *args; /* positional arguments for the usage line, or "" */
	const char *summary; /* one line */
	const enum cli_opt *options; /* accepted besides -c, -v, -q, -h; ends with CLI_OPT__MAX */
	int min_args;
	int max_args; /* -1: no limit */
	int (*run)(struct cli *cli);
	/* The help of options that mean something else here than elsewhere,
	 * by enum cli_opt; NULL, or NULL entries: the common help. */
	const char *const *option_help;
	/* With --json, a failure (a bad argument too) prints a JSON object
	 * with the errors on stdout: the command's JSON answers every time. */
	bool json_on_failure;
};

struct cli {
	const struct cli_command *command;
	const char *config_path; /* -c, or NULL */
	bool flags[CLI_OPT__MAX];
	const char *values[CLI_OPT__MAX]; /* the last value given, borrowed from argv */
	struct conf_settings settings; /* config keys given on the command line */
	char **args; /* positional arguments, borrowed */
	int n_args;
	int verbosity; /* -v minus -q */
};

/* Parses argv (argv[0] is the command name) for command. Returns 0 to run,
 * 1 when --help was shown (exit 0), or -1 after printing the problem (one
 * line naming the option as typed) and "see acmed COMMAND --help" on
 * stderr (exit 2). Two options that answer a challenge two ways
 * (--dns-hook and --dns-update, --webroot and --http-hook) are such a
 * problem; one of them replaces what the configuration says
 * (conf_resolve). */
int cli_parse(struct cli *cli, const struct cli_command *command, int argc, char **argv);

void cli_finish(struct cli *cli);

/* Prints the command's usage and options. */
void cli_usage(const struct cli_command *command, FILE *out);

/* Prints "see acmed COMMAND --help" on stderr: what follows a usage error
 * instead of the whole usage. */
void cli_see_help(const struct cli_command *command);

/* The option's long name without "--" ("eab-kid"). */
const char *cli_opt_name(enum cli_opt opt);

/* Loads the configuration: -c FILE (which must exist), else the default file
 * if it exists, else none. Errors are printed, one "file:line: message" per
 * line. Returns 0 or -1 (exit 2). */
int cli_load_config(struct cli *cli, struct conf *conf);

#endif
