/* The front's calls other than the key check (cluster.h): leases, the
 * certificate records with their keys sealed on the way in and opened on
 * the way out, orders, states, versions, challenge answers, nodes,
 * accounts and announcements. Each is refused (answered DOWN or BAD_KEY
 * from the loop) until the key check passed on the connection of the
 * moment (cluster.c). */
#include "store/cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"

/* A call made while the store is not ready: answered from the loop with
 * DOWN (BAD_KEY after a failed key check) and why. */
static int
refuse(struct cluster *c, enum cluster_defer_shape shape, union cluster_defer_fn fn, void *arg)
{
	struct cluster_deferred *a = cluster_defer_new(shape, fn, arg);

	if (a == NULL) {
		return -1;
	}
	cluster_defer_fail(a, c->state == CLUSTER_STATE_BAD_KEY ? CLUSTER_BAD_KEY : CLUSTER_DOWN,
	                   "%s", c->why[0] != '\0' ? c->why : "not connected yet");
	cluster_defer_push(&c->refused, a);
	return 0;
}

#define GATE(shape, member, f)                              \
	do {                                                \
		if (c->state != CLUSTER_STATE_READY) {      \
			union cluster_defer_fn u_;          \
			u_.member = (f);                    \
			return refuse(c, (shape), u_, arg); \
		}                                           \
	} while (0)

void
cluster_cert_init(struct cluster_cert *cc)
{
	memset(cc, 0, sizeof(*cc));
}

/* Clears and frees a key: any malloc'd string (a caller's struct
 * cluster_cert holds keys of its own, not only what seal_open made). */
static void
clear_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
cluster_cert_finish(struct cluster_cert *cc)
{
	free(cc->node);
	free(cc->cert_pem);
	free(cc->chain_pem);
	clear_free(cc->key_pem);
	free(cc->state);
	free(cc->order_url);
	clear_free(cc->order_key_pem);
	free(cc->order_node);
	cluster_cert_init(cc);
}

/* --- leases (nothing to seal) ------------------------------------------------ */

int
cluster_lease_take(struct cluster *c, const char *name, long ttl_ms, cluster_done_fn done,
                   void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->lease_take(c->b, name, ttl_ms, CLUSTER_DONE(done), arg);
}

int
cluster_lease_renew(struct cluster *c, const char *name, uint64_t token, long ttl_ms,
                    cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->lease_renew(c->b, name, token, ttl_ms, CLUSTER_DONE(done), arg);
}

int
cluster_lease_release(struct cluster *c, const char *name, uint64_t token, cluster_done_fn done,
                      void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->lease_release(c->b, name, token, CLUSTER_DONE(done), arg);
}

int
cluster_lease_holder(struct cluster *c, const char *name, cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->lease_holder(c->b, name, CLUSTER_DONE(done), arg);
}

/* --- records --------------------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* A sealed field opened, or NULL for none ("" or NULL); *bad set when it
 * does not open. */
static char *
open_field(const struct cluster *c, const char *aad, const char *sealed, bool *bad)
{
	char *plain = NULL;
	char *copy;
	size_t len = 0;

	if (sealed == NULL || sealed[0] == '\0') {
		return NULL;
	}
	plain = seal_open(c->key, aad, sealed, &len);
	if (plain == NULL) {
		*bad = true;
		return NULL;
	}
	/* A plain malloc'd copy: cluster_cert_finish frees with free(), and
	 * seal_free takes only what seal_open returned. */
	copy = malloc(len + 1);
	if (copy == NULL) {
		*bad = true;
	} else {
		memcpy(copy, plain, len + 1);
	}
	seal_free(plain);
	return copy;
}

static void
on_cert_get(const struct cluster_reply *r, const struct cluster_cert *in, void *arg)
{
	struct cluster_front *fc = arg;
	struct cluster_reply out = *r;
	struct cluster_cert cert;
	char aad[CLUSTER_AAD_LEN];
	bool bad = false;

	cluster_cert_init(&cert);
	if (r->rc == CLUSTER_OK) {
		cert.version = in->version;
		cert.token = in->token;
		cert.time = in->time;
		cert.node = dup_or_null(in->node);
		cert.cert_pem = dup_or_null(in->cert_pem);
		cert.chain_pem = dup_or_null(in->chain_pem);
		cert.state = dup_or_null(in->state);
		cert.order_url = dup_or_null(in->order_url);
		cert.order_node = dup_or_null(in->order_node);
		cert.key_pem = open_field(fc->c, fc->aad, in->key_pem, &bad);
		snprintf(aad, sizeof(aad), "order:%s", fc->aad + 5);
		cert.order_key_pem = open_field(fc->c, aad, in->order_key_pem, &bad);
		if (bad) {
			out.rc = CLUSTER_BAD_KEY;
			out.message = "a sealed key does not open with this node's cluster key";
		}
	}
	fc->cert(&out, &cert, fc->arg);
	cluster_cert_finish(&cert);
	cluster_front_free(fc);
}

int
cluster_cert_get(struct cluster *c, const char *name, cluster_cert_fn done, void *arg)
{
	struct cluster_front *fc = NULL;

	/* Refused before the context is made: a refusal never frees it. */
	GATE(CLUSTER_DEFER_CERT, cert, done);
	fc = cluster_front_new(c, arg);
	if (fc == NULL) {
		return -1;
	}
	fc->cert = done;
	snprintf(fc->aad, sizeof(fc->aad), "cert:%s", name);
	if (c->b->ops->cert_get(c->b, name, on_cert_get, fc) < 0) {
		cluster_front_free(fc);
		return -1;
	}
	return 0;
}

