/* The shared store on Redis (cluster_backend.h). Every key starts with
 * "acmed:":
 *
 *   keycheck          the cluster key's check value (SET NX)
 *   fence             the last lease token given (INCR)
 *   lease:NAME        "TOKEN NODE", PX: who orders NAME now
 *   cert:NAME         hash: version token node time cert chain key state
 *   order:NAME        hash: url key node token time
 *   versions          hash: NAME -> "VERSION NODE" (one HGETALL reconciles)
 *   answer:http:TOKEN, answer:alpn:IDENTIFIER   key authorizations, PX
 *   ack:TOKEN         set of the nodes that wrote a webroot file, PX
 *   nodes             hash: NODE -> "TIME RUNNING"; alive:NODE, PX
 *   account:HOST      hash: key json
 *   channel events    "installed NAME VERSION NODE", "webroot TOKEN NAME NODE",
 *                     "renew NAME NODE"
 *
 * Whatever must happen together (check a lease and write, compare a
 * version and install) is one Lua script, which Redis runs atomically. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "io/redis.h"
#include "store/cluster_backend.h"

#define P "acmed:"
#define KEY_LEN 512
#define EVENTS_CHANNEL P "events"

struct cluster_redis {
	struct cluster_backend base;
	struct redis *redis;
};

/* One call in flight: its callback (by kind) and argument. */
struct call {
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

/* A token matches the lease "TOKEN NODE" (KEYS[k]) held now. */
#define LUA_HOLDS                                                      \
	"local function holds(k, t) local cur = redis.call('GET', k) " \
	"return cur and string.match(cur, '^(%d+) ') == t end "

static const char lua_lease_take[] =
        "local cur = redis.call('GET', KEYS[1]) "
        "if cur then return {0, cur} end "
        "local t = redis.call('INCR', KEYS[2]) "
        "redis.call('SET', KEYS[1], t .. ' ' .. ARGV[1], 'PX', ARGV[2]) "
        "return {1, tostring(t)}";

static const char lua_lease_renew[] = LUA_HOLDS "if not holds(KEYS[1], ARGV[1]) then return 0 end "
                                                "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";

static const char lua_lease_release[] =
        LUA_HOLDS "if not holds(KEYS[1], ARGV[1]) then return 0 end "
                  "redis.call('DEL', KEYS[1]) return 1";

static const char lua_cert_get[] = "return {redis.call('HGETALL', KEYS[1]), "
                                   "redis.call('HGETALL', KEYS[2])}";

/* KEYS: cert lease order versions; ARGV: name token expect node time cert
 * chain key state. {1, new} / {0, current} / {-1, 0} (lease lost). */
static const char lua_cert_put[] = LUA_HOLDS
        "if ARGV[2] ~= '0' and not holds(KEYS[2], ARGV[2]) then return {-1, 0} end "
        "local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') "
        "if v ~= tonumber(ARGV[3]) then return {0, v} end "
        "v = v + 1 "
        "redis.call('HSET', KEYS[1], 'version', v, 'token', ARGV[2], 'node', ARGV[4], "
        "'time', ARGV[5], 'cert', ARGV[6], 'chain', ARGV[7], 'key', ARGV[8], "
        "'state', ARGV[9]) "
        "redis.call('DEL', KEYS[3]) "
        "redis.call('HSET', KEYS[4], ARGV[1], v .. ' ' .. ARGV[4]) "
        "redis.call('PUBLISH', '" EVENTS_CHANNEL "', 'installed ' .. ARGV[1] .. ' ' .. v .. "
        "' ' .. ARGV[4]) "
        "return {1, v}";

/* KEYS: order lease; ARGV: token url key node time (url "" removes). */
static const char lua_order_put[] =
        LUA_HOLDS "if not holds(KEYS[2], ARGV[1]) then return 0 end "
                  "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) return 1 end "
                  "redis.call('HSET', KEYS[1], 'url', ARGV[2], 'key', ARGV[3], 'node', ARGV[4], "
                  "'token', ARGV[1], 'time', ARGV[5]) return 1";

/* KEYS: cert lease; ARGV: token state. */
static const char lua_state_put[] =
        LUA_HOLDS "if not holds(KEYS[2], ARGV[1]) then return 0 end "
                  "redis.call('HSET', KEYS[1], 'state', ARGV[2]) return 1";

/* KEYS: ack:TOKEN; ARGV: node ttl. */
static const char lua_ack[] = "redis.call('SADD', KEYS[1], ARGV[1]) "
                              "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";

/* KEYS: nodes alive:NODE; ARGV: node "TIME RUNNING" ttl. */
static const char lua_beat[] = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
                               "redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]) return 1";

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

/* --- calls and replies ---------------------------------------------------- */

static struct call *
call_new(struct cluster_backend *b, void *arg)
{
	struct call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		log_error("cluster: out of memory");
		return NULL;
	}
	call->cr = (struct cluster_redis *)b;
	call->arg = arg;
	return call;
}

