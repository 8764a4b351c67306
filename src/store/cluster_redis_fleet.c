/* The Redis backend's fleet calls (cluster_redis.c has the key layout):
 * challenge answers and acknowledgements, node heartbeats, accounts and
 * announcements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/cluster_redis_internal.h"

/* KEYS: ack:TOKEN; ARGV: node ttl. */
static const char lua_ack[] = "redis.call('SADD', KEYS[1], ARGV[1]) "
                              "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";

/* KEYS: nodes alive:NODE; ARGV: node "TIME RUNNING" ttl instance first.
 * 0 when another instance of the name beat since (not asked when first:
 * "1"), else 1. */
static const char lua_beat[] = "local was = redis.call('GET', KEYS[2]) "
                               "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
                               "redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3]) "
                               "if ARGV[5] == '0' and was and was ~= ARGV[4] then return 0 end "
                               "return 1";

/* KEYS: nodes; ARGV: the alive: prefix. {node, "TIME RUNNING", alive}... */
static const char lua_nodes[] = "local all = redis.call('HGETALL', KEYS[1]) local out = {} "
                                "for i = 1, #all, 2 do "
                                "out[#out + 1] = all[i] out[#out + 1] = all[i + 1] "
                                "out[#out + 1] = redis.call('EXISTS', ARGV[1] .. all[i]) end "
                                "return out";

/* KEYS: account:HOST; ARGV: key json. */
static const char lua_account_put[] = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
                                      "redis.call('HSET', KEYS[1], 'key', ARGV[1], 'json', "
                                      "ARGV[2]) return 1";

/* --- challenges ------------------------------------------------------------- */

static void
answer_key(char *out, enum cluster_answer_kind kind, const char *key)
{
	snprintf(out, CLUSTER_REDIS_KEY_LEN, CLUSTER_REDIS_PREFIX "answer:%s:%s",
	         kind == CLUSTER_ANSWER_ALPN ? "alpn" : "http", key);
}

int
cluster_redis_answer_put(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
                         const char *value, long ttl_ms, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	char ttl[32];
	const char *set[] = {"SET", k, value, "PX", ttl};
	const char *del[] = {"DEL", k};

	answer_key(k, kind, key);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
	}
	if (value == NULL) {
		return cluster_redis_send_argv((struct cluster_redis *)b, call,
		                               cluster_redis_on_done, 2, del);
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 5,
	                               set);
}

int
cluster_redis_answer_get(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
                         cluster_value_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"GET", k};

	answer_key(k, kind, key);
	if (call != NULL) {
		call->value = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_value, 2,
	                               argv);
}

int
cluster_redis_ack(struct cluster_backend *b, const char *token, long ttl_ms, cluster_done_fn done,
                  void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	char ttl[32];
	const char *argv[] = {"EVAL", lua_ack, "1", k, b->node, ttl};

	cluster_redis_key_of(k, "ack", token);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 6,
	                               argv);
}

static void
on_list(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	const char **items = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
		items = calloc(reply->elements, sizeof(*items));
		for (i = 0; items != NULL && i < reply->elements; i++) {
			if (cluster_redis_reply_str(reply->element[i]) != NULL) {
				items[n++] = cluster_redis_reply_str(reply->element[i]);
			}
		}
	}
	call->list(&r, n, items, call->arg);
	free(items);
	free(call);
}

int
cluster_redis_acks(struct cluster_backend *b, const char *token, cluster_list_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"SMEMBERS", k};

	cluster_redis_key_of(k, "ack", token);
	if (call != NULL) {
		call->list = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_list, 2, argv);
}

/* --- nodes -------------------------------------------------------------------- */

int
cluster_redis_beat(struct cluster_backend *b, long ttl_ms, long running, cluster_done_fn done,
                   void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char alive[CLUSTER_REDIS_KEY_LEN];
	char info[64];
	char ttl[32];
	const char *argv[] = {
	        "EVAL", lua_beat, "2",         CLUSTER_REDIS_PREFIX "nodes", alive, b->node,
	        info,   ttl,      b->instance, b->beaten ? "0" : "1"};

	cluster_redis_key_of(alive, "alive", b->node);
	snprintf(info, sizeof(info), "%lld %ld", (long long)time(NULL), running);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
		call->op = 2; /* 0: CONFLICT */
	}
	b->beaten = true;
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 10,
	                               argv);
}

