/* cmd/fleet_account.c: the CA account one fleet shares, on both backends
 * of the store (cluster_fixture.h): the first node takes the lease on
 * registering it and puts it; the others install it, their own set aside;
 * no node without an account goes on while the store is not usable. */
#include "cmd/fleet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/file.h"
#include "cluster_fixture.h"
#include "store/store_account.h"
#include "tmpdir.h"

#define URL "https://ca.test/directory"
#define HOST "ca.test"
#define KEY_A "-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n"
#define KEY_B "-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n"
#define JSON_A "{\"url\": \"https://ca.test/acct/1\"}"
#define JSON_B "{\"url\": \"https://ca.test/acct/2\"}"

static char *
path_of(const char *dir, enum store_account_file file)
{
	char *path = store_account_path(dir, HOST, file);

	assert_non_null(path);
	return path;
}

static void
write_account(const char *dir, const char *key, const char *json)
{
	char *d = path_of(dir, STORE_ACCOUNT_DIR);
	char *k = path_of(dir, STORE_ACCOUNT_KEY);
	char *j = path_of(dir, STORE_ACCOUNT_JSON);

	assert_int_equal(file_mkdirs(d, 0700), 0);
	assert_int_equal(file_write_atomic(k, key, strlen(key), 0600), 0);
	assert_int_equal(file_write_atomic(j, json, strlen(json), 0600), 0);
	free(d);
	free(k);
	free(j);
}

/* The file's text, or NULL. */
static char *
read_of(const char *dir, enum store_account_file file)
{
	char *path = path_of(dir, file);
	size_t len = 0;
	char *text = file_read(path, 65536, &len);

	free(path);
	return text;
}

static void
fleet_of(struct cmd_fleet *f, struct fixture *fx, struct cluster *c)
{
	memset(f, 0, sizeof(*f));
	f->cluster = c;
	f->loop = fx->loop;
}

static void
test_first_registers_others_take(void **state)
{
	struct fixture *fx = *state;
	struct cmd_fleet fa, fb;
	struct acme_account_handle acct;
	struct result res = {0};
	char *dir_a = tmpdir_make("fleet-account-a");
	char *dir_b = tmpdir_make("fleet-account-b");
	char *text;

	fleet_of(&fa, fx, fx->a.c);
	fleet_of(&fb, fx, fx->b.c);
	/* Nothing in the store: a takes the lease on registering it. */
	assert_int_equal(cmd_fleet_account_pull(&fa, dir_a, URL), 0);
	assert_true(fa.account_token != 0);
	assert_null(read_of(dir_a, STORE_ACCOUNT_KEY));

	/* Registered (as session_account would), then put. */
	write_account(dir_a, KEY_A, JSON_A);
	memset(&acct, 0, sizeof(acct));
	acct.key_path = path_of(dir_a, STORE_ACCOUNT_KEY);
	acct.json_path = path_of(dir_a, STORE_ACCOUNT_JSON);
	cmd_fleet_account_push(&fa, &acct, dir_a, URL);
	assert_int_equal(fa.account_token, 0);
	CALL(fx, &res, cluster_account_get(fx->b.c, HOST, on_account, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_string_equal(res.value, KEY_A);
	assert_string_equal(res.value2, JSON_A);
	result_reset(&res);

	/* b, with no account, installs the fleet's. */
	assert_int_equal(cmd_fleet_account_pull(&fb, dir_b, URL), 0);
	text = read_of(dir_b, STORE_ACCOUNT_KEY);
	assert_non_null(text);
	assert_string_equal(text, KEY_A);
	free(text);
	text = read_of(dir_b, STORE_ACCOUNT_JSON);
	assert_string_equal(text, JSON_A);
	free(text);
	free(acct.key_path);
	free(acct.json_path);
	tmpdir_remove(dir_a);
	tmpdir_remove(dir_b);
	free(dir_a);
	free(dir_b);
}

/* A node that had an account of its own takes the fleet's; its own is set
 * aside, not lost. */
static void
test_own_set_aside(void **state)
{
	struct fixture *fx = *state;
	struct cmd_fleet fb;
	struct result res = {0};
	char *dir_b = tmpdir_make("fleet-account-own");
	char *text;

	CALL(fx, &res, cluster_account_put(fx->a.c, HOST, KEY_A, JSON_A, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	result_reset(&res);
	write_account(dir_b, KEY_B, JSON_B);
	fleet_of(&fb, fx, fx->b.c);
	assert_int_equal(cmd_fleet_account_pull(&fb, dir_b, URL), 0);
	text = read_of(dir_b, STORE_ACCOUNT_KEY);
	assert_string_equal(text, KEY_A);
	free(text);
	text = read_of(dir_b, STORE_ACCOUNT_KEY_LOCAL);
	assert_non_null(text);
	assert_string_equal(text, KEY_B);
	free(text);
	text = read_of(dir_b, STORE_ACCOUNT_JSON_LOCAL);
	assert_string_equal(text, JSON_B);
	free(text);
	tmpdir_remove(dir_b);
	free(dir_b);
}

/* A store this node cannot use (here: set up with another key): without
 * an account of its own it goes no further (it would register one and
 * split the fleet); with one it goes on, its files untouched. */
static void
test_not_usable(void **state)
{
	struct fixture *fx = *state;
	struct node other = {0};
	struct cmd_fleet f;
	char *dir = tmpdir_make("fleet-account-away");
	char *text;

	node_open_bad(fx, &other, "x", cluster_fixture_key_b);
	fleet_of(&f, fx, other.c);
	assert_int_equal(cmd_fleet_account_pull(&f, dir, URL), -1);
	assert_null(read_of(dir, STORE_ACCOUNT_KEY));
	write_account(dir, KEY_B, JSON_B);
	assert_int_equal(cmd_fleet_account_pull(&f, dir, URL), 0);
	text = read_of(dir, STORE_ACCOUNT_KEY);
	assert_string_equal(text, KEY_B);
	free(text);
	assert_null(read_of(dir, STORE_ACCOUNT_KEY_LOCAL));
	cluster_destroy(other.c);
	tmpdir_remove(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_first_registers_others_take, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_own_set_aside, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_usable, setup, teardown),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("file", tests, group_setup_file, group_teardown);
	failed += cmocka_run_group_tests_name("redis", tests, group_setup_redis, group_teardown);
	return failed;
}
