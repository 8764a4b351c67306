/* The types of the shared store's interface (cluster.h), apart so that the
 * backends' helpers (cluster_backend.h) use them without the front. */
#ifndef ACMED_CLUSTER_TYPES_H
#define ACMED_CLUSTER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define CLUSTER_KEY_LEN 32

enum cluster_result {
	CLUSTER_OK,
	CLUSTER_BUSY, /* lease held by another (holder set) */
	CLUSTER_LOST, /* the lease is not (or no longer) this token's */
	CLUSTER_CONFLICT, /* compare-and-set: the version moved on */
	CLUSTER_DOWN, /* the backend cannot be reached now */
	CLUSTER_BAD_KEY, /* sealed data the cluster key cannot open */
	CLUSTER_ERROR, /* anything else (message says) */
};

enum cluster_event_kind {
	CLUSTER_EVENT_INSTALLED, /* name's record reached version */
	CLUSTER_EVENT_WEBROOT, /* a webroot answer for token is in the store */
	CLUSTER_EVENT_RENEW, /* renew name once, now (acmed renew --now) */
};

struct cluster_event {
	enum cluster_event_kind kind;
	const char *name; /* the certificate (WEBROOT: whose webroot) */
	const char *token; /* WEBROOT: the challenge token */
	long version; /* INSTALLED */
	const char *node; /* who announced it */
};

struct cluster_config {
	const char *url; /* "redis://..." or "file:///..." */
	const char *password; /* Redis AUTH, or NULL */
	/* Else Redis AUTH with this file's first line, read again at each
	 * connection attempt (redis_config's password_file). */
	const char *password_file;
	unsigned char key[CLUSTER_KEY_LEN]; /* the cluster key */
	const char *node; /* this node's name */
	/* The backend came up (reconnected: reconcile now) or went away;
	 * may be NULL. */
	void (*on_up)(void *arg);
	void (*on_down)(const char *why, void *arg);
	/* The key check failed before it ever passed (the store holds
	 * another key; said in the log): the node has no business here. May
	 * be NULL. */
	void (*on_bad_key)(void *arg);
	/* An announcement from a node (this one's included), see
	 * cluster_announce; may be NULL. */
	void (*on_event)(const struct cluster_event *ev, void *arg);
	void *arg;
};

/* The generic answer. message: "" or one line. */
struct cluster_reply {
	enum cluster_result rc;
	const char *message;
	uint64_t token; /* lease_take: the new token */
	const char *holder; /* BUSY: "NODE" of the lease holder */
	long version; /* cert_put: the new one; CONFLICT: the current one */
};

/* A call taking a cluster_done_fn accepts NULL: fire and forget (a
 * failure is logged at debug level). */
typedef void (*cluster_done_fn)(const struct cluster_reply *r, void *arg);

/* --- records -------------------------------------------------------------- */
struct cluster_cert {
	long version; /* 0: nothing installed by the fleet yet */
	uint64_t token; /* the lease token that installed it */
	char *node; /* who installed it, or NULL */
	time_t time; /* when */
	char *cert_pem; /* the leaf, or NULL */
	char *chain_pem; /* the issuers, or NULL */
	char *key_pem; /* opened; cleared on free */
	char *state; /* state_shared_to_json's text, or NULL */
	/* An order in flight, or url NULL */
	char *order_url;
	char *order_key_pem; /* opened; cleared on free */
	char *order_node;
};

/* The account of the CA host: its key (opened) and account.json's text;
 * both NULL when the fleet has none yet. */
typedef void (*cluster_account_fn)(const struct cluster_reply *r, const char *key_pem,
                                   const char *json, void *arg);

enum cluster_state {
	CLUSTER_STATE_CONNECTING, /* not connected yet, or the check in flight */
	CLUSTER_STATE_READY,
	CLUSTER_STATE_DOWN, /* lost, or the check could not finish */
	CLUSTER_STATE_BAD_KEY, /* the store was set up with another key */
};

typedef void (*cluster_cert_fn)(const struct cluster_reply *r, const struct cluster_cert *cert,
                                void *arg);

/* Every record's version and the node that installed it: names[i] at
 * versions[i] by nodes[i] (all borrowed). */
typedef void (*cluster_versions_fn)(const struct cluster_reply *r, size_t n,
                                    const char *const *names, const long *versions,
                                    const char *const *nodes, void *arg);

enum cluster_answer_kind {
	CLUSTER_ANSWER_HTTP, /* key: the token; value: the key authorization */
	CLUSTER_ANSWER_ALPN, /* key: the identifier; value: the key authorization */
};

typedef void (*cluster_value_fn)(const struct cluster_reply *r, const char *value, void *arg);

typedef void (*cluster_list_fn)(const struct cluster_reply *r, size_t n, const char *const *items,
                                void *arg);

struct cluster_node {
	const char *name;
	time_t seen; /* its last beat */
	long running;
	bool alive; /* its beat has not expired */
};

typedef void (*cluster_nodes_fn)(const struct cluster_reply *r, size_t n,
                                 const struct cluster_node *nodes, void *arg);

#endif
