/* The dns-persist-01 record (draft-ietf-acme-dns-persist-01): built as the
 * draft's examples show it, read back by the RFC 8659 issue-value grammar,
 * and each reason a record does not authorise. */
#include "challenge/persist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ACCT "https://ca.example/acct/123"
/* 2024-07-26T00:00:00Z: the draft's persistUntil example. */
#define UNTIL 1721952000

static const char *const issuers[] = {"authority.example", "ca.example.net"};

static struct persist_want
want(bool wildcard, int64_t now)
{
	struct persist_want w = {
	        .issuers = issuers,
	        .n_issuers = 2,
	        .account_uri = ACCT,
	        .wildcard = wildcard,
	        .now = now,
	};
	return w;
}

/* Section 10's records, as this module writes them. */
static void
test_value_examples(void **state)
{
	struct persist_spec spec = {.issuer = "authority.example", .account_uri = ACCT};
	char out[PERSIST_VALUE_MAX];
	char why[256];

	(void)state;
	assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "authority.example; accounturi=" ACCT);
	spec.wildcard = true;
	assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "authority.example; accounturi=" ACCT "; policy=wildcard");
	spec.has_until = true;
	spec.until = UNTIL;
	assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "authority.example; accounturi=" ACCT
	                         "; policy=wildcard; persistUntil=1721952000");
	spec.wildcard = false;
	assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "authority.example; accounturi=" ACCT "; persistUntil=1721952000");
}

/* What a record value cannot carry is refused, with the reason. */
static void
test_value_refuses(void **state)
{
	struct {
		const char *issuer;
		const char *account;
		int64_t until;
		const char *why;
	} bad[] = {
	        {"Authority.example", ACCT, 0, "lower case"},
	        {"authority.example.", ACCT, 0, "lower case"},
	        {"-authority.example", ACCT, 0, "LDH"},
	        {"", ACCT, 0, "empty"},
	        {"authority.example", "", 0, "no account URL"},
	        {"authority.example", "https://ca.example/a b", 0, "0x20"},
	        {"authority.example", "https://ca.example/a;b", 0, "0x3b"},
	        {"authority.example", "https://ca.example/\x7f", 0, "0x7f"},
	        {"authority.example", "https://ca.example/\xc3\xa9", 0, "0xc3"},
	        {"authority.example", ACCT, -1, "1970"},
	};
	char long_uri[PERSIST_VALUE_MAX + 16];
	struct persist_spec spec;
	char out[PERSIST_VALUE_MAX];
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&spec, 0, sizeof(spec));
		spec.issuer = bad[i].issuer;
		spec.account_uri = bad[i].account;
		spec.has_until = bad[i].until != 0;
		spec.until = bad[i].until;
		if (persist_value(&spec, out, sizeof(out), why, sizeof(why)) == 0) {
			fail_msg("persist_value took case %zu: %s", i, out);
		}
		assert_string_equal(out, "");
		if (strstr(why, bad[i].why) == NULL) {
			fail_msg("case %zu: why is '%s', want '%s' in it", i, why, bad[i].why);
		}
	}
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	long_uri[sizeof(long_uri) - 1] = '\0';
	memset(&spec, 0, sizeof(spec));
	spec.issuer = "authority.example";
	spec.account_uri = long_uri;
	assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than"));
}

