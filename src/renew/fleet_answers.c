#include "renew/fleet_answers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/file.h"
#include "base/list.h"
#include "base/log.h"
#include "base/strmap.h"
#include "challenge/responders.h"
#include "challenge/select.h"

#define KEY_MAX 256
#define MESSAGE_MAX 512

struct fleet_answers {
	struct ev_loop *loop;
	struct cluster *cluster;
	struct challenge_remote remote;
	struct strmap cache; /* "h:TOKEN", "a:IDENTIFIER" -> struct cached */
	struct list lookups; /* struct challenge_lookup waiting for the store */
	struct list follows; /* struct follow: webroot files written for others */
};

/* --- the remote and its cache -------------------------------------------------- */

struct cached {
	char *key;
	char *value;
	ev_tstamp until;
};

/* A lookup waiting for the store; cut loose (fa NULL) when cancelled or
 * when fa goes, and freed when the store answers. */
struct challenge_lookup {
	struct list_node node;
	struct fleet_answers *fa;
	challenge_found_fn found;
	void *arg;
	char key[KEY_MAX + 2]; /* the cache's */
};

static int
answer_kind(enum challenge_type type, enum cluster_answer_kind *kind)
{
	if (type == CHALLENGE_TYPE_HTTP01) {
		*kind = CLUSTER_ANSWER_HTTP;
	} else if (type == CHALLENGE_TYPE_TLSALPN01) {
		*kind = CLUSTER_ANSWER_ALPN;
	} else {
		return -1;
	}
	return 0;
}

static void
cached_free(struct cached *c)
{
	free(c->key);
	free(c->value);
	free(c);
}

static void
cache_clear(struct fleet_answers *fa)
{
	for (size_t i = 0; i < fa->cache.cap; i++) {
		if (fa->cache.slots[i].key != NULL) {
			cached_free(fa->cache.slots[i].value);
		}
	}
	strmap_finish(&fa->cache);
	strmap_init(&fa->cache);
}

/* The live answer kept for key, or NULL (an expired one dropped). */
static const char *
cache_get(struct fleet_answers *fa, const char *key)
{
	struct cached *c = strmap_get(&fa->cache, key);

	if (c != NULL && c->until <= ev_now(fa->loop)) {
		strmap_remove(&fa->cache, key);
		cached_free(c);
		c = NULL;
	}
	return c != NULL ? c->value : NULL;
}

static void
cache_put(struct fleet_answers *fa, const char *key, const char *value)
{
	struct cached *c = strmap_get(&fa->cache, key);

	if (c == NULL && fa->cache.n >= FLEET_ANSWER_CACHE_MAX) {
		cache_clear(fa);
	}
	if (c != NULL) {
		strmap_remove(&fa->cache, key);
		cached_free(c);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->key = strdup(key)) == NULL || (c->value = strdup(value)) == NULL ||
	    strmap_put(&fa->cache, c->key, c) < 0) {
		if (c != NULL) {
			cached_free(c);
		}
		return; /* not kept: asked again next time */
	}
	c->until = ev_now(fa->loop) + FLEET_ANSWER_CACHE_S;
}

static void
on_got(const struct cluster_reply *r, const char *value, void *arg)
{
	struct challenge_lookup *l = arg;
	struct fleet_answers *fa = l->fa;
	challenge_found_fn found = l->found;
	void *found_arg = l->arg;

	if (fa == NULL) {
		free(l);
		return;
	}
	list_unlink(&l->node);
	if (r->rc != CLUSTER_OK) {
		log_debug("cluster: answer %s: %s", l->key, r->message);
		value = NULL;
	} else if (value != NULL) {
		cache_put(fa, l->key, value);
	}
	free(l);
	found(value, found_arg);
}

static int
remote_lookup(void *ctx, enum challenge_type type, const char *key, challenge_found_fn found,
              void *arg, struct challenge_lookup **handle)
{
	struct fleet_answers *fa = ctx;
	struct challenge_lookup *l = NULL;
	enum cluster_answer_kind kind;
	const char *value;
	char ckey[KEY_MAX + 2];
	int n;
	int rc = -1;

	*handle = NULL;
	n = snprintf(ckey, sizeof(ckey), "%c:%s", type == CHALLENGE_TYPE_HTTP01 ? 'h' : 'a', key);
	if (answer_kind(type, &kind) < 0 || n < 0 || (size_t)n >= sizeof(ckey)) {
		goto out;
	}
	value = cache_get(fa, ckey);
	if (value != NULL) {
		found(value, arg);
		rc = 0;
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		goto out;
	}
	l->fa = fa;
	l->found = found;
	l->arg = arg;
	memcpy(l->key, ckey, (size_t)n + 1);
	if (cluster_answer_get(fa->cluster, kind, key, on_got, l) < 0) {
		free(l);
		goto out;
	}
	list_push(&fa->lookups, &l->node);
	*handle = l;
	rc = 0;
out:
	return rc;
}

