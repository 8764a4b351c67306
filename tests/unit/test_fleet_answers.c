/* Fleet mode's challenge answers (renew/fleet_answers.h) on a shared store
 * of each backend (cluster_fixture.h: nodes a and b, a third opened
 * here): published before done and withdrawn at cleanup, the remote with
 * its cache, other nodes' webroot files, and the wait for their
 * acknowledgements. */
#include "renew/fleet_answers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/file.h"
#include "base/log.h"
#include "capture.h"
#include "cluster_fixture.h"
#include "tmpdir.h"

#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEY_AUTH TOKEN ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEY4X7kLxM"
#define TOKEN_FILE ".well-known/acme-challenge/" TOKEN

/* --- a responder to wrap ---------------------------------------------------- */

struct fake_inner {
	struct challenge base;
	int presents, cleanups;
	int rc; /* what present answers */
};

static int
fake_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	struct fake_inner *fi = (struct fake_inner *)ch;

	(void)task;
	fi->presents++;
	return challenge_defer(ch, fi->rc, "inner failed", done, arg);
}

static int
fake_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	(void)task;
	((struct fake_inner *)ch)->cleanups++;
	return challenge_defer(ch, 0, NULL, done, arg);
}

static void
fake_destroy(struct challenge *ch)
{
	free(ch);
}

static const struct challenge_ops fake_http = {
        .name = "fake",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = fake_present,
        .cleanup = fake_cleanup,
        .destroy = fake_destroy,
};
static const struct challenge_ops fake_alpn = {
        .name = "fake",
        .type = CHALLENGE_TYPE_TLSALPN01,
        .present = fake_present,
        .cleanup = fake_cleanup,
        .destroy = fake_destroy,
};
static const struct challenge_ops fake_dns = {
        .name = "fake",
        .type = CHALLENGE_TYPE_DNS01,
        .present = fake_present,
        .cleanup = fake_cleanup,
        .destroy = fake_destroy,
};

static struct fake_inner *
fake_new(struct fixture *fx, const struct challenge_ops *ops)
{
	struct fake_inner *fi = calloc(1, sizeof(*fi));

	assert_non_null(fi);
	challenge_init(&fi->base, ops, fx->loop);
	return fi;
}

static struct challenge_task
task(void)
{
	struct challenge_task t = {
	        .cert_name = "www",
	        .id_type = IDENT_DNS,
	        .identifier = "WWW.example.org",
	        .token = TOKEN,
	        .key_auth = KEY_AUTH,
	};

	return t;
}

/* --- what done saw -------------------------------------------------------------- */

/* A done that asks the store (through reader) for key at once: what was
 * published before done is there. */
struct probe {
	struct cluster *reader;
	enum cluster_answer_kind kind;
	const char *key;
	int calls, gets;
	int rc;
	char message[256];
	char *seen; /* the store's answer asked from done */
};

static void
on_probe_value(const struct cluster_reply *r, const char *value, void *arg)
{
	struct probe *p = arg;

	assert_int_equal(r->rc, CLUSTER_OK);
	free(p->seen);
	p->seen = value != NULL ? strdup(value) : NULL;
	p->gets++;
}

static void
on_probe_done(int rc, const char *message, void *arg)
{
	struct probe *p = arg;

	p->calls++;
	p->rc = rc;
	snprintf(p->message, sizeof(p->message), "%s", message != NULL ? message : "");
	assert_int_equal(cluster_answer_get(p->reader, p->kind, p->key, on_probe_value, p), 0);
}

static void
probe_wait(struct fixture *fx, struct probe *p, double seconds)
{
	int calls = p->calls;

	run_until(fx, &p->gets, calls + 1, seconds);
	assert_int_equal(p->calls, calls + 1);
}

/* --- publishing ------------------------------------------------------------------- */

