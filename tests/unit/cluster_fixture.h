/* The fixture of test_cluster.c: a group per backend of the shared store
 * (store/cluster.h), each test on a fresh store with two nodes, a and b;
 * the loop run under a watchdog; callbacks that copy what they get and
 * check they were not called from inside a call; the store's whole
 * content as text (every file, or every Redis key and value). */
#ifndef ACMED_TEST_CLUSTER_FIXTURE_H
#define ACMED_TEST_CLUSTER_FIXTURE_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

#include "redis_server.h"
#include "store/cluster.h"

#define WAIT_S 10.0

/* RFC 8410's example Ed25519 key: a PEM private key that must never reach
 * the store in clear. */
#define KEY_BODY "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\n" KEY_BODY "\n-----END PRIVATE KEY-----\n"
#define ORDER_PEM                                                                         \
	"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nbGVhZg==\n-----END CERTIFICATE-----\n"
#define CHAIN_PEM "-----BEGIN CERTIFICATE-----\naXNzdWVy\n-----END CERTIFICATE-----\n"

extern const unsigned char cluster_fixture_key_a[CLUSTER_KEY_LEN];
extern const unsigned char cluster_fixture_key_b[CLUSTER_KEY_LEN];

/* One backend's group. */
struct group {
	bool redis;
	char *dir; /* file: the parent of each test's store */
	struct redis_server server;
	int tests;
};

/* What one callback got (strings copied). */
struct result {
	int calls;
	enum cluster_result rc;
	char message[512];
	char holder[128];
	uint64_t token;
	long version;
	char *value, *value2;
	struct cluster_cert cert;
	json_t *json; /* versions {name: v}, list [..], nodes {name: {..}} */
	json_t *json2; /* versions: {name: node} */
};

/* A node: its handle and what reached its callbacks. */
struct node {
	struct cluster *c;
	int ups;
	int events;
	struct cluster_event last; /* strings in the buffers below */
	char ev_name[128], ev_node[128], ev_token[128];
};

struct fixture {
	struct group *g;
	struct ev_loop *loop;
	ev_timer watchdog;
	bool expired;
	char url[600];
	struct node a, b;
	bool in_call; /* inside a cluster_* call: no callback may run */
};

/* Runs the loop until *count reaches want (fails the test after seconds);
 * count NULL: runs it for seconds. */
void run_until(struct fixture *fx, const int *count, int want, double seconds);
void sleep_ms(struct fixture *fx, long ms);

void result_reset(struct result *res);
void on_done(const struct cluster_reply *r, void *arg);
void on_value(const struct cluster_reply *r, const char *value, void *arg);
void on_cert(const struct cluster_reply *r, const struct cluster_cert *cert, void *arg);
void on_versions(const struct cluster_reply *r, size_t n, const char *const *names,
                 const long *versions, const char *const *nodes, void *arg);
void on_list(const struct cluster_reply *r, size_t n, const char *const *items, void *arg);
void on_nodes(const struct cluster_reply *r, size_t n, const struct cluster_node *nodes, void *arg);
void on_account(const struct cluster_reply *r, const char *key_pem, const char *json, void *arg);

/* A call (expr, returning 0) awaited: its callback ran once, from the loop. */
#define CALL(fx, res, expr)                                \
	do {                                               \
		result_reset(res);                         \
		(fx)->in_call = true;                      \
		assert_int_equal((expr), 0);               \
		(fx)->in_call = false;                     \
		assert_int_equal((res)->calls, 0);         \
		run_until((fx), &(res)->calls, 1, WAIT_S); \
	} while (0)

/* Opens node n (name, key) on fx's store and waits for its on_up. */
void node_open(struct fixture *fx, struct node *n, const char *name, const unsigned char *key);
/* Opens node n with a key the store was not set up with: waits until its
 * key check is over (never up). */
void node_open_bad(struct fixture *fx, struct node *n, const char *name, const unsigned char *key);

/* Everything the backend holds, as text. New string. */
char *dump_store(struct fixture *fx);

/* In a child process (never returns): opens node "pI" on url, takes the
 * lease "same" then "uI", writes "TOKEN TOKEN\n" (0: busy) to fd and
 * exits 0 (1 when the write failed). */
void cluster_fixture_child(const char *url, int i, int fd) __attribute__((noreturn));

int group_setup_file(void **state);
int group_setup_redis(void **state);
int group_teardown(void **state);
/* A fresh store (a new folder, or FLUSHALL) with nodes a and b (key a). */
int setup(void **state);
int teardown(void **state);

#endif
