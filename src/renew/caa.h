/* CAA (RFC 8659, with RFC 8657's accounturi and validationmethods): whether
 * the records of one name let this CA issue to this account by this
 * challenge, so that acmed stops before an order the CA would refuse
 * (issue #18). The property parser and the decision over one relevant
 * record set; renew/caa_check.h finds that set by climbing the DNS tree.
 * Pure: no I/O, no allocation. */
#ifndef ACMED_CAA_H
#define ACMED_CAA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 8659 section 4.1: the Issuer Critical Flag, bit 0 counted from the
 * most significant (128). The other bits are reserved and ignored. */
#define CAA_FLAG_CRITICAL 0x80

/* One CAA resource record as the DNS layer hands it over (RFC 8659 section
 * 4.1: flags, tag length and tag, value to the end of the RDATA). tag and
 * value are bytes, not NUL-terminated, borrowed. */
struct caa_record {
	uint8_t flags;
	const char *tag;
	size_t tag_len;
	const uint8_t *value;
	size_t value_len;
};

/* The property tags acmed knows (RFC 8659 section 4.1: case-insensitive).
 * Knowing a tag matters for one thing: a critical tag acmed does not know
 * forbids issuance. Beside RFC 8659's three, those of the IANA registry of
 * CAA properties whose meaning concerns other certificates or contacts
 * (RFC 9495 issuemail, issuevmc, the CA/B Forum's contactemail and
 * contactphone): a CA knows them, and none restricts TLS issuance. */
enum caa_tag {
	CAA_TAG_UNKNOWN,
	CAA_TAG_ISSUE,
	CAA_TAG_ISSUEWILD,
	CAA_TAG_IODEF,
	CAA_TAG_ISSUEMAIL,
	CAA_TAG_ISSUEVMC,
	CAA_TAG_CONTACTEMAIL,
	CAA_TAG_CONTACTPHONE,
	CAA_TAG__MAX,
};

/* "unknown", "issue", "issuewild", "iodef", ... */
const char *caa_tag_name(enum caa_tag tag);

/* The tag of len bytes at tag, matched without regard to ASCII case;
 * CAA_TAG_UNKNOWN for any other (a tag with characters RFC 8659 does not
 * allow included). */
enum caa_tag caa_tag_of(const char *tag, size_t len);

/* Whether r forbids issuance by itself: critical, with a tag acmed does
 * not know (RFC 8659 section 4.1). */
bool caa_record_critical_unknown(const struct caa_record *r);

/* Bytes inside a record's value (borrowed from it). */
struct caa_span {
	const char *s;
	size_t len;
};

/* Parameters kept in struct caa_issue (all are checked and counted). */
#define CAA_PARAMS_MAX 16

struct caa_param {
	struct caa_span tag;
	struct caa_span value;
};

/* An issue or issuewild value (RFC 8659 section 4.2). */
struct caa_issue {
	struct caa_span issuer; /* the issuer-domain-name; len 0: none (";") */
	struct caa_param params[CAA_PARAMS_MAX]; /* the first n_params of them */
	size_t n_params; /* how many the value holds */
	/* RFC 8657: the value of the first of each, and how many there are
	 * (parameter tags compared exactly: RFC 8659 makes only property tags
	 * case-insensitive). */
	struct caa_span accounturi;
	size_t n_accounturi;
	struct caa_span validationmethods;
	size_t n_validationmethods;
};

/* Parses an issue or issuewild value of len bytes, RFC 8659 section 4.2:
 *
 *   issue-value = *WSP [issuer-domain-name *WSP]
 *                 [";" *WSP [parameters *WSP]]
 *   parameters  = (parameter *WSP ";" *WSP parameters) / parameter
 *   parameter   = parameter-tag *WSP "=" *WSP parameter-value
 *
 * strictly: an issuer-domain-name of LDH labels (a trailing dot is not
 * one), parameter values of %x21-3A / %x3C-7E, no ';' after the last
 * parameter. Returns 0 with *out filled (spans into value), or -1 when the
 * value does not match the grammar: *out zeroed and why (whylen bytes)
 * says where ("a trailing dot in the issuer-domain-name", "'%' at byte
 * 1"). Such a value names no CA (RFC 8659 section 4.2); caa_decide takes
 * it so. */
int caa_issue_parse(const uint8_t *value, size_t len, struct caa_issue *out, char *why,
                    size_t whylen);

/* Whether name (len bytes, an issuer-domain-name) is one of the n ids,
 * compared without regard to ASCII case (RFC 8659 section 4.2: LDH
 * labels); a trailing dot of an id (a fully qualified "pebble.test.") is
 * not part of it. */
bool caa_issuer_is(const char *name, size_t len, const char *const *ids, size_t n);

/* r as a zone file writes it (RFC 8659 section 4.1.1): `0 issue
 * "ca.example; accounturi=https://ca.example/acct/1"`, the value quoted,
 * '"' and '\' escaped, bytes outside printable ASCII as \DDD, a value of
 * more than 160 bytes cut with "...". Into out (len bytes, cut short when
 * full); returns out. */
char *caa_record_text(const struct caa_record *r, char *out, size_t len);

enum caa_verdict {
	CAA_ALLOWED,
	CAA_FORBIDDEN,
	CAA_UNCHECKED, /* could not check: a DNS failure, or facts unknown */
	CAA_VERDICT__MAX,
};

/* "allowed", "forbidden", "unchecked". */
const char *caa_verdict_name(enum caa_verdict v);

/* Who asks to issue. Borrowed. */
struct caa_request {
	const char *const
	        *ca_ids; /* the CA's issuer domain names: meta.caaIdentities, caa-identity */
	size_t n_ca_ids; /* 0: unknown */
	const char *account_uri; /* the account's URL; NULL before it exists */
	const char *method; /* the challenge type: "http-01", "dns-01", ...; NULL: unknown */
};

#define CAA_REASON_LEN 512

struct caa_result {
	enum caa_verdict verdict;
	/* One line. Forbidden: "CAA of example.com: " and the record that
	 * forbids with why ("0 issue \"letsencrypt.org\" does not name this CA
	 * (pebble.test)"). Unchecked: "could not check: " and why. Allowed:
	 * what allows. */
	char reason[CAA_REASON_LEN];
};

/* Decides by the relevant record set of a name (the n records found at
 * owner, the name or the nearest parent with any), for a wildcard name
 * ("*.owner...") or not:
 *
 *  - a critical property with a tag acmed does not know forbids (RFC 8659
 *    section 4.1), whatever else the set holds;
 *  - the issue properties apply, or for a wildcard name its issuewild
 *    properties when it has any (RFC 8659 section 4.3); none applying
 *    allows (an iodef alone restricts nothing);
 *  - one applying property that allows is enough (they add up, RFC 8659
 *    section 4.2): it names one of req's ca_ids, its accounturi (if any,
 *    exactly one) is req's account URI (RFC 8657 section 3), its
 *    validationmethods (if any) lists req's method (RFC 8657 section 4);
 *  - a malformed one, or ";", names no CA (RFC 8659 section 4.2).
 *
 * When none allows, a property that might if acmed knew more (the CA's
 * identity, the account's URI or the method unknown; two validationmethods,
 * which RFC 8657 leaves open) makes the verdict CAA_UNCHECKED; else
 * CAA_FORBIDDEN, the reason quoting the property nearest to allowing: one
 * naming this CA (its failing parameter), then one naming another CA, then
 * one naming none. n 0 allows. Writes *out. */
void caa_decide(const struct caa_request *req, const char *owner, const struct caa_record *records,
                size_t n, bool wildcard, struct caa_result *out);

#endif
