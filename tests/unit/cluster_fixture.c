/* test_cluster.c's fixture (cluster_fixture.h). */
#include "cluster_fixture.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "base/buf.h"
#include "tmpdir.h"

#define DUMP_MAX (16 * 1024 * 1024)

const unsigned char cluster_fixture_key_a[CLUSTER_KEY_LEN] = "0123456789abcdef0123456789abcdef";
const unsigned char cluster_fixture_key_b[CLUSTER_KEY_LEN] = "fedcba9876543210fedcba9876543210";

/* --- the loop ------------------------------------------------------------- */

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *fx = w->data;

	(void)revents;
	fx->expired = true;
	ev_break(loop, EVBREAK_ALL);
}

void
run_until(struct fixture *fx, const int *count, int want, double seconds)
{
	fx->expired = false;
	ev_now_update(fx->loop);
	ev_timer_set(&fx->watchdog, seconds, 0.);
	ev_timer_start(fx->loop, &fx->watchdog);
	while ((count == NULL || *count < want) && !fx->expired) {
		ev_run(fx->loop, EVRUN_ONCE);
	}
	ev_timer_stop(fx->loop, &fx->watchdog);
	if (count != NULL && *count < want) {
		fail_msg("still waiting after %.1f s", seconds);
	}
}

void
sleep_ms(struct fixture *fx, long ms)
{
	run_until(fx, NULL, 0, (double)ms / 1000.);
}

/* --- callbacks -------------------------------------------------------------- */

static struct fixture *current; /* for the in_call check */

void
result_reset(struct result *res)
{
	free(res->value);
	free(res->value2);
	cluster_cert_finish(&res->cert);
	json_decref(res->json);
	json_decref(res->json2);
	memset(res, 0, sizeof(*res));
}

static void
took(struct result *res, const struct cluster_reply *r)
{
	assert_false(current->in_call);
	res->calls++;
	res->rc = r->rc;
	snprintf(res->message, sizeof(res->message), "%s", r->message ? r->message : "");
	snprintf(res->holder, sizeof(res->holder), "%s", r->holder ? r->holder : "");
	res->token = r->token;
	res->version = r->version;
}

static char *
copy_of(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
on_done(const struct cluster_reply *r, void *arg)
{
	took(arg, r);
}

void
on_value(const struct cluster_reply *r, const char *value, void *arg)
{
	struct result *res = arg;

	took(res, r);
	res->value = copy_of(value);
}

void
on_cert(const struct cluster_reply *r, const struct cluster_cert *cert, void *arg)
{
	struct result *res = arg;

	took(res, r);
	res->cert.version = cert->version;
	res->cert.token = cert->token;
	res->cert.time = cert->time;
	res->cert.node = copy_of(cert->node);
	res->cert.cert_pem = copy_of(cert->cert_pem);
	res->cert.chain_pem = copy_of(cert->chain_pem);
	res->cert.key_pem = copy_of(cert->key_pem);
	res->cert.state = copy_of(cert->state);
	res->cert.order_url = copy_of(cert->order_url);
	res->cert.order_key_pem = copy_of(cert->order_key_pem);
	res->cert.order_node = copy_of(cert->order_node);
}

void
on_versions(const struct cluster_reply *r, size_t n, const char *const *names, const long *versions,
            const char *const *nodes, void *arg)
{
	struct result *res = arg;
	size_t i;

	took(res, r);
	res->json = json_object();
	res->json2 = json_object();
	for (i = 0; i < n; i++) {
		json_object_set_new(res->json, names[i], json_integer(versions[i]));
		json_object_set_new(res->json2, names[i], json_string(nodes[i]));
	}
}

void
on_list(const struct cluster_reply *r, size_t n, const char *const *items, void *arg)
{
	struct result *res = arg;
	size_t i;

	took(res, r);
	res->json = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(res->json, json_string(items[i]));
	}
}

void
on_nodes(const struct cluster_reply *r, size_t n, const struct cluster_node *nodes, void *arg)
{
	struct result *res = arg;
	size_t i;

	took(res, r);
	res->json = json_object();
	for (i = 0; i < n; i++) {
		json_object_set_new(res->json, nodes[i].name,
		                    json_pack("{s:I, s:I, s:b}", "seen", (json_int_t)nodes[i].seen,
		                              "running", (json_int_t)nodes[i].running, "alive",
		                              nodes[i].alive));
	}
}

void
on_account(const struct cluster_reply *r, const char *key_pem, const char *json, void *arg)
{
	struct result *res = arg;

	took(res, r);
	res->value = copy_of(key_pem);
	res->value2 = copy_of(json);
}

