/* Which notifications were sent, and when: <state>/notified.json, shared by
 * every acmed on the state folder (the daemon, a timer's renew) under the
 * lock locks/notified, so that an event is told once however many
 * processes see it, and a restart does not tell it again. */
#ifndef ACMED_NOTIFIED_H
#define ACMED_NOTIFIED_H

#include <time.h>

/* The most certificate-event pairs kept: the oldest go first past it. */
#define NOTIFIED_MAX 100000

/* Claims the sending of event for cert: when it was last sent before
 * unless (never, or at a time < unless), records now as its time and
 * returns 1 (send it); returns 0 when it was sent since (do not). -1 when
 * the record cannot be read or written (logged): the caller sends, since
 * a duplicate is better than silence. prev (may be NULL) gets the time it
 * was last sent, 0 when never. */
int notified_claim(const char *state_dir, const char *cert, const char *event, time_t now,
                   time_t unless, time_t *prev);

/* Gives back a claim whose sending failed on every channel (or was cut
 * short): the record returns to prev (0: none) when it still holds
 * claimed_at, so that the next time the event is raised it is told. */
void notified_release(const char *state_dir, const char *cert, const char *event, time_t claimed_at,
                      time_t prev);

/* When event was last sent for cert, 0 when never (or unreadable). */
time_t notified_last(const char *state_dir, const char *cert, const char *event);

/* Forgets cert's records (its certificate was deleted). */
void notified_forget(const char *state_dir, const char *cert);

#endif
