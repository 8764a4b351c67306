#include "challenge/persist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const verdict_names[PERSIST_VERDICT__MAX] = {
        [PERSIST_AUTHORIZES] = "authorizes",
        [PERSIST_ABSENT] = "absent",
        [PERSIST_OTHER_ISSUER] = "other-issuer",
        [PERSIST_MALFORMED] = "malformed",
        [PERSIST_OTHER_ACCOUNT] = "other-account",
        [PERSIST_NOT_WILDCARD] = "not-wildcard",
        [PERSIST_EXPIRED] = "expired",
};

/* The parameters the draft defines (section 4.1), sorted; tags are matched
 * in any case (RFC 8659 section 4.1, as the draft reads it). */
enum tag {
	TAG_ACCOUNTURI,
	TAG_PERSISTUNTIL,
	TAG_POLICY,
	TAG__MAX,
};

static const char *const tag_names[TAG__MAX] = {
        [TAG_ACCOUNTURI] = "accounturi",
        [TAG_PERSISTUNTIL] = "persistUntil",
        [TAG_POLICY] = "policy",
};

/* The longest decimal int64_t. */
#define UNTIL_DIGITS_MAX 19

const char *
persist_verdict_name(enum persist_verdict v)
{
	return v < PERSIST_VERDICT__MAX ? verdict_names[v] : "unknown";
}

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || len == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8659 section 4.2: value = *(%x21-3A / %x3C-7E), printable ASCII
 * but ';'. */