static void
test_publish_before_done(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	struct fake_inner *fi = fake_new(fx, &fake_http);
	struct challenge *ch = fleet_answers_wrap(fa, &fi->base, false);
	struct challenge_task t = task();
	struct probe p = {.reader = fx->b.c, .kind = CLUSTER_ANSWER_HTTP, .key = TOKEN};

	assert_non_null(ch);
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_HTTP01);
	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	assert_int_equal(p.calls, 0);
	probe_wait(fx, &p, WAIT_S);
	assert_int_equal(p.rc, 0);
	assert_int_equal(fi->presents, 1);
	assert_string_equal(p.seen, KEY_AUTH);

	/* Withdrawn at cleanup, before its done. */
	assert_int_equal(ch->ops->cleanup(ch, &t, on_probe_done, &p), 0);
	probe_wait(fx, &p, WAIT_S);
	assert_int_equal(p.rc, 0);
	assert_int_equal(fi->cleanups, 1);
	assert_null(p.seen);
	challenge_destroy(ch);
	fleet_answers_destroy(fa);
}

static void
test_publish_alpn(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	struct challenge *ch = fleet_answers_wrap(fa, &fake_new(fx, &fake_alpn)->base, false);
	struct challenge_task t = task();
	struct probe p = {.reader = fx->b.c, .kind = CLUSTER_ANSWER_ALPN, .key = "www.example.org"};

	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_TLSALPN01);
	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	probe_wait(fx, &p, WAIT_S);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.seen, KEY_AUTH);
	assert_int_equal(ch->ops->cleanup(ch, &t, on_probe_done, &p), 0);
	probe_wait(fx, &p, WAIT_S);
	assert_null(p.seen);
	challenge_destroy(ch);

	/* dns-01 needs nothing of the fleet: not wrapped. */
	ch = &fake_new(fx, &fake_dns)->base;
	assert_ptr_equal(fleet_answers_wrap(fa, ch, false), ch);
	challenge_destroy(ch);
	fleet_answers_destroy(fa);
}

/* The inner responder failed: its message, nothing published. */
static void
test_inner_fails(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	struct fake_inner *fi = fake_new(fx, &fake_http);
	struct challenge *ch = fleet_answers_wrap(fa, &fi->base, false);
	struct challenge_task t = task();
	struct probe p = {.reader = fx->b.c, .kind = CLUSTER_ANSWER_HTTP, .key = TOKEN};

	fi->rc = -1;
	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	probe_wait(fx, &p, WAIT_S);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.message, "inner failed");
	assert_null(p.seen);
	challenge_destroy(ch);
	fleet_answers_destroy(fa);
}

/* The wrapper goes while its store call is in flight: nothing is called. */
static void
test_destroyed_while_publishing(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	struct challenge *ch = fleet_answers_wrap(fa, &fake_new(fx, &fake_http)->base, false);
	struct challenge_task t = task();
	struct probe p = {.reader = fx->b.c, .kind = CLUSTER_ANSWER_HTTP, .key = TOKEN};

	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	challenge_destroy(ch);
	ch = fleet_answers_wrap(fa, &fake_new(fx, &fake_http)->base, false);
	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	/* The inner's done came, the store's answer not yet. */
	ev_run(fx->loop, EVRUN_NOWAIT);
	challenge_destroy(ch);
	sleep_ms(fx, 100);
	assert_int_equal(p.calls, 0);
	fleet_answers_destroy(fa);
}

/* --- the remote ----------------------------------------------------------------------- */

struct found {
	int calls;
	char *value;
};

static void
on_found(const char *value, void *arg)
{
	struct found *f = arg;

	f->calls++;
	free(f->value);
	f->value = value != NULL ? strdup(value) : NULL;
}

