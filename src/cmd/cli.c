#include "cmd/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "base/log.h"
#include "conf/ca.h"

struct option_spec {
	const char *name;
	int short_name; /* 0: none */
	const char *arg; /* NULL: a flag */
	int key; /* enum conf_key set by it, or -1 */
	const char *fixed; /* value for a flag that sets a key */
	int implies_key; /* a second key it sets, or -1 */
	const char *implies; /* that key's value */
	const char *help;
};

static const struct option_spec specs[CLI_OPT__MAX] = {
        [CLI_OPT_ACCOUNT_KEY_TYPE] = {"account-key-type", 0, "TYPE", CONF_KEY_ACCOUNT_KEY_TYPE,
                                      NULL, -1, NULL,
                                      "account key: ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096"},
        [CLI_OPT_AGREE_TOS] = {"agree-tos", 0, NULL, CONF_KEY_AGREE_TOS, "yes", -1, NULL,
                               "agree to the CA's terms of service (see acmed terms)"},
        [CLI_OPT_CA] = {"ca", 0, "URL|NAME", CONF_KEY_CA, NULL, -1, NULL,
                        "CA directory URL or short name"},
        [CLI_OPT_CA_FILE] = {"ca-file", 0, "PEM", CONF_KEY_CA_FILE, NULL, -1, NULL,
                             "trust these certificates for the CA's https"},
        [CLI_OPT_CERT_PATH] = {"cert-path", 0, "FILE", -1, NULL, -1, NULL,
                               "with --csr: write the certificate to FILE"},
        [CLI_OPT_CHAIN_PATH] = {"chain-path", 0, "FILE", -1, NULL, -1, NULL,
                                "with --csr: write the issuers to FILE"},
        [CLI_OPT_CONFIG] = {"config", 'c', "FILE", -1, NULL, -1, NULL,
                            "configuration file (default " ACMED_SYSCONFDIR "/acmed.conf)"},
        [CLI_OPT_CSR] = {"csr", 0, "FILE", -1, NULL, -1, NULL,
                         "issue for this CSR (PEM or DER): its names, your key"},
        [CLI_OPT_DEPLOY_HOOK] = {"deploy-hook", 0, "CMD", CONF_KEY_DEPLOY_HOOK, NULL, -1, NULL,
                                 "run CMD after a certificate is installed"},
        [CLI_OPT_DNS_HOOK] = {"dns-hook", 0, "PROG", CONF_KEY_DNS_HOOK, NULL, CONF_KEY_CHALLENGE,
                              "dns-01", "dns-01 through PROG add|del NAME VALUE"},
        [CLI_OPT_DNS_PERSIST] = {"dns-persist", 0, NULL, CONF_KEY_CHALLENGE, "dns-persist-01", -1,
                                 NULL,
                                 "dns-persist-01: the record acmed dns-persist prints, no DNS "
                                 "change"},
        [CLI_OPT_DNS_PROPAGATION_SERVERS] = {"dns-propagation-servers", 0, "IP[:PORT]",
                                             CONF_KEY_DNS_PROPAGATION_SERVERS, NULL, -1, NULL,
                                             "dns-01: check these servers, not the zone's NS "
                                             "hosts"},
        [CLI_OPT_DNS_PROPAGATION_TIMEOUT] = {"dns-propagation-timeout", 0, "DURATION",
                                             CONF_KEY_DNS_PROPAGATION_TIMEOUT, NULL, -1, NULL,
                                             "dns-01: wait at most this for every authoritative "
                                             "server (0: no check)"},
        [CLI_OPT_DNS_RESOLVER] = {"dns-resolver", 0, "IP[:PORT]", CONF_KEY_DNS_RESOLVER, NULL, -1,
                                  NULL, "ask these DNS servers (dns-01: CNAME, propagation)"},
        [CLI_OPT_DNS_UPDATE] = {"dns-update", 0, "SERVER", CONF_KEY_DNS_UPDATE, NULL,
                                CONF_KEY_CHALLENGE, "dns-01",
                                "dns-01 through RFC 2136 updates to SERVER (IP or NAME[:PORT])"},
        [CLI_OPT_DNS_UPDATE_KEY] = {"dns-update-key", 0, "FILE", CONF_KEY_DNS_UPDATE_KEY, NULL, -1,
                                    NULL, "the TSIG key of --dns-update (BIND's format)"},
        [CLI_OPT_DROP_NAMES] = {"drop-names", 0, NULL, -1, NULL, -1, NULL,
                                "let cert remove names the installed certificate covers"},
        [CLI_OPT_DRY_RUN] = {"dry-run", 0, NULL, -1, NULL, -1, NULL,
                             "order from the CA's staging directory, install nothing"},
        [CLI_OPT_EAB_ALG] = {"eab-alg", 0, "ALG", CONF_KEY_EAB_ALG, NULL, -1, NULL,
                             "external account binding MAC: HS256 (default) HS384 HS512"},
        [CLI_OPT_EAB_HMAC_KEY] = {"eab-hmac-key", 0, "KEY", CONF_KEY_EAB_HMAC_KEY, NULL, -1, NULL,
                                  "external account binding key from the CA (base64url)"},
        [CLI_OPT_EAB_KID] = {"eab-kid", 0, "KID", CONF_KEY_EAB_KID, NULL, -1, NULL,
                             "external account binding key identifier from the CA"},
        [CLI_OPT_EMAIL] = {"email", 0, "ADDR", CONF_KEY_EMAIL, NULL, -1, NULL,
                           "account contact (repeatable)"},
        [CLI_OPT_FORCE] = {"force", 0, NULL, -1, NULL, -1, NULL, "renew even if not due"},
        [CLI_OPT_FULLCHAIN_PATH] = {"fullchain-path", 0, "FILE", -1, NULL, -1, NULL,
                                    "with --csr: write the certificate and issuers to FILE"},
        [CLI_OPT_HELP] = {"help", 'h', NULL, -1, NULL, -1, NULL, "show this help"},
        [CLI_OPT_HTTP_HOOK] = {"http-hook", 0, "PROG", CONF_KEY_HTTP_HOOK, NULL, CONF_KEY_CHALLENGE,
                               "http-01", "http-01 through PROG add|del DOMAIN TOKEN KEYAUTH"},
        [CLI_OPT_JSON] = {"json", 0, NULL, -1, NULL, -1, NULL, "print JSON"},
        [CLI_OPT_KEY] = {"key", 0, "KEYFILE", -1, NULL, -1, NULL,
                         "sign with the certificate's own private key (PEM)"},
        [CLI_OPT_KEY_TYPE] = {"key-type", 0, "TYPE", CONF_KEY_KEY_TYPE, NULL, -1, NULL,
                              "certificate key: ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096"},
        [CLI_OPT_NAME] = {"name", 0, "NAME", -1, NULL, -1, NULL,
                          "certificate name (default: the first domain)"},
        [CLI_OPT_NO_CAA_CHECK] = {"no-caa-check", 0, NULL, CONF_KEY_CAA_CHECK, "no", -1, NULL,
                                  "skip the CAA pre-check (caa-check = no) for this run"},
        [CLI_OPT_NOW] = {"now", 0, NULL, -1, NULL, -1, NULL,
                         "ask the running daemon to renew the CERTs now"},
        [CLI_OPT_POST_HOOK] = {"post-hook", 0, "CMD", CONF_KEY_POST_HOOK, NULL, -1, NULL,
                               "run CMD once after the orders of this run"},
        [CLI_OPT_PRE_HOOK] = {"pre-hook", 0, "CMD", CONF_KEY_PRE_HOOK, NULL, -1, NULL,
                              "run CMD once before the orders of this run (free port 80)"},
        [CLI_OPT_PREFERRED_CHAIN] = {"preferred-chain", 0, "NAME", CONF_KEY_PREFERRED_CHAIN, NULL,
                                     -1, NULL,
                                     "install the chain the CA offers whose top is issued by "
                                     "NAME"},
        [CLI_OPT_PROFILE] = {"profile", 0, "NAME", CONF_KEY_PROFILE, NULL, -1, NULL,
                             "a certificate profile the CA offers (an error lists them)"},
        [CLI_OPT_QUIET] = {"quiet", 'q', NULL, -1, NULL, -1, NULL, "fewer messages"},
        [CLI_OPT_REASON] = {"reason", 0, "REASON", -1, NULL, -1, NULL,
                            "unspecified keyCompromise affiliationChanged superseded "
                            "cessationOfOperation, or 0 1 3 4 5"},
        [CLI_OPT_REPLACE] = {"replace", 0, NULL, -1, NULL, -1, NULL,
                             "order the certificate's replacement at once"},
        [CLI_OPT_REUSE_KEY] = {"reuse-key", 0, NULL, CONF_KEY_REUSE_KEY, "yes", -1, NULL,
                               "keep the current certificate key"},
        [CLI_OPT_STANDALONE] = {"standalone", 0, "[ADDR:]PORT", CONF_KEY_HTTP_LISTEN, NULL,
                                CONF_KEY_CHALLENGE, "http-01",
                                "answer http-01 with the built-in responder"},
        [CLI_OPT_STATE_DIR] = {"state-dir", 0, "DIR", CONF_KEY_STATE_DIR, NULL, -1, NULL,
                               "keys, certificates and state"},
        [CLI_OPT_SYNTAX] = {"syntax", 0, NULL, -1, NULL, -1, NULL,
                            "the file only, not the programs, folders and ports it names"},
        [CLI_OPT_SYSLOG] = {"syslog", 0, NULL, -1, NULL, -1, NULL, "log to syslog, not stderr"},
        [CLI_OPT_TLS_ALPN] = {"tls-alpn", 0, "[ADDR:]PORT", CONF_KEY_TLS_LISTEN, NULL,
                              CONF_KEY_CHALLENGE, "tls-alpn-01",
                              "answer tls-alpn-01 with the built-in responder"},
        [CLI_OPT_UNTIL] = {"until", 0, "DATE", -1, NULL, -1, NULL,
                           "persistUntil: YYYY-MM-DD, an RFC 3339 time, or UNIX seconds"},
        [CLI_OPT_VERBOSE] = {"verbose", 'v', NULL, -1, NULL, -1, NULL, "more messages"},
        [CLI_OPT_WEBROOT] = {"webroot", 0, "DIR", CONF_KEY_WEBROOT, NULL, CONF_KEY_CHALLENGE,
                             "http-01", "http-01 by writing files under DIR"},
        [CLI_OPT_WILDCARD] = {"wildcard", 0, NULL, -1, NULL, -1, NULL,
                              "policy=wildcard: the name's subdomains and wildcards too"},
        [CLI_OPT_YES] = {"yes", 0, NULL, -1, NULL, -1, NULL, "confirm what cannot be undone"},
};

