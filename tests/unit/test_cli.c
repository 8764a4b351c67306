/* cli_parse for every command: each option it takes, the settings they
 * fill, --help, and the message and usage of each mistake. */
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

#include "base/log.h"
#include "config.h"
#include "cmd/cli.h"
#include "cmd/cmd.h"

#define MAX_ARGS 32
#define OUT_MAX 8192

static const struct cli_command *const commands[] = {
        &cmd_account, &cmd_cert,        &cmd_check, &cmd_cluster_key, &cmd_delete,
        &cmd_deploy,  &cmd_dns_persist, &cmd_jobs,  &cmd_renew,       &cmd_revoke,
        &cmd_run,     &cmd_status,      &cmd_terms,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* A value each option that takes one accepts. */
static const char *const sample[CLI_OPT__MAX] = {
        [CLI_OPT_ACCOUNT_KEY_TYPE] = "rsa-2048",
        [CLI_OPT_CA] = "letsencrypt-staging",
        [CLI_OPT_CA_FILE] = "/etc/ca.pem",
        [CLI_OPT_CERT_PATH] = "/etc/ssl/www.crt",
        [CLI_OPT_CHAIN_PATH] = "/etc/ssl/www.chain",
        [CLI_OPT_CONFIG] = "/nonexistent/acmed.conf",
        [CLI_OPT_CSR] = "/etc/ssl/www.csr",
        [CLI_OPT_DEPLOY_HOOK] = "/bin/deploy now",
        [CLI_OPT_DNS_HOOK] = "/bin/dns",
        [CLI_OPT_DNS_PROPAGATION_SERVERS] = "127.0.0.1:5300,[::1]:53",
        [CLI_OPT_DNS_PROPAGATION_TIMEOUT] = "30s",
        [CLI_OPT_DNS_RESOLVER] = "127.0.0.1:5353",
        [CLI_OPT_DNS_UPDATE] = "ns1.example:5353",
        [CLI_OPT_DNS_UPDATE_KEY] = "/etc/acmed/tsig.key",
        [CLI_OPT_EAB_ALG] = "HS384",
        [CLI_OPT_EAB_HMAC_KEY] = "c2VjcmV0",
        [CLI_OPT_EAB_KID] = "kid-1",
        [CLI_OPT_EMAIL] = "ops@example.com",
        [CLI_OPT_FULLCHAIN_PATH] = "/etc/ssl/www.fullchain",
        [CLI_OPT_HTTP_HOOK] = "/bin/http",
        [CLI_OPT_KEY] = "/tmp/key.pem",
        [CLI_OPT_KEY_TYPE] = "ec-p384",
        [CLI_OPT_NAME] = "www",
        [CLI_OPT_POST_HOOK] = "/bin/post",
        [CLI_OPT_PRE_HOOK] = "/bin/pre now",
        [CLI_OPT_PREFERRED_CHAIN] = "ISRG Root X1",
        [CLI_OPT_PROFILE] = "tlsserver",
        [CLI_OPT_REASON] = "keyCompromise",
        [CLI_OPT_STANDALONE] = "8080",
        [CLI_OPT_STATE_DIR] = "/var/lib/acmed-test",
        [CLI_OPT_TLS_ALPN] = "[::1]:8443",
        [CLI_OPT_UNTIL] = "2030-01-01",
        [CLI_OPT_WEBROOT] = "/var/www",
};

/* Whether the option takes a value: cli_usage writes "--name VALUE". */
static bool
takes_value(enum cli_opt opt)
{
	return sample[opt] != NULL;
}

/* What a file descriptor received while redirected to a temporary file. */
struct capture {
	int fd;
	int saved;
	FILE *file;
	char text[OUT_MAX];
};

static void
capture_begin(struct capture *c, int fd)
{
	memset(c, 0, sizeof(*c));
	fflush(fd == STDOUT_FILENO ? stdout : stderr);
	c->fd = fd;
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), fd) >= 0);
}

static const char *
capture_end(struct capture *c)
{
	size_t n;

	fflush(c->fd == STDOUT_FILENO ? stdout : stderr);
	assert_true(dup2(c->saved, c->fd) >= 0);
	close(c->saved);
	rewind(c->file);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
	c->text[n] = '\0';
	fclose(c->file);
	return c->text;
}

