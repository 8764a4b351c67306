/* The daemon's renewal schedule: one wall-clock timer (ev_periodic, a heap)
 * per certificate, set to its renewal time, or to its backoff after a
 * failure (exponential with full jitter from 1 minute to 24 hours, kept in
 * state.json so a restart does not reset it). Due certificates become jobs
 * of the runner. */
#ifndef ACMED_SCHEDULE_H
#define ACMED_SCHEDULE_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

#include "acme_client.h"
#include "conf.h"
#include "job.h"

#define SCHEDULE_BACKOFF_MIN 60L
#define SCHEDULE_BACKOFF_MAX (24L * 3600)
#define SCHEDULE_ARI_MIN_GAP 3600

struct schedule;

/* runner, client and state_dir are borrowed. When the CA's directory
 * offers renewalInfo (RFC 9773, ARI), each installed certificate's renewal
 * time is a uniformly random time inside the window the CA suggests,
 * fetched again when its Retry-After says; otherwise the rule of
 * job_renewal_time. NULL on failure (logged). */
struct schedule *schedule_create(struct ev_loop *loop, struct job_runner *runner,
                                 struct acme_client *client, const char *state_dir);

/* Picks the renewal time inside an ARI window: now when the window is
 * over, else start + r * (end - start), never before now; r in [0, 1). */
time_t schedule_ari_time(time_t start, time_t end, time_t now, double r);
void schedule_destroy(struct schedule *sched);

/* Adds the certificate, or updates its settings (copied) keeping its
 * schedule and backoff. Marks it as present for schedule_sweep. 0 or -1. */
int schedule_set(struct schedule *sched, const char *name, const struct conf_settings *s);

/* Drops every certificate not schedule_set since the last sweep; returns how
 * many were dropped. */
size_t schedule_sweep(struct schedule *sched);

/* Orders name now (a running job is left alone). 0, or -1 if unknown. */
int schedule_renew_now(struct schedule *sched, const char *name);

/* To be called with every finished job of the runner. A failure's
 * retry_after (0: none) is a floor for the backoff. */
void schedule_job_done(struct schedule *sched, const char *name, enum job_result result,
                       const char *message, time_t retry_after);

/* Appends one object per certificate to list: {"cert", "domains",
 * "not_after", "next", "attempts", "last_error"}. */
void schedule_list(const struct schedule *sched, json_t *list);

size_t schedule_count(const struct schedule *sched);

/* The backoff before attempt number attempts+1 after attempts failures in a
 * row: uniform in [SCHEDULE_BACKOFF_MIN, min(SCHEDULE_BACKOFF_MAX, 60 * 2^(n-1))]
 * with r uniform in [0, 1). */
long schedule_backoff(long attempts, double r);

#endif
