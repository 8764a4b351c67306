/* Answers delivered from the loop, oldest first (cluster_defer.h). */
#include "store/cluster_defer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

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

struct cluster_deferred *
cluster_defer_new(enum cluster_defer_shape shape, union cluster_defer_fn fn, void *arg)
{
	struct cluster_deferred *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		log_error("cluster: out of memory");
		return NULL;
	}
	list_node_init(&a->node);
	a->shape = shape;
	a->fn = fn;
	a->arg = arg;
	return a;
}

struct cluster_deferred *
cluster_defer_event(const char *node, enum cluster_event_kind kind, const char *name,
                    const char *token, long version)
{
	union cluster_defer_fn none = {.done = NULL};
	struct cluster_deferred *a = cluster_defer_new(CLUSTER_DEFER_EVENT, none, NULL);

	if (a == NULL) {
		return NULL;
	}
	a->data = json_pack("{s:i, s:s?, s:s?, s:I, s:s}", "kind", (int)kind, "name", name, "token",
	                    token, "version", (json_int_t)version, "node", node);
	if (a->data == NULL) {
		log_error("cluster: out of memory");
		free(a);
		return NULL;
	}
	return a;
}

void
cluster_defer_fail(struct cluster_deferred *a, enum cluster_result rc, const char *fmt, ...)
{
	va_list ap;

	a->r.rc = rc;
	va_start(ap, fmt);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	va_end(ap);
	json_decref(a->data);
	a->data = NULL;
}

static void
answer_free(struct cluster_deferred *a)
{
	json_decref(a->data);
	free(a);
}

/* --- delivery, by shape ----------------------------------------------------- */

/* Borrows data's strings into cert: the front copies what it keeps. */
static void
cert_of(const json_t *data, struct cluster_cert *cert)
{
	const json_t *h = json_object_get(data, "cert");
	const json_t *o = json_object_get(data, "order");

	memset(cert, 0, sizeof(*cert));
	cert->version = (long)num(h, "version");
	cert->token = (uint64_t)num(h, "token");
	cert->time = (time_t)num(h, "time");
	cert->node = (char *)str(h, "node");
	cert->cert_pem = (char *)str(h, "cert");
	cert->chain_pem = (char *)str(h, "chain");
	cert->key_pem = (char *)str(h, "key");
	cert->state = (char *)str(h, "state");
	cert->order_url = (char *)str(o, "url");
	cert->order_key_pem = (char *)str(o, "key");
	cert->order_node = (char *)str(o, "node");
}

static void
deliver_versions(struct cluster_deferred *a)
{
	size_t n = json_object_size(a->data), i = 0;
	const char **names = n > 0 ? calloc(n, sizeof(*names)) : NULL;
	const char **nodes = n > 0 ? calloc(n, sizeof(*nodes)) : NULL;
	long *versions = n > 0 ? calloc(n, sizeof(*versions)) : NULL;
	const char *name;
	json_t *v;

	if (n > 0 && (names == NULL || nodes == NULL || versions == NULL)) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
		n = 0;
	}
	json_object_foreach(a->data, name, v)
	{
		if (i >= n) {
			break;
		}
		names[i] = name;
		nodes[i] = str(v, "node") != NULL ? str(v, "node") : "";
		versions[i++] = (long)json_integer_value(json_object_get(v, "version"));
	}
	a->fn.versions(&a->r, i, names, versions, nodes, a->arg);
	free(names);
	free(nodes);
	free(versions);
}

static void
deliver_list(struct cluster_deferred *a)
{
	size_t n = json_array_size(a->data), i, m = 0;
	const char **items = n > 0 ? calloc(n, sizeof(*items)) : NULL;

	if (n > 0 && items == NULL) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
	}
	for (i = 0; items != NULL && i < n; i++) {
		if (json_string_value(json_array_get(a->data, i)) != NULL) {
			items[m++] = json_string_value(json_array_get(a->data, i));
		}
	}
	a->fn.list(&a->r, m, items, a->arg);
	free(items);
}

static void
deliver_nodes(struct cluster_deferred *a)
{
	size_t n = json_object_size(a->data), i = 0;
	struct cluster_node *nodes = n > 0 ? calloc(n, sizeof(*nodes)) : NULL;
	const char *name;
	json_t *v;

	if (n > 0 && nodes == NULL) {
		cluster_defer_fail(a, CLUSTER_ERROR, "out of memory");
	}
	json_object_foreach(a->data, name, v)
	{
		nodes[i].name = name;
		nodes[i].seen = (time_t)num(v, "seen");
		nodes[i].running = (long)num(v, "running");
		nodes[i++].alive = json_is_true(json_object_get(v, "alive"));
	}
	a->fn.nodes(&a->r, i, nodes, a->arg);
	free(nodes);
}

