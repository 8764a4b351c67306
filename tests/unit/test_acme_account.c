#include "acme/acme_account.h"

#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/key.h"
#include "base/file.h"
#include "store/store_lock.h"
#include "fixture.h"

#define DIR_URL "https://ca.example:14000/dir"
#define ACCOUNT_URL "https://ca.example:14000/my-account/1"

struct fixture {
	char root[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	fixture_tmpdir(f->root, sizeof(f->root), "account");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	fixture_rmtree(f->root);
	free(f);
	return 0;
}

/* An account as a registration leaves it: account.key, then account.json
 * with url. Returns the handle's key (new reference). */
static EVP_PKEY *
make_account(const char *root, const char *url)
{
	struct acme_account_handle a;
	EVP_PKEY *key;

	assert_int_equal(acme_account_open(&a, root, DIR_URL, KEY_TYPE_EC_P256), 0);
	assert_true(a.key_created);
	assert_null(a.url);
	assert_int_equal(file_mkdirs(a.dir, 0700), 0);
	assert_int_equal(key_save(a.key, a.key_path), 0);
	a.url = strdup(url);
	assert_non_null(a.url);
	assert_int_equal(acme_account_save(&a, DIR_URL), 0);
	key = a.key;
	EVP_PKEY_up_ref(key);
	acme_account_close(&a);
	return key;
}

static char *
account_file(const char *root, const char *name)
{
	char *path = file_path(root, "accounts", "ca.example_14000", "default", name, NULL);

	assert_non_null(path);
	return path;
}

static void
test_open_saved(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);

	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	assert_false(a.key_created);
	assert_string_equal(a.url, ACCOUNT_URL);
	assert_int_equal(EVP_PKEY_eq(a.key, key), 1);
	acme_account_close(&a);
	EVP_PKEY_free(key);
}

/* Bug: a lost account.key with account.json kept made a new key signing
 * for the old URL, failing every request with a JWS error. */
static void
test_open_lost_key(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);
	char *key_path = account_file(f->root, "account.key");

	assert_int_equal(unlink(key_path), 0);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), -1);
	assert_int_equal(access(key_path, F_OK), -1);
	acme_account_close(&a);
	free(key_path);
	EVP_PKEY_free(key);
}

/* account.json written for another key: its URL is not trusted. */
static void
test_open_other_key(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);
	EVP_PKEY *other = key_generate(KEY_TYPE_EC_P256);
	char *key_path = account_file(f->root, "account.key");

	assert_non_null(other);
	assert_int_equal(key_save(other, key_path), 0);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	assert_false(a.key_created);
	assert_null(a.url);
	assert_int_equal(EVP_PKEY_eq(a.key, other), 1);
	acme_account_close(&a);
	free(key_path);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}

static void
test_open_bad_json(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);
	char *json_path = account_file(f->root, "account.json");

	assert_int_equal(file_write_atomic(json_path, "{\"url\": 1}", 10, 0600), 0);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), -1);
	acme_account_close(&a);
	free(json_path);
	EVP_PKEY_free(key);
}

/* A rollover by another process: the daemon's handle takes the new key
 * with its account.json, and keeps the old one for requests in flight. */
static void
test_reload(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	struct acme_account_handle other;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);
	EVP_PKEY *old;
	EVP_PKEY *new_key = key_generate(KEY_TYPE_EC_P384);
	const char *url;

	assert_non_null(new_key);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	old = a.key;
	url = a.url;
	assert_int_equal(acme_account_reload(&a), 0);
	assert_ptr_equal(a.key, old);
	/* The URL requests in flight sign with stays where it was. */
	assert_ptr_equal(a.url, url);

	assert_int_equal(acme_account_open(&other, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	EVP_PKEY_up_ref(new_key);
	acme_account_set_key(&other, new_key);
	assert_int_equal(key_save(other.key, other.key_path), 0);
	assert_int_equal(acme_account_save(&other, DIR_URL), 0);

	assert_int_equal(acme_account_reload(&a), 1);
	assert_int_equal(EVP_PKEY_eq(a.key, new_key), 1);
	assert_ptr_equal(a.retired[ACME_ACCOUNT_RETIRED - 1], old);
	assert_string_equal(a.url, ACCOUNT_URL);
	assert_int_equal(acme_account_reload(&a), 0);
	acme_account_close(&other);
	acme_account_close(&a);
	EVP_PKEY_free(new_key);
	EVP_PKEY_free(key);
}

/* Half a rollover on disk (account.key new, account.json not yet): the
 * daemon keeps what it has. */
static void
test_reload_half_written(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);
	EVP_PKEY *new_key = key_generate(KEY_TYPE_EC_P256);
	EVP_PKEY *old;

	assert_non_null(new_key);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	old = a.key;
	assert_int_equal(key_save(new_key, a.key_path), 0);
	assert_int_equal(acme_account_reload(&a), -1);
	assert_ptr_equal(a.key, old);
	assert_string_equal(a.url, ACCOUNT_URL);
	acme_account_close(&a);
	EVP_PKEY_free(new_key);
	EVP_PKEY_free(key);
}

static void
test_lock(void **state)
{
	struct fixture *f = *state;
	struct acme_account_handle a;
	struct store_lock *held;
	struct store_lock *second;
	EVP_PKEY *key = make_account(f->root, ACCOUNT_URL);

	held = acme_account_lock(f->root, DIR_URL, false);
	assert_non_null(held);
	/* flock(2) locks belong to the open file: a second one conflicts
	 * even in the same process. */
	second = acme_account_lock(f->root, DIR_URL, false);
	assert_null(second);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(acme_account_open(&a, f->root, DIR_URL, KEY_TYPE_EC_P256), 0);
	assert_non_null(strstr(a.lock_path, "/locks/account.ca.example_14000"));
	assert_int_equal(acme_account_reload(&a), ACME_ACCOUNT_BUSY);
	store_lock_release(held);
	assert_int_equal(acme_account_reload(&a), 0);
	acme_account_close(&a);
	EVP_PKEY_free(key);
}

static void
test_set_key_retires(void **state)
{
	struct acme_account_handle a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.key = key_generate(KEY_TYPE_EC_P256);
	for (int i = 0; i < ACME_ACCOUNT_RETIRED + 2; i++) {
		EVP_PKEY *before = a.key;
		EVP_PKEY *k = key_generate(KEY_TYPE_EC_P256);

		assert_non_null(k);
		acme_account_set_key(&a, k);
		assert_ptr_equal(a.key, k);
		assert_ptr_equal(a.retired[ACME_ACCOUNT_RETIRED - 1], before);
	}
	acme_account_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_saved, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_lost_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_other_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_bad_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload_half_written, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	        cmocka_unit_test(test_set_key_retires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
