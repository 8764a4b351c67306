/* The shared store in a folder (cluster_backend.h): cluster = file:///PATH,
 * for nodes on one host or sharing one folder. Under PATH (cluster_dir.h:
 * JSON entries, names escaped, "until" the expiry in wall-clock ms):
 *
 *   lock                flock(2)'d around every operation, reads included
 *   keycheck            {"value"}: the cluster key's check value
 *   fence               {"last"}: the last lease token given
 *   versions            {NAME: {version, node}} (one read reconciles)
 *   nodes               {NODE: {"seen", "running", "until"}}
 *   lease/NAME          {"token", "node", "until"}: who orders NAME now
 *   cert/NAME           {"version", "token", "node", "time", "cert",
 *                       "chain", "key", "state"}
 *   order/NAME          {"url", "key", "node", "token", "time"}
 *   http/TOKEN, alpn/IDENTIFIER   {"value", "until"}: key authorizations
 *   ack/TOKEN           {"nodes": [NODE...], "until"}
 *   account/HOST        {"key", "json"}
 *
 * What each call does is what cluster_redis.c's commands and Lua scripts
 * do, the lock standing for a script's atomicity. Expired answers and acks
 * are swept when one of their kind is written.
 *
 * No announcements between nodes: a folder has no pub/sub.
 * cluster_announce (and cert_put's INSTALLED) reach this node's own
 * on_event only; the other nodes find new versions by their periodic
 * reconcile (cluster_versions).
 *
 * The work is done inside the call, under the lock (a few small files);
 * the answer is delivered from the loop (cluster_defer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/cluster_defer.h"
#include "store/cluster_dir.h"
#include "store/cluster_backend.h"

static const char *const subdirs[] = {"lease", "cert", "order", "http", "alpn", "ack", "account"};

#define FN(kind, f) ((union cluster_defer_fn){.kind = (f)})

struct cluster_file {
	struct cluster_backend base;
	struct cluster_dir dir;
	struct cluster_defer defer;
};

/* --- entries, failures in the answer ------------------------------------------ */

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long
num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static long long
until(long ttl_ms)
{
	return cluster_dir_now_ms() + (ttl_ms > 0 ? ttl_ms : 1);
}

static int
load(struct cluster_deferred *a, const char *path, bool live, json_t **out)
{
	if (cluster_dir_load(path, live, out, a->message, sizeof(a->message)) < 0) {
		a->r.rc = CLUSTER_ERROR;
		return -1;
	}
	return 0;
}

static int
save(struct cluster_deferred *a, const char *path, const json_t *o)
{
	if (cluster_dir_save(path, o, a->message, sizeof(a->message)) < 0) {
		a->r.rc = CLUSTER_ERROR;
		return -1;
	}
	return 0;
}

static int
drop(struct cluster_deferred *a, const char *path)
{
	if (cluster_dir_drop(path, a->message, sizeof(a->message)) < 0) {
		a->r.rc = CLUSTER_ERROR;
		return -1;
	}
	return 0;
}

/* What an operation needs besides its path: each uses some. */
struct fargs {
	const char *name;
	uint64_t token;
	long n; /* ttl_ms, expect, running */
	const char *a, *b; /* a value, an order's url and key */
	const struct cluster_cert *cert;
	json_t *obj; /* what put_new writes (borrowed) */
	struct cluster_deferred *then; /* an event to deliver after the answer */
};

typedef void (*fbody_fn)(struct cluster_file *fb, struct cluster_deferred *a, const char *path,
                         struct fargs *x);

/* One operation: body runs under the lock with PATH/dir/name (dir NULL: a
 * top-level file), then its answer (and x->then) is queued for fn. */
