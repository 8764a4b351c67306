#include "base/ident.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const id_type_labels[IDENT__MAX] = {
        [IDENT_UNKNOWN] = "unknown",
        [IDENT_DNS] = "dns",
        [IDENT_IP] = "ip",
};

const char *
ident_type_name(enum ident_type type)
{
	if (type >= IDENT__MAX) {
		return id_type_labels[IDENT_UNKNOWN];
	}
	return id_type_labels[type];
}

int
ident_ip_bytes(const char *s, unsigned char addr[16], size_t *len)
{
	int rc = 0;

	if (inet_pton(AF_INET, s, addr) == 1) {
		*len = sizeof(struct in_addr);
	} else if (inet_pton(AF_INET6, s, addr) == 1) {
		*len = sizeof(struct in6_addr);
	} else {
		rc = -1;
	}
	return rc;
}

static bool
ascii_caseeq(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z') {
			ca += 'a' - 'A';
		}
		if (cb >= 'A' && cb <= 'Z') {
			cb += 'a' - 'A';
		}
	} while (ca == cb && ca != '\0');
	return ca == cb;
}

bool
ident_equal(const struct ident *a, const struct ident *b)
{
	unsigned char aa[sizeof(struct in6_addr)], ba[sizeof(struct in6_addr)];
	size_t alen, blen;
	bool eq = false;

	if (a->type != b->type || a->value == NULL || b->value == NULL) {
		goto out;
	}
	switch (a->type) {
	case IDENT_DNS:
		eq = ascii_caseeq(a->value, b->value);
		break;
	case IDENT_IP:
		eq = ident_ip_bytes(a->value, aa, &alen) == 0 &&
		     ident_ip_bytes(b->value, ba, &blen) == 0 && alen == blen &&
		     memcmp(aa, ba, alen) == 0;
		break;
	default:
		break;
	}
out:
	return eq;
}

bool
ident_in(const struct ident *id, const struct ident *set, size_t n)
{
	bool found = false;
	size_t i;

	for (i = 0; i < n && !found; i++) {
		found = ident_equal(id, &set[i]);
	}
	return found;
}

/* An LDH host name (RFC 1123, RFC 5890 A-labels), lower-cased in place.
 * Returns NULL or the reason it is not one. */
static const char *
check_ldh(char *name)
{
	char *label = name;
	bool numeric = true;
	const char *ret = NULL;

	if (*name == '\0') {
		ret = "empty name";
		goto out;
	}
	for (char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label) {
				ret = "empty label";
				goto out;
			}
			if (p - label > IDENT_LABEL_MAX) {
				ret = "label longer than 63 characters";
				goto out;
			}
			if (*label == '-' || p[-1] == '-') {
				ret = "label starts or ends with '-'";
				goto out;
			}
			if (*p == '\0') {
				break;
			}
			label = p + 1;
			numeric = true;
			continue;
		}
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char)(*p - 'A' + 'a');
		}
		if (*p >= '0' && *p <= '9') {
			continue;
		}
		numeric = false;
		if ((*p < 'a' || *p > 'z') && *p != '-') {
			ret = "only letters, digits, '-' and '.' are allowed";
			goto out;
		}
	}
	if (numeric) {
		ret = "the last label is a number";
	}
out:
	return ret;
}

static bool
has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80) {
			return true;
		}
	}
	return false;
}

/* "scheme://host[:port][/path]": the host, into why as the advice. */
static bool
is_url(const char *name, char *why, size_t whylen)
{
	const char *sep = strstr(name, "://");
	const char *host;
	size_t n;

	if (sep == NULL) {
		return false;
	}
	host = sep + 3;
	n = strcspn(host, "/:?#");
	snprintf(why, whylen, "a URL, not a name: give the bare name%s%.*s", n > 0 ? " " : "",
	         (int)n, host);
	return true;
}

/* "host:port" (one colon: an IPv6 address has two or more) or "host.":
 * what to give instead, into why. */
static bool
is_decorated(const char *name, char *why, size_t whylen)
{
	const char *colon = strchr(name, ':');
	size_t n = strlen(name);

	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		snprintf(why, whylen, "a port is not part of a name: give the bare name %.*s",
		         (int)(colon - name), name);
		return true;
	}
	if (n > 1 && name[n - 1] == '.' && name[n - 2] != '.') {
		snprintf(why, whylen, "ends with a dot: drop the trailing dot (%.*s)", (int)(n - 1),
		         name);
		return true;
	}
	return false;
}

