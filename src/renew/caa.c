#include "renew/caa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Indexed by enum caa_tag; caa_tag_of looks tags up here. */
static const char *const tag_names[CAA_TAG__MAX] = {
        [CAA_TAG_UNKNOWN] = "unknown",           [CAA_TAG_ISSUE] = "issue",
        [CAA_TAG_ISSUEWILD] = "issuewild",       [CAA_TAG_IODEF] = "iodef",
        [CAA_TAG_ISSUEMAIL] = "issuemail",       [CAA_TAG_ISSUEVMC] = "issuevmc",
        [CAA_TAG_CONTACTEMAIL] = "contactemail", [CAA_TAG_CONTACTPHONE] = "contactphone",
};

static const char *const verdict_names[CAA_VERDICT__MAX] = {
        [CAA_ALLOWED] = "allowed",
        [CAA_FORBIDDEN] = "forbidden",
        [CAA_UNCHECKED] = "unchecked",
};

/* Shown of a record's value in a message; the rest is cut. */
#define VALUE_SHOWN 160

const char *
caa_tag_name(enum caa_tag tag)
{
	return (unsigned)tag < CAA_TAG__MAX ? tag_names[tag] : "?";
}

const char *
caa_verdict_name(enum caa_verdict v)
{
	return (unsigned)v < CAA_VERDICT__MAX ? verdict_names[v] : "?";
}

enum caa_tag
caa_tag_of(const char *tag, size_t len)
{
	enum caa_tag found = CAA_TAG_UNKNOWN;

	/* A tag holding a NUL differs from every name at that byte. */
	for (int t = CAA_TAG_UNKNOWN + 1; t < CAA_TAG__MAX && found == CAA_TAG_UNKNOWN; t++) {
		if (strlen(tag_names[t]) == len && strncasecmp(tag, tag_names[t], len) == 0) {
			found = (enum caa_tag)t;
		}
	}
	return found;
}

bool
caa_record_critical_unknown(const struct caa_record *r)
{
	/* Only bit 128: Boulder also takes bit 1 for it (a common misreading
	 * of the RFC's bit numbering), but RFC 8659 reserves that bit, so a
	 * record using it is left for the CA to judge. */
	return (r->flags & CAA_FLAG_CRITICAL) != 0 &&
	       caa_tag_of(r->tag, r->tag_len) == CAA_TAG_UNKNOWN;
}

/* Appends to buf (len bytes) at *pos, kept terminated, cut short when
 * full. */
static void __attribute__((format(printf, 4, 5)))
add(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0 || *pos + 1 >= len) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[*pos] = '\0';
		return;
	}
	*pos += (size_t)n < len - *pos ? (size_t)n : len - *pos - 1;
}

/* Appends the n bytes at p as a zone file's character-string holds them:
 * '"' and '\' escaped, bytes outside printable ASCII as \DDD (space too
 * unless in_quotes), so that a message stays one line whatever DNS or a
 * CA sent. */
static void
add_escaped(char *buf, size_t len, size_t *pos, const void *p, size_t n, bool in_quotes)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n && *pos + 1 < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			add(buf, len, pos, "\\%c", s[i]);
		} else if (s[i] > 0x7e || s[i] < 0x20 || (s[i] == ' ' && !in_quotes)) {
			add(buf, len, pos, "\\%03u", s[i]);
		} else {
			add(buf, len, pos, "%c", s[i]);
		}
	}
}

