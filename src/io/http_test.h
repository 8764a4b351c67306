/* What the unit tests look at inside io/http.c; not for the daemon. */
#ifndef ACMED_HTTP_TEST_H
#define ACMED_HTTP_TEST_H

#include <stddef.h>

struct http;

/* Number of requests in flight; 0 for NULL. */
size_t http_pending(const struct http *http);

#endif