/* argv for "acmed <command>" and the arguments from first on (up to a
 * NULL). Returns argc. */
static int
make_argv(char **argv, const struct cli_command *command, const char *first, va_list ap)
{
	int argc = 0;

	argv[argc++] = (char *)command->name;
	for (const char *a = first; a != NULL && argc < MAX_ARGS - 1;
	     a = va_arg(ap, const char *)) {
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return argc;
}

/* Parses "acmed <command> args..." (args ends with NULL). */
static int
parse(struct cli *cli, const struct cli_command *command, char **argv, const char *first, ...)
{
	va_list ap;
	int argc;

	va_start(ap, first);
	argc = make_argv(argv, command, first, ap);
	va_end(ap);
	return cli_parse(cli, command, argc, argv);
}

/* Parses and expects a usage error: stderr is message (after "acmed:
 * error: ") on one line, then "see acmed COMMAND --help", and nothing
 * else (not the whole usage). */
static void
expect_error(const struct cli_command *command, const char *message, const char *first, ...)
{
	char *argv[MAX_ARGS];
	char expected[1024];
	struct capture c;
	struct cli cli;
	va_list ap;
	int argc;
	const char *out;
	int rc;

	va_start(ap, first);
	argc = make_argv(argv, command, first, ap);
	va_end(ap);
	capture_begin(&c, STDERR_FILENO);
	rc = cli_parse(&cli, command, argc, argv);
	out = capture_end(&c);
	assert_int_equal(rc, -1);
	snprintf(expected, sizeof(expected), "acmed: error: %s\nsee acmed %s --help\n", message,
	         command->name);
	if (strcmp(out, expected) != 0) {
		fail_msg("got \"%s\", expected \"%s\"", out, expected);
	}
}

static int
group_setup(void **state)
{
	(void)state;
	log_init("acmed", LOG_LEVEL_INFO, false);
	/* Defaults must not come from the host running the test. */
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	return 0;
}

/* Every option of every command parses, with its value where it takes one,
 * and is recorded in flags and values. */
static void
test_every_option(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct cli_command *command = commands[i];
		const char *arg = command->min_args > 0 ? "a.example" : NULL;
		const char *arg2 = command->min_args > 1 ? "b.example" : NULL;

		for (const enum cli_opt *o = command->options; *o != CLI_OPT__MAX; o++) {
			char *argv[MAX_ARGS];
			char flag[64];
			struct cli cli;

			snprintf(flag, sizeof(flag), "--%s", cli_opt_name(*o));
			if (takes_value(*o)) {
				assert_int_equal(parse(&cli, command, argv, flag, sample[*o], arg,
				                       arg2, NULL),
				                 0);
				assert_string_equal(cli.values[*o], sample[*o]);
			} else {
				assert_int_equal(parse(&cli, command, argv, flag, arg, arg2, NULL),
				                 0);
				assert_null(cli.values[*o]);
			}
			assert_true(cli.flags[*o]);
			assert_int_equal(cli.n_args, command->min_args > 0 ? command->min_args : 0);
			cli_finish(&cli);
		}
	}
}

/* The options every command takes: -c, -v, -q, in short and long form. */
static void
test_common_options(void **state)
{
	char *argv[MAX_ARGS];
	struct cli cli;

	(void)state;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct cli_command *command = commands[i];
		const char *arg = command->min_args > 0 ? "a.example" : NULL;
		const char *arg2 = command->min_args > 1 ? "b.example" : NULL;

		assert_int_equal(parse(&cli, command, argv, "-c", "/etc/x.conf", "-v", "--verbose",
		                       "-q", arg, arg2, NULL),
		                 0);
		assert_string_equal(cli.config_path, "/etc/x.conf");
		assert_int_equal(cli.verbosity, 1);
		assert_ptr_equal(cli.command, command);
		assert_int_equal(cli.n_args, command->min_args > 0 ? command->min_args : 0);
		cli_finish(&cli);
		assert_int_equal(parse(&cli, command, argv, "--config=/etc/y.conf", "--quiet", arg,
		                       arg2, NULL),
		                 0);
		assert_string_equal(cli.config_path, "/etc/y.conf");
		assert_int_equal(cli.verbosity, -1);
		cli_finish(&cli);
	}
}

/* The options that name how a challenge is answered: the key each sets,
 * and the challenge it implies. */