/* Every command takes these. */
static const enum cli_opt common_options[] = {
        CLI_OPT_CONFIG,
        CLI_OPT_VERBOSE,
        CLI_OPT_QUIET,
        CLI_OPT_HELP,
};

static bool
accepts(const struct cli_command *command, enum cli_opt opt)
{
	for (size_t i = 0; i < sizeof(common_options) / sizeof(common_options[0]); i++) {
		if (common_options[i] == opt) {
			return true;
		}
	}
	for (const enum cli_opt *o = command->options; *o != CLI_OPT__MAX; o++) {
		if (*o == opt) {
			return true;
		}
	}
	return false;
}

static void
print_option(const struct cli_command *command, enum cli_opt opt, FILE *out)
{
	const struct option_spec *spec = &specs[opt];
	const char *help = command->option_help != NULL && command->option_help[opt] != NULL
	                           ? command->option_help[opt]
	                           : spec->help;
	char left[64];

	if (spec->short_name != 0) {
		snprintf(left, sizeof(left), "-%c, --%s%s%s", spec->short_name, spec->name,
		         spec->arg != NULL ? " " : "", spec->arg != NULL ? spec->arg : "");
	} else {
		snprintf(left, sizeof(left), "    --%s%s%s", spec->name,
		         spec->arg != NULL ? " " : "", spec->arg != NULL ? spec->arg : "");
	}
	fprintf(out, "  %-28s %s\n", left, help);
}

