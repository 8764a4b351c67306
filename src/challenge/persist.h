/* The dns-persist-01 record (draft-ietf-acme-dns-persist-01, March 2026):
 * one TXT record at _validation-persist.NAME that names the CA (one of its
 * issuer domain names) and the ACME account, and so authorises that
 * account at that CA for NAME without a DNS change per order. Its value is
 * an RFC 8659 section 4.2 issue-value:
 *
 *     ca.example; accounturi=https://ca.example/acct/123; policy=wildcard;
 *         persistUntil=1767225600
 *
 * This module builds such a record, and reads one: whether it authorises an
 * account at a CA, and when not, why (one line). Pure: no I/O, no
 * allocation; safe on any bytes (it is fuzzed). */
#ifndef ACMED_CHALLENGE_PERSIST_H
#define ACMED_CHALLENGE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/dns_msg.h"

/* Section 2: the label put before the name being validated. */
#define PERSIST_LABEL "_validation-persist"

/* Section 3.1: a challenge names 1 to 10 issuer domain names, each at most
 * 253 octets. */
#define PERSIST_ISSUERS_MAX 10
#define PERSIST_ISSUER_MAX 253

/* The longest record value persist_value builds (a TXT record holds more,
 * in 255-octet strings, but CAs keep account URIs short: section 9.1), and
 * the buffers persist_owner_name and persist_zone_line need. */
#define PERSIST_VALUE_MAX 2048
#define PERSIST_OWNER_MAX (sizeof(PERSIST_LABEL) + PERSIST_ISSUER_MAX + 1)
#define PERSIST_ZONE_MAX (PERSIST_OWNER_MAX + 2 * PERSIST_VALUE_MAX + 64)

/* What a record says. */
struct persist_spec {
	const char *issuer; /* an issuer domain name (persist_issuer_normalize) */
	const char *account_uri; /* the ACME account URL */
	bool wildcard; /* policy=wildcard: the name's subdomains and wildcards too */
	bool has_until;
	int64_t until; /* persistUntil: UNIX seconds, when has_until */
};

/* A record as read: spans of the value given to persist_parse (borrowed
 * from it, not NUL-terminated). */
struct persist_span {
	const char *p;
	size_t len;
};

struct persist_record {
	struct persist_span issuer; /* may be empty: ";accounturi=..." */
	struct persist_span account_uri;
	bool wildcard; /* policy=wildcard, in any case */
	bool has_until;
	int64_t until;
};

/* Whether a record authorises, else the first reason it does not, in the
 * order the checks run (section 4.3.2: records of other CAs are ignored,
 * then the one of this CA is checked whole). */
enum persist_verdict {
	PERSIST_AUTHORIZES,
	PERSIST_ABSENT, /* persist_check_all: no record at all */
	PERSIST_OTHER_ISSUER, /* names another CA: ignored */
	PERSIST_MALFORMED, /* not an issue-value, or a parameter broken */
	PERSIST_OTHER_ACCOUNT, /* accounturi is not the account's URL */
	PERSIST_NOT_WILDCARD, /* a wildcard is asked, no policy=wildcard */
	PERSIST_EXPIRED, /* persistUntil has passed */
	PERSIST_VERDICT__MAX,
};

/* A short name for v ("authorizes", "other-account", ...), for --json. */
const char *persist_verdict_name(enum persist_verdict v);

/* What a record must say to authorise. */
struct persist_want {
	const char *const *issuers; /* the CA's issuer domain names, normalized */
	size_t n_issuers;
	const char *account_uri; /* compared octet for octet (section 4.1) */
	bool wildcard; /* the authorization is for *.NAME */
	int64_t now; /* UNIX seconds */
};

/* The issuer domain name as section 3.1 wants it, from name (a CA's
 * caaIdentities entry, a challenge's issuer-domain-names entry): ASCII
 * letters lowered, one trailing dot dropped, then checked as LDH labels
 * (RFC 8659's label: letters and digits, hyphens inside) of at most 63
 * octets, at most 253 in all. Writes it to out (len bytes). Returns 0, or
 * -1 with the reason in why (whylen bytes). */
int persist_issuer_normalize(const char *name, char *out, size_t len, char *why, size_t whylen);

/* Whether the n issuer domain names of a dns-persist-01 challenge
 * ("issuer-domain-names") are what section 3.1 lets a client use: 1 to
 * PERSIST_ISSUERS_MAX of them, each already normalized (lower case, LDH
 * labels, no final dot, at most 253 octets; NULL is not a name). Returns
 * 0, or -1 with the reason in why: the client must then take the
 * challenge as malformed. */
int persist_issuers_check(const char *const *names, size_t n, char *why, size_t whylen);

