#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_file.h"

#include "conf/conf.h"

#define MAX_EXPECTED 8

/* A config file and the errors it must give, each "LINE: message" (the
 * path is added by the test). */
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
	size_t i;

	while (n < MAX_EXPECTED && c->errors[n] != NULL) {
		n++;
	}
	conf_file_write(c->text);
	conf_init(&conf);
	if (conf_load(&conf, conf_file_path) != -1 || conf.n_errors != n) {
		print_error("config:\n%s\nexpected %zu errors, got %zu:\n", c->text, n,
		            conf.n_errors);
		for (i = 0; i < conf.n_errors; i++) {
			print_error("  %s\n", conf.errors[i]);
		}
		fail();
	}
	for (i = 0; i < n; i++) {
		snprintf(expected, sizeof(expected), "%s:%s", conf_file_path, c->errors[i]);
		if (strcmp(conf.errors[i], expected) != 0) {
			print_error("config:\n%s\n", c->text);
		}
		assert_string_equal(conf.errors[i], expected);
	}
	conf_finish(&conf);
}

static void
check_bad_cases(const struct bad_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		check_bad(&cases[i]);
	}
}

#define CHECK_BAD(cases) check_bad_cases(cases, sizeof(cases) / sizeof(cases[0]))

static const char good_conf[] = "# acmed.conf\n"
                                "ca = letsencrypt-staging\n"
                                "email = ops@example.com, mailto:Admin@Example.com\n"
                                "agree-tos = yes\n"
                                "key-type = ec-p384\n"
                                "renew-before = 30d   # a comment\n"
                                "\tchallenge=http-01\n"
                                "webroot = /var/www/acme\n"
                                "deploy-hook = systemctl reload nginx#not-a-comment # a comment\n"
                                "concurrency = 8\n"
                                "new-order-concurrency = 4\n"
                                "state-dir = /tmp/acmed-state\n"
                                "control-socket = /run/acmed/ctl\n"
                                "hook-timeout = 5m\r\n"
                                "\n"
                                "[cert www]\n"
                                "domains = example.com WWW.Example.com,192.0.2.1 2001:DB8:0::1\n"
                                "http-listen = [::1]:8080\n"
                                "\n"
                                "[ cert  wild ]  # sections may be spaced\n"
                                "domains = *.example.org, example.org\n"
                                "challenge = dns-01\n"
                                "dns-hook = /etc/acmed/dns-hook\n"
                                "key-type = rsa-2048\n"
                                "dns-wait = 2m\n"
                                "reuse-key = true\n"
                                "eab-kid = kid-1\n"
                                "eab-hmac-key = c2VjcmV0LWtleS0xMjM0NTY3ODkw\n"
                                "eab-alg = HS512\n"
                                "ca = https://acme.example.net/directory\n";

static void
test_good_file(void **state)
{
	const struct conf_settings *g;
	const struct conf_cert *www;
	const struct conf_cert *wild;
	struct conf conf;

	(void)state;
	conf_file_write(good_conf);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf.n_errors, 0);
	assert_string_equal(conf.path, conf_file_path);

	g = &conf.global;
	assert_string_equal(g->ca, "letsencrypt-staging");
	assert_int_equal(g->n_emails, 2);
	assert_string_equal(g->emails[0], "ops@example.com");
	assert_string_equal(g->emails[1], "Admin@Example.com");
	assert_true(g->agree_tos);
	assert_int_equal(g->key_type, KEY_TYPE_EC_P384);
	assert_int_equal(g->renew_before, 30 * 86400);
	assert_int_equal(g->challenge, CONF_CHALLENGE_HTTP01);
	assert_string_equal(g->webroot, "/var/www/acme");
	assert_string_equal(g->deploy_hook, "systemctl reload nginx#not-a-comment");
	assert_int_equal(g->concurrency, 8);
	assert_int_equal(g->new_order_concurrency, 4);
	assert_string_equal(g->state_dir, "/tmp/acmed-state");
	assert_string_equal(g->control_socket, "/run/acmed/ctl");
	assert_int_equal(g->hook_timeout, 300);
	assert_int_equal(g->n_domains, 0);
	assert_true((g->set & ((uint64_t)1 << CONF_KEY_WEBROOT)) != 0);
	assert_true((g->set & ((uint64_t)1 << CONF_KEY_DNS_HOOK)) == 0);

	assert_int_equal(conf.n_certs, 2);
	www = &conf.certs[0];
	assert_string_equal(www->name, "www");
	assert_int_equal(www->line, 16);
	assert_int_equal(www->settings.n_domains, 4);
	assert_string_equal(www->settings.domains[0], "example.com");
	assert_string_equal(www->settings.domains[1], "www.example.com");
	assert_string_equal(www->settings.domains[2], "192.0.2.1");
	assert_string_equal(www->settings.domains[3], "2001:db8::1");
	assert_string_equal(www->settings.http_listen, "[::1]:8080");

	wild = &conf.certs[1];
	assert_string_equal(wild->name, "wild");
	assert_int_equal(wild->line, 20);
	assert_int_equal(wild->settings.n_domains, 2);
	assert_string_equal(wild->settings.domains[0], "*.example.org");
	assert_string_equal(wild->settings.domains[1], "example.org");
	assert_int_equal(wild->settings.challenge, CONF_CHALLENGE_DNS01);
	assert_true(wild->settings.reuse_key);
	assert_int_equal(wild->settings.dns_wait, 120);

	assert_ptr_equal(conf_find_cert(&conf, "www"), www);
	assert_ptr_equal(conf_find_cert(&conf, "wild"), wild);
	assert_ptr_equal(conf_find_cert(&conf, "example.com"), www);
	assert_ptr_equal(conf_find_cert(&conf, "*.example.org"), wild);
	assert_null(conf_find_cert(&conf, "www.example.com")); /* not the first domain */
	assert_null(conf_find_cert(&conf, "nothing"));

	conf_finish(&conf);
	assert_null(conf.certs);
	assert_null(conf.path);
	conf_finish(&conf);
}

static void
test_resolve(void **state)
{
	struct conf_settings cli;
	struct conf_settings out;
	struct conf conf;
	char err[256];

	(void)state;
	conf_file_write(good_conf);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);

	/* Defaults, then global, then the section. */
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &out), 0);
	assert_int_equal(out.key_type, KEY_TYPE_RSA_2048);
	assert_int_equal(out.account_key_type, KEY_TYPE_EC_P256);
	assert_int_equal(out.challenge, CONF_CHALLENGE_DNS01);
	assert_string_equal(out.ca, "https://acme.example.net/directory");
	assert_string_equal(out.dns_hook, "/etc/acmed/dns-hook");
	assert_string_equal(out.webroot, "/var/www/acme");
	assert_int_equal(out.renew_before, 30 * 86400);
	assert_int_equal(out.hook_timeout, 300);
	assert_int_equal(out.dns_wait, 120);
	assert_int_equal(out.concurrency, 8);
	assert_true(out.reuse_key);
	assert_true(out.agree_tos);
	assert_int_equal(out.n_emails, 2);
	assert_string_equal(out.emails[1], "Admin@Example.com");
	assert_ptr_not_equal(out.emails, conf.global.emails);
	assert_ptr_not_equal(out.emails[0], conf.global.emails[0]);
	assert_int_equal(out.n_domains, 2);
	assert_string_equal(out.domains[0], "*.example.org");
	assert_string_equal(out.eab_kid, "kid-1");
	assert_string_equal(out.eab_alg, "HS512");
	assert_null(out.http_listen);
	assert_int_equal(out.set, conf.global.set | conf.certs[1].settings.set);
	conf_settings_finish(&out);
	assert_null(out.domains);
	assert_int_equal(out.set, 0);

	/* The command line wins over both. */
	memset(&cli, 0, sizeof(cli));
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "key-type", "rsa-4096", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "renew-before", "auto", err, sizeof(err)),
	                 0);
	assert_int_equal(
	        conf_set(&cli, CONF_WHERE_CLI, "email", "cli@example.net", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "concurrency", "2", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "http-listen", "8080", err, sizeof(err)),
	                 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], &cli, &out), 0);
	assert_int_equal(out.key_type, KEY_TYPE_RSA_4096);
	assert_int_equal(out.renew_before, 0);
	assert_int_equal(out.n_emails, 1);
	assert_string_equal(out.emails[0], "cli@example.net");
	assert_int_equal(out.concurrency, 2);
	assert_string_equal(out.http_listen, "8080");
	assert_int_equal(out.challenge, CONF_CHALLENGE_HTTP01);
	assert_string_equal(out.ca, "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_int_equal(out.n_domains, 4);
	assert_string_equal(out.eab_alg, "HS256");
	assert_null(out.eab_kid);
	conf_settings_finish(&out);

	/* The global settings alone, as `acmed cert` uses them. */
	assert_int_equal(conf_resolve(&conf, NULL, NULL, &out), 0);
	assert_int_equal(out.key_type, KEY_TYPE_EC_P384);
	assert_int_equal(out.n_domains, 0);
	assert_null(out.domains);
	assert_int_equal(out.set, conf.global.set);
	conf_settings_finish(&out);

	conf_settings_finish(&cli);
	conf_finish(&conf);

	/* No file at all: the defaults. */
	conf_init(&conf);
	assert_int_equal(conf_resolve(&conf, NULL, NULL, &out), 0);
	assert_int_equal(out.set, 0);
	assert_int_equal(out.key_type, KEY_TYPE_EC_P256);
	assert_int_equal(out.account_key_type, KEY_TYPE_EC_P256);
	assert_int_equal(out.challenge, CONF_CHALLENGE_HTTP01);
	assert_int_equal(out.hook_timeout, 120);
	assert_int_equal(out.dns_wait, 0);
	assert_int_equal(out.concurrency, 16);
	assert_int_equal(out.new_order_concurrency, 1);
	assert_int_equal(out.renew_before, 0);
	assert_false(out.agree_tos);
	assert_null(out.http_listen);
	assert_null(out.ca);
	assert_string_equal(out.eab_alg, "HS256");
	conf_settings_finish(&out);
	conf_finish(&conf);
}