/* rc from a reply: NULL is DOWN (err says why), an error reply ERROR. */
static enum cluster_result
reply_rc(const redisReply *reply, const char *err, const char **message)
{
	if (reply == NULL) {
		*message = err != NULL ? err : "no reply";
		return CLUSTER_DOWN;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		*message = reply->str != NULL ? reply->str : "error";
		return CLUSTER_ERROR;
	}
	*message = "";
	return CLUSTER_OK;
}

static long long
reply_int(const redisReply *reply)
{
	if (reply == NULL) {
		return 0;
	}
	if (reply->type == REDIS_REPLY_INTEGER) {
		return reply->integer;
	}
	if (reply->type == REDIS_REPLY_STRING && reply->str != NULL) {
		return strtoll(reply->str, NULL, 10);
	}
	return 0;
}

static const char *
reply_str(const redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
}

static const redisReply *
reply_elem(const redisReply *reply, size_t i)
{
	return reply != NULL && reply->type == REDIS_REPLY_ARRAY && i < reply->elements
	               ? reply->element[i]
	               : NULL;
}

/* A reply answered with done. op 0: any reply but an error is OK; 1: an
 * integer 1 is OK, else LOST; 2: 1 is OK, else CONFLICT; 3: nil (a SET NX
 * that found the key) is CONFLICT. */
static void
on_done(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && call->op == 1 && reply_int(reply) != 1) {
		r.rc = CLUSTER_LOST;
	} else if (r.rc == CLUSTER_OK && call->op == 2 && reply_int(reply) != 1) {
		r.rc = CLUSTER_CONFLICT;
	} else if (r.rc == CLUSTER_OK && call->op == 3 && reply->type == REDIS_REPLY_NIL) {
		r.rc = CLUSTER_CONFLICT;
	}
	if (call->done != NULL) {
		call->done(&r, call->arg);
	}
	free(call);
}

static void
on_value(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	call->value(&r, r.rc == CLUSTER_OK ? reply_str(reply) : NULL, call->arg);
	free(call);
}

/* Sends argv (NUL-terminated strings) with done as the reply handler. */
static int
send_argv(struct cluster_redis *cr, struct call *call, redis_reply_fn fn, int argc,
          const char **argv)
{
	size_t lens[16];
	int i;

	if (call == NULL || argc > 16) {
		free(call);
		return -1;
	}
	for (i = 0; i < argc; i++) {
		lens[i] = strlen(argv[i]);
	}
	if (redis_command(cr->redis, fn, call, argc, argv, lens) < 0) {
		free(call);
		return -1;
	}
	return 0;
}

static void
key_of(char *out, const char *kind, const char *name)
{
	snprintf(out, KEY_LEN, P "%s:%s", kind, name);
}

/* --- the key check -------------------------------------------------------- */

static int
r_check_get(struct cluster_backend *b, cluster_value_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	const char *argv[] = {"GET", P "keycheck"};

	if (call != NULL) {
		call->value = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_value, 2, argv);
}

static int
r_check_set(struct cluster_backend *b, const char *value, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	const char *argv[] = {"SET", P "keycheck", value, "NX"};

	if (call != NULL) {
		call->done = done;
		call->op = 3;
	}
	/* SET NX answers OK, or nil when the key is there. */
	return send_argv((struct cluster_redis *)b, call, on_done, 4, argv) < 0 ? -1 : 0;
}

