/* What a backend of the shared store (cluster.h) implements: the same calls
 * as cluster.h without the sealing, which cluster.c does (key_pem and
 * order_key_pem are sealed text here, passed through as they are). Only
 * the store's cluster_*.c include this; it uses the types alone
 * (cluster_types.h), so that the backends' helpers (cluster_defer) do not
 * depend on the front that uses them.
 *
 * The contract of every call is cluster.h's: the callback runs exactly once,
 * from the loop, never from inside the call; a call returns -1 only when
 * out of memory (logged; callback never called). */
#ifndef ACMED_CLUSTER_BACKEND_H
#define ACMED_CLUSTER_BACKEND_H

#include <ev.h>
#include <stdbool.h>

#include "store/cluster_types.h"

struct cluster_backend;

/* What a backend tells its front: up, down, an announcement. */
struct cluster_backend_events {
	void (*on_up)(void *arg);
	void (*on_down)(const char *why, void *arg);
	void (*on_event)(const struct cluster_event *ev, void *arg);
	void *arg;
};

struct cluster_backend_ops {
	void (*destroy)(struct cluster_backend *b);
	bool (*up)(const struct cluster_backend *b);
	unsigned long (*commands)(const struct cluster_backend *b);

	/* The key check value: get (value NULL when none), and set unless
	 * one is there (OK, or CONFLICT with nothing changed). */
	int (*check_get)(struct cluster_backend *b, cluster_value_fn done, void *arg);
	int (*check_set)(struct cluster_backend *b, const char *value, cluster_done_fn done,
	                 void *arg);
	/* How many nodes that passed the key check are connected to the
	 * store now, in the reply's version (after ready: this node among
	 * them); NULL where the backend cannot tell (file). */
	int (*listeners)(struct cluster_backend *b, cluster_done_fn done, void *arg);
	/* This node passed the key check (once; it counts for listeners from
	 * now on, across reconnects). NULL where nothing is to be done. */
	void (*ready)(struct cluster_backend *b);

	int (*lease_take)(struct cluster_backend *b, const char *name, long ttl_ms,
	                  cluster_done_fn done, void *arg);
	int (*lease_renew)(struct cluster_backend *b, const char *name, uint64_t token, long ttl_ms,
	                   cluster_done_fn done, void *arg);
	int (*lease_release)(struct cluster_backend *b, const char *name, uint64_t token,
	                     cluster_done_fn done, void *arg);
	int (*lease_holder)(struct cluster_backend *b, const char *name, cluster_done_fn done,
	                    void *arg);

	int (*cert_get)(struct cluster_backend *b, const char *name, cluster_cert_fn done,
	                void *arg);
	int (*cert_put)(struct cluster_backend *b, const char *name, uint64_t token, long expect,
	                const struct cluster_cert *cert, cluster_done_fn done, void *arg);
	int (*order_put)(struct cluster_backend *b, const char *name, uint64_t token,
	                 const char *url, const char *key_sealed, cluster_done_fn done, void *arg);
	int (*state_put)(struct cluster_backend *b, const char *name, uint64_t token,
	                 const char *state, cluster_done_fn done, void *arg);
	int (*versions)(struct cluster_backend *b, cluster_versions_fn done, void *arg);

	int (*answer_put)(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
	                  const char *value, long ttl_ms, cluster_done_fn done, void *arg);
	int (*answer_get)(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
	                  cluster_value_fn done, void *arg);
	int (*ack)(struct cluster_backend *b, const char *token, long ttl_ms, cluster_done_fn done,
	           void *arg);
	int (*acks)(struct cluster_backend *b, const char *token, cluster_list_fn done, void *arg);

	/* CONFLICT (the beat done all the same) when another process of
	 * this node's name beat since this one's last (not asked at the
	 * first: that may be this node's run before a restart). */
	int (*beat)(struct cluster_backend *b, long ttl_ms, long running, cluster_done_fn done,
	            void *arg);
	int (*nodes)(struct cluster_backend *b, cluster_nodes_fn done, void *arg);

	int (*account_get)(struct cluster_backend *b, const char *ca_host, cluster_account_fn done,
	                   void *arg);
	int (*account_put)(struct cluster_backend *b, const char *ca_host, const char *key_sealed,
	                   const char *json, cluster_done_fn done, void *arg);

	int (*announce)(struct cluster_backend *b, const struct cluster_event *ev,
	                cluster_done_fn done, void *arg);
};

/* Every backend struct starts with this. */
struct cluster_backend {
	const struct cluster_backend_ops *ops;
	struct ev_loop *loop;
	char *node; /* this node's name */
	/* This process among the nodes of that name (random, set by the
	 * front): a beat finds another one's when two nodes share a name. */
	char instance[17];
	bool beaten; /* a beat went through: the next finds no earlier run's */
	struct cluster_backend_events events;
};

/* The two backends: rest is what follows "redis://" / "file://" in the
 * URL. NULL with a reason in err. */
struct cluster_backend *cluster_redis_create(struct ev_loop *loop, const char *url,
                                             const char *password, const char *password_file,
                                             const char *node,
                                             const struct cluster_backend_events *events, char *err,
                                             size_t errlen);
struct cluster_backend *cluster_file_create(struct ev_loop *loop, const char *path,
                                            const char *node,
                                            const struct cluster_backend_events *events, char *err,
                                            size_t errlen);

#endif
