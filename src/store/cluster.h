/* The fleet's shared store: what several acmed nodes keep in common so that
 * one of them orders a certificate and every one installs it (each node's
 * state folder stays its local copy, the files nginx reads). Two backends
 * behind one interface:
 *
 *   redis  cluster = redis://HOST:PORT[/DB]  (cluster_redis.c, io/redis.h)
 *   file   cluster = file:///PATH            (cluster_file.c: a folder on
 *          one host, every operation under a flock; no announcements, the
 *          periodic reconcile finds what changed)
 *
 * What is kept, per certificate NAME:
 *   a lease      who orders it now: "TOKEN NODE", expiring unless renewed;
 *                TOKEN (the fencing token) grows with every lease taken
 *   the record   version (1, 2, ...; 0: none yet), the lease token and node
 *                that installed it, the leaf, the chain, the key (sealed),
 *                the shared part of state.json (state_shared_*: attempts,
 *                backoff, ARI; never the order or a node's deploy)
 *   the order    an order in flight: its URL and its key (sealed), so that
 *                another node resumes it when its node died
 * and for the fleet: every node's heartbeat, the account of each CA (its
 * key sealed), the challenge answers in flight (with a TTL) and the webroot
 * acknowledgements, and the announcements (installed, webroot, renew).
 *
 * Private keys never reach the backend in clear: cluster.c seals them with
 * the cluster key (crypto/seal.h, AES-256-GCM, the record's name as
 * associated data so a sealed key cannot be moved to another record) and
 * opens them on the way back; a backend only sees sealed text.
 *
 * Every call is asynchronous: its callback runs once, from the loop, never
 * from inside the call; a call made while the backend is unreachable fails
 * through its callback (CLUSTER_DOWN). */
#ifndef ACMED_CLUSTER_H
#define ACMED_CLUSTER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/cluster_types.h"

const char *cluster_result_name(enum cluster_result rc);

struct cluster;

/* A handle on the backend config->url names (config copied). NULL with a
 * reason in err (a bad URL, out of memory). */
struct cluster *cluster_create(struct ev_loop *loop, const struct cluster_config *config, char *err,
                               size_t errlen);
/* Every call still waiting gets CLUSTER_DOWN ("closed") first. Safe on
 * NULL. */
void cluster_destroy(struct cluster *c);
/* Whether calls go through: connected, and the cluster key checked on
 * this connection (cluster_check_key runs by itself at every connect;
 * on_up is called once it passed). Until then, and for good after a
 * failed check, every call answers DOWN or BAD_KEY with why. */
enum cluster_state cluster_state(const struct cluster *c, const char **why);
bool cluster_up(const struct cluster *c); /* READY and connected */
const char *cluster_node(const struct cluster *c);
const char *cluster_name(const struct cluster *c); /* the URL, for logs */
/* The store's generation (CLUSTER_GENERATION_LEN - 1 characters at most,
 * [A-Za-z0-9_-]): the same while the store keeps its records, a new one
 * when a store that lost them (new, wiped, replaced) is set up again. A
 * version is only comparable within one generation. "" before the first
 * key check passed. */
#define CLUSTER_GENERATION_LEN 17
const char *cluster_generation(const struct cluster *c);
/* Checks the key again (the daemon's heartbeat does): a store wiped and
 * set up again shows as a new generation (on_up called again, logged), a
 * store taken over by a node with another key turns BAD_KEY (logged), and
 * one BAD_KEY after it was READY turns READY again once the check passes
 * (the store emptied and set up again with this key; on_up called).
 * Returns 0, or -1 when out of memory. */
int cluster_recheck(struct cluster *c);

/* Backend commands sent so far (the benchmark's figure; 0 for file). */
unsigned long cluster_commands(const struct cluster *c);

/* --- the cluster key ----------------------------------------------------
 * The first node to reach a fresh store leaves a check value sealed with
 * its key; every node checks it before anything else: OK, or BAD_KEY
 * (message names both key ids, see seal_key_id) with nothing written. */
int cluster_check_key(struct cluster *c, cluster_done_fn done, void *arg);

/* --- leases ------------------------------------------------------------- */
/* Takes name's lease for ttl_ms unless another holds it: OK with a new
 * token, BUSY with the holder. */
