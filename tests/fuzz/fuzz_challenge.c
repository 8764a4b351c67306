/* acme_parse_challenge: challenge responses. A token that is not base64url
 * must never come out: it would reach a path, a URL and a hook. */
#include <string.h>

#include "acme/acme_parse.h"
#include "base/b64.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_challenge c;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_challenge((const char *)data, size, &c, err, sizeof(err)) == 0) {
		FUZZ_CHECK(c.type < CHALLENGE_TYPE__MAX);
		FUZZ_CHECK(c.status > ACME_STATUS_UNKNOWN && c.status < ACME_STATUS__MAX);
		FUZZ_CHECK(http_url_ok(c.url));
		FUZZ_CHECK(c.type == CHALLENGE_TYPE_UNKNOWN || c.token != NULL);
		if (c.token != NULL) {
			FUZZ_CHECK(b64_is_token(c.token, ACME_MAX_TOKEN));
			FUZZ_CHECK(strchr(c.token, '/') == NULL && strchr(c.token, '.') == NULL);
		}
		acme_parse_challenge_finish(&c);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&c, sizeof(c)));
	}
	acme_parse_challenge_finish(&c);
	return 0;
}