/* --- leases ---------------------------------------------------------------- */

static void
on_lease_take(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	const char *holder = NULL;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply_int(reply_elem(reply, 0)) == 1) {
		r.token = (uint64_t)reply_int(reply_elem(reply, 1));
	} else if (r.rc == CLUSTER_OK) {
		r.rc = CLUSTER_BUSY;
		holder = reply_str(reply_elem(reply, 1));
		holder = holder != NULL ? strchr(holder, ' ') : NULL;
		r.holder = holder != NULL ? holder + 1 : "another node";
	}
	call->done(&r, call->arg);
	free(call);
}

static int
r_lease_take(struct cluster_backend *b, const char *name, long ttl_ms, cluster_done_fn done,
             void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN];
	char ttl[32];
	const char *argv[] = {"EVAL", lua_lease_take, "2", key, P "fence", b->node, ttl};

	key_of(key, "lease", name);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	if (call != NULL) {
		call->done = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_lease_take, 7, argv);
}

static int
lease_op(struct cluster_backend *b, const char *script, const char *name, uint64_t token,
         long ttl_ms, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN];
	char tok[32];
	char ttl[32];
	const char *argv[] = {"EVAL", script, "1", key, tok, ttl};

	key_of(key, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 6, argv);
}

static int
r_lease_renew(struct cluster_backend *b, const char *name, uint64_t token, long ttl_ms,
              cluster_done_fn done, void *arg)
{
	return lease_op(b, lua_lease_renew, name, token, ttl_ms, done, arg);
}

static int
r_lease_release(struct cluster_backend *b, const char *name, uint64_t token, cluster_done_fn done,
                void *arg)
{
	return lease_op(b, lua_lease_release, name, token, 0, done, arg);
}

static void
on_lease_holder(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	const char *v = NULL;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	v = r.rc == CLUSTER_OK ? reply_str(reply) : NULL;
	r.holder = "";
	if (v != NULL && strchr(v, ' ') != NULL) {
		r.token = (uint64_t)strtoull(v, NULL, 10);
		r.holder = strchr(v, ' ') + 1;
	}
	call->done(&r, call->arg);
	free(call);
}

static int
r_lease_holder(struct cluster_backend *b, const char *name, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN];
	const char *argv[] = {"GET", key};

	key_of(key, "lease", name);
	if (call != NULL) {
		call->done = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_lease_holder, 2, argv);
}

/* --- records ----------------------------------------------------------------- */

/* The field of a flat HGETALL array, or NULL. */
static const char *
hash_field(const redisReply *h, const char *field)
{
	size_t i;

	for (i = 0; h != NULL && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
		const char *f = reply_str(h->element[i]);

		if (f != NULL && strcmp(f, field) == 0) {
			return reply_str(h->element[i + 1]);
		}
	}
	return NULL;
}

/* Borrows the reply's strings into cert (nothing to free: the front
 * copies what it keeps). */
static void
cert_from_reply(const redisReply *h, const redisReply *o, struct cluster_cert *cert)
{
	const char *s;

	memset(cert, 0, sizeof(*cert));
	s = hash_field(h, "version");
	cert->version = s != NULL ? strtol(s, NULL, 10) : 0;
	s = hash_field(h, "token");
	cert->token = s != NULL ? (uint64_t)strtoull(s, NULL, 10) : 0;
	s = hash_field(h, "time");
	cert->time = s != NULL ? (time_t)strtoll(s, NULL, 10) : 0;
	cert->node = (char *)hash_field(h, "node");
	cert->cert_pem = (char *)hash_field(h, "cert");
	cert->chain_pem = (char *)hash_field(h, "chain");
	cert->key_pem = (char *)hash_field(h, "key");
	cert->state = (char *)hash_field(h, "state");
	cert->order_url = (char *)hash_field(o, "url");
	cert->order_key_pem = (char *)hash_field(o, "key");
	cert->order_node = (char *)hash_field(o, "node");
}

