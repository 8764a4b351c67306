/* acme_parse_link: Link headers (RFC 8288), e.g. rel="alternate" chains and
 * rel="up" issuers. Each line of the input is one header value, at most
 * HTTP_MAX_LINKS as http.c keeps. A URL that comes out is https and is one
 * that was between '<' and '>'. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

static void
check(const char *const *values, size_t n, const char *rel)
{
	char *url = acme_parse_link(values, n, rel);
	bool seen = false;

	if (url == NULL) {
		return;
	}
	FUZZ_CHECK(http_url_ok(url));
	for (size_t i = 0; i < n && !seen; i++) {
		const char *at = strstr(values[i], url);

		while (at != NULL && !seen) {
			seen = at > values[i] && at[-1] == '<' && at[strlen(url)] == '>';
			at = strstr(at + 1, url);
		}
	}
	FUZZ_CHECK(seen);
	free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rels[] = {"alternate", "up", "index", "terms-of-service"};
	const char *values[HTTP_MAX_LINKS];
	size_t n = 0;
	char *text;
	char *line;
	char *nl;

	fuzz_setup();
	text = fuzz_cstring(data, size);
	line = text;
	while (n < HTTP_MAX_LINKS) {
		values[n++] = line;
		nl = strchr(line, '\n');
		if (nl == NULL) {
			break;
		}
		*nl = '\0';
		line = nl + 1;
	}
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
		check(values, n, rels[i]);
	}
	check(values, 0, "alternate");
	free(text);
	return 0;
}