struct responder {
	const char *flag;
	const char *value;
	size_t field; /* in struct conf_settings */
	enum conf_challenge challenge;
};

static const struct responder responders[] = {
        {"--dns-hook", "/bin/dns", offsetof(struct conf_settings, dns_hook), CONF_CHALLENGE_DNS01},
        {"--standalone", "127.0.0.1:8080", offsetof(struct conf_settings, http_listen),
         CONF_CHALLENGE_HTTP01},
        {"--tls-alpn", "[::1]:8443", offsetof(struct conf_settings, tls_listen),
         CONF_CHALLENGE_TLSALPN01},
        {"--http-hook", "/bin/h", offsetof(struct conf_settings, http_hook), CONF_CHALLENGE_HTTP01},
        {"--webroot", "/srv/www", offsetof(struct conf_settings, webroot), CONF_CHALLENGE_HTTP01},
        {"--dns-update", "[::1]:5353", offsetof(struct conf_settings, dns_update),
         CONF_CHALLENGE_DNS01},
};

/* The dns-01 options of #18's operator trial: --no-caa-check sets
 * caa-check = no (cert and renew), --dns-propagation-servers its key, and
 * two ways of answering one challenge are a usage error. */
static void
test_dns_options(void **state)
{
	char *argv[MAX_ARGS];
	struct cli cli;

	(void)state;
	assert_int_equal(parse(&cli, &cmd_renew, argv, "--no-caa-check", "--dns-update",
	                       "ns1.example", "--dns-update-key", "/k", "--dns-propagation-servers",
	                       "192.0.2.1:5353", NULL),
	                 0);
	assert_true(cli.settings.set & (UINT64_C(1) << CONF_KEY_CAA_CHECK));
	assert_false(cli.settings.caa_check);
	assert_string_equal(cli.settings.dns_update, "ns1.example");
	assert_string_equal(cli.settings.dns_update_key, "/k");
	assert_string_equal(cli.settings.dns_propagation_servers, "192.0.2.1:5353");
	assert_int_equal(cli.settings.challenge, CONF_CHALLENGE_DNS01);
	cli_finish(&cli);
	expect_error(&cmd_cert,
	             "cert: --dns-hook and --dns-update answer the challenge two ways: keep one "
	             "of them",
	             "--dns-update", "127.0.0.1", "--dns-hook", "/bin/h", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --webroot and --http-hook answer the challenge two ways: keep one of "
	             "them",
	             "--webroot", "/srv", "--http-hook", "/bin/h", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --dns-update: invalid value '1.2.3': not an address or host name: "
	             "IPV4[:PORT], [IPV6]:PORT or NAME[:PORT] (port 1 to 65535)",
	             "--dns-update", "1.2.3", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --dns-propagation-servers: invalid value 'ns1.example': "
	             "\"ns1.example\": not an IPv4 address",
	             "--dns-propagation-servers", "ns1.example", "a.example", NULL);
}

