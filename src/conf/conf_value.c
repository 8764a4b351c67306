#include "conf/conf_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "base/file.h"
#include "base/ident.h"
#include "conf/ca.h"
#include "io/dns.h"
#include "io/dns_update.h"
#include "io/http.h"
#include "io/listener.h"

#define EMAIL_MAX 254
/* A name as typed: UTF-8 labels are longer than their A-labels may be. */
#define CONF_VALUE_ITEM_MAX 1024

static const char list_separators[] = ", \t";

static const char *const challenge_names[CONF_CHALLENGE__MAX] = {
        [CONF_CHALLENGE_HTTP01] = "http-01",
        [CONF_CHALLENGE_DNS01] = "dns-01",
        [CONF_CHALLENGE_TLSALPN01] = "tls-alpn-01",
        [CONF_CHALLENGE_DNSPERSIST01] = "dns-persist-01",
};

struct bool_name {
	const char *name;
	bool value;
};

/* Sorted. */
static const struct bool_name bools[] = {
        {"0", false}, {"1", true}, {"false", false}, {"no", false}, {"true", true}, {"yes", true},
};

/* Sorted. */
struct duration_unit {
	char unit;
	long seconds;
};

/* Sorted. */
static const struct duration_unit duration_units[] = {
        {'d', 86400},
        {'h', 3600},
        {'m', 60},
        {'s', 1},
};

void
conf_value_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		goto out;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
out:
	return;
}

void *
conf_value_field(struct conf_settings *s, size_t off)
{
	return (char *)s + off;
}

const void *
conf_value_const_field(const struct conf_settings *s, size_t off)
{
	return (const char *)s + off;
}

static bool
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int
conf_value_set_string(struct conf_settings *s, const struct conf_key_spec *spec, const char *value)
{
	char **dst = conf_value_field(s, spec->off);
	char *copy;
	int ret = -1;

	copy = strdup(value);
	if (copy == NULL) {
		goto out;
	}
	free(*dst);
	*dst = copy;
	ret = 0;
out:
	return ret;
}

/* Parses decimal digits only: no sign, no spaces. */
static int
parse_long(const char *s, long *value)
{
	long v = 0;
	int ret = -1;

	if (*s == '\0') {
		goto out;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (LONG_MAX - (*s - '0')) / 10) {
			goto out;
		}
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0') {
		goto out;
	}
	*value = v;
	ret = 0;
out:
	return ret;
}

static int
unit_cmp(const void *key, const void *elem)
{
	const char *unit = key;
	const struct duration_unit *u = elem;

	return (unsigned char)*unit - (unsigned char)u->unit;
}

int
conf_parse_duration(const char *s, long *seconds)
{
	char digits[32];
	const struct duration_unit *unit;
	size_t len;
	long mult = 1;
	long v;
	int ret = -1;

	len = strlen(s);
	if (len == 0 || len >= sizeof(digits)) {
		goto out;
	}
	if (s[len - 1] < '0' || s[len - 1] > '9') {
		unit = bsearch(&s[len - 1], duration_units,
		               sizeof(duration_units) / sizeof(duration_units[0]),
		               sizeof(duration_units[0]), unit_cmp);
		if (unit == NULL) {
			goto out;
		}
		mult = unit->seconds;
		len--;
	}
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (parse_long(digits, &v) < 0 || v > LONG_MAX / mult) {
		goto out;
	}
	*seconds = v * mult;
	ret = 0;
out:
	return ret;
}

