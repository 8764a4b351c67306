/* acme_parse_order: newOrder, order polling and finalize responses. */
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_order o;
	char err[256];
	char msg[512];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_order((const char *)data, size, &o, err, sizeof(err)) == 0) {
		FUZZ_CHECK(o.status > ACME_STATUS_UNKNOWN && o.status < ACME_STATUS__MAX);
		FUZZ_CHECK(o.n_identifiers >= 1 && o.n_identifiers <= ACME_MAX_IDENTIFIERS);
		FUZZ_CHECK(o.n_authorizations <= ACME_MAX_IDENTIFIERS);
		FUZZ_CHECK((o.authorizations == NULL) == (o.n_authorizations == 0));
		for (size_t i = 0; i < o.n_identifiers; i++) {
			FUZZ_CHECK(o.identifiers[i].value != NULL);
			FUZZ_CHECK(o.identifiers[i].value[0] != '\0');
			FUZZ_CHECK(strlen(o.identifiers[i].value) <= 253);
		}
		for (size_t i = 0; i < o.n_authorizations; i++) {
			FUZZ_CHECK(http_url_ok(o.authorizations[i]));
		}
		FUZZ_CHECK(http_url_ok(o.finalize));
		FUZZ_CHECK(o.certificate == NULL || http_url_ok(o.certificate));
		FUZZ_CHECK(o.status != ACME_STATUS_VALID || o.certificate != NULL);
		if (o.error != NULL) {
			acme_problem_format(o.error, o.finalize, msg, sizeof(msg));
		}
		acme_parse_order_finish(&o);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&o, sizeof(o)));
	}
	acme_parse_order_finish(&o);
	return 0;
}
