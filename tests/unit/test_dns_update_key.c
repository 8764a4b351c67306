/* io/dns_update_key: BIND key files (good ones, each kind of bad one, the
 * secret never in a message), signing and verifying. */
#include "io/dns_update_key.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "tmpdir.h"

/* What tsig-keygen wrote (hmac-sha256 and hmac-sha512). */
#define SECRET256 "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="
#define SECRET512 \
	"uIXDqyNNvXgPO6aZMocJ61O3782HgZ1MwXiqAdL8t8aGdS0ggOJED443GaqRHeMb85qjfFL5ZjCiIP2J+FgBRQ=="

static int
dir_setup(void **state)
{
	*state = tmpdir_make("dnskey");
	return 0;
}

static int
dir_teardown(void **state)
{
	tmpdir_remove(*state);
	free(*state);
	return 0;
}

/* Loads text written as dir/name with mode: the key or NULL, warn, err. */
static struct dns_update_key *
load(const char *dir, const char *text, mode_t mode, char *warn, char *err, char **path)
{
	struct dns_update_key *key = (struct dns_update_key *)1;
	int rc;

	*path = tmpdir_write(dir, "tsig.key", text, mode);
	chmod(*path, mode);
	rc = dns_update_key_load(*path, &key, warn, 256, err, 512);
	assert_int_equal(rc, key != NULL ? 0 : -1);
	return key;
}

static void
test_good(void **state)
{
	static const struct {
		const char *text;
		const char *name;
		enum dns_update_key_alg alg;
	} cases[] = {
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n};\n",
	         "acmed", DNS_UPDATE_KEY_HMAC_SHA256},
	        {"key \"acmed\" {\n\talgorithm hmac-sha512;\n\tsecret \"" SECRET512 "\";\n};\n",
	         "acmed", DNS_UPDATE_KEY_HMAC_SHA512},
	        /* Comments of the three kinds, unquoted words, upper case. */
	        {"# made by tsig-keygen\n// for acmed\n/* a\n * block */ KEY k1.example. {\n"
	         "  Algorithm \"HMAC-SHA256\"; # why not\n  secret " SECRET256
	         "; // ok\n} /* end */ ;\n",
	         "k1.example", DNS_UPDATE_KEY_HMAC_SHA256},
	        /* The secret first, all on one line, no final newline. */
	        {"key \"x\"{secret \"" SECRET256 "\";algorithm hmac-sha512;};", "x",
	         DNS_UPDATE_KEY_HMAC_SHA512},
	};
	char warn[256], err[512], *path;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_update_key *key = load(*state, cases[i].text, 0600, warn, err, &path);

		if (key == NULL) {
			fail_msg("case %zu: %s", i, err);
		}
		assert_string_equal(dns_update_key_name(key), cases[i].name);
		assert_int_equal(dns_update_key_alg(key), cases[i].alg);
		assert_string_equal(warn, "");
		dns_update_key_destroy(key);
		free(path);
	}
	assert_string_equal(dns_update_key_alg_name(DNS_UPDATE_KEY_HMAC_SHA256), "hmac-sha256");
	assert_string_equal(dns_update_key_alg_name(DNS_UPDATE_KEY_HMAC_SHA512), "hmac-sha512");
	assert_string_equal(dns_update_key_alg_name(DNS_UPDATE_KEY_ALG__MAX), "?");
}

static void
test_mode_warning(void **state)
{
	static const char text[] =
	        "key \"acmed\" { algorithm hmac-sha256; secret \"" SECRET256 "\"; };\n";
	char warn[256], err[512], *path;
	struct dns_update_key *key = load(*state, text, 0644, warn, err, &path);

	assert_non_null(key);
	assert_non_null(strstr(warn, path));
	assert_non_null(strstr(warn, "readable by others than its owner (mode 0644)"));
	assert_non_null(strstr(warn, "chmod 600"));
	assert_null(strstr(warn, SECRET256));
	dns_update_key_destroy(key);
	free(path);
	key = load(*state, text, 0640, warn, err, &path);
	assert_non_null(key);
	assert_non_null(strstr(warn, "mode 0640"));
	dns_update_key_destroy(key);
	free(path);
}

struct bad {
	const char *text;
	const char *err; /* a part of the message, after PATH */
};

