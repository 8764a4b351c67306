#include "conf.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "b64.h"
#include "ca.h"
#include "conf_internal.h"

#define CONF_DOMAINS_MAX 1000
#define CONF_EMAILS_MAX 100
#define CONF_COMMAND_MAX 4095
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define EMAIL_MAX 254

#define WHERE_GLOBAL (1u << CONF_WHERE_GLOBAL)
#define WHERE_CERT (1u << CONF_WHERE_CERT)
#define WHERE_CLI (1u << CONF_WHERE_CLI)
#define WHERE_ANY (WHERE_GLOBAL | WHERE_CERT | WHERE_CLI)

static const char list_separators[] = ", \t";

/* How conf_resolve copies a key's field. */
enum field_kind {
	FIELD_STRING,
	FIELD_BOOL,
	FIELD_LONG,
	FIELD_KEY_TYPE,
	FIELD_CHALLENGE,
	FIELD_LIST,
};

struct key_spec;
typedef int (*key_parse_fn)(struct conf_settings *s, const struct key_spec *spec, const char *value,
                            char *err, size_t errlen);
/* Checks one list item and writes its normal form to out. */
typedef int (*item_parse_fn)(const struct key_spec *spec, const char *item, size_t len, char *out,
                             size_t outlen, char *err, size_t errlen);

struct key_spec {
	const char *name;
	unsigned where; /* WHERE_* bits */
	enum field_kind kind;
	key_parse_fn parse;
	size_t off; /* the field in struct conf_settings */
	size_t off_n; /* FIELD_LIST: its count */
	long min;
	long max; /* numbers: the range; text: the longest; lists: most items */
	item_parse_fn item; /* FIELD_LIST: one item */
};

static const char *const challenge_names[CONF_CHALLENGE__MAX] = {
        [CONF_CHALLENGE_HTTP01] = "http-01",
        [CONF_CHALLENGE_DNS01] = "dns-01",
        [CONF_CHALLENGE_TLSALPN01] = "tls-alpn-01",
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
static const char *const eab_algs[] = {"HS256", "HS384", "HS512"};

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

static void fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
fail(char *err, size_t errlen, const char *fmt, ...)
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

static void *
field(struct conf_settings *s, size_t off)
{
	return (char *)s + off;
}

static const void *
const_field(const struct conf_settings *s, size_t off)
{
	return (const char *)s + off;
}

static bool
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int
set_string(struct conf_settings *s, const struct key_spec *spec, const char *value)
{
	char **dst = field(s, spec->off);
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

static int
parse_text(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
           size_t errlen)
{
	const unsigned char *p;
	int ret = -1;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (is_control(*p)) {
			fail(err, errlen, "%s: invalid value: contains a control character",
			     spec->name);
			goto out;
		}
	}
	if (strlen(value) > (size_t)spec->max) {
		fail(err, errlen, "%s: invalid value: longer than %ld characters", spec->name,
		     spec->max);
		goto out;
	}
	ret = set_string(s, spec, value);
out:
	return ret;
}

static int
parse_token(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
            size_t errlen)
{
	const unsigned char *p;
	int ret = -1;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (is_control(*p) || *p == ' ') {
			fail(err, errlen, "%s: invalid value '%s': expected no spaces", spec->name,
			     value);
			goto out;
		}
	}
	ret = parse_text(s, spec, value, err, errlen);
out:
	return ret;
}

static int
bool_cmp(const void *key, const void *elem)
{
	const struct bool_name *b = elem;

	return strcasecmp(key, b->name);
}

static int
parse_bool(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
           size_t errlen)
{
	bool *dst = field(s, spec->off);
	const struct bool_name *found;
	int ret = -1;

	found = bsearch(value, bools, sizeof(bools) / sizeof(bools[0]), sizeof(bools[0]), bool_cmp);
	if (found == NULL) {
		fail(err, errlen, "%s: invalid value '%s': expected yes or no", spec->name, value);
		goto out;
	}
	*dst = found->value;
	ret = 0;
out:
	return ret;
}