static void
put_answer(struct fixture *fx, enum cluster_answer_kind kind, const char *key, const char *value)
{
	struct result res = {0};

	CALL(fx, &res,
	     cluster_answer_put(fx->b.c, kind, key, value, FLEET_ANSWER_TTL_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	result_reset(&res);
}

static void
test_remote_and_cache(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	const struct challenge_remote *r = fleet_answers_remote(fa);
	struct challenge_lookup *h = NULL;
	struct found f = {0};

	/* A miss is not kept: asked again, found once published. */
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_HTTP01, TOKEN, on_found, &f, &h), 0);
	assert_non_null(h);
	assert_int_equal(f.calls, 0);
	run_until(fx, &f.calls, 1, WAIT_S);
	assert_null(f.value);
	put_answer(fx, CLUSTER_ANSWER_HTTP, TOKEN, KEY_AUTH);
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_HTTP01, TOKEN, on_found, &f, &h), 0);
	assert_non_null(h);
	run_until(fx, &f.calls, 2, WAIT_S);
	assert_string_equal(f.value, KEY_AUTH);

	/* Found: kept, answered at once even once withdrawn. */
	put_answer(fx, CLUSTER_ANSWER_HTTP, TOKEN, NULL);
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_HTTP01, TOKEN, on_found, &f, &h), 0);
	assert_null(h);
	assert_int_equal(f.calls, 3);
	assert_string_equal(f.value, KEY_AUTH);

	/* The kinds apart: a token is no identifier. */
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_TLSALPN01, TOKEN, on_found, &f, &h), 0);
	assert_non_null(h);
	run_until(fx, &f.calls, 4, WAIT_S);
	assert_null(f.value);
	put_answer(fx, CLUSTER_ANSWER_ALPN, "www.example.org", "alpn-answer");
	assert_int_equal(
	        r->lookup(r->ctx, CHALLENGE_TYPE_TLSALPN01, "www.example.org", on_found, &f, &h),
	        0);
	run_until(fx, &f.calls, 5, WAIT_S);
	assert_string_equal(f.value, "alpn-answer");
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_DNS01, TOKEN, on_found, &f, &h), -1);

	/* Cancelled, or fa gone: never answered. */
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_HTTP01, "other", on_found, &f, &h), 0);
	r->cancel(r->ctx, h);
	assert_int_equal(r->lookup(r->ctx, CHALLENGE_TYPE_HTTP01, "third", on_found, &f, &h), 0);
	fleet_answers_destroy(fa);
	sleep_ms(fx, 100);
	assert_int_equal(f.calls, 5);
	free(f.value);
}

/* --- webroot ------------------------------------------------------------------------------ */

static void
webroot_settings(struct conf_settings *s, char *webroot)
{
	memset(s, 0, sizeof(*s));
	s->challenge = CONF_CHALLENGE_HTTP01;
	s->webroot = webroot;
}