void
cli_usage(const struct cli_command *command, FILE *out)
{
	fprintf(out, "usage: acmed %s [options]%s%s\n", command->name,
	        command->args[0] != '\0' ? " " : "", command->args);
	fprintf(out, "%s\n\noptions:\n", command->summary);
	for (const enum cli_opt *o = command->options; *o != CLI_OPT__MAX; o++) {
		print_option(command, *o, out);
	}
	for (size_t i = 0; i < sizeof(common_options) / sizeof(common_options[0]); i++) {
		print_option(command, common_options[i], out);
	}
}

const char *
cli_opt_name(enum cli_opt opt)
{
	return opt < CLI_OPT__MAX ? specs[opt].name : NULL;
}

/* Sets the config key the option opt stands for. A bad value is said with
 * the option as the user typed it, not the config key behind it:
 * "--standalone: invalid value '99999': ...". Returns 0 or -1 (logged). */
static int
apply_key(struct cli *cli, enum cli_opt opt, int key, const char *value)
{
	const char *name = conf_key_name((enum conf_key)key);
	const char *why;
	char err[256];
	size_t n = strlen(name);

	if (conf_set(&cli->settings, CONF_WHERE_CLI, name, value, err, sizeof(err)) < 0) {
		/* conf_set's messages start with the key's name. */
		why = strncmp(err, name, n) == 0 && strncmp(err + n, ": ", 2) == 0 ? err + n + 2
		                                                                   : err;
		log_error("%s: --%s: %s", cli->command->name, specs[opt].name, why);
		return -1;
	}
	return 0;
}

