#include "io/redis.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct good {
	const char *url;
	const char *host;
	int port;
	int db;
};

static void
test_good(void **state)
{
	static const struct good cases[] = {
	        {"redis://127.0.0.1", "127.0.0.1", 6379, 0},
	        {"redis://127.0.0.1:7000", "127.0.0.1", 7000, 0},
	        {"redis://cache.example.org:1/15", "cache.example.org", 1, 15},
	        {"redis://h_1-2/3", "h_1-2", 6379, 3},
	        {"redis://h:65535/", "h", 65535, 0},
	        {"REDIS://h:6380/0", "h", 6380, 0},
	        {"redis://[::1]", "::1", 6379, 0},
	        {"redis://[::1]:6390/2", "::1", 6390, 2},
	        {"redis://[fe80::1:2]:10/1", "fe80::1:2", 10, 1},
	        {"redis://h:007/08", "h", 7, 8},
	};
	struct redis_address a;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(redis_url_parse(cases[i].url, &a, err, sizeof(err)), 0);
		assert_string_equal(a.host, cases[i].host);
		assert_int_equal(a.port, cases[i].port);
		assert_int_equal(a.db, cases[i].db);
		assert_string_equal(err, "");
	}
}

struct bad {
	const char *url;
	const char *err; /* a part of the reason */
};

static void
test_bad(void **state)
{
	static const struct bad cases[] = {
	        {"", "redis://HOST"},
	        {"http://h", "redis://HOST"},
	        {"redis:/h", "redis://HOST"},
	        {"rediss://h", "TLS"},
	        {"redis://", "no host"},
	        {"redis://:6379", "no host"},
	        {"redis:///1", "no host"},
	        {"redis://h:", "port"},
	        {"redis://h:0", "port"},
	        {"redis://h:65536", "port"},
	        {"redis://h:123456", "port"},
	        {"redis://h:-1", "port"},
	        {"redis://h:+1", "port"},
	        {"redis://h:12x", "unexpected"},
	        {"redis://h/16", "database"},
	        {"redis://h/-1", "database"},
	        {"redis://h/x", "database"},
	        {"redis://h/1/2", "unexpected"},
	        {"redis://h/1?timeout=3", "unexpected"},
	        {"redis://h:1 ", "unexpected"},
	        {"redis://h h", "not allowed"},
	        {"redis://h?x", "not allowed"},
	        {"redis://user:secret@h", "cluster-password-file"},
	        {"redis://:secret@h:6379", "cluster-password-file"},
	        {"redis://[::1", "brackets"},
	        {"redis://[]", "brackets"},
	        {"redis://[not-v6]", "not an IPv6 address"},
	        {"redis://[::1]x", "unexpected"},
	        {"redis://::1", "no host"},
	};
	struct redis_address a;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (redis_url_parse(cases[i].url, &a, err, sizeof(err)) != -1) {
			fail_msg("accepted: \"%s\"", cases[i].url);
		}
		if (strstr(err, cases[i].err) == NULL) {
			fail_msg("\"%s\": \"%s\" does not say \"%s\"", cases[i].url, err,
			         cases[i].err);
		}
		/* A password in the address never reaches the reason (it is logged). */
		assert_null(strstr(err, "secret"));
	}
}

static void
test_long_host(void **state)
{
	char url[400];
	struct redis_address a;
	char err[256];

	memset(url, 'a', sizeof(url));
	memcpy(url, "redis://", 8);
	url[8 + 255] = '\0';
	assert_int_equal(redis_url_parse(url, &a, err, sizeof(err)), 0);
	assert_int_equal(strlen(a.host), 255);
	url[8 + 255] = 'a';
	url[8 + 256] = '\0';
	assert_int_equal(redis_url_parse(url, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(redis_url_parse(NULL, &a, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good),
	        cmocka_unit_test(test_bad),
	        cmocka_unit_test(test_long_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
