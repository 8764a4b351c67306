/* The probe of the dns-01 flow (challenge_dns01.h; issue #18): what
 * challenge_ops.probe does for a responder whose setter can probe. It goes
 * the way of present up to the set (the CNAME chain of the name asked
 * for, the zone by the SOA walk when the setter needs it), then asks the
 * setter's probe instead of its set, so that a key or zone the server
 * refuses is found before newOrder spends an order. A zone (or, for a
 * setter that needs none, a target) whose probe succeeded is not probed
 * again for DNS01_PROBE_MEMORY_S: a busy daemon sends one probe a zone an
 * hour, not one an order. Failures are not remembered. Probes of one key
 * that meet (jobs starting together) send one update: the others wait
 * for its verdict (if it is cancelled, the next one sends its own). */
#ifndef ACMED_DNS01_PROBE_H
#define ACMED_DNS01_PROBE_H

#include <ev.h>

#include "challenge/challenge.h"
#include "challenge/dns01_setter.h"
#include "io/dns.h"

/* How long a successful probe is remembered, in seconds (ev_now). */
#define DNS01_PROBE_MEMORY_S 3600.

/* The zones remembered at most: past it the oldest is forgotten. */
#define DNS01_PROBE_MEMORY_MAX 256

struct dns01_prober;

/* A prober asking dns (borrowed) and setter (static, its probe set) with
 * ctx (borrowed): both outlive it. NULL when out of memory (logged). */
struct dns01_prober *dns01_prober_create(struct ev_loop *loop, struct dns *dns,
                                         const struct challenge_dns01_setter *setter, void *ctx);

/* Frees pr and its probes without calling their done; the setter's probes
 * on their way are not cancelled (the setter is destroyed first, which
 * drops them). Safe on NULL. */
void dns01_prober_destroy(struct dns01_prober *pr);

/* challenge_ops.probe's contract, for task->txt_name. */
int dns01_prober_start(struct dns01_prober *pr, const struct challenge_task *task,
                       challenge_probe_fn done, void *arg, struct challenge_probe **handle);

/* challenge_ops.probe_cancel's contract. */
void dns01_prober_cancel(struct dns01_prober *pr, struct challenge_probe *p);

#endif