static void
beat(struct fixture *fx, struct cluster *c)
{
	struct result res = {0};

	CALL(fx, &res, cluster_beat(c, 60000, 0, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	result_reset(&res);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Who acknowledged TOKEN, as "a,b," (sorted: Redis keeps a set). */
static void
acks_of(struct fixture *fx, char *out, size_t len)
{
	struct result res = {0};
	const char *names[8];
	size_t n;
	size_t used = 0;

	CALL(fx, &res, cluster_acks(fx->a.c, TOKEN, on_list, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	n = json_array_size(res.json);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		names[i] = json_string_value(json_array_get(res.json, i));
	}
	qsort(names, n, sizeof(names[0]), by_name);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		used += (size_t)snprintf(out + used, len - used, "%s,", names[i]);
	}
	result_reset(&res);
}

/* Waits until node b sees TOKEN's answer in the store. */
static void
wait_published(struct fixture *fx)
{
	struct result res = {0};
	bool there = false;

	for (int i = 0; i < 100 && !there; i++) {
		CALL(fx, &res,
		     cluster_answer_get(fx->b.c, CLUSTER_ANSWER_HTTP, TOKEN, on_value, &res));
		there = res.value != NULL;
		result_reset(&res);
		if (!there) {
			sleep_ms(fx, 20);
		}
	}
	assert_true(there);
}

static void
test_webroot_event(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->b.c);
	struct cluster_event ev = {
	        .kind = CLUSTER_EVENT_WEBROOT, .token = TOKEN, .name = "www", .node = "a"};
	struct conf_settings s;
	char *dir = tmpdir_make("fleet-answers");
	char acks[64];
	char *text;

	put_answer(fx, CLUSTER_ANSWER_HTTP, TOKEN, KEY_AUTH);
	/* No such certificate here, or no webroot: nothing. */
	fleet_answers_webroot_event(fa, &ev, NULL);
	webroot_settings(&s, NULL);
	fleet_answers_webroot_event(fa, &ev, &s);
	sleep_ms(fx, 100);
	assert_false(tmpdir_exists(dir, ".well-known"));
	acks_of(fx, acks, sizeof(acks));
	assert_string_equal(acks, "");

	webroot_settings(&s, dir);
	fleet_answers_webroot_event(fa, &ev, &s);
	for (int i = 0; i < 50 && !tmpdir_exists(dir, TOKEN_FILE); i++) {
		sleep_ms(fx, 20);
	}
	text = tmpdir_read(dir, TOKEN_FILE);
	assert_non_null(text);
	assert_string_equal(text, KEY_AUTH);
	free(text);
	sleep_ms(fx, 50);
	acks_of(fx, acks, sizeof(acks));
	assert_string_equal(acks, "b,");

	/* A token that is not one, an answer not there: no file. */
	ev.token = "../../etc/passwd";
	fleet_answers_webroot_event(fa, &ev, &s);
	ev.token = "gone";
	fleet_answers_webroot_event(fa, &ev, &s);
	sleep_ms(fx, 100);
	assert_false(tmpdir_exists(dir, ".well-known/acme-challenge/gone"));

	/* The node going takes its files with it. */
	fleet_answers_destroy(fa);
	assert_false(tmpdir_exists(dir, TOKEN_FILE));
	tmpdir_remove(dir);
	free(dir);
}

/* A webroot the ordering node shares with this one (NFS): the file is
 * there with the answer already; acknowledged, neither written again nor
 * removed by this node (the ordering node's to remove). */
static void
test_webroot_shared(void **state)
{
	struct fixture *fx = *state;
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->b.c);
	struct cluster_event ev = {
	        .kind = CLUSTER_EVENT_WEBROOT, .token = TOKEN, .name = "www", .node = "a"};
	struct conf_settings s;
	char *dir = tmpdir_make("fleet-shared");
	char *file = file_path(dir, TOKEN_FILE, NULL);
	char *cdir = file_path(dir, ".well-known", "acme-challenge", NULL);
	struct stat before, after;
	char acks[64];
	char *text;

	assert_non_null(file);
	assert_non_null(cdir);
	assert_int_equal(file_mkdirs(cdir, 0755), 0);
	put_answer(fx, CLUSTER_ANSWER_HTTP, TOKEN, KEY_AUTH);
	assert_int_equal(file_write_atomic(file, KEY_AUTH, strlen(KEY_AUTH), 0644), 0);
	assert_int_equal(stat(file, &before), 0);
	webroot_settings(&s, dir);
	fleet_answers_webroot_event(fa, &ev, &s);
	for (int i = 0; i < 50; i++) {
		acks_of(fx, acks, sizeof(acks));
		if (strcmp(acks, "b,") == 0) {
			break;
		}
		sleep_ms(fx, 20);
	}
	assert_string_equal(acks, "b,");
	assert_int_equal(stat(file, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* not written again */
	fleet_answers_destroy(fa);
	text = tmpdir_read(dir, TOKEN_FILE);
	assert_non_null(text); /* not removed */
	assert_string_equal(text, KEY_AUTH);
	free(text);
	tmpdir_remove(dir);
	free(dir);
	free(file);
	free(cdir);
}

/* Node a presents a webroot answer; b (and c) write it when told, as the
 * daemon's on_event would have them. */
static void
ack_wait(struct fixture *fx, bool c_answers, double min_s, double max_s, const char *logged)
{
	struct node c = {0};
	struct fleet_answers *fa = fleet_answers_create(fx->loop, fx->a.c);
	struct fleet_answers *fb = fleet_answers_create(fx->loop, fx->b.c);
	struct fleet_answers *fc = NULL;
	struct challenge *ch = fleet_answers_wrap(fa, &fake_new(fx, &fake_http)->base, true);
	struct challenge_task t = task();
	struct probe p = {.reader = fx->b.c, .kind = CLUSTER_ANSWER_HTTP, .key = TOKEN};
	struct cluster_event ev = {
	        .kind = CLUSTER_EVENT_WEBROOT, .token = TOKEN, .name = "www", .node = "a"};
	struct conf_settings s;
	struct capture cap;
	char *dir_b = tmpdir_make("fleet-b");
	char *dir_c = tmpdir_make("fleet-c");
	char acks[64];
	double start;

	node_open(fx, &c, "c", cluster_fixture_key_a);
	fc = fleet_answers_create(fx->loop, c.c);
	beat(fx, fx->a.c);
	beat(fx, fx->b.c);
	beat(fx, c.c);
	capture_begin(&cap, false);
	log_init("test_fleet_answers", LOG_LEVEL_INFO, false);
	fx->a.events = 0;
	start = ev_time();
	assert_int_equal(ch->ops->present(ch, &t, on_probe_done, &p), 0);
	wait_published(fx);
	if (!fx->g->redis) {
		/* Announced (to a itself: a folder has no pub/sub; Redis
		 * delivers once subscribed, test_cluster's matter). */
		run_until(fx, &fx->a.events, 1, WAIT_S);
		assert_int_equal(fx->a.last.kind, CLUSTER_EVENT_WEBROOT);
		assert_string_equal(fx->a.last.token, TOKEN);
		assert_string_equal(fx->a.last.name, "www");
		assert_string_equal(fx->a.last.node, "a");
	}
	assert_int_equal(p.calls, 0);
	webroot_settings(&s, dir_b);
	fleet_answers_webroot_event(fb, &ev, &s);
	if (c_answers) {
		webroot_settings(&s, dir_c);
		fleet_answers_webroot_event(fc, &ev, &s);
	}
	probe_wait(fx, &p, FLEET_ACK_WAIT_S + WAIT_S);
	assert_int_equal(p.rc, 0);
	assert_true(ev_time() - start >= min_s);
	assert_true(ev_time() - start < max_s);
	assert_non_null(strstr(capture_take(&cap), logged));
	capture_end(&cap);
	assert_true(tmpdir_exists(dir_b, TOKEN_FILE));
	assert_int_equal(tmpdir_exists(dir_c, TOKEN_FILE), c_answers);
	acks_of(fx, acks, sizeof(acks));
	assert_string_equal(acks, c_answers ? "a,b,c," : "a,b,");

	challenge_destroy(ch);
	fleet_answers_destroy(fa);
	fleet_answers_destroy(fb);
	fleet_answers_destroy(fc);
	cluster_destroy(c.c);
	tmpdir_remove(dir_b);
	tmpdir_remove(dir_c);
	free(dir_b);
	free(dir_c);
	free(p.seen);
}

static void
test_ack_wait_all(void **state)
{
	ack_wait(*state, true, 0., FLEET_ACK_WAIT_S - 2, "www: all 3 nodes wrote the webroot file");
}

static void
test_ack_wait_silent_node(void **state)
{
	ack_wait(*state, false, FLEET_ACK_WAIT_S, FLEET_ACK_WAIT_S + 3,
	         "www: 2 of 3 nodes acknowledged the webroot file; validating anyway after 10 s");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_publish_before_done, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_publish_alpn, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_inner_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_destroyed_while_publishing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_remote_and_cache, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_event, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_shared, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ack_wait_all, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ack_wait_silent_node, setup, teardown),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("file", tests, group_setup_file, group_teardown);
	failed += cmocka_run_group_tests_name("redis", tests, group_setup_redis, group_teardown);
	return failed;
}