int
conf_value_parse_dns_resolver(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen)
{
	char why[160];

	if (dns_servers_check(value, why, sizeof(why)) < 0) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': %s", spec->name, value, why);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

int
conf_value_parse_dns_update(struct conf_settings *s, const struct conf_key_spec *spec,
                            const char *value, char *err, size_t errlen)
{
	char host[DNS_UPDATE_HOST_MAX + 1];
	char why[320];
	bool is_name;
	int port;

	if (dns_update_server_split(value, host, sizeof(host), &port, &is_name, why, sizeof(why)) <
	    0) {
		/* why names the key and the value: "dns-update VALUE: reason". */
		const char *reason = strstr(why, ": ");

		conf_value_fail(err, errlen, "%s: invalid value '%s': %s", spec->name, value,
		                reason != NULL ? reason + 2 : why);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

int
conf_value_parse_text(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                      char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (is_control(*p)) {
			conf_value_fail(err, errlen,
			                "%s: invalid value: contains a control character",
			                spec->name);
			return -1;
		}
	}
	if (strlen(value) > (size_t)spec->max) {
		conf_value_fail(err, errlen, "%s: invalid value: longer than %ld characters",
		                spec->name, spec->max);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

int
conf_value_parse_token(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                       char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (is_control(*p) || *p == ' ') {
			conf_value_fail(err, errlen, "%s: invalid value '%s': expected no spaces",
			                spec->name, value);
			return -1;
		}
	}
	return conf_value_parse_text(s, spec, value, err, errlen);
}

static int
bool_cmp(const void *key, const void *elem)
{
	const struct bool_name *b = elem;

	return strcasecmp(key, b->name);
}

int
conf_value_parse_bool(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                      char *err, size_t errlen)
{
	bool *dst = conf_value_field(s, spec->off);
	const struct bool_name *found;
	int ret = -1;

	found = bsearch(value, bools, sizeof(bools) / sizeof(bools[0]), sizeof(bools[0]), bool_cmp);
	if (found == NULL) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': expected yes or no",
		                spec->name, value);
		goto out;
	}
	*dst = found->value;
	ret = 0;
out:
	return ret;
}

int
conf_value_parse_challenge(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen)
{
	enum conf_challenge *dst = conf_value_field(s, spec->off);
	int c;
	int ret = -1;

	for (c = 0; c < CONF_CHALLENGE__MAX; c++) {
		if (strcmp(value, challenge_names[c]) == 0) {
			*dst = (enum conf_challenge)c;
			ret = 0;
			goto out;
		}
	}
	conf_value_fail(err, errlen,
	                "%s: invalid value '%s': expected http-01, dns-01, tls-alpn-01 or "
	                "dns-persist-01",
	                spec->name, value);
out:
	return ret;
}

int
conf_value_parse_chain(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                       char *err, size_t errlen)
{
	static const char *const names[] = {
	        [CONF_CHAIN_DEFAULT] = "default",
	        [CONF_CHAIN_SHORTEST] = "shortest",
	};
	long *dst = conf_value_field(s, spec->off);
	int ret = -1;

	for (size_t c = 0; c < sizeof(names) / sizeof(names[0]); c++) {
		if (strcmp(value, names[c]) == 0) {
			*dst = (long)c;
			ret = 0;
			goto out;
		}
	}
	conf_value_fail(err, errlen, "%s: invalid value '%s': expected default or shortest",
	                spec->name, value);
out:
	return ret;
}

/* How a number key's value is read: 0 with the number in *v, or -1 with
 * what was expected in want ("a number from 1 to 1024"). */
typedef int (*read_long_fn)(const struct conf_key_spec *spec, const char *value, long *v,
                            char *want, size_t wantlen);

/* Reads value with read into the key's long field. Returns 0, or -1 with
 * the message in err. */
static int
parse_long_with(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                char *err, size_t errlen, read_long_fn read)
{
	char want[128];
	long v;

	if (read(spec, value, &v, want, sizeof(want)) < 0) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': expected %s", spec->name,
		                value, want);
		return -1;
	}
	*(long *)conf_value_field(s, spec->off) = v;
	return 0;
}

static int
read_number(const struct conf_key_spec *spec, const char *value, long *v, char *want,
            size_t wantlen)
{
	if (parse_long(value, v) < 0 || *v < spec->min || *v > spec->max) {
		snprintf(want, wantlen, "a number from %ld to %ld", spec->min, spec->max);
		return -1;
	}
	return 0;
}

static int
read_duration(const struct conf_key_spec *spec, const char *value, long *v, char *want,
              size_t wantlen)
{
	if (conf_parse_duration(value, v) < 0) {
		snprintf(want, wantlen, "a duration such as 30, 90s, 5m, 2h or 1d");
		return -1;
	}
	if (*v < spec->min || *v > spec->max) {
		snprintf(want, wantlen, "%lds to %lds", spec->min, spec->max);
		return -1;
	}
	return 0;
}