static void
remote_cancel(void *ctx, struct challenge_lookup *l)
{
	(void)ctx;
	list_unlink(&l->node);
	l->fa = NULL;
}

/* --- following another node's webroot answer ----------------------------------- */

/* A token file this node writes for another node's order. */
struct follow {
	struct list_node node; /* in fa->follows */
	struct fleet_answers *fa; /* NULL: fa is gone, the store's answer is dropped */
	struct challenge *webroot;
	struct challenge_task task; /* its strings below */
	char *name;
	char *token;
	char *key_auth;
	char *dir; /* the webroot */
	/* The file was there already, with the answer: a webroot this node
	 * shares with the ordering node (NFS), whose file it is to remove. */
	bool shared;
	ev_timer expire;
};

static void
follow_free(struct follow *fw)
{
	if (fw->fa != NULL) {
		ev_timer_stop(fw->fa->loop, &fw->expire);
		list_unlink(&fw->node);
	}
	challenge_destroy(fw->webroot);
	free(fw->name);
	free(fw->token);
	free(fw->key_auth);
	free(fw->dir);
	free(fw);
}

static void
on_removed(int rc, const char *message, void *arg)
{
	struct follow *fw = arg;

	if (rc < 0) {
		log_warn("%s: %s", fw->name, message);
	}
	follow_free(fw);
}

static void
on_expire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct follow *fw = w->data;

	(void)loop;
	(void)revents;
	if (fw->shared || fw->webroot->ops->cleanup(fw->webroot, &fw->task, on_removed, fw) < 0) {
		follow_free(fw);
	}
}

/* Whether the token file holds the answer already (see struct follow's
 * shared). */
static bool
already_there(const struct follow *fw)
{
	char *path = file_path(fw->dir, ".well-known", "acme-challenge", fw->token, NULL);
	size_t len = 0;
	char *text = path != NULL ? file_read(path, 1024, &len) : NULL;
	bool same = false;

	if (text != NULL) {
		text[strcspn(text, "\r\n")] = '\0';
		same = strcmp(text, fw->key_auth) == 0;
	}

	free(path);
	free(text);
	return same;
}

static void
on_acked(const struct cluster_reply *r, void *arg)
{
	(void)arg;
	if (r->rc != CLUSTER_OK) {
		log_warn("cluster: cannot acknowledge a webroot file written here: %s", r->message);
	}
}

static void
on_written(int rc, const char *message, void *arg)
{
	struct follow *fw = arg;

	if (rc < 0) {
		log_error("%s: another node's webroot answer: %s", fw->name, message);
		follow_free(fw);
		return;
	}
	log_debug("%s: wrote the webroot file of another node's order", fw->name);
	cluster_ack(fw->fa->cluster, fw->token, FLEET_ANSWER_TTL_MS, on_acked, NULL);
	ev_timer_start(fw->fa->loop, &fw->expire);
}

static void
on_webroot_answer(const struct cluster_reply *r, const char *value, void *arg)
{
	struct follow *fw = arg;

	if (fw->fa == NULL) {
		follow_free(fw);
		return;
	}
	if (r->rc != CLUSTER_OK || value == NULL) {
		log_warn("%s: another node's webroot answer is not in the store: %s", fw->name,
		         r->rc != CLUSTER_OK ? r->message : "expired or withdrawn");
		follow_free(fw);
		return;
	}
	fw->key_auth = strdup(value);
	fw->task.key_auth = fw->key_auth;
	if (fw->key_auth != NULL && already_there(fw)) {
		/* Acknowledged as written, left alone. */
		fw->shared = true;
		on_written(0, "", fw);
		return;
	}
	if (fw->key_auth == NULL ||
	    fw->webroot->ops->present(fw->webroot, &fw->task, on_written, fw) < 0) {
		log_error("%s: cannot write another node's webroot answer", fw->name);
		follow_free(fw);
	}
}