static void
on_nodes(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	struct cluster_node *nodes = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3) {
		nodes = calloc(reply->elements / 3, sizeof(*nodes));
	}
	for (i = 0; nodes != NULL && i + 2 < reply->elements; i += 3) {
		const char *name = cluster_redis_reply_str(reply->element[i]);
		const char *info = cluster_redis_reply_str(reply->element[i + 1]);
		char *end = NULL;

		if (name == NULL || info == NULL) {
			continue;
		}
		nodes[n].name = name;
		nodes[n].seen = (time_t)strtoll(info, &end, 10);
		nodes[n].running = end != NULL ? strtol(end, NULL, 10) : 0;
		nodes[n].alive = cluster_redis_reply_int(reply->element[i + 2]) == 1;
		n++;
	}
	call->nodes(&r, n, nodes, call->arg);
	free(nodes);
	free(call);
}

int
cluster_redis_nodes(struct cluster_backend *b, cluster_nodes_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	const char *argv[] = {"EVAL", lua_nodes, "1", CLUSTER_REDIS_PREFIX "nodes",
	                      CLUSTER_REDIS_PREFIX "alive:"};

	if (call != NULL) {
		call->nodes = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_nodes, 5, argv);
}

/* --- accounts ---------------------------------------------------------------- */

static void
on_account(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	call->account(
	        &r,
	        r.rc == CLUSTER_OK ? cluster_redis_reply_str(cluster_redis_reply_elem(reply, 0))
	                           : NULL,
	        r.rc == CLUSTER_OK ? cluster_redis_reply_str(cluster_redis_reply_elem(reply, 1))
	                           : NULL,
	        call->arg);
	free(call);
}

int
cluster_redis_account_get(struct cluster_backend *b, const char *ca_host, cluster_account_fn done,
                          void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"HMGET", k, "key", "json"};

	cluster_redis_key_of(k, "account", ca_host);
	if (call != NULL) {
		call->account = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_account, 4, argv);
}

int
cluster_redis_account_put(struct cluster_backend *b, const char *ca_host, const char *key_sealed,
                          const char *json, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char k[CLUSTER_REDIS_KEY_LEN];
	/* json may be NULL (cluster.h does not forbid it): cluster_redis_send_argv takes
	 * strlen of every argument. */
	const char *argv[] = {"EVAL", lua_account_put, "1",
	                      k,      key_sealed,      json != NULL ? json : ""};

	cluster_redis_key_of(k, "account", ca_host);
	if (call != NULL) {
		call->done = done;
		call->op = 2;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 6,
	                               argv);
}

/* --- announcements -------------------------------------------------------------- */

int
cluster_redis_announce(struct cluster_backend *b, const struct cluster_event *ev,
                       cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char msg[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"PUBLISH", CLUSTER_REDIS_EVENTS, msg};

	switch (ev->kind) {
	case CLUSTER_EVENT_INSTALLED:
		snprintf(msg, sizeof(msg), "installed %s %ld %s", ev->name, ev->version, b->node);
		break;
	case CLUSTER_EVENT_WEBROOT:
		snprintf(msg, sizeof(msg), "webroot %s %s %s", ev->token,
		         ev->name != NULL ? ev->name : "-", b->node);
		break;
	case CLUSTER_EVENT_RENEW:
	default:
		snprintf(msg, sizeof(msg), "renew %s %s", ev->name, b->node);
		break;
	}
	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 3,
	                               argv);
}

/* An announcement: "KIND ARG [VERSION or NAME] NODE". */
void
cluster_redis_on_message(const char *channel, const char *message, size_t len, void *arg)
{
	struct cluster_redis *cr = arg;
	struct cluster_event ev;
	char kind[16], what[256], third[256], fourth[256];
	char text[600];
	int n;

	(void)channel;
	if (len >= sizeof(text) || cr->base.events.on_event == NULL) {
		return;
	}
	memcpy(text, message, len);
	text[len] = '\0';
	memset(&ev, 0, sizeof(ev));
	third[0] = fourth[0] = '\0';
	n = sscanf(text, "%15s %255s %255s %255s", kind, what, third, fourth);
	if (n >= 4 && strcmp(kind, "installed") == 0) {
		ev.kind = CLUSTER_EVENT_INSTALLED;
		ev.name = what;
		ev.version = strtol(third, NULL, 10);
		ev.node = fourth;
	} else if (n >= 4 && strcmp(kind, "webroot") == 0) {
		ev.kind = CLUSTER_EVENT_WEBROOT;
		ev.token = what;
		ev.name = third;
		ev.node = fourth;
	} else if (n >= 3 && strcmp(kind, "renew") == 0) {
		ev.kind = CLUSTER_EVENT_RENEW;
		ev.name = what;
		ev.node = third;
	} else {
		log_debug("cluster: ignoring an announcement: %s", text);
		return;
	}
	cr->base.events.on_event(&ev, cr->base.events.arg);
}
