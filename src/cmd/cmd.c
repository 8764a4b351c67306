#include "cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/ident.h"
#include "base/log.h"
#include "io/ctl.h"
#include "renew/batch_hooks.h"
#include "store/store.h"
#include "store/store_daemon.h"

const enum cli_opt cmd_json_options[] = {
        CLI_OPT_JSON,
        CLI_OPT__MAX,
};

enum cli_exit
cmd_exit(enum session_result rc)
{
	enum cli_exit ret = CLI_EXIT_FAILURE;

	if (rc == SESSION_OK) {
		ret = CLI_EXIT_OK;
	} else if (rc == SESSION_USAGE) {
		ret = CLI_EXIT_USAGE;
	}
	return ret;
}

enum cli_exit
cmd_settings(struct cli *cli, struct conf *conf, struct conf_settings *settings)
{
	enum cli_exit rc = CLI_EXIT_USAGE;

	memset(settings, 0, sizeof(*settings));
	if (cli_load_config(cli, conf) < 0) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (conf_resolve(conf, NULL, &cli->settings, settings) < 0) {
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	return rc;
}

enum cli_exit
cmd_session(struct cli *cli, struct conf *conf, struct conf_settings *settings, struct session *s)
{
	enum cli_exit rc;

	memset(s, 0, sizeof(*s));
	rc = cmd_settings(cli, conf, settings);
	if (rc == CLI_EXIT_OK) {
		rc = cmd_exit(session_init(s, settings));
	}
	return rc;
}

int
cmd_installed_settings(struct cli *cli, const struct conf *conf, const struct store_cert_info *info,
                       struct conf_settings *out)
{
	struct buf names;
	char err[256];
	int rc = -1;

	buf_init(&names, 1024 * 1024);
	memset(out, 0, sizeof(*out));
	if (conf_resolve(conf, NULL, &cli->settings, out) < 0) {
		goto out;
	}
	for (size_t i = 0; i < info->n_ids; i++) {
		buf_add(&names, i > 0 ? " " : "", i > 0 ? 1 : 0);
		buf_add(&names, info->ids[i].value, strlen(info->ids[i].value));
	}
	if (names.failed || info->n_ids == 0) {
		log_error("the installed certificate names nothing usable");
		goto out;
	}
	if (conf_set(out, CONF_WHERE_CERT, "domains", names.data, err, sizeof(err)) < 0 ||
	    (info->key_type[0] != '\0' && !cli->flags[CLI_OPT_KEY_TYPE] &&
	     conf_set(out, CONF_WHERE_CERT, "key-type", info->key_type, err, sizeof(err)) < 0)) {
		log_error("the installed certificate: %s", err);
		goto out;
	}
	rc = 0;
out:
	buf_finish(&names);
	return rc;
}

int
cmd_more_cas(const struct conf *conf, const struct conf_cert *cert, const struct cli *cli,
             struct conf_settings **out, size_t *n)
{
	struct conf_settings *list = calloc(CONF_CA_LIST_MAX, sizeof(*list));
	size_t k = 0;
	int rc = -1;

	if (list == NULL) {
		goto out;
	}
	while (k + 1 < CONF_CA_LIST_MAX) {
		rc = conf_resolve_at(conf, cert, &cli->settings, k + 1, &list[k]);
		if (rc != 0) {
			break;
		}
		k++;
	}
out:
	if (rc < 0) {
		log_error("out of memory");
		cmd_more_cas_free(list, k);
		list = NULL;
		k = 0;
	}
	*out = list;
	*n = k;
	return rc < 0 ? -1 : 0;
}

void
cmd_more_cas_free(struct conf_settings *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++) {
		conf_settings_finish(&list[i]);
	}
	free(list);
}

struct batch_hooks *
cmd_batch_hooks(const struct conf_settings *settings)
{
	return batch_hooks_create(ev_default_loop(EVFLAG_AUTO), settings->pre_hook,
	                          settings->post_hook, settings->hook_timeout, false);
}

bool
cmd_quiet(const struct cli *cli)
{
	return cli->verbosity < 0;
}

bool
cmd_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The control socket from the configuration, else the default. */
char *
cmd_socket_path(struct cli *cli, struct conf *conf)
{
	struct conf_settings st;
	char *path = NULL;

	if (conf_resolve(conf, NULL, &cli->settings, &st) < 0) {
		return NULL;
	}
	path = cmd_socket_of(&st);
	conf_settings_finish(&st);
	return path;
}

char *
cmd_socket_of(const struct conf_settings *settings)
{
	return settings->control_socket != NULL ? strdup(settings->control_socket)
	                                        : store_default_socket();
}

int
cmd_daemon_init(struct cmd_daemon *d, struct cli *cli, struct conf *conf)
{
	memset(d, 0, sizeof(*d));
	d->path = cmd_socket_path(cli, conf);
	return d->path != NULL ? 0 : -1;
}

