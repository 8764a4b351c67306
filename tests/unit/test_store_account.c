#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_account.h"

static void
check(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_paths(void **state)
{
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_ROOT), "/s/accounts");
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_DIR),
	      "/s/accounts/ca.example/default");
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_KEY),
	      "/s/accounts/ca.example/default/account.key");
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_JSON),
	      "/s/accounts/ca.example/default/account.json");
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_KEY_NEW),
	      "/s/accounts/ca.example/default/account.key.new");
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_KEY_PREV),
	      "/s/accounts/ca.example/default/account.key.prev");
	/* Beside the certificates' locks, not under accounts/. */
	check(store_account_path("/s", "ca.example", STORE_ACCOUNT_LOCK),
	      "/s/locks/account.ca.example");
	assert_null(store_account_path("/s", "ca.example", STORE_ACCOUNT_FILE__MAX));
}

static void
test_in_folder(void **state)
{
	check(store_account_in("/a/b", STORE_ACCOUNT_KEY_NEW), "/a/b/account.key.new");
	check(store_account_in("/a/b", STORE_ACCOUNT_KEY_PREV), "/a/b/account.key.prev");
	/* Names that are not files in the folder have no path there. */
	assert_null(store_account_in("/a/b", STORE_ACCOUNT_DIR));
	assert_null(store_account_in("/a/b", STORE_ACCOUNT_LOCK));
	assert_null(store_account_in("/a/b", STORE_ACCOUNT_ROOT));
}

static void
test_too_long(void **state)
{
	char host[300];

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	/* A lock name that does not fit is refused, not cut short. */
	assert_null(store_account_path("/s", host, STORE_ACCOUNT_LOCK));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_paths),
	        cmocka_unit_test(test_in_folder),
	        cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
