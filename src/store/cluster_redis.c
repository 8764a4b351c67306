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
#include "store/cluster_redis_internal.h"

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
        "redis.call('PUBLISH', '" CLUSTER_REDIS_EVENTS "', 'installed ' .. ARGV[1] .. ' ' .. v .. "
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

/* --- calls and replies ---------------------------------------------------- */

struct cluster_redis_call *
cluster_redis_call_new(struct cluster_backend *b, void *arg)
{
	struct cluster_redis_call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		log_error("cluster: out of memory");
		return NULL;
	}
	call->cr = (struct cluster_redis *)b;
	call->arg = arg;
	return call;
}

/* rc from a reply: NULL is DOWN (err says why), an error reply ERROR. */
enum cluster_result
cluster_redis_reply_rc(const redisReply *reply, const char *err, const char **message)
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

long long
cluster_redis_reply_int(const redisReply *reply)
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

const char *
cluster_redis_reply_str(const redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
}

const redisReply *
cluster_redis_reply_elem(const redisReply *reply, size_t i)
{
	return reply != NULL && reply->type == REDIS_REPLY_ARRAY && i < reply->elements
	               ? reply->element[i]
	               : NULL;
}

/* A reply answered with done. op 0: any reply but an error is OK; 1: an
 * integer 1 is OK, else LOST; 2: 1 is OK, else CONFLICT; 3: nil (a SET NX
 * that found the key) is CONFLICT. */
void
cluster_redis_on_done(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK && call->op == 1 && cluster_redis_reply_int(reply) != 1) {
		r.rc = CLUSTER_LOST;
	} else if (r.rc == CLUSTER_OK && call->op == 2 && cluster_redis_reply_int(reply) != 1) {
		r.rc = CLUSTER_CONFLICT;
	} else if (r.rc == CLUSTER_OK && call->op == 3 && reply->type == REDIS_REPLY_NIL) {
		r.rc = CLUSTER_CONFLICT;
	}
	if (call->done != NULL) {
		call->done(&r, call->arg);
	}
	free(call);
}

void
cluster_redis_on_value(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	call->value(&r, r.rc == CLUSTER_OK ? cluster_redis_reply_str(reply) : NULL, call->arg);
	free(call);
}

/* Sends argv (NUL-terminated strings) with done as the reply handler. */
int
cluster_redis_send_argv(struct cluster_redis *cr, struct cluster_redis_call *call,
                        redis_reply_fn fn, int argc, const char **argv)
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

void
cluster_redis_key_of(char *out, const char *kind, const char *name)
{
	snprintf(out, CLUSTER_REDIS_KEY_LEN, CLUSTER_REDIS_PREFIX "%s:%s", kind, name);
}

/* --- the key check -------------------------------------------------------- */

static int
r_check_get(struct cluster_backend *b, cluster_value_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	const char *argv[] = {"GET", CLUSTER_REDIS_PREFIX "keycheck"};

	if (call != NULL) {
		call->value = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_value, 2,
	                               argv);
}

static int
r_check_set(struct cluster_backend *b, const char *value, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	const char *argv[] = {"SET", CLUSTER_REDIS_PREFIX "keycheck", value, "NX"};

	if (call != NULL) {
		call->done = done;
		call->op = 3;
	}
	/* SET NX answers OK, or nil when the key is there. */
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 4,
	                               argv) < 0
	               ? -1
	               : 0;
}

static void
on_listeners(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	/* [channel, subscribers] */
	if (r.rc == CLUSTER_OK) {
		r.version = (long)cluster_redis_reply_int(cluster_redis_reply_elem(reply, 1));
	}
	if (call->done != NULL) {
		call->done(&r, call->arg);
	}
	free(call);
}

static int
r_listeners(struct cluster_backend *b, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	const char *argv[] = {"PUBSUB", "NUMSUB", CLUSTER_REDIS_READY};

	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_listeners, 3, argv);
}

/* Nothing is published there: a subscription marks a node that passed
 * the key check. */