char *
caa_record_text(const struct caa_record *r, char *out, size_t len)
{
	size_t pos = 0;
	size_t shown = r->value_len > VALUE_SHOWN ? VALUE_SHOWN : r->value_len;

	if (len > 0) {
		out[0] = '\0';
	}
	add(out, len, &pos, "%u ", (unsigned)r->flags);
	add_escaped(out, len, &pos, r->tag, r->tag_len, false);
	add(out, len, &pos, " \"");
	add_escaped(out, len, &pos, r->value, shown, true);
	add(out, len, &pos, "%s\"", shown < r->value_len ? "..." : "");
	return out;
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 8659 section 4.2: parameter-value = *(%x21-3A / %x3C-7E). */
static bool
is_value_char(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static size_t
skip_wsp(const uint8_t *p, size_t i, size_t n)
{
	while (i < n && is_wsp(p[i])) {
		i++;
	}
	return i;
}

/* The length of the label at p[i] (RFC 8659 section 4.2, for labels and
 * parameter tags alike: (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))), 0
 * when none starts there. Hyphens after its end are not part of it. */
static size_t
ldh_label(const uint8_t *p, size_t i, size_t n)
{
	size_t end = i;

	for (size_t j = i; j < n && (is_alnum(p[j]) || (p[j] == '-' && j > i)); j++) {
		if (is_alnum(p[j])) {
			end = j + 1;
		}
	}
	return end - i;
}

/* why: what is at p[i] where expected was wanted. */
static void
unexpected(const uint8_t *p, size_t i, size_t n, const char *expected, char *why, size_t whylen)
{
	size_t pos = 0;

	if (whylen == 0) {
		return;
	}
	why[0] = '\0';
	if (i >= n) {
		add(why, whylen, &pos, "the end");
	} else if (p[i] > 0x20 && p[i] < 0x7f) {
		add(why, whylen, &pos, "'%c' at offset %zu", p[i], i);
	} else {
		add(why, whylen, &pos, "byte \\%03u at offset %zu", p[i], i);
	}
	add(why, whylen, &pos, " where %s was expected", expected);
}

/* issuer-domain-name = label *("." label), from p[*i] on. */
static int
parse_issuer(const uint8_t *p, size_t *i, size_t n, struct caa_issue *out, char *why, size_t whylen)
{
	size_t start = *i;
	size_t at = *i;
	size_t label;
	int rc = -1;

	for (;;) {
		label = ldh_label(p, at, n);
		if (label == 0) {
			if (at > start && at == n) {
				snprintf(why, whylen, "a trailing dot in the issuer-domain-name");
			} else {
				unexpected(p, at, n,
				           at > start ? "a label" : "an issuer-domain-name", why,
				           whylen);
			}
			goto out;
		}
		at += label;
		if (at >= n || p[at] != '.') {
			break;
		}
		at++;
	}
	out->issuer.s = (const char *)p + start;
	out->issuer.len = at - start;
	*i = at;
	rc = 0;
out:
	return rc;
}

static void
keep_param(struct caa_issue *out, struct caa_span tag, struct caa_span value)
{
	if (out->n_params < CAA_PARAMS_MAX) {
		out->params[out->n_params].tag = tag;
		out->params[out->n_params].value = value;
	}
	out->n_params++;
	if (tag.len == strlen("accounturi") && memcmp(tag.s, "accounturi", tag.len) == 0) {
		if (out->n_accounturi == 0) {
			out->accounturi = value;
		}
		out->n_accounturi++;
	} else if (tag.len == strlen("validationmethods") &&
	           memcmp(tag.s, "validationmethods", tag.len) == 0) {
		if (out->n_validationmethods == 0) {
			out->validationmethods = value;
		}
		out->n_validationmethods++;
	}
}

/* parameters, from p[*i] (not WSP, not the end) to the end. */
static int
parse_params(const uint8_t *p, size_t i, size_t n, struct caa_issue *out, char *why, size_t whylen)
{
	struct caa_span tag, value;
	int rc = -1;

	for (;;) {
		tag.len = ldh_label(p, i, n);
		if (tag.len == 0) {
			unexpected(p, i, n, "a parameter tag", why, whylen);
			goto out;
		}
		tag.s = (const char *)p + i;
		i = skip_wsp(p, i + tag.len, n);
		if (i >= n || p[i] != '=') {
			unexpected(p, i, n, "'='", why, whylen);
			goto out;
		}
		i = skip_wsp(p, i + 1, n);
		value.s = (const char *)p + i;
		while (i < n && is_value_char(p[i])) {
			i++;
		}
		value.len = (size_t)((const char *)p + i - value.s);
		keep_param(out, tag, value);
		i = skip_wsp(p, i, n);
		if (i == n) {
			break;
		}
		if (p[i] != ';') {
			unexpected(p, i, n, "';'", why, whylen);
			goto out;
		}
		i = skip_wsp(p, i + 1, n);
		/* The grammar has no ';' after the last parameter (only after
		 * the issuer-domain-name); Boulder refuses one too. */
		if (i == n) {
			snprintf(why, whylen, "a ';' after the last parameter");
			goto out;
		}
	}
	rc = 0;
out:
	return rc;
}

int
caa_issue_parse(const uint8_t *value, size_t len, struct caa_issue *out, char *why, size_t whylen)
{
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (whylen > 0) {
		why[0] = '\0';
	}
	i = skip_wsp(value, 0, len);
	if (i < len && value[i] != ';') {
		if (parse_issuer(value, &i, len, out, why, whylen) < 0) {
			goto out;
		}
		i = skip_wsp(value, i, len);
	}
	if (i < len) {
		if (value[i] != ';') {
			unexpected(value, i, len, "';'", why, whylen);
			goto out;
		}
		i = skip_wsp(value, i + 1, len);
		if (i < len && parse_params(value, i, len, out, why, whylen) < 0) {
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

bool
caa_issuer_is(const char *name, size_t len, const char *const *ids, size_t n)
{
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		size_t idlen = strlen(ids[i]);

		if (idlen > 0 && ids[i][idlen - 1] == '.') {
			idlen--;
		}
		found = len > 0 && idlen == len && strncasecmp(ids[i], name, len) == 0;
	}
	return found;
}

/* RFC 8657 section 4: value = [*(label ",") label], label = 1*(ALPHA /
 * DIGIT / "-"). Whether list is that; *has whether method is one of its
 * labels (compared exactly: ACME challenge types are lower case). */
static bool
methods_ok(struct caa_span list, const char *method, bool *has)
{
	size_t start = 0;
	bool ok = true;

	*has = false;
	if (list.len == 0) {
		goto out;
	}
	for (size_t i = 0; i <= list.len && ok; i++) {
		if (i < list.len && list.s[i] != ',') {
			ok = is_alnum((uint8_t)list.s[i]) || list.s[i] == '-';
			continue;
		}
		ok = i > start;
		if (ok && method != NULL && strlen(method) == i - start &&
		    memcmp(list.s + start, method, i - start) == 0) {
			*has = true;
		}
		start = i + 1;
	}
out:
	if (!ok) {
		*has = false;
	}
	return ok;
}

/* How near a property comes to allowing, for the one a refusal quotes. */
enum nearness {
	NAMES_NONE,
	NAMES_OTHER,
	NAMES_THIS,
};

/* The start of a reason about r: "CAA of OWNER: RECORD", after
 * "could not check: " for an unchecked one. */
static void
start_reason(struct caa_result *res, enum caa_verdict v, const char *owner,
             const struct caa_record *r, size_t *pos)
{
	char text[CAA_REASON_LEN];

	res->verdict = v;
	res->reason[0] = '\0';
	*pos = 0;
	add(res->reason, sizeof(res->reason), pos, "%sCAA of %s: %s",
	    v == CAA_UNCHECKED ? "could not check: " : "", owner,
	    caa_record_text(r, text, sizeof(text)));
}

static void
add_span(struct caa_result *res, size_t *pos, struct caa_span s)
{
	add_escaped(res->reason, sizeof(res->reason), pos, s.s, s.len, true);
}

/* Whether the parameters of issue let req's account use req's method:
 * CAA_ALLOWED, else the reason in *res (RFC 8657 sections 3 and 4). */
static enum caa_verdict
judge_params(const struct caa_request *req, const char *owner, const struct caa_record *r,
             const struct caa_issue *issue, struct caa_result *res)
{
	enum caa_verdict v = CAA_ALLOWED;
	size_t pos;
	bool has;

	if (issue->n_accounturi > 1) {
		v = CAA_FORBIDDEN;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos,
		    ": %zu accounturi parameters, which RFC 8657 section 3 makes unsatisfiable",
		    issue->n_accounturi);
	} else if (issue->n_accounturi == 1 && req->account_uri == NULL) {
		v = CAA_UNCHECKED;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, ": accounturi=");
		add_span(res, &pos, issue->accounturi);
		add(res->reason, sizeof(res->reason), &pos,
		    ", and this account's URL is not known yet");
	} else if (issue->n_accounturi == 1 &&
	           (strlen(req->account_uri) != issue->accounturi.len ||
	            memcmp(req->account_uri, issue->accounturi.s, issue->accounturi.len) != 0)) {
		v = CAA_FORBIDDEN;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, ": accounturi=");
		add_span(res, &pos, issue->accounturi);
		add(res->reason, sizeof(res->reason), &pos, " is not this account (");
		add_escaped(res->reason, sizeof(res->reason), &pos, req->account_uri,
		            strlen(req->account_uri), true);
		add(res->reason, sizeof(res->reason), &pos, ")");
	} else if (issue->n_validationmethods > 1) {
		/* RFC 8657 does not say whether two mean either or both:
		 * Boulder refuses, another CA may not. */
		v = CAA_UNCHECKED;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos,
		    ": %zu validationmethods parameters, whose meaning RFC 8657 leaves open",
		    issue->n_validationmethods);
	} else if (issue->n_validationmethods == 1 &&
	           !methods_ok(issue->validationmethods, req->method, &has)) {
		v = CAA_FORBIDDEN;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, ": validationmethods=");
		add_span(res, &pos, issue->validationmethods);
		add(res->reason, sizeof(res->reason), &pos, " is malformed (RFC 8657 section 4)");
	} else if (issue->n_validationmethods == 1 && req->method == NULL) {
		v = CAA_UNCHECKED;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, ": validationmethods=");
		add_span(res, &pos, issue->validationmethods);
		add(res->reason, sizeof(res->reason), &pos,
		    ", and the challenge type is not known");
	} else if (issue->n_validationmethods == 1 && !has) {
		v = CAA_FORBIDDEN;
		start_reason(res, v, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, ": validationmethods=");
		add_span(res, &pos, issue->validationmethods);
		add(res->reason, sizeof(res->reason), &pos, " does not allow %s", req->method);
	}
	return v;
}

