#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "b64.h"
#include "ca.h"
#include "store.h"

/* A config file larger than this is a mistake, not tens of thousands of
 * certificates. */
#define CONF_FILE_MAX (16 * 1024 * 1024)
#define CONF_DOMAINS_MAX 1000
#define CONF_EMAILS_MAX 100
#define CONF_COMMAND_MAX 4095
#define CONF_SECTION_NAME_MAX 64
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define EMAIL_MAX 254

#define WHERE_GLOBAL (1u << CONF_WHERE_GLOBAL)
#define WHERE_CERT (1u << CONF_WHERE_CERT)
#define WHERE_CLI (1u << CONF_WHERE_CLI)
#define WHERE_ANY (WHERE_GLOBAL | WHERE_CERT | WHERE_CLI)

#define KEY_BIT(k) ((uint64_t)1 << (k))

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
	s->set |= KEY_BIT(spec - keys);
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
			if ((layers[l]->set & KEY_BIT(k)) == 0) {
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

/* ---- Loading a file ---- */

/* The line on which each key was set in one scope. */
struct key_lines {
	int line[CONF_KEY__MAX];
};

struct load_error {
	int line;
	size_t seq;
	char *msg;
};

struct loader {
	struct conf *conf;
	struct key_lines global_lines;
	struct key_lines *cert_lines; /* parallel to conf->certs */
	/* Keys of a section that is not kept (bad or duplicate header) are
	 * still checked, into here. */
	struct conf_settings discard;
	struct key_lines discard_lines;
	enum {
		SCOPE_GLOBAL,
		SCOPE_CERT,
		SCOPE_DISCARD,
	} scope;
	struct load_error *errors;
	size_t n_errors;
	size_t cap_errors;
	bool oom;
};

static void add_error(struct loader *ld, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
add_error(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[1024];
	struct load_error *grown;
	size_t cap;
	char *text = NULL;
	int n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->n_errors == ld->cap_errors) {
		cap = ld->cap_errors == 0 ? 8 : ld->cap_errors * 2;
		grown = realloc(ld->errors, cap * sizeof(*grown));
		if (grown == NULL) {
			ld->oom = true;
			goto out;
		}
		ld->errors = grown;
		ld->cap_errors = cap;
	}
	if (line > 0) {
		n = snprintf(NULL, 0, "%s:%d: %s", ld->conf->path, line, msg);
	} else {
		n = snprintf(NULL, 0, "%s: %s", ld->conf->path, msg);
	}
	if (n < 0) {
		goto out;
	}
	text = malloc((size_t)n + 1);
	if (text == NULL) {
		ld->oom = true;
		goto out;
	}
	if (line > 0) {
		snprintf(text, (size_t)n + 1, "%s:%d: %s", ld->conf->path, line, msg);
	} else {
		snprintf(text, (size_t)n + 1, "%s: %s", ld->conf->path, msg);
	}
	ld->errors[ld->n_errors].line = line;
	ld->errors[ld->n_errors].seq = ld->n_errors;
	ld->errors[ld->n_errors].msg = text;
	ld->n_errors++;
out:
	return;
}

static struct conf_settings *
scope_settings(struct loader *ld)
{
	struct conf_settings *ret = &ld->discard;

	if (ld->scope == SCOPE_GLOBAL) {
		ret = &ld->conf->global;
	} else if (ld->scope == SCOPE_CERT) {
		ret = &ld->conf->certs[ld->conf->n_certs - 1].settings;
	}
	return ret;
}

static struct key_lines *
scope_lines(struct loader *ld)
{
	struct key_lines *ret = &ld->discard_lines;

	if (ld->scope == SCOPE_GLOBAL) {
		ret = &ld->global_lines;
	} else if (ld->scope == SCOPE_CERT) {
		ret = &ld->cert_lines[ld->conf->n_certs - 1];
	}
	return ret;
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
		end--;
	}
	*end = '\0';
	return s;
}

static bool
section_name_ok(const char *name)
{
	size_t len;
	bool ret = false;

	len = strlen(name);
	if (len == 0 || len > CONF_SECTION_NAME_MAX) {
		goto out;
	}
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	    len) {
		goto out;
	}
	ret = true;
out:
	return ret;
}

static void
start_discard(struct loader *ld)
{
	conf_settings_finish(&ld->discard);
	memset(&ld->discard_lines, 0, sizeof(ld->discard_lines));
	ld->scope = SCOPE_DISCARD;
}

