/* A tiny DNS server for the unit tests of io/dns, on the test's own loop:
 * UDP and TCP on 127.0.0.1, one free port for both. It answers from a
 * table and writes down every query it got (name, type, RD bit, over TCP
 * or not), so a test can tell which server was asked and how. A name or
 * type not in the table gets NXDOMAIN. Answers name the question's name
 * by a compression pointer (RFC 1035 4.1.4) wherever a record's owner is
 * that name. Every failure here fails the test (cmocka). */
#ifndef ACMED_TEST_DNS_SERVER_H
#define ACMED_TEST_DNS_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_server_mode {
	DNS_SERVER_ANSWER, /* rcode, aa and the records */
	DNS_SERVER_DROP, /* never answers */
	DNS_SERVER_TRUNCATE, /* over UDP an empty answer with TC set; over TCP the answer */
	DNS_SERVER_MALFORMED, /* the answer without its last octet */
};

/* One record. data by type: TXT the text (cut into strings of 255),
 * CNAME and NS a name, A and AAAA an address, SOA "MNAME RNAME SERIAL",
 * CAA "FLAGS TAG VALUE". */
struct dns_server_rr {
	const char *name; /* NULL ends a list */
	uint16_t type;
	const char *data;
};

#define DNS_SERVER_RRS 8

struct dns_server_entry {
	const char *qname; /* compared without case */
	uint16_t qtype;
	enum dns_server_mode mode;
	int rcode;
	bool aa;
	struct dns_server_rr answer[DNS_SERVER_RRS];
	struct dns_server_rr authority[DNS_SERVER_RRS];
};

struct dns_server_query {
	char name[256];
	uint16_t type;
	bool rd;
	bool tcp;
};

#define DNS_SERVER_MAX_QUERIES 64

struct dns_server {
	struct ev_loop *loop;
	int udp;
	int tcp;
	int port;
	char addr[32]; /* "127.0.0.1:PORT", for dns_query and dns_create */
	struct ev_io udp_io;
	struct ev_io tcp_io;
	const struct dns_server_entry *table;
	size_t n;
	struct dns_server_query queries[DNS_SERVER_MAX_QUERIES];
	size_t nqueries;
	struct dns_server_conn *conns;
};

/* Starts s on loop answering from the n entries of table (borrowed). */
void dns_server_start(struct dns_server *s, struct ev_loop *loop,
                      const struct dns_server_entry *table, size_t n);

/* Closes its sockets and connections. Safe on a zeroed or stopped one. */
void dns_server_stop(struct dns_server *s);

/* How many queries for name and type it got, over TCP or over UDP. */
size_t dns_server_count(const struct dns_server *s, const char *name, uint16_t type, bool tcp);

/* A port on 127.0.0.1 where nothing answers DNS (bound and closed). */
int dns_server_dead_port(void);

/* The one wait of the DNS tests: a condition over arg (borrowed). */
typedef bool (*dns_server_cond_fn)(const void *arg);

/* Runs loop one iteration at a time (EVRUN_ONCE) until cond(arg) holds,
 * at most seconds (a watchdog timer of its own, started after
 * ev_now_update and stopped before it returns: nothing is left on loop).
 * Returns whether cond holds; the caller asserts what it expects. */
bool dns_server_run_until(struct ev_loop *loop, double seconds, dns_server_cond_fn cond,
                          const void *arg);

/* dns_server_run_until for a counter: until *n is at least want; the test
 * fails ("still waiting after N s") when it is not within seconds. */
void dns_server_wait_int(struct ev_loop *loop, double seconds, const int *n, int want);
void dns_server_wait_size(struct ev_loop *loop, double seconds, const size_t *n, size_t want);

#endif