void
fleet_answers_webroot_event(struct fleet_answers *fa, const struct cluster_event *ev,
                            const struct conf_settings *s)
{
	struct follow *fw = NULL;

	if (ev->kind != CLUSTER_EVENT_WEBROOT || ev->token == NULL || ev->name == NULL ||
	    s == NULL || challenge_pick(s, NULL) != CHALLENGE_RESPONDER_WEBROOT) {
		goto out;
	}
	if (!b64_is_token(ev->token, ACME_MAX_TOKEN)) {
		log_warn("%s: ignoring a webroot announcement whose token is not base64url",
		         ev->name);
		goto out;
	}
	fw = calloc(1, sizeof(*fw));
	if (fw == NULL || (fw->name = strdup(ev->name)) == NULL ||
	    (fw->token = strdup(ev->token)) == NULL || (fw->dir = strdup(s->webroot)) == NULL ||
	    (fw->webroot = challenge_webroot_create(fa->loop, s->webroot)) == NULL) {
		log_error("%s: cannot write another node's webroot answer", ev->name);
		if (fw != NULL) {
			follow_free(fw);
		}
		goto out;
	}
	fw->fa = fa;
	fw->task.cert_name = fw->name;
	fw->task.id_type = IDENT_DNS;
	fw->task.identifier = fw->name;
	fw->task.token = fw->token;
	ev_timer_init(&fw->expire, on_expire, (double)FLEET_ANSWER_TTL_MS / 1000., 0.);
	fw->expire.data = fw;
	list_push(&fa->follows, &fw->node);
	if (cluster_answer_get(fa->cluster, CLUSTER_ANSWER_HTTP, fw->token, on_webroot_answer, fw) <
	    0) {
		follow_free(fw);
	}
out:
	return;
}

/* --- publishing what a job presents ------------------------------------------------ */

struct wrap {
	struct challenge base;
	struct fleet_answers *fa;
	struct challenge *inner;
	enum cluster_answer_kind kind;
	bool webroot;
	struct list ops; /* struct wrap_op in flight */
};

/* One present or cleanup going through the wrapper. When the wrapper goes
 * while a store call is in flight, the op is cut loose (w NULL) and freed
 * by that call's answer. */
struct wrap_op {
	struct list_node node; /* in w->ops */
	struct wrap *w;
	bool presenting;
	bool in_store; /* a store call in flight */
	challenge_done_fn done;
	void *arg;
	int rc;
	char message[MESSAGE_MAX];
	char key[KEY_MAX];
	char *key_auth;
	char *name; /* the certificate's, for logs and the announcement */
	/* webroot: the nodes waited for, and how many acknowledged */
	ev_timer poll;
	ev_tstamp deadline;
	char **expect;
	size_t n_expect;
	size_t acked;
};

static void
op_free(struct wrap_op *op)
{
	for (size_t i = 0; i < op->n_expect; i++) {
		free(op->expect[i]);
	}
	free(op->expect);
	free(op->key_auth);
	free(op->name);
	free(op);
}

/* The op is over: done is called (after op is freed: it may destroy the
 * wrapper). */
static void
op_finish(struct wrap_op *op)
{
	challenge_done_fn done = op->done;
	void *arg = op->arg;
	int rc = op->rc;
	char message[MESSAGE_MAX];

	memcpy(message, op->message, sizeof(message));
	ev_timer_stop(op->w->fa->loop, &op->poll);
	list_unlink(&op->node);
	op_free(op);
	done(rc, rc == 0 ? NULL : message, arg);
}

/* A store call's answer arrived: false when op was cut loose (then
 * freed here). */
static bool
op_back(struct wrap_op *op)
{
	op->in_store = false;
	if (op->w == NULL) {
		op_free(op);
		return false;
	}
	return true;
}

static void poll_acks(struct wrap_op *op);

static void
on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	poll_acks(w->data);
}

static bool
expected(const struct wrap_op *op, const char *node)
{
	for (size_t i = 0; i < op->n_expect; i++) {
		if (strcmp(op->expect[i], node) == 0) {
			return true;
		}
	}
	return false;
}

static void
on_acks(const struct cluster_reply *r, size_t n, const char *const *items, void *arg)
{
	struct wrap_op *op = arg;
	struct ev_loop *loop;

	if (!op_back(op)) {
		return;
	}
	loop = op->w->fa->loop;
	op->acked = 0;
	for (size_t i = 0; r->rc == CLUSTER_OK && i < n; i++) {
		op->acked += expected(op, items[i]) ? 1 : 0;
	}
	if (op->acked == op->n_expect) {
		/* Alone, there is nothing to say. */
		log_msg(op->n_expect > 1 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
		        "%s: all %zu node%s wrote the webroot file", op->name, op->n_expect,
		        op->n_expect == 1 ? "" : "s");
		op_finish(op);
	} else if (ev_now(loop) >= op->deadline) {
		log_warn("%s: %zu of %zu nodes acknowledged the webroot file; validating anyway "
		         "after %.0f s",
		         op->name, op->acked, op->n_expect, FLEET_ACK_WAIT_S);
		op_finish(op);
	} else {
		ev_timer_set(&op->poll, FLEET_ACK_POLL_S, 0.);
		ev_timer_start(loop, &op->poll);
	}
}