/* Whether the issue or issuewild property r allows req: the verdict, with
 * the reason in *res and how near it comes in *near. */
static void
judge(const struct caa_request *req, const char *owner, const struct caa_record *r,
      struct caa_result *res, enum nearness *near)
{
	struct caa_issue issue;
	char why[128];
	size_t pos;

	*near = NAMES_NONE;
	/* RFC 8659 section 4.2: a value that does not match the grammar is
	 * one with an empty issuer-domain-name, which names no CA: the
	 * record restricts issuance and allows nobody. */
	if (caa_issue_parse(r->value, r->value_len, &issue, why, sizeof(why)) < 0) {
		start_reason(res, CAA_FORBIDDEN, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, " is malformed (%s), so it names no CA",
		    why);
		goto out;
	}
	if (issue.issuer.len == 0) {
		start_reason(res, CAA_FORBIDDEN, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, " allows no CA");
		goto out;
	}
	if (req->n_ca_ids == 0) {
		start_reason(res, CAA_UNCHECKED, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos,
		    ": this CA's CAA identity is unknown (set caa-identity)");
		goto out;
	}
	if (!caa_issuer_is(issue.issuer.s, issue.issuer.len, req->ca_ids, req->n_ca_ids)) {
		*near = NAMES_OTHER;
		start_reason(res, CAA_FORBIDDEN, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, " does not name this CA (");
		for (size_t i = 0; i < req->n_ca_ids; i++) {
			add(res->reason, sizeof(res->reason), &pos, "%s", i > 0 ? ", " : "");
			add_escaped(res->reason, sizeof(res->reason), &pos, req->ca_ids[i],
			            strlen(req->ca_ids[i]), true);
		}
		add(res->reason, sizeof(res->reason), &pos, ")");
		goto out;
	}
	*near = NAMES_THIS;
	if (judge_params(req, owner, r, &issue, res) == CAA_ALLOWED) {
		start_reason(res, CAA_ALLOWED, owner, r, &pos);
		add(res->reason, sizeof(res->reason), &pos, " allows it");
	}
out:
	return;
}