/* Two settings are equal key by key; one key can be left out (a
 * certificate's names, which the daemon keeps apart). */
static void
test_settings_equal(void **state)
{
	struct conf_settings a;
	struct conf_settings b;
	struct conf conf;
	char err[256];

	(void)state;
	conf_file_write(good_conf);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &a), 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &b), 0);
	assert_true(conf_settings_equal(&a, &b, CONF_KEY__MAX));
	assert_true(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	/* Other names: equal but for them. */
	assert_int_equal(
	        conf_set(&b, CONF_WHERE_CERT, "domains", "other.example", err, sizeof(err)), 0);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY__MAX));
	assert_true(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	/* A string, a number, a list, a flag: each makes them differ. */
	assert_int_equal(conf_set(&b, CONF_WHERE_CERT, "dns-hook", "/bin/other", err, sizeof(err)),
	                 0);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	conf_settings_finish(&b);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &b), 0);
	assert_int_equal(conf_set(&b, CONF_WHERE_CERT, "hook-timeout", "301", err, sizeof(err)), 0);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	conf_settings_finish(&b);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &b), 0);
	assert_int_equal(
	        conf_set(&b, CONF_WHERE_GLOBAL, "email", "a@example.com", err, sizeof(err)), 0);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	conf_settings_finish(&b);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &b), 0);
	b.reuse_key = !b.reuse_key;
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	b.reuse_key = !b.reuse_key;
	/* The same value, but given in one and defaulted in the other. */
	b.set &= ~((uint64_t)1 << CONF_KEY_DNS_WAIT);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	conf_settings_finish(&b);
	/* Another section's: other values. */
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &b), 0);
	assert_false(conf_settings_equal(&a, &b, CONF_KEY_DOMAINS));
	conf_settings_finish(&b);
	conf_settings_finish(&a);
	conf_finish(&conf);
}

static void
test_set_cli(void **state)
{
	struct conf_settings s;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	/* Lists append, all or nothing. */
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "domains", "a.example", err, sizeof(err)), 0);
	assert_int_equal(
	        conf_set(&s, CONF_WHERE_CLI, "domains", "b.example,c.example", err, sizeof(err)),
	        0);
	assert_int_equal(
	        conf_set(&s, CONF_WHERE_CLI, "domains", "d.example A.example", err, sizeof(err)),
	        -1);
	assert_string_equal(err, "domains: 'a.example' is listed twice");
	assert_int_equal(
	        conf_set(&s, CONF_WHERE_CLI, "domains", "e.example bad_name", err, sizeof(err)),
	        -1);
	assert_int_equal(s.n_domains, 3);
	assert_string_equal(s.domains[2], "c.example");

	/* A later value replaces an earlier one. */
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "webroot", "/a", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "webroot", "/b", err, sizeof(err)), 0);
	assert_string_equal(s.webroot, "/b");
	/* A bad value leaves the old one. */
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "concurrency", "4", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "concurrency", "-4", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "concurrency: invalid value '-4': expected a number from 1 to 1024");
	assert_int_equal(s.concurrency, 4);
	assert_int_equal(s.set, ((uint64_t)1 << CONF_KEY_DOMAINS) |
	                                ((uint64_t)1 << CONF_KEY_WEBROOT) |
	                                ((uint64_t)1 << CONF_KEY_CONCURRENCY));

	/* Where each key may appear. */
	assert_int_equal(conf_set(&s, CONF_WHERE_GLOBAL, "domains", "x.example", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "domains: only valid in a [cert NAME] section");
	assert_int_equal(conf_set(&s, CONF_WHERE_CERT, "state-dir", "/x", err, sizeof(err)), -1);
	assert_string_equal(err, "state-dir: only valid before the first [cert NAME] section");
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "nope", "x", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown key 'nope'");
	/* err may be left out. */
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "nope", "x", NULL, 0), -1);
	conf_settings_finish(&s);
	conf_settings_finish(&s);
}

/* The string field a value lands in; 0 (the "set" bits) when not a string. */
#define STR(f) offsetof(struct conf_settings, f)

static void
test_values(void **state)
{
	static const struct {
		const char *key;
		const char *value;
		size_t field;
	} good[] = {
	        {"agree-tos", "no", 0},
	        {"agree-tos", "1", 0},
	        {"agree-tos", "FALSE", 0},
	        {"ca", "zerossl", STR(ca)},
	        {"ca", "https://localhost:14000/dir", STR(ca)},
	        {"ca-file", "/etc/ssl/pebble.pem", STR(ca_file)},
	        {"challenge", "tls-alpn-01", 0},
	        {"chain", "shortest", 0},
	        {"chain", "default", 0},
	        {"preferred-chain", "ISRG Root X1", STR(preferred_chain)},
	        {"concurrency", "1024", 0},
	        {"concurrency", "1", 0},
	        {"new-order-concurrency", "1", 0},
	        {"new-order-concurrency", "1024", 0},
	        {"dns-wait", "0", 0},
	        {"domains", "xn--bcher-kva.example", 0},
	        {"domains", "*.a-b.example 10.0.0.1 ::ffff:10.0.0.1", 0},
	        {"eab-alg", "HS384", STR(eab_alg)},
	        {"email", "a.b+c@d.example", 0},
	        {"hook-timeout", "1h", 0},
	        {"hook-timeout", "1", 0},
	        {"http-listen", "127.0.0.1:80", STR(http_listen)},
	        {"http-listen", "[::]:443", STR(http_listen)},
	        {"http-listen", "65535", STR(http_listen)},
	        {"renew-before", "3600", 0},
	        {"renew-before", "1h", 0},
	};
	struct conf_settings s;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&s, 0, sizeof(s));
		err[0] = '\0';
		if (conf_set(&s, CONF_WHERE_CLI, good[i].key, good[i].value, err, sizeof(err)) !=
		    0) {
			print_error("%s = %s: %s\n", good[i].key, good[i].value, err);
			fail();
		}
		if (good[i].field != 0) {
			assert_string_equal(*(char **)((char *)&s + good[i].field), good[i].value);
		}
		conf_settings_finish(&s);
	}

	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "domains",
	                          "::ffff:10.0.0.1 2001:0db8:0000:0000:0000:0000:0000:0001", err,
	                          sizeof(err)),
	                 0);
	assert_string_equal(s.domains[0], "::ffff:10.0.0.1");
	assert_string_equal(s.domains[1], "2001:db8::1");
	/* The same address written twice is a duplicate. */
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "domains", "2001:DB8::1", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "domains: '2001:db8::1' is listed twice");
	conf_settings_finish(&s);
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char *text;
		long seconds;
	} good[] = {
	        {"0", 0}, {"45", 45}, {"45s", 45}, {"5m", 300}, {"2h", 7200}, {"30d", 2592000},
	};
	static const char *const bad[] = {
	        "",
	        "s",
	        "-1",
	        "+1",
	        "1.5h",
	        "1w",
	        "1hh",
	        " 1",
	        "1 h",
	        "99999999999999999999",
	        "9223372036854775807d",
	};
	long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(conf_parse_duration(good[i].text, &v), 0);
		assert_int_equal(v, good[i].seconds);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (conf_parse_duration(bad[i], &v) != -1) {
			print_error("'%s' parsed\n", bad[i]);
			fail();
		}
	}
}

