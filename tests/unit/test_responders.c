#include "renew/responders.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/file.h"
#include "challenge_client.h"
#include "store/cluster.h"
#include "tmpdir.h"

struct fixture {
	char *dir;
	struct responders *p;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->dir = tmpdir_make("responders");
	f->p = responders_create(EV_DEFAULT);
	if (f->p == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	responders_destroy(f->p);
	tmpdir_remove(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* http-01 settings answering from a webroot under the test's folder. */
static void
webroot_settings(struct conf_settings *s, const struct fixture *f, const char *sub)
{
	char err[256];
	char *path = file_path(f->dir, sub, NULL);

	memset(s, 0, sizeof(*s));
	assert_non_null(path);
	assert_int_equal(conf_set(s, CONF_WHERE_CERT, "challenge", "http-01", err, sizeof(err)), 0);
	assert_int_equal(conf_set(s, CONF_WHERE_CERT, "webroot", path, err, sizeof(err)), 0);
	free(path);
}

static void
test_equal_settings_share(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;
	struct challenge *one;
	char err[256];

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "www");
	/* What the responder does not depend on does not split it. */
	assert_int_equal(
	        conf_set(&b, CONF_WHERE_CERT, "deploy-hook", "/bin/true", err, sizeof(err)), 0);
	assert_int_equal(responders_count(f->p), 0);
	one = responders_get(f->p, &a);
	assert_non_null(one);
	assert_int_equal(responders_count(f->p), 1);
	assert_ptr_equal(responders_get(f->p, &b), one);
	assert_ptr_equal(responders_get(f->p, &a), one);
	assert_int_equal(responders_count(f->p), 1);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
}

static void
test_different_settings_apart(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;
	struct conf_settings dns;
	struct challenge *one;
	struct challenge *two;
	struct challenge *three;
	char err[256];

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "other");
	memset(&dns, 0, sizeof(dns));
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "challenge", "dns-01", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "dns-hook", "/bin/true", err, sizeof(err)),
	                 0);
	one = responders_get(f->p, &a);
	two = responders_get(f->p, &b);
	three = responders_get(f->p, &dns);
	assert_non_null(one);
	assert_non_null(two);
	assert_non_null(three);
	assert_ptr_not_equal(one, two);
	assert_ptr_not_equal(one, three);
	assert_ptr_not_equal(two, three);
	assert_int_equal(responders_count(f->p), 3);
	/* Each still found again. */
	assert_ptr_equal(responders_get(f->p, &b), two);
	assert_ptr_equal(responders_get(f->p, &dns), three);
	assert_int_equal(responders_count(f->p), 3);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
	conf_settings_finish(&dns);
}

static void
test_no_responder(void **state)
{
	struct fixture *f = *state;
	struct conf_settings s;
	char err[256];

	/* dns-01 without a dns-hook: none to make, nothing kept. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_CERT, "challenge", "dns-01", err, sizeof(err)), 0);
	assert_null(responders_get(f->p, &s));
	assert_int_equal(responders_count(f->p), 0);
	conf_settings_finish(&s);
}

static void
test_close(void **state)
{
	struct fixture *f = *state;
	struct conf_settings a;
	struct conf_settings b;

	webroot_settings(&a, f, "www");
	webroot_settings(&b, f, "other");
	assert_non_null(responders_get(f->p, &a));
	assert_non_null(responders_get(f->p, &b));
	assert_int_equal(responders_count(f->p), 2);
	responders_close(f->p);
	assert_int_equal(responders_count(f->p), 0);
	/* Closing an empty set is harmless; the next get opens anew. */
	responders_close(f->p);
	assert_int_equal(responders_count(f->p), 0);
	assert_non_null(responders_get(f->p, &a));
	assert_int_equal(responders_count(f->p), 1);
	conf_settings_finish(&a);
	conf_settings_finish(&b);
	responders_destroy(NULL);
}

static bool
not_connecting(struct cluster *c)
{
	return cluster_state(c, NULL) != CLUSTER_STATE_CONNECTING;
}

static void
on_put(const struct cluster_reply *r, void *arg)
{
	assert_int_equal(r->rc, CLUSTER_OK);
	*(bool *)arg = true;
}

/* Fleet mode: wrapped responders kept open, the standalone one answering
 * a token another node published. */
static void
test_fleet(void **state)
{
	struct fixture *f = *state;
	struct cluster_config config = {.node = "n1"};
	struct conf_settings www, http, dns;
	struct client_http h;
	struct cluster *c;
	struct challenge *ch;
	char url[512], listen[64], err[256];
	int port = client_free_port();
	bool put = false;
	bool ready = false;

	snprintf(url, sizeof(url), "file://%s/store", f->dir);
	config.url = url;
	c = cluster_create(EV_DEFAULT, &config, err, sizeof(err));
	assert_non_null(c);
	while (!ready) {
		ev_run(EV_DEFAULT, EVRUN_ONCE);
		ready = not_connecting(c);
	}
	assert_true(cluster_up(c));
	webroot_settings(&www, f, "www");
	assert_non_null(responders_get(f->p, &www));
	assert_int_equal(responders_set_fleet(f->p, c), 0);
	assert_int_equal(responders_count(f->p), 0);

	ch = responders_get(f->p, &www);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "fleet http-01");
	memset(&http, 0, sizeof(http));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	assert_int_equal(conf_set(&http, CONF_WHERE_CERT, "http-listen", listen, err, sizeof(err)),
	                 0);
	responders_open(f->p, &http);
	memset(&dns, 0, sizeof(dns));
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "challenge", "dns-01", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&dns, CONF_WHERE_CERT, "dns-hook", "/bin/true", err, sizeof(err)),
	                 0);
	ch = responders_get(f->p, &dns);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "dns-hook");
	assert_int_equal(responders_count(f->p), 3);
	/* Open on the same port again: the one there is found, none bound. */
	responders_open(f->p, &http);
	responders_close(f->p);
	assert_int_equal(responders_count(f->p), 3);

	assert_int_equal(
	        cluster_answer_put(c, CLUSTER_ANSWER_HTTP, TOKEN, KEY_AUTH, 60000, on_put, &put),
	        0);
	client_run_until(EV_DEFAULT, &put, 5.);
	client_http_start(EV_DEFAULT, &h, port, "GET", "/.well-known/acme-challenge/" TOKEN);
	assert_non_null(strstr(client_http_finish(&h), "\r\n\r\n" KEY_AUTH));

	responders_destroy(f->p);
	f->p = NULL;
	cluster_destroy(c);
	conf_settings_finish(&www);
	conf_settings_finish(&http);
	conf_settings_finish(&dns);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_equal_settings_share, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_different_settings_apart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_responder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_close, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fleet, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
