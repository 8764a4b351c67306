/* redis_url_parse (io/redis.h): the one place the address is spelled out. */
#include "io/redis.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DB_MAX 15 /* databases 0..15: Redis's default "databases 16" */

/* Parses digits at *p into [min, max]. */
static int
parse_number(const char **p, int min, int max, int *out)
{
	const char *s = *p;
	long v = 0;
	int n = 0;

	while (isdigit((unsigned char)s[n]) && n < 6) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || isdigit((unsigned char)s[n]) || v < min || v > max) {
		return -1;
	}
	*out = (int)v;
	*p = s + n;
	return 0;
}

static int
parse_host(const char **p, struct redis_address *a, char *err, size_t errlen)
{
	const char *s = *p;
	unsigned char v6[16];
	size_t n;
	int rc = -1;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		n = close != NULL ? (size_t)(close - s - 1) : 0;
		if (close == NULL || n == 0 || n >= sizeof(a->host)) {
			snprintf(err, errlen,
			         "an IPv6 address goes in brackets: redis://[::1]:6379");
			goto out;
		}
		memcpy(a->host, s + 1, n);
		a->host[n] = '\0';
		if (inet_pton(AF_INET6, a->host, v6) != 1) {
			snprintf(err, errlen, "[%s] is not an IPv6 address", a->host);
			goto out;
		}
		*p = close + 1;
		rc = 0;
		goto out;
	}
	n = strcspn(s, ":/");
	if (n == 0 || n >= sizeof(a->host)) {
		snprintf(err, errlen,
		         n == 0 ? "no host after redis://" : "the host name is too long");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_') {
			snprintf(err, errlen, "the host has a character that is not allowed");
			goto out;
		}
	}
	memcpy(a->host, s, n);
	a->host[n] = '\0';
	*p = s + n;
	rc = 0;
out:
	return rc;
}

int
redis_url_parse(const char *url, struct redis_address *a, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	const char *p;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	a->port = REDIS_DEFAULT_PORT;
	if (url == NULL || strncasecmp(url, scheme, strlen(scheme)) != 0) {
		snprintf(err, errlen,
		         url != NULL && strncasecmp(url, "rediss://", 9) == 0
		                 ? "rediss:// (TLS) is not supported by hiredis 0.14: use "
		                   "redis:// over a private network or a tunnel"
		                 : "the address must be redis://HOST[:PORT][/DB]");
		goto out;
	}
	p = url + strlen(scheme);
	/* The URL is logged: a password in it would be too. */
	if (strchr(p, '@') != NULL) {
		snprintf(err, errlen,
		         "no user or password in the address: put the password in "
		         "cluster-password-file");
		goto out;
	}
	if (parse_host(&p, a, err, errlen) < 0) {
		goto out;
	}
	if (*p == ':') {
		p++;
		if (parse_number(&p, 1, 65535, &a->port) < 0) {
			snprintf(err, errlen, "the port must be a number from 1 to 65535");
			goto out;
		}
	}
	if (*p == '/') {
		p++;
		if (*p != '\0' && parse_number(&p, 0, REDIS_DB_MAX, &a->db) < 0) {
			snprintf(err, errlen, "the database must be a number from 0 to %d",
			         REDIS_DB_MAX);
			goto out;
		}
	}
	if (*p != '\0') {
		snprintf(err, errlen, "unexpected text after redis://HOST[:PORT][/DB]");
		goto out;
	}
	rc = 0;
out:
	return rc;
}