/* The config keys the options of acmed cert set, and what they imply. */
static void
test_cert_settings(void **state)
{
	char *argv[MAX_ARGS];
	struct cli cli;

	(void)state;
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--webroot", "/var/www", "--email",
	                       "a@example.com", "--email", "mailto:b@example.com", "--agree-tos",
	                       "--reuse-key", "--key-type", "rsa-3072", "--account-key-type",
	                       "ec-p384", "--ca", "zerossl", "--profile", "short", "--deploy-hook",
	                       "/bin/reload nginx", "www.example", NULL),
	                 0);
	assert_string_equal(cli.settings.webroot, "/var/www");
	assert_true(cli.settings.set & (UINT64_C(1) << CONF_KEY_CHALLENGE));
	assert_int_equal(cli.settings.challenge, CONF_CHALLENGE_HTTP01);
	assert_int_equal(cli.settings.n_emails, 2);
	assert_string_equal(cli.settings.emails[0], "a@example.com");
	assert_string_equal(cli.settings.emails[1], "b@example.com");
	assert_true(cli.settings.agree_tos);
	assert_true(cli.settings.reuse_key);
	assert_int_equal(cli.settings.key_type, KEY_TYPE_RSA_3072);
	assert_int_equal(cli.settings.account_key_type, KEY_TYPE_EC_P384);
	assert_string_equal(cli.settings.ca, "zerossl");
	assert_string_equal(cli.settings.profile, "short");
	assert_string_equal(cli.settings.deploy_hook, "/bin/reload nginx");
	assert_int_equal(cli.n_args, 1);
	assert_string_equal(cli.args[0], "www.example");
	/* Domains come from the arguments later (cmd_cert), not here. */
	assert_int_equal(cli.settings.n_domains, 0);
	cli_finish(&cli);

	for (size_t i = 0; i < sizeof(responders) / sizeof(responders[0]); i++) {
		const struct responder *r = &responders[i];

		assert_int_equal(parse(&cli, &cmd_cert, argv, r->flag, r->value, "a.example", NULL),
		                 0);
		assert_string_equal(*(char **)((char *)&cli.settings + r->field), r->value);
		assert_int_equal(cli.settings.challenge, r->challenge);
		cli_finish(&cli);
	}

	/* Two ways of answering on one command line: refused, whatever the
	 * order (operator trial of #18: the first one silently won). */
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--webroot", "/w", "--dns-hook", "/bin/dns",
	                       "a.example", NULL),
	                 -1);
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--dns-hook", "/bin/dns", "--standalone",
	                       "127.0.0.1:80", "a.example", NULL),
	                 -1);
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--dns-hook", "/bin/dns", "--dns-update-key",
	                       "/k", "a.example", NULL),
	                 -1);
	/* The key beside --dns-update, or alone (the configuration's
	 * dns-update), is taken. */
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--dns-update", "127.0.0.1",
	                       "--dns-update-key", "/k", "a.example", NULL),
	                 0);
	cli_finish(&cli);
	assert_int_equal(parse(&cli, &cmd_cert, argv, "--dns-update-key", "/k", "a.example", NULL),
	                 0);
	cli_finish(&cli);

	assert_int_equal(parse(&cli, &cmd_cert, argv, "--name", "site", "--force", "--json",
	                       "--drop-names", "a.example", "b.example", NULL),
	                 0);
	assert_string_equal(cli.values[CLI_OPT_NAME], "site");
	assert_true(cli.flags[CLI_OPT_FORCE]);
	assert_true(cli.flags[CLI_OPT_JSON]);
	assert_true(cli.flags[CLI_OPT_DROP_NAMES]);
	assert_int_equal(cli.n_args, 2);
	/* Flags set no key. */
	assert_int_equal(cli.settings.set, 0);
	cli_finish(&cli);
}

