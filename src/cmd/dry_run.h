/* acmed cert --dry-run and acmed renew --dry-run: the whole flow of a real
 * run (account, order, challenges, finalize, download, the chain checked
 * and installed) against the staging directory of each certificate's CA,
 * in a private state folder removed at the end; the real state folder is
 * only read, the deploy hook never runs. One line per certificate tells
 * what a real run would have done. */
#ifndef ACMED_DRY_RUN_H
#define ACMED_DRY_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/cli.h"
#include "conf/conf.h"
#include "renew/job.h"

struct dry_run {
	/* The private state folder (file_temp_dir, mode 0700): the staging
	 * account, locks, pending keys and the sets "installed". Owned;
	 * removed by dry_run_finish. */
	char *state_dir;
	/* The real one, read to tell "issued" from "renewed". Borrowed. */
	const char *real_state_dir;
	/* The staging directory of the runner whose jobs end now (borrowed,
	 * set by the caller before it runs them). */
	const char *ca_url;
	bool json; /* keep the rows for --json instead of printing lines */
	json_t *rows; /* one {"cert", "result", "ca", "error"?} per certificate */
	unsigned long counts[JOB__MAX]; /* what a real run would have counted */
};

/* Makes dr's private state folder; real_state_dir (borrowed) is the one
 * left alone. Returns 0, or -1 (logged; dr is then finished). */
int dry_run_init(struct dry_run *dr, const char *real_state_dir, bool json);

/* Removes the private state folder and frees dr; safe on a zeroed or
 * finished one. */
void dry_run_finish(struct dry_run *dr);

/* Says (info) that nothing real is installed, and where the dry run's
 * files are meanwhile: once every certificate's settings passed. */
void dry_run_announce(const struct dry_run *dr);

/* The directory a dry run of certificate name orders from: settings'
 * staging key when set, else the staging directory of its ca short name
 * (letsencrypt when unset; ca_staging_url). NULL when there is none
 * (logged: the CA, and the key to set). Borrowed. */
const char *dry_run_staging_url(const char *name, const struct conf_settings *settings);

/* Turns settings (resolved, of certificate name) into its dry run's: ca
 * the staging directory (of the first CA of its list; dry_run_more adds
 * the others' to fail over to), state-dir dr's folder, no deploy hook, no
 * shared store, staging's own EAB (or none). Returns CLI_EXIT_OK,
 * CLI_EXIT_USAGE (no staging directory known: logged, nothing sent) or CLI_EXIT_FAILURE (out of
 * memory, logged). */
enum cli_exit dry_run_settings(const struct dry_run *dr, const char *name,
                               struct conf_settings *settings);

/* For a certificate whose ca lists several CAs (more: the later ones'
 * settings, cmd_more_cas; settings already through dry_run_settings): each
 * later CA turned into its staging's (dry_run_settings), one without a
 * known staging left out (said), and settings->ca_list the staging
 * directories in the list's order, so that the dry run fails over from
 * staging to staging as a real run would from CA to CA. Returns how many
 * of more are kept (moved to its front; the others finished), or -1 when
 * out of memory (logged). */
int dry_run_more(const struct dry_run *dr, const char *name, struct conf_settings *settings,
                 struct conf_settings *more, size_t n_more);

/* A runner's done callback (job_runner_on_done, arg dr): counts and
 * prints (or keeps, json) the line of the job's certificate. */
void dry_run_on_done(const struct job_outcome *outcome, void *arg);

/* Counts and prints as failed those of names (n of them) no job answered
 * for (the staging account could not be had): every certificate gets its
 * line. */
void dry_run_not_run(struct dry_run *dr, const char *const *names, size_t n);

/* The kept row of certificate name (json), or NULL. Borrowed. */
json_t *dry_run_row(const struct dry_run *dr, const char *name);

#endif
