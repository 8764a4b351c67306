#include "challenge/select.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Each combination of challenge, hooks and webroot, and what it picks. */
static void
test_pick(void **state)
{
	char dns_hook[] = "/usr/bin/dns";
	char http_hook[] = "/usr/bin/http";
	char webroot[] = "/var/www";
	static const struct {
		enum conf_challenge challenge;
		bool dns_hook, http_hook, webroot;
		enum challenge_responder want;
		const char *why;
	} cases[] = {
	        {CONF_CHALLENGE_HTTP01, false, false, false, CHALLENGE_RESPONDER_STANDALONE, NULL},
	        {CONF_CHALLENGE_HTTP01, false, false, true, CHALLENGE_RESPONDER_WEBROOT, NULL},
	        {CONF_CHALLENGE_HTTP01, false, true, false, CHALLENGE_RESPONDER_HTTP_HOOK, NULL},
	        {CONF_CHALLENGE_HTTP01, false, true, true, CHALLENGE_RESPONDER_HTTP_HOOK, NULL},
	        {CONF_CHALLENGE_HTTP01, true, false, false, CHALLENGE_RESPONDER_STANDALONE, NULL},
	        {CONF_CHALLENGE_DNS01, false, false, false, CHALLENGE_RESPONDER_NONE,
	         "dns-01 needs a hook or a server: set dns-hook (--dns-hook) or dns-update"},
	        {CONF_CHALLENGE_DNS01, false, true, true, CHALLENGE_RESPONDER_NONE,
	         "dns-01 needs a hook or a server: set dns-hook (--dns-hook) or dns-update"},
	        {CONF_CHALLENGE_DNS01, true, false, false, CHALLENGE_RESPONDER_DNS_HOOK, NULL},
	        {CONF_CHALLENGE_DNS01, true, true, true, CHALLENGE_RESPONDER_DNS_HOOK, NULL},
	        {CONF_CHALLENGE_TLSALPN01, false, false, false, CHALLENGE_RESPONDER_TLS_ALPN, NULL},
	        {CONF_CHALLENGE_TLSALPN01, true, true, true, CHALLENGE_RESPONDER_TLS_ALPN, NULL},
	        {CONF_CHALLENGE_DNSPERSIST01, false, false, false, CHALLENGE_RESPONDER_DNS_PERSIST,
	         NULL},
	        {CONF_CHALLENGE_DNSPERSIST01, true, true, true, CHALLENGE_RESPONDER_DNS_PERSIST,
	         NULL},
	        {CONF_CHALLENGE__MAX, false, false, false, CHALLENGE_RESPONDER_NONE,
	         "unknown challenge type: set challenge to http-01, dns-01, tls-alpn-01 or "
	         "dns-persist-01"},
	};
	struct conf_settings s;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.challenge = cases[i].challenge;
		s.dns_hook = cases[i].dns_hook ? dns_hook : NULL;
		s.http_hook = cases[i].http_hook ? http_hook : NULL;
		s.webroot = cases[i].webroot ? webroot : NULL;
		why = "unset";
		assert_int_equal(challenge_pick(&s, &why), cases[i].want);
		if (cases[i].why == NULL) {
			assert_null(why);
		} else {
			assert_string_equal(why, cases[i].why);
		}
		/* why may be NULL. */
		assert_int_equal(challenge_pick(&s, NULL), cases[i].want);
	}
}

/* dns-update is the other dns-01 responder; both set is an error. */
static void
test_pick_dns_update(void **state)
{
	char hook[] = "/bin/dns";
	char server[] = "127.0.0.1:5353";
	struct conf_settings s;
	const char *why = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.challenge = CONF_CHALLENGE_DNS01;
	s.dns_update = server;
	assert_int_equal(challenge_pick(&s, &why), CHALLENGE_RESPONDER_DNS_UPDATE);
	assert_null(why);
	s.dns_hook = hook;
	assert_int_equal(challenge_pick(&s, &why), CHALLENGE_RESPONDER_NONE);
	assert_string_equal(why, "dns-01: dns-hook and dns-update are both set: keep one of them");
	/* Not for http-01. */
	s.challenge = CONF_CHALLENGE_HTTP01;
	s.dns_hook = NULL;
	assert_int_equal(challenge_pick(&s, NULL), CHALLENGE_RESPONDER_STANDALONE);
}