int cluster_lease_take(struct cluster *c, const char *name, long ttl_ms, cluster_done_fn done,
                       void *arg);
/* Extends it when token still holds it (OK), else LOST. */
int cluster_lease_renew(struct cluster *c, const char *name, uint64_t token, long ttl_ms,
                        cluster_done_fn done, void *arg);
/* Lets it go when token holds it (OK), else LOST (nothing changed). */
int cluster_lease_release(struct cluster *c, const char *name, uint64_t token, cluster_done_fn done,
                          void *arg);
/* Who holds it now: holder "" when nobody (for status). */
int cluster_lease_holder(struct cluster *c, const char *name, cluster_done_fn done, void *arg);

void cluster_cert_init(struct cluster_cert *cc);
/* Frees every field with free(), the two keys cleared first: for a copy a
 * caller made of a cluster_cert_get answer, or a record it filled with
 * malloc'd strings (cluster.c hands out opened keys as plain malloc'd
 * strings, never seal_open's buffers). */
void cluster_cert_finish(struct cluster_cert *cc);

/* name's record and order. cert borrowed for the call (rc OK: version 0
 * when there is none; BAD_KEY when a key could not be opened). */
int cluster_cert_get(struct cluster *c, const char *name, cluster_cert_fn done, void *arg);

/* Installs cert (version, token, node, time ignored: set here) as name's
 * record if its version is still expect and token still holds the lease
 * (0: no lease asked, a set installed while the store was away): one
 * compare-and-set. OK with the new version (expect + 1), the order
 * removed, CLUSTER_EVENT_INSTALLED announced; CONFLICT with the current
 * version; LOST when the lease moved on. */
int cluster_cert_put(struct cluster *c, const char *name, uint64_t token, long expect,
                     const struct cluster_cert *cert, cluster_done_fn done, void *arg);
/* Keeps an order in flight (url, key_pem; order_* of cert) under the
 * lease token; LOST when it is not this token's. url NULL removes it. */
int cluster_order_put(struct cluster *c, const char *name, uint64_t token, const char *url,
                      const char *key_pem, cluster_done_fn done, void *arg);
/* Replaces the record's shared state text under the lease token. */
int cluster_state_put(struct cluster *c, const char *name, uint64_t token, const char *state,
                      cluster_done_fn done, void *arg);

/* Every record's version: names[i] at versions[i] (borrowed). */
int cluster_versions(struct cluster *c, cluster_versions_fn done, void *arg);

/* --- challenges ----------------------------------------------------------- */
/* Publishes an answer for ttl_ms (value NULL withdraws it). */
int cluster_answer_put(struct cluster *c, enum cluster_answer_kind kind, const char *key,
                       const char *value, long ttl_ms, cluster_done_fn done, void *arg);
/* The answer, or value NULL (rc OK) when there is none. */
int cluster_answer_get(struct cluster *c, enum cluster_answer_kind kind, const char *key,
                       cluster_value_fn done, void *arg);
/* A node wrote the webroot file for token; the nodes that did. */
int cluster_ack(struct cluster *c, const char *token, long ttl_ms, cluster_done_fn done, void *arg);
int cluster_acks(struct cluster *c, const char *token, cluster_list_fn done, void *arg);

/* --- nodes ---------------------------------------------------------------- */
/* This node is alive (for ttl_ms) and runs that many orders. CONFLICT
 * (recorded all the same) when another running process has this node's
 * name: one that beat since this one's last beat. */
int cluster_beat(struct cluster *c, long ttl_ms, long running, cluster_done_fn done, void *arg);
int cluster_nodes(struct cluster *c, cluster_nodes_fn done, void *arg);

/* --- announcements -------------------------------------------------------- */
/* Tells every node (lossy: a node away misses it and reconciles). */
int cluster_announce(struct cluster *c, const struct cluster_event *ev, cluster_done_fn done,
                     void *arg);

/* --- accounts ------------------------------------------------------------- */
/* The account of the CA host (cluster_account_fn). */
int cluster_account_get(struct cluster *c, const char *ca_host, cluster_account_fn done, void *arg);
/* Stores it unless one is there already (OK), else CONFLICT. */
int cluster_account_put(struct cluster *c, const char *ca_host, const char *key_pem,
                        const char *json, cluster_done_fn done, void *arg);

#endif
