/* The subcommands, one file each, and what they share: the exit status of
 * a session's result, the configuration they start from, the daemon's
 * control socket, the --json output. */
#ifndef ACMED_CMD_H
#define ACMED_CMD_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/cli.h"
#include "cmd/session.h"
#include "renew/status.h"
#include "store/store_cert.h"

extern const struct cli_command cmd_account;
extern const struct cli_command cmd_cert;
extern const struct cli_command cmd_check;
extern const struct cli_command cmd_cluster_key;
extern const struct cli_command cmd_delete;
extern const struct cli_command cmd_deploy;
extern const struct cli_command cmd_dns_persist;
extern const struct cli_command cmd_jobs;
extern const struct cli_command cmd_notify_test;
extern const struct cli_command cmd_renew;
extern const struct cli_command cmd_revoke;
extern const struct cli_command cmd_run;
extern const struct cli_command cmd_status;
extern const struct cli_command cmd_terms;

/* acmed cert --csr FILE (cmd_cert_csr.c): run by cmd_cert's run when
 * --csr is given. Returns a CLI exit status. */
int cmd_cert_csr(struct cli *cli);

/* The options of a command that only reads: --json alone. */
extern const enum cli_opt cmd_json_options[];

/* How long a command waits for the daemon's answer. */
#define CMD_DAEMON_TIMEOUT_S 10.0

/* The exit status for a session's result: 2 for what the user must fix in
 * the configuration, 1 for any other failure. */
enum cli_exit cmd_exit(enum session_result rc);

/* What most commands start from: the configuration (cli_load_config) and
 * its global settings with the command line's on top, into conf and
 * settings (both finished by the caller either way). Returns CLI_EXIT_OK,
 * CLI_EXIT_USAGE (the file's errors printed) or CLI_EXIT_FAILURE. */
enum cli_exit cmd_settings(struct cli *cli, struct conf *conf, struct conf_settings *settings);

/* cmd_settings, then session_init for those settings into s (finished by
 * the caller either way). Returns CLI_EXIT_OK or the exit status (logged). */
enum cli_exit cmd_session(struct cli *cli, struct conf *conf, struct conf_settings *settings,
                          struct session *s);

/* The settings of a certificate of the state folder that no [cert]
 * section names (made by a plain `acmed cert`): the global ones with the
 * command line's (conf and cli), the installed certificate's names as its
 * domains and its key type unless the command line gives one. Into out
 * (finished by the caller either way). Returns 0, or -1 (logged). */
int cmd_installed_settings(struct cli *cli, const struct conf *conf,
                           const struct store_cert_info *info, struct conf_settings *out);

/* The pre-hook and post-hook of settings for a command's runners
 * (job_runner_config.batch): the post-hook runs at batch_hooks_finish,
 * once for the whole command. NULL when neither is set. */
/* The settings of each CA after the first of cert's ca list (its
 * failover CAs, conf_resolve_at), in *out (n of them; cmd_more_cas_free).
 * Returns 0, or -1 when out of memory (logged). */
int cmd_more_cas(const struct conf *conf, const struct conf_cert *cert, const struct cli *cli,
                 struct conf_settings **out, size_t *n);
void cmd_more_cas_free(struct conf_settings *list, size_t n);

struct batch_hooks *cmd_batch_hooks(const struct conf_settings *settings);
/* Whether -q was given (more often than -v): a command then prints errors
 * only, not what it did (the output a command exists for, its --json and
 * status's table, still comes). */
bool cmd_quiet(const struct cli *cli);

/* Whether a and b are the same setting: both unset, or equal. */
bool cmd_same(const char *a, const char *b);

/* The daemon's control socket path: control-socket from the configuration
 * or the command line, else the default. New string or NULL. */
char *cmd_socket_path(struct cli *cli, struct conf *conf);

/* The same from settings already resolved. New string or NULL. */
char *cmd_socket_of(const struct conf_settings *settings);

/* A command's line to the running daemon. */
struct cmd_daemon {
	char *path; /* the control socket (cmd_socket_path) */
	bool none; /* the last request found no daemon listening */
};

/* Finds the control socket for d. Returns 0, or -1 (d is then finished). */
int cmd_daemon_init(struct cmd_daemon *d, struct cli *cli, struct conf *conf);

/* Asks the daemon {"cmd": cmd} (and "cert": cert unless NULL), waiting up
 * to timeout seconds. Returns its answer (new reference), or NULL: d->none
 * is true when no daemon listens (not logged), else the reason was logged. */
json_t *cmd_daemon_ask(struct cmd_daemon *d, const char *cmd, const char *cert, double timeout);

/* The same with a request the caller made (taken over; NULL, a failed
 * json_pack, is logged as out of memory and answered NULL). */
json_t *cmd_daemon_request(struct cmd_daemon *d, json_t *request, double timeout);

/* The same, the answer as text (*len bytes, a new string; see
 * ctl_request_text). */
