/* Test-only seam of dns01_check.c: the unit tests' DNS servers listen on
 * 127.0.0.1 at free ports, while NS records lead to addresses only (port
 * 53). Not for other code. */
#ifndef ACMED_DNS01_CHECK_TEST_H
#define ACMED_DNS01_CHECK_TEST_H

#include <stddef.h>

/* From now on, an authoritative server found at address from[i] is asked
 * at to[i] ("127.0.0.1:PORT") instead; n pairs (borrowed, static), n 0
 * for none. */
void dns01_check_test_redirect(const char *const *from, const char *const *to, size_t n);

#endif