static void
on_cert_get(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	struct cluster_cert cert;

	memset(&r, 0, sizeof(r));
	memset(&cert, 0, sizeof(cert));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK) {
		cert_from_reply(reply_elem(reply, 0), reply_elem(reply, 1), &cert);
	}
	call->cert(&r, &cert, call->arg);
	free(call);
}

static int
r_cert_get(struct cluster_backend *b, const char *name, cluster_cert_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN];
	char order[KEY_LEN];
	const char *argv[] = {"EVAL", lua_cert_get, "2", key, order};

	key_of(key, "cert", name);
	key_of(order, "order", name);
	if (call != NULL) {
		call->cert = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_cert_get, 5, argv);
}

static void
on_cert_put(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	long long what = 0;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK) {
		what = reply_int(reply_elem(reply, 0));
		r.version = (long)reply_int(reply_elem(reply, 1));
		r.rc = what == 1 ? CLUSTER_OK : what == 0 ? CLUSTER_CONFLICT : CLUSTER_LOST;
	}
	call->done(&r, call->arg);
	free(call);
}

static int
r_cert_put(struct cluster_backend *b, const char *name, uint64_t token, long expect,
           const struct cluster_cert *cert, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN], lease[KEY_LEN], order[KEY_LEN];
	char tok[32], exp[32], now[32];
	const char *argv[] = {"EVAL",
	                      lua_cert_put,
	                      "4",
	                      key,
	                      lease,
	                      order,
	                      P "versions",
	                      name,
	                      tok,
	                      exp,
	                      b->node,
	                      now,
	                      cert->cert_pem != NULL ? cert->cert_pem : "",
	                      cert->chain_pem != NULL ? cert->chain_pem : "",
	                      cert->key_pem != NULL ? cert->key_pem : "",
	                      cert->state != NULL ? cert->state : ""};

	key_of(key, "cert", name);
	key_of(lease, "lease", name);
	key_of(order, "order", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(exp, sizeof(exp), "%ld", expect);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (call != NULL) {
		call->done = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_cert_put, 16, argv);
}

static int
r_order_put(struct cluster_backend *b, const char *name, uint64_t token, const char *url,
            const char *key_sealed, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN], lease[KEY_LEN];
	char tok[32], now[32];
	const char *argv[] = {"EVAL",
	                      lua_order_put,
	                      "2",
	                      key,
	                      lease,
	                      tok,
	                      url != NULL ? url : "",
	                      key_sealed != NULL ? key_sealed : "",
	                      b->node,
	                      now};

	key_of(key, "order", name);
	key_of(lease, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 10, argv);
}

static int
r_state_put(struct cluster_backend *b, const char *name, uint64_t token, const char *state,
            cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char key[KEY_LEN], lease[KEY_LEN];
	char tok[32];
	const char *argv[] = {
	        "EVAL", lua_state_put, "2", key, lease, tok, state != NULL ? state : ""};

	key_of(key, "cert", name);
	key_of(lease, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 7, argv);
}

static void
on_versions(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	const char **names = NULL;
	const char **nodes = NULL;
	long *versions = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
		names = calloc(reply->elements / 2, sizeof(*names));
		nodes = calloc(reply->elements / 2, sizeof(*nodes));
		versions = calloc(reply->elements / 2, sizeof(*versions));
		if (names == NULL || nodes == NULL || versions == NULL) {
			r.rc = CLUSTER_ERROR;
			r.message = "out of memory";
		}
	}
	for (i = 0; r.rc == CLUSTER_OK && names != NULL && i + 1 < reply->elements; i += 2) {
		const char *name = reply_str(reply->element[i]);
		const char *value = reply_str(reply->element[i + 1]);
		const char *node = value != NULL ? strchr(value, ' ') : NULL;

		if (name != NULL) {
			/* "VERSION NODE" */
			names[n] = name;
			nodes[n] = node != NULL ? node + 1 : "";
			versions[n++] = (long)reply_int(reply->element[i + 1]);
		}
	}
	call->versions(&r, n, names, versions, nodes, call->arg);
	free(names);
	free(nodes);
	free(versions);
	free(call);
}