static void
poll_acks(struct wrap_op *op)
{
	op->in_store = cluster_acks(op->w->fa->cluster, op->key, on_acks, op) == 0;
	if (!op->in_store) {
		op_finish(op);
	}
}

/* Every live node, and this one (a command beats not), is waited for. */
static void
on_nodes(const struct cluster_reply *r, size_t n, const struct cluster_node *nodes, void *arg)
{
	struct wrap_op *op = arg;
	const char *self;

	if (!op_back(op)) {
		return;
	}
	self = cluster_node(op->w->fa->cluster);
	op->expect = calloc(n + 1, sizeof(*op->expect));
	if (r->rc != CLUSTER_OK || op->expect == NULL ||
	    (op->expect[op->n_expect++] = strdup(self)) == NULL) {
		log_warn("%s: cluster: cannot tell which nodes wrote the webroot file (%s); "
		         "validating anyway",
		         op->name, r->rc != CLUSTER_OK ? r->message : "out of memory");
		op_finish(op);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].alive && strcmp(nodes[i].name, self) != 0 &&
		    (op->expect[op->n_expect] = strdup(nodes[i].name)) != NULL) {
			op->n_expect++;
		}
	}
	op->deadline = ev_now(op->w->fa->loop) + FLEET_ACK_WAIT_S;
	poll_acks(op);
}

/* This node's own file counts as written: acknowledged, then the others
 * are told and the live nodes listed. */
static void
on_own_ack(const struct cluster_reply *r, void *arg)
{
	struct wrap_op *op = arg;
	struct cluster_event ev = {.kind = CLUSTER_EVENT_WEBROOT};

	if (!op_back(op)) {
		return;
	}
	if (r->rc != CLUSTER_OK) {
		log_warn("%s: cluster: %s; only this node wrote the webroot file", op->name,
		         r->message);
		op_finish(op);
		return;
	}
	ev.token = op->key;
	ev.name = op->name;
	ev.node = cluster_node(op->w->fa->cluster);
	(void)cluster_announce(op->w->fa->cluster, &ev, NULL, NULL);
	op->in_store = cluster_nodes(op->w->fa->cluster, on_nodes, op) == 0;
	if (!op->in_store) {
		op_finish(op);
	}
}

static void
on_put(const struct cluster_reply *r, void *arg)
{
	struct wrap_op *op = arg;

	if (!op_back(op)) {
		return;
	}
	if (r->rc != CLUSTER_OK) {
		log_warn("%s: cluster: the answer is not published (%s): only this node answers "
		         "the validation",
		         op->name, r->message);
		op_finish(op);
		return;
	}
	if (!op->presenting || !op->w->webroot) {
		op_finish(op);
		return;
	}
	op->in_store =
	        cluster_ack(op->w->fa->cluster, op->key, FLEET_ANSWER_TTL_MS, on_own_ack, op) == 0;
	if (!op->in_store) {
		op_finish(op);
	}
}

/* The inner responder's done: the answer put (present) or withdrawn
 * (cleanup) in the store, done after. */
static void
on_inner(int rc, const char *message, void *arg)
{
	struct wrap_op *op = arg;
	struct wrap *w = op->w;

	op->rc = rc;
	snprintf(op->message, sizeof(op->message), "%s", message != NULL ? message : "");
	if (rc < 0 && op->presenting) {
		op_finish(op);
		return;
	}
	op->in_store = cluster_answer_put(w->fa->cluster, w->kind, op->key,
	                                  op->presenting ? op->key_auth : NULL, FLEET_ANSWER_TTL_MS,
	                                  on_put, op) == 0;
	if (!op->in_store) {
		op_finish(op);
	}
}

