/* The propagation check of dns-01 (issue #18): after the TXT record is
 * set, and before the CA is told to validate, every authoritative server
 * of the record's zone must serve it, or the CA may ask one that does not
 * yet and fail the authorization (RFC 8555 section 8.4 has the CA query
 * the DNS; a failed validation counts against the account's limits).
 *
 * The zone's servers: the zone (dns01_zone_find, unless the caller knows
 * it), its NS records, their addresses (dns_resolve_addrs), all through
 * the resolvers. Each is then asked directly for the TXT with RD=0 and
 * must answer it with AA set. When none can be found (a resolver that
 * answers no SOA or NS, as pebble-challtestsrv), the dns-resolver servers
 * are asked directly instead (said once in the log), and their answers
 * need not be authoritative. With dns-propagation-servers, those servers
 * are asked instead of any found (RD=0, AA required as well): a hidden
 * primary, its secondaries, or servers on other ports than 53, which an
 * NS record cannot name.
 *
 * Polls: the first at once, then after DNS01_CHECK_FIRST seconds,
 * doubling up to DNS01_CHECK_MAX (dns01_check_delay), until every server
 * serves the value or timeout_s has passed since the start. */
#ifndef ACMED_DNS01_CHECK_H
#define ACMED_DNS01_CHECK_H

#include <ev.h>

#include "io/dns.h"

#define DNS01_CHECK_FIRST 0.5
#define DNS01_CHECK_MAX 8.0
#define DNS01_CHECK_SERVERS 16 /* the addresses asked at most */

/* The wait after poll n (0: the first poll) before the next:
 * DNS01_CHECK_FIRST * 2^n, at most DNS01_CHECK_MAX. */
double dns01_check_delay(unsigned n);

struct dns01_check;

/* The end: rc 0 when every server serves the value (message NULL), or -1
 * with a one-line reason naming the servers that lag (or why none could
 * be asked), borrowed for the call. Called from the loop exactly once
 * unless cancelled. */
typedef void (*dns01_check_fn)(int rc, const char *message, void *arg);

/* Checks that the TXT record name (presentation form, a trailing dot
 * ignored) holds value on every authoritative server of zone (NULL: found
 * by dns01_zone_find) through d (on loop), for at most timeout_s seconds
 * (> 0). resolvers: the dns-resolver setting (io/dns.h's list, NULL: the
 * system's), asked directly when no authoritative server is found.
 * servers: the dns-propagation-servers setting (io/dns.h's list), the
 * servers asked instead of the zone's (zone then unused); NULL: the
 * zone's. Returns 0 and *handle (may be NULL), or -1 (logged) and fn is
 * never called. */
int dns01_check_start(struct ev_loop *loop, struct dns *d, const char *resolvers,
                      const char *servers, const char *name, const char *zone, const char *value,
                      double timeout_s, dns01_check_fn fn, void *arg, struct dns01_check **handle);

/* Stops a check whose fn has not been called: it never will be. Safe on
 * NULL. */
void dns01_check_cancel(struct dns01_check *c);

#endif
