/* conf_verify.c through conf_load: the dns-01 keys against each other and
 * against the challenge (the operator trial of #18), and conf_resolve's
 * replacing of one way of answering a challenge by another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf_file.h"

#include "conf/conf.h"

#define MAX_EXPECTED 4

/* A file and its errors, each "LINE: message" (the path is added). */
struct bad_case {
	const char *text;
	const char *errors[MAX_EXPECTED];
};

static void
check_bad(const struct bad_case *c)
{
	char expected[2048];
	struct conf conf;
	size_t n = 0;

	while (n < MAX_EXPECTED && c->errors[n] != NULL) {
		n++;
	}
	conf_file_write(c->text);
	conf_init(&conf);
	if (conf_load(&conf, conf_file_path) != -1 || conf.n_errors != n) {
		print_error("config:\n%s\nexpected %zu errors, got %zu:\n", c->text, n,
		            conf.n_errors);
		for (size_t i = 0; i < conf.n_errors; i++) {
			print_error("  %s\n", conf.errors[i]);
		}
		fail();
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(expected, sizeof(expected), "%s:%s", conf_file_path, c->errors[i]);
		assert_string_equal(conf.errors[i], expected);
	}
	conf_finish(&conf);
}

static void
check_good(const char *text)
{
	struct conf conf;

	conf_file_write(text);
	conf_init(&conf);
	if (conf_load(&conf, conf_file_path) != 0) {
		print_error("config:\n%s\n", text);
		for (size_t i = 0; i < conf.n_errors; i++) {
			print_error("  %s\n", conf.errors[i]);
		}
		fail();
	}
	conf_finish(&conf);
}

/* dns-hook and dns-update in one scope: said on the later line, whatever
 * the challenge and whether sections follow (check --syntax missed the
 * global pair). */
