#include "acme/acme_json.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/http.h"

void
acme_json_err(char *err, size_t errlen, const char *fmt, ...)
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
json_t *
acme_json_load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		acme_json_err(err, errlen, "not JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		acme_json_err(err, errlen, "not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Copies an optional string member. Returns 0 (absent or copied), -1 when
 * present with another type, too long, or out of memory. */
int
acme_json_string(json_t *obj, const char *name, size_t max, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_string(v)) {
		acme_json_err(err, errlen, "'%s' is not a string", name);
		return -1;
	}
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
		acme_json_err(err, errlen, "'%s' is too long or holds a NUL", name);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (*out == NULL) {
		acme_json_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
acme_json_url(json_t *obj, const char *name, bool required, char **out, char *err, size_t errlen)
{
	if (acme_json_string(obj, name, 2048, out, err, errlen) < 0) {
		return -1;
	}
	if (*out == NULL) {
		if (required) {
			acme_json_err(err, errlen, "'%s' is missing", name);
			return -1;
		}
		return 0;
	}
	if (!http_url_ok(*out)) {
		acme_json_err(err, errlen, "'%s' is not an https URL", name);
		free(*out);
		*out = NULL;
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

int
acme_json_time(json_t *obj, const char *name, bool required, time_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			acme_json_err(err, errlen, "'%s' is missing", name);
			return -1;
		}
		return 0;
	}
	if (!json_is_string(v) || parse_time(json_string_value(v), out) < 0) {
		acme_json_err(err, errlen, "'%s' is not an RFC 3339 time", name);
		return -1;
	}
	return 0;
}

void
acme_json_strings_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i]);
	}
	free(list);
}

/* An optional array of strings, at most max entries. urls: each must be an
 * https URL. */
int
acme_json_strings(json_t *obj, const char *name, size_t max, bool urls, char ***out, size_t *n,
                  char *err, size_t errlen)
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
		acme_json_err(err, errlen, "'%s' is not an array", name);
		return -1;
	}
	if (json_array_size(arr) > max) {
		acme_json_err(err, errlen, "'%s' has more than %zu entries", name, max);
		return -1;
	}
	if (json_array_size(arr) == 0) {
		return 0;
	}
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (*out == NULL) {
		acme_json_err(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > 2048 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			acme_json_err(err, errlen, "'%s' holds something other than a string",
			              name);
			goto fail;
		}
		if (urls && !http_url_ok(json_string_value(v))) {
			acme_json_err(err, errlen, "'%s' holds something other than an https URL",
			              name);
			goto fail;
		}
		(*out)[i] = strdup(json_string_value(v));
		if ((*out)[i] == NULL) {
			acme_json_err(err, errlen, "out of memory");
			goto fail;
		}
		*n = i + 1;
	}
	return 0;
fail:
	acme_json_strings_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

int
acme_json_ident(json_t *v, struct ident *out, char *err, size_t errlen)
{
	const char *type = NULL;
	const char *value = NULL;
	unsigned char addr[16];

	memset(out, 0, sizeof(*out));
	if (json_unpack(v, "{s:s, s:s}", "type", &type, "value", &value) != 0) {
		acme_json_err(err, errlen, "identifier without type and value");
		return -1;
	}
	if (strlen(value) == 0 || strlen(value) > 253) {
		acme_json_err(err, errlen, "identifier of bad length");
		return -1;
	}
	if (strcmp(type, "dns") == 0) {
		out->type = IDENT_DNS;
		for (const char *p = value; *p != '\0'; p++) {
			/* LDH plus '*' for wildcards: nothing that could reach a
			 * shell or a path as something else. */
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '*')) {
				acme_json_err(err, errlen, "identifier with a bad character");
				return -1;
			}
		}
	} else if (strcmp(type, "ip") == 0) {
		out->type = IDENT_IP;
		if (inet_pton(AF_INET, value, addr) != 1 && inet_pton(AF_INET6, value, addr) != 1) {
			acme_json_err(err, errlen, "ip identifier that is not an address");
			return -1;
		}
	} else {
		out->type = IDENT_UNKNOWN;
	}
	out->value = strdup(value);
	if (out->value == NULL) {
		acme_json_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
acme_json_ident_finish(struct ident *id)
{
	free(id->value);
	id->value = NULL;
}

int
acme_json_parse(const char *body, size_t len, acme_json_fill_fn fill, void *out, size_t size,
                char *err, size_t errlen)
{
	json_t *root;
	int rc;

	memset(out, 0, size);
	root = acme_json_load(body, len, err, errlen);
	if (root == NULL) {
		return -1;
	}
	rc = fill(root, out, err, errlen);
	json_decref(root);
	return rc;
}