/* "auto" (0: the policy decides) or a duration of at least spec->min. */
static int
read_renew_before(const struct conf_key_spec *spec, const char *value, long *v, char *want,
                  size_t wantlen)
{
	if (strcmp(value, "auto") == 0) {
		*v = 0;
	} else if (conf_parse_duration(value, v) < 0 || *v < spec->min) {
		snprintf(want, wantlen, "auto or a duration of at least 1h, such as 30d");
		return -1;
	}
	return 0;
}

int
conf_value_parse_number(struct conf_settings *s, const struct conf_key_spec *spec,
                        const char *value, char *err, size_t errlen)
{
	return parse_long_with(s, spec, value, err, errlen, read_number);
}

int
conf_value_parse_duration(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen)
{
	return parse_long_with(s, spec, value, err, errlen, read_duration);
}

int
conf_value_parse_renew_before(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen)
{
	return parse_long_with(s, spec, value, err, errlen, read_renew_before);
}

int
conf_value_parse_key_type(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen)
{
	enum key_type *dst = conf_value_field(s, spec->off);
	enum key_type type;
	char names[128];
	size_t used = 0;
	int t;
	int n;
	int ret = -1;

	if (key_type_parse(value, &type) == 0) {
		*dst = type;
		ret = 0;
		goto out;
	}
	names[0] = '\0';
	for (t = 0; t < KEY_TYPE__MAX && used < sizeof(names); t++) {
		n = snprintf(names + used, sizeof(names) - used, "%s%s",
		             t == 0 ? "" : (t == KEY_TYPE__MAX - 1 ? " or " : ", "),
		             key_type_name((enum key_type)t));
		if (n < 0) {
			break;
		}
		used += (size_t)n;
	}
	conf_value_fail(err, errlen, "%s: invalid value '%s': expected %s", spec->name, value,
	                names);
out:
	return ret;
}

int
conf_value_parse_listen(struct conf_settings *s, const struct conf_key_spec *spec,
                        const char *value, char *err, size_t errlen)
{
	struct listener_address address;
	int ret = -1;

	if (listener_parse_address(value, &address) < 0) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': expected PORT, ADDR:PORT or [ADDR]:PORT "
		                "with a port from 1 to 65535",
		                spec->name, value);
		goto out;
	}
	ret = conf_value_set_string(s, spec, value);
out:
	return ret;
}

int
conf_value_parse_domain(const struct conf_key_spec *spec, const char *item, size_t len, char *out,
                        size_t outlen, char *err, size_t errlen)
{
	char buf[CONF_VALUE_ITEM_MAX];
	char why[192] = "";
	unsigned char bin[sizeof(struct in6_addr)];
	int ret = -1;

	if (len >= sizeof(buf)) {
		snprintf(why, sizeof(why), "longer than %d characters", IDENT_DNS_MAX);
		goto out;
	}
	memcpy(buf, item, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1) {
		if (inet_ntop(AF_INET, bin, out, (socklen_t)outlen) != NULL) {
			ret = 0;
		}
		goto out;
	}
	/* "http://example.com" is a URL and "a.example:8080" a name with a
	 * port (one colon), not IPv6 addresses gone wrong: ident_dns_name
	 * says so. */
	if (strchr(buf, ':') != strrchr(buf, ':') && strstr(buf, "://") == NULL) {
		/* RFC 8738: the identifier of an address is its canonical text. */
		if (inet_pton(AF_INET6, buf, bin) != 1) {
			snprintf(why, sizeof(why), "not an IP address");
			goto out;
		}
		if (inet_ntop(AF_INET6, bin, out, (socklen_t)outlen) != NULL) {
			ret = 0;
		}
		goto out;
	}
	ret = ident_dns_name(buf, out, outlen, why, sizeof(why));
out:
	if (ret < 0 && why[0] != '\0') {
		conf_value_fail(err, errlen, "%s: invalid name '%.*s': %s", spec->name, (int)len,
		                item, why);
	}
	return ret;
}

/* The first of s's len bytes that is one of set, or NULL. */
static const char *
strpbrk_n(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\0' && strchr(set, s[i]) != NULL) {
			return s + i;
		}
	}
	return NULL;
}