static void
test_names(void **state)
{
	int k;

	(void)state;
	assert_string_equal(conf_key_name(CONF_KEY_ACCOUNT_KEY_TYPE), "account-key-type");
	assert_string_equal(conf_key_name(CONF_KEY_WEBROOT), "webroot");
	assert_null(conf_key_name(CONF_KEY__MAX));
	/* The key table is searched with bsearch. */
	for (k = 1; k < CONF_KEY__MAX; k++) {
		assert_true(strcmp(conf_key_name((enum conf_key)(k - 1)),
		                   conf_key_name((enum conf_key)k)) < 0);
	}
	assert_string_equal(conf_challenge_name(CONF_CHALLENGE_HTTP01), "http-01");
	assert_string_equal(conf_challenge_name(CONF_CHALLENGE_DNS01), "dns-01");
	assert_string_equal(conf_challenge_name(CONF_CHALLENGE_TLSALPN01), "tls-alpn-01");
	assert_string_equal(conf_challenge_name(CONF_CHALLENGE_DNSPERSIST01), "dns-persist-01");
	assert_null(conf_challenge_name(CONF_CHALLENGE__MAX));
	assert_true(conf_challenge_dns(CONF_CHALLENGE_DNS01));
	assert_true(conf_challenge_dns(CONF_CHALLENGE_DNSPERSIST01));
	assert_false(conf_challenge_dns(CONF_CHALLENGE_HTTP01));
	assert_false(conf_challenge_dns(CONF_CHALLENGE_TLSALPN01));
}

