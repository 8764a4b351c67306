/* acme_client.c's exports for the tests only. */
#ifndef ACMED_ACME_CLIENT_TEST_H
#define ACMED_ACME_CLIENT_TEST_H

#include <stddef.h>

struct acme_client;

/* Number of nonces in the pool. */
size_t acme_client_nonces(const struct acme_client *client);

#endif
