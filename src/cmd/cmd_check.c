#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "challenge/challenge.h"
#include "challenge/responders.h"
#include "challenge/select.h"
#include "config.h"
#include "base/ident.h"
#include "base/file.h"
#include "base/log.h"
#include "conf/ca.h"
#include "io/dns.h"
#include "io/dns_msg.h"
#include "io/dns_update.h"
#include "io/hook.h"
#include "io/http.h"
#include "io/listener.h"
#include "renew/preflight.h"
#include "store/store.h"
#include "cmd/fleet.h"

#define CHECK_DAEMON_TIMEOUT_S 5.0

/* The problems printed so far: the state folder is shared by every
 * certificate, and one broken folder is one line, not one per section;
 * a problem said of one certificate ("www: http-listen ...: bind: ...")
 * and then of other certificates in the same words is printed for the
 * first, and the others are named after the problems. */
struct printed {
	const struct conf *conf;
	const char *file;
	char **lines;
	size_t n;
	size_t n_problems;
	/* Said again of another certificate: the line it repeats, and that
	 * certificate's name. */
	struct same {
		size_t line;
		char *name;
	} * same;
	size_t n_same;
};

/* The length of the configured certificate's name problem starts with
 * ("www: ..."), 0 when it does not start with one. */
static size_t
cert_prefix(const struct printed *p, const char *problem)
{
	const char *colon = strstr(problem, ": ");
	char name[256];
	size_t len = colon != NULL ? (size_t)(colon - problem) : 0;

	if (len == 0 || len >= sizeof(name) || p->conf == NULL) {
		return 0;
	}
	memcpy(name, problem, len);
	name[len] = '\0';
	return conf_find_cert(p->conf, name) != NULL ? len : 0;
}

/* Whether problem is printed line i said of another certificate: kept for
 * the end (once per certificate and line) when it is. */
static bool
said_before(struct printed *p, size_t i, const char *problem)
{
	size_t len = cert_prefix(p, problem), had = cert_prefix(p, p->lines[i]);
	struct same *grown;
	char *name;

	if (len == 0 || had == 0 || strcmp(p->lines[i] + had, problem + len) != 0) {
		return false;
	}
	for (size_t k = 0; k < p->n_same; k++) {
		if (p->same[k].line == i && strlen(p->same[k].name) == len &&
		    strncmp(p->same[k].name, problem, len) == 0) {
			return true;
		}
	}
	name = strndup(problem, len);
	grown = name != NULL ? realloc(p->same, (p->n_same + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free(name);
		return true;
	}
	p->same = grown;
	p->same[p->n_same].line = i;
	p->same[p->n_same].name = name;
	p->n_same++;
	return true;
}

/* After the problems, for each one said again of other certificates:
 * "the same as www: b, c, d, e, f and 295 more certificates". */
static void
print_same(const struct printed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		size_t n = 0, shown = 0;

		for (size_t k = 0; k < p->n_same; k++) {
			n += p->same[k].line == i;
		}
		if (n == 0) {
			continue;
		}
		fprintf(stderr, "%s: the same as %.*s: ", p->file, (int)cert_prefix(p, p->lines[i]),
		        p->lines[i]);
		for (size_t k = 0; k < p->n_same && shown < 5; k++) {
			if (p->same[k].line == i) {
				fprintf(stderr, "%s%s", shown > 0 ? ", " : "", p->same[k].name);
				shown++;
			}
		}
		if (n > shown) {
			fprintf(stderr, " and %zu more certificates", n - shown);
		}
		fprintf(stderr, "\n");
	}
}