void
cli_see_help(const struct cli_command *command)
{
	fprintf(stderr, "see acmed %s --help\n", command->name);
}

/* getopt_long's tables for the options command accepts; option i comes
 * back as 256 + i. */
struct getopt_tables {
	struct option longopts[CLI_OPT__MAX + 1];
	char shortopts[3 * CLI_OPT__MAX + 2];
};

static void
getopt_tables_init(struct getopt_tables *t, const struct cli_command *command)
{
	size_t n = 0;
	size_t s = 0;

	memset(t, 0, sizeof(*t));
	/* A leading ':' to report missing arguments ourselves. */
	t->shortopts[s++] = ':';
	for (int i = 0; i < CLI_OPT__MAX; i++) {
		if (!accepts(command, (enum cli_opt)i)) {
			continue;
		}
		t->longopts[n].name = specs[i].name;
		t->longopts[n].has_arg = specs[i].arg != NULL ? required_argument : no_argument;
		t->longopts[n].val = 256 + i;
		n++;
		if (specs[i].short_name != 0) {
			t->shortopts[s++] = (char)specs[i].short_name;
			if (specs[i].arg != NULL) {
				t->shortopts[s++] = ':';
			}
		}
	}
	t->shortopts[s] = '\0';
}

/* The option getopt_long returned as c, or CLI_OPT__MAX after a message
 * for one that is unknown or lacks its value. */
