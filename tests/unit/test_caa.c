#include "renew/caa.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* A record from string literals (the value may hold NUL bytes). */
#define REC(f, t, v)                                                                               \
	{                                                                                          \
		.flags = (f), .tag = (t), .tag_len = sizeof(t) - 1, .value = (const uint8_t *)(v), \
		.value_len = sizeof(v) - 1,                                                        \
	}

static const char *const pebble[] = {"pebble.test"};

/* This CA (pebble.test), account 1, http-01. */
static const struct caa_request req = {
        .ca_ids = pebble,
        .n_ca_ids = 1,
        .account_uri = "https://pebble.test/acct/1",
        .method = "http-01",
};

static int
parse(const char *value, struct caa_issue *out, char *why, size_t whylen)
{
	return caa_issue_parse((const uint8_t *)value, strlen(value), out, why, whylen);
}

static void
assert_span(struct caa_span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

/* The reason of the records' verdict at example.com. */
static enum caa_verdict
decide(const struct caa_request *r, const struct caa_record *recs, size_t n, bool wildcard,
       const char *reason)
{
	struct caa_result res;

	caa_decide(r, "example.com", recs, n, wildcard, &res);
	if (reason != NULL) {
		assert_string_equal(res.reason, reason);
	}
	assert_null(strchr(res.reason, '\n'));
	return res.verdict;
}

static void
test_parse_rfc_examples(void **state)
{
	struct caa_issue is;
	char why[128];

	(void)state;
	/* RFC 8659 section 4.2. */
	assert_int_equal(parse("ca.example.net; account=230123", &is, why, sizeof(why)), 0);
	assert_span(is.issuer, "ca.example.net");
	assert_int_equal(is.n_params, 1);
	assert_span(is.params[0].tag, "account");
	assert_span(is.params[0].value, "230123");
	assert_int_equal(is.n_accounturi, 0);

	assert_int_equal(parse(";", &is, why, sizeof(why)), 0);
	assert_int_equal(is.issuer.len, 0);
	assert_int_equal(is.n_params, 0);

	assert_int_equal(parse("ca1.example.net", &is, why, sizeof(why)), 0);
	assert_span(is.issuer, "ca1.example.net");

	/* RFC 8657 appendix A. */
	assert_int_equal(parse("example.net; accounturi=https://example.net/account/1234; "
	                       "validationmethods=dns-01",
	                       &is, why, sizeof(why)),
	                 0);
	assert_span(is.issuer, "example.net");
	assert_int_equal(is.n_accounturi, 1);
	assert_span(is.accounturi, "https://example.net/account/1234");
	assert_int_equal(is.n_validationmethods, 1);
	assert_span(is.validationmethods, "dns-01");
}

static void
test_parse_empty_and_whitespace(void **state)
{
	struct caa_issue is;
	char why[128];

	(void)state;
	/* No issuer-domain-name and no ';': the grammar allows it, no CA. */
	assert_int_equal(parse("", &is, why, sizeof(why)), 0);
	assert_int_equal(is.issuer.len, 0);
	assert_int_equal(parse(" \t ", &is, why, sizeof(why)), 0);
	assert_int_equal(is.issuer.len, 0);
	assert_int_equal(parse("  ;  ", &is, why, sizeof(why)), 0);
	assert_int_equal(is.issuer.len, 0);
	assert_int_equal(parse("ca.example;", &is, why, sizeof(why)), 0);
	assert_span(is.issuer, "ca.example");
	assert_int_equal(is.n_params, 0);

	assert_int_equal(parse(" \tca.example \t; accounturi = https://a/1 ;\tvalidationmethods="
	                       "\tdns-01,http-01 \t",
	                       &is, why, sizeof(why)),
	                 0);
	assert_span(is.issuer, "ca.example");
	assert_int_equal(is.n_params, 2);
	assert_span(is.accounturi, "https://a/1");
	assert_span(is.validationmethods, "dns-01,http-01");

	/* ';' ends a value; '=' is one of its characters; it may be empty. */
	assert_int_equal(parse("ca; k=a=b; e=", &is, why, sizeof(why)), 0);
	assert_span(is.params[0].value, "a=b");
	assert_span(is.params[1].tag, "e");
	assert_int_equal(is.params[1].value.len, 0);

	/* Hyphens inside labels and parameter tags. */
	assert_int_equal(parse("c--a.ex-ample; a--b=1", &is, why, sizeof(why)), 0);
	assert_span(is.issuer, "c--a.ex-ample");
	assert_span(is.params[0].tag, "a--b");
}

static void
test_parse_params_counted(void **state)
{
	struct caa_issue is;
	char why[128];
	char value[512] = "ca.example";

	(void)state;
	for (int i = 0; i < CAA_PARAMS_MAX + 4; i++) {
		snprintf(value + strlen(value), sizeof(value) - strlen(value), "; p%d=%d", i, i);
	}
	strcat(value, "; accounturi=a; accounturi=b; validationmethods=dns-01");
	assert_int_equal(parse(value, &is, why, sizeof(why)), 0);
	assert_int_equal(is.n_params, CAA_PARAMS_MAX + 7);
	assert_span(is.params[CAA_PARAMS_MAX - 1].tag, "p15");
	/* Beyond those kept, still counted and found. */
	assert_int_equal(is.n_accounturi, 2);
	assert_span(is.accounturi, "a");
	assert_int_equal(is.n_validationmethods, 1);

	/* Parameter tags are compared exactly. */
	assert_int_equal(parse("ca; AccountURI=x", &is, why, sizeof(why)), 0);
	assert_int_equal(is.n_accounturi, 0);
	assert_int_equal(is.n_params, 1);
}

static void
assert_malformed(const char *value, const char *why_want)
{
	struct caa_issue is;
	char why[128];

	memset(&is, 0xa5, sizeof(is));
	assert_int_equal(parse(value, &is, why, sizeof(why)), -1);
	assert_string_equal(why, why_want);
	assert_null(is.issuer.s);
	assert_int_equal(is.n_params, 0);
}

static void
test_parse_malformed(void **state)
{
	struct caa_issue is;
	char why[128];

	(void)state;
	/* RFC 8659 section 4.2's example. */
	assert_malformed("%%%%%", "'%' at offset 0 where an issuer-domain-name was expected");
	assert_malformed("pebble.test.", "a trailing dot in the issuer-domain-name");
	assert_malformed("ca..example", "'.' at offset 3 where a label was expected");
	assert_malformed("-ca.example", "'-' at offset 0 where an issuer-domain-name was expected");
	assert_malformed("ca-.example", "'-' at offset 2 where ';' was expected");
	assert_malformed("ca.example a=b", "'a' at offset 11 where ';' was expected");
	assert_malformed("ca_1.example", "'_' at offset 2 where ';' was expected");
	assert_malformed("ca.example; a=b;", "a ';' after the last parameter");
	assert_malformed("ca.example; a", "the end where '=' was expected");
	assert_malformed("ca.example; =b", "'=' at offset 12 where a parameter tag was expected");
	assert_malformed("ca.example; a=b c=d", "'c' at offset 16 where ';' was expected");
	assert_malformed("ca.example;; a=b", "';' at offset 11 where a parameter tag was expected");
	assert_malformed("ca.example; a=\"b\"x\x7f",
	                 "byte \\127 at offset 18 where ';' was expected");
	assert_malformed("ca.\xc3\xa9xample", "byte \\195 at offset 3 where a label was expected");

	/* A NUL byte is a byte like any other. */
	assert_int_equal(caa_issue_parse((const uint8_t *)"ca\0x", 4, &is, why, sizeof(why)), -1);
	assert_string_equal(why, "byte \\000 at offset 2 where ';' was expected");
	/* why may be left out. */
	assert_int_equal(caa_issue_parse((const uint8_t *)"%", 1, &is, NULL, 0), -1);
}

static void
test_tags(void **state)
{
	(void)state;
	assert_int_equal(caa_tag_of("issue", 5), CAA_TAG_ISSUE);
	assert_int_equal(caa_tag_of("ISSUE", 5), CAA_TAG_ISSUE);
	assert_int_equal(caa_tag_of("IssueWild", 9), CAA_TAG_ISSUEWILD);
	assert_int_equal(caa_tag_of("iodef", 5), CAA_TAG_IODEF);
	assert_int_equal(caa_tag_of("issuemail", 9), CAA_TAG_ISSUEMAIL);
	assert_int_equal(caa_tag_of("contactemail", 12), CAA_TAG_CONTACTEMAIL);
	assert_int_equal(caa_tag_of("tbs", 3), CAA_TAG_UNKNOWN);
	assert_int_equal(caa_tag_of("issu", 4), CAA_TAG_UNKNOWN);
	assert_int_equal(caa_tag_of("issue\0", 6), CAA_TAG_UNKNOWN);
	assert_int_equal(caa_tag_of("", 0), CAA_TAG_UNKNOWN);
	assert_string_equal(caa_tag_name(CAA_TAG_ISSUEWILD), "issuewild");
	assert_string_equal(caa_tag_name(CAA_TAG__MAX), "?");
	assert_string_equal(caa_verdict_name(CAA_UNCHECKED), "unchecked");
	assert_string_equal(caa_verdict_name(CAA_VERDICT__MAX), "?");

	struct caa_record crit = REC(128, "tbs", "Unknown");
	struct caa_record crit_iodef = REC(128, "iodef", "mailto:a@example.com");
	struct caa_record low_bit = REC(1, "tbs", "Unknown");

	assert_true(caa_record_critical_unknown(&crit));
	assert_false(caa_record_critical_unknown(&crit_iodef));
	assert_false(caa_record_critical_unknown(&low_bit));
}

static void
test_record_text(void **state)
{
	struct caa_record r = REC(0, "issue", "ca.example.net; account=230123");
	struct caa_record odd = REC(128, "t s", "a\"b\\c\n\xff");
	char big[400];
	char out[256];
	struct caa_record lng;

	(void)state;
	assert_string_equal(caa_record_text(&r, out, sizeof(out)),
	                    "0 issue \"ca.example.net; account=230123\"");
	assert_string_equal(caa_record_text(&odd, out, sizeof(out)),
	                    "128 t\\032s \"a\\\"b\\\\c\\010\\255\"");
	memset(big, 'a', sizeof(big));
	lng = (struct caa_record){
	        .tag = "issue", .tag_len = 5, .value = (uint8_t *)big, .value_len = sizeof(big)};
	caa_record_text(&lng, out, sizeof(out));
	assert_int_equal(strlen(out), strlen("0 issue \"") + 160 + strlen("...\""));
	assert_string_equal(out + strlen(out) - 5, "a...\"");
	/* Cut short when full, still terminated. */
	caa_record_text(&r, out, 8);
	assert_string_equal(out, "0 issue");
}

static void
test_decide_empty_and_issuer(void **state)
{
	struct caa_record ok[] = {REC(0, "issue", "pebble.test")};
	struct caa_record other[] = {REC(0, "issue", "letsencrypt.org")};
	struct caa_record upper[] = {REC(0, "ISSUE", "PEBBLE.Test")};
	struct caa_record none[] = {REC(0, "issue", ";")};
	struct caa_record added[] = {REC(0, "issue", ";"), REC(0, "issue", "pebble.test")};
	static const char *const dotted[] = {"a.test", "pebble.test."};
	struct caa_request r = req;

	(void)state;
	assert_int_equal(decide(&req, NULL, 0, false, "CAA of example.com: no records"),
	                 CAA_ALLOWED);
	assert_int_equal(
	        decide(&req, ok, 1, false, "CAA of example.com: 0 issue \"pebble.test\" allows it"),
	        CAA_ALLOWED);
	assert_int_equal(decide(&req, other, 1, false,
	                        "CAA of example.com: 0 issue \"letsencrypt.org\" does not name "
	                        "this CA (pebble.test)"),
	                 CAA_FORBIDDEN);
	/* Tags and issuer-domain-names without regard to case. */
	assert_int_equal(decide(&req, upper, 1, false, NULL), CAA_ALLOWED);
	assert_int_equal(
	        decide(&req, none, 1, false, "CAA of example.com: 0 issue \";\" allows no CA"),
	        CAA_FORBIDDEN);
	/* RFC 8659 section 4.2: authorizations add up. */
	assert_int_equal(decide(&req, added, 2, false, NULL), CAA_ALLOWED);

	/* An identity's trailing dot; every identity named in the reason. */
	r.ca_ids = dotted;
	r.n_ca_ids = 2;
	assert_int_equal(decide(&r, ok, 1, false, NULL), CAA_ALLOWED);
	assert_int_equal(decide(&r, other, 1, false,
	                        "CAA of example.com: 0 issue \"letsencrypt.org\" does not name "
	                        "this CA (a.test, pebble.test.)"),
	                 CAA_FORBIDDEN);
	assert_true(caa_issuer_is("pebble.test", 11, dotted, 2));
	assert_false(caa_issuer_is("pebble.tes", 10, dotted, 2));
	assert_false(caa_issuer_is("", 0, (const char *const[]){"."}, 1));
}

static void
test_decide_malformed(void **state)
{
	struct caa_record pct[] = {REC(0, "issue", "%%%%%")};
	struct caa_record dot[] = {REC(0, "issue", "pebble.test.")};
	struct caa_record both[] = {REC(0, "issue", "pebble.test; a=b;"),
	                            REC(0, "issue", "pebble.test")};

	(void)state;
	assert_int_equal(decide(&req, pct, 1, false,
	                        "CAA of example.com: 0 issue \"%%%%%\" is malformed ('%' at "
	                        "offset 0 where an issuer-domain-name was expected), so it names "
	                        "no CA"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, dot, 1, false,
	                        "CAA of example.com: 0 issue \"pebble.test.\" is malformed (a "
	                        "trailing dot in the issuer-domain-name), so it names no CA"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, both, 2, false, NULL), CAA_ALLOWED);
}

static void
test_decide_critical(void **state)
{
	struct caa_record crit[] = {REC(0, "issue", "pebble.test"), REC(128, "tbs", "Unknown")};
	struct caa_record quiet[] = {REC(0, "tbs", "Unknown")};
	struct caa_record iodef[] = {REC(128, "iodef", "mailto:security@example.com"),
	                             REC(0, "issue", "pebble.test")};
	struct caa_record iodef_only[] = {REC(0, "iodef", "https://iodef.example.com/")};
	struct caa_record low[] = {REC(1, "tbs", "x"), REC(0, "issue", "pebble.test")};

	(void)state;
	assert_int_equal(decide(&req, crit, 2, false,
	                        "CAA of example.com: 128 tbs \"Unknown\": critical unknown tag "
	                        "\"tbs\""),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, quiet, 1, false,
	                        "CAA of example.com: no issue property restricts issuance"),
	                 CAA_ALLOWED);
	assert_int_equal(decide(&req, iodef, 2, false, NULL), CAA_ALLOWED);
	assert_int_equal(decide(&req, iodef_only, 1, false,
	                        "CAA of example.com: no issue property restricts issuance"),
	                 CAA_ALLOWED);
	assert_int_equal(decide(&req, low, 2, false, NULL), CAA_ALLOWED);
}