static int
r_versions(struct cluster_backend *b, cluster_versions_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	const char *argv[] = {"HGETALL", P "versions"};

	if (call != NULL) {
		call->versions = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_versions, 2, argv);
}

/* --- challenges ------------------------------------------------------------- */

static void
answer_key(char *out, enum cluster_answer_kind kind, const char *key)
{
	snprintf(out, KEY_LEN, P "answer:%s:%s", kind == CLUSTER_ANSWER_ALPN ? "alpn" : "http",
	         key);
}

static int
r_answer_put(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
             const char *value, long ttl_ms, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	char ttl[32];
	const char *set[] = {"SET", k, value, "PX", ttl};
	const char *del[] = {"DEL", k};

	answer_key(k, kind, key);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
	}
	if (value == NULL) {
		return send_argv((struct cluster_redis *)b, call, on_done, 2, del);
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 5, set);
}

static int
r_answer_get(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
             cluster_value_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	const char *argv[] = {"GET", k};

	answer_key(k, kind, key);
	if (call != NULL) {
		call->value = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_value, 2, argv);
}

static int
r_ack(struct cluster_backend *b, const char *token, long ttl_ms, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	char ttl[32];
	const char *argv[] = {"EVAL", lua_ack, "1", k, b->node, ttl};

	key_of(k, "ack", token);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 6, argv);
}

static void
on_list(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	const char **items = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
		items = calloc(reply->elements, sizeof(*items));
		for (i = 0; items != NULL && i < reply->elements; i++) {
			if (reply_str(reply->element[i]) != NULL) {
				items[n++] = reply_str(reply->element[i]);
			}
		}
	}
	call->list(&r, n, items, call->arg);
	free(items);
	free(call);
}

static int
r_acks(struct cluster_backend *b, const char *token, cluster_list_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	const char *argv[] = {"SMEMBERS", k};

	key_of(k, "ack", token);
	if (call != NULL) {
		call->list = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_list, 2, argv);
}

/* --- nodes -------------------------------------------------------------------- */

static int
r_beat(struct cluster_backend *b, long ttl_ms, long running, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char alive[KEY_LEN];
	char info[64];
	char ttl[32];
	const char *argv[] = {"EVAL", lua_beat, "2", P "nodes", alive, b->node, info, ttl};

	key_of(alive, "alive", b->node);
	snprintf(info, sizeof(info), "%lld %ld", (long long)time(NULL), running);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms > 0 ? ttl_ms : 1);
	if (call != NULL) {
		call->done = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 8, argv);
}

static void
on_nodes(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;
	struct cluster_node *nodes = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3) {
		nodes = calloc(reply->elements / 3, sizeof(*nodes));
	}
	for (i = 0; nodes != NULL && i + 2 < reply->elements; i += 3) {
		const char *name = reply_str(reply->element[i]);
		const char *info = reply_str(reply->element[i + 1]);
		char *end = NULL;

		if (name == NULL || info == NULL) {
			continue;
		}
		nodes[n].name = name;
		nodes[n].seen = (time_t)strtoll(info, &end, 10);
		nodes[n].running = end != NULL ? strtol(end, NULL, 10) : 0;
		nodes[n].alive = reply_int(reply->element[i + 2]) == 1;
		n++;
	}
	call->nodes(&r, n, nodes, call->arg);
	free(nodes);
	free(call);
}

static int
r_nodes(struct cluster_backend *b, cluster_nodes_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	const char *argv[] = {"EVAL", lua_nodes, "1", P "nodes", P "alive:"};

	if (call != NULL) {
		call->nodes = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_nodes, 5, argv);
}

/* --- accounts ---------------------------------------------------------------- */

static void
on_account(redisReply *reply, const char *err, void *arg)
{
	struct call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = reply_rc(reply, err, &r.message);
	call->account(&r, r.rc == CLUSTER_OK ? reply_str(reply_elem(reply, 0)) : NULL,
	              r.rc == CLUSTER_OK ? reply_str(reply_elem(reply, 1)) : NULL, call->arg);
	free(call);
}

