/* acme_problem_parse and what is done with a problem next: the name test and
 * the one-line message (acme_problem_format), into buffers of several sizes. */
#include <string.h>

#include "acme/acme_parse.h"
#include "fuzz.h"

/* The message is one line without control characters, NUL-terminated
 * within len. */
static void
check_format(const struct acme_problem *p, const char *url, size_t len)
{
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	acme_problem_format(p, url, buf, len);
	if (len == 0) {
		FUZZ_CHECK(buf[0] == 'x');
		return;
	}
	FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
	FUZZ_CHECK(buf[len] == 'x');
	for (const char *c = buf; *c != '\0'; c++) {
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = {0, 1, 2, 17, 256, 4095};
	struct acme_problem p;
	char err[256];

	fuzz_setup();
	/* No NUL: a failure that leaves err unset shows. */
	memset(err, 'x', sizeof(err));
	if (acme_problem_parse((const char *)data, size, &p, err, sizeof(err)) == 0) {
		FUZZ_CHECK(p.status == 0 || (p.status >= 100 && p.status <= 599));
		FUZZ_CHECK(p.n_subproblems <= ACME_MAX_SUBPROBLEMS);
		FUZZ_CHECK((p.subproblems == NULL) == (p.n_subproblems == 0));
		for (size_t i = 0; i < p.n_subproblems; i++) {
			/* Subproblems do not nest. */
			FUZZ_CHECK(p.subproblems[i].n_subproblems == 0);
		}
		(void)acme_problem_is(&p, "badNonce");
		(void)acme_problem_is(&p, "userActionRequired");
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			check_format(&p, NULL, sizes[i]);
			check_format(&p, "https://ca.example/acme/order/1", sizes[i]);
		}
		acme_problem_finish(&p);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(fuzz_is_zero(&p, sizeof(p)));
	}
	acme_problem_finish(&p);
	return 0;
}