static int
run(struct cluster_backend *b, enum cluster_defer_shape shape, union cluster_defer_fn fn, void *arg,
    const char *dir, const char *name, fbody_fn body, struct fargs *x)
{
	struct cluster_file *fb = (struct cluster_file *)b;
	struct cluster_deferred *a = cluster_defer_new(shape, fn, arg);
	struct fargs none;
	char path[PATH_MAX];

	if (a == NULL) {
		return -1;
	}
	memset(&none, 0, sizeof(none));
	x = x != NULL ? x : &none;
	if (cluster_defer_closing(&fb->defer)) {
		cluster_defer_fail(a, CLUSTER_DOWN, "closed");
	} else if (cluster_dir_path(&fb->dir, path, dir, name) < 0) {
		cluster_defer_fail(a, CLUSTER_ERROR, "%s: not a name the store can keep",
		                   name != NULL ? name : "(null)");
	} else if (cluster_dir_lock(&fb->dir, a->message, sizeof(a->message)) < 0) {
		a->r.rc = CLUSTER_ERROR;
	} else {
		body(fb, a, path, x);
		cluster_dir_unlock(&fb->dir);
	}
	cluster_defer_push(&fb->defer, a);
	if (x->then != NULL) {
		cluster_defer_push(&fb->defer, x->then);
	}
	return 0;
}

/* Whether x->token holds x->name's lease now: 1, 0 (a LOST), or -1 (a
 * failed). */
static int
fenced(struct cluster_file *fb, struct cluster_deferred *a, const struct fargs *x)
{
	char path[PATH_MAX];
	json_t *lease = NULL;
	int rc = -1;

	if (cluster_dir_path(&fb->dir, path, "lease", x->name) == 0 &&
	    load(a, path, true, &lease) == 0) {
		rc = lease != NULL && (uint64_t)num(lease, "token") == x->token;
		if (rc == 0) {
			a->r.rc = CLUSTER_LOST;
		}
	}
	json_decref(lease);
	return rc;
}

/* The object at path, or a new empty one when there is none; NULL with a
 * failed. */
static json_t *
load_or_new(struct cluster_deferred *a, const char *path)
{
	json_t *o = NULL;

	if (load(a, path, false, &o) == 0 && o == NULL && (o = json_object()) == NULL) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
	}
	return o;
}

/* Sets o's fields to those of fields and saves o to path; o and fields
 * are new references, stolen (NULL: loading or json_pack failed). */
static void
update_save(struct cluster_deferred *a, const char *path, json_t *o, json_t *fields)
{
	if (o == NULL && a->r.rc == CLUSTER_OK) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
	} else if (o != NULL && (fields == NULL || json_object_update(o, fields) < 0)) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
	} else if (o != NULL) {
		save(a, path, o);
	}
	json_decref(o);
	json_decref(fields);
}

/* --- generic bodies -------------------------------------------------------------- */

static void
get_entry(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	load(a, path, false, &a->data);
}

static void
get_live(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	load(a, path, true, &a->data);
}

static void
get_whole(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	a->data = load_or_new(a, path);
}

/* Writes x->obj unless the entry is there: OK, or CONFLICT. */
static void
put_new(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *o = NULL;

	if (load(a, path, false, &o) < 0) {
		return;
	}
	if (o != NULL) {
		a->r.rc = CLUSTER_CONFLICT;
	} else {
		save(a, path, x->obj);
	}
	json_decref(o);
}

static int
run_put_new(struct cluster_backend *b, const char *dir, const char *name, json_t *obj,
            cluster_done_fn done, void *arg)
{
	struct fargs x = {.obj = obj};
	int rc = -1;

	if (obj == NULL) {
		log_error("cluster: out of memory");
	} else {
		rc = run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, dir, name, put_new, &x);
	}
	json_decref(obj);
	return rc;
}

/* --- the key check ---------------------------------------------------------------- */

static int
f_check_get(struct cluster_backend *b, cluster_value_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_VALUE, FN(value, done), arg, NULL, "keycheck", get_entry, NULL);
}

static int
f_check_set(struct cluster_backend *b, const char *value, cluster_done_fn done, void *arg)
{
	return run_put_new(b, NULL, "keycheck", json_pack("{s:s}", "value", value), done, arg);
}

/* --- leases ----------------------------------------------------------------------- */