static enum cli_opt
option_of(int c, const struct cli_command *command, char **argv)
{
	enum cli_opt opt = CLI_OPT__MAX;

	if (c >= 256) {
		opt = (enum cli_opt)(c - 256);
	} else if (c == ':') {
		log_error("%s: option %s needs a value", command->name, argv[optind - 1]);
	} else if (c == '?') {
		log_error("%s: unknown option %s", command->name, argv[optind - 1]);
	} else {
		for (int i = 0; i < CLI_OPT__MAX; i++) {
			if (specs[i].short_name == c) {
				opt = (enum cli_opt)i;
			}
		}
	}
	return opt;
}

/* Records opt with its value (borrowed; NULL for a flag) in cli, and sets
 * the config keys it stands for. Returns 0, or -1 after a message (or for
 * CLI_OPT__MAX, option_of's failure). */
static int
take_option(struct cli *cli, enum cli_opt opt, char *value)
{
	const struct option_spec *spec;
	char abs[PATH_MAX];

	if (opt == CLI_OPT__MAX) {
		return -1;
	}
	spec = &specs[opt];
	cli->flags[opt] = true;
	cli->values[opt] = value;
	if (opt == CLI_OPT_VERBOSE) {
		cli->verbosity++;
	} else if (opt == CLI_OPT_QUIET) {
		cli->verbosity--;
	} else if (opt == CLI_OPT_CONFIG) {
		cli->config_path = value;
	}
	if (opt == CLI_OPT_STATE_DIR && value != NULL && value[0] != '/' && value[0] != '\0') {
		/* Relative to where the command was typed: the daemon, its
		 * hooks and status get the one absolute folder. */
		const char *rest = value;
		size_t n;

		/* "./st" is "st", "." the working folder itself. */
		while (rest[0] == '.' && rest[1] == '/') {
			rest += 2;
			rest += strspn(rest, "/");
		}
		if (strcmp(rest, ".") == 0) {
			rest = "";
		}
		if (getcwd(abs, sizeof(abs)) == NULL) {
			log_error("%s: --state-dir: %s: cannot make it an absolute path: %s",
			          cli->command->name, value, strerror(errno));
			return -1;
		}
		n = strlen(abs);
		if (rest[0] != '\0' &&
		    (size_t)snprintf(abs + n, sizeof(abs) - n, "%s%s", n > 1 ? "/" : "", rest) >=
		            sizeof(abs) - n) {
			log_error("%s: --state-dir: %s: cannot make it an absolute path: %s",
			          cli->command->name, value, strerror(ENAMETOOLONG));
			return -1;
		}
		value = abs;
	}
	if (spec->key >= 0 &&
	    apply_key(cli, opt, spec->key, spec->arg != NULL ? value : spec->fixed) < 0) {
		return -1;
	}
	/* An implied value never replaces one already set: the first option
	 * that names the challenge decides it. */
	if (spec->implies_key >= 0 && !(cli->settings.set & (UINT64_C(1) << spec->implies_key)) &&
	    apply_key(cli, opt, spec->implies_key, spec->implies) < 0) {
		return -1;
	}
	return 0;
}

/* The positional arguments from argv[first] on, as many as the command
 * takes. Returns 0, or -1 after a message. */
static int
take_args(struct cli *cli, int argc, char **argv, int first)
{
	const struct cli_command *command = cli->command;

	cli->args = argv + first;
	cli->n_args = argc - first;
	if (cli->n_args < command->min_args) {
		log_error("%s: missing argument: %s", command->name, command->args);
		return -1;
	}
	if (command->max_args >= 0 && cli->n_args > command->max_args) {
		log_error("%s: unexpected argument '%s'", command->name,
		          cli->args[command->max_args]);
		return -1;
	}
	return 0;
}

/* Two options that answer the challenge two ways (or dns-update-key
 * beside another way than dns-update): which of them the user meant is
 * not for acmed to guess. Returns 0, or -1 after a message. */