/* The keys of the other commands' options. */
static void
test_other_settings(void **state)
{
	char *argv[MAX_ARGS];
	struct cli cli;

	(void)state;
	assert_int_equal(parse(&cli, &cmd_account, argv, "register", "--eab-kid", "kid-1",
	                       "--eab-hmac-key", "c2VjcmV0", "--eab-alg", "HS512", "--state-dir",
	                       "/srv/acmed", "--ca-file", "/etc/ca.pem", NULL),
	                 0);
	assert_string_equal(cli.settings.eab_kid, "kid-1");
	assert_string_equal(cli.settings.eab_hmac_key, "c2VjcmV0");
	assert_string_equal(cli.settings.eab_alg, "HS512");
	assert_string_equal(cli.settings.state_dir, "/srv/acmed");
	assert_string_equal(cli.settings.ca_file, "/etc/ca.pem");
	assert_string_equal(cli.args[0], "register");
	cli_finish(&cli);

	/* A relative --state-dir: made absolute against the working folder
	 * (the daemon, hooks and status get one path); the value as typed
	 * stays for messages. */
	{
		char cwd[4096];
		char want[4200];

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(want, sizeof(want), "%s/var/acmed", cwd);
		assert_int_equal(parse(&cli, &cmd_status, argv, "--state-dir", "var/acmed", NULL),
		                 0);
		assert_string_equal(cli.settings.state_dir, want);
		assert_string_equal(cli.values[CLI_OPT_STATE_DIR], "var/acmed");
		cli_finish(&cli);
		assert_int_equal(
		        parse(&cli, &cmd_status, argv, "--state-dir", ".//./var/acmed", NULL), 0);
		assert_string_equal(cli.settings.state_dir, want);
		cli_finish(&cli);
		assert_int_equal(parse(&cli, &cmd_status, argv, "--state-dir", ".", NULL), 0);
		assert_string_equal(cli.settings.state_dir, cwd);
		cli_finish(&cli);
	}

	assert_int_equal(parse(&cli, &cmd_revoke, argv, "--reason", "superseded", "--key", "k.pem",
	                       "cert.pem", NULL),
	                 0);
	assert_string_equal(cli.values[CLI_OPT_REASON], "superseded");
	assert_string_equal(cli.values[CLI_OPT_KEY], "k.pem");
	assert_int_equal(cli.settings.set, 0);
	cli_finish(&cli);

	assert_int_equal(parse(&cli, &cmd_renew, argv, "--now", "--force", "www", "api", NULL), 0);
	assert_true(cli.flags[CLI_OPT_NOW]);
	assert_true(cli.flags[CLI_OPT_FORCE]);
	assert_int_equal(cli.n_args, 2);
	cli_finish(&cli);

	assert_int_equal(parse(&cli, &cmd_run, argv, "--syslog", NULL), 0);
	assert_true(cli.flags[CLI_OPT_SYSLOG]);
	cli_finish(&cli);

	assert_int_equal(parse(&cli, &cmd_check, argv, "--syntax", "/etc/acmed.conf", NULL), 0);
	assert_true(cli.flags[CLI_OPT_SYNTAX]);
	assert_string_equal(cli.args[0], "/etc/acmed.conf");
	cli_finish(&cli);
	/* cluster-key: a verb and a file, nothing that sets a key. */
	assert_int_equal(parse(&cli, &cmd_cluster_key, argv, "new", "/etc/acmed/cluster.key", NULL),
	                 0);
	assert_int_equal(cli.n_args, 2);
	assert_string_equal(cli.args[0], "new");
	assert_string_equal(cli.args[1], "/etc/acmed/cluster.key");
	assert_int_equal(cli.settings.set, 0);
	cli_finish(&cli);
	assert_int_equal(parse(&cli, &cmd_cluster_key, argv, "-v", "id", "k", NULL), 0);
	assert_string_equal(cli.args[0], "id");
	assert_int_equal(cli.verbosity, 1);
	cli_finish(&cli);
}

/* --help prints the usage on stdout and returns 1. */
static void
test_help(void **state)
{
	char *argv[MAX_ARGS];
	struct capture c;
	struct cli cli;
	const char *out;
	int rc;

	(void)state;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char first[128];

		capture_begin(&c, STDOUT_FILENO);
		rc = parse(&cli, commands[i], argv, "--help", NULL);
		out = capture_end(&c);
		cli_finish(&cli);
		assert_int_equal(rc, 1);
		snprintf(first, sizeof(first), "usage: acmed %s [options]", commands[i]->name);
		assert_memory_equal(out, first, strlen(first));
		assert_non_null(strstr(out, commands[i]->summary));
		assert_non_null(strstr(out, "  -h, --help                   show this help\n"));
		for (const enum cli_opt *o = commands[i]->options; *o != CLI_OPT__MAX; o++) {
			char flag[64];

			snprintf(flag, sizeof(flag), "--%s%s", cli_opt_name(*o),
			         takes_value(*o) ? " " : "");
			assert_non_null(strstr(out, flag));
		}
	}
	/* -h after an argument, and even with one missing. */
	capture_begin(&c, STDOUT_FILENO);
	rc = parse(&cli, &cmd_cert, argv, "-h", NULL);
	capture_end(&c);
	cli_finish(&cli);
	assert_int_equal(rc, 1);
}