static void
parse_section(struct loader *ld, char *line, int lineno)
{
	struct conf *conf = ld->conf;
	struct conf_cert *certs;
	struct key_lines *lines;
	size_t len;
	char *inner;
	char *name;

	len = strlen(line);
	if (line[len - 1] != ']') {
		goto bad;
	}
	line[len - 1] = '\0';
	inner = trim(line + 1);
	if (strncmp(inner, "cert", 4) != 0 || (inner[4] != ' ' && inner[4] != '\t')) {
		goto bad;
	}
	name = trim(inner + 4);
	if (!section_name_ok(name)) {
		add_error(ld, lineno,
		          "bad section name '%s': expected 1 to 64 letters, digits, '.', '_' or "
		          "'-'",
		          name);
		start_discard(ld);
		goto out;
	}
	certs = realloc(conf->certs, (conf->n_certs + 1) * sizeof(*certs));
	if (certs == NULL) {
		ld->oom = true;
		start_discard(ld);
		goto out;
	}
	conf->certs = certs;
	lines = realloc(ld->cert_lines, (conf->n_certs + 1) * sizeof(*lines));
	if (lines == NULL) {
		ld->oom = true;
		start_discard(ld);
		goto out;
	}
	ld->cert_lines = lines;
	memset(&certs[conf->n_certs], 0, sizeof(*certs));
	memset(&lines[conf->n_certs], 0, sizeof(*lines));
	certs[conf->n_certs].name = strdup(name);
	if (certs[conf->n_certs].name == NULL) {
		ld->oom = true;
		start_discard(ld);
		goto out;
	}
	certs[conf->n_certs].line = lineno;
	conf->n_certs++;
	ld->scope = SCOPE_CERT;
	goto out;
bad:
	add_error(ld, lineno, "bad section header: expected [cert NAME]");
	start_discard(ld);
out:
	return;
}

static void
parse_assignment(struct loader *ld, char *line, int lineno)
{
	char msg[1024];
	struct key_lines *lines;
	const struct key_spec *spec;
	enum conf_where where;
	char *eq;
	char *key;
	char *value;
	size_t k;

	eq = strchr(line, '=');
	if (eq == NULL) {
		add_error(ld, lineno, "missing '=': expected key = value");
		goto out;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0') {
		add_error(ld, lineno, "missing key before '='");
		goto out;
	}
	spec = find_key(key);
	lines = scope_lines(ld);
	if (spec != NULL) {
		k = (size_t)(spec - keys);
		if (lines->line[k] != 0) {
			add_error(ld, lineno, "duplicate key '%s' (first set on line %d)", key,
			          lines->line[k]);
			goto out;
		}
	}
	where = ld->scope == SCOPE_GLOBAL ? CONF_WHERE_GLOBAL : CONF_WHERE_CERT;
	if (conf_set(scope_settings(ld), where, key, value, msg, sizeof(msg)) < 0) {
		add_error(ld, lineno, "%s", msg);
		/* A bad value still counts as set: a second line is a duplicate. */
		if (spec == NULL || (spec->where & (1u << where)) == 0) {
			goto out;
		}
	}
	lines->line[spec - keys] = lineno;
out:
	return;
}

static void
parse_text_buffer(struct loader *ld, char *buf, size_t len)
{
	char *end = buf + len;
	char *line;
	char *next;
	char *nl;
	size_t n;
	size_t i;
	int lineno = 0;

	for (line = buf; line < end; line = next) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		next = nl != NULL ? nl + 1 : end;
		if (memchr(line, '\0', n) != NULL) {
			add_error(ld, lineno, "contains a NUL byte");
			continue;
		}
		/* store_read_file leaves a NUL after the last line. */
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r') {
			line[--n] = '\0';
		}
		/* A '#' at the start or after a blank starts a comment; elsewhere
		 * (a URL fragment) it is part of the value. */
		for (i = 0; i < n; i++) {
			if (line[i] == '#' &&
			    (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
				line[i] = '\0';
				break;
			}
		}
		line = trim(line);
		if (*line == '\0') {
			continue;
		}
		if (*line == '[') {
			parse_section(ld, line, lineno);
		} else {
			parse_assignment(ld, line, lineno);
		}
	}
}

struct domain_ref {
	const char *name;
	size_t cert;
};

static int
domain_ref_cmp(const void *a, const void *b)
{
	const struct domain_ref *x = a;
	const struct domain_ref *y = b;
	int ret;

	ret = strcmp(x->name, y->name);
	if (ret == 0) {
		ret = x->cert < y->cert ? -1 : x->cert > y->cert;
	}
	return ret;
}