static void
test_owner_and_zone(void **state)
{
	char owner[PERSIST_OWNER_MAX];
	char zone[PERSIST_ZONE_MAX];
	char value[600];
	char want_line[800];

	(void)state;
	assert_int_equal(persist_owner_name("example.com", owner, sizeof(owner)), 0);
	assert_string_equal(owner, "_validation-persist.example.com");
	assert_int_equal(persist_owner_name("*.example.com", owner, sizeof(owner)), -1);
	assert_int_equal(persist_owner_name("", owner, sizeof(owner)), -1);
	assert_int_equal(persist_owner_name("example.com", owner, 10), -1);

	assert_int_equal(persist_zone_line("_validation-persist.example.com",
	                                   "authority.example; accounturi=" ACCT, zone,
	                                   sizeof(zone)),
	                 0);
	assert_string_equal(zone, "_validation-persist.example.com. IN TXT \"authority.example; "
	                          "accounturi=" ACCT "\"");
	/* Quotes and backslashes escaped (a parameter value may hold them). */
	assert_int_equal(persist_zone_line("o", "a\"b\\c", zone, sizeof(zone)), 0);
	assert_string_equal(zone, "o. IN TXT \"a\\\"b\\\\c\"");
	/* Over 255 octets: strings of 255, as section 9.1 asks. */
	memset(value, 'x', 300);
	value[300] = '\0';
	assert_int_equal(persist_zone_line("o", value, zone, sizeof(zone)), 0);
	snprintf(want_line, sizeof(want_line), "o. IN TXT \"%.255s\" \"%.45s\"", value, value);
	assert_string_equal(zone, want_line);
	/* Exactly 255: one string. */
	value[255] = '\0';
	assert_int_equal(persist_zone_line("o", value, zone, sizeof(zone)), 0);
	assert_null(strstr(zone, "\" \""));
	/* Too short a buffer, at every length. */
	for (size_t len = 0; len < strlen("o. IN TXT \"ab\"") + 1; len++) {
		char small[32];

		assert_int_equal(persist_zone_line("o", "ab", small, len), -1);
	}
	assert_int_equal(persist_zone_line("o", "ab", zone, strlen("o. IN TXT \"ab\"") + 1), 0);
}

