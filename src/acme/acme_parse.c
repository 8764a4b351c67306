#include "acme/acme_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "io/http.h"

#define ACME_URN "urn:ietf:params:acme:error:"

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

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Server JSON: duplicate keys are an error, the top level must be an object. */
static json_t *
load_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		set_err(err, errlen, "not JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Copies an optional string member. Returns 0 (absent or copied), -1 when
 * present with another type, too long, or out of memory. */
static int
get_string(json_t *obj, const char *name, size_t max, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_string(v)) {
		set_err(err, errlen, "'%s' is not a string", name);
		return -1;
	}
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
		set_err(err, errlen, "'%s' is too long or holds a NUL", name);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (*out == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
get_url(json_t *obj, const char *name, bool required, char **out, char *err, size_t errlen)
{
	if (get_string(obj, name, 2048, out, err, errlen) < 0) {
		return -1;
	}
	if (*out == NULL) {
		if (required) {
			set_err(err, errlen, "'%s' is missing", name);
			return -1;
		}
		return 0;
	}
	if (!http_url_ok(*out)) {
		set_err(err, errlen, "'%s' is not an https URL", name);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int
get_status(json_t *obj, enum acme_status *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "status");

	if (!json_is_string(v)) {
		set_err(err, errlen, "'status' is missing or not a string");
		return -1;
	}
	*out = acme_status_parse(json_string_value(v));
	if (*out == ACME_STATUS_UNKNOWN) {
		set_err(err, errlen, "unknown status");
		return -1;
	}
	return 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The number written by n decimal digits at s (checked by the caller). */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* RFC 3339 timestamps as ACME servers send them: 2026-01-02T03:04:05Z, with
 * optional fractional seconds and a Z or numeric offset. */
static int
parse_time(const char *s, time_t *out)
{
	/* RFC 3339 section 5.6: exactly four digits of year and two of every
	 * other field ("T" in either case); strptime alone takes fewer. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm;
	struct tm back;
	const char *p;
	long off = 0;
	bool leap;
	time_t t;

	/* (A shorter string stops at its NUL, which fits no place.) */
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		bool ok = shape[i] == 'd' ? is_digit(s[i])
		                          : s[i] == shape[i] || (shape[i] == 'T' && s[i] == 't');

		if (!ok) {
			return -1;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	p = s + sizeof(shape) - 1;
	/* A leap second (60) is the next second; anything else must be a real
	 * date and time, not one timegm would carry over (February 31). */
	leap = tm.tm_sec == 60;
	if (leap) {
		tm.tm_sec = 59;
	}
	back = tm;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9') {
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' && is_digit(p[1]) &&
	           is_digit(p[2]) && is_digit(p[4]) && is_digit(p[5])) {
		int hh = (p[1] - '0') * 10 + (p[2] - '0');
		int mm = (p[4] - '0') * 10 + (p[5] - '0');

		if (hh < 0 || hh > 23 || mm < 0 || mm > 59) {
			return -1;
		}
		off = (hh * 60L + mm) * 60L;
		if (*p == '-') {
			off = -off;
		}
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0') {
		return -1;
	}
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec) {
		return -1;
	}
	*out = t - off + (leap ? 1 : 0);
	return 0;
}

static int
get_time(json_t *obj, const char *name, bool required, time_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			set_err(err, errlen, "'%s' is missing", name);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v) || parse_time(json_string_value(v), out) < 0) {
		set_err(err, errlen, "'%s' is not an RFC 3339 time", name);
		return -1;
	}
	return 0;
}

static void
free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i]);
	}
	free(list);
}

/* An optional array of strings, at most max entries. urls: each must be an
 * https URL. */
static int
get_strings(json_t *obj, const char *name, size_t max, bool urls, char ***out, size_t *n, char *err,
            size_t errlen)
{
	json_t *arr = json_object_get(obj, name);
	json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (arr == NULL || json_is_null(arr)) {
		return 0;
	}
	if (!json_is_array(arr)) {
		set_err(err, errlen, "'%s' is not an array", name);
		return -1;
	}
	if (json_array_size(arr) > max) {
		set_err(err, errlen, "'%s' has more than %zu entries", name, max);
		return -1;
	}
	if (json_array_size(arr) == 0) {
		return 0;
	}
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (*out == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > 2048 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			set_err(err, errlen, "'%s' holds something other than a string", name);
			goto fail;
		}
		if (urls && !http_url_ok(json_string_value(v))) {
			set_err(err, errlen, "'%s' holds something other than an https URL", name);
			goto fail;
		}
		(*out)[i] = strdup(json_string_value(v));
		if ((*out)[i] == NULL) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		*n = i + 1;
	}
	return 0;
