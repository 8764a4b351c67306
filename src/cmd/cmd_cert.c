#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/dry_run.h"
#include "renew/job_runner.h"
#include "base/ident.h"
#include "base/log.h"
#include "renew/policy.h"
#include "renew/preflight.h"
#include "store/store_cert.h"

/* The certificate's name from its first domain: "*.example.com" becomes
 * "_.example.com", an IPv6 address loses its colons. */
static void
name_from_domain(const char *domain, char *name, size_t len)
{
	size_t n = 0;

	for (const char *p = domain; *p != '\0' && n + 1 < len; p++) {
		name[n++] = (*p == '*' || *p == ':') ? '_' : *p;
	}
	name[n] = '\0';
}

/* --json: what happened, where the files are, until when they are valid. */
static int
print_json(const char *name, const struct conf_settings *st, const char *state_dir,
           const struct job_runner *runner)
{
	const char *result = job_runner_count(runner, JOB_ISSUED) > 0    ? "issued"
	                     : job_runner_count(runner, JOB_RENEWED) > 0 ? "renewed"
	                                                                 : "unchanged";
	static const enum store_cert_file files[4] = {STORE_CERT_PRIVKEY, STORE_CERT_CERT,
	                                              STORE_CERT_CHAIN, STORE_CERT_FULLCHAIN};
	struct store_cert_info info;
	json_t *domains = json_array();
	json_t *root = NULL;
	char *paths[4] = {NULL, NULL, NULL, NULL};
	int rc = CLI_EXIT_FAILURE;

	memset(&info, 0, sizeof(info));
	if (domains == NULL || store_cert_inspect(state_dir, name, &info) < 0) {
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		paths[i] = store_cert_path(state_dir, name, files[i]);
		if (paths[i] == NULL) {
			goto out;
		}
	}
	for (size_t i = 0; i < st->n_domains; i++) {
		json_array_append_new(domains, json_string(st->domains[i]));
	}
	root = json_pack("{s:s, s:s, s:O, s:I, s:{s:s, s:s, s:s, s:s}}", "cert", name, "result",
	                 result, "domains", domains, "not_after", (json_int_t)info.not_after,
	                 "files", "privkey", paths[0], "cert", paths[1], "chain", paths[2],
	                 "fullchain", paths[3]);
	if (cmd_print_json(root) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	for (size_t i = 0; i < 4; i++) {
		free(paths[i]);
	}
	store_cert_info_finish(&info);
	json_decref(root);
	json_decref(domains);
	return rc;
}

/* Names are never dropped silently (a site would break for them): removing
 * names from what is installed needs --drop-names; adding is said. Returns
 * 0, or -1 (logged) to refuse. */
static int
check_names(const char *state_dir, const char *name, const struct conf_settings *s, bool drop)
{
	struct store_cert_info info;
	struct ident *want = NULL;
	char list[1024] = "";
	size_t n;
	int rc = -1;

	if (store_cert_inspect(state_dir, name, &info) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (!info.present) {
		rc = 0;
		goto out;
	}
	want = calloc(s->n_domains + 1, sizeof(*want));
	if (want == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n_domains; i++) {
		want[i].type = ident_type_of(s->domains[i]);
		want[i].value = s->domains[i];
	}
	n = ident_missing_text(info.ids, info.n_ids, want, s->n_domains, "", list, sizeof(list));
	if (n > 0 && !drop) {
		log_error("%s: the installed certificate also covers %s; this would drop %s: name "
		          "%s too, or pass --drop-names",
		          name, list, n > 1 ? "them" : "it", n > 1 ? "them" : "it");
		goto out;
	}
	if (n > 0) {
		log_warn("%s: dropping %s (--drop-names)", name, list);
	}
	list[0] = '\0';
	if (ident_missing_text(want, s->n_domains, info.ids, info.n_ids, "", list, sizeof(list)) >
	    0) {
		log_info("%s: adding %s", name, list);
	}
	rc = 0;
out:
	free(want);
	store_cert_info_finish(&info);
	return rc;
}

/* Whether a name has a label separator: "." or one of the dots IDNA
 * reads as one (U+3002, U+FF0E, U+FF61, RFC 3490 section 3.1). */
static bool
has_dot(const char *s)
{
	return strchr(s, '.') != NULL || strstr(s, "\xe3\x80\x82") != NULL ||
	       strstr(s, "\xef\xbc\x8e") != NULL || strstr(s, "\xef\xbd\xa1") != NULL;
}

/* The section the arguments name: a NAME matching a section alone takes
 * that section's domains; names on the command line otherwise are the
 * domains, but never of a configured certificate: renew would put the
 * section's back. Returns 0 with the section or NULL in *section, or -1
 * (logged). */
static int
find_section(struct cli *cli, const struct conf *conf, const struct conf_cert **section)
{
	const char *name = cli->values[CLI_OPT_NAME];
	const struct conf_cert *c =
	        name != NULL ? conf_find_cert(conf, name) : cmd_find_cert(conf, cli->args[0]);

	unsigned char addr[16];
	size_t addr_len;

	*section = c;
	if (c != NULL && (cli->n_args > 1 || cmd_find_cert(conf, cli->args[0]) != c)) {
		log_error("%s: configured in %s:%d with its own domains: change them there (then "
		          "acmed renew %s), or pass --name for another certificate",
		          c->name, conf->path, c->line, c->name);
		return -1;
	}
	/* One word with no dot, where sections are configured: a section's
	 * name mistyped far more often than a name of one label (which no
	 * public CA issues for), and ordering it would spend an order. */
	if (c == NULL && name == NULL && conf->n_certs > 0 && cli->n_args == 1 &&
	    !has_dot(cli->args[0]) && ident_ip_bytes(cli->args[0], addr, &addr_len) != 0) {
		log_error("%s: no [cert %s] section in %s, and not a domain name (it has no dot): "
		          "acmed status lists the configured certificates; to order a name of one "
		          "label, pass --name",
		          cli->args[0], cli->args[0],
		          conf->path != NULL ? conf->path : "the configuration");
		return -1;
	}
	return 0;
}

/* The arguments as the domains of a certificate no section configures.
 * Returns 0, or -1 (logged). */
static int
set_domains(struct cli *cli)
{
	char err[256];

	for (int i = 0; i < cli->n_args; i++) {
		/* One name per argument: "exa mple.com" is a typo, not two
		 * names. */
		if (strpbrk(cli->args[i], " \t\n\r\v\f") != NULL) {
			log_error("'%s': a name cannot contain whitespace: pass each name as an "
			          "argument of its own",
			          cli->args[i]);
			return -1;
		}
		if (conf_set(&cli->settings, CONF_WHERE_CLI, "domains", cli->args[i], err,
		             sizeof(err)) < 0) {
			/* An argument, not the config key: "cert: invalid name
			 * 'x': why". */
			log_error("cert: %s", strncmp(err, "domains: ", 9) == 0 ? err + 9 : err);
			return -1;
		}
	}
	return 0;
}

/* The certificate's name: --name, the section's, else made from the first
 * domain into derived (len bytes). NULL (logged) when it is not usable. */
static const char *
cert_name(struct cli *cli, const struct conf_cert *section, char *derived, size_t len)
{
	const char *name = cli->values[CLI_OPT_NAME];

	if (name == NULL && section != NULL) {
		name = section->name;
	} else if (name == NULL) {
		/* The domain as set_domains made it: "bücher.example" names
		 * its folder by its A-label. */
		name_from_domain(cli->settings.n_domains > 0 ? cli->settings.domains[0]
		                                             : cli->args[0],
		                 derived, len);
		name = derived;
	}
	if (!store_cert_name_ok(name)) {
		log_error("'%s' is not a usable certificate name: use --name with letters, digits, "
		          "'.', '_' or '-'",
		          name);
		name = NULL;
	}
	return name;
}

/* International names are ordered by their A-labels: says which names
 * those are ("xn--bcher-kva.example (bücher.example)"), once, when there
 * are any. */
static void
say_idn(const char *name, const struct conf_settings *settings)
{
	char list[1024] = "";
	char one[512];
	size_t used = 0;
	bool any = false;

	for (size_t i = 0; i < settings->n_domains; i++) {
		int n;

		any = any || ident_dns_is_idn(settings->domains[i]);
		n = snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "",
		             ident_dns_display(settings->domains[i], one, sizeof(one)));
		used += n > 0 ? (size_t)n : 0;
		if (used >= sizeof(list)) {
			break;
		}
	}
	if (any) {
		log_info("%s: names %s", name, list);
	}
}

/* Whether every domain can be validated: wildcards only through DNS. */
static bool
wildcards_ok(const struct conf_settings *settings)
{
	for (size_t i = 0; i < settings->n_domains; i++) {
		if (strncmp(settings->domains[i], "*.", 2) == 0 &&
		    !conf_challenge_dns(settings->challenge)) {
			log_error("%s: wildcards need dns-01: pass --dns-hook PROG or set dns-hook",
			          settings->domains[i]);
			return false;
		}
	}
	return true;
}

/* Prints where the new certificate is, when one was issued or renewed. */
static void
print_paths(const char *state_dir, const char *name, const struct job_runner *runner)
{
	char *full = NULL;
	char *key = NULL;

	if (job_runner_count(runner, JOB_ISSUED) + job_runner_count(runner, JOB_RENEWED) == 0) {
		return;
	}
	full = store_cert_path(state_dir, name, STORE_CERT_FULLCHAIN);
	key = store_cert_path(state_dir, name, STORE_CERT_PRIVKEY);
	if (full != NULL && key != NULL) {
		printf("%s\n%s\n", full, key);
	}
	free(full);
	free(key);
}

/* --dry-run's output: the certificate's line was printed as its job ended;
 * --json prints its row, unless it failed (the failure's JSON then). */
static int
dry_run_output(struct cli *cli, const char *name, const struct dry_run *dr)
{
	int rc = CLI_EXIT_FAILURE;

	if (dr->counts[JOB_FAILED] > 0) {
		goto out;
	}
	if (cli->flags[CLI_OPT_JSON] && cmd_print_json(dry_run_row(dr, name)) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	return rc;
}

/* Gets or renews the certificate name of settings under state_dir and
 * prints what the caller needs; dr: a dry run's (settings and state_dir
 * are its), else NULL; more_settings: its failover CAs' (n_more).
 * Returns a CLI exit status. */
static int
issue(struct cli *cli, const char *name, const struct conf_settings *settings,
      const char *state_dir, const struct preflight_memo *memo, struct dry_run *dr,
      const struct conf_settings *more_settings, size_t n_more)
{
	double asked_at = job_wall_time();
	struct session s;
	struct session_more more;
	const struct conf_settings *more_list[CONF_CA_LIST_MAX];
	struct job_runner_config config;
	struct job_request req;
	struct policy_decision d;
	struct job_runner *runner = NULL;
	struct batch_hooks *batch = NULL;
	struct session_signals sig;
	const char *ca_url = session_ca_url(settings);
	bool need_ca;
	int rc;

	memset(&sig, 0, sizeof(sig));
	memset(&req, 0, sizeof(req));
	memset(&more, 0, sizeof(more));
	/* A dry run orders whatever is installed. */
	req.force = cli->flags[CLI_OPT_FORCE] || dr != NULL;
	/* What another process installs from now on answers --force (not a
	 * dry run's own folder). */
	req.asked_at = dr == NULL ? asked_at : 0;
	need_ca = ca_url != NULL && (req.force ||
	                             policy_check(state_dir, name, settings, ca_url, false, 0,
	                                          time(NULL), &d, NULL) < 0 ||
	                             d.action == POLICY_ORDER || d.ari_stale);
	rc = cmd_exit(session_connect(&s, settings, state_dir, need_ca, &config));
	/* Its failover CAs, reached when the first is needed. */
	for (size_t i = 0; i < n_more; i++) {
		more_list[i] = &more_settings[i];
	}
	if (rc == CLI_EXIT_OK && n_more > 0) {
		rc = cmd_exit(session_connect_more(&more, more_list, n_more, state_dir, need_ca,
		                                   s.fleet, &config));
	}
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	config.concurrency = 1;
	config.preflight = memo;
	batch = cmd_batch_hooks(settings);
	config.batch = batch;
	runner = job_runner_create(&config);
	if (runner != NULL && dr != NULL) {
		job_runner_on_done(runner, dry_run_on_done, dr);
	}
	if (runner == NULL || job_runner_add(runner, name, settings, &req) < 0) {
		goto out;
	}
	/* From here a signal withdraws what the order presented before the
	 * command ends (acmed(8) SIGNALS). */
	session_signals_start(&sig, config.loop);
	session_signals_runner(&sig, runner);
	job_runner_run(runner);
	session_signals_runner(&sig, NULL);
	/* After the order, failed, stopped or not: the web server comes
	 * back. */
	if (batch_hooks_finish(batch) < 0 && session_signals_exit(&sig) == 0) {
		goto out;
	}
	if (session_signals_exit(&sig) != 0) {
		rc = session_signals_exit(&sig);
		goto out;
	}
	if (dr != NULL) {
		rc = dry_run_output(cli, name, dr);
		goto out;
	}
	/* Held by a backoff: nothing was done, and no certificate is there
	 * for the caller. */
	if (job_runner_count(runner, JOB_FAILED) > 0 ||
	    job_runner_count(runner, JOB_DEFERRED) > 0) {
		goto out;
	}
	if (cli->flags[CLI_OPT_JSON]) {
		rc = print_json(name, settings, state_dir, runner);
		goto out;
	}
	if (!cmd_quiet(cli)) {
		print_paths(state_dir, name, runner);
	}
	rc = CLI_EXIT_OK;
out:
	session_signals_stop(&sig);
	job_runner_destroy(runner);
	batch_hooks_destroy(batch);
	session_more_finish(&more);
	session_finish(&s);
	return rc;
}

/* The places of --csr's files without --csr, and no NAME: one line each.
 * Returns 0, or -1 (logged). */
static int
csr_flags_alone(const struct cli *cli)
{
	static const enum cli_opt paths[] = {
	        CLI_OPT_CERT_PATH,
	        CLI_OPT_FULLCHAIN_PATH,
	        CLI_OPT_CHAIN_PATH,
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (cli->values[paths[i]] != NULL) {
			log_error("--%s: only with --csr FILE; acmed cert NAME keeps its files in "
			          "the state folder and prints where",
			          cli_opt_name(paths[i]));
			return -1;
		}
	}
	if (cli->n_args == 0) {
		log_error("cert: missing argument: %s (or --csr FILE)", cmd_cert.args);
		return -1;
	}
	return 0;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	const struct conf_cert *section = NULL;
	const char *name;
	char *state_dir = NULL;
	char derived[80];
	struct preflight_memo memo;
	struct dry_run dr;
	struct conf_settings *more = NULL;
	size_t n_more = 0;
	int kept;
	bool dry = cli->flags[CLI_OPT_DRY_RUN];
	int rc = CLI_EXIT_USAGE;

	memset(&settings, 0, sizeof(settings));
	memset(&memo, 0, sizeof(memo));
	memset(&dr, 0, sizeof(dr));
	conf_init(&conf);
	if (dry && cli->values[CLI_OPT_CSR] != NULL) {
		log_error("--dry-run: not with --csr: try its names with acmed cert --dry-run "
		          "NAME...");
		goto out;
	}
	if (cli->values[CLI_OPT_CSR] != NULL) {
		rc = cmd_cert_csr(cli);
		goto out;
	}
	if (csr_flags_alone(cli) < 0) {
		goto out;
	}
	if (cli_load_config(cli, &conf) < 0 || find_section(cli, &conf, &section) < 0 ||
	    (section == NULL && set_domains(cli) < 0)) {
		goto out;
	}
	name = cert_name(cli, section, derived, sizeof(derived));
	if (name == NULL) {
		goto out;
	}
	if (conf_resolve(&conf, section, &cli->settings, &settings) < 0 ||
	    cmd_more_cas(&conf, section, cli, &more, &n_more) < 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (!wildcards_ok(&settings)) {
		goto out;
	}
	say_idn(name, &settings);
	state_dir = session_state_dir(&settings);
	/* Before any account is registered or order made: what cannot be
	 * kept is not asked for. */
	if (state_dir == NULL ||
	    check_names(state_dir, name, &settings, cli->flags[CLI_OPT_DROP_NAMES]) < 0) {
		goto out;
	}
	/* A dry run works in its own state folder: the real one is only
	 * read (check_names, and what it tells of issued or renewed). */
	if (dry) {
		rc = dry_run_init(&dr, state_dir, cli->flags[CLI_OPT_JSON]) < 0
		             ? CLI_EXIT_FAILURE
		             : dry_run_settings(&dr, name, &settings);
		if (rc != CLI_EXIT_OK) {
			goto out;
		}
		/* Failover from staging to staging. */
		kept = dry_run_more(&dr, name, &settings, more, n_more);
		if (kept < 0) {
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		n_more = (size_t)kept;
		rc = CLI_EXIT_USAGE;
		dr.ca_url = settings.ca;
		dry_run_announce(&dr);
	}
	if (preflight_check(dry ? dr.state_dir : state_dir, name, &settings, 0, &memo, NULL, NULL) <
	    0) {
		goto out;
	}
	rc = issue(cli, name, &settings, dry ? dr.state_dir : state_dir, &memo, dry ? &dr : NULL,
	           more, n_more);
	if (dry && rc != CLI_EXIT_OK) {
		dry_run_not_run(&dr, &name, 1);
	}
out:
	cmd_more_cas_free(more, n_more);
	dry_run_finish(&dr);
	preflight_memo_finish(&memo);
	free(state_dir);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_NAME,
        CLI_OPT_WEBROOT,
        CLI_OPT_STANDALONE,
        CLI_OPT_TLS_ALPN,
        CLI_OPT_HTTP_HOOK,
        CLI_OPT_DNS_HOOK,
        CLI_OPT_DNS_PERSIST,
        CLI_OPT_DNS_UPDATE,
        CLI_OPT_DNS_UPDATE_KEY,
        CLI_OPT_DNS_RESOLVER,
        CLI_OPT_DNS_PROPAGATION_TIMEOUT,
        CLI_OPT_DNS_PROPAGATION_SERVERS,
        CLI_OPT_NO_CAA_CHECK,
        CLI_OPT_KEY_TYPE,
        CLI_OPT_REUSE_KEY,
        CLI_OPT_PROFILE,
        CLI_OPT_PREFERRED_CHAIN,
        CLI_OPT_CA,
        CLI_OPT_CA_FILE,
        CLI_OPT_EMAIL,
        CLI_OPT_AGREE_TOS,
        CLI_OPT_ACCOUNT_KEY_TYPE,
        CLI_OPT_STATE_DIR,
        CLI_OPT_DEPLOY_HOOK,
        CLI_OPT_PRE_HOOK,
        CLI_OPT_POST_HOOK,
        CLI_OPT_FORCE,
        CLI_OPT_JSON,
        CLI_OPT_DROP_NAMES,
        CLI_OPT_DRY_RUN,
        CLI_OPT_EAB_KID,
        CLI_OPT_EAB_HMAC_KEY,
        CLI_OPT_EAB_ALG,
        CLI_OPT_CSR,
        CLI_OPT_CERT_PATH,
        CLI_OPT_FULLCHAIN_PATH,
        CLI_OPT_CHAIN_PATH,
        CLI_OPT__MAX,
};

const struct cli_command cmd_cert = {
        .name = "cert",
        .args = "NAME [NAME...]",
        .summary = "Get (or renew when due) one certificate covering all NAMEs.",
        .options = options,
        .min_args = 0, /* NAME, or --csr (csr_flags_alone) */
        .max_args = -1,
        .run = run,
        .json_on_failure = true,
};