static void
test_decide_wildcard(void **state)
{
	struct caa_record wild_none[] = {REC(0, "issuewild", ";"), REC(0, "issue", "pebble.test")};
	struct caa_record wild_ok[] = {REC(0, "issue", ";"), REC(0, "IssueWild", "pebble.test")};
	struct caa_record issue_only[] = {REC(0, "issue", "other.ca")};
	struct caa_record wild_only[] = {REC(0, "issuewild", "other.ca")};

	(void)state;
	/* RFC 8659 section 4.3: issuewild is ignored for other names... */
	assert_int_equal(decide(&req, wild_none, 2, false, NULL), CAA_ALLOWED);
	assert_int_equal(decide(&req, wild_ok, 2, false, NULL), CAA_FORBIDDEN);
	/* ...and takes precedence for a wildcard name. */
	assert_int_equal(decide(&req, wild_none, 2, true,
	                        "CAA of example.com: 0 issuewild \";\" allows no CA"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, wild_ok, 2, true,
	                        "CAA of example.com: 0 IssueWild \"pebble.test\" allows it"),
	                 CAA_ALLOWED);
	/* Without issuewild, issue speaks for wildcards too. */
	assert_int_equal(decide(&req, issue_only, 1, true,
	                        "CAA of example.com: 0 issue \"other.ca\" does not name this CA "
	                        "(pebble.test)"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, wild_only, 1, false,
	                        "CAA of example.com: no issue property restricts issuance"),
	                 CAA_ALLOWED);
	assert_int_equal(decide(&req, (struct caa_record[]){REC(0, "iodef", "mailto:a@b")}, 1, true,
	                        "CAA of example.com: no issuewild or issue property restricts "
	                        "issuance"),
	                 CAA_ALLOWED);
}

