/* Server data parsed at the boundary into typed structs: ACME JSON objects
 * (RFC 8555 section 7.1) and the Retry-After header (RFC 9110 section
 * 10.2.3); problem documents are acme_problem.h's. Nothing here logs; errors
 * are written to err (errlen bytes) as a short lower-case reason. */
#ifndef ACMED_ACME_PARSE_H
#define ACMED_ACME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_problem.h"
#include "base/ident.h"
#include "challenge/challenge.h"

#define ACME_MAX_IDENTIFIERS 100
#define ACME_MAX_CHALLENGES 16
#define ACME_MAX_LINKS 8 /* the most targets acme_parse_links gives */

enum acme_status {
	ACME_STATUS_UNKNOWN,
	ACME_STATUS_DEACTIVATED,
	ACME_STATUS_EXPIRED,
	ACME_STATUS_INVALID,
	ACME_STATUS_PENDING,
	ACME_STATUS_PROCESSING,
	ACME_STATUS_READY,
	ACME_STATUS_REVOKED,
	ACME_STATUS_VALID,
	ACME_STATUS__MAX,
};

struct acme_directory {
	char *new_nonce;
	char *new_account;
	char *new_order;
	char *revoke_cert;
	char *key_change;
	char *renewal_info; /* NULL when the CA offers no ARI */
	char *terms_of_service; /* NULL when none */
	char *website;
	bool external_account_required;
	char **profiles; /* names only */
	size_t n_profiles;
	char **caa_identities;
	size_t n_caa_identities;
};

struct acme_account {
	enum acme_status status;
	char **contacts;
	size_t n_contacts;
	char *orders;
};

struct acme_order {
	enum acme_status status;
	time_t expires; /* 0 when absent */
	struct ident *identifiers;
	size_t n_identifiers;
	char **authorizations;
	size_t n_authorizations;
	char *finalize;
	char *certificate; /* NULL until valid */
	struct acme_problem *error; /* or NULL */
};

struct acme_challenge {
	enum challenge_type type; /* UNKNOWN for types acmed does not speak */
	char *url;
	enum acme_status status;
	char *token; /* checked: base64url, 1..ACME_MAX_TOKEN; NULL when absent */
	struct acme_problem *error;
	/* dns-persist-01 (draft-ietf-acme-dns-persist-01 section 3.1): its
	 * issuer-domain-names. When they fail persist_issuers_check (or are
	 * not an array of strings: then none) malformed says why; the
	 * challenge is kept, the authorization's other challenges still
	 * serve. */
	char **issuers;
	size_t n_issuers;
	char *malformed;
};

struct acme_authz {
	struct ident identifier;
	enum acme_status status;
	bool wildcard;
	time_t expires;
	struct acme_challenge *challenges;
	size_t n_challenges;
};

struct acme_renewal_info {
	time_t start;
	time_t end;
	char *explanation_url; /* or NULL */
};

const char *acme_status_name(enum acme_status status);
enum acme_status acme_status_parse(const char *s);

/* Each parser fills out (zeroed first) from a JSON body of len bytes; URLs
 * must pass http_url_ok(). Returns 0, or -1 with err set; out is then
 * finished. */
int acme_parse_directory(const char *body, size_t len, struct acme_directory *out, char *err,
                         size_t errlen);
int acme_parse_account(const char *body, size_t len, struct acme_account *out, char *err,
                       size_t errlen);
int acme_parse_order(const char *body, size_t len, struct acme_order *out, char *err,
                     size_t errlen);
int acme_parse_authz(const char *body, size_t len, struct acme_authz *out, char *err,
                     size_t errlen);
/* One challenge object (RFC 8555 section 8): what a challenge POST
 * answers. */
int acme_parse_challenge(const char *body, size_t len, struct acme_challenge *out, char *err,
                         size_t errlen);
int acme_parse_renewal_info(const char *body, size_t len, struct acme_renewal_info *out, char *err,
                            size_t errlen);

/* Free what each parser filled; safe on NULL or zeroed. */
void acme_parse_directory_finish(struct acme_directory *d);
void acme_parse_account_finish(struct acme_account *a);
void acme_parse_order_finish(struct acme_order *o);
void acme_parse_authz_finish(struct acme_authz *a);
void acme_parse_challenge_finish(struct acme_challenge *c);
void acme_parse_renewal_info_finish(struct acme_renewal_info *r);

/* Retry-After: delay-seconds or an HTTP-date. Stores the absolute time in
 * *when (a date in the past gives now; seconds are capped at max_delay).
 * Returns 0 or -1 when malformed. */
int acme_parse_retry_after(const char *value, time_t now, long max_delay, time_t *when);

/* Link (RFC 8288 section 3): the targets of the links in value (one or
 * more Link header values, several joined with ","), in order, whose first
 * "rel" parameter (section 3.3: later ones are ignored) names rel among its
 * space-separated relation types, compared without regard to ASCII case;
 * rel's value may be a token or a quoted-string. A target is an absolute
 * https URL, or an absolute path ("/x") taken on base's origin (its
 * https://host:port); any other reference (a relative path, "//host/x",
 * another scheme) and a URL http_url_ok() refuses are left out, and so is
 * a target met before. At most max (up to ACME_MAX_LINKS) targets are
 * stored in urls (new strings), the others ignored. Returns how many were
 * stored, or -1 with err when value is not a list of links (nothing
 * stored then). */
int acme_parse_links(const char *value, const char *rel, const char *base, char **urls, size_t max,
                     char *err, size_t errlen);

/* Frees the n strings of urls; safe on n == 0. */
void acme_parse_links_free(char **urls, size_t n);

#endif
