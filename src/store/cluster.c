/* The front of the shared store (cluster.h): picks the backend from the
 * URL, follows the connection's state and checks the cluster key on each
 * connection before anything else goes through. The calls themselves
 * (leases, records sealed and opened, answers, nodes, accounts) are in
 * cluster_calls.c; cluster_internal.h is what the two share. */
#include "store/cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "crypto/seal.h"

#define CHECK_TEXT "acmed cluster key check"

/* How long a node waits for the running nodes to set up a wiped store. */
#define CHECK_WAIT_S 2.0
#define CHECK_WAITS 15

static const char *const result_names[] = {
        [CLUSTER_OK] = "ok",
        [CLUSTER_BUSY] = "busy",
        [CLUSTER_LOST] = "lease lost",
        [CLUSTER_CONFLICT] = "conflict",
        [CLUSTER_DOWN] = "unreachable",
        [CLUSTER_BAD_KEY] = "wrong cluster key",
        [CLUSTER_ERROR] = "error",
};

const char *
cluster_result_name(enum cluster_result rc)
{
	return rc <= CLUSTER_ERROR ? result_names[rc] : "unknown";
}

/* --- life ------------------------------------------------------------------ */

/* The key check value passed ("KEYID s1:..."): its sealed part's first
 * characters are of the random nonce, new with each setting up. */
static void
note_generation(struct cluster *c, const char *value)
{
	const char *sp = value != NULL ? strchr(value, ' ') : NULL;

	snprintf(c->generation, sizeof(c->generation), "%s", sp != NULL ? sp + 1 + 3 : "");
	for (char *p = c->generation; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
			*p = '_';
		}
	}
}

static void
on_checked(const struct cluster_reply *r, void *arg)
{
	struct cluster *c = arg;

	snprintf(c->why, sizeof(c->why), "%s", r->message != NULL ? r->message : "");
	switch (r->rc) {
	case CLUSTER_OK:
		c->state = CLUSTER_STATE_READY;
		if (!c->ever_ready && c->b->ops->ready != NULL) {
			c->b->ops->ready(c->b);
		}
		c->ever_ready = true;
		memcpy(c->generation_seen, c->generation, sizeof(c->generation_seen));
		if (c->config.on_up != NULL) {
			c->config.on_up(c->config.arg);
		}
		break;
	case CLUSTER_BAD_KEY:
		if (!c->ever_ready && c->state != CLUSTER_STATE_BAD_KEY &&
		    c->config.on_bad_key != NULL) {
			c->state = CLUSTER_STATE_BAD_KEY;
			log_error("cluster: %s: %s; nothing is read from it or written to it",
			          c->url, c->why);
			c->config.on_bad_key(c->config.arg);
			break;
		}
		if (c->state != CLUSTER_STATE_BAD_KEY) {
			log_error("cluster: %s: %s; nothing is read from it or written to it",
			          c->url, c->why);
		}
		c->state = CLUSTER_STATE_BAD_KEY;
		break;
	case CLUSTER_BUSY:
		/* on_listeners: looked at again shortly (CHECK_WAITS times). */
		if (c->check_waits++ == 0) {
			log_info("cluster: %s: %s", c->url, c->why);
		}
		c->state = CLUSTER_STATE_DOWN;
		ev_timer_stop(c->loop, &c->check_again);
		ev_timer_set(&c->check_again, CHECK_WAIT_S, 0.0);
		ev_timer_start(c->loop, &c->check_again);
		break;
	default:
		c->state = CLUSTER_STATE_DOWN;
		break;
	}
}

static void
on_check_again(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cluster *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == CLUSTER_STATE_DOWN && c->b->ops->up(c->b)) {
		c->state = CLUSTER_STATE_CONNECTING;
		if (cluster_check_key(c, on_checked, c) < 0) {
			c->state = CLUSTER_STATE_DOWN;
		}
	}
}

/* The periodic check while ready: the same generation changes nothing; a
 * new one (the store lost its records and was set up again, by this node
 * or another with the key) is a reconnect for the node (on_up: everything
 * compared again); another key took the store over: nothing more is read
 * or written. */
