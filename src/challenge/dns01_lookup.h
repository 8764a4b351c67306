/* What dns-01 asks the resolvers before a record is set (issue #18):
 * where _acme-challenge.NAME is delegated by CNAME, and which zone holds
 * a name (the SOA walk), both through a struct dns (io/dns.h) on its
 * loop. Used by the dns-01 responders (challenge_dns01.c,
 * challenge_dnsupdate.c) and the propagation check (dns01_check.c). */
#ifndef ACMED_DNS01_LOOKUP_H
#define ACMED_DNS01_LOOKUP_H

#include "io/dns.h"

/* At most this many CNAME records are followed from the name asked for;
 * a longer chain is refused like a loop (RFC 1034 section 3.6.2 asks
 * resolvers to bound chains; 8 is what io/dns follows for addresses). */
#define DNS01_CNAME_MAX 8

struct dns01_lookup;

/* A lookup's end: rc 0 and name the result (presentation form, no
 * trailing dot, borrowed for the call), or rc -1 and name NULL with a
 * one-line reason in message (borrowed). Called from the loop, exactly
 * once unless cancelled; may cancel nothing but may destroy the dns. */
typedef void (*dns01_lookup_fn)(int rc, const char *name, const char *message, void *arg);

/* Follows the CNAME chain from name (presentation form, a trailing dot
 * ignored) through d's resolvers, one CNAME query a step (chains given in
 * one answer are followed within it): name gets the final target, or name
 * itself when it is no alias (NXDOMAIN and NODATA included). Fails on a
 * loop, a chain longer than DNS01_CNAME_MAX, a resolver that fails
 * (SERVFAIL, REFUSED, no answer). Returns 0 and *handle (may be NULL),
 * or -1 (logged) and fn is never called. */
int dns01_cname_follow(struct dns *d, const char *name, dns01_lookup_fn fn, void *arg,
                       struct dns01_lookup **handle);

/* The zone of name: asks d's resolvers for the SOA of name, then of each
 * parent, until an answer carries an SOA record in its answer section or
 * (NXDOMAIN, NODATA: RFC 2308 section 3) its authority section; that
 * record's owner is the zone. name gets the zone (never the root), or
 * NULL with rc 0 when no answer named one up to the top-level domain (a resolver that
 * answers NOTIMP to SOA queries, as pebble-challtestsrv does); then
 * message says so. rc -1 when a resolver could not be asked or timed
 * out. Returns as dns01_cname_follow. */
int dns01_zone_find(struct dns *d, const char *name, dns01_lookup_fn fn, void *arg,
                    struct dns01_lookup **handle);

/* Forgets a lookup whose fn has not been called: it never will be. Safe
 * on NULL. */
void dns01_lookup_cancel(struct dns01_lookup *l);

/* The name one label up of name ("a.b.c" -> "b.c", "c" -> ""), a pointer
 * into name; NULL for the root "". */
const char *dns01_parent(const char *name);

#endif