static int
two_ways(const struct cli *cli)
{
	static const enum cli_opt ways[] = {
	        CLI_OPT_WEBROOT,  CLI_OPT_STANDALONE, CLI_OPT_TLS_ALPN,    CLI_OPT_HTTP_HOOK,
	        CLI_OPT_DNS_HOOK, CLI_OPT_DNS_UPDATE, CLI_OPT_DNS_PERSIST,
	};
	const size_t n = sizeof(ways) / sizeof(ways[0]);
	enum cli_opt first = CLI_OPT__MAX;

	for (size_t i = 0; i < n; i++) {
		if (!cli->flags[ways[i]]) {
			continue;
		}
		if (first != CLI_OPT__MAX) {
			log_error(
			        "%s: --%s and --%s answer the challenge two ways: keep one of them",
			        cli->command->name, specs[first].name, specs[ways[i]].name);
			return -1;
		}
		first = ways[i];
	}
	if (cli->flags[CLI_OPT_DNS_UPDATE_KEY] && first != CLI_OPT__MAX &&
	    first != CLI_OPT_DNS_UPDATE) {
		log_error("%s: --dns-update-key goes with --dns-update, not --%s",
		          cli->command->name, specs[first].name);
		return -1;
	}
	return 0;
}

int
cli_parse(struct cli *cli, const struct cli_command *command, int argc, char **argv)
{
	struct getopt_tables t;
	int c = 0;
	int rc = -1;

	memset(cli, 0, sizeof(*cli));
	cli->command = command;
	getopt_tables_init(&t, command);
	optind = 1;
	opterr = 0;
	while (c != -1) {
		c = getopt_long(argc, argv, t.shortopts, t.longopts, NULL);
		if (c != -1 && take_option(cli, option_of(c, command, argv), optarg) < 0) {
			goto out;
		}
	}
	if (cli->flags[CLI_OPT_HELP]) {
		cli_usage(command, stdout);
		rc = 1;
		goto out;
	}
	if (take_args(cli, argc, argv, optind) < 0 || two_ways(cli) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		/* One line said what is wrong; the whole usage would bury it. */
		cli_see_help(command);
		cli_finish(cli);
	}
	return rc;
}

void
cli_finish(struct cli *cli)
{
	conf_settings_finish(&cli->settings);
}

/* --ca: each item a [ca] section of conf, a short name or a URL (the
 * parser knew no sections yet). Returns 0, or -1 (said). */
static int
check_ca_option(const struct cli *cli, const struct conf *conf)
{
	char item[CONF_CA_ITEM_MAX + 1];
	const char *p;
	size_t len;

	if ((cli->settings.set & ((uint64_t)1 << CONF_KEY_CA)) == 0) {
		return 0;
	}
	for (p = cli->settings.ca; *p != '\0'; p += len, p += strspn(p, " ")) {
		len = strcspn(p, " ");
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		if (conf_find_ca(conf, item) == NULL && ca_directory_url(item) == NULL) {
			log_error("--ca: unknown CA '%s': no [ca %s] section in %s, and not one of "
			          "%s",
			          item, item, conf->path != NULL ? conf->path : "the configuration",
			          ca_short_names());
			return -1;
		}
	}
	return 0;
}

int
cli_load_config(struct cli *cli, struct conf *conf)
{
	const char *path = cli->config_path;
	const char *def = ACMED_SYSCONFDIR "/acmed.conf";

	conf_init(conf);
	if (path == NULL) {
		if (access(def, F_OK) != 0) {
			return 0;
		}
		path = def;
	}
	/* A file that cannot be read is one plain error, not a
	 * "file:line:" list of what is wrong inside it. */
	if (access(path, R_OK) != 0) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (conf_load(conf, path) < 0) {
		for (size_t i = 0; i < conf->n_errors; i++) {
			fprintf(stderr, "%s\n", conf->errors[i]);
		}
		return -1;
	}
	return check_ca_option(cli, conf);
}