static int
r_account_get(struct cluster_backend *b, const char *ca_host, cluster_account_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	const char *argv[] = {"HMGET", k, "key", "json"};

	key_of(k, "account", ca_host);
	if (call != NULL) {
		call->account = done;
	}
	return send_argv((struct cluster_redis *)b, call, on_account, 4, argv);
}

static int
r_account_put(struct cluster_backend *b, const char *ca_host, const char *key_sealed,
              const char *json, cluster_done_fn done, void *arg)
{
	struct call *call = call_new(b, arg);
	char k[KEY_LEN];
	/* json may be NULL (cluster.h does not forbid it): send_argv takes
	 * strlen of every argument. */
	const char *argv[] = {"EVAL", lua_account_put, "1",
	                      k,      key_sealed,      json != NULL ? json : ""};

	key_of(k, "account", ca_host);
	if (call != NULL) {
		call->done = done;
		call->op = 2;
	}
	return send_argv((struct cluster_redis *)b, call, on_done, 6, argv);
}

/* --- announcements -------------------------------------------------------------- */

static int
r_announce(struct cluster_backend *b, const struct cluster_event *ev, cluster_done_fn done,
           void *arg)
{
	struct call *call = call_new(b, arg);
	char msg[KEY_LEN];
	const char *argv[] = {"PUBLISH", EVENTS_CHANNEL, msg};

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
	return send_argv((struct cluster_redis *)b, call, on_done, 3, argv);
}

/* An announcement: "KIND ARG [VERSION or NAME] NODE". */
static void
on_message(const char *channel, const char *message, size_t len, void *arg)
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

/* --- life ------------------------------------------------------------------- */

static void
r_destroy(struct cluster_backend *b)
{
	struct cluster_redis *cr = (struct cluster_redis *)b;

	redis_destroy(cr->redis);
	free(cr->base.node);
	free(cr);
}

static bool
r_up(const struct cluster_backend *b)
{
	return redis_up(((const struct cluster_redis *)b)->redis);
}

static unsigned long
r_commands(const struct cluster_backend *b)
{
	return redis_commands_sent(((const struct cluster_redis *)b)->redis);
}

static const struct cluster_backend_ops redis_ops = {
        .destroy = r_destroy,
        .up = r_up,
        .commands = r_commands,
        .check_get = r_check_get,
        .check_set = r_check_set,
        .lease_take = r_lease_take,
        .lease_renew = r_lease_renew,
        .lease_release = r_lease_release,
        .lease_holder = r_lease_holder,
        .cert_get = r_cert_get,
        .cert_put = r_cert_put,
        .order_put = r_order_put,
        .state_put = r_state_put,
        .versions = r_versions,
        .answer_put = r_answer_put,
        .answer_get = r_answer_get,
        .ack = r_ack,
        .acks = r_acks,
        .beat = r_beat,
        .nodes = r_nodes,
        .account_get = r_account_get,
        .account_put = r_account_put,
        .announce = r_announce,
};

struct cluster_backend *
cluster_redis_create(struct ev_loop *loop, const char *url, const char *password, const char *node,
                     const struct cluster_backend_events *events, char *err, size_t errlen)
{
	struct cluster_redis *cr = calloc(1, sizeof(*cr));
	struct redis_config config;

	memset(&config, 0, sizeof(config));
	if (cr == NULL || (cr->base.node = strdup(node)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (redis_url_parse(url, &config.address, err, errlen) < 0) {
		goto fail;
	}
	cr->base.ops = &redis_ops;
	cr->base.loop = loop;
	cr->base.events = *events;
	config.password = password;
	config.on_up = events->on_up;
	config.on_down = events->on_down;
	config.arg = events->arg;
	cr->redis = redis_create(loop, &config);
	if (cr->redis == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (redis_subscribe(cr->redis, EVENTS_CHANNEL, on_message, cr) < 0) {
		snprintf(err, errlen, "out of memory");
		redis_destroy(cr->redis);
		goto fail;
	}
	return &cr->base;
fail:
	if (cr != NULL) {
		free(cr->base.node);
	}
	free(cr);
	return NULL;
}
