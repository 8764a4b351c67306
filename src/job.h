/* Certificate jobs: decide whether a certificate is missing or due, order
 * it, check the chain, install it, record its state and run the deploy hook;
 * many at once up to a concurrency cap, sharing the account, the ACME client
 * and the challenge responders. */
#ifndef ACMED_JOB_H
#define ACMED_JOB_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "acme_account.h"
#include "acme_client.h"
#include "conf.h"

enum job_result {
	JOB_ISSUED,
	JOB_RENEWED,
	JOB_UNCHANGED,
	JOB_FAILED,
	JOB__MAX,
};

struct job_runner;

/* A new runner; everything passed is borrowed and must outlive it.
 * account_settings are used when the CA forgot the account and it must be
 * registered again. concurrency: orders in flight at most. NULL on error. */
struct job_runner *job_runner_create(struct ev_loop *loop, struct acme_client *client,
                                     struct acme_account_handle *acct,
                                     const struct conf_settings *account_settings,
                                     const char *state_dir, long concurrency);

/* Stops nothing in flight: call after job_runner_run returned. */
void job_runner_destroy(struct job_runner *runner);

/* Queues the certificate name with its resolved settings (copied). force:
 * order even when not due. Returns 0, or -1 (logged). */
int job_runner_add(struct job_runner *runner, const char *name, const struct conf_settings *s,
                   bool force);

/* Runs the loop until every queued job is finished. */
void job_runner_run(struct job_runner *runner);

/* How many jobs ended with result. */
unsigned long job_runner_count(const struct job_runner *runner, enum job_result result);

/* Called after each job, from the loop; name and message borrowed;
 * retry_after: the CA's Retry-After with a refusal, 0 if none. */
typedef void (*job_done_fn)(const char *name, enum job_result result, const char *message,
                            time_t retry_after, void *arg);

void job_runner_on_done(struct job_runner *runner, job_done_fn done, void *arg);

/* Starts queued jobs up to the cap and returns: for a caller that runs the
 * loop itself (the daemon). */
void job_runner_start(struct job_runner *runner);

/* Jobs running, and queued behind the cap. */
size_t job_runner_active(const struct job_runner *runner);
size_t job_runner_waiting(const struct job_runner *runner);

/* Whether a job for name is queued or running. */
bool job_runner_has(const struct job_runner *runner, const char *name);

/* Appends one object per job to list: {"cert", "state", "since"}; state is
 * "waiting", "ordering", "validating", "finalizing", "downloading" or
 * "deploying". */
void job_runner_list(const struct job_runner *runner, json_t *list);

/* When a certificate with this lifetime should be renewed: renew_before
 * seconds before notAfter when set and shorter than the lifetime, else when
 * a third of the lifetime is left (half of it for certificates valid less
 * than 10 days). */
time_t job_renewal_time(time_t not_before, time_t not_after, long renew_before);

/* When the certificate name with settings s should next be ordered, from
 * what is installed under state_dir: now when it is missing, unreadable or
 * for other names, else its renewal time. *not_after gets the installed
 * certificate's notAfter (0 if none). */
time_t job_due(const char *state_dir, const char *name, const struct conf_settings *s,
               time_t *not_after);

#endif
