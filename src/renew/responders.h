/* The challenge responders of a job runner: one per distinct configuration
 * (challenge_key), shared by every job that needs it, so concurrent orders
 * share one standalone listener; all closed together when the runner is
 * idle. */
#ifndef ACMED_RESPONDERS_H
#define ACMED_RESPONDERS_H

#include <ev.h>
#include <stddef.h>

#include "challenge/challenge.h"
#include "conf/conf.h"

struct responders;

/* NULL when out of memory (logged). */
struct responders *responders_create(struct ev_loop *loop);

/* Closes every responder. Safe on NULL. */
void responders_destroy(struct responders *p);

/* The responder for s: the one made for an equal configuration, else a new
 * one (challenge_create; a port is bound now). Borrowed until
 * responders_close. NULL with the reason logged. */
struct challenge *responders_get(struct responders *p, const struct conf_settings *s);

/* How many are open. */
size_t responders_count(const struct responders *p);

/* Closes them all (their ports and files go); the next get opens anew. */
void responders_close(struct responders *p);

#endif