/* "_validation-persist." and name (an A-label host name as ident_dns_name
 * gives it, without "*."), into out (len bytes, PERSIST_OWNER_MAX is
 * enough). Returns 0, or -1 when name is empty or starts with "*." or out
 * is too short. */
int persist_owner_name(const char *name, char *out, size_t len);

/* The record value for spec, parameters in the draft's order and spelling:
 * "ISSUER; accounturi=URI[; policy=wildcard][; persistUntil=N]". Into out
 * (len bytes, PERSIST_VALUE_MAX is enough). Returns 0, or -1 with the
 * reason in why: an issuer that is not normalized, an account URI empty or
 * holding what a parameter value cannot (a space, ';', a control or
 * non-ASCII octet), a negative persistUntil, a value longer than
 * PERSIST_VALUE_MAX - 1. */
int persist_value(const struct persist_spec *spec, char *out, size_t len, char *why, size_t whylen);

/* A zone-file line for the record: "OWNER. IN TXT "..." "..."", the value
 * cut into strings of at most 255 octets (RFC 1035 section 3.3.14, the
 * draft's section 9.1) with '"' and '\' escaped. Into out (len bytes,
 * PERSIST_ZONE_MAX is enough for owner and value of the maximum lengths).
 * Returns 0, or -1 when out is too short. */
int persist_zone_line(const char *owner, const char *value, char *out, size_t len);

/* Reads a record's value (the TXT record's strings joined, len octets, NUL
 * octets included: they make it malformed) as an RFC 8659 section 4.2
 * issue-value with the draft's parameters: tags matched in any case,
 * unknown tags ignored, a known one given twice malformed, accounturi
 * required and not empty, policy compared in any case (a value other than
 * wildcard is no policy), persistUntil 1 to 19 decimal digits within
 * int64_t. Fills out (zeroed first). Returns 0, or -1 with the reason in
 * why (one line; out->issuer is still set when the issuer part was read). */
int persist_parse(const char *value, size_t len, struct persist_record *out, char *why,
                  size_t whylen);

/* Whether the record value (len octets) authorises want, and otherwise why
 * (one line in why, whylen bytes; "" when it authorises). The issuer is
 * compared first, without regard to ASCII case: a record of another CA is
 * PERSIST_OTHER_ISSUER even when the rest is broken. */
enum persist_verdict persist_check(const char *value, size_t len, const struct persist_want *want,
                                   char *why, size_t whylen);

/* The verdict of the n records found at the owner name (values[i] of
 * lens[i] octets): PERSIST_AUTHORIZES when one does (*which its index),
 * else PERSIST_ABSENT when n is 0, else the reason of the record that came
 * closest (one naming this CA before one that cannot be read before one of
 * another CA; *which its index). which may be NULL. */
enum persist_verdict persist_check_all(const char *const *values, const size_t *lens, size_t n,
                                       const struct persist_want *want, size_t *which, char *why,
                                       size_t whylen);

/* The TXT records at most persist_check_answer reads from one answer; a
 * name holding more is read in part (section 4.3.2 wants one that
 * authorises: the first ones do). */
#define PERSIST_RECORDS_MAX 32

/* persist_check_all over the TXT records among the n records rrs (a
 * resolver's answer section: the records of the name its CNAME records
 * lead to; each TXT record is one value, its strings joined: section
 * 3.2). *until is the persistUntil of the record that authorises,
 * INT64_MAX when it has none or none authorises. */
enum persist_verdict persist_check_answer(const struct dns_rr *rrs, size_t n,
                                          const struct persist_want *want, int64_t *until,
                                          char *why, size_t whylen);

/* The line that says no record at owner authorises name for the order, why
 * (persist_check_all's reason), and the command that prints the one
 * wanted (" --wildcard" for a wildcard: policy=wildcard, section 5): the
 * words of both checks, before the order and at the challenge. Into out
 * (len bytes, cut short when full); returns out. */
char *persist_refusal(const char *owner, const char *why, const char *name, bool wildcard,
                      char *out, size_t len);

/* Seconds from now until the record's persistUntil: negative once it has
 * passed (the record then authorises no new validation), INT64_MAX when
 * the record has none. */
int64_t persist_time_left(const struct persist_record *rec, int64_t now);

/* A date for persistUntil as a user writes it: "2027-01-31" (its start,
 * UTC), "2027-01-31T12:00:00Z" (or a numeric offset "+02:00", seconds
 * optional), or UNIX seconds ("1798675200"). Into *out. Returns 0, or -1
 * when text is none of these or not a real date. */
int persist_parse_until(const char *text, int64_t *out);

/* t (UNIX seconds) as "2027-01-31T12:00:00Z" into out (len bytes); returns
 * out ("?" when t cannot be shown). */
const char *persist_time_text(int64_t t, char *out, size_t len);

#endif