static void
on_problem(const char *problem, void *arg)
{
	struct printed *p = arg;
	char **grown;
	char *copy;
	size_t i;

	p->n_problems++;
	for (i = 0; i < p->n; i++) {
		if (strcmp(p->lines[i], problem) == 0) {
			return;
		}
	}
	for (i = 0; i < p->n; i++) {
		if (said_before(p, i, problem)) {
			return;
		}
	}
	/* "file: message" like a config error without a line: the problem is
	 * on this host, not in a line of the file. */
	fprintf(stderr, "%s: %s\n", p->file, problem);
	copy = strdup(problem);
	grown = copy != NULL ? realloc(p->lines, (p->n + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free(copy);
		return;
	}
	p->lines = grown;
	p->lines[p->n++] = copy;
}

static bool
uses_listener(const struct conf_settings *s)
{
	enum challenge_responder r = challenge_pick(s, NULL);

	return r == CHALLENGE_RESPONDER_STANDALONE || r == CHALLENGE_RESPONDER_TLS_ALPN;
}

/* Whether a daemon answers on the control socket: it holds its responders'
 * ports, so binding them here would fail on the daemon itself. */
static bool
daemon_answers(struct cli *cli, struct conf *conf)
{
	struct cmd_daemon daemon = {0};
	json_t *answer = NULL;
	bool ret = false;

	if (cmd_daemon_init(&daemon, cli, conf) < 0) {
		goto out;
	}
	answer = cmd_daemon_ask(&daemon, "jobs", NULL, CHECK_DAEMON_TIMEOUT_S);
	if (answer != NULL) {
		log_info("a daemon answers at %s: its ports are not checked (it holds them)",
		         daemon.path);
		ret = true;
	}
out:
	json_decref(answer);
	cmd_daemon_finish(&daemon);
	return ret;
}

/* The settings of the i-th certificate, or the global ones alone when
 * there is no section (what "acmed cert" would use). Returns 0 or -1. */
static int
resolve(struct cli *cli, const struct conf *conf, size_t i, struct conf_settings *s,
        const char **name)
{
	const struct conf_cert *cert = conf->n_certs > 0 ? &conf->certs[i] : NULL;
	int ret = conf_resolve(conf, cert, &cli->settings, s);

	*name = cert != NULL ? cert->name : NULL;
	if (ret < 0) {
		log_error("out of memory");
	}
	return ret;
}

/* The global settings that tell others (metrics, notifications): what
 * would fail only when used, never holding up a renewal (a notification
 * program missing, a metrics-file folder gone), or stop the daemon's start
 * (its metrics port taken; not tried while a daemon runs: it holds it).
 * Returns 0 (problems printed into p) or -1 when out of memory. */
static int
check_watch(struct cli *cli, const struct conf *conf, bool daemon_runs, struct printed *p)
{
	struct conf_settings g;
	char why[512];
	char line[2 * PATH_MAX + 640];
	int fd;

	if (conf_resolve(conf, NULL, &cli->settings, &g) < 0) {
		log_error("out of memory");
		return -1;
	}
	if (g.notify_hook != NULL && hook_check(g.notify_hook, why, sizeof(why)) < 0) {
		snprintf(line, sizeof(line), "notify-hook: cannot run: %s", why);
		on_problem(line, p);
	}
	if (g.notify_email != NULL &&
	    hook_check(g.notify_sendmail != NULL ? g.notify_sendmail : "/usr/sbin/sendmail", why,
	               sizeof(why)) < 0) {
		snprintf(line, sizeof(line),
		         "notify-email: cannot run sendmail: %s: install an MTA's sendmail, or set "
		         "notify-sendmail",
		         why);
		on_problem(line, p);
	}
	if (g.metrics_file != NULL && metrics_file_problem(g.metrics_file, line, sizeof(line))) {
		on_problem(line, p);
	}
	if (g.metrics_listen != NULL && !daemon_runs) {
		fd = listener_open_err("metrics-listen", g.metrics_listen, why, sizeof(why));
		if (fd < 0) {
			on_problem(why, p);
		} else {
			close(fd);
		}
	}
	conf_settings_finish(&g);
	return 0;
}

/* The end of one dns_resolve_addrs. */
struct name_lookup {
	bool done;
	enum dns_status status;
	int rcode;
	size_t n;
};

static void
on_update_addrs(enum dns_status status, int rcode, const struct dns_addrs *addrs, void *arg)
{
	struct name_lookup *l = arg;

	l->done = true;
	l->status = status;
	l->rcode = rcode;
	l->n = addrs->n;
}

/* A dns-update given by name (s: a certificate's settings) resolves now
 * through the resolvers the responder asks (challenge_dnsupdate.c resolves
 * it before each update; the probe before newOrder refuses the order).
 * A problem goes to p. Waits at most DNS_DEADLINE: check is a command.
 * last: the server and resolvers asked before (a section after section
 * with the global dns-update asks once), updated. */
static void
check_update_name(const struct conf_settings *s, struct printed *p, char last[512])
{
	char key[512];
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct name_lookup l = {0};
	char host[DNS_UPDATE_HOST_MAX + 1];
	char line[DNS_UPDATE_HOST_MAX + 320];
	char rname[16];
	char *err = NULL;
	struct dns *d = NULL;
	const char *why = "no address";
	bool is_name = false;
	int port;

	if (s->challenge != CONF_CHALLENGE_DNS01 || s->dns_update == NULL || s->dns_hook != NULL ||
	    dns_update_server_split(s->dns_update, host, sizeof(host), &port, &is_name, line,
	                            sizeof(line)) < 0 ||
	    !is_name) {
		goto out;
	}
	snprintf(key, sizeof(key), "%s\n%s", s->dns_update,
	         s->dns_resolver != NULL ? s->dns_resolver : "");
	if (strcmp(key, last) == 0) {
		goto out;
	}
	snprintf(last, 512, "%s", key);
	d = dns_create(loop, s->dns_resolver, &err);
	if (d == NULL || dns_resolve_addrs(d, host, on_update_addrs, &l, NULL) < 0) {
		/* dns-resolver is checked with the file; out of memory here. */
		goto out;
	}
	while (!l.done) {
		ev_run(loop, EVRUN_ONCE);
	}
	if (l.status == DNS_STATUS_OK && l.n > 0) {
		goto out;
	}
	if (l.status != DNS_STATUS_OK) {
		why = dns_status_name(l.status);
	} else if (l.rcode != DNS_RCODE_NOERROR) {
		why = dns_rcode_name(l.rcode, rname, sizeof(rname));
	}
	snprintf(line, sizeof(line),
	         "dns-update %s: the server's name does not resolve (%s): set dns-update to the "
	         "primary server's name or address",
	         s->dns_update, why);
	on_problem(line, p);
out:
	dns_destroy(d);
	free(err);
}

/* The end of one probe. */
struct probe_wait {
	bool done;
	enum challenge_probe_result result;
	char message[1024];
};

static void
on_probe(enum challenge_probe_result result, const char *message, void *arg)
{
	struct probe_wait *w = arg;

	w->done = true;
	w->result = result;
	snprintf(w->message, sizeof(w->message), "%s", message != NULL ? message : "");
}

/* The probe an order makes before newOrder (renew/job_checks.c), for each
 * DNS name of s (a certificate's settings with dns-update): a refusal of
 * the server (its RCODE, its TSIG error, its name without an address) goes
 * to p, no answer or no zone is a warning. One responder for the section:
 * a zone let through is asked once. Nothing when the key does not load
 * (preflight_check said why). */
static void
check_update_probe(const struct conf_settings *s, struct printed *p)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct challenge_dns01_opts opts = {.resolvers = s->dns_resolver};
	char txt[DNS_UPDATE_HOST_MAX + 32];
	char err[512];
	struct challenge *ch = NULL;

	if (s->challenge != CONF_CHALLENGE_DNS01 || s->dns_update == NULL || s->dns_hook != NULL ||
	    challenge_dnsupdate_check(s->dns_update_key, err, sizeof(err)) < 0) {
		return;
	}
	ch = challenge_dnsupdate_create(loop, s->dns_update, s->dns_update_key, &opts);
	for (size_t i = 0; ch != NULL && ch->ops->probe != NULL && i < s->n_domains; i++) {
		const char *name = s->domains[i];
		struct challenge_task task = {.id_type = IDENT_DNS, .txt_name = txt};
		struct challenge_probe *handle = NULL;
		struct probe_wait w = {0};

		if (ident_type_of(name) != IDENT_DNS) {
			continue;
		}
		name += strncmp(name, "*.", 2) == 0 ? 2 : 0;
		task.identifier = name;
		snprintf(txt, sizeof(txt), "_acme-challenge.%s.", name);
		if (ch->ops->probe(ch, &task, on_probe, &w, &handle) < 0) {
			break;
		}
		while (!w.done) {
			ev_run(loop, EVRUN_ONCE);
		}
		if (w.result == CHALLENGE_PROBE_REFUSED) {
			on_problem(w.message, p);
		} else if (w.result == CHALLENGE_PROBE_UNKNOWN) {
			log_warn("%s: not probed: %s", name, w.message);
		} else {
			log_debug("%s: %s", name, w.message);
		}
	}
	challenge_destroy(ch);
}

