#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme_parse.h"
#include "fixture.h"

static void
test_directory_pebble(void **state)
{
	struct acme_directory d;
	char err[128];
	size_t len;
	char *body = fixture_read("acme", "directory-pebble.json", &len);

	assert_int_equal(acme_parse_directory(body, len, &d, err, sizeof(err)), 0);
	assert_string_equal(d.new_nonce, "https://127.0.0.1:14000/nonce-plz");
	assert_string_equal(d.new_account, "https://127.0.0.1:14000/sign-me-up");
	assert_string_equal(d.new_order, "https://127.0.0.1:14000/order-plz");
	assert_string_equal(d.revoke_cert, "https://127.0.0.1:14000/revoke-cert");
	assert_string_equal(d.key_change, "https://127.0.0.1:14000/rollover-account-key");
	assert_non_null(d.renewal_info);
	assert_string_equal(d.terms_of_service, "data:text/plain,Do%20what%20thou%20wilt");
	assert_false(d.external_account_required);
	assert_int_equal(d.n_profiles, 2);
	acme_parse_directory_finish(&d);
	free(body);
}

static void
expect_directory_error(const char *name, const char *want)
{
	struct acme_directory d;
	char err[128];
	size_t len;
	char *body = fixture_read("acme", name, &len);

	assert_int_equal(acme_parse_directory(body, len, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, want));
	assert_null(d.new_nonce);
	free(body);
}