static int
parse_ca(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
         size_t errlen)
{
	int ret = -1;

	if (ca_directory_url(value) == NULL) {
		fail(err, errlen, "%s: unknown CA '%s': expected an https URL or one of %s",
		     spec->name, value, ca_short_names());
		goto out;
	}
	ret = set_string(s, spec, value);
out:
	return ret;
}

static int
parse_challenge(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
                size_t errlen)
{
	enum conf_challenge *dst = field(s, spec->off);
	int c;
	int ret = -1;

	for (c = 0; c < CONF_CHALLENGE__MAX; c++) {
		if (strcmp(value, challenge_names[c]) == 0) {
			*dst = (enum conf_challenge)c;
			ret = 0;
			goto out;
		}
	}
	fail(err, errlen, "%s: invalid value '%s': expected http-01, dns-01 or tls-alpn-01",
	     spec->name, value);
out:
	return ret;
}

static int
parse_number(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
             size_t errlen)
{
	long *dst = field(s, spec->off);
	long v;
	int ret = -1;

	if (parse_long(value, &v) < 0 || v < spec->min || v > spec->max) {
		fail(err, errlen, "%s: invalid value '%s': expected a number from %ld to %ld",
		     spec->name, value, spec->min, spec->max);
		goto out;
	}
	*dst = v;
	ret = 0;
out:
	return ret;
}

static int
parse_duration(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
               size_t errlen)
{
	long *dst = field(s, spec->off);
	long v;
	int ret = -1;

	if (conf_parse_duration(value, &v) < 0) {
		fail(err, errlen,
		     "%s: invalid value '%s': expected a duration such as 30, 90s, 5m, 2h or 1d",
		     spec->name, value);
		goto out;
	}
	if (v < spec->min || v > spec->max) {
		fail(err, errlen, "%s: invalid value '%s': expected %lds to %lds", spec->name,
		     value, spec->min, spec->max);
		goto out;
	}
	*dst = v;
	ret = 0;
out:
	return ret;
}

static int
parse_renew_before(struct conf_settings *s, const struct key_spec *spec, const char *value,
                   char *err, size_t errlen)
{
	long *dst = field(s, spec->off);
	long v;
	int ret = -1;

	if (strcmp(value, "auto") == 0) {
		v = 0;
	} else if (conf_parse_duration(value, &v) < 0 || v < spec->min) {
		fail(err, errlen,
		     "%s: invalid value '%s': expected auto or a duration of at least 1h, such "
		     "as 30d",
		     spec->name, value);
		goto out;
	}
	*dst = v;
	ret = 0;
out:
	return ret;
}

static int
parse_key_type(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
               size_t errlen)
{
	enum key_type *dst = field(s, spec->off);
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
	fail(err, errlen, "%s: invalid value '%s': expected %s", spec->name, value, names);
out:
	return ret;
}

static int
eab_alg_cmp(const void *key, const void *elem)
{
	const char *const *alg = elem;

	return strcmp(key, *alg);
}

static int
parse_eab_alg(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
              size_t errlen)
{
	int ret = -1;

	if (bsearch(value, eab_algs, sizeof(eab_algs) / sizeof(eab_algs[0]), sizeof(eab_algs[0]),
	            eab_alg_cmp) == NULL) {
		fail(err, errlen, "%s: invalid value '%s': expected HS256, HS384 or HS512",
		     spec->name, value);
		goto out;
	}
	ret = set_string(s, spec, value);
out:
	return ret;
}

static int
parse_eab_key(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
              size_t errlen)
{
	unsigned char *key = NULL;
	size_t keylen = 0;
	int ret = -1;

	/* The value is a secret: never echo it. */
	if (b64_decode(value, strlen(value), &key, &keylen) < 0 || keylen == 0) {
		fail(err, errlen, "%s: invalid value: expected base64url without padding",
		     spec->name);
		goto out;
	}
	ret = set_string(s, spec, value);
out:
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	return ret;
}

static int
parse_port(const char *s, long *port)
{
	int ret = -1;

	if (strlen(s) > 5 || parse_long(s, port) < 0 || *port < 1 || *port > 65535) {
		goto out;
	}
	ret = 0;
out:
	return ret;
}