/* A state folder that is not there is no problem (the first run makes it),
 * but everything starts over in it: a new account, every certificate
 * ordered. A mistyped state-dir looks just like that, so it is said. */
static void
note_new_state_dir(const char *state_dir)
{
	struct stat st;

	if (state_dir[0] != '\0' && stat(state_dir, &st) != 0 && errno == ENOENT) {
		log_warn("state folder %s does not exist yet: the first run makes it, registers "
		         "an account and orders every certificate (check state-dir if one was "
		         "meant to be there)",
		         state_dir);
	}
}

/* ca-file, when set: the same line for every certificate that shares it
 * is printed once. */
static void
check_ca_file(const char *path, struct printed *printed)
{
	char why[PATH_MAX + 256];

	if (path != NULL && http_ca_file_check(path, why, sizeof(why)) < 0) {
		on_problem(why, printed);
	}
}

/* What acmed run would refuse before ordering: each certificate's settings
 * against this host. Returns 0 or -1 (printed). */
static int
check_host(struct cli *cli, struct conf *conf)
{
	struct printed printed = {.conf = conf, .file = conf->path};
	struct conf_settings s = {0};
	char last_update[512] = "";
	char state_dir[PATH_MAX] = "";
	size_t n = conf->n_certs > 0 ? conf->n_certs : 1;
	const char *name;
	unsigned flags = 0;
	bool listens = false;
	size_t i;
	int ret = -1;

	for (i = 0; i < n && !listens; i++) {
		if (resolve(cli, conf, i, &s, &name) < 0) {
			goto out;
		}
		if (i == 0) {
			/* The configured folder, else the default one. */
			char *dir = s.state_dir != NULL ? NULL : store_default_dir();

			snprintf(state_dir, sizeof(state_dir), "%s",
			         s.state_dir != NULL ? s.state_dir
			         : dir != NULL       ? dir
			                             : "");
			free(dir);
		}
		listens = uses_listener(&s) || s.metrics_listen != NULL;
		conf_settings_finish(&s);
	}
	if (listens && daemon_answers(cli, conf)) {
		flags |= PREFLIGHT_NO_LISTEN;
	}
	for (i = 0; i < n; i++) {
		if (resolve(cli, conf, i, &s, &name) < 0) {
			goto out;
		}
		preflight_check(NULL, name, &s, flags, NULL, on_problem, &printed);
		check_update_name(&s, &printed, last_update);
		check_update_probe(&s, &printed);
		check_ca_file(s.ca_file, &printed);
		conf_settings_finish(&s);
	}
	for (i = 0; i < conf->n_cas; i++) {
		check_ca_file(conf->cas[i].settings.ca_file, &printed);
	}
	if (check_watch(cli, conf, (flags & PREFLIGHT_NO_LISTEN) != 0, &printed) < 0) {
		goto out;
	}
	print_same(&printed);
	ret = printed.n_problems == 0 ? 0 : -1;
	if (ret == 0) {
		note_new_state_dir(state_dir);
	}
out:
	conf_settings_finish(&s);
	for (i = 0; i < printed.n; i++) {
		free(printed.lines[i]);
	}
	free(printed.lines);
	for (i = 0; i < printed.n_same; i++) {
		free(printed.same[i].name);
	}
	free(printed.same);
	return ret;
}