/* The next fencing token (the last given, plus one); 0 with fc failed. */
static uint64_t
next_token(struct cluster_file *fb, struct cluster_deferred *a)
{
	char path[PATH_MAX];
	json_t *o = NULL;
	uint64_t token = 0;

	if (cluster_dir_path(&fb->dir, path, NULL, "fence") == 0 &&
	    (o = load_or_new(a, path)) != NULL) {
		token = (uint64_t)num(o, "last") + 1;
		update_save(a, path, json_incref(o), json_pack("{s:I}", "last", (json_int_t)token));
		token = a->r.rc == CLUSTER_OK ? token : 0;
	}
	json_decref(o);
	return token;
}

static void
take(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *lease = NULL;
	uint64_t token;

	if (load(a, path, true, &lease) < 0) {
		return;
	}
	if (lease != NULL) {
		a->r.rc = CLUSTER_BUSY;
		a->data =
		        json_pack("{s:s}", "holder",
		                  str(lease, "node") != NULL ? str(lease, "node") : "another node");
		json_decref(lease);
	} else if ((token = next_token(fb, a)) != 0) {
		a->r.token = token;
		update_save(a, path, json_object(),
		            json_pack("{s:I, s:s, s:I}", "token", (json_int_t)token, "node",
		                      fb->base.node, "until", (json_int_t)until(x->n)));
	}
}

static int
f_lease_take(struct cluster_backend *b, const char *name, long ttl_ms, cluster_done_fn done,
             void *arg)
{
	struct fargs x = {.name = name, .n = ttl_ms};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "lease", name, take, &x);
}

static void
renew(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	if (fenced(fb, a, x) == 1) {
		update_save(a, path, load_or_new(a, path),
		            json_pack("{s:I}", "until", (json_int_t)until(x->n)));
	}
}

static int
f_lease_renew(struct cluster_backend *b, const char *name, uint64_t token, long ttl_ms,
              cluster_done_fn done, void *arg)
{
	struct fargs x = {.name = name, .token = token, .n = ttl_ms};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "lease", name, renew, &x);
}

static void
release(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	if (fenced(fb, a, x) == 1) {
		drop(a, path);
	}
}

static int
f_lease_release(struct cluster_backend *b, const char *name, uint64_t token, cluster_done_fn done,
                void *arg)
{
	struct fargs x = {.name = name, .token = token};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "lease", name, release, &x);
}

static void
holder(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *lease = NULL;

	if (load(a, path, true, &lease) == 0) {
		a->r.token = (uint64_t)num(lease, "token");
		a->data = json_pack("{s:s}", "holder",
		                    str(lease, "node") != NULL ? str(lease, "node") : "");
	}
	json_decref(lease);
}

static int
f_lease_holder(struct cluster_backend *b, const char *name, cluster_done_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "lease", name, holder, NULL);
}

/* --- records ------------------------------------------------------------------------ */

static void
cert_get(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	char order_path[PATH_MAX];
	json_t *cert = NULL, *order = NULL;

	if (cluster_dir_path(&fb->dir, order_path, "order", x->name) == 0 &&
	    load(a, path, false, &cert) == 0 && load(a, order_path, false, &order) == 0) {
		/* "o" steals, also when json_pack fails. */
		a->data = json_pack("{s:o, s:o}", "cert", cert != NULL ? cert : json_object(),
		                    "order", order != NULL ? order : json_object());
		cert = order = NULL;
		if (a->data == NULL) {
			cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
		}
	}
	json_decref(cert);
	json_decref(order);
}

static int
f_cert_get(struct cluster_backend *b, const char *name, cluster_cert_fn done, void *arg)
{
	struct fargs x = {.name = name};

	return run(b, CLUSTER_DEFER_CERT, FN(cert, done), arg, "cert", name, cert_get, &x);
}

/* The compare-and-set: lease (unless token 0), version, then the record,
 * the order removed, the versions map; the announcement after the reply,
 * as the Redis script publishes it. */
