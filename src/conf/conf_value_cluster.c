/* The values of the fleet's keys (cluster, node-name): apart from
 * conf_value.c, which holds the other keys' parsers, to keep each file
 * one size a reader takes in. */
#include "conf/conf_internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* The longest host name (RFC 1035). */
#define HOST_NAME_LEN_MAX 253

/* Whether the len characters at digits are a decimal number (digits only)
 * from min to max. */
static bool
number_in(const char *digits, size_t len, long min, long max)
{
	long long v = 0;
	size_t i;

	/* At most 10 digits: no overflow of v. */
	for (i = 0; i < len && i < 10 && digits[i] >= '0' && digits[i] <= '9'; i++) {
		v = v * 10 + (digits[i] - '0');
	}
	return len > 0 && i == len && v >= min && v <= max;
}

/* What a host name and a node-name are made of. */
static const char name_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

/* What is wrong with a redis:// URL after its scheme (the shape
 * io/redis.h's redis_url_parse reads), or NULL. */
static const char *
check_redis_url(const char *p)
{
	static const char bad_host[] = "HOST: expected a host name, an address or [IPv6]";
	unsigned char v6[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN];
	size_t len;

	if (*p == '[') {
		len = strcspn(p, "]");
		if (p[len] != ']' || len < 2 || len - 1 >= sizeof(addr)) {
			return bad_host;
		}
		memcpy(addr, p + 1, len - 1);
		addr[len - 1] = '\0';
		if (inet_pton(AF_INET6, addr, v6) != 1) {
			return bad_host;
		}
		len++;
	} else {
		len = strspn(p, name_chars);
	}
	p += len;
	if (len == 0 || len > HOST_NAME_LEN_MAX || (*p != '\0' && *p != ':' && *p != '/')) {
		return bad_host;
	}
	if (*p == ':') {
		len = strcspn(++p, "/");
		if (!number_in(p, len, 1, 65535)) {
			return "PORT: expected a number from 1 to 65535";
		}
		p += len;
	}
	if (*p == '/' && !number_in(p + 1, strlen(p + 1), 0, INT_MAX)) {
		return "DB: expected a number";
	}
	return NULL;
}

int
conf_value_parse_cluster(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	const char *why = NULL;

	if (strncmp(value, "redis://", 8) == 0 && strchr(value, '@') != NULL) {
		/* It may hold a password: never echoed. */
		conf_value_fail(err, errlen,
		                "%s: invalid value: no user or password in the URL: put the "
		                "password in a file named by cluster-password-file",
		                spec->name);
		return -1;
	}
	if (strncmp(value, "redis://", 8) == 0) {
		why = check_redis_url(value + 8);
	} else if (strncmp(value, "file://", 7) == 0) {
		if (value[7] != '/') {
			why = "file:// needs an absolute path: file:///PATH";
		}
	} else {
		why = "expected redis://HOST:PORT[/DB] or file:///ABSOLUTE/PATH";
	}
	if (why != NULL) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': %s", spec->name, value, why);
		return -1;
	}
	return conf_value_parse_text(s, spec, value, err, errlen);
}

bool
conf_value_is_node_name(const char *name)
{
	size_t len = strspn(name, name_chars);

	return len > 0 && len <= CONF_NODE_NAME_MAX && name[len] == '\0';
}

int
conf_value_parse_node_name(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen)
{
	if (!conf_value_is_node_name(value)) {
		conf_value_fail(
		        err, errlen,
		        "%s: invalid value '%s': expected 1 to %d letters, digits, '.', '_' "
		        "or '-'",
		        spec->name, value, CONF_NODE_NAME_MAX);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}