static void
test_decide_accounturi(void **state)
{
	struct caa_record mine[] = {
	        REC(0, "issue", "pebble.test; accounturi=https://pebble.test/acct/1")};
	struct caa_record theirs[] = {
	        REC(0, "issue", "pebble.test; accounturi=https://pebble.test/acct/2")};
	struct caa_record two[] = {REC(0, "issue",
	                               "pebble.test; accounturi=https://pebble.test/acct/1;"
	                               " accounturi=https://pebble.test/acct/1")};
	struct caa_record either[] = {
	        REC(0, "issue", "pebble.test; accounturi=https://pebble.test/acct/2"),
	        REC(0, "issue", "pebble.test; accounturi=https://pebble.test/acct/1")};
	struct caa_request unknown = req;

	(void)state;
	assert_int_equal(decide(&req, mine, 1, false, NULL), CAA_ALLOWED);
	assert_int_equal(decide(&req, theirs, 1, false,
	                        "CAA of example.com: 0 issue \"pebble.test; "
	                        "accounturi=https://pebble.test/acct/2\": "
	                        "accounturi=https://pebble.test/acct/2 is not this account "
	                        "(https://pebble.test/acct/1)"),
	                 CAA_FORBIDDEN);
	/* RFC 8657 section 3: two make the property unsatisfiable. */
	assert_int_equal(decide(&req, two, 1, false, NULL), CAA_FORBIDDEN);
	struct caa_result res;
	caa_decide(&req, "example.com", two, 1, false, &res);
	assert_non_null(strstr(res.reason, ": 2 accounturi parameters, which RFC 8657 section 3 "
	                                   "makes unsatisfiable"));
	assert_int_equal(decide(&req, either, 2, false, NULL), CAA_ALLOWED);

	/* No account yet: cannot tell. */
	unknown.account_uri = NULL;
	assert_int_equal(decide(&unknown, theirs, 1, false,
	                        "could not check: CAA of example.com: 0 issue \"pebble.test; "
	                        "accounturi=https://pebble.test/acct/2\": "
	                        "accounturi=https://pebble.test/acct/2, and this account's URL is "
	                        "not known yet"),
	                 CAA_UNCHECKED);
}

