/* What cluster.c and cluster_calls.c share: the front's struct, the
 * context of a call whose answer the front changes on its way back
 * (sealed keys opened, the key check), and the callback of a call made
 * without one. cluster.c: the life, the connection's state and the key
 * check; cluster_calls.c: every other call, refused until the key check
 * passed. Only those two include it. */
#ifndef ACMED_CLUSTER_INTERNAL_H
#define ACMED_CLUSTER_INTERNAL_H

#include <ev.h>
#include <stdbool.h>

#include "store/cluster.h"
#include "store/cluster_backend.h"
#include "store/cluster_defer.h"

/* The associated data of a sealed field: "KIND:NAME". */
#define CLUSTER_AAD_LEN 600

struct cluster {
	struct cluster_backend *b;
	unsigned char key[CLUSTER_KEY_LEN];
	char *url;
	struct cluster_config config; /* callbacks */
	/* Nothing is read or written but the key check until it passed on
	 * the connection of the moment: a node with another key never
	 * writes (cluster_state). */
	enum cluster_state state;
	char why[512];
	/* The store's generation: taken from its key check value, made anew
	 * when a store without one (new, wiped) is set up (cluster_generation). */
	char generation[CLUSTER_GENERATION_LEN];
	char generation_seen[CLUSTER_GENERATION_LEN]; /* when last up */
	bool rechecking;
	bool ever_ready; /* the key check passed once */
	/* A store without a key check while other nodes are connected: its
	 * check tried again every CHECK_WAIT_S, CHECK_WAITS times at most
	 * (cluster.c). */
	ev_timer check_again;
	int check_waits;
	struct ev_loop *loop;
	struct cluster_defer refused; /* the calls answered "not ready" */
	struct cluster_backend_events no_events;
};

/* A call whose answer the front changes on its way back. */
struct cluster_front {
	struct cluster *c;
	char aad[CLUSTER_AAD_LEN];
	char *key_sealed; /* check_key: the value to set */
	cluster_done_fn done;
	cluster_cert_fn cert;
	cluster_account_fn account;
	void *arg;
};

/* A new context for c's call with the caller's arg, or NULL (logged). */
struct cluster_front *cluster_front_new(struct cluster *c, void *arg);

void cluster_front_free(struct cluster_front *fc);

/* What a call without a callback gets (fire and forget): a failure logged
 * at debug level. */
void cluster_noop(const struct cluster_reply *r, void *arg);

#define CLUSTER_DONE(d) ((d) != NULL ? (d) : cluster_noop)

#endif
