/* persist_parse and persist_check: the value of a _validation-persist TXT
 * record (draft-ietf-acme-dns-persist-01), which anyone who can write the
 * zone controls. The input is the record's joined strings, NUL octets
 * included; split at 0xff octets it is also several records at one name
 * (persist_check_all). Whatever comes in:
 * - a record read has an account URI, spans inside the input, a
 *   persistUntil not negative;
 * - a verdict has its reason, one line, and "authorizes" only for a record
 *   that reads, names the CA and the account, and has not expired;
 * - what persist_value writes from a record read authorises the same
 *   account (the builder and the reader agree);
 * - the zone-file line of the input keeps it, escapes undone;
 * - a date persist_parse_until takes comes back from persist_time_text. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "challenge/persist.h"
#include "fuzz.h"

#define FUZZ_NOW ((int64_t)1700000000)
#define FUZZ_ACCOUNT "https://ca.test/acct/1"
#define FUZZ_MAX_RECORDS 8

static const char *const issuers[] = {"ca.test", "authority.example"};

static bool
inside(struct persist_span s, const char *p, size_t len)
{
	return s.len == 0 || (s.p >= p && s.p + s.len <= p + len);
}

static void
check_verdict(enum persist_verdict v, const char *why)
{
	FUZZ_CHECK(v < PERSIST_VERDICT__MAX && v != PERSIST_ABSENT);
	FUZZ_CHECK(strchr(why, '\n') == NULL);
	FUZZ_CHECK((v == PERSIST_AUTHORIZES) == (why[0] == '\0'));
}

/* A record read, written again, must authorise its own account. */
static void
check_rebuild(const struct persist_record *r)
{
	char issuer[PERSIST_ISSUER_MAX + 1];
	char account[PERSIST_VALUE_MAX];
	char value[PERSIST_VALUE_MAX];
	char why[256];
	struct persist_spec spec;
	struct persist_want w;
	const char *iss = issuer;

	if (r->issuer.len > PERSIST_ISSUER_MAX || r->account_uri.len >= sizeof(account) - 300) {
		return;
	}
	memcpy(issuer, r->issuer.p, r->issuer.len);
	issuer[r->issuer.len] = '\0';
	memcpy(account, r->account_uri.p, r->account_uri.len);
	account[r->account_uri.len] = '\0';
	if (persist_issuer_normalize(issuer, issuer, sizeof(issuer), why, sizeof(why)) < 0) {
		/* Labels over 63 octets: the grammar allows them. */
		return;
	}
	memset(&spec, 0, sizeof(spec));
	spec.issuer = issuer;
	spec.account_uri = account;
	spec.wildcard = r->wildcard;
	spec.has_until = r->has_until;
	spec.until = r->until;
	FUZZ_CHECK(persist_value(&spec, value, sizeof(value), why, sizeof(why)) == 0);
	memset(&w, 0, sizeof(w));
	w.issuers = &iss;
	w.n_issuers = 1;
	w.account_uri = account;
	w.wildcard = r->wildcard;
	w.now = r->has_until ? r->until : FUZZ_NOW;
	FUZZ_CHECK(persist_check(value, strlen(value), &w, why, sizeof(why)) == PERSIST_AUTHORIZES);
}