static void
test_issuer_normalize(void **state)
{
	static const char *const bad[] = {
	        "",
	        ".",
	        "a..example",
	        "-a.example",
	        "a-.example",
	        "a_b.example",
	        "a.example..",
	        "b\303\274cher.example", /* UTF-8 ü: octal, which stops at three digits */
	        "a example",
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	};
	char out[PERSIST_ISSUER_MAX + 1];
	char name[300];
	char why[256];

	(void)state;
	assert_int_equal(
	        persist_issuer_normalize("Mock.EXAMPLE.", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "mock.example");
	assert_int_equal(persist_issuer_normalize("xn--bcher-kva.example", out, sizeof(out), why,
	                                          sizeof(why)),
	                 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(
	        persist_issuer_normalize("a--b.example", out, sizeof(out), why, sizeof(why)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (persist_issuer_normalize(bad[i], out, sizeof(out), why, sizeof(why)) == 0) {
			fail_msg("took issuer '%s'", bad[i]);
		}
		assert_true(why[0] != '\0');
	}
	/* 253 octets in labels of 63 is the most. */
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.61s", bad[9], bad[9], bad[9], bad[9]);
	assert_int_equal(strlen(name), 253);
	assert_int_equal(persist_issuer_normalize(name, out, sizeof(out), why, sizeof(why)), 0);
	strcat(name, "a");
	assert_int_equal(persist_issuer_normalize(name, out, sizeof(out), why, sizeof(why)), -1);
	/* An output buffer too short. */
	assert_int_equal(persist_issuer_normalize("mock.example", out, 5, why, sizeof(why)), -1);
}

/* Section 3.1: 1 to 10 names, each normalized, or the challenge is
 * malformed. */
static void
test_issuers_check(void **state)
{
	static const char *const good[] = {"a.example", "b.example", "c.example", "d.example",
	                                   "e.example", "f.example", "g.example", "h.example",
	                                   "i.example", "j.example", "k.example"};
	const char *bad[] = {"a.example", NULL};
	char why[256];

	(void)state;
	assert_int_equal(persist_issuers_check(good, 1, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(persist_issuers_check(good, 10, why, sizeof(why)), 0);
	assert_int_equal(persist_issuers_check(good, 11, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "11 issuer domain names"));
	assert_int_equal(persist_issuers_check(good, 0, why, sizeof(why)), -1);
	assert_int_equal(persist_issuers_check(bad, 2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a string"));
	bad[1] = "Mock.example";
	assert_int_equal(persist_issuers_check(bad, 2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "lower case"));
	bad[1] = "mock.example.";
	assert_int_equal(persist_issuers_check(bad, 2, why, sizeof(why)), -1);
	bad[1] = "mock..example";
	assert_int_equal(persist_issuers_check(bad, 2, why, sizeof(why)), -1);
}

struct check_case {
	const char *record;
	bool wildcard;
	int64_t now;
	enum persist_verdict verdict;
	const char *why; /* a part of the reason, or NULL */
};

static const struct check_case checks[] = {
        {"authority.example; accounturi=" ACCT, false, 0, PERSIST_AUTHORIZES, NULL},
        {"authority.example;accounturi=" ACCT, false, 0, PERSIST_AUTHORIZES, NULL},
        /* Whitespace where RFC 8659 allows it, tags and issuer in any case. */
        {" \tAuthority.EXAMPLE \t;\t ACCOUNTURI = " ACCT " \t", false, 0, PERSIST_AUTHORIZES, NULL},
        {"ca.example.net; accounturi=" ACCT, false, 0, PERSIST_AUTHORIZES, NULL},
        /* Unknown parameters are ignored, twice too; their values may hold '='. */
        {"authority.example; foo=bar; accounturi=" ACCT "; x-y=1=2; foo=", false, 0,
         PERSIST_AUTHORIZES, NULL},
        /* Other CAs' records: ignored, whatever follows. */
        {"other.example; accounturi=" ACCT, false, 0, PERSIST_OTHER_ISSUER, "other.example"},
        {"other.example; garbage", false, 0, PERSIST_OTHER_ISSUER, "other.example"},
        {"authority.example.net; accounturi=" ACCT, false, 0, PERSIST_OTHER_ISSUER, NULL},
        {"; accounturi=" ACCT, false, 0, PERSIST_OTHER_ISSUER, "names no CA"},
        /* Broken. */
        {"", false, 0, PERSIST_MALFORMED, "no accounturi"},
        {"authority.example", false, 0, PERSIST_MALFORMED, "no accounturi"},
        {"authority.example;", false, 0, PERSIST_MALFORMED, "no accounturi"},
        {"authority.example; policy=wildcard", false, 0, PERSIST_MALFORMED, "no accounturi"},
        {"authority.example; accounturi=", false, 0, PERSIST_MALFORMED, "empty"},
        {"authority.example; accounturi=" ACCT "; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "twice"},
        {"authority.example; AccountUri=x; accounturi=" ACCT, false, 0, PERSIST_MALFORMED, "twice"},
        {"authority.example; policy=wildcard; accounturi=" ACCT "; POLICY=x", false, 0,
         PERSIST_MALFORMED, "policy given twice"},
        {"authority.example; accounturi=" ACCT ";", false, 0, PERSIST_MALFORMED,
         "no parameter after"},
        {"authority.example; accounturi=" ACCT "; ", false, 0, PERSIST_MALFORMED,
         "no parameter after"},
        {"authority.example accounturi=" ACCT, false, 0, PERSIST_MALFORMED, "octet 18"},
        {"authority.example; accounturi=" ACCT " policy=wildcard", false, 0, PERSIST_MALFORMED,
         "after parameter accounturi"},
        {"authority.example; accounturi " ACCT, false, 0, PERSIST_MALFORMED, "no '='"},
        {"authority.example; -x=1; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "where a parameter begins"},
        {"authority.example.; accounturi=" ACCT, false, 0, PERSIST_MALFORMED, "octet 17"},
        {"authority.example; accounturi=" ACCT "\x01", false, 0, PERSIST_MALFORMED, "\"?\""},
        {"authority.example; persistUntil=abc; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "\"abc\" is not UNIX seconds"},
        {"authority.example; persistUntil=-5; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "UNIX seconds"},
        {"authority.example; persistUntil=+5; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "UNIX seconds"},
        {"authority.example; persistUntil=; accounturi=" ACCT, false, 0, PERSIST_MALFORMED,
         "UNIX seconds"},
        {"authority.example; persistUntil=9223372036854775808; accounturi=" ACCT, false, 0,
         PERSIST_MALFORMED, "UNIX seconds"},
        {"authority.example; persistUntil=1; persistuntil=2; accounturi=" ACCT, false, 0,
         PERSIST_MALFORMED, "persistUntil given twice"},
        {"b\xc3\xbc"
         "cher.example; accounturi=" ACCT,
         false, 0, PERSIST_MALFORMED, "not an issue-value"},
        /* The account: octet for octet (section 4.1), no case folding. */
        {"authority.example; accounturi=https://CA.example/acct/123", false, 0,
         PERSIST_OTHER_ACCOUNT, "not this account's"},
        {"authority.example; accounturi=" ACCT "4", false, 0, PERSIST_OTHER_ACCOUNT, "1234"},
        {"authority.example; accounturi=" ACCT "=x", false, 0, PERSIST_OTHER_ACCOUNT, NULL},
        /* Wildcards (section 5). */
        {"authority.example; accounturi=" ACCT, true, 0, PERSIST_NOT_WILDCARD, "policy=wildcard"},
        {"authority.example; accounturi=" ACCT "; policy=WildCard", true, 0, PERSIST_AUTHORIZES,
         NULL},
        {"authority.example; accounturi=" ACCT "; policy=wildcards", true, 0, PERSIST_NOT_WILDCARD,
         NULL},
        {"authority.example; accounturi=" ACCT "; policy=wildcard", false, 0, PERSIST_AUTHORIZES,
         NULL},
        /* persistUntil: valid through its second, not after. */
        {"authority.example; accounturi=" ACCT "; persistUntil=1721952000", false, UNTIL,
         PERSIST_AUTHORIZES, NULL},
        {"authority.example; accounturi=" ACCT "; persistUntil=1721952000", false, UNTIL + 1,
         PERSIST_EXPIRED, "2024-07-26T00:00:00Z"},
        {"authority.example; accounturi=" ACCT "; persistUntil=9223372036854775807", false, UNTIL,
         PERSIST_AUTHORIZES, NULL},
        {"authority.example; accounturi=" ACCT "; persistUntil=0001721952000", false, UNTIL,
         PERSIST_AUTHORIZES, NULL},
        /* The account is checked before the policy, the policy before the time. */
        {"authority.example; accounturi=x; persistUntil=1", true, UNTIL, PERSIST_OTHER_ACCOUNT,
         NULL},
        {"authority.example; accounturi=" ACCT "; persistUntil=1", true, UNTIL,
         PERSIST_NOT_WILDCARD, NULL},
};

static void
test_check(void **state)
{
	char why[512];

	(void)state;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check_case *c = &checks[i];
		struct persist_want w = want(c->wildcard, c->now);
		enum persist_verdict v =
		        persist_check(c->record, strlen(c->record), &w, why, sizeof(why));

		if (v != c->verdict) {
			fail_msg("case %zu '%s': %s (%s), want %s", i, c->record,
			         persist_verdict_name(v), why, persist_verdict_name(c->verdict));
		}
		if (v == PERSIST_AUTHORIZES && why[0] != '\0') {
			fail_msg("case %zu: authorizes with a reason '%s'", i, why);
		}
		if (v != PERSIST_AUTHORIZES && (why[0] == '\0' || strchr(why, '\n') != NULL)) {
			fail_msg("case %zu: reason '%s' is not one line", i, why);
		}
		if (c->why != NULL && strstr(why, c->why) == NULL) {
			fail_msg("case %zu '%s': why '%s' lacks '%s'", i, c->record, why, c->why);
		}
	}
}

/* The length given is the record: a NUL inside is an octet like another,
 * and nothing past the length is read. */
static void
test_check_uses_len(void **state)
{
	static const char rec[] = "authority.example; accounturi=" ACCT "\0; policy=wildcard";
	struct persist_want w = want(false, 0);
	char why[256];

	(void)state;
	assert_int_equal(persist_check(rec, sizeof(rec) - 1, &w, why, sizeof(why)),
	                 PERSIST_MALFORMED);
	assert_int_equal(persist_check(rec, strlen(rec), &w, why, sizeof(why)), PERSIST_AUTHORIZES);
	assert_int_equal(persist_check(rec, strlen("authority.example; accounturi=ht"), &w, why,
	                               sizeof(why)),
	                 PERSIST_OTHER_ACCOUNT);
}

static void
test_parse_fields(void **state)
{
	static const char rec[] =
	        " ca.example.net ; x=y ; ACCOUNTURI=" ACCT " ; Policy=WILDCARD ; PersistUntil=42 ";
	struct persist_record r;
	char why[256];

	(void)state;
	assert_int_equal(persist_parse(rec, strlen(rec), &r, why, sizeof(why)), 0);
	assert_int_equal(r.issuer.len, strlen("ca.example.net"));
	assert_memory_equal(r.issuer.p, "ca.example.net", r.issuer.len);
	assert_int_equal(r.account_uri.len, strlen(ACCT));
	assert_memory_equal(r.account_uri.p, ACCT, r.account_uri.len);
	assert_true(r.wildcard);
	assert_true(r.has_until);
	assert_int_equal(r.until, 42);
	assert_int_equal(persist_time_left(&r, 40), 2);
	assert_int_equal(persist_time_left(&r, 42), 0);
	assert_int_equal(persist_time_left(&r, 43), -1);
	/* The issuer is kept when the rest fails. */
	assert_int_equal(persist_parse("a.example; !", 12, &r, why, sizeof(why)), -1);
	assert_int_equal(r.issuer.len, 9);
	assert_false(r.has_until);
	assert_int_equal(r.account_uri.len, 0);
}

static void
test_time_left(void **state)
{
	struct persist_record r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(persist_time_left(&r, UNTIL), INT64_MAX);
	r.has_until = true;
	r.until = INT64_MAX;
	assert_true(persist_time_left(&r, -10) > 0);
	r.until = 0;
	assert_true(persist_time_left(&r, INT64_MAX) < 0);
	r.until = UNTIL;
	assert_int_equal(persist_time_left(&r, UNTIL - 86400), 86400);
}

/* Several records at the name (section 4.3): one that authorises wins,
 * else the one that came closest says why. */
static void
test_check_all(void **state)
{
	const char *recs[4] = {NULL};
	size_t lens[4] = {0};
	struct persist_want w = want(false, UNTIL);
	size_t which = 99;
	char why[512];

	(void)state;
	assert_int_equal(persist_check_all(recs, lens, 0, &w, &which, why, sizeof(why)),
	                 PERSIST_ABSENT);
	assert_int_equal(which, 99);
	assert_string_equal(why, "no TXT record");

	recs[0] = "other.example; accounturi=" ACCT;
	recs[1] = "!!!";
	recs[2] = "authority.example; accounturi=https://ca.example/acct/9";
	recs[3] = "authority.example; accounturi=" ACCT;
	for (size_t i = 0; i < 4; i++) {
		lens[i] = strlen(recs[i]);
	}
	assert_int_equal(persist_check_all(recs, lens, 4, &w, &which, why, sizeof(why)),
	                 PERSIST_AUTHORIZES);
	assert_int_equal(which, 3);
	assert_int_equal(persist_check_all(recs, lens, 3, &w, &which, why, sizeof(why)),
	                 PERSIST_OTHER_ACCOUNT);
	assert_int_equal(which, 2);
	assert_non_null(strstr(why, "acct/9"));
	assert_int_equal(persist_check_all(recs, lens, 2, &w, &which, why, sizeof(why)),
	                 PERSIST_MALFORMED);
	assert_int_equal(which, 1);
	assert_int_equal(persist_check_all(recs, lens, 1, &w, NULL, why, sizeof(why)),
	                 PERSIST_OTHER_ISSUER);
}

/* What persist_value writes, persist_check takes as authorising. */
static void
test_round_trip(void **state)
{
	static const char *const accounts[] = {
	        ACCT,
	        "https://127.0.0.1:14000/my-account/1",
	        "urn:x-acct:\"quoted\"\\back=slash",
	};
	char out[PERSIST_VALUE_MAX];
	char why[256];

	(void)state;
	for (size_t a = 0; a < sizeof(accounts) / sizeof(accounts[0]); a++) {
		for (int flags = 0; flags < 4; flags++) {
			struct persist_spec spec = {
			        .issuer = "ca.example.net",
			        .account_uri = accounts[a],
			        .wildcard = (flags & 1) != 0,
			        .has_until = (flags & 2) != 0,
			        .until = UNTIL,
			};
			struct persist_want w = want(spec.wildcard, UNTIL);
			struct persist_record r;

			w.account_uri = accounts[a];
			assert_int_equal(persist_value(&spec, out, sizeof(out), why, sizeof(why)),
			                 0);
			assert_int_equal(persist_check(out, strlen(out), &w, why, sizeof(why)),
			                 PERSIST_AUTHORIZES);
			assert_int_equal(persist_parse(out, strlen(out), &r, why, sizeof(why)), 0);
			assert_int_equal(r.wildcard, spec.wildcard);
			assert_int_equal(r.has_until, spec.has_until);
			w.now = UNTIL + 1;
			assert_int_equal(persist_check(out, strlen(out), &w, why, sizeof(why)),
			                 spec.has_until ? PERSIST_EXPIRED : PERSIST_AUTHORIZES);
		}
	}
}

static void
test_parse_until(void **state)
{
	static const char *const bad[] = {
	        "",
	        "tomorrow",
	        "-5",
	        "+5",
	        "2027-02-31",
	        "2027-1-31",
	        "2027-01-31T",
	        "2027-01-31T12",
	        "2027-01-31T12:00",
	        "2027-01-31 12:00Z",
	        "2027-01-31T25:00Z",
	        "2027-01-31T12:60Z",
	        "2027-01-31T12:00:00+2:00",
	        "2027-01-31T12:00:00+24:00",
	        "2027-01-31Z",
	        "2027-01-31T12:00:00Zx",
	        "99999999999999999999",
	};
	int64_t t = 0;

	(void)state;
	assert_int_equal(persist_parse_until("2027-01-31", &t), 0);
	assert_int_equal(t, 1801353600);
	assert_int_equal(persist_parse_until("2027-01-31T12:00:00Z", &t), 0);
	assert_int_equal(t, 1801396800);
	assert_int_equal(persist_parse_until("2027-01-31t12:00z", &t), 0);
	assert_int_equal(t, 1801396800);
	assert_int_equal(persist_parse_until("2027-01-31T14:00:00+02:00", &t), 0);
	assert_int_equal(t, 1801396800);
	assert_int_equal(persist_parse_until("2027-01-31T10:30-01:30", &t), 0);
	assert_int_equal(t, 1801396800);
	assert_int_equal(persist_parse_until("1801396800", &t), 0);
	assert_int_equal(t, 1801396800);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (persist_parse_until(bad[i], &t) == 0) {
			fail_msg("took '%s' as %lld", bad[i], (long long)t);
		}
	}
}

static void
test_names(void **state)
{
	char buf[32];

	(void)state;
	for (int v = 0; v < PERSIST_VERDICT__MAX; v++) {
		assert_non_null(persist_verdict_name(v));
		assert_string_not_equal(persist_verdict_name(v), "unknown");
	}
	assert_string_equal(persist_verdict_name(PERSIST_VERDICT__MAX), "unknown");
	assert_string_equal(persist_time_text(UNTIL, buf, sizeof(buf)), "2024-07-26T00:00:00Z");
	assert_string_equal(persist_time_text(INT64_MAX, buf, sizeof(buf)), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_value_examples), cmocka_unit_test(test_value_refuses),
	        cmocka_unit_test(test_owner_and_zone), cmocka_unit_test(test_issuer_normalize),
	        cmocka_unit_test(test_issuers_check),  cmocka_unit_test(test_check),
	        cmocka_unit_test(test_check_uses_len), cmocka_unit_test(test_parse_fields),
	        cmocka_unit_test(test_time_left),      cmocka_unit_test(test_check_all),
	        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_parse_until),
	        cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
