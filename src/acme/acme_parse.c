#include "acme/acme_parse.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_json.h"
#include "base/b64.h"
#include "challenge/persist.h"
#include "io/http.h"

/* Sorted by name for bsearch. */
struct status_name {
	const char *name;
	enum acme_status status;
};

static const struct status_name status_names[] = {
        {"deactivated", ACME_STATUS_DEACTIVATED}, {"expired", ACME_STATUS_EXPIRED},
        {"invalid", ACME_STATUS_INVALID},         {"pending", ACME_STATUS_PENDING},
        {"processing", ACME_STATUS_PROCESSING},   {"ready", ACME_STATUS_READY},
        {"revoked", ACME_STATUS_REVOKED},         {"valid", ACME_STATUS_VALID},
};

static const char *const status_labels[ACME_STATUS__MAX] = {
        [ACME_STATUS_UNKNOWN] = "unknown", [ACME_STATUS_DEACTIVATED] = "deactivated",
        [ACME_STATUS_EXPIRED] = "expired", [ACME_STATUS_INVALID] = "invalid",
        [ACME_STATUS_PENDING] = "pending", [ACME_STATUS_PROCESSING] = "processing",
        [ACME_STATUS_READY] = "ready",     [ACME_STATUS_REVOKED] = "revoked",
        [ACME_STATUS_VALID] = "valid",
};

const char *
acme_status_name(enum acme_status status)
{
	if (status >= ACME_STATUS__MAX) {
		return status_labels[ACME_STATUS_UNKNOWN];
	}
	return status_labels[status];
}

static int
status_cmp(const void *key, const void *elem)
{
	const char *const *name = elem;

	return strcmp(key, *name);
}

enum acme_status
acme_status_parse(const char *s)
{
	const void *found;

	if (s == NULL) {
		return ACME_STATUS_UNKNOWN;
	}
	found = bsearch(s, status_names, sizeof(status_names) / sizeof(status_names[0]),
	                sizeof(status_names[0]), status_cmp);
	if (found == NULL) {
		return ACME_STATUS_UNKNOWN;
	}
	return ((const struct status_name *)found)->status;
}

static int
get_status(json_t *obj, enum acme_status *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "status");

	if (!json_is_string(v)) {
		acme_json_err(err, errlen, "'status' is missing or not a string");
		return -1;
	}
	*out = acme_status_parse(json_string_value(v));
	if (*out == ACME_STATUS_UNKNOWN) {
		acme_json_err(err, errlen, "unknown status");
		return -1;
	}
	return 0;
}

static int
directory_fill(json_t *root, void *arg, char *err, size_t errlen)
{
	struct acme_directory *out = arg;
	json_t *meta;
	json_t *v;
	int rc = -1;

	if (acme_json_url(root, "newNonce", true, &out->new_nonce, err, errlen) < 0 ||
	    acme_json_url(root, "newAccount", true, &out->new_account, err, errlen) < 0 ||
	    acme_json_url(root, "newOrder", true, &out->new_order, err, errlen) < 0 ||
	    acme_json_url(root, "revokeCert", true, &out->revoke_cert, err, errlen) < 0 ||
	    acme_json_url(root, "keyChange", false, &out->key_change, err, errlen) < 0 ||
	    acme_json_url(root, "renewalInfo", false, &out->renewal_info, err, errlen) < 0) {
		goto out;
	}
	meta = json_object_get(root, "meta");
	if (json_is_object(meta)) {
		/* termsOfService is a URL, but not necessarily https (Pebble
		 * serves a data: URL); it is only ever printed. */
		if (acme_json_string(meta, "termsOfService", 2048, &out->terms_of_service, err,
		                     errlen) < 0 ||
		    acme_json_string(meta, "website", 2048, &out->website, err, errlen) < 0 ||
		    acme_json_strings(meta, "caaIdentities", 64, false, &out->caa_identities,
		                      &out->n_caa_identities, err, errlen) < 0) {
			goto out;
		}
		v = json_object_get(meta, "externalAccountRequired");
		out->external_account_required = json_is_true(v);
		v = json_object_get(meta, "profiles");
		if (json_is_object(v) && json_object_size(v) > 0 && json_object_size(v) <= 64) {
			const char *name;
			json_t *desc;
			size_t i = 0;

			out->profiles = calloc(json_object_size(v), sizeof(*out->profiles));
			if (out->profiles == NULL) {
				acme_json_err(err, errlen, "out of memory");
				goto out;
			}
			json_object_foreach(v, name, desc)
			{
				out->profiles[i] = strdup(name);
				if (out->profiles[i] == NULL) {
					acme_json_err(err, errlen, "out of memory");
					goto out;
				}
				out->n_profiles = ++i;
			}
		}
	}
	for (const char *p = out->terms_of_service; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || *p == 0x7f) {
			acme_json_err(err, errlen,
			              "'termsOfService' holds a control character or space");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_directory_finish(out);
	}
	return rc;
}