static bool
is_value_char(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 8659's label and tag: (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)).
 * The length of the longest one at p (0: none); hyphens that end it are
 * left out. */
static size_t
ldh_run(const char *p, const char *end)
{
	size_t n;
	size_t last;

	if (p >= end || !is_alnum(*p)) {
		return 0;
	}
	n = 1;
	last = 1;
	while (p + n < end && (is_alnum(p[n]) || p[n] == '-')) {
		n++;
		if (is_alnum(p[n - 1])) {
			last = n;
		}
	}
	return last;
}

/* issuer-domain-name = label *("." label): its length at p (0: none). */
static size_t
issuer_run(const char *p, const char *end)
{
	size_t n = ldh_run(p, end);
	size_t m;

	while (n > 0 && p + n < end && p[n] == '.') {
		m = ldh_run(p + n + 1, end);
		if (m == 0) {
			break;
		}
		n += 1 + m;
	}
	return n;
}

static const char *
skip_wsp(const char *p, const char *end)
{
	while (p < end && is_wsp(*p)) {
		p++;
	}
	return p;
}

/* s (len octets) for a message: quoted, at most 64 octets and "...", any
 * octet that is not printable ASCII as '?'. Returns out. */
static const char *
shown(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0;
	size_t i;

	if (outlen < 8) {
		return "";
	}
	out[n++] = '"';
	for (i = 0; i < len && i < 64 && n + 5 < outlen; i++) {
		out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	}
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

static bool
span_equal_nocase(struct persist_span s, const char *name)
{
	return strlen(name) == s.len && strncasecmp(s.p, name, s.len) == 0;
}

int
persist_issuer_normalize(const char *name, char *out, size_t len, char *why, size_t whylen)
{
	size_t n = strlen(name);
	size_t label = 0;
	int rc = -1;

	say(why, whylen, "%s", "");
	if (n > 0 && name[n - 1] == '.') {
		n--;
	}
	if (n == 0) {
		say(why, whylen, "an issuer domain name is empty");
		goto out;
	}
	if (n > PERSIST_ISSUER_MAX || n + 1 > len) {
		say(why, whylen, "issuer domain name longer than %d octets", PERSIST_ISSUER_MAX);
		goto out;
	}
	/* Section 3.1: lower-case A-labels without a trailing dot, compared
	 * octet for octet; RFC 8659's label grammar on top. */
	if (issuer_run(name, name + n) != n) {
		say(why, whylen,
		    "issuer domain name '%.*s' is not LDH labels (letters, digits, inner hyphens)",
		    (int)(n > 64 ? 64 : n), name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		label = name[i] == '.' ? 0 : label + 1;
		if (label > 63) {
			say(why, whylen, "issuer domain name '%.*s' has a label over 63 octets",
			    (int)(n > 64 ? 64 : n), name);
			goto out;
		}
		out[i] = lower(name[i]);
	}
	out[n] = '\0';
	rc = 0;
out:
	return rc;
}

int
persist_issuers_check(const char *const *names, size_t n, char *why, size_t whylen)
{
	char norm[PERSIST_ISSUER_MAX + 1];

	say(why, whylen, "%s", "");
	if (n == 0 || n > PERSIST_ISSUERS_MAX) {
		say(why, whylen, "%zu issuer domain names, not 1 to %d", n, PERSIST_ISSUERS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL) {
			say(why, whylen, "issuer domain name %zu is not a string", i + 1);
			return -1;
		}
		if (persist_issuer_normalize(names[i], norm, sizeof(norm), why, whylen) < 0) {
			return -1;
		}
		/* Section 3.1: the CA sends them normalized; one that is not
		 * would be compared to records as something else. */
		if (strcmp(norm, names[i]) != 0) {
			say(why, whylen,
			    "issuer domain name '%.64s' is not in lower case without a "
			    "final dot",
			    names[i]);
			return -1;
		}
	}
	return 0;
}

int
persist_owner_name(const char *name, char *out, size_t len)
{
	int n;

	if (name[0] == '\0' || strncmp(name, "*.", 2) == 0) {
		return -1;
	}
	n = snprintf(out, len, "%s.%s", PERSIST_LABEL, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
persist_value(const struct persist_spec *spec, char *out, size_t len, char *why, size_t whylen)
{
	char norm[PERSIST_ISSUER_MAX + 1];
	char until[48] = "";
	const char *u = spec->account_uri;
	int n;
	int rc = -1;

	if (persist_issuer_normalize(spec->issuer, norm, sizeof(norm), why, whylen) < 0) {
		goto out;
	}
	if (strcmp(norm, spec->issuer) != 0) {
		say(why, whylen, "issuer domain name '%s' is not in lower case without a final dot",
		    spec->issuer);
		goto out;
	}
	if (u == NULL || u[0] == '\0') {
		say(why, whylen, "no account URL");
		goto out;
	}
	for (size_t i = 0; u[i] != '\0'; i++) {
		if (!is_value_char(u[i])) {
			say(why, whylen,
			    "the account URL holds an octet a record value cannot (0x%02x at %zu)",
			    (unsigned char)u[i], i);
			goto out;
		}
	}
	if (spec->has_until) {
		if (spec->until < 0) {
			say(why, whylen, "persistUntil before 1970");
			goto out;
		}
		snprintf(until, sizeof(until), "; %s=%" PRId64, tag_names[TAG_PERSISTUNTIL],
		         spec->until);
	}
	/* The examples of section 10: "; " between the parts. */
	n = snprintf(out, len, "%s; accounturi=%s%s%s", spec->issuer, u,
	             spec->wildcard ? "; policy=wildcard" : "", until);
	if (n < 0 || (size_t)n >= len || (size_t)n >= PERSIST_VALUE_MAX) {
		say(why, whylen,
		    "the record would be longer than %d octets: the account URL is %zu",
		    PERSIST_VALUE_MAX - 1, strlen(u));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && len > 0) {
		out[0] = '\0';
	}
	return rc;
}

int
persist_zone_line(const char *owner, const char *value, char *out, size_t len)
{
	size_t n = 0;
	size_t in_string = 0;
	int w;

	w = snprintf(out, len, "%s. IN TXT \"", owner);
	if (w < 0 || (size_t)w >= len) {
		return -1;
	}
	n = (size_t)w;
	for (const char *p = value; *p != '\0'; p++) {
		/* A character-string holds 255 octets of data; escapes are
		 * the zone file's, not the data's. */
		if (in_string == 255) {
			if (n + 3 >= len) {
				return -1;
			}
			memcpy(out + n, "\" \"", 3);
			n += 3;
			in_string = 0;
		}
		if (n + 2 >= len) {
			return -1;
		}
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
		}
		out[n++] = *p;
		in_string++;
	}
	if (n + 2 > len) {
		return -1;
	}
	out[n++] = '"';
	out[n] = '\0';
	return 0;
}

/* persistUntil's value: 1 to 19 decimal digits within int64_t. */
static int
parse_until_digits(const char *p, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > UNTIL_DIGITS_MAX) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		int d = p[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10) {
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* One parameter read: its tag and value (section 4.1). */
static int
take_param(struct persist_span tag, struct persist_span val, bool seen[TAG__MAX],
           struct persist_record *out, char *why, size_t whylen)
{
	char buf[80];
	int t = -1;

	for (int i = 0; i < TAG__MAX; i++) {
		if (span_equal_nocase(tag, tag_names[i])) {
			t = i;
		}
	}
	if (t < 0) {
		/* Section 4.1 item 1: unknown tags are ignored. */
		return 0;
	}
	if (seen[t]) {
		/* Section 9.3.1: a duplicate parameter is malformed. */
		say(why, whylen, "%s given twice", tag_names[t]);
		return -1;
	}
	seen[t] = true;
	switch (t) {
	case TAG_ACCOUNTURI:
		if (val.len == 0) {
			say(why, whylen, "accounturi is empty");
			return -1;
		}
		out->account_uri = val;
		break;
	case TAG_POLICY:
		/* Item 4: any other value is no policy at all. */
		out->wildcard = span_equal_nocase(val, "wildcard");
		break;
	default:
		if (parse_until_digits(val.p, val.len, &out->until) < 0) {
			say(why, whylen,
			    "persistUntil %s is not UNIX seconds (1 to %d decimal digits)",
			    shown(val.p, val.len, buf, sizeof(buf)), UNTIL_DIGITS_MAX);
			return -1;
		}
		out->has_until = true;
		break;
	}
	return 0;
}

/* What is at p, for a message: the octet quoted, or "the end". */
static const char *
what_at(const char *p, const char *end, char *buf, size_t len)
{
	if (p >= end) {
		return "the end";
	}
	return shown(p, 1, buf, len);
}

int
persist_parse(const char *value, size_t len, struct persist_record *out, char *why, size_t whylen)
{
	const char *p = value;
	const char *end = value + len;
	bool seen[TAG__MAX] = {false};
	struct persist_span tag;
	struct persist_span val;
	char buf[16];
	size_t n;

	memset(out, 0, sizeof(*out));
	say(why, whylen, "%s", "");
	/* RFC 8659 section 4.2: *WSP [issuer-domain-name *WSP]
	 * [";" *WSP [parameters *WSP]]. */
	p = skip_wsp(p, end);
	n = issuer_run(p, end);
	out->issuer.p = p;
	out->issuer.len = n;
	p = skip_wsp(p + n, end);
	if (p < end && *p != ';') {
		say(why, whylen, "not an issue-value: %s at octet %zu after the issuer domain name",
		    what_at(p, end, buf, sizeof(buf)), (size_t)(p - value));
		return -1;
	}
	if (p < end) {
		p = skip_wsp(p + 1, end);
	}
	/* parameters = (parameter *WSP ";" *WSP parameters) / parameter:
	 * no ';' without a parameter after it, but none at all is fine. */
	while (p < end) {
		n = ldh_run(p, end);
		if (n == 0) {
			say(why, whylen,
			    "not an issue-value: %s at octet %zu where a parameter begins",
			    what_at(p, end, buf, sizeof(buf)), (size_t)(p - value));
			return -1;
		}
		tag.p = p;
		tag.len = n;
		p = skip_wsp(p + n, end);
		if (p >= end || *p != '=') {
			say(why, whylen, "not an issue-value: no '=' after parameter %.*s",
			    (int)(tag.len > 32 ? 32 : tag.len), tag.p);
			return -1;
		}
		p = skip_wsp(p + 1, end);
		val.p = p;
		while (p < end && is_value_char(*p)) {
			p++;
		}
		val.len = (size_t)(p - val.p);
		if (take_param(tag, val, seen, out, why, whylen) < 0) {
			return -1;
		}
		p = skip_wsp(p, end);
		if (p >= end) {
			break;
		}
		if (*p != ';') {
			say(why, whylen, "not an issue-value: %s at octet %zu after parameter %.*s",
			    what_at(p, end, buf, sizeof(buf)), (size_t)(p - value),
			    (int)(tag.len > 32 ? 32 : tag.len), tag.p);
			return -1;
		}
		p = skip_wsp(p + 1, end);
		if (p >= end) {
			say(why, whylen, "not an issue-value: ';' with no parameter after it");
			return -1;
		}
	}
	if (!seen[TAG_ACCOUNTURI]) {
		/* Section 4.1 item 3: accounturi is required. */
		say(why, whylen, "no accounturi parameter");
		return -1;
	}
	return 0;
}

static bool
our_issuer(struct persist_span issuer, const struct persist_want *want)
{
	for (size_t i = 0; i < want->n_issuers; i++) {
		if (span_equal_nocase(issuer, want->issuers[i])) {
			return true;
		}
	}
	return false;
}

/* persist_check, and whether the record names one of want's issuers. */
static enum persist_verdict
check_one(const char *value, size_t len, const struct persist_want *want, bool *ours, char *why,
          size_t whylen)
{
	struct persist_record rec;
	char perr[256];
	char a[80];
	char b[80];
	char when[32];
	const char *after;
	bool whole;
	int rc;

	rc = persist_parse(value, len, &rec, perr, sizeof(perr));
	*ours = our_issuer(rec.issuer, want);
	/* The issuer read whole, not the start of something broken
	 * ("b\xc3\xbccher.example" is not the CA "b"). */
	after = rec.issuer.p + rec.issuer.len;
	whole = after >= value + len || is_wsp(*after) || *after == ';';
	say(why, whylen, "%s", "");
	if (!*ours && rec.issuer.len > 0 && whole) {
		/* Section 4.3.2: the records of other CAs are ignored. */
		say(why, whylen, "names the CA %s, not %s%s",
		    shown(rec.issuer.p, rec.issuer.len, a, sizeof(a)),
		    want->n_issuers > 0 ? want->issuers[0] : "(none)",
		    want->n_issuers > 1 ? " or another issuer domain name of this CA" : "");
		return PERSIST_OTHER_ISSUER;
	}
	if (rc < 0) {
		say(why, whylen, "%s", perr);
		return PERSIST_MALFORMED;
	}
	if (!*ours) {
		/* RFC 8659 section 4.2: an empty issuer-domain-name names no
		 * CA. */
		say(why, whylen, "names no CA (the issuer domain name is empty)");
		return PERSIST_OTHER_ISSUER;
	}
	/* Section 4.1: accounturi is compared octet for octet (RFC 3986
	 * section 6.2.1), never case-folded. */
	if (want->account_uri == NULL || strlen(want->account_uri) != rec.account_uri.len ||
	    memcmp(want->account_uri, rec.account_uri.p, rec.account_uri.len) != 0) {
		say(why, whylen, "accounturi is %s, not this account's %s",
		    shown(rec.account_uri.p, rec.account_uri.len, a, sizeof(a)),
		    shown(want->account_uri != NULL ? want->account_uri : "",
		          want->account_uri != NULL ? strlen(want->account_uri) : 0, b, sizeof(b)));
		return PERSIST_OTHER_ACCOUNT;
	}
	if (want->wildcard && !rec.wildcard) {
		say(why, whylen, "no policy=wildcard, which a wildcard name needs (section 5)");
		return PERSIST_NOT_WILDCARD;
	}
	if (persist_time_left(&rec, want->now) < 0) {
		say(why, whylen, "persistUntil %" PRId64 " (%s) has passed", rec.until,
		    persist_time_text(rec.until, when, sizeof(when)));
		return PERSIST_EXPIRED;
	}
	return PERSIST_AUTHORIZES;
}

enum persist_verdict
persist_check(const char *value, size_t len, const struct persist_want *want, char *why,
              size_t whylen)
{
	bool ours;

	return check_one(value, len, want, &ours, why, whylen);
}

/* How close a record came: what persist_check_all reports. */
static int
closeness(enum persist_verdict v, bool ours)
{
	if (v == PERSIST_AUTHORIZES) {
		return 4;
	}
	if (ours) {
		return 3;
	}
	return v == PERSIST_MALFORMED ? 2 : 1;
}

enum persist_verdict
persist_check_all(const char *const *values, const size_t *lens, size_t n,
                  const struct persist_want *want, size_t *which, char *why, size_t whylen)
{
	enum persist_verdict best = PERSIST_ABSENT;
	int best_rank = 0;
	char one[512];

	say(why, whylen, "no TXT record");
	for (size_t i = 0; i < n && best_rank < 4; i++) {
		bool ours;
		enum persist_verdict v =
		        check_one(values[i], lens[i], want, &ours, one, sizeof(one));
		int rank = closeness(v, ours);

		if (rank > best_rank) {
			best = v;
			best_rank = rank;
			say(why, whylen, "%s", one);
			if (which != NULL) {
				*which = i;
			}
		}
	}
	return best;
}

enum persist_verdict
persist_check_answer(const struct dns_rr *rrs, size_t n, const struct persist_want *want,
                     int64_t *until, char *why, size_t whylen)
{
	const char *values[PERSIST_RECORDS_MAX];
	size_t lens[PERSIST_RECORDS_MAX];
	struct persist_record rec;
	char unused[8];
	size_t n_txt = 0;
	size_t which = 0;
	enum persist_verdict v;

	for (size_t i = 0; i < n && n_txt < PERSIST_RECORDS_MAX; i++) {
		if (rrs[i].type == DNS_TYPE_TXT) {
			values[n_txt] = rrs[i].u.txt.data;
			lens[n_txt] = rrs[i].u.txt.len;
			n_txt++;
		}
	}
	*until = INT64_MAX;
	v = persist_check_all(values, lens, n_txt, want, &which, why, whylen);
	if (v == PERSIST_AUTHORIZES &&
	    persist_parse(values[which], lens[which], &rec, unused, sizeof(unused)) == 0 &&
	    rec.has_until) {
		*until = rec.until;
	}
	return v;
}

char *
persist_refusal(const char *owner, const char *why, const char *name, bool wildcard, char *out,
                size_t len)
{
	snprintf(out, len,
	         "dns-persist-01: %s: %s: create the record `acmed dns-persist %s%s` prints", owner,
	         why, name, wildcard ? " --wildcard" : "");
	return out;
}

int64_t
persist_time_left(const struct persist_record *rec, int64_t now)
{
	int64_t left;

	if (!rec->has_until) {
		return INT64_MAX;
	}
	if (__builtin_sub_overflow(rec->until, now, &left)) {
		left = now < 0 ? INT64_MAX - 1 : INT64_MIN;
	}
	return left;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false;
		}
	}
	return true;
}

static int
num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at s, and "THH:MM[:SS]" after it when time is set, into
 * tm; *used the octets read. Returns 0 or -1. */
static int
parse_date_time(const char *s, bool time, struct tm *tm, size_t *used)
{
	size_t n = 10;

	memset(tm, 0, sizeof(*tm));
	if (strlen(s) < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
	    s[7] != '-' || !all_digits(s + 8, 2)) {
		return -1;
	}
	tm->tm_year = num(s, 4) - 1900;
	tm->tm_mon = num(s + 5, 2) - 1;
	tm->tm_mday = num(s + 8, 2);
	if (time) {
		if ((s[10] != 'T' && s[10] != 't') || !all_digits(s + 11, 2) || s[13] != ':' ||
		    !all_digits(s + 14, 2)) {
			return -1;
		}
		tm->tm_hour = num(s + 11, 2);
		tm->tm_min = num(s + 14, 2);
		n = 16;
		if (s[16] == ':') {
			if (!all_digits(s + 17, 2)) {
				return -1;
			}
			tm->tm_sec = num(s + 17, 2);
			n = 19;
		}
	}
	*used = n;
	return 0;
}

int
persist_parse_until(const char *text, int64_t *out)
{
	size_t len = strlen(text);
	struct tm tm;
	struct tm back;
	const char *p;
	size_t used;
	long off = 0;
	time_t t;

	if (len > 0 && all_digits(text, len)) {
		return parse_until_digits(text, len, out);
	}
	if (parse_date_time(text, len > 10, &tm, &used) < 0) {
		return -1;
	}
	p = text + used;
	if (len > 10) {
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && all_digits(p + 1, 2) &&
		           p[3] == ':' && all_digits(p + 4, 2)) {
			int hh = num(p + 1, 2);
			int mm = num(p + 4, 2);

			if (hh > 23 || mm > 59) {
				return -1;
			}
			off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -1;
		}
	}
	if (*p != '\0') {
		return -1;
	}
	back = tm;
	t = timegm(&tm);
	/* A real date and time, not one timegm carries over (02-31). */
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec) {
		return -1;
	}
	*out = (int64_t)t - off;
	return 0;
}

const char *
persist_time_text(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, len, "?");
	}
	return out;
}
