/* Telling an operator (renew/notice.h) through the configured channels:
 * notify-hook (a program, argv, ACMED_* in its environment),
 * notify-webhook (a JSON POST on the loop; acmed's object or Slack's) and
 * notify-email (sendmail -t). Each event of each certificate is told at
 * most once per notify-interval, across processes and restarts
 * (store/notified.h). A channel that fails is tried again with backoff;
 * nothing here ever holds up a renewal. */
#ifndef ACMED_NOTIFIER_H
#define ACMED_NOTIFIER_H

#include <ev.h>
#include <stdbool.h>

#include "conf/conf.h"
#include "renew/job.h"
#include "renew/notice.h"

/* The channels, in the order they are tried. */
enum notifier_channel {
	NOTIFIER_HOOK,
	NOTIFIER_WEBHOOK,
	NOTIFIER_EMAIL,
	NOTIFIER__MAX,
};

/* How long a channel is tried: the daemon's retries span an hour; a
 * one-shot command's a few seconds (a timer's next run tells again what
 * is still true). */
enum notifier_mode {
	NOTIFIER_DAEMON,
	NOTIFIER_ONE_SHOT,
};

struct notifier;

/* The notifier of global's channels, recording in state_dir; NULL (not
 * logged) when no channel is set, or (logged) when out of memory. The
 * loop must be the default one (hooks). host names the node in messages
 * (copied). */
struct notifier *notifier_create(struct ev_loop *loop, const struct conf_settings *global,
                                 const char *state_dir, const char *host, enum notifier_mode mode);

/* Tells what a job's outcome raises: renewed; deploy-failed; renewal-failed
 * on the first failure, and once more when it fails inside warn-before of
 * its notAfter. n may be NULL (nothing configured). */
void notifier_job_done(struct notifier *n, const struct job_outcome *o);

/* Tells expiring when not_after is within warn-before (or past); for a
 * certificate whose life (from not_before) is shorter than four times
 * warn-before, within a quarter of its life. */
void notifier_check_expiry(struct notifier *n, const char *cert, time_t not_before,
                           time_t not_after, const char *ca, long failures);

/* Tells ari-replace-now when the CA's window ended already (window_end <=
 * now): the CA wants the certificate replaced at once. */
void notifier_check_window(struct notifier *n, const char *cert, time_t not_after, const char *ca,
                           time_t window_end);

/* What one channel did with a notice sent through notifier_send. */
typedef void (*notifier_result_fn)(enum notifier_channel channel, bool ok, const char *why,
                                   void *arg);

/* Sends nt now through every channel, without the once-per-interval rule
 * and with the mode's retries; done (may be NULL) is called once per
 * channel with its final result. Returns how many channels it went to. */
int notifier_send(struct notifier *n, const struct notice *nt, notifier_result_fn done, void *arg);

/* Whether a delivery is in flight or waits for its retry. */
bool notifier_busy(const struct notifier *n);

/* "notify-hook", "notify-webhook", "notify-email". */
const char *notifier_channel_name(enum notifier_channel channel);

/* Cancels what is in flight (not told; logged when something was) and
 * frees. NULL is fine. */
void notifier_destroy(struct notifier *n);

#endif