fail:
	free_strings(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

static int
parse_identifier(json_t *v, struct ident *out, char *err, size_t errlen)
{
	const char *type = NULL;
	const char *value = NULL;
	unsigned char addr[16];

	memset(out, 0, sizeof(*out));
	if (json_unpack(v, "{s:s, s:s}", "type", &type, "value", &value) != 0) {
		set_err(err, errlen, "identifier without type and value");
		return -1;
	}
	if (strlen(value) == 0 || strlen(value) > 253) {
		set_err(err, errlen, "identifier of bad length");
		return -1;
	}
	if (strcmp(type, "dns") == 0) {
		out->type = IDENT_DNS;
		for (const char *p = value; *p != '\0'; p++) {
			/* LDH plus '*' for wildcards: nothing that could reach a
			 * shell or a path as something else. */
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '*')) {
				set_err(err, errlen, "identifier with a bad character");
				return -1;
			}
		}
	} else if (strcmp(type, "ip") == 0) {
		out->type = IDENT_IP;
		if (inet_pton(AF_INET, value, addr) != 1 && inet_pton(AF_INET6, value, addr) != 1) {
			set_err(err, errlen, "ip identifier that is not an address");
			return -1;
		}
	} else {
		out->type = IDENT_UNKNOWN;
	}
	out->value = strdup(value);
	if (out->value == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
identifier_finish(struct ident *id)
{
	free(id->value);
	id->value = NULL;
}

static int problem_from_json(json_t *obj, struct acme_problem *out, int depth, char *err,
                             size_t errlen);

static int
problem_from_json(json_t *obj, struct acme_problem *out, int depth, char *err, size_t errlen)
{
	json_t *v;
	json_t *sub;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (get_string(obj, "type", 512, &out->type, err, errlen) < 0 ||
	    get_string(obj, "detail", 1024, &out->detail, err, errlen) < 0 ||
	    get_string(obj, "instance", 2048, &out->instance, err, errlen) < 0) {
		goto out;
	}
	v = json_object_get(obj, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599) {
		out->status = (long)json_integer_value(v);
	}
	v = json_object_get(obj, "identifier");
	if (v != NULL && parse_identifier(v, &out->identifier, err, errlen) < 0) {
		goto out;
	}
	sub = json_object_get(obj, "subproblems");
	if (depth == 0 && json_is_array(sub) && json_array_size(sub) > 0) {
		size_t n = json_array_size(sub);

		if (n > ACME_MAX_SUBPROBLEMS) {
			n = ACME_MAX_SUBPROBLEMS;
		}
		out->subproblems = calloc(n, sizeof(*out->subproblems));
		if (out->subproblems == NULL) {
			set_err(err, errlen, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++) {
			v = json_array_get(sub, i);
			if (!json_is_object(v)) {
				set_err(err, errlen, "subproblem is not an object");
				goto out;
			}
			out->n_subproblems = i + 1;
			if (problem_from_json(v, &out->subproblems[i], depth + 1, err, errlen) <
			    0) {
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_problem_finish(out);
	}
	return rc;
}

/* An optional "error" member holding a problem document. */
static int
get_problem(json_t *obj, struct acme_problem **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "error");

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_object(v)) {
		set_err(err, errlen, "'error' is not an object");
		return -1;
	}
	*out = calloc(1, sizeof(**out));
	if (*out == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (problem_from_json(v, *out, 0, err, errlen) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void
problem_free(struct acme_problem *p)
{
	acme_problem_finish(p);
	free(p);
}

int
acme_parse_directory(const char *body, size_t len, struct acme_directory *out, char *err,
                     size_t errlen)
{
	json_t *root;
	json_t *meta;
	json_t *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	if (get_url(root, "newNonce", true, &out->new_nonce, err, errlen) < 0 ||
	    get_url(root, "newAccount", true, &out->new_account, err, errlen) < 0 ||
	    get_url(root, "newOrder", true, &out->new_order, err, errlen) < 0 ||
	    get_url(root, "revokeCert", true, &out->revoke_cert, err, errlen) < 0 ||
	    get_url(root, "keyChange", false, &out->key_change, err, errlen) < 0 ||
	    get_url(root, "renewalInfo", false, &out->renewal_info, err, errlen) < 0) {
		goto out;
	}
	meta = json_object_get(root, "meta");
	if (json_is_object(meta)) {
		/* termsOfService is a URL, but not necessarily https (Pebble
		 * serves a data: URL); it is only ever printed. */
		if (get_string(meta, "termsOfService", 2048, &out->terms_of_service, err, errlen) <
		            0 ||
		    get_string(meta, "website", 2048, &out->website, err, errlen) < 0 ||
		    get_strings(meta, "caaIdentities", 64, false, &out->caa_identities,
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
				set_err(err, errlen, "out of memory");
				goto out;
			}
			json_object_foreach(v, name, desc)
			{
				out->profiles[i] = strdup(name);
				if (out->profiles[i] == NULL) {
					set_err(err, errlen, "out of memory");
					goto out;
				}
				out->n_profiles = ++i;
			}
		}
	}
	for (const char *p = out->terms_of_service; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || *p == 0x7f) {
			set_err(err, errlen, "'termsOfService' holds a control character or space");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_directory_finish(out);
	}
	json_decref(root);
	return rc;
}

int
acme_parse_problem(const char *body, size_t len, struct acme_problem *out, char *err, size_t errlen)
{
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	rc = problem_from_json(root, out, 0, err, errlen);
	json_decref(root);
	return rc;
}

int
acme_parse_account(const char *body, size_t len, struct acme_account *out, char *err, size_t errlen)
{
	json_t *root;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	if (get_status(root, &out->status, err, errlen) < 0 ||
	    get_strings(root, "contact", 16, false, &out->contacts, &out->n_contacts, err, errlen) <
	            0 ||
	    get_url(root, "orders", false, &out->orders, err, errlen) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_account_finish(out);
	}
	json_decref(root);
	return rc;
}

int
acme_parse_order(const char *body, size_t len, struct acme_order *out, char *err, size_t errlen)
{
	json_t *root;
	json_t *ids;
	json_t *v;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	if (get_status(root, &out->status, err, errlen) < 0 ||
	    get_time(root, "expires", false, &out->expires, err, errlen) < 0 ||
	    get_strings(root, "authorizations", ACME_MAX_IDENTIFIERS, true, &out->authorizations,
	                &out->n_authorizations, err, errlen) < 0 ||
	    get_url(root, "finalize", true, &out->finalize, err, errlen) < 0 ||
	    get_url(root, "certificate", false, &out->certificate, err, errlen) < 0 ||
	    get_problem(root, &out->error, err, errlen) < 0) {
		goto out;
	}
	ids = json_object_get(root, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		set_err(err, errlen, "'identifiers' is missing or empty");
		goto out;
	}
	if (json_array_size(ids) > ACME_MAX_IDENTIFIERS) {
		set_err(err, errlen, "more than %d identifiers", ACME_MAX_IDENTIFIERS);
		goto out;
	}
	out->identifiers = calloc(json_array_size(ids), sizeof(*out->identifiers));
	if (out->identifiers == NULL) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(ids, i, v)
	{
		out->n_identifiers = i + 1;
		if (parse_identifier(v, &out->identifiers[i], err, errlen) < 0) {
			goto out;
		}
	}
	if (out->status == ACME_STATUS_VALID && out->certificate == NULL) {
		set_err(err, errlen, "valid order without 'certificate'");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_order_finish(out);
	}
	json_decref(root);
	return rc;
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

static int
challenge_from_json(json_t *obj, struct acme_challenge *out, char *err, size_t errlen)
{
	json_t *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		set_err(err, errlen, "challenge is not an object");
		return -1;
	}
	v = json_object_get(obj, "type");
	if (!json_is_string(v)) {
		set_err(err, errlen, "challenge without 'type'");
		goto out;
	}
	out->type = challenge_type_parse(json_string_value(v));
	if (get_status(obj, &out->status, err, errlen) < 0 ||
	    get_url(obj, "url", true, &out->url, err, errlen) < 0 ||
	    get_problem(obj, &out->error, err, errlen) < 0) {
		goto out;
	}
	v = json_object_get(obj, "token");
	if (v != NULL) {
		/* RFC 8555 section 8.3: a token is base64url; anything else
		 * never reaches a path, a URL or a hook. */
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    !b64_is_token(json_string_value(v), ACME_MAX_TOKEN)) {
			set_err(err, errlen, "challenge token is not base64url of sane length");
			goto out;
		}
		out->token = strdup(json_string_value(v));
		if (out->token == NULL) {
			set_err(err, errlen, "out of memory");
			goto out;
		}
	} else if (out->type != CHALLENGE_TYPE_UNKNOWN) {
		set_err(err, errlen, "%s challenge without a token",
		        challenge_type_name(out->type));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_challenge_finish(out);
	}
	return rc;
}

int
acme_parse_challenge(const char *body, size_t len, struct acme_challenge *out, char *err,
                     size_t errlen)
{
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	rc = challenge_from_json(root, out, err, errlen);
	json_decref(root);
	return rc;
}

int
acme_parse_authz(const char *body, size_t len, struct acme_authz *out, char *err, size_t errlen)
{
	json_t *root;
	json_t *chals;
	json_t *v;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	v = json_object_get(root, "identifier");
	if (v == NULL || parse_identifier(v, &out->identifier, err, errlen) < 0) {
		if (v == NULL) {
			set_err(err, errlen, "'identifier' is missing");
		}
		goto out;
	}
	if (get_status(root, &out->status, err, errlen) < 0 ||
	    get_time(root, "expires", false, &out->expires, err, errlen) < 0) {
		goto out;
	}
	out->wildcard = json_is_true(json_object_get(root, "wildcard"));
	chals = json_object_get(root, "challenges");
	if (!json_is_array(chals)) {
		set_err(err, errlen, "'challenges' is missing");
		goto out;
	}
	if (json_array_size(chals) > ACME_MAX_CHALLENGES) {
		set_err(err, errlen, "more than %d challenges", ACME_MAX_CHALLENGES);
		goto out;
	}
	if (json_array_size(chals) > 0) {
		out->challenges = calloc(json_array_size(chals), sizeof(*out->challenges));
		if (out->challenges == NULL) {
			set_err(err, errlen, "out of memory");
			goto out;
		}
	}
	json_array_foreach(chals, i, v)
	{
		if (challenge_from_json(v, &out->challenges[i], err, errlen) < 0) {
			goto out;
		}
		out->n_challenges = i + 1;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_authz_finish(out);
	}
	json_decref(root);
	return rc;
}

int
acme_parse_renewal_info(const char *body, size_t len, struct acme_renewal_info *out, char *err,
                        size_t errlen)
{
	json_t *root;
	json_t *window;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = load_object(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	window = json_object_get(root, "suggestedWindow");
	if (!json_is_object(window)) {
		set_err(err, errlen, "'suggestedWindow' is missing");
		goto out;
	}
	if (get_time(window, "start", true, &out->start, err, errlen) < 0 ||
	    get_time(window, "end", true, &out->end, err, errlen) < 0 ||
	    get_url(root, "explanationURL", false, &out->explanation_url, err, errlen) < 0) {
		goto out;
	}
	/* RFC 9773 section 4.2: a window whose end is not after its start is
	 * invalid. */
	if (out->end <= out->start) {
		set_err(err, errlen, "suggestedWindow ends before it starts");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_renewal_info_finish(out);
	}
	json_decref(root);
	return rc;
}

void
acme_directory_finish(struct acme_directory *d)
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
	free_strings(d->profiles, d->n_profiles);
	free_strings(d->caa_identities, d->n_caa_identities);
	memset(d, 0, sizeof(*d));
}

void
acme_problem_finish(struct acme_problem *p)
{
	if (p == NULL) {
		return;
	}
	free(p->type);
	free(p->detail);
	free(p->instance);
	identifier_finish(&p->identifier);
	for (size_t i = 0; i < p->n_subproblems; i++) {
		acme_problem_finish(&p->subproblems[i]);
	}
	free(p->subproblems);
	memset(p, 0, sizeof(*p));
}

void
acme_account_finish(struct acme_account *a)
{
	if (a == NULL) {
		return;
	}
	free_strings(a->contacts, a->n_contacts);
	free(a->orders);
	memset(a, 0, sizeof(*a));
}

void
acme_order_finish(struct acme_order *o)
{
	if (o == NULL) {
		return;
	}
	for (size_t i = 0; i < o->n_identifiers; i++) {
		identifier_finish(&o->identifiers[i]);
	}
	free(o->identifiers);
	free_strings(o->authorizations, o->n_authorizations);
	free(o->finalize);
	free(o->certificate);
	problem_free(o->error);
	memset(o, 0, sizeof(*o));
}

void
acme_challenge_finish(struct acme_challenge *c)
{
	if (c == NULL) {
		return;
	}
	free(c->url);
	free(c->token);
	problem_free(c->error);
	memset(c, 0, sizeof(*c));
}

void
acme_authz_finish(struct acme_authz *a)
{
	if (a == NULL) {
		return;
	}
	identifier_finish(&a->identifier);
	for (size_t i = 0; i < a->n_challenges; i++) {
		acme_challenge_finish(&a->challenges[i]);
	}
	free(a->challenges);
	memset(a, 0, sizeof(*a));
}

void
acme_renewal_info_finish(struct acme_renewal_info *r)
{
	if (r == NULL) {
		return;
	}
	free(r->explanation_url);
	memset(r, 0, sizeof(*r));
}

bool
acme_problem_is(const struct acme_problem *p, const char *name)
{
	size_t n = strlen(ACME_URN);

	if (p == NULL || p->type == NULL || strncmp(p->type, ACME_URN, n) != 0) {
		return false;
	}
	return strcmp(p->type + n, name) == 0;
}

/* The type as shown to people: the ACME name without its URN prefix. */
static const char *
short_type(const char *type)
{
	size_t n = strlen(ACME_URN);

	if (type == NULL) {
		return "error";
	}
	if (strncmp(type, ACME_URN, n) == 0 && type[n] != '\0') {
		return type + n;
	}
	return type;
}

static size_t append(char *buf, size_t len, size_t pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static size_t
append(char *buf, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pos >= len) {
		return pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + pos, len - pos, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return pos;
	}
	return pos + (size_t)n;
}

void
acme_problem_format(const struct acme_problem *p, const char *url, char *buf, size_t len)
{
	size_t pos = 0;

	if (len == 0) {
		return;
	}
	buf[0] = '\0';
	if (url != NULL) {
		pos = append(buf, len, pos, "%s: ", url);
	}
	if (p->status != 0) {
		pos = append(buf, len, pos, "%ld: ", p->status);
	}
	pos = append(buf, len, pos, "%s", short_type(p->type));
	if (p->detail != NULL && p->detail[0] != '\0') {
		pos = append(buf, len, pos, ": %s", p->detail);
	}
	if (p->instance != NULL && acme_problem_is(p, "userActionRequired")) {
		pos = append(buf, len, pos, " (see %s)", p->instance);
	}
	for (size_t i = 0; i < p->n_subproblems; i++) {
		const struct acme_problem *s = &p->subproblems[i];

		pos = append(buf, len, pos, "; %s: %s",
		             s->identifier.value != NULL ? s->identifier.value : "-",
		             short_type(s->type));
		if (s->detail != NULL && s->detail[0] != '\0') {
			pos = append(buf, len, pos, ": %s", s->detail);
		}
	}
	/* Server text is shown on one line, without control characters. */
	for (char *c = buf; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*c = ' ';
		}
	}
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

/* Skips optional whitespace. */
static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return p;
}

/* Whether the parameters of one link (from just after '>' to the ',' that
 * ends it or NUL) hold rel="...rel..." (a space-separated list). Sets *next
 * to the start of the following link, or NULL at the end. */
static bool
params_have_rel(const char *p, const char *rel, const char **next)
{
	bool found = false;
	size_t rlen = strlen(rel);

	*next = NULL;
	for (;;) {
		p = skip_ws(p);
		if (*p == ',') {
			*next = p + 1;
			return found;
		}
		if (*p != ';') {
			/* Malformed: stop here. */
			return found;
		}
		p = skip_ws(p + 1);
		const char *name = p;

		while (*p != '\0' && *p != '=' && *p != ';' && *p != ',' && *p != ' ') {
			p++;
		}
		size_t nlen = (size_t)(p - name);
		bool is_rel = nlen == 3 && strncasecmp(name, "rel", 3) == 0;

		p = skip_ws(p);
		if (*p != '=') {
			continue;
		}
		p = skip_ws(p + 1);
		const char *val;
		size_t vlen;

		if (*p == '"') {
			val = ++p;
			while (*p != '\0' && *p != '"') {
				p++;
			}
			vlen = (size_t)(p - val);
			if (*p == '"') {
				p++;
			}
		} else {
			val = p;
			while (*p != '\0' && *p != ';' && *p != ',' && *p != ' ') {
				p++;
			}
			vlen = (size_t)(p - val);
		}
		if (!is_rel) {
			continue;
		}
		/* rel may list several relation types separated by spaces. */
		for (size_t i = 0; i < vlen;) {
			size_t j = i;

			while (j < vlen && val[j] != ' ') {
				j++;
			}
			if (j - i == rlen && strncasecmp(val + i, rel, rlen) == 0) {
				found = true;
			}
			i = j + 1;
		}
	}
}

char *
acme_parse_link(const char *const *values, size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = values[i];

		while (p != NULL) {
			const char *start;
			const char *end;
			const char *next;

			p = skip_ws(p);
			if (*p != '<') {
				break;
			}
			start = p + 1;
			end = strchr(start, '>');
			if (end == NULL) {
				break;
			}
			if (params_have_rel(end + 1, rel, &next)) {
				char *url = strndup(start, (size_t)(end - start));

				if (url != NULL && !http_url_ok(url)) {
					free(url);
					url = NULL;
				}
				if (url != NULL) {
					return url;
				}
			}
			p = next;
		}
	}
	return NULL;
}