int
ident_dns_name(const char *name, char *out, size_t len, char *why, size_t whylen)
{
	const char *host = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	size_t prefix = (size_t)(host - name);
	char *ascii = NULL;
	char buf[IDENT_DNS_MAX + 2];
	const char *bad = NULL;
	int rc;
	int ret = -1;

	if (is_url(name, why, whylen) || is_decorated(name, why, whylen)) {
		goto out;
	}
	if (has_non_ascii(host)) {
		/* IDNA2008 with UTS #46 mapping, non-transitional: "ß" stays
		 * itself (not "ss"), capitals are lowered, and what IDNA2008
		 * disallows is refused, not mapped to something else. */
		rc = idn2_to_ascii_8z(host, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK) {
			snprintf(why, whylen,
			         "not a valid international name (IDNA2008, converted to "
			         "punycode): %s",
			         idn2_strerror(rc));
			goto out;
		}
		host = ascii;
	}
	if (prefix + strlen(host) > IDENT_DNS_MAX) {
		snprintf(why, whylen, "longer than 253 characters%s",
		         ascii != NULL ? " as punycode" : "");
		goto out;
	}
	snprintf(buf, sizeof(buf), "%.*s%s", (int)prefix, name, host);
	bad = check_ldh(buf + prefix);
	if (bad != NULL) {
		snprintf(why, whylen, "%s", bad);
		goto out;
	}
	if (strlen(buf) >= len) {
		snprintf(why, whylen, "too long");
		goto out;
	}
	memcpy(out, buf, strlen(buf) + 1);
	ret = 0;
out:
	/* libidn2 allocates with its own malloc: idn2_free, not free. */
	idn2_free(ascii);
	return ret;
}

bool
ident_dns_is_idn(const char *name)
{
	for (const char *label = name; label != NULL; label = strchr(label, '.')) {
		if (*label == '.') {
			label++;
		}
		if (strncasecmp(label, "xn--", 4) == 0) {
			return true;
		}
	}
	return false;
}

const char *
ident_dns_display(const char *name, char *out, size_t len)
{
	char *unicode = NULL;

	if (len == 0) {
		return out;
	}
	if (ident_dns_is_idn(name) &&
	    idn2_to_unicode_8z8z(name, &unicode, IDN2_NONTRANSITIONAL) == IDN2_OK &&
	    strcmp(unicode, name) != 0) {
		snprintf(out, len, "%s (%s)", name, unicode);
	} else {
		snprintf(out, len, "%s", name);
	}
	idn2_free(unicode);
	return out;
}

enum ident_type
ident_type_of(const char *value)
{
	unsigned char addr[sizeof(struct in6_addr)];
	size_t len;

	return ident_ip_bytes(value, addr, &len) == 0 ? IDENT_IP : IDENT_DNS;
}

const struct ident *
ident_first_missing(const struct ident *a, size_t na, const struct ident *b, size_t nb)
{
	const struct ident *missing = NULL;

	for (size_t i = 0; i < na && missing == NULL; i++) {
		if (!ident_in(&a[i], b, nb)) {
			missing = &a[i];
		}
	}
	return missing;
}

size_t
ident_missing_text(const struct ident *a, size_t na, const struct ident *b, size_t nb,
                   const char *lead, char *buf, size_t len)
{
	size_t used = strnlen(buf, len);
	size_t missing = 0;

	for (size_t i = 0; i < na; i++) {
		if (ident_in(&a[i], b, nb)) {
			continue;
		}
		if (used < len) {
			int n = snprintf(buf + used, len - used, "%s%s", missing == 0 ? lead : ", ",
			                 a[i].value);

			used += n > 0 ? (size_t)n : 0;
		}
		missing++;
	}
	return missing;
}

bool
ident_set_equal(const struct ident *a, size_t na, const struct ident *b, size_t nb)
{
	return ident_first_missing(a, na, b, nb) == NULL &&
	       ident_first_missing(b, nb, a, na) == NULL;
}

/* The array for n, each value strdup'd from value_of(i); -1 when out of
 * memory (*out NULL). */
static int
list_fill(size_t n, struct ident **out, const char *(*value_of)(const void *src, size_t i),
          enum ident_type (*type_of)(const void *src, size_t i), const void *src)
{
	struct ident *ids = calloc(n + 1, sizeof(*ids));

	*out = NULL;
	if (ids == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i].type = type_of(src, i);
		ids[i].value = strdup(value_of(src, i));
		if (ids[i].value == NULL) {
			ident_list_free(ids, i);
			return -1;
		}
	}
	*out = ids;
	return 0;
}

static const char *
name_value(const void *src, size_t i)
{
	return ((char *const *)src)[i];
}

static enum ident_type
name_type(const void *src, size_t i)
{
	/* RFC 8738: addresses are "ip" identifiers. */
	return ident_type_of(((char *const *)src)[i]);
}

static const char *
id_value(const void *src, size_t i)
{
	return ((const struct ident *)src)[i].value;
}

static enum ident_type
id_type(const void *src, size_t i)
{
	return ((const struct ident *)src)[i].type;
}

int
ident_list_make(char *const *values, size_t n, struct ident **out)
{
	return list_fill(n, out, name_value, name_type, values);
}

int
ident_list_copy(const struct ident *ids, size_t n, struct ident **out)
{
	return list_fill(n, out, id_value, id_type, ids);
}

void
ident_list_free(struct ident *ids, size_t n)
{
	if (ids == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		free(ids[i].value);
	}
	free(ids);
}