int
cmd_daemon_at(struct cmd_daemon *d, const char *path)
{
	memset(d, 0, sizeof(d[0]));
	d->path = strdup(path);
	if (d->path == NULL) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

int
cmd_daemon_of(struct cmd_daemon *d, struct cli *cli, struct conf *conf, const char *state_dir)
{
	char **marks = NULL;
	size_t n = 0;
	char *own = NULL;
	const char *pick = NULL;
	int rc = -1;

	memset(d, 0, sizeof(d[0]));
	if (conf->path != NULL) {
		own = cmd_socket_path(cli, conf);
		if (own == NULL) {
			goto out;
		}
	}
	if (store_daemon_list(state_dir, &marks, &n) < 0) {
		log_error("%s: cannot read its daemons' marks: %s", state_dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (pick == NULL || cmd_same(marks[i], own)) {
			pick = marks[i];
		}
	}
	/* A daemon from before the marks, or one not started yet: the
	 * configuration's socket still speaks for its own folder. */
	if (pick == NULL && own != NULL && !cli->flags[CLI_OPT_STATE_DIR]) {
		pick = own;
	}
	rc = pick != NULL ? cmd_daemon_at(d, pick) : 0;
out:
	store_list_free(marks, n);
	free(own);
	return rc;
}

struct store_daemon *
cmd_daemon_mark(const struct conf_settings *settings, const char *socket_path)
{
	char *state_dir = session_state_dir(settings);
	struct store_daemon *mark = NULL;

	if (state_dir == NULL) {
		goto out;
	}
	mark = store_daemon_mark(state_dir, socket_path);
	if (mark == NULL) {
		log_error("%s: cannot mark it as watched by this daemon (locks/): %s", state_dir,
		          strerror(errno));
	}
out:
	free(state_dir);
	return mark;
}

json_t *
cmd_daemon_request(struct cmd_daemon *d, json_t *request, double timeout)
{
	json_t *answer = NULL;

	d->none = false;
	if (request != NULL) {
		answer = ctl_request(d->path, request, timeout, &d->none);
	} else {
		log_error("out of memory");
	}
	json_decref(request);
	return answer;
}

json_t *
cmd_daemon_ask(struct cmd_daemon *d, const char *cmd, const char *cert, double timeout)
{
	return cmd_daemon_request(d,
	                          cert != NULL ? json_pack("{s:s, s:s}", "cmd", cmd, "cert", cert)
	                                       : json_pack("{s:s}", "cmd", cmd),
	                          timeout);
}

char *
cmd_daemon_ask_text(struct cmd_daemon *d, const char *cmd, double timeout, size_t *len)
{
	json_t *request = json_pack("{s:s}", "cmd", cmd);
	char *answer = NULL;

	d->none = false;
	if (request != NULL) {
		answer = ctl_request_text(d->path, request, timeout, &d->none, len);
	} else {
		log_error("out of memory");
	}
	json_decref(request);
	return answer;
}

void
cmd_daemon_finish(struct cmd_daemon *d)
{
	free(d->path);
	memset(d, 0, sizeof(*d));
}

int
cmd_print_json(json_t *value)
{
	if (value == NULL || json_dumpf(value, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
		return -1;
	}
	return putchar('\n') == EOF ? -1 : 0;
}

enum cli_exit
cmd_print(const struct cli *cli, json_t *value, cmd_text_fn text)
{
	enum cli_exit rc = CLI_EXIT_OK;

	errno = 0;
	if (!cli->flags[CLI_OPT_JSON]) {
		text(value);
	} else if (cmd_print_json(value) < 0) {
		/* A failure says why: the caller prints nothing more. */
		log_error("stdout: cannot write the answer: %s",
		          errno != 0 ? strerror(errno) : "out of memory");
		rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

const struct conf_cert *
cmd_find_cert(const struct conf *conf, const char *arg)
{
	const struct conf_cert *c = conf_find_cert(conf, arg);
	char ace[IDENT_DNS_MAX + 2];
	char why[256];

	if (c == NULL && ident_dns_name(arg, ace, sizeof(ace), why, sizeof(why)) == 0 &&
	    strcmp(ace, arg) != 0) {
		c = conf_find_cert(conf, ace);
	}
	return c;
}

const char *
cmd_cert_name(const struct conf *conf, const char *arg, char *out, size_t len)
{
	const struct conf_cert *c = cmd_find_cert(conf, arg);
	char why[256];

	if (c != NULL) {
		snprintf(out, len, "%s", c->name);
		return out;
	}
	if (ident_dns_name(arg, out, len, why, sizeof(why)) == 0) {
		return out;
	}
	return arg;
}
