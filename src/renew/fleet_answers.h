/* Fleet mode's challenge answers (store/cluster.h): every node answers the
 * CA's validation, whichever node ordered.
 *
 *   remote    the built-in responders (standalone, tls-alpn) ask the store
 *             for an answer they do not hold (challenge_set_remote with
 *             fleet_answers_remote); one found is kept FLEET_ANSWER_CACHE_S
 *             (a miss is asked again next time)
 *   publish   a job's responder wrapped (fleet_answers_wrap): its present
 *             puts the answer into the store (FLEET_ANSWER_TTL_MS) before
 *             its done, that is before the CA is told to validate; its
 *             cleanup withdraws it. For webroot, the answer is announced
 *             too (CLUSTER_EVENT_WEBROOT) and done waits until every live
 *             node acknowledged having written the file, or
 *             FLEET_ACK_WAIT_S passed (the log says which)
 *   follow    a node told of a webroot answer for a certificate it keeps
 *             with webroot writes the file into its own webroot (the
 *             webroot responder's code), acknowledges it, and removes it
 *             after FLEET_ANSWER_TTL_MS (fleet_answers_webroot_event)
 *
 * A store that cannot be reached costs answers from other nodes, never an
 * order: publishing failures are logged and the order goes on. */
#ifndef ACMED_FLEET_ANSWERS_H
#define ACMED_FLEET_ANSWERS_H

#include <ev.h>
#include <stdbool.h>

#include "challenge/challenge.h"
#include "conf/conf.h"
#include "store/cluster.h"

#define FLEET_ANSWER_TTL_MS (10L * 60 * 1000)
#define FLEET_ANSWER_CACHE_S 60.0
/* Answers kept at most; past it the cache starts over. */
#define FLEET_ANSWER_CACHE_MAX 4096
#define FLEET_ACK_WAIT_S 10.0
#define FLEET_ACK_POLL_S 0.2

struct fleet_answers;

/* For cluster (borrowed: outlives it). NULL when out of memory (logged). */
struct fleet_answers *fleet_answers_create(struct ev_loop *loop, struct cluster *cluster);

/* Lookups in flight are cut loose (never answered), webroot files this
 * node wrote for others are removed. Destroy the responders using its
 * remote or its wrappers first. Safe on NULL. */
void fleet_answers_destroy(struct fleet_answers *fa);

/* The remote for challenge_set_remote (borrowed from fa). */
const struct challenge_remote *fleet_answers_remote(struct fleet_answers *fa);

/* A responder that is inner (taken: destroyed with it) and publishes what
 * it presents, as above; webroot: inner writes into a webroot, so the
 * other nodes are told and waited for. A responder of neither http-01 nor
 * tls-alpn-01 is returned as it is. NULL when out of memory (inner
 * destroyed, logged). */
struct challenge *fleet_answers_wrap(struct fleet_answers *fa, struct challenge *inner,
                                     bool webroot);

/* The daemon's part of a CLUSTER_EVENT_WEBROOT from another node: s is
 * this node's settings of the certificate ev->name, or NULL when it keeps
 * none; unless they name a webroot, nothing is done. */
void fleet_answers_webroot_event(struct fleet_answers *fa, const struct cluster_event *ev,
                                 const struct conf_settings *s);

#endif