static void
deliver_event(struct cluster_defer *q, const struct cluster_deferred *a)
{
	struct cluster_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (enum cluster_event_kind)num(a->data, "kind");
	ev.name = str(a->data, "name");
	ev.token = str(a->data, "token");
	ev.version = (long)num(a->data, "version");
	ev.node = str(a->data, "node");
	if (q->events->on_event != NULL) {
		q->events->on_event(&ev, q->events->arg);
	}
}

/* Runs a's callback; closed: the backend goes away (DOWN for a call,
 * nothing for an event). */
static void
deliver(struct cluster_defer *q, struct cluster_deferred *a, bool closed)
{
	struct cluster_cert cert;

	if (closed) {
		cluster_defer_fail(a, CLUSTER_DOWN, "closed");
	}
	a->r.message = a->message;
	a->r.holder = str(a->data, "holder");
	switch (a->shape) {
	case CLUSTER_DEFER_DONE:
		a->fn.done(&a->r, a->arg);
		break;
	case CLUSTER_DEFER_VALUE:
		a->fn.value(&a->r, str(a->data, "value"), a->arg);
		break;
	case CLUSTER_DEFER_CERT:
		cert_of(a->data, &cert);
		a->fn.cert(&a->r, &cert, a->arg);
		break;
	case CLUSTER_DEFER_VERSIONS:
		deliver_versions(a);
		break;
	case CLUSTER_DEFER_LIST:
		deliver_list(a);
		break;
	case CLUSTER_DEFER_NODES:
		deliver_nodes(a);
		break;
	case CLUSTER_DEFER_ACCOUNT:
		a->fn.account(&a->r, str(a->data, "key"), str(a->data, "json"), a->arg);
		break;
	case CLUSTER_DEFER_EVENT:
		if (!closed) {
			deliver_event(q, a);
		}
		break;
	case CLUSTER_DEFER_UP:
		if (!closed && q->events->on_up != NULL) {
			q->events->on_up(q->events->arg);
		}
		break;
	}
}

/* The answers queued before this turn of the loop; those their callbacks
 * queue wait for the next (push starts the timer again). A callback may
 * finish the queue and free its owner: alive says so. */
static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cluster_defer *q = w->data;
	struct list_node *node, *tmp;
	bool alive = true;
	size_t n = 0;

	(void)loop;
	(void)revents;
	list_for_each(&q->answers, node, tmp)
	{
		n++;
	}
	q->alive = &alive;
	while (alive && n-- > 0) {
		struct cluster_deferred *a =
		        list_entry(list_first(&q->answers), struct cluster_deferred, node);

		list_unlink(&a->node);
		deliver(q, a, false);
		answer_free(a);
	}
	if (alive) {
		q->alive = NULL;
	}
}

void
cluster_defer_init(struct cluster_defer *q, struct ev_loop *loop,
                   const struct cluster_backend_events *events)
{
	memset(q, 0, sizeof(*q));
	q->loop = loop;
	q->events = events;
	list_init(&q->answers);
	ev_timer_init(&q->timer, on_timer, 0., 0.);
	q->timer.data = q;
}

void
cluster_defer_push(struct cluster_defer *q, struct cluster_deferred *a)
{
	list_append(&q->answers, &a->node);
	if (!q->closing && !ev_is_active(&q->timer)) {
		ev_timer_set(&q->timer, 0., 0.);
		ev_timer_start(q->loop, &q->timer);
	}
}

bool
cluster_defer_closing(const struct cluster_defer *q)
{
	return q->closing;
}

void
cluster_defer_finish(struct cluster_defer *q)
{
	struct list_node *node;

	if (q->alive != NULL) {
		*q->alive = false;
		q->alive = NULL;
	}
	q->closing = true;
	ev_timer_stop(q->loop, &q->timer);
	while ((node = list_first(&q->answers)) != NULL) {
		struct cluster_deferred *a = list_entry(node, struct cluster_deferred, node);

		list_unlink(&a->node);
		deliver(q, a, true);
		answer_free(a);
	}
}
