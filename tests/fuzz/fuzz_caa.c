/* caa_issue_parse and caa_decide: CAA records come from any DNS server
 * (RFC 8659 section 4.2's issue value; RFC 8657's parameters). The input
 * is read twice, as bytes without a terminator (so that a read past the
 * end is caught): whole, as one issue value; and split at '\n' into
 * records, each "FLAGS-BYTE TAG ' ' VALUE". Whatever comes in: a parsed
 * value's spans lie inside it and follow the grammar, a refused one leaves
 * the result zeroed; a verdict's reason is one terminated line of
 * printable ASCII; only a value naming this CA allows. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "renew/caa.h"

#define FUZZ_RECORDS 16

static const char *const ids[] = {"pebble.test", "CA.example."};

static const struct caa_request requests[] = {
        {ids, 2, "https://pebble.test/acct/1", "http-01"},
        {ids, 1, NULL, NULL},
        {NULL, 0, "https://pebble.test/acct/1", "dns-01"},
};

static bool
inside(struct caa_span s, const uint8_t *data, size_t size)
{
	return s.len == 0 ||
	       ((const uint8_t *)s.s >= data && (const uint8_t *)s.s + s.len <= data + size);
}

static bool
alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* LDH labels joined by dots (dots allowed or not). */
static bool
ldh(struct caa_span s, bool dots)
{
	bool ok = s.len > 0;

	for (size_t i = 0; i < s.len && ok; i++) {
		char c = s.s[i];
		bool edge = i == 0 || i + 1 == s.len || s.s[i - 1] == '.' || s.s[i + 1] == '.';

		ok = alnum(c) || (c == '-' && !edge) || (c == '.' && dots && !edge);
	}
	return ok;
}

static bool
one_line(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	bool ok = len < cap;

	for (size_t i = 0; i < len && ok; i++) {
		ok = s[i] >= 0x20 && s[i] < 0x7f;
	}
	return ok;
}

static void
check_value(const uint8_t *data, size_t size)
{
	struct caa_issue is;
	char why[96];
	struct caa_record r = {0, "issue", 5, data, size};
	struct caa_result res;
	char text[CAA_REASON_LEN];

	if (caa_issue_parse(data, size, &is, why, sizeof(why)) < 0) {
		FUZZ_CHECK(fuzz_is_zero(&is, sizeof(is)));
		FUZZ_CHECK(why[0] != '\0' && one_line(why, sizeof(why)));
	} else {
		FUZZ_CHECK(inside(is.issuer, data, size));
		FUZZ_CHECK(is.issuer.len == 0 || ldh(is.issuer, true));
		FUZZ_CHECK(is.n_accounturi + is.n_validationmethods <= is.n_params);
		for (size_t i = 0; i < is.n_params && i < CAA_PARAMS_MAX; i++) {
			FUZZ_CHECK(inside(is.params[i].tag, data, size) &&
			           ldh(is.params[i].tag, false));
			FUZZ_CHECK(inside(is.params[i].value, data, size));
			for (size_t j = 0; j < is.params[i].value.len; j++) {
				char c = is.params[i].value.s[j];

				FUZZ_CHECK(c > 0x20 && c < 0x7f && c != ';');
			}
		}
	}
	for (size_t k = 0; k < sizeof(requests) / sizeof(requests[0]); k++) {
		caa_decide(&requests[k], "example.com", &r, 1, k == 1, &res);
		FUZZ_CHECK((unsigned)res.verdict < CAA_VERDICT__MAX);
		FUZZ_CHECK(res.reason[0] != '\0' && one_line(res.reason, sizeof(res.reason)));
		if (res.verdict == CAA_ALLOWED) {
			/* RFC 8659 section 4.2: only a well-formed value naming
			 * this CA allows. */
			FUZZ_CHECK(caa_issue_parse(data, size, &is, NULL, 0) == 0);
			FUZZ_CHECK(caa_issuer_is(is.issuer.s, is.issuer.len, ids,
			                         requests[k].n_ca_ids));
		}
	}
	FUZZ_CHECK(one_line(caa_record_text(&r, text, sizeof(text)), sizeof(text)));
}

static void
check_set(const uint8_t *data, size_t size)
{
	struct caa_record recs[FUZZ_RECORDS];
	struct caa_result res;
	size_t n = 0, at = 0;
	bool critical = false;

	while (at < size && n < FUZZ_RECORDS) {
		const uint8_t *end = memchr(data + at, '\n', size - at);
		size_t len = end != NULL ? (size_t)(end - data) - at : size - at;
		const uint8_t *line = data + at;
		const uint8_t *space = len > 1 ? memchr(line + 1, ' ', len - 1) : NULL;
		size_t tag_len =
		        space != NULL ? (size_t)(space - line) - 1 : (len > 0 ? len - 1 : 0);

		recs[n].flags = len > 0 ? line[0] : 0;
		recs[n].tag = (const char *)line + (len > 0);
		recs[n].tag_len = tag_len;
		recs[n].value = space != NULL ? space + 1 : line + len;
		recs[n].value_len = space != NULL ? len - tag_len - 2 : 0;
		critical = critical || caa_record_critical_unknown(&recs[n]);
		n++;
		at += len + 1;
	}
	for (size_t k = 0; k < sizeof(requests) / sizeof(requests[0]); k++) {
		for (int wild = 0; wild < 2; wild++) {
			caa_decide(&requests[k], "example.com", recs, n, wild, &res);
			FUZZ_CHECK((unsigned)res.verdict < CAA_VERDICT__MAX);
			FUZZ_CHECK(res.reason[0] != '\0' &&
			           one_line(res.reason, sizeof(res.reason)));
			FUZZ_CHECK(!critical || res.verdict == CAA_FORBIDDEN);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_setup();
	check_value(data, size);
	check_set(data, size);
	return 0;
}