static void
on_ready_message(const char *channel, const char *message, size_t len, void *arg)
{
	(void)channel;
	(void)message;
	(void)len;
	(void)arg;
}

static void
r_ready(struct cluster_backend *b)
{
	struct cluster_redis *cr = (struct cluster_redis *)b;

	(void)redis_subscribe(cr->redis, CLUSTER_REDIS_READY, on_ready_message, cr);
}

/* --- leases ---------------------------------------------------------------- */

static void
on_lease_take(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	const char *holder = NULL;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK &&
	    cluster_redis_reply_int(cluster_redis_reply_elem(reply, 0)) == 1) {
		r.token = (uint64_t)cluster_redis_reply_int(cluster_redis_reply_elem(reply, 1));
	} else if (r.rc == CLUSTER_OK) {
		r.rc = CLUSTER_BUSY;
		holder = cluster_redis_reply_str(cluster_redis_reply_elem(reply, 1));
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
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN];
	char ttl[32];
	const char *argv[] = {
	        "EVAL", lua_lease_take, "2", key, CLUSTER_REDIS_PREFIX "fence", b->node, ttl};

	cluster_redis_key_of(key, "lease", name);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_lease_take, 7, argv);
}

static int
lease_op(struct cluster_backend *b, const char *script, const char *name, uint64_t token,
         long ttl_ms, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN];
	char tok[32];
	char ttl[32];
	const char *argv[] = {"EVAL", script, "1", key, tok, ttl};

	cluster_redis_key_of(key, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 6,
	                               argv);
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
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	const char *v = NULL;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	v = r.rc == CLUSTER_OK ? cluster_redis_reply_str(reply) : NULL;
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
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"GET", key};

	cluster_redis_key_of(key, "lease", name);
	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_lease_holder, 2, argv);
}

/* --- records ----------------------------------------------------------------- */

/* The field of a flat HGETALL array, or NULL. */
static const char *
hash_field(const redisReply *h, const char *field)
{
	size_t i;

	for (i = 0; h != NULL && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
		const char *f = cluster_redis_reply_str(h->element[i]);

		if (f != NULL && strcmp(f, field) == 0) {
			return cluster_redis_reply_str(h->element[i + 1]);
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
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	struct cluster_cert cert;

	memset(&r, 0, sizeof(r));
	memset(&cert, 0, sizeof(cert));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK) {
		cert_from_reply(cluster_redis_reply_elem(reply, 0),
		                cluster_redis_reply_elem(reply, 1), &cert);
	}
	call->cert(&r, &cert, call->arg);
	free(call);
}

static int
r_cert_get(struct cluster_backend *b, const char *name, cluster_cert_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN];
	char order[CLUSTER_REDIS_KEY_LEN];
	const char *argv[] = {"EVAL", lua_cert_get, "2", key, order};

	cluster_redis_key_of(key, "cert", name);
	cluster_redis_key_of(order, "order", name);
	if (call != NULL) {
		call->cert = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_cert_get, 5, argv);
}

static void
on_cert_put(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	long long what = 0;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
	if (r.rc == CLUSTER_OK) {
		what = cluster_redis_reply_int(cluster_redis_reply_elem(reply, 0));
		r.version = (long)cluster_redis_reply_int(cluster_redis_reply_elem(reply, 1));
		r.rc = what == 1 ? CLUSTER_OK : what == 0 ? CLUSTER_CONFLICT : CLUSTER_LOST;
	}
	call->done(&r, call->arg);
	free(call);
}