static void
check_one(const char *p, size_t len, bool *any_authorizes)
{
	struct persist_record r;
	struct persist_want w;
	char why[512];

	if (persist_parse(p, len, &r, why, sizeof(why)) == 0) {
		FUZZ_CHECK(why[0] == '\0');
		FUZZ_CHECK(r.account_uri.len > 0);
		FUZZ_CHECK(inside(r.issuer, p, len) && inside(r.account_uri, p, len));
		FUZZ_CHECK(!r.has_until || r.until >= 0);
		FUZZ_CHECK(memchr(r.account_uri.p, ';', r.account_uri.len) == NULL);
		check_rebuild(&r);
	} else {
		FUZZ_CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
		FUZZ_CHECK(inside(r.issuer, p, len));
	}
	memset(&w, 0, sizeof(w));
	w.issuers = issuers;
	w.n_issuers = 2;
	w.account_uri = FUZZ_ACCOUNT;
	for (int wildcard = 0; wildcard < 2; wildcard++) {
		enum persist_verdict v;

		w.wildcard = wildcard != 0;
		w.now = FUZZ_NOW;
		v = persist_check(p, len, &w, why, sizeof(why));
		check_verdict(v, why);
		if (v == PERSIST_AUTHORIZES) {
			FUZZ_CHECK(persist_parse(p, len, &r, why, sizeof(why)) == 0);
			FUZZ_CHECK(r.account_uri.len == strlen(FUZZ_ACCOUNT) &&
			           memcmp(r.account_uri.p, FUZZ_ACCOUNT, r.account_uri.len) == 0);
			FUZZ_CHECK(
			        (r.issuer.len == 7 && strncasecmp(r.issuer.p, "ca.test", 7) == 0) ||
			        (r.issuer.len == 17 &&
			         strncasecmp(r.issuer.p, "authority.example", 17) == 0));
			FUZZ_CHECK(!w.wildcard || r.wildcard);
			FUZZ_CHECK(persist_time_left(&r, FUZZ_NOW) >= 0);
			*any_authorizes = true;
		}
	}
}

static void
check_zone(const char *value)
{
	static char line[PERSIST_ZONE_MAX];
	char *back;
	size_t n = 0;
	const char *p;

	if (strlen(value) >= PERSIST_VALUE_MAX) {
		return;
	}
	FUZZ_CHECK(persist_zone_line("_validation-persist.a.test", value, line, sizeof(line)) == 0);
	p = line + strlen("_validation-persist.a.test. IN TXT \"");
	back = malloc(strlen(line) + 1);
	FUZZ_CHECK(back != NULL);
	/* Undo the escapes and the string breaks: the value comes back. */
	while (*p != '\0') {
		if (p[0] == '"' && p[1] == ' ' && p[2] == '"') {
			p += 3;
		} else if (p[0] == '"' && p[1] == '\0') {
			p++;
		} else {
			if (*p == '\\') {
				p++;
			}
			back[n++] = *p++;
		}
	}
	back[n] = '\0';
	FUZZ_CHECK(strcmp(back, value) == 0);
	free(back);
}

static void
check_until(const char *text)
{
	char shown[64];
	int64_t t;
	int64_t again;

	if (persist_parse_until(text, &t) < 0) {
		return;
	}
	/* Years 1970 to 9999 print as the date form it reads. */
	if (t >= 0 && t < 253402300800LL) {
		persist_time_text(t, shown, sizeof(shown));
		FUZZ_CHECK(persist_parse_until(shown, &again) == 0 && again == t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *recs[FUZZ_MAX_RECORDS];
	size_t lens[FUZZ_MAX_RECORDS];
	size_t n = 0;
	size_t start = 0;
	bool any = false;
	struct persist_want w;
	char why[512];
	char *text;
	enum persist_verdict v;

	fuzz_setup();
	check_one(p, size, &any);
	any = false;
	for (size_t i = 0; i <= size && n < FUZZ_MAX_RECORDS; i++) {
		if (i == size || data[i] == 0xff) {
			recs[n] = p + start;
			lens[n] = i - start;
			check_one(recs[n], lens[n], &any);
			n++;
			start = i + 1;
		}
	}
	memset(&w, 0, sizeof(w));
	w.issuers = issuers;
	w.n_issuers = 2;
	w.account_uri = FUZZ_ACCOUNT;
	w.now = FUZZ_NOW;
	/* any counts wildcard verdicts too: those authorise without one. */
	v = persist_check_all(recs, lens, n, &w, NULL, why, sizeof(why));
	FUZZ_CHECK(v < PERSIST_VERDICT__MAX && strchr(why, '\n') == NULL);
	FUZZ_CHECK(!any || v == PERSIST_AUTHORIZES);
	text = fuzz_cstring(data, size);
	check_zone(text);
	check_until(text);
	free(text);
	return 0;
}