int
acme_parse_directory(const char *body, size_t len, struct acme_directory *out, char *err,
                     size_t errlen)
{
	return acme_json_parse(body, len, directory_fill, out, sizeof(*out), err, errlen);
}

static int
account_fill(json_t *root, void *arg, char *err, size_t errlen)
{
	struct acme_account *out = arg;
	int rc = -1;

	if (get_status(root, &out->status, err, errlen) < 0 ||
	    acme_json_strings(root, "contact", 16, false, &out->contacts, &out->n_contacts, err,
	                      errlen) < 0 ||
	    acme_json_url(root, "orders", false, &out->orders, err, errlen) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_account_finish(out);
	}
	return rc;
}

int
acme_parse_account(const char *body, size_t len, struct acme_account *out, char *err, size_t errlen)
{
	return acme_json_parse(body, len, account_fill, out, sizeof(*out), err, errlen);
}

static int
order_fill(json_t *root, void *arg, char *err, size_t errlen)
{
	struct acme_order *out = arg;
	json_t *ids;
	json_t *v;
	size_t i;
	int rc = -1;

	if (get_status(root, &out->status, err, errlen) < 0 ||
	    acme_json_time(root, "expires", false, &out->expires, err, errlen) < 0 ||
	    acme_json_strings(root, "authorizations", ACME_MAX_IDENTIFIERS, true,
	                      &out->authorizations, &out->n_authorizations, err, errlen) < 0 ||
	    acme_json_url(root, "finalize", true, &out->finalize, err, errlen) < 0 ||
	    acme_json_url(root, "certificate", false, &out->certificate, err, errlen) < 0 ||
	    acme_problem_member(root, &out->error, err, errlen) < 0) {
		goto out;
	}
	ids = json_object_get(root, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		acme_json_err(err, errlen, "'identifiers' is missing or empty");
		goto out;
	}
	if (json_array_size(ids) > ACME_MAX_IDENTIFIERS) {
		acme_json_err(err, errlen, "more than %d identifiers", ACME_MAX_IDENTIFIERS);
		goto out;
	}
	out->identifiers = calloc(json_array_size(ids), sizeof(*out->identifiers));
	if (out->identifiers == NULL) {
		acme_json_err(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(ids, i, v)
	{
		out->n_identifiers = i + 1;
		if (acme_json_ident(v, &out->identifiers[i], err, errlen) < 0) {
			goto out;
		}
	}
	if (out->status == ACME_STATUS_VALID && out->certificate == NULL) {
		acme_json_err(err, errlen, "valid order without 'certificate'");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_order_finish(out);
	}
	return rc;
}

int
acme_parse_order(const char *body, size_t len, struct acme_order *out, char *err, size_t errlen)
{
	return acme_json_parse(body, len, order_fill, out, sizeof(*out), err, errlen);
}

static enum challenge_type
challenge_type_parse(const char *s)
{
	for (size_t i = 1; i < CHALLENGE_TYPE__MAX; i++) {
		if (strcmp(s, challenge_type_name((enum challenge_type)i)) == 0) {
			return (enum challenge_type)i;
		}
	}
	return CHALLENGE_TYPE_UNKNOWN;
}

/* draft-ietf-acme-dns-persist-01 section 3.1: a challenge without 1 to 10
 * normalized issuer names is malformed. Returns 0, or -1: out of memory. */
static int
persist_issuers(json_t *obj, struct acme_challenge *out)
{
	char why[256];

	if (acme_json_strings(obj, "issuer-domain-names", PERSIST_ISSUERS_MAX, false, &out->issuers,
	                      &out->n_issuers, why, sizeof(why)) == 0 &&
	    persist_issuers_check((const char *const *)out->issuers, out->n_issuers, why,
	                          sizeof(why)) == 0) {
		return 0;
	}
	out->malformed = strdup(why);
	return out->malformed != NULL ? 0 : -1;
}

/* One challenge object into arg (a struct acme_challenge): an
 * acme_json_fill_fn, and a step of authz_fill. */
static int
challenge_fill(json_t *obj, void *arg, char *err, size_t errlen)
{
	struct acme_challenge *out = arg;
	json_t *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		acme_json_err(err, errlen, "challenge is not an object");
		return -1;
	}
	v = json_object_get(obj, "type");
	if (!json_is_string(v)) {
		acme_json_err(err, errlen, "challenge without 'type'");
		goto out;
	}
	out->type = challenge_type_parse(json_string_value(v));
	if (get_status(obj, &out->status, err, errlen) < 0 ||
	    acme_json_url(obj, "url", true, &out->url, err, errlen) < 0 ||
	    acme_problem_member(obj, &out->error, err, errlen) < 0) {
		goto out;
	}
	v = json_object_get(obj, "token");
	if (v != NULL) {
		/* RFC 8555 section 8.3: a token is base64url; anything else
		 * never reaches a path, a URL or a hook. */
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    !b64_is_token(json_string_value(v), ACME_MAX_TOKEN)) {
			acme_json_err(err, errlen,
			              "challenge token is not base64url of sane length");
			goto out;
		}
		out->token = strdup(json_string_value(v));
		if (out->token == NULL) {
			acme_json_err(err, errlen, "out of memory");
			goto out;
		}
	} else if (out->type != CHALLENGE_TYPE_UNKNOWN &&
	           out->type != CHALLENGE_TYPE_DNSPERSIST01) {
		acme_json_err(err, errlen, "%s challenge without a token",
		              challenge_type_name(out->type));
		goto out;
	}
	if (out->type == CHALLENGE_TYPE_DNSPERSIST01 && persist_issuers(obj, out) < 0) {
		acme_json_err(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_challenge_finish(out);
	}
	return rc;
}

int
acme_parse_challenge(const char *body, size_t len, struct acme_challenge *out, char *err,
                     size_t errlen)
{
	return acme_json_parse(body, len, challenge_fill, out, sizeof(*out), err, errlen);
}

static int
authz_fill(json_t *root, void *arg, char *err, size_t errlen)
{
	struct acme_authz *out = arg;
	json_t *chals;
	json_t *v;
	size_t i;
	int rc = -1;

	v = json_object_get(root, "identifier");
	if (v == NULL || acme_json_ident(v, &out->identifier, err, errlen) < 0) {
		if (v == NULL) {
			acme_json_err(err, errlen, "'identifier' is missing");
		}
		goto out;
	}
	if (get_status(root, &out->status, err, errlen) < 0 ||
	    acme_json_time(root, "expires", false, &out->expires, err, errlen) < 0) {
		goto out;
	}
	out->wildcard = json_is_true(json_object_get(root, "wildcard"));
	chals = json_object_get(root, "challenges");
	if (!json_is_array(chals)) {
		acme_json_err(err, errlen, "'challenges' is missing");
		goto out;
	}
	if (json_array_size(chals) > ACME_MAX_CHALLENGES) {
		acme_json_err(err, errlen, "more than %d challenges", ACME_MAX_CHALLENGES);
		goto out;
	}
	if (json_array_size(chals) > 0) {
		out->challenges = calloc(json_array_size(chals), sizeof(*out->challenges));
		if (out->challenges == NULL) {
			acme_json_err(err, errlen, "out of memory");
			goto out;
		}
	}
	json_array_foreach(chals, i, v)
	{
		if (challenge_fill(v, &out->challenges[i], err, errlen) < 0) {
			goto out;
		}
		out->n_challenges = i + 1;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_authz_finish(out);
	}
	return rc;
}

int
acme_parse_authz(const char *body, size_t len, struct acme_authz *out, char *err, size_t errlen)
{
	return acme_json_parse(body, len, authz_fill, out, sizeof(*out), err, errlen);
}

static int
renewal_info_fill(json_t *root, void *arg, char *err, size_t errlen)
{
	struct acme_renewal_info *out = arg;
	json_t *window;
	int rc = -1;

	window = json_object_get(root, "suggestedWindow");
	if (!json_is_object(window)) {
		acme_json_err(err, errlen, "'suggestedWindow' is missing");
		goto out;
	}
	if (acme_json_time(window, "start", true, &out->start, err, errlen) < 0 ||
	    acme_json_time(window, "end", true, &out->end, err, errlen) < 0 ||
	    acme_json_url(root, "explanationURL", false, &out->explanation_url, err, errlen) < 0) {
		goto out;
	}
	/* RFC 9773 section 4.2: a window whose end is not after its start is
	 * invalid. */
	if (out->end <= out->start) {
		acme_json_err(err, errlen, "suggestedWindow ends before it starts");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_parse_renewal_info_finish(out);
	}
	return rc;
}

int
acme_parse_renewal_info(const char *body, size_t len, struct acme_renewal_info *out, char *err,
                        size_t errlen)
{
	return acme_json_parse(body, len, renewal_info_fill, out, sizeof(*out), err, errlen);
}

void
acme_parse_directory_finish(struct acme_directory *d)
{
	if (d == NULL) {
		return;
	}
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	free(d->website);
	acme_json_strings_free(d->profiles, d->n_profiles);
	acme_json_strings_free(d->caa_identities, d->n_caa_identities);
	memset(d, 0, sizeof(*d));
}

void
acme_parse_account_finish(struct acme_account *a)
{
	if (a == NULL) {
		return;
	}
	acme_json_strings_free(a->contacts, a->n_contacts);
	free(a->orders);
	memset(a, 0, sizeof(*a));
}

void
acme_parse_order_finish(struct acme_order *o)
{
	if (o == NULL) {
		return;
	}
	for (size_t i = 0; i < o->n_identifiers; i++) {
		acme_json_ident_finish(&o->identifiers[i]);
	}
	free(o->identifiers);
	acme_json_strings_free(o->authorizations, o->n_authorizations);
	free(o->finalize);
	free(o->certificate);
	acme_problem_free(o->error);
	memset(o, 0, sizeof(*o));
}

void
acme_parse_challenge_finish(struct acme_challenge *c)
{
	if (c == NULL) {
		return;
	}
	free(c->url);
	free(c->token);
	acme_problem_free(c->error);
	acme_json_strings_free(c->issuers, c->n_issuers);
	free(c->malformed);
	memset(c, 0, sizeof(*c));
}

void
acme_parse_authz_finish(struct acme_authz *a)
{
	if (a == NULL) {
		return;
	}
	acme_json_ident_finish(&a->identifier);
	for (size_t i = 0; i < a->n_challenges; i++) {
		acme_parse_challenge_finish(&a->challenges[i]);
	}
	free(a->challenges);
	memset(a, 0, sizeof(*a));
}

void
acme_parse_renewal_info_finish(struct acme_renewal_info *r)
{
	if (r == NULL) {
		return;
	}
	free(r->explanation_url);
	memset(r, 0, sizeof(*r));
}

int
acme_parse_retry_after(const char *value, time_t now, long max_delay, time_t *when)
{
	struct tm tm;
	const char *p;
	char *end;
	long secs;
	time_t t;

	if (value == NULL || *value == '\0') {
		return -1;
	}
	if (*value >= '0' && *value <= '9') {
		errno = 0;
		secs = strtol(value, &end, 10);
		if (*end != '\0') {
			return -1;
		}
		if (errno == ERANGE || secs > max_delay) {
			secs = max_delay;
		}
		*when = now + secs;
		return 0;
	}
	/* IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7). */
	memset(&tm, 0, sizeof(tm));
	p = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (p == NULL || *p != '\0') {
		return -1;
	}
	t = timegm(&tm);
	if (t == (time_t)-1) {
		return -1;
	}
	if (t < now) {
		t = now;
	}
	if (t - now > max_delay) {
		t = now + max_delay;
	}
	*when = t;
	return 0;
}

/* --- Link (RFC 8288) ------------------------------------------------- */

#define LINK_REL_MAX 256 /* a longer rel value names nothing acmed asks for */

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return p;
}

