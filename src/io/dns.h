/* DNS lookups on the loop, for dns-01 (issue #18): whether a record is
 * seen by every authoritative server of a zone (propagation), where
 * _acme-challenge is delegated (CNAME), what CAA says before an order.
 *
 * c-ares 1.18 is the transport only: each query is built by
 * dns_msg_query_build (RD set or not), sent with ares_send, and its answer
 * read by dns_msg_parse (io/dns_msg.h). c-ares's sockets are ev_io
 * watchers and its timeout one ev_timer per channel, as io/http_multi.c
 * drives libcurl. A channel is the resolvers' (resolv.conf's, or those
 * configured with `dns-resolver`), or one per server asked directly, made
 * at its first query and kept until dns_destroy (at most DNS_MAX_CHANNELS,
 * io/dns_channel.h: an idle one is dropped for a new one beyond that).
 *
 * Timing: each server is tried DNS_TRIES times, the first try waiting
 * DNS_TRY_MS; c-ares doubles the wait after each round over a channel's
 * servers (2 s, 4 s, 8 s for one server). Whatever the rounds, a query
 * ends after DNS_DEADLINE seconds (DNS_STATUS_TIMEOUT). A UDP answer with
 * TC set (or longer than 512 octets) is asked again over TCP (RFC 7766).
 * No EDNS: acmed's answers are small, and TCP carries the others.
 *
 * Every answer a server gives is passed up, whatever its RCODE: SERVFAIL,
 * REFUSED and NXDOMAIN come as DNS_STATUS_OK with that rcode (c-ares's
 * ARES_FLAG_NOCHECKRESP), including the resolvers': the caller decides
 * whether to ask again. */
#ifndef ACMED_DNS_H
#define ACMED_DNS_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "io/dns_msg.h"

#define DNS_TRY_MS 2000
#define DNS_TRIES 3
#define DNS_DEADLINE 15.0

enum dns_status {
	DNS_STATUS_OK, /* an answer: rcode is its RCODE, msg is it */
	DNS_STATUS_TIMEOUT, /* no answer in time from any server tried */
	DNS_STATUS_UNREACHABLE, /* the servers refused (ICMP, TCP RST) */
	DNS_STATUS_MALFORMED, /* an answer came that dns_msg_parse refused */
	DNS_STATUS_ERROR, /* out of memory, or another c-ares failure */
	DNS_STATUS__MAX,
};

/* "ok", "timeout", "unreachable", "malformed answer", "error". */
const char *dns_status_name(enum dns_status status);

/* dns_query's flags. */
#define DNS_NO_RECURSE 0x1 /* RD=0: ask an authoritative server directly */

struct dns;
struct dns_query;

/* A query's end: status, the answer's RCODE (-1 unless DNS_STATUS_OK) and
 * the answer (NULL unless DNS_STATUS_OK; borrowed for the call). Always
 * called from the loop, never from inside a dns_* call, exactly once
 * unless the query was cancelled or its dns destroyed first. May call any
 * dns_* function, dns_destroy included. */
typedef void (*dns_query_fn)(enum dns_status status, int rcode, const struct dns_msg *msg,
                             void *arg);

/* A new resolver on loop. servers: NULL for those of /etc/resolv.conf, or
 * a list of at most DNS_MAX_SERVERS (8) "IP[:PORT]" separated by spaces or
 * commas, each an IPv4 address, an IPv6 address in brackets ("[::1]:53")
 * or alone ("::1"), the port 53 when not given. Returns NULL with *err a
 * new one-line reason (free()) naming the `dns-resolver` key when servers
 * is wrong, or when c-ares cannot start. */
struct dns *dns_create(struct ev_loop *loop, const char *servers, char **err);

/* Whether servers is a list dns_create takes (NULL is: the system's).
 * Returns 0, or -1 with the reason in err (without the key's name). */
int dns_servers_check(const char *servers, char *err, size_t errlen);

/* Stops everything: queries in flight are dropped without their
 * callbacks, every channel and socket closed. Safe on NULL and from
 * inside a callback of d. */
void dns_destroy(struct dns *d);

/* Asks for the records of name (presentation form, dns_msg_query_build's
 * rules) of type (DNS_TYPE_*, any type goes) in class IN. flags: 0 or
 * DNS_NO_RECURSE. server: NULL for the resolvers, or "IP[:PORT]" (one
 * server of dns_create's forms) to ask that server and no other. fn gets
 * the end (see dns_query_fn). *handle (may be NULL) is the query, for
 * dns_cancel, until fn is called. Returns 0, or -1 (logged: a name or
 * server refused, out of memory) and fn is never called. */
int dns_query(struct dns *d, const char *name, uint16_t type, int flags, const char *server,
              dns_query_fn fn, void *arg, struct dns_query **handle);

/* Forgets a query whose callback has not been called yet: it never will
 * be. Safe on NULL. */
void dns_cancel(struct dns_query *q);

/* The addresses a name resolves to, A then AAAA. */
#define DNS_ADDRS_MAX 32
struct dns_addrs {
	size_t n;
	char addr[DNS_ADDRS_MAX][46]; /* as inet_ntop writes them */
};

struct dns_addrs_query;

/* The end of dns_resolve_addrs: status and rcode are DNS_STATUS_OK and
 * NOERROR when either query had a NOERROR answer (addrs may then be empty:
 * the name has none), else the A query's (NXDOMAIN, SERVFAIL, a timeout).
 * addrs is never NULL; borrowed for the call. Same discipline as
 * dns_query_fn. */
typedef void (*dns_addrs_fn)(enum dns_status status, int rcode, const struct dns_addrs *addrs,
                             void *arg);

/* Asks the resolvers for name's A and AAAA records (an NS record's host,
 * to ask it directly), both at once. The addresses kept are those of name
 * and of the names its answers' CNAME records lead to (at most 8 steps),
 * without repeats, at most DNS_ADDRS_MAX. Returns 0, or -1 (logged) and
 * fn is never called. */
int dns_resolve_addrs(struct dns *d, const char *name, dns_addrs_fn fn, void *arg,
                      struct dns_addrs_query **handle);

/* As dns_cancel. Safe on NULL. */
void dns_addrs_cancel(struct dns_addrs_query *q);

#endif