static void
cert_put(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	char order_path[PATH_MAX], versions_path[PATH_MAX];
	const struct cluster_cert *in = x->cert;
	json_t *cert = NULL;
	long v;

	if ((x->token != 0 && fenced(fb, a, x) != 1) || (cert = load_or_new(a, path)) == NULL) {
		return;
	}
	v = (long)num(cert, "version");
	if (v != x->n) {
		a->r.rc = CLUSTER_CONFLICT;
		a->r.version = v;
		json_decref(cert);
		return;
	}
	v++;
	update_save(a, path, cert,
	            json_pack("{s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "version", (json_int_t)v,
	                      "token", (json_int_t)x->token, "node", fb->base.node, "time",
	                      (json_int_t)time(NULL), "cert", in->cert_pem ? in->cert_pem : "",
	                      "chain", in->chain_pem ? in->chain_pem : "", "key",
	                      in->key_pem ? in->key_pem : "", "state", in->state ? in->state : ""));
	if (a->r.rc != CLUSTER_OK || cluster_dir_path(&fb->dir, order_path, "order", x->name) < 0 ||
	    drop(a, order_path) < 0 ||
	    cluster_dir_path(&fb->dir, versions_path, NULL, "versions") < 0) {
		return;
	}
	update_save(a, versions_path, load_or_new(a, versions_path),
	            json_pack("{s:{s:I, s:s}}", x->name, "version", (json_int_t)v, "node",
	                      fb->base.node));
	if (a->r.rc == CLUSTER_OK) {
		a->r.version = v;
		x->then = cluster_defer_event(fb->base.node, CLUSTER_EVENT_INSTALLED, x->name, NULL,
		                              v);
	}
}

static int
f_cert_put(struct cluster_backend *b, const char *name, uint64_t token, long expect,
           const struct cluster_cert *cert, cluster_done_fn done, void *arg)
{
	struct fargs x = {.name = name, .token = token, .n = expect, .cert = cert};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "cert", name, cert_put, &x);
}

static void
order_put(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	if (fenced(fb, a, x) != 1) {
		return;
	}
	if (x->a == NULL || x->a[0] == '\0') {
		drop(a, path);
		return;
	}
	update_save(a, path, json_object(),
	            json_pack("{s:s, s:s, s:s, s:I, s:I}", "url", x->a, "key", x->b ? x->b : "",
	                      "node", fb->base.node, "token", (json_int_t)x->token, "time",
	                      (json_int_t)time(NULL)));
}

static int
f_order_put(struct cluster_backend *b, const char *name, uint64_t token, const char *url,
            const char *key_sealed, cluster_done_fn done, void *arg)
{
	struct fargs x = {.name = name, .token = token, .a = url, .b = key_sealed};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "order", name, order_put, &x);
}

static void
state_put(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	if (fenced(fb, a, x) == 1) {
		update_save(a, path, load_or_new(a, path),
		            json_pack("{s:s}", "state", x->a != NULL ? x->a : ""));
	}
}

static int
f_state_put(struct cluster_backend *b, const char *name, uint64_t token, const char *state,
            cluster_done_fn done, void *arg)
{
	struct fargs x = {.name = name, .token = token, .a = state};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "cert", name, state_put, &x);
}

static int
f_versions(struct cluster_backend *b, cluster_versions_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_VERSIONS, FN(versions, done), arg, NULL, "versions", get_whole,
	           NULL);
}

/* --- challenges ------------------------------------------------------------------------ */

static const char *
answer_dir(enum cluster_answer_kind kind)
{
	return kind == CLUSTER_ANSWER_ALPN ? "alpn" : "http";
}

static void
answer_put(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	if (x->a == NULL) {
		drop(a, path);
		return;
	}
	cluster_dir_sweep(&fb->dir, x->b);
	update_save(a, path, json_object(),
	            json_pack("{s:s, s:I}", "value", x->a, "until", (json_int_t)until(x->n)));
}

static int
f_answer_put(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
             const char *value, long ttl_ms, cluster_done_fn done, void *arg)
{
	struct fargs x = {.a = value, .b = answer_dir(kind), .n = ttl_ms};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, x.b, key, answer_put, &x);
}

static int
f_answer_get(struct cluster_backend *b, enum cluster_answer_kind kind, const char *key,
             cluster_value_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_VALUE, FN(value, done), arg, answer_dir(kind), key, get_live,
	           NULL);
}