static void
on_rechecked(const struct cluster_reply *r, void *arg)
{
	struct cluster *c = arg;
	char before[CLUSTER_GENERATION_LEN];

	c->rechecking = false;
	memcpy(before, c->generation_seen, sizeof(before));
	if (c->state == CLUSTER_STATE_BAD_KEY && r->rc == CLUSTER_OK) {
		/* The store was emptied again and set up with this key. */
		log_info("cluster: %s: the cluster key check passes again: back to work", c->url);
		c->state = CLUSTER_STATE_READY;
		memcpy(c->generation_seen, c->generation, sizeof(c->generation_seen));
		if (c->config.on_up != NULL) {
			c->config.on_up(c->config.arg);
		}
		return;
	}
	if (c->state != CLUSTER_STATE_READY) {
		return;
	}
	if (r->rc == CLUSTER_BAD_KEY) {
		snprintf(c->why, sizeof(c->why),
		         "taken over since this node connected by a node with another cluster key "
		         "(a wiped store it set up first): stop that node and empty the store "
		         "(FLUSHALL); the nodes with the fleet's key set it up again and go on by "
		         "themselves");
		log_error("cluster: %s: %s; nothing is read from it or written to it until then",
		          c->url, c->why);
		c->state = CLUSTER_STATE_BAD_KEY;
	} else if (r->rc == CLUSTER_OK && strcmp(before, c->generation) != 0) {
		log_warn("cluster: %s lost its records (wiped, or replaced) and is set up anew: "
		         "every certificate is compared with it again",
		         c->url);
		memcpy(c->generation_seen, c->generation, sizeof(c->generation_seen));
		if (c->config.on_up != NULL) {
			c->config.on_up(c->config.arg);
		}
	}
}

int
cluster_recheck(struct cluster *c)
{
	/* A store taken over after this node used it is looked at again
	 * too: it may be set up anew with the fleet's key. */
	if (c->rechecking || !(c->state == CLUSTER_STATE_READY ||
	                       (c->state == CLUSTER_STATE_BAD_KEY && c->ever_ready))) {
		return 0;
	}
	c->rechecking = true;
	if (cluster_check_key(c, on_rechecked, c) < 0) {
		c->rechecking = false;
		return -1;
	}
	return 0;
}

const char *
cluster_generation(const struct cluster *c)
{
	return c->generation;
}

/* Connected (again): the key is checked before anything else. */
static void
on_up(void *arg)
{
	struct cluster *c = arg;

	if (c->state != CLUSTER_STATE_BAD_KEY) {
		c->state = CLUSTER_STATE_CONNECTING;
	}
	if (cluster_check_key(c, on_checked, c) < 0) {
		c->state = CLUSTER_STATE_DOWN;
		snprintf(c->why, sizeof(c->why), "out of memory");
	}
}

static void
on_down(const char *why, void *arg)
{
	struct cluster *c = arg;
	bool was_ready = c->state == CLUSTER_STATE_READY;

	if (c->state != CLUSTER_STATE_BAD_KEY) {
		c->state = CLUSTER_STATE_DOWN;
		snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : "connection lost");
	}
	if (was_ready && c->config.on_down != NULL) {
		c->config.on_down(why, c->config.arg);
	}
}

enum cluster_state
cluster_state(const struct cluster *c, const char **why)
{
	if (why != NULL) {
		*why = c->why[0] != '\0' ? c->why : "not connected yet";
	}
	return c->state;
}

static void
on_event(const struct cluster_event *ev, void *arg)
{
	struct cluster *c = arg;

	if (c->config.on_event != NULL) {
		c->config.on_event(ev, c->config.arg);
	}
}