/* RFC 9110 section 5.6.2 */
static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A parameter's value at p, a token or a quoted-string (RFC 9110 section
 * 5.6.4), decoded into out (outlen bytes; *cut when it did not fit).
 * Returns where it ends, or NULL when it is neither. */
static const char *
param_value(const char *p, char *out, size_t outlen, bool *cut)
{
	size_t n = 0;
	const char *ret = NULL;

	*cut = false;
	if (*p != '"') {
		while (is_tchar((unsigned char)*p)) {
			if (n + 1 < outlen) {
				out[n++] = *p;
			} else {
				*cut = true;
			}
			p++;
		}
		ret = p;
		goto out;
	}
	for (p++; *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			p++;
			c = (unsigned char)*p;
		}
		/* Unterminated, or a control character (HTAB allowed). */
		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
			goto out;
		}
		if (n + 1 < outlen) {
			out[n++] = (char)c;
		} else {
			*cut = true;
		}
	}
	ret = p + 1;
out:
	if (outlen > 0) {
		out[n] = '\0';
	}
	return ret;
}

/* Whether the relation types of a rel value (space separated, RFC 8288
 * section 3.3) include rel. */
static bool
rel_names(const char *value, const char *rel)
{
	size_t want = strlen(rel);
	const char *p = value;
	bool ret = false;

	while (*p != '\0' && !ret) {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		ret = n > 0 && n == want && strncasecmp(p, rel, n) == 0;
		p += n;
	}
	return ret;
}