static void
test_decide_validationmethods(void **state)
{
	struct caa_record dns[] = {REC(0, "issue", "pebble.test; validationmethods=dns-01")};
	struct caa_record both[] = {
	        REC(0, "issue", "pebble.test; validationmethods=dns-01,http-01")};
	struct caa_record near[] = {
	        REC(0, "issue", "pebble.test; validationmethods=http-01x,ca-foo")};
	struct caa_record bad[] = {
	        REC(0, "issue", "pebble.test; validationmethods=dns-01,,http-01")};
	struct caa_record empty[] = {REC(0, "issue", "pebble.test; validationmethods=")};
	struct caa_record two[] = {REC(0, "issue",
	                               "pebble.test; validationmethods=http-01; "
	                               "validationmethods=http-01")};
	struct caa_request r = req;

	(void)state;
	assert_int_equal(decide(&req, dns, 1, false,
	                        "CAA of example.com: 0 issue \"pebble.test; "
	                        "validationmethods=dns-01\": validationmethods=dns-01 does not "
	                        "allow http-01"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, both, 1, false, NULL), CAA_ALLOWED);
	assert_int_equal(decide(&req, near, 1, false, NULL), CAA_FORBIDDEN);
	assert_int_equal(decide(&req, bad, 1, false,
	                        "CAA of example.com: 0 issue \"pebble.test; "
	                        "validationmethods=dns-01,,http-01\": "
	                        "validationmethods=dns-01,,http-01 is malformed (RFC 8657 section "
	                        "4)"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, empty, 1, false, NULL), CAA_FORBIDDEN);
	assert_int_equal(decide(&req, two, 1, false, NULL), CAA_UNCHECKED);

	r.method = "dns-persist-01";
	assert_int_equal(decide(&r, dns, 1, false, NULL), CAA_FORBIDDEN);
	r.method = "dns-01";
	assert_int_equal(decide(&r, dns, 1, false, NULL), CAA_ALLOWED);
	r.method = NULL;
	assert_int_equal(decide(&r, dns, 1, false,
	                        "could not check: CAA of example.com: 0 issue \"pebble.test; "
	                        "validationmethods=dns-01\": validationmethods=dns-01, and the "
	                        "challenge type is not known"),
	                 CAA_UNCHECKED);
	/* No parameter: any method, known or not. */
	assert_int_equal(
	        decide(&r, (struct caa_record[]){REC(0, "issue", "pebble.test")}, 1, false, NULL),
	        CAA_ALLOWED);
}