static void
test_syntax_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"ca = letsencrypt\nfoo = bar\n", {"2: unknown key 'foo'"}},
	        {"Email = a@b.example\n", {"1: unknown key 'Email'"}},
	        {"# c\nemail = a@b.example\nca = zerossl\nemail = c@d.example\n",
	         {"4: duplicate key 'email' (first set on line 2)"}},
	        /* The same key in another scope is an override, not a duplicate. */
	        {"key-type = ec-p384\n[cert a]\nkey-type = ec-p256\ndomains = a.example\n"
	         "[cert b]\ndomains = b.example\nkey-type = rsa-2048\nkey-type = rsa-3072\n",
	         {"8: duplicate key 'key-type' (first set on line 7)"}},
	        {"ca letsencrypt\n", {"1: missing '=': expected key = value"}},
	        {"= x\n", {"1: missing key before '='"}},
	        {"email =\nwebroot = # only a comment\n",
	         {"1: email: missing value", "2: webroot: missing value"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

static void
test_section_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"[cert]\n", {"1: bad section header: expected [cert NAME] or [ca NAME]"}},
	        {"[certs x]\n", {"1: bad section header: expected [cert NAME] or [ca NAME]"}},
	        {"[cert x\n", {"1: bad section header: expected [cert NAME] or [ca NAME]"}},
	        {"[domain x]\n", {"1: bad section header: expected [cert NAME] or [ca NAME]"}},
	        {"[cert a b]\n",
	         {"1: bad section name 'a b': expected 1 to 64 letters, digits, '.', '_' or '-'"}},
	        {"[cert a/b]\n",
	         {"1: bad section name 'a/b': expected 1 to 64 letters, digits, '.', '_' or '-'"}},
	        {"[cert "
	         "a12345678901234567890123456789012345678901234567890123456789012345]\n",
	         {"1: bad section name "
	          "'a12345678901234567890123456789012345678901234567890123456789012345': "
	          "expected 1 to 64 letters, digits, '.', '_' or '-'"}},
	        /* The keys of a bad section are still checked, and it needs no
	         * domains. */
	        {"[cert *]\nkey-type = dsa\n",
	         {"1: bad section name '*': expected 1 to 64 letters, digits, '.', '_' or '-'",
	          "2: key-type: invalid value 'dsa': expected ec-p256, ec-p384, rsa-2048, "
	          "rsa-3072 or rsa-4096"}},
	        {"[cert www]\ndomains = a.example\n\n[cert www]\ndomains = b.example\n",
	         {"4: duplicate section [cert www] (first on line 1)"}},
	        {"[cert a]\nkey-type = ec-p256\n",
	         {"1: [cert a] has no domains: add domains = NAME ..."}},
	        /* Errors come in line order, whichever pass found them. */
	        {"[cert a]\nkey-type = ec-p256\n[cert b]\ndomains = b.example\nbogus = 1\n",
	         {"1: [cert a] has no domains: add domains = NAME ...", "5: unknown key 'bogus'"}},
	        {"domains = a.example\nconcurrency = 4\n[cert a]\ndomains = a.example\n"
	         "concurrency = 2\nstate-dir = /x\ncontrol-socket = /y\n"
	         "new-order-concurrency = 2\n",
	         {"1: domains: only valid in a [cert NAME] section",
	          "5: concurrency: only valid before the first [cert NAME] section",
	          "6: state-dir: only valid before the first [cert NAME] section",
	          "7: control-socket: only valid before the first [cert NAME] section",
	          "8: new-order-concurrency: only valid before the first [cert NAME] section"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

static void
test_value_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"account-key-type = ec-p521\n",
	         {"1: account-key-type: invalid value 'ec-p521': expected ec-p256, ec-p384, "
	          "rsa-2048, rsa-3072 or rsa-4096"}},
	        {"key-type = RSA-2048\n",
	         {"1: key-type: invalid value 'RSA-2048': expected ec-p256, ec-p384, rsa-2048, "
	          "rsa-3072 or rsa-4096"}},
	        {"agree-tos = maybe\nreuse-key = 2\n",
	         {"1: agree-tos: invalid value 'maybe': expected yes or no",
	          "2: reuse-key: invalid value '2': expected yes or no"}},
	        {"ca = acme\n",
	         {"1: ca: unknown CA 'acme': no [ca acme] section, and not one of buypass, "
	          "buypass-staging, google, google-staging, letsencrypt, letsencrypt-staging, "
	          "zerossl"}},
	        {"ca = http://ca.example/dir\n",
	         {"1: ca: unknown CA 'http://ca.example/dir': expected the name of a [ca NAME] "
	          "section, an https URL or one of buypass, buypass-staging, google, "
	          "google-staging, letsencrypt, "
	          "letsencrypt-staging, zerossl"}},
	        {"ca-file = a\tb\n", {"1: ca-file: invalid value: contains a control character"}},
	        {"chain = short\npreferred-chain = a\x01b\n",
	         {"1: chain: invalid value 'short': expected default or shortest",
	          "2: preferred-chain: invalid value: contains a control character"}},
	        {"challenge = http-02\n",
	         {"1: challenge: invalid value 'http-02': expected http-01, dns-01, tls-alpn-01 "
	          "or dns-persist-01"}},
	        {"concurrency = 0\nhook-timeout = 0\n",
	         {"1: concurrency: invalid value '0': expected a number from 1 to 1024",
	          "2: hook-timeout: invalid value '0': expected 1s to 3600s"}},
	        {"concurrency = 1025\n",
	         {"1: concurrency: invalid value '1025': expected a number from 1 to 1024"}},
	        {"concurrency = 8 threads\n",
	         {"1: concurrency: invalid value '8 threads': expected a number from 1 to 1024"}},
	        {"new-order-concurrency = 0\n",
	         {"1: new-order-concurrency: invalid value '0': expected a number from 1 to "
	          "1024"}},
	        {"new-order-concurrency = -2\n",
	         {"1: new-order-concurrency: invalid value '-2': expected a number from 1 to "
	          "1024"}},
	        {"new-order-concurrency = many\n",
	         {"1: new-order-concurrency: invalid value 'many': expected a number from 1 to "
	          "1024"}},
	        {"new-order-concurrency = 1025\n",
	         {"1: new-order-concurrency: invalid value '1025': expected a number from 1 to "
	          "1024"}},
	        {"dns-wait = 5x\n",
	         {"1: dns-wait: invalid value '5x': expected a duration such as 30, 90s, 5m, 2h "
	          "or 1d"}},
	        {"hook-timeout = 61m\n",
	         {"1: hook-timeout: invalid value '61m': expected 1s to 3600s"}},
	        {"eab-alg = HS1\n",
	         {"1: eab-alg: invalid value 'HS1': expected HS256, HS384 or HS512"}},
	        {"eab-kid = a b\neab-hmac-key = c2VjcmV0=\n",
	         {"1: eab-kid: invalid value 'a b': expected no spaces",
	          "2: eab-hmac-key: invalid value: expected base64url without padding"}},
	        {"eab-kid = k\neab-hmac-key = c2V+cmV0\n",
	         {"2: eab-hmac-key: invalid value: expected base64url without padding"}},
	        {"email = bob\n", {"1: email: invalid address 'bob': expected name@domain"}},
	        {"email = a@b@c\n", {"1: email: invalid address 'a@b@c': expected name@domain"}},
	        {"email = <a@b.example>\n",
	         {"1: email: invalid address '<a@b.example>': expected name@domain"}},
	        {"email = mailto:\n", {"1: email: invalid address '': expected name@domain"}},
	        {"email = @b.example\n",
	         {"1: email: invalid address '@b.example': expected name@domain"}},
	        {"email = a@\n", {"1: email: invalid address 'a@': expected name@domain"}},
	        {"email = \"ops@example.com\"\n",
	         {"1: email: invalid address '\"ops@example.com\"': write it without quotes "
	          "(values are never quoted)"}},
	        {"email = 'ops@example.com'\n",
	         {"1: email: invalid address ''ops@example.com'': write it without quotes "
	          "(values are never quoted)"}},
	        {"email = a@b.example, mailto:a@b.example\n",
	         {"1: email: 'a@b.example' is listed twice"}},
	        {"http-listen = 0\n",
	         {"1: http-listen: invalid value '0': expected PORT, ADDR:PORT or [ADDR]:PORT "
	          "with a port from 1 to 65535"}},
	        {"http-listen = 65536\n",
	         {"1: http-listen: invalid value '65536': expected PORT, ADDR:PORT or "
	          "[ADDR]:PORT with a port from 1 to 65535"}},
	        {"http-listen = [::1]80\n",
	         {"1: http-listen: invalid value '[::1]80': expected PORT, ADDR:PORT or "
	          "[ADDR]:PORT with a port from 1 to 65535"}},
	        {"http-listen = ::1:80\n",
	         {"1: http-listen: invalid value '::1:80': expected PORT, ADDR:PORT or "
	          "[ADDR]:PORT with a port from 1 to 65535"}},
	        {"http-listen = :80\n",
	         {"1: http-listen: invalid value ':80': expected PORT, ADDR:PORT or [ADDR]:PORT "
	          "with a port from 1 to 65535"}},
	        {"http-listen = 1.2.3:80\n",
	         {"1: http-listen: invalid value '1.2.3:80': expected PORT, ADDR:PORT or "
	          "[ADDR]:PORT with a port from 1 to 65535"}},
	        {"renew-before = 30m\n",
	         {"1: renew-before: invalid value '30m': expected auto or a duration of at least "
	          "1h, such as 30d"}},
	        {"renew-before = soon\n",
	         {"1: renew-before: invalid value 'soon': expected auto or a duration of at "
	          "least 1h, such as 30d"}},
	        {"control-socket = /"
	         "run/acmed/a-very-long-name-that-does-not-fit-in-sun-path-because-that-holds-"
	         "only-108-bytes-including-the-terminating-nul.sock\n",
	         {"1: control-socket: invalid value: longer than 107 characters"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

static void
test_domain_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"[cert a]\ndomains = -bad.example\n",
	         {"2: domains: invalid name '-bad.example': label starts or ends with '-'"}},
	        {"[cert a]\ndomains = bad-.example\n",
	         {"2: domains: invalid name 'bad-.example': label starts or ends with '-'"}},
	        {"[cert a]\ndomains = a..example\n",
	         {"2: domains: invalid name 'a..example': empty label"}},
	        {"[cert a]\ndomains = example.com.\n",
	         {"2: domains: invalid name 'example.com.': ends with a dot: drop the trailing dot "
	          "(example.com)"}},
	        {"[cert a]\ndomains = exa_mple.com\n",
	         {"2: domains: invalid name 'exa_mple.com': only letters, digits, '-' and '.' "
	          "are allowed"}},
	        {"[cert a]\ndomains = *.*.example.com\n",
	         {"2: domains: invalid name '*.*.example.com': only letters, digits, '-' and '.' "
	          "are allowed"}},
	        {"[cert a]\ndomains = www.*.example.com\n",
	         {"2: domains: invalid name 'www.*.example.com': only letters, digits, '-' and "
	          "'.' are allowed"}},
	        {"[cert a]\ndomains = 1.2.3.256\n",
	         {"2: domains: invalid name '1.2.3.256': the last label is a number"}},
	        {"[cert a]\ndomains = 2001:db8::g\n",
	         {"2: domains: invalid name '2001:db8::g': not an IP address"}},
	        {"[cert a]\ndomains = "
	         "a123456789012345678901234567890123456789012345678901234567890123.example\n",
	         {"2: domains: invalid name "
	          "'a123456789012345678901234567890123456789012345678901234567890123.example': "
	          "label longer than 63 characters"}},
	        {"[cert a]\ndomains = a.example b.example A.EXAMPLE\n",
	         {"2: domains: 'a.example' is listed twice"}},
	        {"[cert a]\ndomains = ,\n", {"2: domains: missing value"}},
	        /* A URL is not mistaken for an IPv6 address. */
	        {"[cert a]\ndomains = http://example.com\n",
	         {"2: domains: invalid name 'http://example.com': a URL, not a name: give the "
	          "bare name example.com"}},
	        {"[cert a]\ndomains = https://www.example.com:8443/x\n",
	         {"2: domains: invalid name 'https://www.example.com:8443/x': a URL, not a "
	          "name: give the bare name www.example.com"}},
	        /* libidn2's reason, and that the name is an international one. */
	        {"[cert a]\ndomains = a\xe2\x81\x84"
	         "b.example\n",
	         {"2: domains: invalid name 'a\xe2\x81\x84"
	          "b.example': not a valid "
	          "international name (IDNA2008, converted to punycode): string contains a "
	          "disallowed character"}},
	        /* The U-label and the A-label are one name. */
	        {"[cert a]\ndomains = b\xc3\xbc"
	         "cher.example xn--bcher-kva.example\n",
	         {"2: domains: 'xn--bcher-kva.example' is listed twice"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

/* A byte order mark is skipped; U-labels become A-labels, wildcards too. */
static void
test_bom_and_idn(void **state)
{
	struct conf conf;

	(void)state;
	conf_file_write("\xef\xbb\xbf"
	                "ca = letsencrypt\n"
	                "challenge = dns-01\n"
	                "dns-hook = /bin/true\n"
	                "[cert b]\n"
	                "domains = B\xc3\xbc"
	                "cher.example *.b\xc3\xbc"
	                "cher.example "
	                "stra\xc3\x9f"
	                "e.example\n");
	conf_init(&conf);
	if (conf_load(&conf, conf_file_path) < 0) {
		for (size_t i = 0; i < conf.n_errors; i++) {
			print_error("%s\n", conf.errors[i]);
		}
		fail();
	}
	assert_string_equal(conf.global.ca, "letsencrypt");
	assert_int_equal(conf.certs[0].settings.n_domains, 3);
	assert_string_equal(conf.certs[0].settings.domains[0], "xn--bcher-kva.example");
	assert_string_equal(conf.certs[0].settings.domains[1], "*.xn--bcher-kva.example");
	/* IDNA2008 non-transitional: "ß" stays, not "ss". */
	assert_string_equal(conf.certs[0].settings.domains[2], "xn--strae-oqa.example");
	conf_finish(&conf);
}

static void
test_domain_too_long(void **state)
{
	struct bad_case c = {NULL, {NULL}};
	char text[512];
	char name[300];
	char expected[512];
	size_t i;

	(void)state;
	/* 4 labels of 63 and a dot each: 255 characters. */
	name[0] = '\0';
	for (i = 0; i < 4; i++) {
		memset(name + i * 64, 'a', 63);
		name[i * 64 + 63] = i < 3 ? '.' : '\0';
	}
	snprintf(text, sizeof(text), "[cert a]\ndomains = %s\n", name);
	snprintf(expected, sizeof(expected),
	         "2: domains: invalid name '%s': longer than 253 characters", name);
	c.text = text;
	c.errors[0] = expected;
	check_bad(&c);
}

static void
test_whole_file_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"[cert w]\ndomains = *.example.com example.com\n",
	         {"2: wildcard '*.example.com' needs challenge = dns-01 or dns-persist-01"}},
	        {"challenge = tls-alpn-01\n[cert w]\ndomains = a.example *.a.example "
	         "*.b.example\n",
	         {"3: wildcard '*.a.example' needs challenge = dns-01 or dns-persist-01",
	          "3: wildcard '*.b.example' needs challenge = dns-01 or dns-persist-01"}},
	        {"[cert w]\nchallenge = dns-01\ndomains = *.example.com\n",
	         {"2: challenge dns-01 needs dns-hook or dns-update: set dns-hook = PROGRAM "
	          "or dns-update = SERVER"}},
	        {"challenge = dns-01\n[cert w]\ndomains = w.example\n",
	         {"2: challenge dns-01 needs dns-hook or dns-update: set dns-hook = PROGRAM "
	          "or dns-update = SERVER"}},
	        {"challenge = dns-01\n",
	         {"1: challenge dns-01 needs dns-hook or dns-update: set dns-hook = PROGRAM "
	          "or dns-update = SERVER"}},
	        /* A global dns-hook serves every section. */
	        {"dns-hook = /bin/hook\n[cert w]\nchallenge = dns-01\ndomains = *.w.example\n"
	         "[cert v]\ndomains = *.v.example\n",
	         {"6: wildcard '*.v.example' needs challenge = dns-01 or dns-persist-01"}},
	        {"[cert w]\ndomains = w.example\nchallenge = dns-01\ndns-hook = /bin/hook\n"
	         "webroot = /var/www\nhttp-hook = /bin/h\n",
	         {"5: webroot needs challenge = http-01 (challenge is dns-01)",
	          "6: http-hook needs challenge = http-01 (challenge is dns-01)"}},
	        {"challenge = tls-alpn-01\nwebroot = /var/www\n",
	         {"2: webroot needs challenge = http-01 (challenge is tls-alpn-01)"}},
	        {"eab-kid = kid\n[cert w]\ndomains = w.example\neab-hmac-key = "
	         "c2VjcmV0LWtleS0xMjM0NTY3ODkw\n",
	         {"1: eab-kid needs eab-hmac-key (or eab-hmac-key-file)",
	          "4: eab-hmac-key needs eab-kid"}},
	        {"[cert a]\ndomains = a.example shared.example\n\n[cert b]\n"
	         "domains = b.example\ndomains = x.example\n[cert c]\nkey-type = ec-p384\n"
	         "domains = Shared.example\n",
	         {"6: duplicate key 'domains' (first set on line 5)",
	          "9: domain 'shared.example' is already in [cert a] on line 2"}},
	        /* A wrong value is reported once, not again by what depends on it. */
	        {"[cert w]\nchallenge = dns01\ndomains = *.w.example\n",
	         {"2: challenge: invalid value 'dns01': expected http-01, dns-01, tls-alpn-01 or "
	          "dns-persist-01"}},
	        {"[cert w]\nchallenge = dns-01\ndns-hook = a\tb\ndomains = *.w.example\n",
	         {"3: dns-hook: invalid value: contains a control character"}},
	        /* Parsing goes on after errors. */
	        {"ca = nowhere\nkey-type = x\n[cert]\nfoo\n[cert ok]\ndomains = ok.example\n"
	         "reuse-key = perhaps\n",
	         {"1: ca: unknown CA 'nowhere': no [ca nowhere] section, and not one of buypass, "
	          "buypass-staging, google, google-staging, letsencrypt, letsencrypt-staging, "
	          "zerossl",
	          "2: key-type: invalid value 'x': expected ec-p256, ec-p384, rsa-2048, rsa-3072 "
	          "or rsa-4096",
	          "3: bad section header: expected [cert NAME] or [ca NAME]",
	          "4: missing '=': expected key = value",
	          "7: reuse-key: invalid value 'perhaps': expected yes or no"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

static const char fleet_conf[] = "cluster = redis://10.0.0.5:6379/2\n"
                                 "cluster-password-file = /etc/acmed/redis.password\n"
                                 "cluster-key-file = /etc/acmed/cluster.key\n"
                                 "node-name = web-1\n"
                                 "[cert www]\n"
                                 "domains = www.example\n";

/* The fleet's keys: read, resolved (copied), compared. */
static void
test_fleet_keys(void **state)
{
	struct conf_settings out;
	struct conf_settings other;
	struct conf conf;
	char err[256];

	(void)state;
	conf_file_write(fleet_conf);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_string_equal(conf.global.cluster, "redis://10.0.0.5:6379/2");
	assert_string_equal(conf.global.cluster_password_file, "/etc/acmed/redis.password");
	assert_string_equal(conf.global.cluster_key_file, "/etc/acmed/cluster.key");
	assert_string_equal(conf.global.node_name, "web-1");
	assert_true(conf.global.set & ((uint64_t)1 << CONF_KEY_CLUSTER));
	assert_true(conf.global.set & ((uint64_t)1 << CONF_KEY_NODE_NAME));
	assert_null(conf.certs[0].settings.cluster);

	/* Every section gets them, as copies. */
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &out), 0);
	assert_string_equal(out.cluster, "redis://10.0.0.5:6379/2");
	assert_ptr_not_equal(out.cluster, conf.global.cluster);
	assert_string_equal(out.cluster_password_file, "/etc/acmed/redis.password");
	assert_string_equal(out.cluster_key_file, "/etc/acmed/cluster.key");
	assert_string_equal(out.node_name, "web-1");
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &other), 0);
	assert_true(conf_settings_equal(&out, &other, CONF_KEY__MAX));
	assert_int_equal(conf_set(&other, CONF_WHERE_CLI, "node-name", "web-2", err, sizeof(err)),
	                 0);
	assert_false(conf_settings_equal(&out, &other, CONF_KEY__MAX));
	assert_true(conf_settings_equal(&out, &other, CONF_KEY_NODE_NAME));
	conf_settings_finish(&other);
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &other), 0);
	assert_int_equal(conf_set(&other, CONF_WHERE_CLI, "cluster-key-file", "/other.key", err,
	                          sizeof(err)),
	                 0);
	assert_false(conf_settings_equal(&out, &other, CONF_KEY__MAX));
	conf_settings_finish(&other);
	conf_settings_finish(&out);
	assert_null(out.cluster);
	conf_finish(&conf);

	/* Without them: no fleet, and nothing to resolve. */
	conf_init(&conf);
	assert_int_equal(conf_resolve(&conf, NULL, NULL, &out), 0);
	assert_null(out.cluster);
	assert_null(out.cluster_password_file);
	assert_null(out.cluster_key_file);
	assert_null(out.node_name);
	conf_settings_finish(&out);
	conf_finish(&conf);
}