static void
test_hook_and_update(void **state)
{
	static const struct bad_case cases[] = {
	        {"challenge = dns-01\ndns-hook = /bin/true\ndns-update = 127.0.0.1\n"
	         "[cert a]\ndomains = a.example\n",
	         {"3: dns-update: dns-hook is set too (line 2): keep one of them (both would set "
	          "the dns-01 record)"}},
	        {"[cert a]\ndomains = a.example\nchallenge = dns-01\ndns-update = 127.0.0.1\n"
	         "dns-hook = /bin/true\n",
	         {"5: dns-hook: dns-update is set too (line 4): keep one of them (both would set "
	          "the dns-01 record)"}},
	        {"dns-update = 127.0.0.1:5353\nstate-dir = /tmp\ndns-hook = /bin/true\n"
	         "challenge = dns-01\n",
	         {"3: dns-hook: dns-update is set too (line 1): keep one of them (both would set "
	          "the dns-01 record)"}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_bad(&cases[i]);
	}
}

/* The dns-01 keys in a section whose challenge is another, and a
 * dns-update-key without dns-update. */
static void
test_dns_keys_need_dns01(void **state)
{
	static const struct bad_case cases[] = {
	        {"[cert a]\ndomains = a.example\nchallenge = http-01\ndns-hook = /bin/true\n",
	         {"4: dns-hook needs challenge = dns-01 (challenge is http-01)"}},
	        /* The default challenge is http-01: a section's dns-hook alone
	         * says dns-01 was meant. */
	        {"[cert a]\ndomains = a.example\ndns-update = 127.0.0.1\n",
	         {"3: dns-update needs challenge = dns-01 (challenge is http-01)"}},
	        {"challenge = tls-alpn-01\n[cert a]\ndomains = a.example\n"
	         "dns-update-key = /etc/k.key\n",
	         {"4: dns-update-key needs challenge = dns-01 (challenge is tls-alpn-01)"}},
	        {"[cert a]\ndomains = a.example\nchallenge = dns-01\ndns-hook = /bin/true\n"
	         "dns-update-key = /etc/k.key\n",
	         {"5: dns-update-key needs dns-update, and this section's dns-hook (line 4) "
	          "replaces it: keep one of them"}},
	        {"[cert a]\ndomains = a.example\nchallenge = dns-persist-01\n"
	         "dns-update-key = /etc/k.key\n",
	         {"4: dns-update-key needs challenge = dns-01 (challenge is dns-persist-01)"}},
	        {"dns-update-key = /etc/k.key\ndns-hook = /bin/true\nchallenge = dns-01\n"
	         "[cert a]\ndomains = a.example\n",
	         {"1: dns-update-key needs dns-update = SERVER (the primary server the key signs "
	          "updates for)"}},
	        /* A global key against the global challenge, no section using
	         * dns-01. */
	        {"challenge = http-01\ndns-hook = /bin/true\n[cert a]\ndomains = a.example\n",
	         {"2: dns-hook needs challenge = dns-01 (challenge is http-01, and no [cert] "
	          "section with dns-01 uses it)"}},
	        {"challenge = http-01\ndns-hook = /bin/true\n",
	         {"2: dns-hook needs challenge = dns-01 (challenge is http-01, and no [cert] "
	          "section with dns-01 uses it)"}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_bad(&cases[i]);
	}
}

/* What stays legitimate: a global setter some sections use, a section's
 * setter replacing the global other, the key beside a global server. */
static void
test_dns_keys_fine(void **state)
{
	(void)state;
	check_good("challenge = http-01\ndns-hook = /bin/true\n[cert a]\ndomains = a.example\n"
	           "[cert b]\ndomains = *.b.example\nchallenge = dns-01\n");
	check_good("dns-hook = /bin/true\n[cert a]\ndomains = a.example\n");
	check_good("challenge = dns-01\ndns-hook = /bin/true\n[cert a]\ndomains = a.example\n"
	           "[cert b]\ndomains = b.example\ndns-update = 127.0.0.1\n"
	           "dns-update-key = /etc/k.key\n");
	check_good("challenge = dns-01\ndns-update = ns1.example:5353\n"
	           "dns-update-key = /etc/k.key\n[cert a]\ndomains = a.example\n"
	           "[cert b]\ndomains = b.example\ndns-hook = /bin/true\n");
	check_good("dns-update-key = /etc/k.key\n[cert a]\ndomains = a.example\n"
	           "challenge = dns-01\ndns-update = [::1]:53\n");
	check_good("challenge = dns-01\ndns-hook = /bin/true\n"
	           "dns-propagation-servers = 127.0.0.1:5353 [::1]:53\n[cert a]\n"
	           "domains = a.example\n");
}

/* A section's or the command line's way of answering replaces the one
 * below it: dns-hook drops dns-update, dns-update drops dns-hook (the
 * global dns-update-key kept), webroot drops http-hook. */
static void
test_resolve_replaces_method(void **state)
{
	struct conf_settings cli = {0};
	struct conf_settings out;
	struct conf conf;
	char err[256];

	(void)state;
	conf_file_write("challenge = dns-01\ndns-update = 127.0.0.1\ndns-update-key = /etc/k.key\n"
	                "[cert a]\ndomains = a.example\n"
	                "[cert b]\ndomains = b.example\ndns-hook = /bin/hook\n"
	                "[cert c]\ndomains = c.example\nchallenge = http-01\nhttp-hook = /bin/h\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);

	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &out), 0);
	assert_string_equal(out.dns_update, "127.0.0.1");
	assert_string_equal(out.dns_update_key, "/etc/k.key");
	assert_null(out.dns_hook);
	conf_settings_finish(&out);

	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &out), 0);
	assert_string_equal(out.dns_hook, "/bin/hook");
	assert_null(out.dns_update);
	assert_int_equal(out.set & ((uint64_t)1 << CONF_KEY_DNS_UPDATE), 0);
	conf_settings_finish(&out);

	/* acmed cert --dns-hook over a configured dns-update. */
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "dns-hook", "/bin/cli", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], &cli, &out), 0);
	assert_string_equal(out.dns_hook, "/bin/cli");
	assert_null(out.dns_update);
	conf_settings_finish(&out);
	conf_settings_finish(&cli);

	/* acmed cert --dns-update over a section's dns-hook: the global key
	 * stays; --webroot over a section's http-hook. */
	memset(&cli, 0, sizeof(cli));
	assert_int_equal(
	        conf_set(&cli, CONF_WHERE_CLI, "dns-update", "192.0.2.1:53", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "webroot", "/srv", err, sizeof(err)), 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], &cli, &out), 0);
	assert_null(out.dns_hook);
	assert_string_equal(out.dns_update, "192.0.2.1:53");
	assert_string_equal(out.dns_update_key, "/etc/k.key");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve(&conf, &conf.certs[2], &cli, &out), 0);
	assert_null(out.http_hook);
	assert_string_equal(out.webroot, "/srv");
	conf_settings_finish(&out);
	conf_settings_finish(&cli);
	conf_finish(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hook_and_update),
	        cmocka_unit_test(test_dns_keys_need_dns01),
	        cmocka_unit_test(test_dns_keys_fine),
	        cmocka_unit_test(test_resolve_replaces_method),
	};

	return cmocka_run_group_tests(tests, conf_file_setup, conf_file_teardown);
}