static void
test_decide_quotes_nearest(void **state)
{
	struct caa_record three[] = {REC(0, "issue", ";"), REC(0, "issue", "other.ca"),
	                             REC(0, "issue", "pebble.test; validationmethods=dns-01"),
	                             REC(0, "issue", "other2.ca")};
	struct caa_record two[] = {REC(0, "issue", ";"), REC(0, "issue", "other.ca"),
	                           REC(0, "issue", "other2.ca")};
	struct caa_request no_account = req;

	(void)state;
	assert_int_equal(decide(&req, three, 4, false,
	                        "CAA of example.com: 0 issue \"pebble.test; "
	                        "validationmethods=dns-01\": validationmethods=dns-01 does not "
	                        "allow http-01"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&req, two, 3, false,
	                        "CAA of example.com: 0 issue \"other.ca\" does not name this CA "
	                        "(pebble.test)"),
	                 CAA_FORBIDDEN);
	/* One that might allow makes it unchecked, whatever the others. */
	no_account.account_uri = NULL;
	assert_int_equal(decide(&no_account,
	                        (struct caa_record[]){REC(0, "issue", "other.ca"),
	                                              REC(0, "issue", "pebble.test; accounturi=x")},
	                        2, false, NULL),
	                 CAA_UNCHECKED);
}

