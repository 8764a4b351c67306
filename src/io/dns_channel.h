/* The c-ares channels under io/dns.h, as io/http_multi.c is the libcurl
 * plumbing under io/http.c: each channel's sockets are ev_io watchers
 * (ARES_OPT_SOCK_STATE_CB) and its timeout one ev_timer (ares_timeout),
 * re-armed after each time c-ares acts. One channel for the resolvers
 * (resolv.conf's, or a `dns-resolver` list), and one per server asked
 * directly, made at its first use and kept (at most DNS_MAX_CHANNELS: the
 * least recently used idle one makes room). What a query is and what its
 * answer means is io/dns.c's. */
#ifndef ACMED_DNS_CHANNEL_H
#define ACMED_DNS_CHANNEL_H

#include <ares.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "base/list.h"
#include "base/strmap.h"

#define DNS_MAX_CHANNELS 256
/* At most this many servers in a `dns-resolver` list. */
#define DNS_MAX_SERVERS 8

struct dns_channel;

/* Caller storage. */
struct dns_channels {
	struct ev_loop *loop;
	int try_ms; /* ARES_OPT_TIMEOUTMS */
	int tries; /* ARES_OPT_TRIES */
	struct dns_channel *resolvers;
	struct list list; /* one server each, least recently used first */
	struct strmap by_key; /* the same by "IP:PORT" / "[IPv6]:PORT" */
	size_t n;
};

/* The resolvers' channel on loop: servers NULL for resolv.conf's, or
 * dns_create's list (io/dns.h). Returns 0, or -1 with a one-line reason in
 * err ("dns-resolver: ..." for a bad list); dns_channels_finish is due
 * either way. */
int dns_channels_init(struct dns_channels *c, struct ev_loop *loop, const char *servers, int try_ms,
                      int tries, char *err, size_t errlen);

/* Destroys every channel: c-ares calls back each query it still holds with
 * ARES_EDESTRUCTION, then closes its sockets. Safe on zeroed storage and
 * twice. */
void dns_channels_finish(struct dns_channels *c);

/* The resolvers' channel. Borrowed. */
/* Whether servers is a list dns_channels_init takes (NULL is). 0, or -1
 * with the reason in err. */
int dns_channels_check(const char *servers, char *err, size_t errlen);

struct dns_channel *dns_channels_resolvers(struct dns_channels *c);

/* The channel of server ("IP[:PORT]", one of dns_create's forms), made at
 * its first use. Borrowed, until dns_channels_finish or until it is idle
 * and the cap needs room. NULL (logged) for a bad server, when out of
 * memory, or when DNS_MAX_CHANNELS channels all hold queries. */
struct dns_channel *dns_channels_get(struct dns_channels *c, const char *server);

/* ares_send of the len bytes of query (copied) on ch; cb may be called
 * from inside. Each send is matched by one dns_channel_done, from cb:
 * until then ch holds a query and is not dropped. */
void dns_channel_send(struct dns_channel *ch, const uint8_t *query, size_t len, ares_callback cb,
                      void *arg);
void dns_channel_done(struct dns_channel *ch);

/* "IP:PORT", or "" for the resolvers'. */
const char *dns_channel_key(const struct dns_channel *ch);

#endif
