/* The challenge responders of a job runner: one per distinct configuration
 * (challenge_key), shared by every job that needs it, so concurrent orders
 * share one standalone listener; all closed together when the runner is
 * idle. */
#ifndef ACMED_RESPONDERS_H
#define ACMED_RESPONDERS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "challenge/challenge.h"
#include "conf/conf.h"
#include "io/dns.h"
#include "store/cluster.h"

struct responders;

/* NULL when out of memory (logged). */
struct responders *responders_create(struct ev_loop *loop);

/* Closes every responder. Safe on NULL. */
void responders_destroy(struct responders *p);

/* The responder for s: the one made for an equal configuration, else a new
 * one (challenge_create; a port is bound now). Borrowed until
 * responders_close. NULL with the reason logged and errno set
 * (EADDRINUSE: a built-in responder's port is held). */
struct challenge *responders_get(struct responders *p, const struct conf_settings *s);

/* The resolver for the dns-resolver value servers (NULL: the system's),
 * made at its first use and shared by every lookup of p's jobs (dns-01
 * propagation, CAA) until p goes. NULL with the reason logged. */
struct dns *responders_dns(struct responders *p, const char *servers);

/* Whether one of them is a built-in responder (standalone, tls-alpn)
 * listening on address (as http-listen or tls-listen spell it: "80" and
 * "[::]:80" are one). */
bool responders_listen_on(const struct responders *p, const char *address);

/* How many are open. */
size_t responders_count(const struct responders *p);

/* Their runner stops (a signal): challenge_stop on each, so that the
 * presents on their way end soon and their challenges are withdrawn. */
void responders_stop(struct responders *p);

/* Closes them all (their ports and files go); the next get opens anew.
 * In fleet mode nothing is closed (see responders_set_fleet). */
void responders_close(struct responders *p);

/* Fleet mode from now on (cluster borrowed, outliving p): what
 * responders_get returns publishes the answers it presents
 * (renew/fleet_answers.h; webroot: the other nodes write them too), the
 * built-in responders (standalone, tls-alpn) answer the other nodes'
 * validations from the store, and responders_close keeps every responder
 * open, since a node answers for the fleet even when it runs no job. What
 * is open now is closed first. 0, or -1 when out of memory (logged). */
int responders_set_fleet(struct responders *p, struct cluster *cluster);

/* Opens the responder of s now (the daemon's start in fleet mode, for
 * each configuration it watches); one that cannot be opened is logged and
 * tried again by the next job that needs it. */
void responders_open(struct responders *p, const struct conf_settings *s);

#endif
