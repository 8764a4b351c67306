/* acme_parse_authz: authorizations with their challenges. */
#include <string.h>

#include "acme/acme_parse.h"
#include "base/b64.h"
#include "fuzz.h"
#include "io/http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_authz a;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_parse_authz((const char *)data, size, &a, err, sizeof(err)) == 0) {
		FUZZ_CHECK(a.status > ACME_STATUS_UNKNOWN && a.status < ACME_STATUS__MAX);
		FUZZ_CHECK(a.identifier.value != NULL && a.identifier.value[0] != '\0');
		FUZZ_CHECK(a.n_challenges <= ACME_MAX_CHALLENGES);
		FUZZ_CHECK((a.challenges == NULL) == (a.n_challenges == 0));
		for (size_t i = 0; i < a.n_challenges; i++) {
			const struct acme_challenge *c = &a.challenges[i];

			FUZZ_CHECK(http_url_ok(c->url));
			FUZZ_CHECK(c->type == CHALLENGE_TYPE_UNKNOWN || c->token != NULL);
			FUZZ_CHECK(c->token == NULL || b64_is_token(c->token, ACME_MAX_TOKEN));
		}
		acme_parse_authz_finish(&a);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&a, sizeof(a)));
	}
	acme_parse_authz_finish(&a);
	return 0;
}