/* Whether candidate (nearness near) is the better reason to give than
 * best (best_near): an unchecked one first (it might allow), then the
 * nearest; the first of equals. */
static bool
better(const struct caa_result *cand, enum nearness near, const struct caa_result *best,
       enum nearness best_near)
{
	if (cand->verdict != best->verdict) {
		return cand->verdict == CAA_UNCHECKED;
	}
	return near > best_near;
}

void
caa_decide(const struct caa_request *req, const char *owner, const struct caa_record *records,
           size_t n, bool wildcard, struct caa_result *out)
{
	enum caa_tag applies = CAA_TAG_ISSUE;
	struct caa_result cand;
	enum nearness near, best_near = NAMES_NONE;
	size_t pos = 0, applying = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (caa_record_critical_unknown(&records[i])) {
			start_reason(out, CAA_FORBIDDEN, owner, &records[i], &pos);
			add(out->reason, sizeof(out->reason), &pos, ": critical unknown tag \"");
			add_escaped(out->reason, sizeof(out->reason), &pos, records[i].tag,
			            records[i].tag_len, true);
			add(out->reason, sizeof(out->reason), &pos, "\"");
			goto out;
		}
		if (wildcard &&
		    caa_tag_of(records[i].tag, records[i].tag_len) == CAA_TAG_ISSUEWILD) {
			applies = CAA_TAG_ISSUEWILD;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (caa_tag_of(records[i].tag, records[i].tag_len) != applies) {
			continue;
		}
		judge(req, owner, &records[i], &cand, &near);
		if (cand.verdict == CAA_ALLOWED) {
			*out = cand;
			goto out;
		}
		if (applying == 0 || better(&cand, near, out, best_near)) {
			*out = cand;
			best_near = near;
		}
		applying++;
	}
	if (applying == 0) {
		out->verdict = CAA_ALLOWED;
		add(out->reason, sizeof(out->reason), &pos, "CAA of %s: %s", owner,
		    n == 0     ? "no records"
		    : wildcard ? "no issuewild or issue property restricts issuance"
		               : "no issue property restricts issuance");
	}
out:
	return;
}
