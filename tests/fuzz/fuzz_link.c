/* acme_parse_links: the Link headers (RFC 8288) of a certificate download,
 * whose rel="alternate" targets acmed fetches when a chain choice is asked
 * for (RFC 8555 section 7.4.2). The input is one joined value, as http.c
 * keeps it. Whatever comes in: at most max targets, each an https URL
 * http_url_ok accepts, none twice, each either written between '<' and
 * '>' or a path written there taken on the request's origin. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

#define FUZZ_BASE "https://ca.test:14000/certZ/1"
#define FUZZ_ORIGIN "https://ca.test:14000"

/* Whether url is written in value between '<' and '>'. */
static bool
bracketed(const char *value, const char *url)
{
	size_t n = strlen(url);

	for (const char *at = strstr(value, url); at != NULL; at = strstr(at + 1, url)) {
		if (at > value && at[-1] == '<' && at[n] == '>') {
			return true;
		}
	}
	return false;
}

static void
check(const char *value, const char *rel, size_t max)
{
	char *urls[ACME_MAX_LINKS];
	char err[128];
	int n = acme_parse_links(value, rel, FUZZ_BASE, urls, max, err, sizeof(err));

	if (n < 0) {
		return;
	}
	FUZZ_CHECK((size_t)n <= max && n <= ACME_MAX_LINKS);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(http_url_ok(urls[i]));
		FUZZ_CHECK(bracketed(value, urls[i]) ||
		           (strncmp(urls[i], FUZZ_ORIGIN "/", sizeof(FUZZ_ORIGIN)) == 0 &&
		            bracketed(value, urls[i] + sizeof(FUZZ_ORIGIN) - 1)));
		for (int j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(urls[i], urls[j]) != 0);
		}
	}
	acme_parse_links_free(urls, (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value;

	fuzz_setup();
	value = fuzz_cstring(data, size);
	check(value, "alternate", ACME_MAX_LINKS);
	check(value, "index", 2);
	check(value, "up", 0);
	free(value);
	return 0;
}