static void
node_up(void *arg)
{
	struct node *n = arg;

	assert_false(current->in_call);
	n->ups++;
}

static void
node_event(const struct cluster_event *ev, void *arg)
{
	struct node *n = arg;

	assert_false(current->in_call);
	n->events++;
	n->last = *ev;
	snprintf(n->ev_name, sizeof(n->ev_name), "%s", ev->name ? ev->name : "");
	snprintf(n->ev_node, sizeof(n->ev_node), "%s", ev->node ? ev->node : "");
	snprintf(n->ev_token, sizeof(n->ev_token), "%s", ev->token ? ev->token : "");
	n->last.name = n->ev_name;
	n->last.node = n->ev_node;
	n->last.token = n->ev_token;
}

/* --- nodes and the store's content --------------------------------------------- */

/* Node n (name, key) on fx's store, not waited for. */
static void
node_create(struct fixture *fx, struct node *n, const char *name, const unsigned char *key)
{
	struct cluster_config config;
	char err[256];

	memset(&config, 0, sizeof(config));
	config.url = fx->url;
	memcpy(config.key, key, CLUSTER_KEY_LEN);
	config.node = name;
	config.on_up = node_up;
	config.on_event = node_event;
	config.arg = n;
	n->c = cluster_create(fx->loop, &config, err, sizeof(err));
	assert_non_null(n->c);
}

void
node_open(struct fixture *fx, struct node *n, const char *name, const unsigned char *key)
{
	node_create(fx, n, name, key);
	assert_int_equal(n->ups, 0);
	run_until(fx, &n->ups, 1, WAIT_S);
	assert_true(cluster_up(n->c));
	assert_string_equal(cluster_node(n->c), name);
}

static bool
checked(void *arg)
{
	return cluster_state(arg, NULL) != CLUSTER_STATE_CONNECTING;
}

void
node_open_bad(struct fixture *fx, struct node *n, const char *name, const unsigned char *key)
{
	node_create(fx, n, name, key);
	fx->expired = false;
	ev_now_update(fx->loop);
	ev_timer_set(&fx->watchdog, WAIT_S, 0.);
	ev_timer_start(fx->loop, &fx->watchdog);
	while (!checked(n->c) && !fx->expired) {
		ev_run(fx->loop, EVRUN_ONCE);
	}
	ev_timer_stop(fx->loop, &fx->watchdog);
	assert_true(checked(n->c));
}

static void
dump_add(struct buf *b, const char *text)
{
	buf_add(b, text, strlen(text));
	buf_add(b, "\n", 1);
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Every file under dir, sorted, with its content. */
static void
dump_dir(struct buf *b, const char *dir)
{
	char *names[4096];
	size_t n = 0, i;
	struct dirent *e;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL && n < 4096) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			names[n++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		char *text;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(lstat(path, &st), 0);
		dump_add(b, path);
		if (S_ISDIR(st.st_mode)) {
			dump_dir(b, path);
		} else {
			text = tmpdir_read(dir, names[i]);
			assert_non_null(text);
			dump_add(b, text);
			free(text);
		}
		free(names[i]);
	}
}

static void
dump_reply(struct buf *b, const redisReply *r)
{
	size_t i;

	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
		buf_add(b, r->str, r->len);
		buf_add(b, "\n", 1);
	} else if (r->type == REDIS_REPLY_INTEGER) {
		char num[32];

		snprintf(num, sizeof(num), "%lld", r->integer);
		dump_add(b, num);
	}
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		dump_reply(b, r->element[i]);
	}
}