/* key_pem sealed for aad "KIND:NAME"; NULL (and *fail) when sealing
 * failed, NULL alone for no key. */
static char *
seal_field(const struct cluster *c, const char *kind, const char *name, const char *key_pem,
           bool *fail)
{
	char aad[CLUSTER_AAD_LEN];
	char *sealed;

	if (key_pem == NULL || key_pem[0] == '\0') {
		return NULL;
	}
	snprintf(aad, sizeof(aad), "%s:%s", kind, name);
	sealed = seal(c->key, aad, key_pem, strlen(key_pem));
	if (sealed == NULL) {
		*fail = true;
	}
	return sealed;
}

int
cluster_cert_put(struct cluster *c, const char *name, uint64_t token, long expect,
                 const struct cluster_cert *cert, cluster_done_fn done, void *arg)
{
	struct cluster_cert sealed = *cert;
	bool fail = false;
	int rc;

	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	sealed.key_pem = seal_field(c, "cert", name, cert->key_pem, &fail);
	sealed.order_key_pem = NULL;
	rc = fail ? -1
	          : c->b->ops->cert_put(c->b, name, token, expect, &sealed, CLUSTER_DONE(done),
	                                arg);
	free(sealed.key_pem);
	return rc;
}

int
cluster_order_put(struct cluster *c, const char *name, uint64_t token, const char *url,
                  const char *key_pem, cluster_done_fn done, void *arg)
{
	bool fail = false;
	char *sealed = NULL;
	int rc;

	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	sealed = url != NULL ? seal_field(c, "order", name, key_pem, &fail) : NULL;
	rc = fail ? -1
	          : c->b->ops->order_put(c->b, name, token, url, sealed, CLUSTER_DONE(done), arg);
	free(sealed);
	return rc;
}

int
cluster_state_put(struct cluster *c, const char *name, uint64_t token, const char *state,
                  cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->state_put(c->b, name, token, state, CLUSTER_DONE(done), arg);
}

int
cluster_versions(struct cluster *c, cluster_versions_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_VERSIONS, versions, done);
	return c->b->ops->versions(c->b, done, arg);
}

/* --- challenges, nodes -------------------------------------------------------- */

int
cluster_answer_put(struct cluster *c, enum cluster_answer_kind kind, const char *key,
                   const char *value, long ttl_ms, cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->answer_put(c->b, kind, key, value, ttl_ms, CLUSTER_DONE(done), arg);
}

int
cluster_answer_get(struct cluster *c, enum cluster_answer_kind kind, const char *key,
                   cluster_value_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_VALUE, value, done);
	return c->b->ops->answer_get(c->b, kind, key, done, arg);
}

int
cluster_ack(struct cluster *c, const char *token, long ttl_ms, cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->ack(c->b, token, ttl_ms, CLUSTER_DONE(done), arg);
}

int
cluster_acks(struct cluster *c, const char *token, cluster_list_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_LIST, list, done);
	return c->b->ops->acks(c->b, token, done, arg);
}

int
cluster_beat(struct cluster *c, long ttl_ms, long running, cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->beat(c->b, ttl_ms, running, CLUSTER_DONE(done), arg);
}

int
cluster_nodes(struct cluster *c, cluster_nodes_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_NODES, nodes, done);
	return c->b->ops->nodes(c->b, done, arg);
}

/* --- accounts ------------------------------------------------------------------ */

static void
on_account_get(const struct cluster_reply *r, const char *key_sealed, const char *json, void *arg)
{
	struct cluster_front *fc = arg;
	struct cluster_reply out = *r;
	bool bad = false;
	char *key = r->rc == CLUSTER_OK ? open_field(fc->c, fc->aad, key_sealed, &bad) : NULL;

	if (bad) {
		out.rc = CLUSTER_BAD_KEY;
		out.message = "the fleet's account key does not open with this node's cluster key";
	}
	fc->account(&out, key, out.rc == CLUSTER_OK ? json : NULL, fc->arg);
	clear_free(key);
	cluster_front_free(fc);
}

int
cluster_account_get(struct cluster *c, const char *ca_host, cluster_account_fn done, void *arg)
{
	struct cluster_front *fc = NULL;

	/* Refused before the context is made: a refusal never frees it. */
	GATE(CLUSTER_DEFER_ACCOUNT, account, done);
	fc = cluster_front_new(c, arg);
	if (fc == NULL) {
		return -1;
	}
	fc->account = done;
	snprintf(fc->aad, sizeof(fc->aad), "account:%s", ca_host);
	if (c->b->ops->account_get(c->b, ca_host, on_account_get, fc) < 0) {
		cluster_front_free(fc);
		return -1;
	}
	return 0;
}

int
cluster_account_put(struct cluster *c, const char *ca_host, const char *key_pem, const char *json,
                    cluster_done_fn done, void *arg)
{
	bool fail = false;
	char *sealed = NULL;
	int rc;

	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	sealed = seal_field(c, "account", ca_host, key_pem, &fail);
	rc = fail || sealed == NULL
	             ? -1
	             : c->b->ops->account_put(c->b, ca_host, sealed, json, CLUSTER_DONE(done), arg);
	free(sealed);
	return rc;
}

int
cluster_announce(struct cluster *c, const struct cluster_event *ev, cluster_done_fn done, void *arg)
{
	GATE(CLUSTER_DEFER_DONE, done, CLUSTER_DONE(done));
	return c->b->ops->announce(c->b, ev, CLUSTER_DONE(done), arg);
}