/* SADD and PEXPIRE: this node joins the set, whose expiry moves. */
static void
ack(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *o = NULL, *nodes;
	size_t i;
	bool found = false;

	cluster_dir_sweep(&fb->dir, "ack");
	if (load(a, path, true, &o) < 0) {
		return;
	}
	if (o == NULL) {
		o = json_pack("{s:[]}", "nodes");
	}
	nodes = json_object_get(o, "nodes");
	for (i = 0; i < json_array_size(nodes) && !found; i++) {
		const char *s = json_string_value(json_array_get(nodes, i));

		found = s != NULL && strcmp(s, fb->base.node) == 0;
	}
	if (o == NULL || !json_is_array(nodes) ||
	    (!found && json_array_append_new(nodes, json_string(fb->base.node)) < 0)) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
		json_decref(o);
		return;
	}
	update_save(a, path, o, json_pack("{s:I}", "until", (json_int_t)until(x->n)));
}

static int
f_ack(struct cluster_backend *b, const char *token, long ttl_ms, cluster_done_fn done, void *arg)
{
	struct fargs x = {.n = ttl_ms};

	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, "ack", token, ack, &x);
}

static void
acks(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *o = NULL;

	if (load(a, path, true, &o) == 0) {
		a->data = json_incref(json_object_get(o, "nodes"));
	}
	json_decref(o);
}

static int
f_acks(struct cluster_backend *b, const char *token, cluster_list_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_LIST, FN(list, done), arg, "ack", token, acks, NULL);
}

/* --- nodes ---------------------------------------------------------------------------- */

static void
beat(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	json_t *all = load_or_new(a, path);
	json_t *was = all != NULL ? json_object_get(all, fb->base.node) : NULL;
	const char *other = json_string_value(json_object_get(was, "instance"));
	json_int_t until_ms = json_integer_value(json_object_get(was, "until"));
	json_t *me = json_pack("{s:I, s:I, s:I, s:s}", "seen", (json_int_t)time(NULL), "running",
	                       (json_int_t)x->token, "until", (json_int_t)until(x->n), "instance",
	                       fb->base.instance);
	/* Another process of this name, still alive, beat since this one. */
	bool taken = x->a != NULL && other != NULL && strcmp(other, fb->base.instance) != 0 &&
	             until_ms > until(0);

	update_save(a, path, all, me != NULL ? json_pack("{s:o}", fb->base.node, me) : NULL);
	if (taken && a->r.rc == CLUSTER_OK) {
		cluster_defer_fail(a, CLUSTER_CONFLICT, "another running node has this name");
	}
}

static int
f_beat(struct cluster_backend *b, long ttl_ms, long running, cluster_done_fn done, void *arg)
{
	/* a: set when an earlier beat of this process went through. */
	struct fargs x = {.n = ttl_ms, .token = (uint64_t)running, .a = b->beaten ? "" : NULL};

	b->beaten = true;
	return run(b, CLUSTER_DEFER_DONE, FN(done, done), arg, NULL, "nodes", beat, &x);
}

/* The nodes file with "alive" in place of "until" (cluster_defer.h). */
static void
get_nodes(struct cluster_file *fb, struct cluster_deferred *a, const char *path, struct fargs *x)
{
	const char *name;
	json_t *v;

	a->data = load_or_new(a, path);
	json_object_foreach(a->data, name, v)
	{
		if (json_object_set_new(v, "alive", json_boolean(cluster_dir_live(v))) < 0) {
			cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
			break;
		}
	}
}

static int
f_nodes(struct cluster_backend *b, cluster_nodes_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_NODES, FN(nodes, done), arg, NULL, "nodes", get_nodes, NULL);
}

/* --- accounts, announcements ------------------------------------------------------------ */

static int
f_account_get(struct cluster_backend *b, const char *ca_host, cluster_account_fn done, void *arg)
{
	return run(b, CLUSTER_DEFER_ACCOUNT, FN(account, done), arg, "account", ca_host, get_entry,
	           NULL);
}