static int
r_cert_put(struct cluster_backend *b, const char *name, uint64_t token, long expect,
           const struct cluster_cert *cert, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN], lease[CLUSTER_REDIS_KEY_LEN], order[CLUSTER_REDIS_KEY_LEN];
	char tok[32], exp[32], now[32];
	const char *argv[] = {"EVAL",
	                      lua_cert_put,
	                      "4",
	                      key,
	                      lease,
	                      order,
	                      CLUSTER_REDIS_PREFIX "versions",
	                      name,
	                      tok,
	                      exp,
	                      b->node,
	                      now,
	                      cert->cert_pem != NULL ? cert->cert_pem : "",
	                      cert->chain_pem != NULL ? cert->chain_pem : "",
	                      cert->key_pem != NULL ? cert->key_pem : "",
	                      cert->state != NULL ? cert->state : ""};

	cluster_redis_key_of(key, "cert", name);
	cluster_redis_key_of(lease, "lease", name);
	cluster_redis_key_of(order, "order", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(exp, sizeof(exp), "%ld", expect);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (call != NULL) {
		call->done = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_cert_put, 16, argv);
}

static int
r_order_put(struct cluster_backend *b, const char *name, uint64_t token, const char *url,
            const char *key_sealed, cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN], lease[CLUSTER_REDIS_KEY_LEN];
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

	cluster_redis_key_of(key, "order", name);
	cluster_redis_key_of(lease, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 10,
	                               argv);
}

static int
r_state_put(struct cluster_backend *b, const char *name, uint64_t token, const char *state,
            cluster_done_fn done, void *arg)
{
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	char key[CLUSTER_REDIS_KEY_LEN], lease[CLUSTER_REDIS_KEY_LEN];
	char tok[32];
	const char *argv[] = {
	        "EVAL", lua_state_put, "2", key, lease, tok, state != NULL ? state : ""};

	cluster_redis_key_of(key, "cert", name);
	cluster_redis_key_of(lease, "lease", name);
	snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
	if (call != NULL) {
		call->done = done;
		call->op = 1;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, cluster_redis_on_done, 7,
	                               argv);
}

static void
on_versions(redisReply *reply, const char *err, void *arg)
{
	struct cluster_redis_call *call = arg;
	struct cluster_reply r;
	const char **names = NULL;
	const char **nodes = NULL;
	long *versions = NULL;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.rc = cluster_redis_reply_rc(reply, err, &r.message);
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
		const char *name = cluster_redis_reply_str(reply->element[i]);
		const char *value = cluster_redis_reply_str(reply->element[i + 1]);
		const char *node = value != NULL ? strchr(value, ' ') : NULL;

		if (name != NULL) {
			/* "VERSION NODE" */
			names[n] = name;
			nodes[n] = node != NULL ? node + 1 : "";
			versions[n++] = (long)cluster_redis_reply_int(reply->element[i + 1]);
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
	struct cluster_redis_call *call = cluster_redis_call_new(b, arg);
	const char *argv[] = {"HGETALL", CLUSTER_REDIS_PREFIX "versions"};

	if (call != NULL) {
		call->versions = done;
	}
	return cluster_redis_send_argv((struct cluster_redis *)b, call, on_versions, 2, argv);
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
        .listeners = r_listeners,
        .ready = r_ready,
        .lease_take = r_lease_take,
        .lease_renew = r_lease_renew,
        .lease_release = r_lease_release,
        .lease_holder = r_lease_holder,
        .cert_get = r_cert_get,
        .cert_put = r_cert_put,
        .order_put = r_order_put,
        .state_put = r_state_put,
        .versions = r_versions,
        .answer_put = cluster_redis_answer_put,
        .answer_get = cluster_redis_answer_get,
        .ack = cluster_redis_ack,
        .acks = cluster_redis_acks,
        .beat = cluster_redis_beat,
        .nodes = cluster_redis_nodes,
        .account_get = cluster_redis_account_get,
        .account_put = cluster_redis_account_put,
        .announce = cluster_redis_announce,
};

struct cluster_backend *
cluster_redis_create(struct ev_loop *loop, const char *url, const char *password,
                     const char *password_file, const char *node,
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
	config.password_file = password_file;
	config.on_up = events->on_up;
	config.on_down = events->on_down;
	config.arg = events->arg;
	cr->redis = redis_create(loop, &config);
	if (cr->redis == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (redis_subscribe(cr->redis, CLUSTER_REDIS_EVENTS, cluster_redis_on_message, cr) < 0) {
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