/* Every key of the Redis store (SCAN), sorted, with its value by type. */
static void
dump_redis(struct buf *b, struct redis_server *s)
{
	char cursor[32] = "0";
	char *keys[4096];
	size_t n = 0, i, j;

	do {
		redisReply *r = redis_server_command(s, 0, "SCAN %s COUNT 1000", cursor);

		assert_int_equal(r->type, REDIS_REPLY_ARRAY);
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (j = 0; j < r->element[1]->elements && n < 4096; j++) {
			keys[n++] = strdup(r->element[1]->element[j]->str);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	qsort(keys, n, sizeof(keys[0]), by_name);
	for (i = 0; i < n; i++) {
		redisReply *type = redis_server_command(s, 0, "TYPE %s", keys[i]);
		redisReply *v = NULL;

		dump_add(b, keys[i]);
		if (strcmp(type->str, "string") == 0) {
			v = redis_server_command(s, 0, "GET %s", keys[i]);
		} else if (strcmp(type->str, "hash") == 0) {
			v = redis_server_command(s, 0, "HGETALL %s", keys[i]);
		} else if (strcmp(type->str, "set") == 0) {
			v = redis_server_command(s, 0, "SORT %s ALPHA", keys[i]);
		} else {
			fail_msg("%s: a key of type %s the store does not make", keys[i],
			         type->str);
		}
		dump_reply(b, v);
		freeReplyObject(v);
		freeReplyObject(type);
		free(keys[i]);
	}
}

/* Everything the backend holds, as text. New string. */
char *
dump_store(struct fixture *fx)
{
	struct buf b;
	char *text;

	buf_init(&b, DUMP_MAX);
	if (fx->g->redis) {
		dump_redis(&b, &fx->g->server);
	} else {
		dump_dir(&b, fx->url + strlen("file://"));
	}
	buf_add(&b, "", 1);
	text = buf_steal(&b, NULL);
	assert_non_null(text);
	return text;
}

/* --- setup --------------------------------------------------------------------- */

static int
group_setup(void **state, bool redis)
{
	struct group *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->redis = redis;
	if (redis) {
		redis_server_start(&g->server, NULL);
	} else {
		g->dir = tmpdir_make("cluster");
	}
	*state = g;
	return 0;
}

int
group_setup_file(void **state)
{
	return group_setup(state, false);
}

int
group_setup_redis(void **state)
{
	return group_setup(state, true);
}

int
group_teardown(void **state)
{
	struct group *g = *state;

	redis_server_finish(&g->server);
	tmpdir_remove(g->dir);
	free(g->dir);
	free(g);
	return 0;
}

/* A fresh store for each test (a new folder, or FLUSHALL) and nodes a and
 * b on it, both with key_a. */
int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->g = *state;
	fx->loop = ev_loop_new(EVFLAG_AUTO);
	ev_timer_init(&fx->watchdog, on_watchdog, 0., 0.);
	fx->watchdog.data = fx;
	current = fx;
	if (fx->g->redis) {
		freeReplyObject(redis_server_command(&fx->g->server, 0, "FLUSHALL"));
		snprintf(fx->url, sizeof(fx->url), "redis://127.0.0.1:%d", fx->g->server.port);
	} else {
		snprintf(fx->url, sizeof(fx->url), "file://%s/store%d", fx->g->dir, fx->g->tests++);
	}
	node_open(fx, &fx->a, "a", cluster_fixture_key_a);
	node_open(fx, &fx->b, "b", cluster_fixture_key_a);
	*state = fx;
	return 0;
}

int
teardown(void **state)
{
	struct fixture *fx = *state;

	cluster_destroy(fx->a.c);
	cluster_destroy(fx->b.c);
	ev_loop_destroy(fx->loop);
	current = NULL;
	*state = fx->g;
	free(fx);
	return 0;
}

/* --- a child process ------------------------------------------------------ */

struct child {
	struct ev_loop *loop;
	struct cluster *c;
	int ups, calls;
	struct cluster_reply r;
	uint64_t token;
};

static void
child_up(void *arg)
{
	((struct child *)arg)->ups++;
}

static void
child_done(const struct cluster_reply *r, void *arg)
{
	struct child *ch = arg;

	ch->calls++;
	ch->token = r->rc == CLUSTER_OK ? r->token : 0;
}

/* In a child: takes name's lease, returns its token (0: busy or failed);
 * no cmocka here, the parent checks. */
static uint64_t
child_take(struct child *ch, const char *name)
{
	int want = ch->calls + 1;

	if (cluster_lease_take(ch->c, name, 60000, child_done, ch) < 0) {
		return 0;
	}
	while (ch->calls < want) {
		ev_run(ch->loop, EVRUN_ONCE);
	}
	return ch->token;
}

void
cluster_fixture_child(const char *url, int i, int fd)
{
	struct child ch = {0};
	struct cluster_config config = {.url = url, .on_up = child_up, .arg = &ch};
	char node[16], unique[16], line[64];
	uint64_t same;
	char err[256];
	int n;

	alarm(20);
	snprintf(node, sizeof(node), "p%d", i);
	snprintf(unique, sizeof(unique), "u%d", i);
	memcpy(config.key, cluster_fixture_key_a, CLUSTER_KEY_LEN);
	config.node = node;
	ch.loop = ev_loop_new(EVFLAG_AUTO);
	ch.c = cluster_create(ch.loop, &config, err, sizeof(err));
	while (ch.c != NULL && ch.ups == 0) {
		ev_run(ch.loop, EVRUN_ONCE);
	}
	same = child_take(&ch, "same");
	n = snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)same,
	             (unsigned long long)child_take(&ch, unique));
	_exit(write(fd, line, (size_t)n) == n ? 0 : 1);
}
