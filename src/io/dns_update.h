/* RFC 2136 dynamic updates signed with TSIG (RFC 8945) on the event loop:
 * adds or deletes the one TXT record a dns-01 challenge needs at a
 * primary server, without nsupdate. The messages are io/dns_update_msg.h,
 * the key io/dns_update_key.h.
 *
 * The zone is an input: the caller finds it (the SOA lookup of io/dns.h
 * for the record's name) and names the server, an IP address (a name is
 * for the caller to resolve first: dns_update_server_split tells them
 * apart).
 *
 * Transport (RFC 1035 4.2): UDP from a connected socket, so that only
 * datagrams from the server's address and port are read; the same signed
 * message is sent up to DNS_UPDATE_TRIES times, each try waiting its
 * timeout; a reply with the TC bit makes it asked once more over TCP
 * (a two-byte length before each message, RFC 1035 4.2.2) with
 * DNS_UPDATE_TRIES times that timeout for the whole exchange. A datagram
 * that is not the reply (another id, not a response) is ignored; the
 * reply itself ends the update, whatever it says. Nothing blocks, and
 * ldns's own sockets are not used. */
#ifndef ACMED_DNS_UPDATE_H
#define ACMED_DNS_UPDATE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "io/dns_update_key.h"
#include "io/dns_update_msg.h"

#define DNS_UPDATE_TRIES 3
#define DNS_UPDATE_TRY_S 2.0 /* a try's wait when the caller gives 0 */
#define DNS_UPDATE_PORT 53

/* How an update ended. */
enum dns_update_result {
	DNS_UPDATE_OK, /* NOERROR, the reply signed by the key */
	DNS_UPDATE_RCODE, /* the server said no: REFUSED, NOTAUTH, NOTZONE... */
	DNS_UPDATE_TSIG, /* BADSIG, BADKEY, BADTIME, or a reply whose TSIG
	                  * is missing or does not verify */
	DNS_UPDATE_NO_ANSWER, /* no reply after the tries, TCP failed */
	DNS_UPDATE_RESULT__MAX,
};

/* "ok", "rcode", "tsig", "no-answer"; "?" for an unknown value. */
const char *dns_update_result_name(enum dns_update_result r);

/* message: one line, borrowed for the call, starting "dns-update SERVER: "
 * ("dns-update 127.0.0.1:5353: REFUSED for _acme-challenge.a.example (zone
 * a.example): ...", "dns-update [::1]:53: no answer after 3 tries (2 s
 * each)"; on success "dns-update 127.0.0.1:53: added a TXT record of
 * _acme-challenge.a.example (zone a.example)"). */
typedef void (*dns_update_done_fn)(enum dns_update_result result, const char *message, void *arg);

/* A server as the setting dns-update gives it: "IPV4", "IPV4:PORT",
 * "IPV6", "[IPV6]" or "[IPV6]:PORT" (port 1 to 65535, default 53).
 * Fills *ss and *len, and name (namelen bytes) with the spelling used in
 * messages ("127.0.0.1:53", "[::1]:53"). Returns 0, or -1 with a one-line
 * reason in err. */
int dns_update_server_parse(const char *server, struct sockaddr_storage *ss, socklen_t *len,
                            char *name, size_t namelen, char *err, size_t errlen);

/* The longest host name dns_update_server_split gives (RFC 1035 2.3.4). */
#define DNS_UPDATE_HOST_MAX 253

/* A server as the setting dns-update gives it, its host still a name:
 * dns_update_server_parse's forms, or "NAME" and "NAME:PORT" with NAME a
 * host name (LDH labels, RFC 1123; lower cased), for the caller to
 * resolve. Writes the address or name to host (hostlen bytes, at least
 * DNS_UPDATE_HOST_MAX + 1), the port to *port (53 when not given), and
 * whether host is a name to *is_name. Returns 0, or -1 with a one-line
 * reason in err ("dns-update SERVER: ..."). */
int dns_update_server_split(const char *server, char *host, size_t hostlen, int *port,
                            bool *is_name, char *err, size_t errlen);

struct dns_update;

/* Sends the update of zone that op's (add or delete) the TXT record name
 * (the whole owner name, "_acme-challenge.a.example", in zone or equal
 * to it) holding value, signed with key (copied: the caller may destroy
 * it at once), to server (see dns_update_server_parse). try_s is a try's
 * wait in seconds (0: DNS_UPDATE_TRY_S). done is called exactly once,
 * from the loop, never inside this call; then the handle is gone.
 * Returns 0 and the handle in *handle (for dns_update_cancel), or -1
 * with a one-line reason in err ("dns-update SERVER: ..." when the server
 * parsed) and done never called. */
int dns_update_send(struct ev_loop *loop, const char *server, const struct dns_update_key *key,
                    const char *zone, enum dns_update_op op, const char *name, const char *value,
                    double try_s, dns_update_done_fn done, void *arg, struct dns_update **handle,
                    char *err, size_t errlen);

/* Stops an update whose done has not been called: its socket closed,
 * everything freed, done never called. What was sent may still reach the
 * server. Safe on NULL. */
void dns_update_cancel(struct dns_update *u);

#endif