/* Responders of other servers, keys, resolvers or propagation timeouts
 * are not shared. */
static void
test_key_dns(void **state)
{
	char server1[] = "127.0.0.1:5353";
	char server2[] = "127.0.0.2:5353";
	char key1[] = "/etc/acmed/a.key";
	char key2[] = "/etc/acmed/b.key";
	char resolver[] = "127.0.0.1:53";
	char hook[] = "/bin/dns";
	struct conf_settings a;
	struct conf_settings b;
	char *ka;
	char *kb;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.challenge = CONF_CHALLENGE_DNS01;
	a.dns_update = server1;
	a.dns_update_key = key1;
	a.dns_propagation_timeout = 120;
	b = a;
	ka = challenge_key(&a);
	kb = challenge_key(&b);
	assert_string_equal(ka, kb);
	free(kb);
	b.dns_update = server2;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.dns_update_key = key2;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.dns_resolver = resolver;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.dns_propagation_timeout = 0;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.dns_update = NULL;
	b.dns_hook = hook;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	free(ka);
}

/* An empty string is not set. */
static void
test_pick_empty(void **state)
{
	char empty[] = "";
	struct conf_settings s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.challenge = CONF_CHALLENGE_HTTP01;
	s.http_hook = empty;
	s.webroot = empty;
	assert_int_equal(challenge_pick(&s, NULL), CHALLENGE_RESPONDER_STANDALONE);
	s.challenge = CONF_CHALLENGE_DNS01;
	s.dns_hook = empty;
	assert_int_equal(challenge_pick(&s, NULL), CHALLENGE_RESPONDER_NONE);
}

static void
test_listen_address(void **state)
{
	char http[] = "127.0.0.1:8080";
	char tls[] = "[::1]:8443";
	char empty[] = "";
	struct conf_settings s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_string_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_STANDALONE),
	                    "[::]:80");
	assert_string_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_TLS_ALPN), "[::]:443");
	s.http_listen = empty;
	s.tls_listen = empty;
	assert_string_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_STANDALONE),
	                    "[::]:80");
	assert_string_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_TLS_ALPN), "[::]:443");
	s.http_listen = http;
	s.tls_listen = tls;
	assert_ptr_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_STANDALONE), http);
	assert_ptr_equal(challenge_listen_address(&s, CHALLENGE_RESPONDER_TLS_ALPN), tls);
	for (int r = CHALLENGE_RESPONDER_NONE; r <= CHALLENGE_RESPONDER_WEBROOT; r++) {
		assert_null(challenge_listen_address(&s, (enum challenge_responder)r));
	}
	assert_null(challenge_listen_address(&s, CHALLENGE_RESPONDER__MAX));
}

/* Whether two settings give the same key. */
static bool
same_key(const struct conf_settings *a, const struct conf_settings *b)
{
	char *ka = challenge_key(a);
	char *kb = challenge_key(b);
	bool same;

	assert_non_null(ka);
	assert_non_null(kb);
	same = strcmp(ka, kb) == 0;
	free(ka);
	free(kb);
	return same;
}

