/* Answers a backend of the shared store computed at once (the file backend
 * does its work inside the call), delivered later from the loop, as
 * cluster.h asks: never from inside the call, oldest first (one FIFO and a
 * zero timer), so replies keep the order of the calls.
 *
 * An answer's data is JSON, shaped by the callback it goes to:
 *   DONE      {"holder"?}: r.holder (BUSY, lease_holder)
 *   VALUE     {"value"?}
 *   CERT      {"cert": {"version", "token", "time", "node", "cert", "chain",
 *             "key", "state"}, "order": {"url", "key", "node"}}
 *   VERSIONS  {NAME: {"version", "node"}}
 *   LIST      [ITEM...]
 *   NODES     {NODE: {"seen", "running", "alive"}}
 *   ACCOUNT   {"key"?, "json"?}
 *   EVENT     {"kind", "name"?, "token"?, "version", "node"}: to on_event
 *   UP        nothing: to on_up
 * Missing data (NULL) answers as empty. */
#ifndef ACMED_CLUSTER_DEFER_H
#define ACMED_CLUSTER_DEFER_H

#include <jansson.h>
#include <stdbool.h>

#include "base/list.h"
#include "store/cluster_backend.h"

#define CLUSTER_DEFER_MESSAGE_LEN 256

enum cluster_defer_shape {
	CLUSTER_DEFER_DONE,
	CLUSTER_DEFER_VALUE,
	CLUSTER_DEFER_CERT,
	CLUSTER_DEFER_VERSIONS,
	CLUSTER_DEFER_LIST,
	CLUSTER_DEFER_NODES,
	CLUSTER_DEFER_ACCOUNT,
	CLUSTER_DEFER_EVENT,
	CLUSTER_DEFER_UP,
};

union cluster_defer_fn {
	cluster_done_fn done;
	cluster_value_fn value;
	cluster_cert_fn cert;
	cluster_versions_fn versions;
	cluster_list_fn list;
	cluster_nodes_fn nodes;
	cluster_account_fn account;
};

/* One answer: r (rc, token, version) and data are filled by the backend. */
struct cluster_deferred {
	struct list_node node;
	enum cluster_defer_shape shape;
	union cluster_defer_fn fn;
	void *arg;
	struct cluster_reply r;
	char message[CLUSTER_DEFER_MESSAGE_LEN];
	json_t *data; /* owned; NULL: none */
};

/* The queue, inside its backend. */
struct cluster_defer {
	struct ev_loop *loop;
	const struct cluster_backend_events *events; /* borrowed */
	struct list answers;
	ev_timer timer;
	bool closing;
	bool *alive; /* while delivering: cleared by finish */
};

void cluster_defer_init(struct cluster_defer *q, struct ev_loop *loop,
                        const struct cluster_backend_events *events);
/* Delivers every answer still queued with CLUSTER_DOWN ("closed"), events
 * and UP dropped; may be called from a callback it delivered. Answers
 * queued meanwhile (a callback calling again) get the same. */
void cluster_defer_finish(struct cluster_defer *q);
/* Whether finish was called: a call made now answers DOWN. */
bool cluster_defer_closing(const struct cluster_defer *q);

/* A new answer (rc OK, message ""), or NULL when out of memory (logged). */
struct cluster_deferred *cluster_defer_new(enum cluster_defer_shape shape,
                                           union cluster_defer_fn fn, void *arg);
/* An EVENT answer (the strings copied), or NULL
 * when out of memory (logged). */
struct cluster_deferred *cluster_defer_event(const char *node, enum cluster_event_kind kind,
                                             const char *name, const char *token, long version);
/* Sets a's rc and message and drops its data. */
void cluster_defer_fail(struct cluster_deferred *a, enum cluster_result rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Queues a (taken: delivered then freed). */
void cluster_defer_push(struct cluster_defer *q, struct cluster_deferred *a);

#endif