/* Fleet mode: the key file, the password file, the node's name, and the
 * store reached with this key (cmd_fleet_open says what is wrong). Returns
 * 0 or -1 (logged). */
static int
check_fleet(struct cli *cli, const struct conf *conf)
{
	struct conf_settings s;
	struct cmd_fleet fleet;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	memset(&fleet, 0, sizeof(fleet));
	if (conf_resolve(conf, NULL, &cli->settings, &s) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (s.cluster == NULL) {
		ret = 0;
		goto out;
	}
	if (cmd_fleet_open(&fleet, ev_default_loop(EVFLAG_AUTO), &s) < 0) {
		goto out;
	}
	if (fleet.cluster == NULL || cluster_state(fleet.cluster, NULL) != CLUSTER_STATE_READY) {
		/* Said by cmd_fleet_open: a store away is no configuration
		 * error, but check says it all the same. */
		log_error("cluster: %s cannot be used now (see above)", s.cluster);
		goto out;
	}
	ret = 0;
out:
	cmd_fleet_close(&fleet);
	conf_settings_finish(&s);
	return ret;
}

/* The international names of each section, in both forms: the file says
 * "bücher.example", the CA and the certificate "xn--bcher-kva.example". */
static void
print_idn(const struct conf *conf)
{
	char one[512];

	for (size_t i = 0; i < conf->n_certs; i++) {
		const struct conf_settings *s = &conf->certs[i].settings;

		for (size_t k = 0; k < s->n_domains; k++) {
			if (ident_dns_is_idn(s->domains[k])) {
				printf("%s: [cert %s]: %s\n", conf->path, conf->certs[i].name,
				       ident_dns_display(s->domains[k], one, sizeof(one)));
			}
		}
	}
}

/* Whether list (a ca value, space separated) names item. */
static bool
list_names(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p != NULL && *p != '\0';
	     p += strcspn(p, " "), p += strspn(p, " ")) {
		if (strncmp(p, item, n) == 0 && (p[n] == ' ' || p[n] == '\0')) {
			return true;
		}
	}
	return false;
}

