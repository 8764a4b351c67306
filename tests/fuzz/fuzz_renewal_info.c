/* acme_parse_renewal_info: ARI (RFC 9773) responses. */
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_renewal_info r;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_renewal_info((const char *)data, size, &r, err, sizeof(err)) == 0) {
		FUZZ_CHECK(r.start < r.end);
		FUZZ_CHECK(r.explanation_url == NULL || http_url_ok(r.explanation_url));
		acme_parse_renewal_info_finish(&r);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&r, sizeof(r)));
	}
	acme_parse_renewal_info_finish(&r);
	return 0;
}