char *cmd_daemon_ask_text(struct cmd_daemon *d, const char *cmd, double timeout, size_t *len);

/* d for the daemon listening at path (copied). Returns 0, or -1 (out of
 * memory; d is then finished). */
int cmd_daemon_at(struct cmd_daemon *d, const char *path);

/* The daemon to ask about state_dir: one whose mark is on the folder
 * (store_daemon_list; the configuration's socket first when it is among
 * them), else the configuration's socket when the folder is the
 * configuration's own (a configuration file and no --state-dir). d->path
 * is NULL when there is none to ask. Returns 0, or -1 (logged). */
int cmd_daemon_of(struct cmd_daemon *d, struct cli *cli, struct conf *conf, const char *state_dir);

struct store_daemon;

/* The daemon's mark on the state folder of settings (store_daemon_mark),
 * taken by acmed run once it listens at socket_path. Returns the lock, or
 * NULL (logged). */
struct store_daemon *cmd_daemon_mark(const struct conf_settings *settings, const char *socket_path);

/* Frees d; safe on a zeroed or finished one. */
void cmd_daemon_finish(struct cmd_daemon *d);

/* The [cert] section whose name or first domain is arg, as typed or as
 * its A-label ("bücher.example" finds a section of
 * xn--bcher-kva.example), or NULL. */
const struct conf_cert *cmd_find_cert(const struct conf *conf, const char *arg);

/* The certificate a NAME argument means: its section's name
 * (cmd_find_cert), else the name as the state folder keeps it (lower
 * case, international names as A-labels: ident_dns_name), else arg as
 * typed. Returns arg, or out (len bytes) holding the name. */
const char *cmd_cert_name(const struct conf *conf, const char *arg, char *out, size_t len);

/* Prints text's view of a result. */
typedef void (*cmd_text_fn)(json_t *value);

/* A command's output: value (borrowed) as JSON (cmd_print_json) with
 * --json, else text(value). Returns CLI_EXIT_OK or CLI_EXIT_FAILURE. */
enum cli_exit cmd_print(const struct cli *cli, json_t *value, cmd_text_fn text);

/* Prints value (borrowed) on stdout as indented JSON with sorted keys and
 * a final newline: the --json output of every command (status writes its
 * rows as text: status_row_write). Returns 0 or -1. */
int cmd_print_json(json_t *value);

/* Section c's status row from the files, without a daemon: its settings
 * resolved (over cli's), what is installed and recorded read (through ix,
 * the index of the state folder ix_dir, when c's folder is that one; ix
 * may be NULL), the policy's decision at now; then fn(row, state_dir, view,
 * arg), everything borrowed for the call (state_dir NULL when it cannot be
 * told). Nothing is called when c's settings do not resolve. Safe on
 * several threads at once for distinct sections. */
typedef void (*cmd_row_fn)(const struct status_row *row, const char *state_dir,
                           const struct policy_view *view, void *arg);
void cmd_status_row_offline(const struct conf *conf, const struct conf_cert *c,
                            const struct cli *cli, struct store_index *ix, const char *ix_dir,
                            time_t now, cmd_row_fn fn, void *arg);

/* metrics-file (renew/metrics.h): the rows of every section of conf and
 * what the runners counted (tally; NULL: nothing ran), written atomically
 * to path for node_exporter's textfile collector. Returns 0 or -1
 * (logged). */
struct metrics_tally;
int cmd_metrics_write(const struct conf *conf, const struct cli *cli,
                      const struct metrics_tally *tally, const char *path);

/* What a one-shot run (acmed renew) tells those who watch it: the
 * metrics-file and the notifications. Begun before the run: the
 * settings read, metrics-file's folder checked (said when it cannot be
 * written; the run goes on) (0, or -1 when out of memory; logged); fed with each job's
 * outcome (cmd_watch_job_done, a job_done_fn with w as arg); ended after
 * it: expiring told, the file written (0, or -1 when it was not), the
 * notifications waited for (a few seconds at most); finished (freed). */
struct notifier;

/* The name a notification gives this host: node-name, else the host name
 * (gethostname), else "?". Into buf (len bytes); returns buf. */
const char *cmd_host_label(const struct conf_settings *s, char *buf, size_t len);

struct cmd_watch {
	struct metrics_tally *tally; /* metrics-file's count, or NULL */
	char *metrics_file; /* or NULL */
	struct notifier *notifier; /* or NULL: no channel set */
};
int cmd_watch_begin(struct cmd_watch *w, const struct conf *conf, const struct cli *cli);

/* Whether metrics-file's path cannot be written (a folder, or its folder
 * missing or read-only): true with the one line saying so in why. */
bool metrics_file_problem(const char *path, char *why, size_t len);
void cmd_watch_job_done(const struct job_outcome *o, void *arg);
int cmd_watch_end(struct cmd_watch *w, const struct conf *conf, const struct cli *cli);
void cmd_watch_finish(struct cmd_watch *w);

#endif