static int
cert_name_cmp(const void *a, const void *b)
{
	const struct conf_cert *const *x = a;
	const struct conf_cert *const *y = b;
	int ret;

	ret = strcmp((*x)->name, (*y)->name);
	if (ret == 0) {
		ret = (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
	}
	return ret;
}

/* Drops every section whose name an earlier one already has. Sorting keeps
 * this fast with tens of thousands of sections. */
static void
drop_duplicate_sections(struct loader *ld)
{
	struct conf *conf = ld->conf;
	const struct conf_cert **sorted = NULL;
	bool *drop = NULL;
	size_t i;
	size_t kept;

	if (conf->n_certs < 2) {
		goto out;
	}
	sorted = calloc(conf->n_certs, sizeof(*sorted));
	drop = calloc(conf->n_certs, sizeof(*drop));
	if (sorted == NULL || drop == NULL) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < conf->n_certs; i++) {
		sorted[i] = &conf->certs[i];
	}
	qsort(sorted, conf->n_certs, sizeof(*sorted), cert_name_cmp);
	for (i = 1; i < conf->n_certs; i++) {
		if (strcmp(sorted[i]->name, sorted[i - 1]->name) != 0) {
			continue;
		}
		add_error(ld, sorted[i]->line, "duplicate section [cert %s] (first on line %d)",
		          sorted[i]->name, sorted[i - 1]->line);
		drop[sorted[i] - conf->certs] = true;
		/* Keep comparing against the first of the run. */
		sorted[i] = sorted[i - 1];
	}
	kept = 0;
	for (i = 0; i < conf->n_certs; i++) {
		if (drop[i]) {
			free(conf->certs[i].name);
			conf_settings_finish(&conf->certs[i].settings);
			continue;
		}
		conf->certs[kept] = conf->certs[i];
		ld->cert_lines[kept] = ld->cert_lines[i];
		kept++;
	}
	conf->n_certs = kept;
out:
	free(sorted);
	free(drop);
}

static void
check_shared_domains(struct loader *ld)
{
	struct conf *conf = ld->conf;
	struct domain_ref *refs = NULL;
	size_t n = 0;
	size_t first = 0;
	size_t i;
	size_t j;

	for (i = 0; i < conf->n_certs; i++) {
		n += conf->certs[i].settings.n_domains;
	}
	if (n < 2) {
		goto out;
	}
	refs = calloc(n, sizeof(*refs));
	if (refs == NULL) {
		ld->oom = true;
		goto out;
	}
	n = 0;
	for (i = 0; i < conf->n_certs; i++) {
		for (j = 0; j < conf->certs[i].settings.n_domains; j++) {
			refs[n].name = conf->certs[i].settings.domains[j];
			refs[n].cert = i;
			n++;
		}
	}
	qsort(refs, n, sizeof(*refs), domain_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i].name, refs[first].name) != 0) {
			first = i;
			continue;
		}
		add_error(ld, ld->cert_lines[refs[i].cert].line[CONF_KEY_DOMAINS],
		          "domain '%s' is already in [cert %s] on line %d", refs[i].name,
		          conf->certs[refs[first].cert].name,
		          ld->cert_lines[refs[first].cert].line[CONF_KEY_DOMAINS]);
	}
out:
	free(refs);
}

/* Whether the scope has a line for the key, valid or not: a key whose value
 * was wrong is reported once, not again as missing. */
static bool
given(const struct key_lines *lines, enum conf_key key)
{
	return lines->line[key] != 0;
}

/* Checks what one scope sets against the challenge it ends up with
 * (CONF_CHALLENGE__MAX when its challenge line is wrong). */
static void
check_scope(struct loader *ld, const struct conf_settings *s, const struct key_lines *lines,
            enum conf_challenge challenge)
{
	static const enum conf_key http_only[] = {CONF_KEY_HTTP_HOOK, CONF_KEY_WEBROOT};
	size_t i;

	for (i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++) {
		if ((s->set & KEY_BIT(http_only[i])) != 0 && challenge != CONF_CHALLENGE_HTTP01 &&
		    challenge != CONF_CHALLENGE__MAX) {
			add_error(ld, lines->line[http_only[i]],
			          "%s needs challenge = http-01 (challenge is %s)",
			          keys[http_only[i]].name, challenge_names[challenge]);
		}
	}
	if (given(lines, CONF_KEY_EAB_KID) && !given(lines, CONF_KEY_EAB_HMAC_KEY)) {
		add_error(ld, lines->line[CONF_KEY_EAB_KID], "eab-kid needs eab-hmac-key");
	}
	if (given(lines, CONF_KEY_EAB_HMAC_KEY) && !given(lines, CONF_KEY_EAB_KID)) {
		add_error(ld, lines->line[CONF_KEY_EAB_HMAC_KEY], "eab-hmac-key needs eab-kid");
	}
}

/* The challenge a scope ends up with, from its own line or the fallback;
 * CONF_CHALLENGE__MAX when its line is wrong. */
static enum conf_challenge
scope_challenge(const struct conf_settings *s, const struct key_lines *lines,
                enum conf_challenge fallback)
{
	enum conf_challenge ret = fallback;

	if ((s->set & KEY_BIT(CONF_KEY_CHALLENGE)) != 0) {
		ret = s->challenge;
	} else if (given(lines, CONF_KEY_CHALLENGE)) {
		ret = CONF_CHALLENGE__MAX;
	}
	return ret;
}