int
conf_value_parse_email(const struct conf_key_spec *spec, const char *item, size_t len, char *out,
                       size_t outlen, char *err, size_t errlen)
{
	const char *addr = item;
	const char *at = NULL;
	size_t i;
	int ret = -1;

	if (len >= 7 && strncasecmp(item, "mailto:", 7) == 0) {
		addr += 7;
		len -= 7;
	}
	if (len == 0 || len > EMAIL_MAX || len >= outlen) {
		goto bad;
	}
	/* Values are never quoted: the CA would get the quotes as part of the
	 * address (and answer invalidContact). */
	if (strpbrk_n(addr, len, "\"'") != NULL) {
		conf_value_fail(err, errlen,
		                "%s: invalid address '%.*s': write it without quotes "
		                "(values are never quoted)",
		                spec->name, (int)len, addr);
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (is_control((unsigned char)addr[i]) || strchr(" ,<>", addr[i]) != NULL) {
			goto bad;
		}
		if (addr[i] == '@') {
			if (at != NULL) {
				goto bad;
			}
			at = addr + i;
		}
	}
	if (at == NULL || at == addr || at == addr + len - 1) {
		goto bad;
	}
	memcpy(out, addr, len);
	out[len] = '\0';
	ret = 0;
	goto out;
bad:
	conf_value_fail(err, errlen, "%s: invalid address '%.*s': expected name@domain", spec->name,
	                (int)len, addr);
out:
	return ret;
}

static bool
list_has(char *const *list, size_t n, const char *s)
{
	size_t i;
	bool ret = false;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0) {
			ret = true;
			break;
		}
	}
	return ret;
}

void
conf_value_list_free(char **list, size_t n)
{
	size_t i;

	if (list == NULL) {
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(list[i]);
	}
	free(list);
out:
	return;
}

/* Appends every item of a comma or space separated value; all or nothing. */
int
conf_value_parse_list(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                      char *err, size_t errlen)
{
	char ***list = conf_value_field(s, spec->off);
	size_t *n = conf_value_field(s, spec->off_n);
	char **grown = NULL;
	char **merged;
	size_t added = 0;
	char item[IDENT_DNS_MAX + 2];
	const char *p;
	size_t len;
	int ret = -1;

	for (p = value + strspn(value, list_separators); *p != '\0';
	     p += len, p += strspn(p, list_separators)) {
		len = strcspn(p, list_separators);
		if (spec->item(spec, p, len, item, sizeof(item), err, errlen) < 0) {
			goto out;
		}
		if (list_has(*list, *n, item) || list_has(grown, added, item)) {
			conf_value_fail(err, errlen, "%s: '%s' is listed twice", spec->name, item);
			goto out;
		}
		if (*n + added >= (size_t)spec->max) {
			conf_value_fail(err, errlen, "%s: more than %ld values", spec->name,
			                spec->max);
			goto out;
		}
		if (grown == NULL) {
			/* Room for all that can follow: the value holds at most one item
			 * per two characters. */
			grown = calloc(strlen(p) / 2 + 1, sizeof(*grown));
			if (grown == NULL) {
				conf_value_fail(err, errlen, "out of memory");
				goto out;
			}
		}
		grown[added] = strdup(item);
		if (grown[added] == NULL) {
			conf_value_fail(err, errlen, "out of memory");
			goto out;
		}
		added++;
	}
	if (added == 0) {
		conf_value_fail(err, errlen, "%s: missing value", spec->name);
		goto out;
	}
	merged = realloc(*list, (*n + added) * sizeof(*merged));
	if (merged == NULL) {
		conf_value_fail(err, errlen, "out of memory");
		goto out;
	}
	memcpy(merged + *n, grown, added * sizeof(*grown));
	*list = merged;
	*n += added;
	added = 0;
	ret = 0;
out:
	conf_value_list_free(grown, added);
	return ret;
}

bool
conf_challenge_dns(enum conf_challenge c)
{
	return c == CONF_CHALLENGE_DNS01 || c == CONF_CHALLENGE_DNSPERSIST01;
}

const char *
conf_challenge_name(enum conf_challenge c)
{
	const char *ret = NULL;

	if ((unsigned)c < CONF_CHALLENGE__MAX) {
		ret = challenge_names[c];
	}
	return ret;
}