static void
test_bad(void **state)
{
	static const struct bad cases[] = {
	        {"", ":1: no key"},
	        {"# only a comment\n", ":2: no key"},
	        {"key \"acmed\" {\n\talgorithm hmac-md5;\n\tsecret \"" SECRET256 "\";\n};\n",
	         ":2: algorithm hmac-md5 is not supported: use hmac-sha256 or hmac-sha512"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha1;\n\tsecret \"" SECRET256 "\";\n};\n",
	         ":2: algorithm hmac-sha1 is not supported"},
	        /* The secret where the algorithm goes is not shown. */
	        {"key \"acmed\" {\n\talgorithm \"" SECRET256 "\";\n};\n",
	         ":2: algorithm (not shown) is not supported"},
	        {"key \"acmed\" {\n\tsecret \"" SECRET256 "\";\n};\n", ":3: key \"acmed\" has no "
	                                                               "algorithm"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n};\n",
	         ":3: key \"acmed\" has no secret"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "!\";\n};\n",
	         ":3: the secret is not base64"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"\";\n};\n",
	         ":3: the secret is not base64"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n"
	         "\tsecret \"" SECRET256 "\";\n};\n",
	         ":4: a second secret"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\talgorithm hmac-sha256;\n};\n",
	         ":3: a second algorithm"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n};\n"
	         "key \"other\" { algorithm hmac-sha256; secret \"" SECRET256 "\"; };\n",
	         ":5: more after the key"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n}\n",
	         ":5: ; after } expected before the end of the file"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256\n\tsecret \"" SECRET256 "\";\n};\n",
	         ":3: ; after the value expected"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n",
	         ":4: a key holds only algorithm and secret: } expected before the end"},
	        {"key \"acmed\" {\n\tfoo \"" SECRET256 "\";\n};\n",
	         ":2: a key holds only algorithm and secret"},
	        {"key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 ";\n};\n",
	         ":3: a string is not closed"},
	        {"/* key \"acmed\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET256 "\";\n};\n",
	         ":1: a /* comment is not closed"},
	        {"key \"a..b\" { algorithm hmac-sha256; secret \"" SECRET256 "\"; };\n",
	         ":1: the key's name is not a domain name"},
	        {"key { algorithm hmac-sha256; secret \"" SECRET256 "\"; };\n",
	         ":1: the key's name expected"},
	        /* ddns-confgen without -q: the key, then a zone's policy. */
	        {"# To activate this key\nkey \"k1\" {\n\talgorithm hmac-sha256;\n\tsecret "
	         "\"" SECRET256 "\";\n};\nupdate-policy {\n\tgrant k1 zonesub ANY;\n};\n",
	         ":6: more after the key"},
	        {"options { };\n", ":1: not a key statement"},
	        {"\"" SECRET256 "\"\n", ":1: not a key statement"},
	};
	char warn[256], err[512], *path;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_update_key *key = load(*state, cases[i].text, 0600, warn, err, &path);

		if (key != NULL) {
			fail_msg("case %zu: loaded", i);
		}
		if (strncmp(err, path, strlen(path)) != 0 ||
		    strstr(err + strlen(path), cases[i].err) != err + strlen(path)) {
			fail_msg("case %zu: \"%s\" does not start with the path and \"%s\"", i, err,
			         cases[i].err);
		}
		assert_null(strstr(err, SECRET256));
		assert_null(strstr(err, "CM4WvINkooEnO6Ar")); /* nor a part of it */
		free(path);
	}
}

