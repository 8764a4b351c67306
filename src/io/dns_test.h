/* What the unit tests of io/dns need beyond dns.h: shorter waits, so that
 * a server that never answers costs a test milliseconds, and a look at the
 * channels kept. */
#ifndef ACMED_DNS_TEST_H
#define ACMED_DNS_TEST_H

#include <stddef.h>

struct dns;
struct ev_loop;

struct dns_timing {
	int try_ms; /* DNS_TRY_MS */
	int tries; /* DNS_TRIES */
	double deadline; /* DNS_DEADLINE */
};

/* dns_create (io/dns.h) with these waits instead of the defaults. */
struct dns *dns_create_timed(struct ev_loop *loop, const char *servers,
                             const struct dns_timing *timing, char **err);

/* How many channels d holds besides the resolvers'. */
size_t dns_test_channels(const struct dns *d);

#endif
