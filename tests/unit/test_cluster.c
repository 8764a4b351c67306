/* The shared store (store/cluster.h) through its public calls only: the
 * same tests against both backends, a group each (cluster_fixture.h): the
 * file backend in a temporary folder, Redis on a redis-server of its own. */
#include "store/cluster.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "cluster_fixture.h"
#include "redis_server.h"

#define LONG_MS 60000
#define SHORT_MS 300

static struct cluster_cert
cert_with(const char *cert_pem, const char *key_pem, const char *state)
{
	struct cluster_cert cc;

	cluster_cert_init(&cc);
	cc.cert_pem = (char *)cert_pem;
	cc.chain_pem = (char *)CHAIN_PEM;
	cc.key_pem = (char *)key_pem;
	cc.state = (char *)state;
	return cc;
}

static uint64_t
take(struct fixture *fx, struct node *n, const char *name, long ttl_ms)
{
	struct result res = {0};
	uint64_t token;

	CALL(fx, &res, cluster_lease_take(n->c, name, ttl_ms, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_true(res.token > 0);
	token = res.token;
	result_reset(&res);
	return token;
}

/* cert_put's answer: rc, and the version it carries. */
static enum cluster_result
put(struct fixture *fx, struct node *n, const char *name, uint64_t token, long expect,
    long *version)
{
	struct cluster_cert cc = cert_with(CERT_PEM, KEY_PEM, "{\"attempts\":0}");
	struct result res = {0};
	enum cluster_result rc;

	CALL(fx, &res, cluster_cert_put(n->c, name, token, expect, &cc, on_done, &res));
	rc = res.rc;
	*version = res.version;
	result_reset(&res);
	return rc;
}

static void
test_key_check(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	struct node other = {0};
	char *before, *after;

	CALL(fx, &res, cluster_check_key(fx->a.c, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_check_key(fx->b.c, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_check_key(fx->a.c, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);

	/* Another key: checked by itself at the connect, never up, every
	 * call refused, nothing written. */
	before = dump_store(fx);
	node_open_bad(fx, &other, "c", cluster_fixture_key_b);
	assert_int_equal(cluster_state(other.c, NULL), CLUSTER_STATE_BAD_KEY);
	assert_false(cluster_up(other.c));
	assert_int_equal(other.ups, 0);
	CALL(fx, &res, cluster_check_key(other.c, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_BAD_KEY);
	assert_non_null(strstr(res.message, "another cluster key"));
	result_reset(&res);
	CALL(fx, &res, cluster_lease_take(other.c, "www", LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_BAD_KEY);
	after = dump_store(fx);
	assert_string_equal(before, after);
	free(before);
	free(after);
	cluster_destroy(other.c);
	result_reset(&res);
}

static void
test_lease(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t1 = take(fx, &fx->a, "www", LONG_MS), t2;

	CALL(fx, &res, cluster_lease_take(fx->b.c, "www", LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_BUSY);
	assert_string_equal(res.holder, "a");
	CALL(fx, &res, cluster_lease_holder(fx->b.c, "www", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_string_equal(res.holder, "a");
	assert_int_equal(res.token, t1);

	CALL(fx, &res, cluster_lease_renew(fx->a.c, "www", t1, LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_lease_renew(fx->b.c, "www", t1 + 1, LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_lease_release(fx->b.c, "www", t1 + 1, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_lease_holder(fx->a.c, "www", on_done, &res));
	assert_string_equal(res.holder, "a");

	CALL(fx, &res, cluster_lease_release(fx->a.c, "www", t1, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_lease_holder(fx->a.c, "www", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_string_equal(res.holder, "");

	/* Taken by b: a's token is lost for good. */
	t2 = take(fx, &fx->b, "www", LONG_MS);
	assert_true(t2 > t1);
	CALL(fx, &res, cluster_lease_renew(fx->a.c, "www", t1, LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_lease_release(fx->a.c, "www", t1, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_lease_holder(fx->a.c, "www", on_done, &res));
	assert_string_equal(res.holder, "b");
	/* The benchmark's figure: Redis counts its commands, a folder none. */
	if (fx->g->redis) {
		assert_true(cluster_commands(fx->a.c) > 0);
	} else {
		assert_int_equal(cluster_commands(fx->a.c), 0);
	}
	result_reset(&res);
}

static void
test_lease_expiry(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t1 = take(fx, &fx->a, "www", SHORT_MS), t2;

	CALL(fx, &res, cluster_lease_take(fx->b.c, "www", LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_BUSY);
	sleep_ms(fx, SHORT_MS + 200);
	CALL(fx, &res, cluster_lease_holder(fx->b.c, "www", on_done, &res));
	assert_string_equal(res.holder, "");
	t2 = take(fx, &fx->b, "www", LONG_MS);
	assert_true(t2 > t1);
	CALL(fx, &res, cluster_lease_renew(fx->a.c, "www", t1, LONG_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	result_reset(&res);
}

static void
test_fencing_tokens(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	const char *names[] = {"a.example", "b.example", "a.example", "c.example", "a.example"};
	uint64_t last = 0;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct node *n = i % 2 == 0 ? &fx->a : &fx->b;
		uint64_t t = take(fx, n, names[i], LONG_MS);

		assert_true(t > last);
		last = t;
		CALL(fx, &res, cluster_lease_release(n->c, names[i], t, on_done, &res));
		assert_int_equal(res.rc, CLUSTER_OK);
	}
	result_reset(&res);
}

static void
test_cert_put_cas(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t1 = take(fx, &fx->a, "www", LONG_MS), t2;
	long v = -1;

	assert_int_equal(put(fx, &fx->a, "www", t1, 0, &v), CLUSTER_OK);
	assert_int_equal(v, 1);
	assert_int_equal(put(fx, &fx->a, "www", t1, 0, &v), CLUSTER_CONFLICT);
	assert_int_equal(v, 1);
	assert_int_equal(put(fx, &fx->a, "www", t1, 1, &v), CLUSTER_OK);
	assert_int_equal(v, 2);

	/* The lease moves on to b: a's stale token installs nothing. */
	CALL(fx, &res, cluster_lease_release(fx->a.c, "www", t1, on_done, &res));
	t2 = take(fx, &fx->b, "www", LONG_MS);
	assert_int_equal(put(fx, &fx->a, "www", t1, 2, &v), CLUSTER_LOST);
	assert_int_equal(put(fx, &fx->b, "www", t2, 2, &v), CLUSTER_OK);
	assert_int_equal(v, 3);

	/* Token 0: no lease asked, the version still compared. */
	assert_int_equal(put(fx, &fx->a, "www", 0, 3, &v), CLUSTER_OK);
	assert_int_equal(v, 4);
	assert_int_equal(put(fx, &fx->a, "www", 0, 1, &v), CLUSTER_CONFLICT);
	assert_int_equal(v, 4);
	assert_int_equal(put(fx, &fx->a, "fresh", 0, 0, &v), CLUSTER_OK);
	assert_int_equal(v, 1);

	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_int_equal(res.cert.version, 4);
	assert_int_equal(res.cert.token, 0);
	assert_string_equal(res.cert.node, "a");
	result_reset(&res);
}

static void
test_cert_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t = take(fx, &fx->a, "www", LONG_MS);
	time_t now = time(NULL);
	long v;

	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(res.cert.version, 0);
	assert_null(res.cert.key_pem);
	assert_null(res.cert.order_url);

	assert_int_equal(put(fx, &fx->a, "www", t, 0, &v), CLUSTER_OK);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(res.cert.version, 1);
	assert_int_equal(res.cert.token, t);
	assert_string_equal(res.cert.node, "a");
	assert_true(res.cert.time >= now && res.cert.time <= time(NULL));
	assert_string_equal(res.cert.cert_pem, CERT_PEM);
	assert_string_equal(res.cert.chain_pem, CHAIN_PEM);
	assert_string_equal(res.cert.key_pem, KEY_PEM);
	assert_string_equal(res.cert.state, "{\"attempts\":0}");
	assert_null(res.cert.order_url);
	result_reset(&res);
}

static void
test_order(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t = take(fx, &fx->a, "www", LONG_MS);
	long v;

	/* Fenced: b holds no lease, a stale token is no better. */
	CALL(fx, &res,
	     cluster_order_put(fx->b.c, "www", t + 1, "https://ca/o/1", ORDER_PEM, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res,
	     cluster_order_put(fx->a.c, "none", t, "https://ca/o/1", ORDER_PEM, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_null(res.cert.order_url);

	CALL(fx, &res,
	     cluster_order_put(fx->a.c, "www", t, "https://ca/o/1", ORDER_PEM, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_string_equal(res.cert.order_url, "https://ca/o/1");
	assert_string_equal(res.cert.order_key_pem, ORDER_PEM);
	assert_string_equal(res.cert.order_node, "a");

	/* url NULL removes it. */
	CALL(fx, &res, cluster_order_put(fx->a.c, "www", t, NULL, NULL, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_null(res.cert.order_url);
	assert_null(res.cert.order_key_pem);

	/* An install removes the order in flight. */
	CALL(fx, &res,
	     cluster_order_put(fx->a.c, "www", t, "https://ca/o/2", ORDER_PEM, on_done, &res));
	assert_int_equal(put(fx, &fx->a, "www", t, 0, &v), CLUSTER_OK);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_int_equal(res.cert.version, 1);
	assert_null(res.cert.order_url);
	assert_null(res.cert.order_key_pem);
	result_reset(&res);
}

static void
test_state_put(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t = take(fx, &fx->a, "www", LONG_MS);
	long v;

	assert_int_equal(put(fx, &fx->a, "www", t, 0, &v), CLUSTER_OK);
	CALL(fx, &res, cluster_state_put(fx->b.c, "www", t + 1, "{\"x\":1}", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_LOST);
	CALL(fx, &res, cluster_state_put(fx->a.c, "www", t, "{\"attempts\":3}", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_cert_get(fx->b.c, "www", on_cert, &res));
	assert_string_equal(res.cert.state, "{\"attempts\":3}");
	assert_int_equal(res.cert.version, 1);
	assert_string_equal(res.cert.key_pem, KEY_PEM);
	result_reset(&res);
}

static void
test_versions(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	long v;

	CALL(fx, &res, cluster_versions(fx->a.c, on_versions, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(json_object_size(res.json), 0);
	assert_int_equal(put(fx, &fx->a, "one", 0, 0, &v), CLUSTER_OK);
	assert_int_equal(put(fx, &fx->a, "two", 0, 0, &v), CLUSTER_OK);
	assert_int_equal(put(fx, &fx->b, "two", 0, 1, &v), CLUSTER_OK);
	CALL(fx, &res, cluster_versions(fx->b.c, on_versions, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(json_object_size(res.json), 2);
	assert_int_equal(json_integer_value(json_object_get(res.json, "one")), 1);
	assert_int_equal(json_integer_value(json_object_get(res.json, "two")), 2);
	/* and who installed each */
	assert_string_equal(json_string_value(json_object_get(res.json2, "one")), "a");
	assert_string_equal(json_string_value(json_object_get(res.json2, "two")), "b");
	result_reset(&res);
}

static void
test_answers(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};

	CALL(fx, &res,
	     cluster_answer_put(fx->a.c, CLUSTER_ANSWER_HTTP, "tok-1", "tok-1.thumb", LONG_MS,
	                        on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_answer_get(fx->b.c, CLUSTER_ANSWER_HTTP, "tok-1", on_value, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_string_equal(res.value, "tok-1.thumb");
	/* The two kinds are apart. */
	CALL(fx, &res, cluster_answer_get(fx->b.c, CLUSTER_ANSWER_ALPN, "tok-1", on_value, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_null(res.value);
	CALL(fx, &res,
	     cluster_answer_put(fx->a.c, CLUSTER_ANSWER_ALPN, "www.example", "digest", LONG_MS,
	                        on_done, &res));
	CALL(fx, &res,
	     cluster_answer_get(fx->b.c, CLUSTER_ANSWER_ALPN, "www.example", on_value, &res));
	assert_string_equal(res.value, "digest");

	/* Withdrawn. */
	CALL(fx, &res,
	     cluster_answer_put(fx->a.c, CLUSTER_ANSWER_HTTP, "tok-1", NULL, 0, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_answer_get(fx->b.c, CLUSTER_ANSWER_HTTP, "tok-1", on_value, &res));
	assert_null(res.value);

	/* Expired. */
	CALL(fx, &res,
	     cluster_answer_put(fx->a.c, CLUSTER_ANSWER_HTTP, "tok-2", "tok-2.thumb", SHORT_MS,
	                        on_done, &res));
	CALL(fx, &res, cluster_answer_get(fx->b.c, CLUSTER_ANSWER_HTTP, "tok-2", on_value, &res));
	assert_string_equal(res.value, "tok-2.thumb");
	sleep_ms(fx, SHORT_MS + 200);
	CALL(fx, &res, cluster_answer_get(fx->b.c, CLUSTER_ANSWER_HTTP, "tok-2", on_value, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_null(res.value);
	result_reset(&res);
}

static bool
has_item(const json_t *list, const char *item)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++) {
		if (strcmp(json_string_value(json_array_get(list, i)), item) == 0) {
			return true;
		}
	}
	return false;
}

static void
test_acks(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};

	CALL(fx, &res, cluster_acks(fx->a.c, "tok", on_list, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(json_array_size(res.json), 0);
	CALL(fx, &res, cluster_ack(fx->a.c, "tok", SHORT_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_ack(fx->b.c, "tok", SHORT_MS, on_done, &res));
	CALL(fx, &res, cluster_ack(fx->b.c, "tok", SHORT_MS, on_done, &res));
	CALL(fx, &res, cluster_ack(fx->b.c, "other", LONG_MS, on_done, &res));
	CALL(fx, &res, cluster_acks(fx->a.c, "tok", on_list, &res));
	assert_int_equal(json_array_size(res.json), 2);
	assert_true(has_item(res.json, "a"));
	assert_true(has_item(res.json, "b"));
	sleep_ms(fx, SHORT_MS + 200);
	CALL(fx, &res, cluster_acks(fx->a.c, "tok", on_list, &res));
	assert_int_equal(json_array_size(res.json), 0);
	CALL(fx, &res, cluster_acks(fx->a.c, "other", on_list, &res));
	assert_int_equal(json_array_size(res.json), 1);
	assert_true(has_item(res.json, "b"));
	result_reset(&res);
}

static void
test_nodes(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	time_t now = time(NULL);
	json_t *a, *b;

	CALL(fx, &res, cluster_beat(fx->a.c, SHORT_MS, 2, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_beat(fx->b.c, LONG_MS, 0, on_done, &res));
	CALL(fx, &res, cluster_nodes(fx->a.c, on_nodes, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(json_object_size(res.json), 2);
	a = json_object_get(res.json, "a");
	b = json_object_get(res.json, "b");
	assert_int_equal(json_integer_value(json_object_get(a, "running")), 2);
	assert_int_equal(json_integer_value(json_object_get(b, "running")), 0);
	assert_true(json_integer_value(json_object_get(a, "seen")) >= now);
	assert_true(json_is_true(json_object_get(a, "alive")));
	assert_true(json_is_true(json_object_get(b, "alive")));

	sleep_ms(fx, SHORT_MS + 200);
	CALL(fx, &res, cluster_nodes(fx->b.c, on_nodes, &res));
	assert_int_equal(json_object_size(res.json), 2);
	assert_true(json_is_false(json_object_get(json_object_get(res.json, "a"), "alive")));
	assert_true(json_is_true(json_object_get(json_object_get(res.json, "b"), "alive")));
	result_reset(&res);
}

/* Two running processes with one node name: the first beat of each
 * passes (it may find the run before a restart), the next beat of either
 * finds the other's: CONFLICT, the beat recorded all the same. */
static void
test_same_name(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	struct node twin = {0};

	CALL(fx, &res, cluster_beat(fx->a.c, LONG_MS, 0, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_beat(fx->a.c, LONG_MS, 0, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK); /* alone: nothing found */
	node_open(fx, &twin, "a", cluster_fixture_key_a);
	CALL(fx, &res, cluster_beat(twin.c, LONG_MS, 1, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK); /* its first */
	CALL(fx, &res, cluster_beat(fx->a.c, LONG_MS, 0, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_CONFLICT);
	CALL(fx, &res, cluster_beat(twin.c, LONG_MS, 1, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_CONFLICT);
	CALL(fx, &res, cluster_nodes(fx->b.c, on_nodes, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(res.json, "a"), "running")), 1);
	cluster_destroy(twin.c);
	result_reset(&res);
}

/* Everything gone, the key check too (FLUSHALL, an emptied folder). */
static void
wipe_all(struct fixture *fx)
{
	char path[700];

	if (fx->g->redis) {
		freeReplyObject(redis_server_command(&fx->g->server, 0, "FLUSHALL"));
		return;
	}
	snprintf(path, sizeof(path), "%s/keycheck", fx->url + strlen("file://"));
	assert_int_equal(unlink(path), 0);
}

/* The heartbeat's key check again: the same store changes nothing; a
 * wiped one is set up anew (a new generation, on_up again); one set up
 * meanwhile by a node with another key turns this node away. */
static void
test_recheck(void **state)
{
	struct fixture *fx = *state;
	struct node other = {0};
	char before[CLUSTER_GENERATION_LEN];
	int ups = fx->a.ups;

	snprintf(before, sizeof(before), "%s", cluster_generation(fx->a.c));
	assert_true(strlen(before) >= 8);
	assert_string_equal(cluster_generation(fx->b.c), before);
	assert_int_equal(cluster_recheck(fx->a.c), 0);
	run_until(fx, NULL, 0, 0.3);
	assert_string_equal(cluster_generation(fx->a.c), before);
	assert_int_equal(fx->a.ups, ups);

	wipe_all(fx);
	assert_int_equal(cluster_recheck(fx->a.c), 0);
	run_until(fx, &fx->a.ups, ups + 1, WAIT_S);
	assert_string_not_equal(cluster_generation(fx->a.c), before);
	assert_int_equal(cluster_state(fx->a.c, NULL), CLUSTER_STATE_READY);
	/* b finds the generation a set up. */
	assert_int_equal(cluster_recheck(fx->b.c), 0);
	run_until(fx, &fx->b.ups, fx->b.ups + 1, WAIT_S);
	assert_string_equal(cluster_generation(fx->b.c), cluster_generation(fx->a.c));

	if (fx->g->redis) {
		/* There a node that never passed the check waits for the
		 * fleet's to set a wiped store up (test_wiped_store_waits). */
		return;
	}
	wipe_all(fx);
	node_open(fx, &other, "x", cluster_fixture_key_b);
	assert_int_equal(cluster_recheck(fx->a.c), 0);
	run_until(fx, NULL, 0, 0.3);
	assert_int_equal(cluster_state(fx->a.c, NULL), CLUSTER_STATE_BAD_KEY);

	/* Emptied again: a sets it up with the fleet's key and goes on. */
	ups = fx->a.ups;
	wipe_all(fx);
	assert_int_equal(cluster_recheck(fx->a.c), 0);
	run_until(fx, &fx->a.ups, ups + 1, WAIT_S);
	assert_int_equal(cluster_state(fx->a.c, NULL), CLUSTER_STATE_READY);
	cluster_destroy(other.c);
}

/* A store wiped under running nodes: a node that never passed the key
 * check does not set it up while nodes of the fleet are connected (it may
 * hold another key); they set it up again, and it gets their key's
 * verdict. (The file backend cannot tell who is connected.) */
static void
test_wiped_store_waits(void **state)
{
	struct fixture *fx = *state;
	struct node other = {0};
	redisReply *reply;

	if (!fx->g->redis) {
		skip();
	}
	wipe_all(fx);
	node_open_bad(fx, &other, "x", cluster_fixture_key_b);
	assert_int_equal(cluster_state(other.c, NULL), CLUSTER_STATE_DOWN);
	reply = redis_server_command(&fx->g->server, 0, "EXISTS acmed:keycheck");
	assert_non_null(reply);
	assert_int_equal(reply->integer, 0);
	freeReplyObject(reply);
	/* a's heartbeat sets it up again; other's next look refuses it. */
	assert_int_equal(cluster_recheck(fx->a.c), 0);
	run_until(fx, NULL, 0, 3.0);
	assert_int_equal(cluster_state(fx->a.c, NULL), CLUSTER_STATE_READY);
	assert_int_equal(cluster_state(other.c, NULL), CLUSTER_STATE_BAD_KEY);
	cluster_destroy(other.c);
}

static void
test_accounts(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	const char *json = "{\"url\":\"https://ca/acct/1\"}";

	CALL(fx, &res, cluster_account_get(fx->a.c, "ca.example", on_account, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_null(res.value);
	assert_null(res.value2);
	CALL(fx, &res, cluster_account_put(fx->a.c, "ca.example", KEY_PEM, json, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	CALL(fx, &res, cluster_account_put(fx->b.c, "ca.example", ORDER_PEM, "{}", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_CONFLICT);
	CALL(fx, &res, cluster_account_get(fx->b.c, "ca.example", on_account, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_string_equal(res.value, KEY_PEM);
	assert_string_equal(res.value2, json);
	CALL(fx, &res, cluster_account_get(fx->b.c, "other.example", on_account, &res));
	assert_null(res.value);
	result_reset(&res);
}

/* Redis pub/sub is lossy until b's subscription is in place: announce
 * until b hears one (file: a hears its own at once, b never). */
static void
test_announce(void **state)
{
	struct fixture *fx = *state;
	struct cluster_event ev = {.kind = CLUSTER_EVENT_RENEW, .name = "www"};
	struct result res = {0};
	int tries;
	long v;

	for (tries = 0; tries < 50; tries++) {
		CALL(fx, &res, cluster_announce(fx->a.c, &ev, on_done, &res));
		assert_int_equal(res.rc, CLUSTER_OK);
		if (!fx->g->redis) {
			run_until(fx, &fx->a.events, 1, WAIT_S);
			break;
		}
		sleep_ms(fx, 100);
		if (fx->a.events > 0 && fx->b.events > 0) {
			break;
		}
	}
	assert_int_equal(fx->a.last.kind, CLUSTER_EVENT_RENEW);
	assert_string_equal(fx->a.last.name, "www");
	assert_string_equal(fx->a.last.node, "a");
	if (fx->g->redis) {
		assert_string_equal(fx->b.last.name, "www");
		assert_string_equal(fx->b.last.node, "a");
	} else {
		sleep_ms(fx, 50);
		assert_int_equal(fx->a.events, 1);
		assert_int_equal(fx->b.events, 0);
	}

	ev.kind = CLUSTER_EVENT_INSTALLED;
	ev.version = 7;
	fx->a.events = fx->b.events = 0;
	CALL(fx, &res, cluster_announce(fx->a.c, &ev, on_done, &res));
	run_until(fx, &fx->a.events, 1, WAIT_S);
	assert_int_equal(fx->a.last.kind, CLUSTER_EVENT_INSTALLED);
	assert_int_equal(fx->a.last.version, 7);
	if (fx->g->redis) {
		run_until(fx, &fx->b.events, 1, WAIT_S);
		assert_int_equal(fx->b.last.version, 7);
	}

	/* A webroot answer: its token and the certificate whose webroot. */
	ev = (struct cluster_event){.kind = CLUSTER_EVENT_WEBROOT, .token = "tok-1", .name = "www"};
	fx->a.events = fx->b.events = 0;
	CALL(fx, &res, cluster_announce(fx->a.c, &ev, on_done, &res));
	run_until(fx, &fx->a.events, 1, WAIT_S);
	assert_int_equal(fx->a.last.kind, CLUSTER_EVENT_WEBROOT);
	assert_string_equal(fx->a.last.token, "tok-1");
	assert_string_equal(fx->a.last.name, "www");
	assert_string_equal(fx->a.last.node, "a");
	if (fx->g->redis) {
		run_until(fx, &fx->b.events, 1, WAIT_S);
		assert_int_equal(fx->b.last.kind, CLUSTER_EVENT_WEBROOT);
		assert_string_equal(fx->b.last.token, "tok-1");
		assert_string_equal(fx->b.last.name, "www");
		assert_string_equal(fx->b.last.node, "a");
	}

	/* cert_put announces itself: to b through Redis, to a in any case. */
	fx->a.events = fx->b.events = 0;
	assert_int_equal(put(fx, &fx->a, "api", 0, 0, &v), CLUSTER_OK);
	run_until(fx, &fx->a.events, 1, WAIT_S);
	assert_int_equal(fx->a.last.kind, CLUSTER_EVENT_INSTALLED);
	assert_string_equal(fx->a.last.name, "api");
	assert_int_equal(fx->a.last.version, 1);
	if (fx->g->redis) {
		run_until(fx, &fx->b.events, 1, WAIT_S);
		assert_int_equal(fx->b.last.kind, CLUSTER_EVENT_INSTALLED);
		assert_string_equal(fx->b.last.name, "api");
		assert_string_equal(fx->b.last.node, "a");
	}
	result_reset(&res);
}

/* What the store holds (every Redis key and value, every file) shows no
 * private key: not the PEM label, not the key's base64. */
static void
test_no_key_in_clear(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	uint64_t t = take(fx, &fx->a, "www", LONG_MS);
	char *all;
	long v;

	CALL(fx, &res, cluster_check_key(fx->a.c, on_done, &res));
	CALL(fx, &res,
	     cluster_order_put(fx->a.c, "www", t, "https://ca/o/1", ORDER_PEM, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(put(fx, &fx->a, "api", 0, 0, &v), CLUSTER_OK);
	CALL(fx, &res, cluster_account_put(fx->a.c, "ca.example", KEY_PEM, "{}", on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);

	all = dump_store(fx);
	assert_non_null(strstr(all, "https://ca/o/1"));
	assert_non_null(strstr(all, "BEGIN CERTIFICATE"));
	assert_null(strstr(all, "PRIVATE KEY"));
	assert_null(strstr(all, KEY_BODY));
	assert_null(strstr(all, "MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAA"));
	free(all);
	result_reset(&res);
}

/* Replies keep the order of the calls. */
struct order_log {
	int calls;
	char seen[16];
};

struct order_call {
	struct order_log *log;
	char tag;
};

static void
on_ordered(const struct cluster_reply *r, void *arg)
{
	struct order_call *oc = arg;

	oc->log->seen[oc->log->calls++] = oc->tag;
}

static void
test_reply_order(void **state)
{
	struct fixture *fx = *state;
	struct order_log log = {0};
	struct order_call calls[6];
	int i;

	for (i = 0; i < 6; i++) {
		calls[i].log = &log;
		calls[i].tag = (char)('0' + i);
	}
	assert_int_equal(cluster_lease_take(fx->a.c, "x", LONG_MS, on_ordered, &calls[0]), 0);
	assert_int_equal(cluster_beat(fx->a.c, LONG_MS, 1, on_ordered, &calls[1]), 0);
	assert_int_equal(cluster_lease_holder(fx->a.c, "x", on_ordered, &calls[2]), 0);
	assert_int_equal(cluster_ack(fx->a.c, "t", LONG_MS, on_ordered, &calls[3]), 0);
	assert_int_equal(cluster_lease_take(fx->a.c, "y", LONG_MS, on_ordered, &calls[4]), 0);
	assert_int_equal(cluster_lease_holder(fx->a.c, "y", on_ordered, &calls[5]), 0);
	assert_int_equal(log.calls, 0);
	run_until(fx, &log.calls, 6, WAIT_S);
	assert_memory_equal(log.seen, "012345", 6);
}

/* A call still waiting when its node is destroyed gets DOWN, once. */
static void
test_destroy_waiting(void **state)
{
	struct fixture *fx = *state;
	struct node c = {0};
	struct result r1 = {0}, r2 = {0};
	struct cluster_event ev = {.kind = CLUSTER_EVENT_RENEW, .name = "www"};

	node_open(fx, &c, "c", cluster_fixture_key_a);
	assert_int_equal(cluster_lease_holder(c.c, "www", on_done, &r1), 0);
	assert_int_equal(cluster_announce(c.c, &ev, on_done, &r2), 0);
	cluster_destroy(c.c);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.rc, CLUSTER_DOWN);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.rc, CLUSTER_DOWN);
	sleep_ms(fx, 50);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(c.events, 0);
}

/* A callback may destroy its node: the calls behind it get DOWN. */
struct destroying {
	struct node *n;
	struct result res;
};

static void
on_destroying(const struct cluster_reply *r, void *arg)
{
	struct destroying *d = arg;

	on_done(r, &d->res);
	cluster_destroy(d->n->c);
	d->n->c = NULL;
}

static void
test_destroy_inside(void **state)
{
	struct fixture *fx = *state;
	struct node c = {0};
	struct destroying d = {.n = &c};
	struct result behind = {0};

	node_open(fx, &c, "c", cluster_fixture_key_a);
	assert_int_equal(cluster_lease_holder(c.c, "www", on_destroying, &d), 0);
	assert_int_equal(cluster_lease_holder(c.c, "www", on_done, &behind), 0);
	run_until(fx, &d.res.calls, 1, WAIT_S);
	assert_int_equal(d.res.rc, CLUSTER_OK);
	assert_null(c.c);
	assert_int_equal(behind.calls, 1);
	assert_int_equal(behind.rc, CLUSTER_DOWN);
}

/* A name the store cannot keep is an error, not a crash or a path. */
static void
test_odd_names(void **state)
{
	struct fixture *fx = *state;
	struct result res = {0};
	const char *names[] = {"../escape", ".hidden", "a/b", "sp ace", "\xc3\xa9t\xc3\xa9"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t t = take(fx, &fx->a, names[i], LONG_MS);

		CALL(fx, &res, cluster_lease_holder(fx->b.c, names[i], on_done, &res));
		assert_string_equal(res.holder, "a");
		assert_int_equal(res.token, t);
	}
	CALL(fx, &res, cluster_lease_holder(fx->b.c, "", on_done, &res));
	if (!fx->g->redis) {
		assert_int_equal(res.rc, CLUSTER_ERROR);
	}
	result_reset(&res);
}

/* --- several processes on one store ------------------------------------------ */

static void
test_processes(void **state)
{
	struct fixture *fx = *state;
	enum { N = 8 };
	uint64_t tokens[2 * N];
	char text[2048] = "";
	const char *p = text;
	int fds[2], i, j, status, winners = 0;
	size_t len = 0;
	ssize_t got;

	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < N; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			cluster_fixture_child(fx->url, i, fds[1]);
		}
	}
	close(fds[1]);
	while ((got = read(fds[0], text + len, sizeof(text) - 1 - len)) > 0) {
		len += (size_t)got;
	}
	text[len] = '\0';
	close(fds[0]);
	for (i = 0; i < N; i++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (i = 0; i < N; i++) {
		char *end;

		tokens[2 * i] = strtoull(p, &end, 10);
		tokens[2 * i + 1] = strtoull(end, &end, 10);
		p = end;
		winners += tokens[2 * i] != 0;
		assert_true(tokens[2 * i + 1] != 0);
	}
	/* One lease, one holder; every token given once. */
	assert_int_equal(winners, 1);
	for (i = 0; i < 2 * N; i++) {
		for (j = i + 1; j < 2 * N; j++) {
			assert_false(tokens[i] != 0 && tokens[i] == tokens[j]);
		}
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_key_check),
	        T(test_lease),
	        T(test_lease_expiry),
	        T(test_fencing_tokens),
	        T(test_cert_put_cas),
	        T(test_cert_round_trip),
	        T(test_order),
	        T(test_state_put),
	        T(test_versions),
	        T(test_answers),
	        T(test_acks),
	        T(test_nodes),
	        T(test_same_name),
	        T(test_recheck),
	        T(test_wiped_store_waits),
	        T(test_accounts),
	        T(test_announce),
	        T(test_no_key_in_clear),
	        T(test_reply_order),
	        T(test_destroy_waiting),
	        T(test_destroy_inside),
	        T(test_odd_names),
	        T(test_processes),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("file", tests, group_setup_file, group_teardown);
	failed += cmocka_run_group_tests_name("redis", tests, group_setup_redis, group_teardown);
	return failed;
}