struct cluster *
cluster_create(struct ev_loop *loop, const struct cluster_config *config, char *err, size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));
	struct cluster_backend_events events = {on_up, on_down, on_event, NULL};
	const char *node = config->node != NULL ? config->node : "node";
	unsigned char instance[8];

	if (c == NULL || (c->url = strdup(config->url)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->config = *config;
	c->config.url = c->url;
	c->config.password = NULL;
	c->config.password_file = NULL;
	c->config.node = NULL;
	memcpy(c->key, config->key, sizeof(c->key));
	events.arg = c;
	if (strncmp(config->url, "redis://", 8) == 0) {
		c->b = cluster_redis_create(loop, config->url, config->password,
		                            config->password_file, node, &events, err, errlen);
	} else if (strncmp(config->url, "file://", 7) == 0) {
		c->b = cluster_file_create(loop, config->url + 7, node, &events, err, errlen);
	} else {
		snprintf(err, errlen,
		         "%s: not a cluster URL (redis://HOST:PORT[/DB] or file:///PATH)",
		         config->url);
	}
	if (c->b == NULL) {
		goto fail;
	}
	c->loop = loop;
	ev_timer_init(&c->check_again, on_check_again, CHECK_WAIT_S, 0.0);
	c->check_again.data = c;
	if (RAND_bytes(instance, sizeof(instance)) != 1) {
		snprintf(err, errlen, "no random bytes for the node's instance");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(instance); i++) {
		snprintf(c->b->instance + 2 * i, 3, "%02x", instance[i]);
	}
	cluster_defer_init(&c->refused, loop, &c->no_events);
	return c;
fail:
	if (c != NULL) {
		memset(c->key, 0, sizeof(c->key));
		free(c->url);
	}
	free(c);
	return NULL;
}

void
cluster_destroy(struct cluster *c)
{
	if (c == NULL) {
		return;
	}
	if (c->loop != NULL) {
		ev_timer_stop(c->loop, &c->check_again);
	}
	c->b->ops->destroy(c->b);
	cluster_defer_finish(&c->refused);
	memset(c->key, 0, sizeof(c->key));
	free(c->url);
	free(c);
}

bool
cluster_up(const struct cluster *c)
{
	return c->state == CLUSTER_STATE_READY && c->b->ops->up(c->b);
}

const char *
cluster_node(const struct cluster *c)
{
	return c->b->node;
}

const char *
cluster_name(const struct cluster *c)
{
	return c->url;
}

unsigned long
cluster_commands(const struct cluster *c)
{
	return c->b->ops->commands(c->b);
}

/* The caller has nothing to do about a failure. */
void
cluster_noop(const struct cluster_reply *r, void *arg)
{
	(void)arg;
	if (r->rc != CLUSTER_OK) {
		log_debug("cluster: %s: %s", cluster_result_name(r->rc), r->message);
	}
}

/* --- a call's context -------------------------------------------------------- */

struct cluster_front *
cluster_front_new(struct cluster *c, void *arg)
{
	struct cluster_front *fc = calloc(1, sizeof(*fc));

	if (fc == NULL) {
		log_error("cluster: out of memory");
		return NULL;
	}
	fc->c = c;
	fc->arg = arg;
	return fc;
}

void
cluster_front_free(struct cluster_front *fc)
{
	free(fc->key_sealed);
	free(fc);
}

static void
reply_fail(struct cluster_front *fc, enum cluster_result rc, const char *message)
{
	struct cluster_reply r;

	memset(&r, 0, sizeof(r));
	r.rc = rc;
	r.message = message;
	fc->done(&r, fc->arg);
}

/* --- the cluster key --------------------------------------------------------- */

/* The check value is "KEYID SEALED": the id names the fleet's key in the
 * message a node with another one gets. */
static void on_check_get(const struct cluster_reply *r, const char *value, void *arg);
static void on_check_set(const struct cluster_reply *r, void *arg);

/* A store without a key check: this node sets it up. */
static void
set_up(struct cluster_front *fc)
{
	if (fc->c->b->ops->check_set(fc->c->b, fc->key_sealed, on_check_set, fc) < 0) {
		reply_fail(fc, CLUSTER_ERROR, "out of memory");
		cluster_front_free(fc);
	}
}

static void
on_listeners(const struct cluster_reply *r, void *arg)
{
	struct cluster_front *fc = arg;
	char message[256];

	if (r->rc != CLUSTER_OK || r->version == 0) {
		set_up(fc);
		return;
	}
	snprintf(message, sizeof(message),
	         "the store has no key check but %ld node%s of the fleet %s connected to it "
	         "(wiped under a running fleet): waiting for them to set it up again",
	         r->version, r->version == 1 ? "" : "s", r->version == 1 ? "is" : "are");
	reply_fail(fc, CLUSTER_BUSY, message);
	cluster_front_free(fc);
}

static void
on_check_set(const struct cluster_reply *r, void *arg)
{
	struct cluster_front *fc = arg;

	if (r->rc == CLUSTER_CONFLICT) {
		/* Another node set it first: check against its value. */
		if (fc->c->b->ops->check_get(fc->c->b, on_check_get, fc) == 0) {
			return;
		}
		reply_fail(fc, CLUSTER_ERROR, "out of memory");
	} else {
		if (r->rc == CLUSTER_OK) {
			/* A store without one: this node set it up. */
			note_generation(fc->c, fc->key_sealed);
		}
		fc->done(r, fc->arg);
	}
	cluster_front_free(fc);
}

static void
on_check_get(const struct cluster_reply *r, const char *value, void *arg)
{
	struct cluster_front *fc = arg;
	char id[SEAL_KEY_ID_LEN];
	char message[256];
	char *plain = NULL;
	const char *sp = value != NULL ? strchr(value, ' ') : NULL;

	seal_key_id(fc->c->key, id);
	if (r->rc != CLUSTER_OK) {
		fc->done(r, fc->arg);
	} else if (value == NULL && fc->key_sealed != NULL && !fc->c->ever_ready &&
	           fc->c->check_waits < CHECK_WAITS && fc->c->b->ops->listeners != NULL) {
		/* No store set up, yet nodes connected to it: a store wiped
		 * under a running fleet, which its nodes set up again at their
		 * next heartbeat. Not this node, which may hold another key. */
		if (fc->c->b->ops->listeners(fc->c->b, on_listeners, fc) == 0) {
			return;
		}
		reply_fail(fc, CLUSTER_ERROR, "out of memory");
	} else if (value == NULL && fc->key_sealed != NULL) {
		set_up(fc);
		return;
	} else if (sp == NULL ||
	           (plain = seal_open(fc->c->key, "keycheck", sp + 1, NULL)) == NULL ||
	           strcmp(plain, CHECK_TEXT) != 0) {
		snprintf(message, sizeof(message),
		         "the fleet's store was set up with another cluster key (id %.*s; this "
		         "node's cluster-key-file has id %s): copy the fleet's key file to this "
		         "node (acmed cluster-key id FILE shows a file's id)",
		         sp != NULL ? (int)(sp - value) : 7, sp != NULL ? value : "unknown", id);
		reply_fail(fc, CLUSTER_BAD_KEY, message);
	} else {
		note_generation(fc->c, value);
		reply_fail(fc, CLUSTER_OK, "");
	}
	seal_free(plain);
	cluster_front_free(fc);
}

int
cluster_check_key(struct cluster *c, cluster_done_fn done, void *arg)
{
	struct cluster_front *fc = cluster_front_new(c, arg);
	char id[SEAL_KEY_ID_LEN];
	char *sealed = NULL;
	size_t len;

	if (fc == NULL) {
		return -1;
	}
	fc->done = CLUSTER_DONE(done);
	seal_key_id(c->key, id);
	sealed = seal(c->key, "keycheck", CHECK_TEXT, strlen(CHECK_TEXT));
	len = sealed != NULL ? strlen(id) + strlen(sealed) + 2 : 0;
	fc->key_sealed = len > 0 ? malloc(len) : NULL;
	if (fc->key_sealed == NULL) {
		free(sealed);
		cluster_front_free(fc);
		return -1;
	}
	snprintf(fc->key_sealed, len, "%s %s", id, sealed);
	free(sealed);
	if (c->b->ops->check_get(c->b, on_check_get, fc) < 0) {
		cluster_front_free(fc);
		return -1;
	}
	return 0;
}