static void
test_usage_text(void **state)
{
	struct capture c;
	const char *out;

	(void)state;
	capture_begin(&c, STDOUT_FILENO);
	cli_usage(&cmd_revoke, stdout);
	out = capture_end(&c);
	assert_string_equal(
	        out, "usage: acmed revoke [options] NAME|CERTFILE\n"
	             "Revoke a certificate (by name or file); --replace orders a new one at "
	             "once.\n\noptions:\n"
	             "      --reason REASON          unspecified keyCompromise affiliationChanged "
	             "superseded cessationOfOperation, or 0 1 3 4 5\n"
	             "      --key KEYFILE            sign with the certificate's own private key "
	             "(PEM)\n"
	             "      --ca URL|NAME            CA directory URL or short name\n"
	             "      --ca-file PEM            trust these certificates for the CA's https\n"
	             "      --state-dir DIR          keys, certificates and state\n"
	             "      --replace                order the certificate's replacement at once\n"
	             "      --standalone [ADDR:]PORT answer http-01 with the built-in responder\n"
	             "      --tls-alpn [ADDR:]PORT   answer tls-alpn-01 with the built-in "
	             "responder\n"
	             "      --webroot DIR            http-01 by writing files under DIR\n"
	             "      --http-hook PROG         http-01 through PROG add|del DOMAIN TOKEN "
	             "KEYAUTH\n"
	             "      --dns-hook PROG          dns-01 through PROG add|del NAME VALUE\n"
	             "      --deploy-hook CMD        run CMD after a certificate is installed\n"
	             "      --key-type TYPE          certificate key: ec-p256 ec-p384 rsa-2048 "
	             "rsa-3072 rsa-4096\n"
	             "      --pre-hook CMD           run CMD once before the orders of this run "
	             "(free port 80)\n"
	             "      --post-hook CMD          run CMD once after the orders of this run\n"
	             "  -c, --config FILE            configuration file (default " ACMED_SYSCONFDIR
	             "/acmed.conf)\n"
	             "  -v, --verbose                more messages\n"
	             "  -q, --quiet                  fewer messages\n"
	             "  -h, --help                   show this help\n");
	/* account's --key-type is the account key's, cert's the certificate's. */
	capture_begin(&c, STDOUT_FILENO);
	cli_usage(&cmd_account, stdout);
	out = capture_end(&c);
	assert_non_null(strstr(out, "--key-type TYPE          rollover: the new account key: "));
	assert_null(strstr(out, "certificate key"));
	capture_begin(&c, STDOUT_FILENO);
	cli_usage(&cmd_cert, stdout);
	out = capture_end(&c);
	assert_non_null(strstr(out, "--key-type TYPE          certificate key: "));
	assert_string_equal(cli_opt_name(CLI_OPT_EAB_KID), "eab-kid");
	assert_null(cli_opt_name(CLI_OPT__MAX));
}

/* Each mistake: its message naming the option as typed, then where the
 * help is, on stderr. */
static void
test_errors(void **state)
{
	(void)state;
	expect_error(&cmd_cert, "cert: unknown option --bogus", "--bogus", "a.example", NULL);
	expect_error(&cmd_cert, "cert: unknown option -x", "-x", "a.example", NULL);
	expect_error(&cmd_jobs, "jobs: unknown option --force", "--force", NULL);
	expect_error(&cmd_cert, "cert: option --webroot needs a value", "a.example", "--webroot",
	             NULL);
	expect_error(&cmd_cert, "cert: option -c needs a value", "a.example", "-c", NULL);
	expect_error(&cmd_deploy, "deploy: missing argument: CERT [CERT...]", "-v", NULL);
	expect_error(&cmd_account,
	             "account: missing argument: show|register|update|rollover|deactivate", NULL);
	expect_error(&cmd_terms, "terms: unexpected argument 'extra'", "extra", NULL);
	expect_error(&cmd_cluster_key, "cluster-key: missing argument: new|id FILE", NULL);
	expect_error(&cmd_cluster_key, "cluster-key: missing argument: new|id FILE", "new", NULL);
	expect_error(&cmd_cluster_key, "cluster-key: unexpected argument 'c'", "new", "b", "c",
	             NULL);
	expect_error(&cmd_cluster_key, "cluster-key: unknown option --state-dir", "--state-dir",
	             "/x", "new", "k", NULL);
	expect_error(&cmd_revoke, "revoke: unexpected argument 'b.pem'", "a.pem", "b.pem", NULL);
	expect_error(&cmd_check, "check: unexpected argument 'b'", "--syntax", "a", "b", NULL);
	expect_error(&cmd_cert,
	             "cert: --key-type: invalid value 'bogus': expected ec-p256, ec-p384, "
	             "rsa-2048, rsa-3072 or rsa-4096",
	             "--key-type", "bogus", "a.example", NULL);
	expect_error(&cmd_cert, "cert: --email: invalid address 'bad': expected name@domain",
	             "--email", "bad", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --standalone: invalid value '99999': expected PORT, "
	             "ADDR:PORT or [ADDR]:PORT with a port from 1 to 65535",
	             "--standalone", "99999", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --ca: unknown CA 'http://ca.example': expected the name of a [ca NAME] "
	             "section, an https URL or one of buypass, buypass-staging, google, "
	             "google-staging, letsencrypt, letsencrypt-staging, zerossl",
	             "--ca", "http://ca.example", "a.example", NULL);
	expect_error(&cmd_renew,
	             "renew: --eab-alg: invalid value 'HS999': expected HS256, HS384 or HS512",
	             "--eab-alg", "HS999", NULL);
	expect_error(&cmd_renew,
	             "renew: --eab-hmac-key: invalid value: expected base64url "
	             "without padding",
	             "--eab-hmac-key", "not base64!", NULL);
	expect_error(&cmd_cert, "cert: --profile: invalid value 'a b': expected no spaces",
	             "--profile", "a b", "a.example", NULL);
	expect_error(&cmd_cert,
	             "cert: --tls-alpn: invalid value '0': expected PORT, ADDR:PORT or "
	             "[ADDR]:PORT with a port from 1 to 65535",
	             "--tls-alpn", "0", "a.example", NULL);
	expect_error(&cmd_account,
	             "account: --key-type: invalid value 'x': expected ec-p256, ec-p384, "
	             "rsa-2048, rsa-3072 or rsa-4096",
	             "--key-type", "x", "rollover", NULL);
}

