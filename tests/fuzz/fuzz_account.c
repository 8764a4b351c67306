/* acme_parse_account: newAccount and account-URL responses. */
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_account a;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_account((const char *)data, size, &a, err, sizeof(err)) == 0) {
		FUZZ_CHECK(a.status > ACME_STATUS_UNKNOWN && a.status < ACME_STATUS__MAX);
		FUZZ_CHECK(a.n_contacts <= 16);
		FUZZ_CHECK((a.contacts == NULL) == (a.n_contacts == 0));
		for (size_t i = 0; i < a.n_contacts; i++) {
			FUZZ_CHECK(a.contacts[i] != NULL);
		}
		FUZZ_CHECK(a.orders == NULL || http_url_ok(a.orders));
		acme_parse_account_finish(&a);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&a, sizeof(a)));
	}
	acme_parse_account_finish(&a);
	return 0;
}