static void
test_unreadable(void **state)
{
	char warn[256], err[512], path[PATH_MAX], *big;
	struct dns_update_key *key = NULL;

	snprintf(path, sizeof(path), "%s/missing.key", (char *)*state);
	assert_int_equal(dns_update_key_load(path, &key, warn, sizeof(warn), err, sizeof(err)), -1);
	assert_null(key);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));

	big = malloc(DNS_UPDATE_KEY_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', DNS_UPDATE_KEY_FILE_MAX + 1);
	big[DNS_UPDATE_KEY_FILE_MAX + 1] = '\0';
	free(tmpdir_write(*state, "big.key", big, 0600));
	free(big);
	snprintf(path, sizeof(path), "%s/big.key", (char *)*state);
	assert_int_equal(dns_update_key_load(path, &key, warn, sizeof(warn), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
}

static void
test_create(void **state)
{
	struct dns_update_key *key, *copy;

	assert_null(dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, "not base64!"));
	assert_null(dns_update_key_create("acmed", DNS_UPDATE_KEY_ALG__MAX, SECRET256));
	assert_null(dns_update_key_create("", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256));
	assert_null(dns_update_key_create(".", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256));
	key = dns_update_key_create("acmed.", DNS_UPDATE_KEY_HMAC_SHA512, SECRET512);
	assert_non_null(key);
	assert_string_equal(dns_update_key_name(key), "acmed");
	copy = dns_update_key_dup(key);
	dns_update_key_destroy(key);
	assert_non_null(copy);
	assert_string_equal(dns_update_key_name(copy), "acmed");
	assert_int_equal(dns_update_key_alg(copy), DNS_UPDATE_KEY_HMAC_SHA512);
	dns_update_key_destroy(copy);
	dns_update_key_destroy(NULL);
}

/* A query for example. SOA signed with key, its wire in *wire. */
static ldns_pkt *
signed_query(const struct dns_update_key *key, uint8_t **wire, size_t *len)
{
	ldns_pkt *p = NULL, *back = NULL;

	assert_int_equal(
	        ldns_pkt_query_new_frm_str(&p, "example.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
	        LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 4321);
	if (key != NULL) {
		assert_int_equal(dns_update_key_sign(key, p, NULL), 0);
	}
	assert_int_equal(ldns_pkt2wire(wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_int_equal(ldns_wire2pkt(&back, *wire, *len), LDNS_STATUS_OK);
	return back;
}

static void
test_sign_verify(void **state)
{
	struct dns_update_key *key =
	        dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256);
	struct dns_update_key *other_secret =
	        dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET512);
	struct dns_update_key *other_name =
	        dns_update_key_create("other", DNS_UPDATE_KEY_HMAC_SHA256, SECRET256);
	struct dns_update_key *other_alg =
	        dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA512, SECRET256);
	time_t now = time(NULL);
	char why[256];
	uint8_t *wire;
	size_t len;
	ldns_pkt *p = signed_query(key, &wire, &len);

	assert_int_equal(dns_update_key_verify(key, p, wire, len, NULL, now, why, sizeof(why)), 0);
	assert_int_equal(
	        dns_update_key_verify(other_secret, p, wire, len, NULL, now, why, sizeof(why)), -1);
	assert_string_equal(why, "the reply's MAC does not verify with key \"acmed\"");
	assert_non_null(ldns_pkt_tsig(p));
	assert_int_equal(ldns_pkt_id(p), 4321);
	assert_int_equal(
	        dns_update_key_verify(other_name, p, wire, len, NULL, now, why, sizeof(why)), -1);
	assert_string_equal(why, "the reply is signed with another key");
	assert_int_equal(
	        dns_update_key_verify(other_alg, p, wire, len, NULL, now, why, sizeof(why)), -1);
	assert_string_equal(why, "the reply is signed with another key");
	/* Out of the fudge either way. */
	assert_int_equal(
	        dns_update_key_verify(key, p, wire, len, NULL, now + 1000, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "signed 1000 s away"));
	assert_int_equal(
	        dns_update_key_verify(key, p, wire, len, NULL, now - 1000, why, sizeof(why)), -1);
	/* A byte changed in the signed part. */
	wire[len - 80] ^= 1;
	assert_int_equal(dns_update_key_verify(key, p, wire, len, NULL, now, why, sizeof(why)), -1);
	ldns_pkt_free(p);
	free(wire);

	p = signed_query(NULL, &wire, &len);
	assert_int_equal(dns_update_key_verify(key, p, wire, len, NULL, now, why, sizeof(why)), -1);
	assert_string_equal(why, "the reply is not signed");
	ldns_pkt_free(p);
	free(wire);
	dns_update_key_destroy(key);
	dns_update_key_destroy(other_secret);
	dns_update_key_destroy(other_name);
	dns_update_key_destroy(other_alg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_good, dir_setup, dir_teardown),
	        cmocka_unit_test_setup_teardown(test_mode_warning, dir_setup, dir_teardown),
	        cmocka_unit_test_setup_teardown(test_bad, dir_setup, dir_teardown),
	        cmocka_unit_test_setup_teardown(test_unreadable, dir_setup, dir_teardown),
	        cmocka_unit_test(test_create),
	        cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