/* staging: an https URL, global or per section (the section's wins), never
 * a short name or on the command line. */
static void
test_staging_key(void **state)
{
	static const struct bad_case bad[] = {
	        {"staging = lets-encrypt-staging\n",
	         {"1: staging: invalid value 'lets-encrypt-staging': expected the https URL of the "
	          "CA's staging directory or one of buypass, buypass-staging, google, "
	          "google-staging, letsencrypt, letsencrypt-staging, zerossl"}},
	        {"staging = http://127.0.0.1:14001/dir\n",
	         {"1: staging: invalid value 'http://127.0.0.1:14001/dir': expected the https URL "
	          "of the CA's staging directory or one of buypass, buypass-staging, google, "
	          "google-staging, letsencrypt, letsencrypt-staging, zerossl"}},
	        {"staging-eab-kid = k\n",
	         {"1: staging-eab-kid and staging-eab-hmac-key go together"}},
	        {"[cert a]\ndomains = a.example\nstaging =\n", {"3: staging: missing value"}},
	};
	struct conf_settings out;
	struct conf_settings cli;
	struct conf conf;
	char err[256];

	(void)state;
	conf_file_write("ca = https://127.0.0.1:14000/dir\n"
	                "staging = https://127.0.0.1:14001/dir\n"
	                "[cert a]\ndomains = a.example\n"
	                "[cert b]\ndomains = b.example\nstaging = https://staging.example/dir\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_string_equal(conf.global.staging, "https://127.0.0.1:14001/dir");
	assert_string_equal(conf.certs[0].name, "a");
	/* A short name's directory is taken too. */
	{
		char e[256];
		struct conf_settings t;

		memset(&t, 0, sizeof(t));
		assert_int_equal(conf_set(&t, CONF_WHERE_GLOBAL, "staging", "letsencrypt-staging",
		                          e, sizeof(e)),
		                 0);
		assert_string_equal(t.staging,
		                    "https://acme-staging-v02.api.letsencrypt.org/directory");
		conf_settings_finish(&t);
	}
	assert_true(conf.global.set & ((uint64_t)1 << CONF_KEY_STAGING));
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &out), 0);
	assert_string_equal(out.staging, "https://127.0.0.1:14001/dir");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &out), 0);
	assert_string_equal(out.staging, "https://staging.example/dir");
	conf_settings_finish(&out);
	conf_finish(&conf);

	/* A [ca NAME] section's: the CA's own, for the certificates ordered
	 * from it. */
	conf_file_write("ca = pebble\n"
	                "[ca pebble]\nurl = https://127.0.0.1:14000/dir\n"
	                "staging = https://127.0.0.1:14001/dir\n"
	                "[cert a]\ndomains = a.example\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_null(conf.global.staging);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[0], NULL, 0, &out), 0);
	assert_string_equal(out.ca, "https://127.0.0.1:14000/dir");
	assert_string_equal(out.staging, "https://127.0.0.1:14001/dir");
	conf_settings_finish(&out);
	conf_finish(&conf);

	/* Unset: NULL, and no option sets it. */
	conf_init(&conf);
	assert_int_equal(conf_resolve(&conf, NULL, NULL, &out), 0);
	assert_null(out.staging);
	conf_settings_finish(&out);
	conf_finish(&conf);
	memset(&cli, 0, sizeof(cli));
	assert_int_equal(conf_set(&cli, CONF_WHERE_CLI, "staging", "https://s.example/dir", err,
	                          sizeof(err)),
	                 -1);
	assert_null(cli.staging);
	conf_settings_finish(&cli);
	CHECK_BAD(bad);
}