/* [ca NAME] sections no ca list names (nothing orders from them), and
 * those that take a short name's place: warnings, the file still valid. */
static void
warn_cas(const struct conf *conf)
{
	for (size_t i = 0; i < conf->n_cas; i++) {
		const struct conf_ca *ca = &conf->cas[i];
		bool used = list_names(conf->global.ca, ca->name);

		for (size_t k = 0; k < conf->n_certs && !used; k++) {
			used = list_names(conf->certs[k].settings.ca, ca->name);
		}
		if (!used) {
			log_warn(
			        "%s:%d: [ca %s] is named by no ca list: nothing is ordered from it",
			        conf->path, ca->line, ca->name);
		}
		if (ca_directory_url(ca->name) != NULL) {
			log_warn(
			        "%s:%d: [ca %s] takes the place of the short name %s wherever a ca "
			        "list names it",
			        conf->path, ca->line, ca->name, ca->name);
		}
	}
}

static int
run(struct cli *cli)
{
	struct conf conf;
	int rc = CLI_EXIT_USAGE;

	conf_init(&conf);
	if (cli->n_args == 1) {
		cli->config_path = cli->args[0];
	}
	if (cli->config_path == NULL) {
		cli->config_path = ACMED_SYSCONFDIR "/acmed.conf";
	}
	if (cli_load_config(cli, &conf) < 0) {
		goto out;
	}
	warn_cas(&conf);
	if (!cli->flags[CLI_OPT_SYNTAX] &&
	    (check_host(cli, &conf) < 0 || check_fleet(cli, &conf) < 0)) {
		goto out;
	}
	if (!cmd_quiet(cli)) {
		print_idn(&conf);
		printf("%s: ok, %zu certificate%s\n", conf.path, conf.n_certs,
		       conf.n_certs == 1 ? "" : "s");
	}
	rc = CLI_EXIT_OK;
out:
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_SYNTAX,
        CLI_OPT__MAX,
};

const struct cli_command cmd_check = {
        .name = "check",
        .args = "[FILE]",
        .summary = "Validate the configuration and what it needs on this host (hooks, "
                   "folders, ports); print each problem.",
        .options = options,
        .min_args = 0,
        .max_args = 1,
        .run = run,
};