static void
test_directory_errors(void **state)
{
	struct acme_directory d;
	char err[128];

	expect_directory_error("directory-no-neworder.json", "'newOrder' is missing");
	expect_directory_error("directory-http-url.json", "'newNonce' is not an https URL");
	expect_directory_error("directory-duplicate.json", "not JSON");
	assert_int_equal(acme_parse_directory("<html>", 6, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(acme_parse_directory("[1]", 3, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "not a JSON object");
}

static void
test_order(void **state)
{
	struct acme_order o;
	char err[128];
	size_t len;
	char *body = fixture_read("acme", "order-pending.json", &len);

	assert_int_equal(acme_parse_order(body, len, &o, err, sizeof(err)), 0);
	assert_int_equal(o.status, ACME_STATUS_PENDING);
	assert_int_equal(o.expires, 1796479747);
	assert_int_equal(o.n_identifiers, 2);
	assert_int_equal(o.identifiers[0].type, IDENT_DNS);
	assert_int_equal(o.identifiers[1].type, IDENT_IP);
	assert_string_equal(o.identifiers[1].value, "127.0.0.1");
	assert_int_equal(o.n_authorizations, 2);
	assert_string_equal(o.finalize, "https://ca.example/order/1/finalize");
	assert_null(o.certificate);
	assert_null(o.error);
	acme_parse_order_finish(&o);
	free(body);

	body = fixture_read("acme", "order-invalid.json", &len);
	assert_int_equal(acme_parse_order(body, len, &o, err, sizeof(err)), 0);
	assert_int_equal(o.status, ACME_STATUS_INVALID);
	assert_non_null(o.error);
	assert_true(acme_problem_is(o.error, "unauthorized"));
	acme_parse_order_finish(&o);
	free(body);

	body = fixture_read("acme", "order-valid-nocert.json", &len);
	assert_int_equal(acme_parse_order(body, len, &o, err, sizeof(err)), -1);
	assert_string_equal(err, "valid order without 'certificate'");
	free(body);
}

static void
test_authz(void **state)
{
	struct acme_authz a;
	char err[128];
	size_t len;
	char *body = fixture_read("acme", "authz-pending.json", &len);

	assert_int_equal(acme_parse_authz(body, len, &a, err, sizeof(err)), 0);
	assert_int_equal(a.status, ACME_STATUS_PENDING);
	assert_true(a.wildcard);
	assert_int_equal(a.expires, 1796079600);
	assert_int_equal(a.n_challenges, 3);
	assert_int_equal(a.challenges[0].type, CHALLENGE_TYPE_HTTP01);
	assert_int_equal(a.challenges[1].type, CHALLENGE_TYPE_DNS01);
	assert_int_equal(a.challenges[2].type, CHALLENGE_TYPE_UNKNOWN);
	assert_string_equal(a.challenges[0].token, "DGyRejmCefe7v4NfDGDKfA");
	acme_parse_authz_finish(&a);
	free(body);

	body = fixture_read("acme", "authz-bad-token.json", &len);
	assert_int_equal(acme_parse_authz(body, len, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "token"));
	free(body);
}

#define PERSIST_AUTHZ(names)                                                                      \
	"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"      \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca.test/c/1\",\"status\":"       \
	"\"pending\",\"token\":\"DGyRejmCefe7v4NfDGDKfA\"},{\"type\":\"dns-persist-01\",\"url\":" \
	"\"https://ca.test/c/2\",\"status\":\"pending\"" names "}]}"

/* dns-persist-01 (draft-ietf-acme-dns-persist-01 section 3.1): no token,
 * 1 to 10 issuer domain names; names that are not make the challenge
 * malformed, and leave the authorization's others usable. */
static void
test_authz_persist(void **state)
{
	static const struct {
		const char *body;
		const char *malformed; /* NULL: none; else a part of the reason */
	} bad[] = {
	        {PERSIST_AUTHZ(""), "0 issuer domain names"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":[]"), "0 issuer domain names"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":[\"Mock.Example\"]"), "lower case"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":[\"mock.example.\"]"), "final dot"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":[7]"), "other than a string"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":\"mock.example\""), "not an array"},
	        {PERSIST_AUTHZ(",\"issuer-domain-names\":[\"a\",\"b\",\"c\",\"d\",\"e\","
	                       "\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]"),
	         "more than 10"},
	};
	const char *good =
	        PERSIST_AUTHZ(",\"issuer-domain-names\":[\"ca.example\",\"ca2.example\"]");
	struct acme_challenge c;
	struct acme_authz a;
	char err[128];

	(void)state;
	assert_string_equal(challenge_type_name(CHALLENGE_TYPE_DNSPERSIST01), "dns-persist-01");
	assert_int_equal(acme_parse_authz(good, strlen(good), &a, err, sizeof(err)), 0);
	assert_int_equal(a.n_challenges, 2);
	assert_int_equal(a.challenges[1].type, CHALLENGE_TYPE_DNSPERSIST01);
	assert_null(a.challenges[1].token);
	assert_null(a.challenges[1].malformed);
	assert_int_equal(a.challenges[1].n_issuers, 2);
	assert_string_equal(a.challenges[1].issuers[0], "ca.example");
	assert_string_equal(a.challenges[1].issuers[1], "ca2.example");
	assert_null(a.challenges[0].issuers);
	acme_parse_authz_finish(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		        acme_parse_authz(bad[i].body, strlen(bad[i].body), &a, err, sizeof(err)),
		        0);
		assert_int_equal(a.challenges[0].type, CHALLENGE_TYPE_HTTP01);
		assert_non_null(a.challenges[1].malformed);
		if (strstr(a.challenges[1].malformed, bad[i].malformed) == NULL) {
			fail_msg("case %zu: '%s' lacks '%s'", i, a.challenges[1].malformed,
			         bad[i].malformed);
		}
		acme_parse_authz_finish(&a);
	}
	/* The challenge a POST answers with. */
	good = "{\"type\":\"dns-persist-01\",\"url\":\"https://ca.test/c/2\",\"status\":"
	       "\"valid\",\"issuer-domain-names\":[\"ca.example\"]}";
	assert_int_equal(acme_parse_challenge(good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c.status, ACME_STATUS_VALID);
	assert_int_equal(c.n_issuers, 1);
	acme_parse_challenge_finish(&c);
	/* dns-01 still needs its token. */
	good = "{\"type\":\"dns-01\",\"url\":\"https://ca.test/c/2\",\"status\":\"valid\"}";
	assert_int_equal(acme_parse_challenge(good, strlen(good), &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without a token"));
}

static void
test_renewal_info(void **state)
{
	struct acme_renewal_info r;
	char err[128];
	size_t len;
	char *body = fixture_read("acme", "renewal-info.json", &len);

	assert_int_equal(acme_parse_renewal_info(body, len, &r, err, sizeof(err)), 0);
	assert_int_equal(r.start, 1767326400);
	assert_int_equal(r.end, 1767326400 + 86400);
	assert_string_equal(r.explanation_url, "https://ca.example/why");
	acme_parse_renewal_info_finish(&r);
	free(body);

	body = fixture_read("acme", "renewal-info-reversed.json", &len);
	assert_int_equal(acme_parse_renewal_info(body, len, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ends before it starts"));
	free(body);
}

/* The window's start as parsed from a renewalInfo body, or -1 when
 * refused. */
static long long
window_start(const char *start)
{
	struct acme_renewal_info r;
	char body[256];
	char err[128];
	long long got = -1;
	int n = snprintf(
	        body, sizeof(body),
	        "{\"suggestedWindow\":{\"start\":\"%s\",\"end\":\"2099-01-01T00:00:00Z\"}}", start);

	assert_true(n > 0 && (size_t)n < sizeof(body));
	if (acme_parse_renewal_info(body, (size_t)n, &r, err, sizeof(err)) == 0) {
		got = (long long)r.start;
		acme_parse_renewal_info_finish(&r);
	}
	return got;
}

/* RFC 3339 timestamps (section 5.6), strictly: a real date, every field
 * its digits. */
static void
test_timestamps(void **state)
{
	(void)state;
	assert_int_equal(window_start("2001-09-09T01:46:40Z"), 1000000000);
	assert_int_equal(window_start("2001-09-09t01:46:40z"), 1000000000);
	assert_int_equal(window_start("2001-09-09T01:46:40.123456Z"), 1000000000);
	assert_int_equal(window_start("2001-09-09T03:46:40+02:00"), 1000000000);
	assert_int_equal(window_start("2001-09-08T23:46:40-02:00"), 1000000000);
	assert_int_equal(window_start("2024-02-29T00:00:00Z"), 1709164800);
	/* A leap second is the next second. */
	assert_int_equal(window_start("2016-12-31T23:59:60Z"), 1483228800);

	assert_int_equal(window_start("2026-02-31T00:00:00Z"), -1);
	assert_int_equal(window_start("2025-02-29T00:00:00Z"), -1);
	assert_int_equal(window_start("2026-04-31T00:00:00Z"), -1);
	assert_int_equal(window_start("2026-13-01T00:00:00Z"), -1);
	assert_int_equal(window_start("2026-01-01T24:00:00Z"), -1);
	assert_int_equal(window_start("2026-01-01T23:60:00Z"), -1);
	assert_int_equal(window_start("26-01-01T00:00:00Z"), -1);
	assert_int_equal(window_start("2026-1-01T00:00:00Z"), -1);
	assert_int_equal(window_start("2026-01-01 00:00:00Z"), -1);
	assert_int_equal(window_start("2026-01-01T00:00:00"), -1);
	assert_int_equal(window_start("2026-01-01T00:00:00.Z"), -1);
	assert_int_equal(window_start("2026-01-01T00:00:00+2:00"), -1);
	assert_int_equal(window_start("2026-01-01T00:00:00+24:00"), -1);
	assert_int_equal(window_start("2026-01-01T00:00:00Zjunk"), -1);
	assert_int_equal(window_start("+2026-01-01T00:00:00Z"), -1);
	assert_int_equal(window_start(""), -1);
}

static void
test_retry_after(void **state)
{
	time_t now = 1000000000;
	time_t when = 0;

	assert_int_equal(acme_parse_retry_after("120", now, 3600, &when), 0);
	assert_int_equal(when, now + 120);
	assert_int_equal(acme_parse_retry_after("99999999999999999999", now, 3600, &when), 0);
	assert_int_equal(when, now + 3600);
	/* 2001-09-09T01:46:40Z is 1000000000. */
	assert_int_equal(acme_parse_retry_after("Sun, 09 Sep 2001 01:47:40 GMT", now, 3600, &when),
	                 0);
	assert_int_equal(when, now + 60);
	/* A date in the past means now. */
	assert_int_equal(acme_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, 3600, &when),
	                 0);
	assert_int_equal(when, now);
	assert_int_equal(acme_parse_retry_after("-5", now, 3600, &when), -1);
	assert_int_equal(acme_parse_retry_after("12abc", now, 3600, &when), -1);
	assert_int_equal(acme_parse_retry_after("", now, 3600, &when), -1);
	assert_int_equal(acme_parse_retry_after("tomorrow", now, 3600, &when), -1);
}

#define BASE "https://ca.test:14000/certZ/abc"

/* Parses value for rel="alternate" against BASE; the targets joined by
 * " " into out, or "ERR" when it is refused. */
static void
links(const char *value, size_t max, char *out, size_t outlen)
{
	char *urls[ACME_MAX_LINKS];
	char err[128];
	int n;

	out[0] = '\0';
	n = acme_parse_links(value, "alternate", BASE, urls, max, err, sizeof(err));
	if (n < 0) {
		assert_true(err[0] != '\0');
		snprintf(out, outlen, "ERR");
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, outlen - used, "%s%s", i > 0 ? " " : "", urls[i]);
	}
	acme_parse_links_free(urls, (size_t)n);
}

static void
expect_links(const char *value, const char *want)
{
	char got[4096];

	links(value, ACME_MAX_LINKS, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		print_error("links(%s): got '%s', want '%s'\n", value, got, want);
		fail();
	}
}

static void
test_links(void **state)
{
	(void)state;
	/* Pebble's: several headers, joined by http.c with ", ". */
	expect_links("<https://ca.test:14000/dir>;rel=\"index\", "
	             "<https://ca.test:14000/certZ/abc/1>;rel=\"alternate\", "
	             "<https://ca.test:14000/certZ/abc/2>;rel=\"alternate\"",
	             "https://ca.test:14000/certZ/abc/1 https://ca.test:14000/certZ/abc/2");
	/* Unquoted, any case, among other relation types, spaces around. */
	expect_links("<https://a.test/1> ; REL = Alternate", "https://a.test/1");
	expect_links("<https://a.test/1>; rel=\"up alternate\"; title=\"x\"", "https://a.test/1");
	expect_links("<https://a.test/1>;rel=\"alternates\"", "");
	expect_links("<https://a.test/1>;rel=\"alt\"", "");
	/* Only the first rel counts (RFC 8288 section 3.3). */
	expect_links("<https://a.test/1>;rel=index;rel=alternate", "");
	expect_links("<https://a.test/1>;title=\"a, b; rel=alternate\";rel=alternate",
	             "https://a.test/1");
	/* A comma in the URL, an escape in a quoted string, a bare parameter,
	 * empty list elements. */
	expect_links(" , <https://a.test/a,b>;crossorigin;rel=\"al\\ternate\",,",
	             "https://a.test/a,b");
	/* References: a path is taken on the request's origin; the others are
	 * left out. */
	expect_links("</certZ/abc/1>;rel=alternate", "https://ca.test:14000/certZ/abc/1");
	expect_links("<1>;rel=alternate, <../1>;rel=alternate, <//evil.test/1>;rel=alternate, "
	             "<http://ca.test/1>;rel=alternate, <ftp://x/>;rel=alternate, <>;rel=alternate",
	             "");
	/* Another host is the client's to refuse (same_origin), not the
	 * parser's. */
	expect_links("<https://evil.test/1>;rel=alternate", "https://evil.test/1");
	/* A URL http_url_ok refuses. */
	expect_links("<https://a.test/a b>;rel=alternate, <https://a.test/\\x>;rel=alternate, "
	             "<https://a.test/\x01>;rel=alternate",
	             "");
	/* Twice the same. */
	expect_links("<https://a.test/1>;rel=alternate, <https://a.test/1>;rel=alternate",
	             "https://a.test/1");
	/* No link at all. */
	expect_links("", "");
	expect_links(" ,, ", "");
}

static void
test_links_hostile(void **state)
{
	char value[65536];
	char got[8192];
	char *urls[ACME_MAX_LINKS];
	char err[64];
	size_t n = 0;

	(void)state;
	expect_links("https://a.test/1;rel=alternate", "ERR");
	expect_links("<https://a.test/1;rel=alternate", "ERR");
	expect_links("<https://a.test/1>;rel=\"alternate", "ERR");
	expect_links("<https://a.test/1>;rel=\"alternate\\", "ERR");
	expect_links("<https://a.test/1>;rel=\"alt\x01\"", "ERR");
	expect_links("<https://a.test/1>;=alternate", "ERR");
	expect_links("<https://a.test/1>;", "ERR");
	expect_links("<https://a.test/1> rel=alternate", "ERR");
	expect_links("<https://a.test/1>;rel=alternate <https://a.test/2>", "ERR");
	expect_links("<https://a.test/1>;rel=", "");
	/* Many links: the first ACME_MAX_LINKS (or max) kept, no more. */
	for (int i = 0; i < 1000; i++) {
		n += (size_t)snprintf(value + n, sizeof(value) - n,
		                      "<https://a.test/%d>;rel=alternate, ", i);
	}
	assert_int_equal(acme_parse_links(value, "alternate", BASE, urls, 100, err, sizeof(err)),
	                 ACME_MAX_LINKS);
	assert_string_equal(urls[0], "https://a.test/0");
	assert_string_equal(urls[ACME_MAX_LINKS - 1], "https://a.test/7");
	acme_parse_links_free(urls, ACME_MAX_LINKS);
	links(value, 2, got, sizeof(got));
	assert_string_equal(got, "https://a.test/0 https://a.test/1");
	/* A rel value too long to be one acmed asks for. */
	memset(value, 0, sizeof(value));
	n = (size_t)snprintf(value, sizeof(value), "<https://a.test/1>;rel=\"alternate");
	memset(value + n, ' ', 1000);
	snprintf(value + n + 1000, sizeof(value) - n - 1000, "x\"");
	expect_links(value, "");
	/* A long quoted string, an unterminated one after many links. */
	n = 0;
	for (int i = 0; i < 2000; i++) {
		n += (size_t)snprintf(value + n, sizeof(value) - n, "<https://a.test/%d>;rel=up,",
		                      i);
	}
	snprintf(value + n, sizeof(value) - n, "<x>;title=\"");
	expect_links(value, "ERR");
	assert_int_equal(acme_parse_links(NULL, "alternate", BASE, urls, 1, err, sizeof(err)), -1);
}

static void
test_names(void **state)
{
	assert_int_equal(acme_status_parse("valid"), ACME_STATUS_VALID);
	assert_int_equal(acme_status_parse("processing"), ACME_STATUS_PROCESSING);
	assert_int_equal(acme_status_parse("Valid"), ACME_STATUS_UNKNOWN);
	assert_int_equal(acme_status_parse(NULL), ACME_STATUS_UNKNOWN);
	for (int i = 1; i < ACME_STATUS__MAX; i++) {
		assert_int_equal(acme_status_parse(acme_status_name((enum acme_status)i)), i);
	}
	assert_string_equal(challenge_type_name(CHALLENGE_TYPE_DNS01), "dns-01");
	assert_string_equal(ident_type_name(IDENT_IP), "ip");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_directory_pebble),
	        cmocka_unit_test(test_directory_errors),
	        cmocka_unit_test(test_order),
	        cmocka_unit_test(test_authz),
	        cmocka_unit_test(test_authz_persist),
	        cmocka_unit_test(test_renewal_info),
	        cmocka_unit_test(test_timestamps),
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_links),
	        cmocka_unit_test(test_links_hostile),
	        cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
