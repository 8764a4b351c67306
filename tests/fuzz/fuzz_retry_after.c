/* acme_parse_retry_after: Retry-After (RFC 9110 section 10.2.3) on 429, 503
 * and polling responses. Whatever the server sends, the wait is bounded:
 * from now to now + max_delay. */
#include <stdlib.h>

#include "acme/acme_parse.h"
#include "fuzz.h"

/* 2023-11-14, and acme_client.c's bound of a week. */
#define FUZZ_NOW ((time_t)1700000000)
#define FUZZ_MAX_DELAY (7L * 24 * 3600)

static void
check(const char *value, time_t now, long max_delay)
{
	time_t when = 0;

	if (acme_parse_retry_after(value, now, max_delay, &when) == 0) {
		FUZZ_CHECK(when >= now && when <= now + max_delay);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value;

	fuzz_setup();
	value = fuzz_cstring(data, size);
	check(value, FUZZ_NOW, FUZZ_MAX_DELAY);
	check(value, 0, FUZZ_MAX_DELAY);
	check(value, FUZZ_NOW, 0);
	free(value);
	return 0;
}