static int
f_account_put(struct cluster_backend *b, const char *ca_host, const char *key_sealed,
              const char *json, cluster_done_fn done, void *arg)
{
	return run_put_new(b, "account", ca_host,
	                   json_pack("{s:s, s:s}", "key", key_sealed != NULL ? key_sealed : "",
	                             "json", json != NULL ? json : ""),
	                   done, arg);
}

static int
f_announce(struct cluster_backend *b, const struct cluster_event *ev, cluster_done_fn done,
           void *arg)
{
	struct cluster_file *fb = (struct cluster_file *)b;
	union cluster_defer_fn fn = {.done = done};
	struct cluster_deferred *a = cluster_defer_new(CLUSTER_DEFER_DONE, fn, arg);
	struct cluster_deferred *event = NULL;

	if (a == NULL) {
		return -1;
	}
	if (cluster_defer_closing(&fb->defer)) {
		cluster_defer_fail(a, CLUSTER_DOWN, "closed");
	} else {
		event = cluster_defer_event(fb->base.node, ev->kind, ev->name, ev->token,
		                            ev->version);
		if (event == NULL) {
			cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
		}
	}
	cluster_defer_push(&fb->defer, a);
	if (event != NULL) {
		cluster_defer_push(&fb->defer, event);
	}
	return 0;
}

/* --- life ----------------------------------------------------------------------------------- */

static void
f_destroy(struct cluster_backend *b)
{
	struct cluster_file *fb = (struct cluster_file *)b;

	cluster_defer_finish(&fb->defer);
	cluster_dir_close(&fb->dir);
	free(fb->base.node);
	free(fb);
}

static bool
f_up(const struct cluster_backend *b)
{
	return ((const struct cluster_file *)b)->dir.lock_fd >= 0;
}

static unsigned long
f_commands(const struct cluster_backend *b)
{
	(void)b;
	return 0;
}

static const struct cluster_backend_ops file_ops = {
        .destroy = f_destroy,
        .up = f_up,
        .commands = f_commands,
        .check_get = f_check_get,
        .check_set = f_check_set,
        .lease_take = f_lease_take,
        .lease_renew = f_lease_renew,
        .lease_release = f_lease_release,
        .lease_holder = f_lease_holder,
        .cert_get = f_cert_get,
        .cert_put = f_cert_put,
        .order_put = f_order_put,
        .state_put = f_state_put,
        .versions = f_versions,
        .answer_put = f_answer_put,
        .answer_get = f_answer_get,
        .ack = f_ack,
        .acks = f_acks,
        .beat = f_beat,
        .nodes = f_nodes,
        .account_get = f_account_get,
        .account_put = f_account_put,
        .announce = f_announce,
};

struct cluster_backend *
cluster_file_create(struct ev_loop *loop, const char *path, const char *node,
                    const struct cluster_backend_events *events, char *err, size_t errlen)
{
	union cluster_defer_fn none = {.done = NULL};
	struct cluster_file *fb = NULL;
	struct cluster_deferred *up = NULL;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "file://%s: the store needs an absolute path (file:///PATH)",
		         path != NULL ? path : "");
		return NULL;
	}
	fb = calloc(1, sizeof(*fb));
	up = cluster_defer_new(CLUSTER_DEFER_UP, none, NULL);
	if (fb == NULL || up == NULL || (fb->base.node = strdup(node)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	fb->base.ops = &file_ops;
	fb->base.loop = loop;
	fb->base.events = *events;
	cluster_defer_init(&fb->defer, loop, &fb->base.events);
	if (cluster_dir_open(&fb->dir, path, subdirs, sizeof(subdirs) / sizeof(subdirs[0]), err,
	                     errlen) < 0) {
		goto fail;
	}
	/* cluster.h: on_up from the loop, never inside the call. */
	cluster_defer_push(&fb->defer, up);
	return &fb->base;
fail:
	if (fb != NULL) {
		cluster_dir_close(&fb->dir);
		free(fb->base.node);
	}
	free(fb);
	free(up);
	return NULL;
}