/* The target (n bytes at t) as an absolute https URL on base's origin when
 * it is a path: new string, or NULL when it cannot be used. */
static char *
link_target(const char *t, size_t n, const char *base)
{
	static const char https[] = "https://";
	size_t origin = 0;
	char *url = NULL;

	if (n >= sizeof(https) - 1 && strncasecmp(t, https, sizeof(https) - 1) == 0) {
		url = strndup(t, n);
	} else if (n > 0 && t[0] == '/' && (n == 1 || t[1] != '/') && base != NULL &&
	           strncasecmp(base, https, sizeof(https) - 1) == 0) {
		origin = sizeof(https) - 1 + strcspn(base + sizeof(https) - 1, "/?#");
		url = malloc(origin + n + 1);
		if (url != NULL) {
			memcpy(url, base, origin);
			memcpy(url + origin, t, n);
			url[origin + n] = '\0';
		}
	}
	if (url != NULL && !http_url_ok(url)) {
		free(url);
		url = NULL;
	}
	return url;
}

/* Stores url in urls (n so far, at most max) unless it is there already;
 * takes url. */
static void
link_keep(char **urls, size_t *n, size_t max, char *url)
{
	for (size_t i = 0; url != NULL && i < *n; i++) {
		if (strcmp(urls[i], url) == 0) {
			free(url);
			url = NULL;
		}
	}
	if (url != NULL && *n < max) {
		urls[(*n)++] = url;
		url = NULL;
	}
	free(url);
}

