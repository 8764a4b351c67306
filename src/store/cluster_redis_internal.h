/* What cluster_redis.c and cluster_redis_fleet.c share: the backend's
 * struct, a call in flight, the key names and the reply helpers. Only
 * those two include it. */
#ifndef ACMED_CLUSTER_REDIS_INTERNAL_H
#define ACMED_CLUSTER_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>

#include "io/redis.h"
#include "store/cluster_backend.h"

#define CLUSTER_REDIS_PREFIX "acmed:"
#define CLUSTER_REDIS_KEY_LEN 512
#define CLUSTER_REDIS_EVENTS CLUSTER_REDIS_PREFIX "events"
/* Subscribed to by the nodes that passed the key check (see listeners). */
#define CLUSTER_REDIS_READY CLUSTER_REDIS_PREFIX "ready"

struct cluster_redis {
	struct cluster_backend base;
	struct redis *redis;
};

/* One call in flight: its callback (by kind) and argument. */
struct cluster_redis_call {
	struct cluster_redis *cr;
	cluster_done_fn done;
	cluster_value_fn value;
	cluster_cert_fn cert;
	cluster_versions_fn versions;
	cluster_list_fn list;
	cluster_nodes_fn nodes;
	cluster_account_fn account;
	void *arg;
	int op; /* for the replies that need it */
};

struct cluster_redis_call *cluster_redis_call_new(struct cluster_backend *b, void *arg);
enum cluster_result cluster_redis_reply_rc(const redisReply *reply, const char *err,
                                           const char **message);
long long cluster_redis_reply_int(const redisReply *reply);
const char *cluster_redis_reply_str(const redisReply *reply);
const redisReply *cluster_redis_reply_elem(const redisReply *reply, size_t i);
void cluster_redis_on_done(redisReply *reply, const char *err, void *arg);
void cluster_redis_on_value(redisReply *reply, const char *err, void *arg);
int cluster_redis_send_argv(struct cluster_redis *cr, struct cluster_redis_call *call,
                            redis_reply_fn fn, int argc, const char **argv);
void cluster_redis_key_of(char *out, const char *kind, const char *name);
int cluster_redis_answer_put(struct cluster_backend *b, enum cluster_answer_kind kind,
                             const char *key, const char *value, long ttl_ms, cluster_done_fn done,
                             void *arg);
int cluster_redis_answer_get(struct cluster_backend *b, enum cluster_answer_kind kind,
                             const char *key, cluster_value_fn done, void *arg);
int cluster_redis_ack(struct cluster_backend *b, const char *token, long ttl_ms,
                      cluster_done_fn done, void *arg);
int cluster_redis_acks(struct cluster_backend *b, const char *token, cluster_list_fn done,
                       void *arg);
int cluster_redis_beat(struct cluster_backend *b, long ttl_ms, long running, cluster_done_fn done,
                       void *arg);
int cluster_redis_nodes(struct cluster_backend *b, cluster_nodes_fn done, void *arg);
int cluster_redis_account_get(struct cluster_backend *b, const char *ca_host,
                              cluster_account_fn done, void *arg);
int cluster_redis_account_put(struct cluster_backend *b, const char *ca_host,
                              const char *key_sealed, const char *json, cluster_done_fn done,
                              void *arg);
int cluster_redis_announce(struct cluster_backend *b, const struct cluster_event *ev,
                           cluster_done_fn done, void *arg);
void cluster_redis_on_message(const char *channel, const char *message, size_t len, void *arg);

#endif