/* Equal keys for settings that make one responder, for each responder. */
static void
test_key(void **state)
{
	char hook1[] = "/usr/bin/a";
	char hook2[] = "/usr/bin/b";
	char root1[] = "/var/www/a";
	char root2[] = "/var/www/b";
	char p443[] = "443";
	char any443[] = "[::0]:00443";
	char lo443[] = "127.0.0.1:443";
	char bad[] = "nonsense";
	struct conf_settings a;
	struct conf_settings b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.hook_timeout = 120;

	/* dns-hook: the program, the timeout (0 is the default 120) and
	 * dns-wait count; webroot and http-hook do not. */
	a.challenge = CONF_CHALLENGE_DNS01;
	a.dns_hook = hook1;
	b = a;
	b.hook_timeout = 0;
	b.webroot = root1;
	b.http_hook = hook2;
	assert_true(same_key(&a, &b));
	b.hook_timeout = 60;
	assert_false(same_key(&a, &b));
	b = a;
	b.dns_wait = 5;
	assert_false(same_key(&a, &b));
	b = a;
	b.dns_hook = hook2;
	assert_false(same_key(&a, &b));

	/* Without a hook: none, per challenge. */
	a.dns_hook = NULL;
	b = a;
	b.webroot = root1;
	assert_true(same_key(&a, &b));

	/* http-hook against the same program for dns-01. */
	b = a;
	b.challenge = CONF_CHALLENGE_HTTP01;
	b.http_hook = hook1;
	a.dns_hook = hook1;
	assert_false(same_key(&a, &b));
	a = b;
	a.webroot = root1; /* the hook wins */
	assert_true(same_key(&a, &b));
	a.hook_timeout = 30;
	assert_false(same_key(&a, &b));

	/* webroot. */
	memset(&a, 0, sizeof(a));
	a.webroot = root1;
	b = a;
	assert_true(same_key(&a, &b));
	b.webroot = root2;
	assert_false(same_key(&a, &b));
	b.webroot = NULL;
	assert_false(same_key(&a, &b)); /* standalone */

	/* tls-alpn: one spelling per address; standalone on the same
	 * address is another responder. */
	memset(&a, 0, sizeof(a));
	a.challenge = CONF_CHALLENGE_TLSALPN01;
	b = a;
	b.tls_listen = p443;
	assert_true(same_key(&a, &b));
	b.tls_listen = any443;
	assert_true(same_key(&a, &b));
	b.tls_listen = lo443;
	assert_false(same_key(&a, &b));
	b = a;
	b.challenge = CONF_CHALLENGE_HTTP01;
	b.http_listen = any443;
	assert_false(same_key(&a, &b));
	/* One that does not parse is itself. */
	a.tls_listen = bad;
	b = a;
	assert_true(same_key(&a, &b));

	assert_null(challenge_key(NULL));
}

/* Moved from test_challenge.c: the listen address, webroot and hooks in
 * the key. */
static void
test_key_listen(void **state)
{
	struct conf_settings a;
	struct conf_settings b;
	char port[] = "8080";
	char any[] = "[::]:8080";
	char any80[] = "[::]:80";
	char lo[] = "127.0.0.1:8080";
	char root1[] = "/var/www/a";
	char root2[] = "/var/www/b";
	char hook[] = "/usr/bin/dns";
	char *ka;
	char *kb;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.hook_timeout = b.hook_timeout = 120;

	/* The default listen is "[::]:80"; "PORT" is "[::]:PORT". */
	ka = challenge_key(&a);
	b.http_listen = any80;
	kb = challenge_key(&b);
	assert_string_equal(ka, kb);
	free(ka);
	free(kb);
	a.http_listen = port;
	b.http_listen = any;
	ka = challenge_key(&a);
	kb = challenge_key(&b);
	assert_string_equal(ka, kb);
	free(kb);
	b.http_listen = lo;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(ka);
	free(kb);

	/* Equal webroots share; others do not; webroot is not standalone. */
	a.webroot = root1;
	b.webroot = root1;
	ka = challenge_key(&a);
	kb = challenge_key(&b);
	assert_string_equal(ka, kb);
	free(kb);
	b.webroot = root2;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(ka);
	free(kb);

	/* dns-01 differs from http-01 with the same hook; dns-wait counts. */
	a.webroot = b.webroot = NULL;
	a.challenge = CONF_CHALLENGE_DNS01;
	a.dns_hook = hook;
	b.http_hook = hook;
	ka = challenge_key(&a);
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.dns_wait = 30;
	kb = challenge_key(&b);
	assert_string_not_equal(ka, kb);
	free(ka);
	free(kb);
	assert_null(challenge_key(NULL));
}

/* challenge_create names the key to set when there is no responder. */
static void
test_create_none(void **state)
{
	struct conf_settings s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.challenge = CONF_CHALLENGE__MAX;
	assert_null(challenge_create(NULL, &s));
	assert_null(challenge_create(NULL, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pick),
	        cmocka_unit_test(test_pick_empty),
	        cmocka_unit_test(test_pick_dns_update),
	        cmocka_unit_test(test_key_dns),
	        cmocka_unit_test(test_listen_address),
	        cmocka_unit_test(test_key),
	        cmocka_unit_test(test_key_listen),
	        cmocka_unit_test(test_create_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