/* One link-value's parameters from p (just after '>'): *matched when its
 * first rel names rel. Returns where they end, or NULL (err set). */
static const char *
link_params(const char *p, const char *rel, bool *matched, char *err, size_t errlen)
{
	char value[LINK_REL_MAX];
	bool seen_rel = false;
	bool cut;

	*matched = false;
	for (p = skip_ows(p); *p == ';'; p = skip_ows(p)) {
		const char *name = skip_ows(p + 1);
		size_t name_len = 0;

		while (is_tchar((unsigned char)name[name_len])) {
			name_len++;
		}
		if (name_len == 0) {
			snprintf(err, errlen, "link parameter without a name");
			return NULL;
		}
		p = skip_ows(name + name_len);
		value[0] = '\0';
		cut = false;
		if (*p == '=') {
			p = param_value(skip_ows(p + 1), value, sizeof(value), &cut);
			if (p == NULL) {
				snprintf(err, errlen, "link parameter %.*s: bad value",
				         (int)(name_len < 32 ? name_len : 32), name);
				return NULL;
			}
		}
		if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && !seen_rel) {
			seen_rel = true;
			*matched = !cut && rel_names(value, rel);
		}
	}
	return p;
}

int
acme_parse_links(const char *value, const char *rel, const char *base, char **urls, size_t max,
                 char *err, size_t errlen)
{
	const char *p = value;
	size_t n = 0;
	int ret = -1;

	if (max > ACME_MAX_LINKS) {
		max = ACME_MAX_LINKS;
	}
	if (value == NULL || rel == NULL) {
		snprintf(err, errlen, "no link");
		goto out;
	}
	for (;;) {
		const char *target;
		const char *end;
		bool matched;

		/* RFC 9110 section 5.6.1: empty list elements are allowed. */
		while (*p == ' ' || *p == '\t' || *p == ',') {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		if (*p != '<') {
			snprintf(err, errlen, "link: '<' expected at offset %zu",
			         (size_t)(p - value));
			goto out;
		}
		target = p + 1;
		end = strchr(target, '>');
		if (end == NULL) {
			snprintf(err, errlen, "link: unterminated '<'");
			goto out;
		}
		p = link_params(end + 1, rel, &matched, err, errlen);
		if (p == NULL) {
			goto out;
		}
		if (*p != ',' && *p != '\0') {
			snprintf(err, errlen, "link: ',' expected at offset %zu",
			         (size_t)(p - value));
			goto out;
		}
		if (matched) {
			link_keep(urls, &n, max, link_target(target, (size_t)(end - target), base));
		}
	}
	ret = (int)n;
	n = 0;
out:
	acme_parse_links_free(urls, n);
	return ret;
}

void
acme_parse_links_free(char **urls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(urls[i]);
		urls[i] = NULL;
	}
}