static int
wrap_start(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
           void *arg, bool presenting)
{
	struct wrap *w = (struct wrap *)ch;
	struct wrap_op *op = calloc(1, sizeof(*op));
	int rc = -1;

	if (op == NULL || task->key_auth == NULL ||
	    challenge_remote_key(w->inner->ops->type, task, op->key, sizeof(op->key)) < 0 ||
	    (op->key_auth = strdup(task->key_auth)) == NULL ||
	    (op->name = strdup(task->cert_name != NULL ? task->cert_name : "?")) == NULL) {
		log_error("%s: cannot publish the answer: out of memory or no key",
		          w->inner->ops->name);
		goto out;
	}
	op->w = w;
	op->presenting = presenting;
	op->done = done;
	op->arg = arg;
	ev_init(&op->poll, on_poll);
	op->poll.data = op;
	rc = presenting ? w->inner->ops->present(w->inner, task, on_inner, op)
	                : w->inner->ops->cleanup(w->inner, task, on_inner, op);
	if (rc == 0) {
		list_push(&w->ops, &op->node);
		op = NULL;
	}
out:
	if (op != NULL) {
		op_free(op);
	}
	return rc;
}

static int
wrap_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	return wrap_start(ch, task, done, arg, true);
}

static int
wrap_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	return wrap_start(ch, task, done, arg, false);
}

static void
wrap_destroy(struct challenge *ch)
{
	struct wrap *w = (struct wrap *)ch;
	struct list_node *n, *tmp;

	/* Its deferred dones go with it: no on_inner comes after. */
	challenge_destroy(w->inner);
	list_for_each(&w->ops, n, tmp)
	{
		struct wrap_op *op = list_entry(n, struct wrap_op, node);

		ev_timer_stop(w->fa->loop, &op->poll);
		list_unlink(&op->node);
		op->w = NULL;
		if (!op->in_store) {
			op_free(op);
		}
	}
	free(w);
}

static const struct challenge_ops wrap_http_ops = {
        .name = "fleet http-01",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = wrap_present,
        .cleanup = wrap_cleanup,
        .destroy = wrap_destroy,
};

static const struct challenge_ops wrap_alpn_ops = {
        .name = "fleet tls-alpn-01",
        .type = CHALLENGE_TYPE_TLSALPN01,
        .present = wrap_present,
        .cleanup = wrap_cleanup,
        .destroy = wrap_destroy,
};

struct challenge *
fleet_answers_wrap(struct fleet_answers *fa, struct challenge *inner, bool webroot)
{
	struct wrap *w = NULL;
	enum cluster_answer_kind kind;

	if (inner == NULL || answer_kind(inner->ops->type, &kind) < 0) {
		return inner;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_error("%s: out of memory", inner->ops->name);
		challenge_destroy(inner);
		return NULL;
	}
	challenge_init(&w->base, kind == CLUSTER_ANSWER_HTTP ? &wrap_http_ops : &wrap_alpn_ops,
	               fa->loop);
	w->fa = fa;
	w->inner = inner;
	w->kind = kind;
	w->webroot = webroot;
	list_init(&w->ops);
	return &w->base;
}

/* --- life ------------------------------------------------------------------------ */

struct fleet_answers *
fleet_answers_create(struct ev_loop *loop, struct cluster *cluster)
{
	struct fleet_answers *fa = calloc(1, sizeof(*fa));

	if (fa == NULL) {
		log_error("out of memory");
		return NULL;
	}
	fa->loop = loop;
	fa->cluster = cluster;
	fa->remote.lookup = remote_lookup;
	fa->remote.cancel = remote_cancel;
	fa->remote.ctx = fa;
	strmap_init(&fa->cache);
	list_init(&fa->lookups);
	list_init(&fa->follows);
	return fa;
}

static void
noop_done(int rc, const char *message, void *arg)
{
	(void)rc;
	(void)message;
	(void)arg;
}

void
fleet_answers_destroy(struct fleet_answers *fa)
{
	struct list_node *n, *tmp;

	if (fa == NULL) {
		return;
	}
	list_for_each(&fa->lookups, n, tmp)
	{
		remote_cancel(fa, list_entry(n, struct challenge_lookup, node));
	}
	list_for_each(&fa->follows, n, tmp)
	{
		struct follow *fw = list_entry(n, struct follow, node);

		ev_timer_stop(fa->loop, &fw->expire);
		list_unlink(&fw->node);
		fw->fa = NULL;
		if (fw->key_auth != NULL) {
			/* Written (or on its way): the file goes now, since
			 * webroot_cleanup removes it inside the call; the
			 * deferred dones are dropped with the responder. */
			if (!fw->shared) {
				(void)fw->webroot->ops->cleanup(fw->webroot, &fw->task, noop_done,
				                                NULL);
			}
			follow_free(fw);
		}
		/* Else its store call answers later and frees it. */
	}
	cache_clear(fa);
	strmap_finish(&fa->cache);
	free(fa);
}

const struct challenge_remote *
fleet_answers_remote(struct fleet_answers *fa)
{
	return &fa->remote;
}
