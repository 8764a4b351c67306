/* b64_is_token, the check on every Replay-Nonce value (at most 256
 * characters, acme_client.c) and challenge token (ACME_MAX_TOKEN), against
 * an independent reading of RFC 8555 section 6.5.1 and 8.3: 1 to max
 * characters of the base64url alphabet. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_parse.h"
#include "base/b64.h"
#include "fuzz.h"

static bool
reference(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max) {
		return false;
	}
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {0, 1, 22, ACME_MAX_TOKEN, 256};
	char *s;

	fuzz_setup();
	s = fuzz_cstring(data, size);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		FUZZ_CHECK(b64_is_token(s, maxes[i]) == reference(s, maxes[i]));
	}
	free(s);
	return 0;
}