static int
parse_listen(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
             size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *start = value;
	const char *port = value;
	const char *stop = NULL; /* just after the address */
	size_t len;
	long p;
	int family = AF_UNSPEC;
	int ret = -1;

	if (value[0] == '[') {
		stop = strchr(value, ']');
		if (stop == NULL || stop[1] != ':') {
			goto bad;
		}
		family = AF_INET6;
		start = value + 1;
		port = stop + 2;
	} else {
		stop = strrchr(value, ':');
		if (stop != NULL) {
			family = AF_INET;
			port = stop + 1;
		}
	}
	if (family != AF_UNSPEC) {
		len = (size_t)(stop - start);
		if (len == 0 || len >= sizeof(addr)) {
			goto bad;
		}
		memcpy(addr, start, len);
		addr[len] = '\0';
		if (inet_pton(family, addr, bin) != 1) {
			goto bad;
		}
	}
	if (parse_port(port, &p) < 0) {
		goto bad;
	}
	ret = set_string(s, spec, value);
	goto out;
bad:
	fail(err, errlen,
	     "%s: invalid value '%s': expected PORT, ADDR:PORT or [ADDR]:PORT with a port from 1 "
	     "to 65535",
	     spec->name, value);
out:
	return ret;
}

/* An LDH host name (RFC 1123, RFC 5890 A-labels), lower-cased in place.
 * Returns NULL or the reason it is not one. */
static const char *
check_dns_name(char *name)
{
	char *label = name;
	char *p;
	bool numeric = true;
	const char *ret = NULL;

	if (*name == '\0') {
		ret = "empty name";
		goto out;
	}
	for (p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label) {
				ret = "empty label";
				goto out;
			}
			if (p - label > DNS_LABEL_MAX) {
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
		goto out;
	}
out:
	return ret;
}

static int
parse_domain(const struct key_spec *spec, const char *item, size_t len, char *out, size_t outlen,
             char *err, size_t errlen)
{
	char buf[DNS_NAME_MAX + 2];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *why = NULL;
	int ret = -1;

	if (len > DNS_NAME_MAX) {
		why = "longer than 253 characters";
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
	if (strchr(buf, ':') != NULL) {
		/* RFC 8738: the identifier of an address is its canonical text. */
		if (inet_pton(AF_INET6, buf, bin) != 1) {
			why = "not an IP address";
			goto out;
		}
		if (inet_ntop(AF_INET6, bin, out, (socklen_t)outlen) != NULL) {
			ret = 0;
		}
		goto out;
	}
	why = check_dns_name(strncmp(buf, "*.", 2) == 0 ? buf + 2 : buf);
	if (why != NULL) {
		goto out;
	}
	if (len >= outlen) {
		goto out;
	}
	memcpy(out, buf, len + 1);
	ret = 0;
out:
	if (why != NULL) {
		fail(err, errlen, "%s: invalid name '%.*s': %s", spec->name, (int)len, item, why);
	}
	return ret;
}

static int
parse_email(const struct key_spec *spec, const char *item, size_t len, char *out, size_t outlen,
            char *err, size_t errlen)
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
	fail(err, errlen, "%s: invalid address '%.*s': expected name@domain", spec->name, (int)len,
	     addr);
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

static void
list_free(char **list, size_t n)
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
static int
parse_list(struct conf_settings *s, const struct key_spec *spec, const char *value, char *err,
           size_t errlen)
{
	char ***list = field(s, spec->off);
	size_t *n = field(s, spec->off_n);
	char **grown = NULL;
	char **merged;
	size_t added = 0;
	char item[DNS_NAME_MAX + 2];
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
			fail(err, errlen, "%s: '%s' is listed twice", spec->name, item);
			goto out;
		}
		if (*n + added >= (size_t)spec->max) {
			fail(err, errlen, "%s: more than %ld values", spec->name, spec->max);
			goto out;
		}
		if (grown == NULL) {
			/* Room for all that can follow: the value holds at most one item
			 * per two characters. */
			grown = calloc(strlen(p) / 2 + 1, sizeof(*grown));
			if (grown == NULL) {
				fail(err, errlen, "out of memory");
				goto out;
			}
		}
		grown[added] = strdup(item);
		if (grown[added] == NULL) {
			fail(err, errlen, "out of memory");
			goto out;
		}
		added++;
	}
	if (added == 0) {
		fail(err, errlen, "%s: missing value", spec->name);
		goto out;
	}
	merged = realloc(*list, (*n + added) * sizeof(*merged));
	if (merged == NULL) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	memcpy(merged + *n, grown, added * sizeof(*grown));
	*list = merged;
	*n += added;
	added = 0;
	ret = 0;