static void
test_fleet_values(void **state)
{
	static const char *const clusters[] = {
	        "redis://127.0.0.1:6379",
	        "redis://127.0.0.1:6379/0",
	        "redis://redis.internal:6380/15",
	        "redis://redis_1",
	        "redis://localhost/3",
	        "redis://[::1]:6379/1",
	        "redis://[2001:db8::5]",
	        "redis://h:65535/2147483647",
	        "file:///srv/acmed-fleet",
	        "file:///var/lib/acmed/fleet@site 1",
	};
	static const char *const names[] = {
	        "web-1",
	        "a",
	        "web_1.dc-2.example",
	        "A0123456789012345678901234567890123456789012345678901234567890z",
	};
	struct conf_settings s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(clusters) / sizeof(clusters[0]); i++) {
		memset(&s, 0, sizeof(s));
		if (conf_set(&s, CONF_WHERE_GLOBAL, "cluster", clusters[i], err, sizeof(err)) !=
		    0) {
			fail_msg("cluster = %s: %s", clusters[i], err);
		}
		assert_string_equal(s.cluster, clusters[i]);
		conf_settings_finish(&s);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(&s, 0, sizeof(s));
		if (conf_set(&s, CONF_WHERE_GLOBAL, "node-name", names[i], err, sizeof(err)) != 0) {
			fail_msg("node-name = %s: %s", names[i], err);
		}
		assert_string_equal(s.node_name, names[i]);
		conf_settings_finish(&s);
	}
	/* Accepted where state-dir is: the global part and the command line. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "cluster", "file:///f", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&s, CONF_WHERE_CLI, "cluster-key-file", "/k", err, sizeof(err)),
	                 0);
	assert_int_equal(
	        conf_set(&s, CONF_WHERE_CLI, "cluster-password-file", "/p", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&s, CONF_WHERE_CERT, "node-name", "n", err, sizeof(err)), -1);
	assert_string_equal(err, "node-name: only valid before the first [cert NAME] section");
	assert_null(s.node_name);
	conf_settings_finish(&s);
}

/* A bad cluster URL: each alone in a file, with the reason. */
static void
test_fleet_bad_urls(void **state)
{
	static const char want_url[] = "expected redis://HOST:PORT[/DB] or file:///ABSOLUTE/PATH";
	static const char bad_host[] = "HOST: expected a host name, an address or [IPv6]";
	static const char bad_port[] = "PORT: expected a number from 1 to 65535";
	static const char bad_db[] = "DB: expected a number";
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
	        {"http://redis.example:6379", want_url},
	        {"rediss://h:6379", want_url},
	        {"redis:/h:6379", want_url},
	        {"REDIS://h:6379", want_url},
	        {"h:6379", want_url},
	        {"file://relative/path", "file:// needs an absolute path: file:///PATH"},
	        {"file://", "file:// needs an absolute path: file:///PATH"},
	        {"redis://", bad_host},
	        {"redis://:6379", bad_host},
	        {"redis://h!:6379", bad_host},
	        {"redis://[::1", bad_host},
	        {"redis://[]:1", bad_host},
	        {"redis://[::g]:1", bad_host},
	        {"redis://[::1]x", bad_host},
	        {"redis://h:0", bad_port},
	        {"redis://h:65536", bad_port},
	        {"redis://h:", bad_port},
	        {"redis://h:x/1", bad_port},
	        {"redis://h:99999999999999999999", bad_port},
	        {"redis://h:1/", bad_db},
	        {"redis://h/x", bad_db},
	        {"redis://h/1/2", bad_db},
	        {"redis://h/-1", bad_db},
	        {"redis://h/2147483648", bad_db},
	};
	char text[512];
	char expected[512];
	struct bad_case c = {text, {expected}};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "cluster = %s\ncluster-key-file = /k\n", bad[i].url);
		snprintf(expected, sizeof(expected), "1: cluster: invalid value '%s': %s",
		         bad[i].url, bad[i].why);
		check_bad(&c);
	}
}

static void
test_fleet_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"cluster = redis://127.0.0.1:6379\n",
	         {"1: cluster-key-file is required when cluster is set: acmed cluster-key new "
	          "FILE makes one"}},
	        {"node-name = a\ncluster = file:///srv/fleet\ncluster-password-file = /p\n",
	         {"2: cluster-key-file is required when cluster is set: acmed cluster-key new "
	          "FILE makes one"}},
	        /* A wrong URL is reported once: the key file is still missing. */
	        {"cluster = redis://h:0\n",
	         {"1: cluster: invalid value 'redis://h:0': PORT: expected a number from 1 to "
	          "65535",
	          "1: cluster-key-file is required when cluster is set: acmed cluster-key new "
	          "FILE makes one"}},
	        /* A password in the URL is never echoed. */
	        {"cluster = redis://:s3cret@h:6379\ncluster-key-file = /k\n",
	         {"1: cluster: invalid value: no user or password in the URL: put the password "
	          "in a file named by cluster-password-file"}},
	        {"cluster-key-file = /k\n[cert a]\ndomains = a.example\ncluster = file:///f\n"
	         "cluster-key-file = /k\ncluster-password-file = /p\nnode-name = n\n",
	         {"4: cluster: only valid before the first [cert NAME] section",
	          "5: cluster-key-file: only valid before the first [cert NAME] section",
	          "6: cluster-password-file: only valid before the first [cert NAME] section",
	          "7: node-name: only valid before the first [cert NAME] section"}},
	        {"node-name = web 1\n",
	         {"1: node-name: invalid value 'web 1': expected 1 to 64 letters, digits, '.', "
	          "'_' or '-'"}},
	        {"node-name = web/1\n",
	         {"1: node-name: invalid value 'web/1': expected 1 to 64 letters, digits, '.', "
	          "'_' or '-'"}},
	        {"node-name = "
	         "a1234567890123456789012345678901234567890123456789012345678901234\n",
	         {"1: node-name: invalid value "
	          "'a1234567890123456789012345678901234567890123456789012345678901234': expected "
	          "1 to 64 letters, digits, '.', '_' or '-'"}},
	        {"cluster-key-file = a\tb\n",
	         {"1: cluster-key-file: invalid value: contains a control character"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

/* output, pkcs12-password-file and who may read the files: the defaults,
 * names resolved to ids at load, per section over the global part. */
static void
test_output_keys(void **state)
{
	static const char text[] = "output = pem combined\n"
	                           "key-group = nogroup\n"
	                           "key-mode = 0640\n"
	                           "[cert a]\n"
	                           "domains = a.example\n"
	                           "output = pkcs12,combined\n"
	                           "pkcs12-password-file = /etc/acmed/p12.pass\n"
	                           "key-owner = nobody\n"
	                           "cert-owner = 0\n"
	                           "cert-group = 65534\n"
	                           "cert-mode = 444\n"
	                           "[cert b]\n"
	                           "domains = b.example\n";
	struct conf_settings out;
	struct conf conf;

	(void)state;
	conf_file_write(text);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &out), 0);
	assert_int_equal(out.output, CONF_OUTPUT_PEM | CONF_OUTPUT_COMBINED | CONF_OUTPUT_PKCS12);
	assert_string_equal(out.pkcs12_password_file, "/etc/acmed/p12.pass");
	assert_int_equal(out.key_owner, 65534);
	assert_int_equal(out.key_group, 65534);
	assert_int_equal(out.key_mode, 0640);
	assert_int_equal(out.cert_owner, 0);
	assert_int_equal(out.cert_group, 65534);
	assert_int_equal(out.cert_mode, 0444);
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve(&conf, &conf.certs[1], NULL, &out), 0);
	assert_int_equal(out.output, CONF_OUTPUT_PEM | CONF_OUTPUT_COMBINED);
	assert_null(out.pkcs12_password_file);
	assert_int_equal(out.key_owner, CONF_ID_UNSET);
	assert_int_equal(out.key_group, 65534);
	assert_int_equal(out.cert_owner, CONF_ID_UNSET);
	assert_int_equal(out.cert_group, CONF_ID_UNSET);
	assert_int_equal(out.cert_mode, 0644);
	conf_settings_finish(&out);
	conf_finish(&conf);

	/* Nothing said: pem only, the writer's owner, 0600 and 0644. */
	conf_init(&conf);
	assert_int_equal(conf_resolve(&conf, NULL, NULL, &out), 0);
	assert_int_equal(out.output, CONF_OUTPUT_PEM);
	assert_int_equal(out.key_owner, CONF_ID_UNSET);
	assert_int_equal(out.key_group, CONF_ID_UNSET);
	assert_int_equal(out.key_mode, 0600);
	assert_int_equal(out.cert_mode, 0644);
	conf_settings_finish(&out);
	conf_finish(&conf);
}

