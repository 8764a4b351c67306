/* The daemon's renewal schedule: one wall-clock timer (ev_periodic, a heap)
 * per certificate, set to the time the renewal policy (policy.h) gives: its
 * renewal time, the backoff after failures or a deploy to try again, all
 * read back from state.json so a restart resets nothing. Due certificates
 * become jobs of the runner, which ask the policy again under the lock.
 * What the installed sets hold is kept in the state folder's index
 * (store_index.h) so that a start or a look at every certificate parses
 * only the sets that changed. */
#ifndef ACMED_SCHEDULE_H
#define ACMED_SCHEDULE_H

#include <ev.h>
#include <stdbool.h>

#include "acme/acme_client.h"
#include "conf/conf.h"
#include "renew/job_runner.h"
#include "renew/status.h"

struct schedule;

/* runner, client, state_dir and ca_url (the directory URL) are borrowed.
 * When the CA's directory offers renewalInfo (RFC 9773, ARI), each
 * installed certificate's renewal time is a uniformly random time inside
 * the window the CA suggests, fetched again when its Retry-After says;
 * otherwise the policy's rule. NULL on failure (logged). */
struct schedule *schedule_create(struct ev_loop *loop, struct job_runner *runner,
                                 struct acme_client *client, const char *state_dir,
                                 const char *ca_url);

void schedule_destroy(struct schedule *sched);

/* Reads the n certificates' files on every processor at once, for the
 * schedule_set calls that follow (a start or a reload: each set is read
 * once, not again by its schedule_set). */
void schedule_preload(struct schedule *sched, const char *const *names, size_t n);

/* Adds the certificate, or updates its settings (copied) keeping its
 * schedule and backoff. Marks it as present for schedule_sweep. 0 or -1. */
int schedule_set(struct schedule *sched, const char *name, const struct conf_settings *s);

/* Drops every certificate not schedule_set since the last sweep; returns how
 * many were dropped. */
size_t schedule_sweep(struct schedule *sched);

/* Orders name now, over the policy (a running job is left alone). 0, or -1
 * if unknown. */
int schedule_renew_now(struct schedule *sched, const char *name);

/* To be called with every finished job of the runner: arms the next time
 * from what the job recorded. */
void schedule_job_done(struct schedule *sched, const struct job_outcome *outcome);

/* How often every certificate is looked at again from the files. */
#define SCHEDULE_SWEEP 3600.0

/* renewalInfo requests in flight at once; the others wait their turn. */
#define SCHEDULE_ARI_MAX 16

/* Looks again at every certificate whose folder changed behind the daemon
 * (a failure recorded or a set installed by a command, a file removed),
 * arming what is due now, then calls fn with each one's status row, in the
 * configuration's order. A set's files changed in place are seen by the
 * hourly look at every certificate (SCHEDULE_SWEEP). */
void schedule_each(struct schedule *sched, void (*fn)(const struct status_row *row, void *arg),
                   void *arg);

size_t schedule_count(const struct schedule *sched);

/* name's settings into *s (borrowed until the schedule changes): 0, or
 * -1 when name is not watched. */
int schedule_settings(const struct schedule *sched, const char *name, struct conf_settings *s);

/* Calls fn with each certificate's settings (borrowed for the call), once
 * for a run of certificates that share them (they differ in names only). */
void schedule_each_settings(const struct schedule *sched,
                            void (*fn)(const struct conf_settings *s, void *arg), void *arg);

/* Fleet mode (store/cluster.h). An install of name's version was
 * announced: looked at now when that is newer than what is here (its job
 * installs it from the store). 0, or -1 if unknown. */
int schedule_fleet_installed(struct schedule *sched, const char *name, long version);

/* The store's versions (names[i] at versions[i]): every certificate with
 * another one (newer, or older: a store that forgot), or a set owed to the
 * store, is looked at now; with all_due (the store is back after it was
 * away) also every one whose last job waited for the store or a lease, or
 * that is due; with all (a new generation of the store: its versions are
 * not comparable with what was recorded) every one. Returns how many. */
size_t schedule_fleet_reconcile(struct schedule *sched, size_t n, const char *const *names,
                                const long *versions, bool all_due, bool all);

#endif