static void
check_cert(struct loader *ld, size_t i, enum conf_challenge global_challenge)
{
	const struct conf_cert *cert = &ld->conf->certs[i];
	const struct conf_settings *s = &cert->settings;
	const struct key_lines *lines = &ld->cert_lines[i];
	enum conf_challenge challenge;
	size_t j;

	if (!given(lines, CONF_KEY_DOMAINS)) {
		add_error(ld, cert->line, "[cert %s] has no domains: add domains = NAME ...",
		          cert->name);
	}
	challenge = scope_challenge(s, lines, global_challenge);
	check_scope(ld, s, lines, challenge);
	if (challenge == CONF_CHALLENGE_DNS01 && !given(lines, CONF_KEY_DNS_HOOK) &&
	    !given(&ld->global_lines, CONF_KEY_DNS_HOOK)) {
		add_error(ld,
		          given(lines, CONF_KEY_CHALLENGE) ? lines->line[CONF_KEY_CHALLENGE]
		                                           : cert->line,
		          "challenge dns-01 needs dns-hook: set dns-hook = PROGRAM");
	}
	for (j = 0; j < s->n_domains; j++) {
		if (s->domains[j][0] == '*' && challenge != CONF_CHALLENGE_DNS01 &&
		    challenge != CONF_CHALLENGE__MAX) {
			add_error(ld, lines->line[CONF_KEY_DOMAINS],
			          "wildcard '%s' needs challenge = dns-01", s->domains[j]);
		}
	}
}

static void
validate(struct loader *ld)
{
	struct conf *conf = ld->conf;
	enum conf_challenge global_challenge;
	size_t i;

	global_challenge = scope_challenge(&conf->global, &ld->global_lines, CONF_CHALLENGE_HTTP01);
	check_scope(ld, &conf->global, &ld->global_lines, global_challenge);
	/* Without sections, the global settings are what `acmed cert` uses. */
	if (conf->n_certs == 0 && global_challenge == CONF_CHALLENGE_DNS01 &&
	    !given(&ld->global_lines, CONF_KEY_DNS_HOOK)) {
		add_error(ld, ld->global_lines.line[CONF_KEY_CHALLENGE],
		          "challenge dns-01 needs dns-hook: set dns-hook = PROGRAM");
	}
	drop_duplicate_sections(ld);
	for (i = 0; i < conf->n_certs; i++) {
		check_cert(ld, i, global_challenge);
	}
	check_shared_domains(ld);
}

static int
load_error_cmp(const void *a, const void *b)
{
	const struct load_error *x = a;
	const struct load_error *y = b;
	int ret;

	ret = (x->line > y->line) - (x->line < y->line);
	if (ret == 0) {
		ret = (x->seq > y->seq) - (x->seq < y->seq);
	}
	return ret;
}

/* Moves the errors, in line order, to conf->errors. */
static void
publish_errors(struct loader *ld)
{
	struct conf *conf = ld->conf;
	char **all;
	size_t i;

	if (ld->n_errors == 0) {
		goto out;
	}
	qsort(ld->errors, ld->n_errors, sizeof(*ld->errors), load_error_cmp);
	all = realloc(conf->errors, (conf->n_errors + ld->n_errors) * sizeof(*all));
	if (all == NULL) {
		ld->oom = true;
		goto out;
	}
	conf->errors = all;
	for (i = 0; i < ld->n_errors; i++) {
		conf->errors[conf->n_errors++] = ld->errors[i].msg;
		ld->errors[i].msg = NULL;
	}
out:
	return;
}

int
conf_load(struct conf *conf, const char *path)
{
	struct loader ld;
	char *buf = NULL;
	size_t len = 0;
	size_t i;
	int ret = -1;

	memset(&ld, 0, sizeof(ld));
	ld.conf = conf;
	ld.scope = SCOPE_GLOBAL;
	free(conf->path);
	conf->path = strdup(path);
	if (conf->path == NULL) {
		goto out;
	}
	buf = store_read_file(path, CONF_FILE_MAX, &len);
	if (buf == NULL) {
		add_error(&ld, 0, "%s", strerror(errno));
	} else {
		parse_text_buffer(&ld, buf, len);
		validate(&ld);
	}
	if (ld.oom) {
		add_error(&ld, 0, "out of memory");
	}
	publish_errors(&ld);
	if (!ld.oom && ld.n_errors == 0) {
		ret = 0;
	}
out:
	for (i = 0; i < ld.n_errors; i++) {
		free(ld.errors[i].msg);
	}
	free(ld.errors);
	free(ld.cert_lines);
	conf_settings_finish(&ld.discard);
	free(buf);
	return ret;
}