static void
test_output_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"output = pem der\n",
	         {"1: output: invalid value 'der': expected pem, combined or pkcs12"}},
	        {"output = PKCS12\n",
	         {"1: output: invalid value 'PKCS12': expected pem, combined or pkcs12"}},
	        {"key-owner = no-such-user-acmed\n",
	         {"1: key-owner: no user named 'no-such-user-acmed' on this system"}},
	        {"[cert a]\ndomains = a.example\nkey-group = no-such-group-acmed\n",
	         {"3: key-group: no group named 'no-such-group-acmed' on this system"}},
	        {"cert-owner = a:b\n",
	         {"1: cert-owner: invalid value 'a:b': expected a user name or number"}},
	        {"cert-group = 99999999999\n",
	         {"1: cert-group: no group named '99999999999' on this system"}},
	        {"key-mode = 0644\n",
	         {"1: key-mode: invalid value '0644': every user could get at the key; give "
	          "other no bits (0640 with key-group lets a server's group read it)"}},
	        {"key-mode = 0601\n",
	         {"1: key-mode: invalid value '0601': every user could get at the key; give "
	          "other no bits (0640 with key-group lets a server's group read it)"}},
	        {"key-mode = 0040\n",
	         {"1: key-mode: invalid value '0040': the owner must be able to read"}},
	        {"key-mode = rw-r-----\n",
	         {"1: key-mode: invalid value 'rw-r-----': expected an octal mode such as 0600 "
	          "or 0640"}},
	        {"key-mode = 1640\n",
	         {"1: key-mode: invalid value '1640': expected an octal mode such as 0600 or "
	          "0640"}},
	        {"cert-mode = 0666\n",
	         {"1: cert-mode: invalid value '0666': every user could change the "
	          "certificate"}},
	        {"cert-mode = 0648\n",
	         {"1: cert-mode: invalid value '0648': expected an octal mode such as 0644"}},
	        {"pkcs12-password-file = a\tb\n",
	         {"1: pkcs12-password-file: invalid value: contains a control character"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

/* [ca NAME] sections: what a certificate ordered from each CA of its list
 * gets (conf_resolve_at). */
static void
test_ca_sections(void **state)
{
	struct conf conf;
	struct conf_settings out;
	const char *le = "https://acme-v02.api.letsencrypt.org/directory";

	(void)state;
	conf_file_write("email = ops@example.com\nprofile = classic\nca = main backup\n"
	                "[ca main]\nurl = https://ca.example/dir\nemail = main@example.com\n"
	                "eab-kid = kid1\neab-hmac-key = c2VjcmV0\nnew-order-concurrency = 4\n"
	                "[ca backup]\nurl = letsencrypt\nprofile = tlsserver\n"
	                "[cert w]\ndomains = w.example\n"
	                "[cert x]\ndomains = x.example\nprofile = shortlived\n"
	                "[cert y]\ndomains = y.example\nca = backup https://other.example/d\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf.n_cas, 2);
	assert_non_null(conf_find_ca(&conf, "backup"));
	assert_null(conf_find_ca(&conf, "w"));

	/* The first CA: its section between the global keys and the cert's. */
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[0], NULL, 0, &out), 0);
	assert_string_equal(out.ca, "https://ca.example/dir");
	assert_string_equal(
	        out.ca_list,
	        "https://ca.example/dir https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(out.emails[0], "main@example.com");
	assert_string_equal(out.eab_kid, "kid1");
	assert_int_equal(out.new_order_concurrency, 4);
	assert_string_equal(out.profile, "classic");
	assert_true(conf_ca_list_has(out.ca_list, le));
	assert_false(conf_ca_list_has(out.ca_list, "https://ca.example"));
	conf_settings_finish(&out);

	/* The second: its own account keys and profile, none of the first's. */
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[1], NULL, 1, &out), 0);
	assert_string_equal(out.ca, le);
	assert_string_equal(out.emails[0], "ops@example.com");
	assert_null(out.eab_kid);
	assert_int_equal(out.new_order_concurrency, 1);
	assert_string_equal(out.profile, "tlsserver");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[1], NULL, 0, &out), 0);
	assert_string_equal(out.profile, "shortlived");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[1], NULL, 2, &out), 1);

	/* A cert's own list; a URL item has no section and no profile there. */
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[2], NULL, 1, &out), 0);
	assert_string_equal(out.ca, "https://other.example/d");
	assert_null(out.profile);
	assert_string_equal(
	        out.ca_list,
	        "https://acme-v02.api.letsencrypt.org/directory https://other.example/d");
	conf_settings_finish(&out);

	/* A copy of resolved settings keeps its CA and list. */
	{
		struct conf empty;
		struct conf_settings first;

		conf_init(&empty);
		assert_int_equal(conf_resolve_at(&conf, &conf.certs[0], NULL, 0, &first), 0);
		assert_int_equal(conf_resolve(&empty, NULL, &first, &out), 0);
		assert_string_equal(out.ca, "https://ca.example/dir");
		assert_string_equal(out.ca_list, first.ca_list);
		assert_true(conf_settings_equal(&out, &first, CONF_KEY__MAX));
		conf_settings_finish(&out);
		conf_settings_finish(&first);
	}
	conf_finish(&conf);
}

/* eab-hmac-key-file: the key read from a file when the configuration is
 * loaded, checked as eab-hmac-key; never with eab-hmac-key beside it. */
static void
test_eab_key_file(void **state)
{
	char keyfile[600];
	char text[2048];
	struct conf conf;
	struct conf_settings out;
	FILE *f;

	(void)state;
	snprintf(keyfile, sizeof(keyfile), "%s.eab", conf_file_path);
	f = fopen(keyfile, "w");
	assert_non_null(f);
	fputs("c2VjcmV0LWtleQ\n", f);
	fclose(f);
	snprintf(text, sizeof(text),
	         "[ca z]\nurl = https://z.example/d\neab-kid = k1\neab-hmac-key-file = %s\n"
	         "[cert w]\ndomains = w.example\nca = z\n",
	         keyfile);
	conf_file_write(text);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf_resolve(&conf, &conf.certs[0], NULL, &out), 0);
	assert_string_equal(out.eab_hmac_key, "c2VjcmV0LWtleQ");
	assert_string_equal(out.eab_kid, "k1");
	conf_settings_finish(&out);
	conf_finish(&conf);

	/* Both, a file that is not there, a file that is no key. */
	snprintf(text, sizeof(text),
	         "eab-kid = k1\neab-hmac-key = c2VjcmV0\neab-hmac-key-file = %s\n", keyfile);
	conf_file_write(text);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), -1);
	assert_int_equal(conf.n_errors, 1);
	assert_non_null(strstr(conf.errors[0], "eab-hmac-key is set too (line 2): keep one"));
	conf_finish(&conf);
	conf_file_write("eab-kid = k1\neab-hmac-key-file = /nonexistent/eab\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), -1);
	assert_non_null(
	        strstr(conf.errors[0], "eab-hmac-key-file: /nonexistent/eab: No such file"));
	conf_finish(&conf);
	f = fopen(keyfile, "w");
	assert_non_null(f);
	fputs("not base64url!\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "eab-kid = k1\neab-hmac-key-file = %s\n", keyfile);
	conf_file_write(text);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), -1);
	assert_non_null(strstr(conf.errors[0], "expected base64url"));
	assert_null(strstr(conf.errors[0], "not base64url"));
	conf_finish(&conf);
	unlink(keyfile);
}

