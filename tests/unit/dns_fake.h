/* A scripted DNS server for the tests of io/dns_update: replies to UPDATE
 * messages built with ldns (signed with a key of the test's, or not), and
 * a server on the loop, UDP and TCP on one free port of 127.0.0.1. Every
 * failure here fails the test (cmocka). */
#ifndef ACMED_TEST_DNS_FAKE_H
#define ACMED_TEST_DNS_FAKE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/dns_update_key.h"

/* What a reply is. */
struct dns_fake_reply {
	unsigned rcode;
	const struct dns_update_key *key; /* signs it (with the query's MAC); NULL: unsigned */
	bool tc;
	bool not_response; /* QR clear */
	int id_delta; /* added to the query's id */
	unsigned tsig_error; /* != 0: an unsigned TSIG RR with this error, RFC 8945 5.3.2 */
	bool without_request_mac; /* signed as if it were a request */
};

/* The reply to query (qlen bytes) as r says: a new buffer (free()), its
 * length in *len. */
uint8_t *dns_fake_reply(const uint8_t *query, size_t qlen, const struct dns_fake_reply *r,
                        size_t *len);

/* What the server does with each UDP query. */
enum dns_fake_mode {
	DNS_FAKE_ANSWER, /* reply */
	DNS_FAKE_SILENT, /* nothing */
	DNS_FAKE_TRUNCATE, /* an unsigned TC reply; reply over TCP */
	DNS_FAKE_WRONG_ID_FIRST, /* a signed NOERROR with another id, then reply */
	DNS_FAKE_SPOOF_FIRST, /* a signed NOERROR from another port, then reply */
	DNS_FAKE_TCP_CLOSE, /* TC over UDP; over TCP close without a reply */
	DNS_FAKE_MODE__MAX,
};

struct dns_fake_server {
	struct ev_loop *loop;
	int port;
	enum dns_fake_mode mode;
	struct dns_fake_reply reply;
	const struct dns_update_key *key; /* the queries' TSIG is checked with it */
	int udp_queries, tcp_queries;
	int verified; /* queries whose TSIG verified with key */
	uint8_t last_query[65535]; /* the last query as it came */
	size_t last_len;
	/* inside */
	int udp_fd, tcp_fd, conn_fd;
	uint8_t conn_buf[65537];
	size_t conn_len;
	struct ev_io udp_io, tcp_io, conn_io;
};

/* Starts s (caller's storage) on loop: a UDP and a TCP socket on one free
 * port of 127.0.0.1, answering by mode and reply (set them before the
 * queries come). */
void dns_fake_start(struct dns_fake_server *s, struct ev_loop *loop, enum dns_fake_mode mode,
                    const struct dns_update_key *key);

/* Closes its sockets. Safe on a stopped one. */
void dns_fake_stop(struct dns_fake_server *s);

#endif