out:
	list_free(grown, added);
	return ret;
}

#define OFF(field) offsetof(struct conf_settings, field)
#define KEY(k, n, w, kind, fn, field, lo, hi) \
	[CONF_KEY_##k] = {n, w, kind, fn, OFF(field), 0, lo, hi, NULL}
#define LIST(k, n, w, field, count, most, fn) \
	[CONF_KEY_##k] = {n, w, FIELD_LIST, parse_list, OFF(field), OFF(count), 0, most, fn}

/* Sorted by name (bsearch) and indexed by enum conf_key: the enum is in the
 * same order. */
static const struct key_spec keys[CONF_KEY__MAX] = {
        KEY(ACCOUNT_KEY_TYPE, "account-key-type", WHERE_ANY, FIELD_KEY_TYPE, parse_key_type,
            account_key_type, 0, 0),
        KEY(AGREE_TOS, "agree-tos", WHERE_ANY, FIELD_BOOL, parse_bool, agree_tos, 0, 0),
        KEY(CA, "ca", WHERE_ANY, FIELD_STRING, parse_ca, ca, 0, 0),
        KEY(CA_FILE, "ca-file", WHERE_ANY, FIELD_STRING, parse_text, ca_file, 0, PATH_MAX - 1),
        KEY(CHALLENGE, "challenge", WHERE_ANY, FIELD_CHALLENGE, parse_challenge, challenge, 0, 0),
        KEY(CONCURRENCY, "concurrency", WHERE_GLOBAL | WHERE_CLI, FIELD_LONG, parse_number,
            concurrency, 1, 1024),
        KEY(CONTROL_SOCKET, "control-socket", WHERE_GLOBAL | WHERE_CLI, FIELD_STRING, parse_text,
            control_socket, 0, sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1),
        KEY(DEPLOY_HOOK, "deploy-hook", WHERE_ANY, FIELD_STRING, parse_text, deploy_hook, 0,
            CONF_COMMAND_MAX),
        KEY(DNS_HOOK, "dns-hook", WHERE_ANY, FIELD_STRING, parse_text, dns_hook, 0,
            CONF_COMMAND_MAX),
        KEY(DNS_WAIT, "dns-wait", WHERE_ANY, FIELD_LONG, parse_duration, dns_wait, 0, LONG_MAX),
        LIST(DOMAINS, "domains", WHERE_CERT | WHERE_CLI, domains, n_domains, CONF_DOMAINS_MAX,
             parse_domain),
        KEY(EAB_ALG, "eab-alg", WHERE_ANY, FIELD_STRING, parse_eab_alg, eab_alg, 0, 0),
        KEY(EAB_HMAC_KEY, "eab-hmac-key", WHERE_ANY, FIELD_STRING, parse_eab_key, eab_hmac_key, 0,
            0),
        KEY(EAB_KID, "eab-kid", WHERE_ANY, FIELD_STRING, parse_token, eab_kid, 0, CONF_COMMAND_MAX),
        LIST(EMAIL, "email", WHERE_ANY, emails, n_emails, CONF_EMAILS_MAX, parse_email),
        KEY(HOOK_TIMEOUT, "hook-timeout", WHERE_ANY, FIELD_LONG, parse_duration, hook_timeout, 1,
            3600),
        KEY(HTTP_HOOK, "http-hook", WHERE_ANY, FIELD_STRING, parse_text, http_hook, 0,
            CONF_COMMAND_MAX),
        KEY(HTTP_LISTEN, "http-listen", WHERE_ANY, FIELD_STRING, parse_listen, http_listen, 0, 0),
        KEY(KEY_TYPE, "key-type", WHERE_ANY, FIELD_KEY_TYPE, parse_key_type, key_type, 0, 0),
        KEY(RENEW_BEFORE, "renew-before", WHERE_ANY, FIELD_LONG, parse_renew_before, renew_before,
            3600, LONG_MAX),
        KEY(REUSE_KEY, "reuse-key", WHERE_ANY, FIELD_BOOL, parse_bool, reuse_key, 0, 0),
        KEY(STATE_DIR, "state-dir", WHERE_GLOBAL | WHERE_CLI, FIELD_STRING, parse_text, state_dir,
            0, PATH_MAX - 1),
        KEY(WEBROOT, "webroot", WHERE_ANY, FIELD_STRING, parse_text, webroot, 0, PATH_MAX - 1),
};

static int
key_cmp(const void *key, const void *elem)
{
	const struct key_spec *spec = elem;

	return strcmp(key, spec->name);
}

static const struct key_spec *
find_key(const char *name)
{
	return bsearch(name, keys, CONF_KEY__MAX, sizeof(keys[0]), key_cmp);
}

int
conf_set(struct conf_settings *s, enum conf_where where, const char *key, const char *value,
         char *err, size_t errlen)
{
	const struct key_spec *spec;
	int ret = -1;

	spec = find_key(key);
	if (spec == NULL) {
		fail(err, errlen, "unknown key '%s'", key);
		goto out;
	}
	if ((spec->where & (1u << where)) == 0) {
		if ((spec->where & WHERE_CERT) == 0) {
			fail(err, errlen, "%s: only valid before the first [cert NAME] section",
			     spec->name);
		} else {
			fail(err, errlen, "%s: only valid in a [cert NAME] section", spec->name);
		}
		goto out;
	}
	if (*value == '\0') {
		fail(err, errlen, "%s: missing value", spec->name);
		goto out;
	}
	if (spec->parse(s, spec, value, err, errlen) < 0) {
		goto out;
	}
	s->set |= CONF_KEY_BIT(spec - keys);
	ret = 0;
out:
	return ret;
}

void
conf_settings_finish(struct conf_settings *s)
{
	int k;

	if (s == NULL) {
		goto out;
	}
	for (k = 0; k < CONF_KEY__MAX; k++) {
		if (keys[k].kind == FIELD_STRING) {
			free(*(char **)field(s, keys[k].off));
		} else if (keys[k].kind == FIELD_LIST) {
			list_free(*(char ***)field(s, keys[k].off),
			          *(size_t *)field(s, keys[k].off_n));
		}
	}
	memset(s, 0, sizeof(*s));
out:
	return;
}

void
conf_init(struct conf *conf)
{
	memset(conf, 0, sizeof(*conf));
}

void
conf_finish(struct conf *conf)
{
	size_t i;

	if (conf == NULL) {
		goto out;
	}
	free(conf->path);
	conf_settings_finish(&conf->global);
	for (i = 0; i < conf->n_certs; i++) {
		free(conf->certs[i].name);
		conf_settings_finish(&conf->certs[i].settings);
	}
	free(conf->certs);
	list_free(conf->errors, conf->n_errors);
	memset(conf, 0, sizeof(*conf));
out:
	return;
}

/* Copies key k of src over out, deeply. */
static int
copy_key(struct conf_settings *out, const struct conf_settings *src, int k)
{
	const struct key_spec *spec = &keys[k];
	char *const *from_list;
	size_t n;
	char **list = NULL;
	size_t i = 0;
	int ret = -1;

	switch (spec->kind) {
	case FIELD_STRING:
		ret = set_string(out, spec, *(char *const *)const_field(src, spec->off));
		break;
	case FIELD_BOOL:
		*(bool *)field(out, spec->off) = *(const bool *)const_field(src, spec->off);
		ret = 0;
		break;
	case FIELD_LONG:
		*(long *)field(out, spec->off) = *(const long *)const_field(src, spec->off);
		ret = 0;
		break;
	case FIELD_KEY_TYPE:
		*(enum key_type *)field(out, spec->off) =
		        *(const enum key_type *)const_field(src, spec->off);
		ret = 0;
		break;
	case FIELD_CHALLENGE:
		*(enum conf_challenge *)field(out, spec->off) =
		        *(const enum conf_challenge *)const_field(src, spec->off);
		ret = 0;
		break;
	case FIELD_LIST:
		from_list = *(char *const *const *)const_field(src, spec->off);
		n = *(const size_t *)const_field(src, spec->off_n);
		list = calloc(n + 1, sizeof(*list));
		if (list == NULL) {
			goto out;
		}
		for (i = 0; i < n; i++) {
			list[i] = strdup(from_list[i]);
			if (list[i] == NULL) {
				goto out;
			}
		}
		list_free(*(char ***)field(out, spec->off), *(size_t *)field(out, spec->off_n));
		*(char ***)field(out, spec->off) = list;
		*(size_t *)field(out, spec->off_n) = n;
		list = NULL;
		ret = 0;
		break;
	}
out:
	list_free(list, i);
	return ret;
}

int
conf_resolve(const struct conf *conf, const struct conf_cert *cert, const struct conf_settings *cli,
             struct conf_settings *out)
{
	const struct conf_settings *layers[3];
	size_t l;
	int k;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->key_type = KEY_TYPE_EC_P256;
	out->account_key_type = KEY_TYPE_EC_P256;
	out->challenge = CONF_CHALLENGE_HTTP01;
	out->hook_timeout = 120;
	out->dns_wait = 0;
	out->concurrency = 16;
	out->renew_before = 0;
	layers[0] = conf != NULL ? &conf->global : NULL;
	layers[1] = cert != NULL ? &cert->settings : NULL;
	layers[2] = cli;
	for (l = 0; l < sizeof(layers) / sizeof(layers[0]); l++) {
		if (layers[l] == NULL) {
			continue;
		}
		for (k = 0; k < CONF_KEY__MAX; k++) {
			if ((layers[l]->set & CONF_KEY_BIT(k)) == 0) {
				continue;
			}
			if (copy_key(out, layers[l], k) < 0) {
				goto out;
			}
		}
		out->set |= layers[l]->set;
	}
	if (out->eab_alg == NULL) {
		out->eab_alg = strdup("HS256");
		if (out->eab_alg == NULL) {
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0) {
		conf_settings_finish(out);
	}
	return ret;
}

const struct conf_cert *
conf_find_cert(const struct conf *conf, const char *name)
{
	size_t i;
	const struct conf_cert *ret = NULL;

	for (i = 0; i < conf->n_certs; i++) {
		if (strcmp(conf->certs[i].name, name) == 0) {
			ret = &conf->certs[i];
			goto out;
		}
	}
	for (i = 0; i < conf->n_certs; i++) {
		if (conf->certs[i].settings.n_domains > 0 &&
		    strcmp(conf->certs[i].settings.domains[0], name) == 0) {
			ret = &conf->certs[i];
			goto out;
		}
	}
out:
	return ret;
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

const char *
conf_key_name(enum conf_key key)
{
	const char *ret = NULL;

	if ((unsigned)key < CONF_KEY__MAX) {
		ret = keys[key].name;
	}
	return ret;
}

int
conf_key_find(const char *name, enum conf_key *key)
{
	const struct key_spec *spec;
	int ret = -1;

	spec = find_key(name);
	if (spec == NULL) {
		goto out;
	}
	*key = (enum conf_key)(spec - keys);
	ret = 0;
out:
	return ret;
}

bool
conf_key_allowed(enum conf_key key, enum conf_where where)
{
	bool ret = false;

	if ((unsigned)key < CONF_KEY__MAX) {
		ret = (keys[key].where & (1u << where)) != 0;
	}
	return ret;
}
