#include "cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store.h"
#include "store/store_cert.h"
#include "store/store_index.h"
#include "store/store_daemon.h"
#include "store/store_lock.h"

/* Whether the daemon at path renews name (in its configuration): then it
 * is not taken from under it. marked: the daemon's mark is on the state
 * folder, so one that does not answer still runs there. Returns 0 when it
 * does not renew it, or the exit status after a message. */
static int
ask_daemon(const char *path, bool marked, const char *name)
{
	struct cmd_daemon daemon;
	json_t *answer = NULL;
	json_t *watched;
	int rc = CLI_EXIT_FAILURE;

	if (cmd_daemon_at(&daemon, path) < 0) {
		goto out;
	}
	answer = cmd_daemon_ask(&daemon, "watches", name, CMD_DAEMON_TIMEOUT_S);
	if (answer == NULL && daemon.none && !marked) {
		rc = 0;
		goto out;
	}
	watched = json_object_get(answer, "watched");
	if (!json_is_boolean(watched)) {
		/* Not sure is not free: a daemon that cannot say may renew it. */
		log_error("%s: not deleted: the daemon at %s could not say whether it renews it; "
		          "stop it first",
		          name, path);
		goto out;
	}
	if (json_is_true(watched)) {
		log_error("%s: not deleted: the running daemon renews it (control socket %s): take "
		          "its [cert %s] section out of its configuration and reload it (SIGHUP) "
		          "first",
		          name, path, name);
		goto out;
	}
	rc = 0;
out:
	json_decref(answer);
	cmd_daemon_finish(&daemon);
	return rc;
}

/* Whether a running daemon renews name: the configuration's, and every
 * daemon whose mark is on the state folder (found without -c). Returns 0
 * when none does, or the exit status after a message. */
static int
daemon_check(struct cli *cli, struct conf *conf, const char *state_dir, const char *name)
{
	char **marks = NULL;
	size_t n = 0;
	char *own = cmd_socket_path(cli, conf);
	int rc = CLI_EXIT_FAILURE;

	if (own == NULL) {
		goto out;
	}
	if (store_daemon_list(state_dir, &marks, &n) < 0) {
		log_error("%s: not deleted: cannot tell whether a daemon runs on %s: %s", name,
		          state_dir, strerror(errno));
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = ask_daemon(marks[i], true, name);
	}
	for (size_t i = 0; i < n && own != NULL; i++) {
		if (strcmp(marks[i], own) == 0) {
			free(own);
			own = NULL;
		}
	}
	if (rc == 0 && own != NULL) {
		rc = ask_daemon(own, false, name);
	}
out:
	store_list_free(marks, n);
	free(own);
	return rc;
}

/* "a.example b.example, expires 2031-12-03 03:35:33 UTC" of what is
 * installed, or "nothing installed". */
static void
describe(const char *state_dir, const char *name, char *out, size_t len)
{
	struct store_cert_info info;
	char date[LOG_TIME_LEN];
	size_t n = 0;

	snprintf(out, len, "nothing installed");
	if (store_cert_inspect(state_dir, name, &info) < 0 || !info.present) {
		store_cert_info_finish(&info);
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < info.n_ids && n < len; i++) {
		n += (size_t)snprintf(out + n, len - n, "%s%s", i > 0 ? " " : "",
		                      info.ids[i].value);
	}
	log_time(info.not_after, date, sizeof(date));
	if (n < len) {
		snprintf(out + n, len - n, ", %s %s",
		         info.not_after < time(NULL) ? "expired" : "expires", date);
	}
	store_cert_info_finish(&info);
}

/* Asks on the terminal; without one, --yes is the only yes. Returns 0 to go
 * on, or the exit status after a message. */
static int
confirm(struct cli *cli, const char *name, const char *what)
{
	char line[16];

	if (cli->flags[CLI_OPT_YES]) {
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		log_error("%s: not deleted: no terminal to ask on; pass --yes to delete it", name);
		return CLI_EXIT_USAGE;
	}
	fprintf(stderr, "delete certificate %s (%s)? [y/N] ", name, what);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL ||
	    (strcmp(line, "y\n") != 0 && strcmp(line, "yes\n") != 0 && strcmp(line, "Y\n") != 0)) {
		/* The user's own answer, not an error: said plainly, exit 1
		 * so that a script tells it from a deletion. */
		log_info("%s: not deleted", name);
		return CLI_EXIT_FAILURE;
	}
	return 0;
}

/* The certificate's index record goes with it (a cache; a failure only
 * leaves work for the next look). */
static void
forget(const char *state_dir, const char *name)
{
	struct store_index *ix = store_index_open(state_dir);

	if (ix != NULL) {
		store_index_forget(ix, name);
		store_index_save(ix);
	}
	store_index_close(ix);
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	const char *name = cli->args[0];
	char name_buf[256];
	char holder[STORE_LOCK_HOLDER_LEN];
	char what[1024];
	char why[1024];
	struct store_lock *lock = NULL;
	char *state_dir = NULL;
	char *dir = NULL;
	struct stat sb;
	int rc = cmd_settings(cli, &conf, &settings);

	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = CLI_EXIT_USAGE;
	name = cmd_cert_name(&conf, name, name_buf, sizeof(name_buf));
	state_dir = session_state_dir(&settings);
	if (state_dir == NULL) {
		goto out;
	}
	dir = store_cert_dir(state_dir, name);
	if (dir == NULL || stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_error("%s: no such certificate in %s (acmed status --state-dir %s lists them)",
		          cli->args[0], state_dir, state_dir);
		goto out;
	}
	rc = daemon_check(cli, &conf, state_dir, name);
	if (rc != 0) {
		goto out;
	}
	describe(state_dir, name, what, sizeof(what));
	rc = confirm(cli, name, what);
	if (rc != 0) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	lock = store_cert_lock(state_dir, name, holder);
	if (lock == NULL && errno == EWOULDBLOCK) {
		log_error("%s: not deleted: %s holds its lock (an order or deploy in progress): "
		          "try again once it is done",
		          name, holder);
		goto out;
	}
	if (lock == NULL) {
		log_error("%s: not deleted: its lock: %s", name, strerror(errno));
		goto out;
	}
	if (store_cert_remove(state_dir, name, why, sizeof(why)) < 0) {
		log_error("%s: not wholly deleted: %s", name, why);
		goto out;
	}
	forget(state_dir, name);
	if (conf_find_cert(&conf, name) != NULL) {
		log_warn("%s: still in %s: the next renew or run issues it again", name, conf.path);
	}
	log_info("%s: deleted from %s (copies installed elsewhere are left as they are)", name,
	         state_dir);
	rc = CLI_EXIT_OK;
out:
	store_lock_release(lock);
	free(dir);
	free(state_dir);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_YES,
        CLI_OPT_STATE_DIR,
        CLI_OPT__MAX,
};

const struct cli_command cmd_delete = {
        .name = "delete",
        .args = "NAME",
        .summary = "Remove a certificate from the state folder: its keys, sets and state.",
        .options = options,
        .min_args = 1,
        .max_args = 1,
        .run = run,
};
