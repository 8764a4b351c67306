/* acme_parse.c's exports for the tests and fuzz targets only: acmed reads
 * challenges inside authorizations, never alone. */
#ifndef ACMED_ACME_PARSE_TEST_H
#define ACMED_ACME_PARSE_TEST_H

#include <stddef.h>

struct acme_challenge;

/* As the parsers of acme_parse.h, for one challenge object (RFC 8555
 * section 8). */
int acme_parse_challenge(const char *body, size_t len, struct acme_challenge *out, char *err,
                         size_t errlen);

#endif
