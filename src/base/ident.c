#include "base/ident.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