/* Runs "acmed cluster-key ARGS" (up to a NULL) and returns its exit
 * status, with what it printed on stdout in out and stderr in err. */
static int
run_cluster_key(char *out, char *err, size_t len, const char *first, ...)
{
	char *argv[MAX_ARGS];
	struct capture c_out, c_err;
	struct cli cli;
	va_list ap;
	int argc;
	int rc;

	va_start(ap, first);
	argc = make_argv(argv, &cmd_cluster_key, first, ap);
	va_end(ap);
	assert_int_equal(cli_parse(&cli, &cmd_cluster_key, argc, argv), 0);
	capture_begin(&c_out, STDOUT_FILENO);
	capture_begin(&c_err, STDERR_FILENO);
	rc = cli.command->run(&cli);
	snprintf(err, len, "%s", capture_end(&c_err));
	snprintf(out, len, "%s", capture_end(&c_out));
	cli_finish(&cli);
	return rc;
}

/* What acmed cluster-key does with each verb. */
static void
test_cluster_key_run(void **state)
{
	char dir[] = "/tmp/acmed-test-cli.XXXXXX";
	char path[128], want[256], out[OUT_MAX], err[OUT_MAX], id[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cluster.key", dir);
	assert_int_equal(run_cluster_key(out, err, sizeof(out), "new", path, NULL), CLI_EXIT_OK);
	snprintf(want, sizeof(want), "%s: new cluster key ", path);
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(strlen(out), strlen(want) + 17);
	assert_int_equal(strspn(out + strlen(want), "0123456789abcdef"), 16);
	snprintf(id, sizeof(id), "%s", out + strlen(want));
	assert_non_null(strstr(err, ": copy it to every node (mode 0600)"));

	/* id names the same key; new never replaces it. */
	assert_int_equal(run_cluster_key(out, err, sizeof(out), "id", path, NULL), CLI_EXIT_OK);
	snprintf(want, sizeof(want), "%s: cluster key %s", path, id);
	assert_string_equal(out, want);
	assert_int_equal(run_cluster_key(out, err, sizeof(out), "new", path, NULL),
	                 CLI_EXIT_FAILURE);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(run_cluster_key(out, err, sizeof(out), "id", path, NULL), CLI_EXIT_OK);
	assert_string_equal(out, want);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(run_cluster_key(out, err, sizeof(out), "id", path, NULL),
	                 CLI_EXIT_FAILURE);
	snprintf(want, sizeof(want), "run chmod 600 %s", path);
	assert_non_null(strstr(err, want));
	assert_string_equal(out, "");

	assert_int_equal(run_cluster_key(out, err, sizeof(out), "make", path, NULL),
	                 CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "acmed: error: cluster-key: unknown sub-command 'make': use "
	                            "new or id\nsee acmed cluster-key --help\n"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_option),    cmocka_unit_test(test_common_options),
	        cmocka_unit_test(test_cert_settings),   cmocka_unit_test(test_other_settings),
	        cmocka_unit_test(test_dns_options),     cmocka_unit_test(test_help),
	        cmocka_unit_test(test_usage_text),      cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_cluster_key_run),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