static void
test_decide_identity_unknown(void **state)
{
	struct caa_request r = req;

	(void)state;
	r.ca_ids = NULL;
	r.n_ca_ids = 0;
	assert_int_equal(decide(&r, (struct caa_record[]){REC(0, "issue", "letsencrypt.org")}, 1,
	                        false,
	                        "could not check: CAA of example.com: 0 issue \"letsencrypt.org\": "
	                        "this CA's CAA identity is unknown (set caa-identity)"),
	                 CAA_UNCHECKED);
	/* What needs no identity is still decided. */
	assert_int_equal(decide(&r, (struct caa_record[]){REC(0, "issue", ";")}, 1, false, NULL),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&r, (struct caa_record[]){REC(128, "tbs", "")}, 1, false, NULL),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&r, NULL, 0, false, NULL), CAA_ALLOWED);
}

static void
test_decide_hostile_text(void **state)
{
	static const char *const ids[] = {"evil\nca"};
	struct caa_request r = req;
	struct caa_result res;
	char value[2000];
	struct caa_record big;

	(void)state;
	r.ca_ids = ids;
	r.account_uri = "https://ca/acct/1\r\nX: y";
	assert_int_equal(decide(&r, (struct caa_record[]){REC(0, "issue", "other.ca")}, 1, false,
	                        "CAA of example.com: 0 issue \"other.ca\" does not name this CA "
	                        "(evil\\010ca)"),
	                 CAA_FORBIDDEN);
	assert_int_equal(decide(&r, (struct caa_record[]){REC(128, "t\nb", "")}, 1, false,
	                        "CAA of example.com: 128 t\\010b \"\": critical unknown tag "
	                        "\"t\\010b\""),
	                 CAA_FORBIDDEN);
	r.ca_ids = pebble;
	assert_int_equal(decide(&r,
	                        (struct caa_record[]){REC(0, "issue", "pebble.test; accounturi=x")},
	                        1, false,
	                        "CAA of example.com: 0 issue \"pebble.test; accounturi=x\": "
	                        "accounturi=x is not this account (https://ca/acct/1\\013\\010X: "
	                        "y)"),
	                 CAA_FORBIDDEN);

	/* A long accounturi: the reason is cut, still one terminated line. */
	snprintf(value, sizeof(value), "pebble.test; accounturi=https://x/%01900d", 7);
	big = (struct caa_record){.tag = "issue",
	                          .tag_len = 5,
	                          .value = (uint8_t *)value,
	                          .value_len = strlen(value)};
	caa_decide(&req, "example.com", &big, 1, false, &res);
	assert_int_equal(res.verdict, CAA_FORBIDDEN);
	assert_int_equal(strlen(res.reason), CAA_REASON_LEN - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_rfc_examples),
	        cmocka_unit_test(test_parse_empty_and_whitespace),
	        cmocka_unit_test(test_parse_params_counted),
	        cmocka_unit_test(test_parse_malformed),
	        cmocka_unit_test(test_tags),
	        cmocka_unit_test(test_record_text),
	        cmocka_unit_test(test_decide_empty_and_issuer),
	        cmocka_unit_test(test_decide_malformed),
	        cmocka_unit_test(test_decide_critical),
	        cmocka_unit_test(test_decide_wildcard),
	        cmocka_unit_test(test_decide_accounturi),
	        cmocka_unit_test(test_decide_validationmethods),
	        cmocka_unit_test(test_decide_quotes_nearest),
	        cmocka_unit_test(test_decide_identity_unknown),
	        cmocka_unit_test(test_decide_hostile_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
