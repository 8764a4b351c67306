/* acme_parse_directory: the first thing a CA sends, before any account. */
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_directory d;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_directory((const char *)data, size, &d, err, sizeof(err)) == 0) {
		FUZZ_CHECK(http_url_ok(d.new_nonce) && http_url_ok(d.new_account) &&
		           http_url_ok(d.new_order) && http_url_ok(d.revoke_cert));
		FUZZ_CHECK(d.key_change == NULL || http_url_ok(d.key_change));
		FUZZ_CHECK(d.renewal_info == NULL || http_url_ok(d.renewal_info));
		FUZZ_CHECK((d.profiles == NULL) == (d.n_profiles == 0));
		FUZZ_CHECK((d.caa_identities == NULL) == (d.n_caa_identities == 0));
		for (size_t i = 0; i < d.n_profiles; i++) {
			FUZZ_CHECK(d.profiles[i] != NULL);
		}
		for (size_t i = 0; i < d.n_caa_identities; i++) {
			FUZZ_CHECK(d.caa_identities[i] != NULL);
		}
		acme_parse_directory_finish(&d);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&d, sizeof(d)));
	}
	/* Safe twice and on a zeroed struct. */
	acme_parse_directory_finish(&d);
	return 0;
}