static void
test_ca_section_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"[ca a]\nemail = a@example.com\n",
	         {"1: [ca a] has no url: add url = https://.../directory (or a short name: "
	          "buypass, buypass-staging, google, google-staging, letsencrypt, "
	          "letsencrypt-staging, zerossl)"}},
	        {"[ca a]\nurl = https://a.example/d\ndomains = a.example\nwebroot = /w\n",
	         {"3: domains: not a key of a [ca NAME] section (it takes url, staging, ca-file, "
	          "caa-identity, email, agree-tos, account-key-type, eab-kid, eab-hmac-key, "
	          "eab-hmac-key-file, "
	          "eab-alg, profile, staging-eab-kid, staging-eab-hmac-key, "
	          "new-order-concurrency)",
	          "4: webroot: not a key of a [ca NAME] section (it takes url, staging, ca-file, "
	          "caa-identity, email, agree-tos, account-key-type, eab-kid, eab-hmac-key, "
	          "eab-hmac-key-file, "
	          "eab-alg, profile, staging-eab-kid, staging-eab-hmac-key, "
	          "new-order-concurrency)"}},
	        {"url = https://a.example/d\n", {"1: url: only valid in a [ca NAME] section"}},
	        {"[ca a]\nurl = https://a.example/d\n[ca a]\nurl = letsencrypt\n",
	         {"3: duplicate section [ca a] (first on line 1)"}},
	        {"[ca a]\nurl = ftp://a.example/d\n",
	         {"2: url: unknown CA 'ftp://a.example/d': expected an https URL or one of "
	          "buypass, buypass-staging, google, google-staging, letsencrypt, "
	          "letsencrypt-staging, zerossl"}},
	        {"[ca a]\nurl = https://a.example/d\neab-kid = k\n",
	         {"3: eab-kid needs eab-hmac-key (or eab-hmac-key-file)"}},
	        {"ca = a nosuch\n[ca a]\nurl = https://a.example/d\n",
	         {"1: ca: unknown CA 'nosuch': no [ca nosuch] section, and not one of buypass, "
	          "buypass-staging, google, google-staging, letsencrypt, letsencrypt-staging, "
	          "zerossl"}},
	        {"ca = a b a\n", {"1: ca: 'a' is listed twice"}},
	        {"caa-identity = pebble.test. -x.example\n",
	         {"1: caa-identity: invalid issuer domain '-x.example': letters, digits and '-' "
	          "between the dots only (RFC 8659 4.2)"}},
	        {"caa-identity = a..b\ncaa-check = maybe\n",
	         {"1: caa-identity: invalid issuer domain 'a..b': a label empty, longer than 63 or "
	          "ending in '-'",
	          "2: caa-check: invalid value 'maybe': expected yes or no"}},
	        {"caa-identity = a b c d e f g h i\n", {"1: caa-identity: more than 8 values"}},
	        {"ca = a b c d e\n", {"1: ca: at most 4 CAs"}},
	};

	(void)state;
	CHECK_BAD(cases);
}

/* caa-check defaults to yes; caa-identity is a CA's: a [ca] section's
 * goes to the certificates ordered from it, a cert's own wins. */
static void
test_caa_keys(void **state)
{
	struct conf conf;
	struct conf_settings out;

	(void)state;
	conf_file_write(
	        "ca = main other\ncaa-identity = Global.Example.\n"
	        "[ca main]\nurl = https://ca.example/dir\ncaa-identity = ca.example "
	        "ca2.example\n"
	        "[ca other]\nurl = https://other.example/dir\n"
	        "[cert w]\ndomains = w.example\n"
	        "[cert x]\ndomains = x.example\ncaa-check = no\ncaa-identity = x.example\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[0], NULL, 0, &out), 0);
	assert_true(out.caa_check);
	assert_int_equal(out.n_caa_identities, 2);
	assert_string_equal(out.caa_identities[0], "ca.example");
	assert_string_equal(out.caa_identities[1], "ca2.example");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[0], NULL, 1, &out), 0);
	assert_int_equal(out.n_caa_identities, 1);
	assert_string_equal(out.caa_identities[0], "global.example");
	conf_settings_finish(&out);
	assert_int_equal(conf_resolve_at(&conf, &conf.certs[1], NULL, 0, &out), 0);
	assert_false(out.caa_check);
	assert_int_equal(out.n_caa_identities, 1);
	assert_string_equal(out.caa_identities[0], "x.example");
	conf_settings_finish(&out);
	conf_finish(&conf);
}

/* node-name when set, else the host name. */
static void
test_node_name(void **state)
{
	char buf[CONF_NODE_NAME_MAX + 1];
	char host[256];
	struct conf_settings s;
	const char *name;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(conf_set(&s, CONF_WHERE_GLOBAL, "node-name", "web-7", err, sizeof(err)),
	                 0);
	name = conf_node_name(&s, buf);
	assert_ptr_equal(name, s.node_name);
	assert_string_equal(name, "web-7");
	conf_settings_finish(&s);

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	name = conf_node_name(&s, buf);
	if (strlen(host) <= CONF_NODE_NAME_MAX &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	            strlen(host)) {
		assert_ptr_equal(name, buf);
		assert_string_equal(name, host);
	} else {
		assert_null(name);
	}
	assert_ptr_equal(conf_node_name(NULL, buf), name);
}

static void
test_duplicate_section_dropped(void **state)
{
	struct bad_case c = {
	        "[cert www]\ndomains = a.example\n[cert www]\nfoo = 1\n"
	        "[cert next]\ndomains = b.example\n",
	        {"3: duplicate section [cert www] (first on line 1)", "4: unknown key 'foo'"}};
	struct conf conf;

	(void)state;
	check_bad(&c);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), -1);
	assert_int_equal(conf.n_certs, 2);
	assert_string_equal(conf.certs[0].name, "www");
	assert_string_equal(conf.certs[0].settings.domains[0], "a.example");
	assert_string_equal(conf.certs[1].name, "next");
	conf_finish(&conf);
}

/* dns-persist-01 needs no hook (the record is made once, by hand) and
 * takes wildcards. */
static void
test_dns_persist(void **state)
{
	struct conf conf;

	(void)state;
	conf_file_write("challenge = dns-persist-01\n[cert w]\ndomains = *.w.example w.example\n");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf.n_errors, 0);
	assert_int_equal(conf.global.challenge, CONF_CHALLENGE_DNSPERSIST01);
	conf_finish(&conf);
}

static void
test_unreadable(void **state)
{
	char expected[PATH_MAX + 64];
	char missing[PATH_MAX];
	struct conf conf;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.conf", conf_file_dir);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, missing), -1);
	assert_int_equal(conf.n_errors, 1);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", missing);
	assert_string_equal(conf.errors[0], expected);
	assert_int_equal(conf.n_certs, 0);
	conf_finish(&conf);

	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_dir), -1);
	assert_int_equal(conf.n_errors, 1);
	snprintf(expected, sizeof(expected), "%s: Is a directory", conf_file_dir);
	assert_string_equal(conf.errors[0], expected);
	conf_finish(&conf);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "ca = zerossl\nemail = a@b\0c.example\nagree-tos = yes\n";
	char expected[PATH_MAX + 64];
	struct conf conf;
	FILE *fp;

	(void)state;
	fp = fopen(conf_file_path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, fp), sizeof(text) - 1);
	assert_int_equal(fclose(fp), 0);
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), -1);
	assert_int_equal(conf.n_errors, 1);
	snprintf(expected, sizeof(expected), "%s:2: contains a NUL byte", conf_file_path);
	assert_string_equal(conf.errors[0], expected);
	assert_true(conf.global.agree_tos);
	conf_finish(&conf);
}

static void
test_empty_file(void **state)
{
	struct conf conf;

	(void)state;
	conf_file_write("");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_int_equal(conf.n_errors, 0);
	assert_int_equal(conf.n_certs, 0);
	assert_int_equal(conf.global.set, 0);
	conf_finish(&conf);

	/* No newline at the end. */
	conf_file_write("# only\n\n   \t\nca = zerossl");
	conf_init(&conf);
	assert_int_equal(conf_load(&conf, conf_file_path), 0);
	assert_string_equal(conf.global.ca, "zerossl");
	conf_finish(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good_file),
	        cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_ca_sections),
	        cmocka_unit_test(test_ca_section_errors),
	        cmocka_unit_test(test_eab_key_file),
	        cmocka_unit_test(test_settings_equal),
	        cmocka_unit_test(test_set_cli),
	        cmocka_unit_test(test_values),
	        cmocka_unit_test(test_parse_duration),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_syntax_errors),
	        cmocka_unit_test(test_section_errors),
	        cmocka_unit_test(test_value_errors),
	        cmocka_unit_test(test_domain_errors),
	        cmocka_unit_test(test_domain_too_long),
	        cmocka_unit_test(test_bom_and_idn),
	        cmocka_unit_test(test_whole_file_errors),
	        cmocka_unit_test(test_fleet_keys),
	        cmocka_unit_test(test_fleet_values),
	        cmocka_unit_test(test_staging_key),
	        cmocka_unit_test(test_fleet_bad_urls),
	        cmocka_unit_test(test_fleet_errors),
	        cmocka_unit_test(test_output_keys),
	        cmocka_unit_test(test_output_errors),
	        cmocka_unit_test(test_caa_keys),
	        cmocka_unit_test(test_node_name),
	        cmocka_unit_test(test_duplicate_section_dropped),
	        cmocka_unit_test(test_dns_persist),
	        cmocka_unit_test(test_unreadable),
	        cmocka_unit_test(test_nul_byte),
	        cmocka_unit_test(test_empty_file),
	};

	return cmocka_run_group_tests(tests, conf_file_setup, conf_file_teardown);
}
