/* The messages of a dynamic update (RFC 2136) signed with TSIG (RFC 8945):
 * the request that adds or deletes one TXT record, built and signed with
 * ldns, and what its reply says. No I/O: io/dns_update.h sends them. */
#ifndef ACMED_DNS_UPDATE_MSG_H
#define ACMED_DNS_UPDATE_MSG_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "io/dns_update_key.h"

enum dns_update_op {
	DNS_UPDATE_ADD, /* NAME 60 IN TXT "VALUE" */
	DNS_UPDATE_DEL, /* NAME 0 NONE TXT "VALUE": that record only */
	DNS_UPDATE_OP__MAX,
};

/* The TTL of an added record: short, the record lives for a validation. */
#define DNS_UPDATE_TTL 60

/* A TXT character-string holds at most 255 octets (RFC 1035 3.3). */
#define DNS_UPDATE_VALUE_MAX 255

/* A signed request and what its reply is checked against. */
struct dns_update_msg {
	uint8_t *wire; /* the whole message, TSIG included */
	size_t len;
	uint16_t id;
	ldns_rdf *mac; /* the request's MAC: a reply's TSIG covers it */
	enum dns_update_op op;
	/* For messages, as given without a final dot. */
	char zone[256];
	char name[256];
	char key_name[256];
};

/* Builds into m (caller's storage) the UPDATE (opcode 5) of zone with
 * message id id: no prerequisites, one update RR for op (RFC 2136 2.5.1
 * add to an RRset, 2.5.4 delete an RR from an RRset: class NONE, TTL 0),
 * signed with key (TSIG, fudge 300). name must be zone or under it;
 * value is 1 to DNS_UPDATE_VALUE_MAX octets. Returns 0, or -1 with a
 * one-line reason in err (m then needs no dns_update_msg_finish, though
 * it is safe). */
int dns_update_msg_build(struct dns_update_msg *m, const struct dns_update_key *key,
                         const char *zone, enum dns_update_op op, const char *name,
                         const char *value, uint16_t id, char *err, size_t errlen);

/* Frees what m holds. Safe on a zeroed or finished m. */
void dns_update_msg_finish(struct dns_update_msg *m);

/* What a datagram or TCP message that came back says. */
enum dns_update_msg_reply {
	DNS_UPDATE_MSG_NOT_OURS, /* not a reply to m: not DNS, not a response,
	                          * another id or opcode */
	DNS_UPDATE_MSG_TRUNCATED, /* TC: ask again over TCP */
	DNS_UPDATE_MSG_DONE, /* NOERROR, signed by the key */
	DNS_UPDATE_MSG_RCODE, /* the server refused: REFUSED, NOTAUTH... */
	DNS_UPDATE_MSG_TSIG, /* a TSIG error from the server (BADSIG, BADKEY,
	                      * BADTIME), or a reply whose TSIG is missing or
	                      * does not verify */
	DNS_UPDATE_MSG_REPLY__MAX,
};

/* Reads the reply wire (len bytes) to m, its TSIG checked with key at
 * time now. Returns the verdict; why (whylen bytes) says it in one line
 * for all but NOT_OURS and TRUNCATED: "REFUSED for NAME (zone ZONE): ...",
 * "TSIG BADSIG (key \"acmed\"): ...", "the reply's MAC does not verify
 * ...". */
enum dns_update_msg_reply dns_update_msg_check(const struct dns_update_msg *m,
                                               const struct dns_update_key *key,
                                               const uint8_t *wire, size_t len, time_t now,
                                               char *why, size_t whylen);

/* The mnemonic of a DNS RCODE (RFC 1035, RFC 2136 section 2.2) or TSIG
 * error (RFC 8945 section 3): "NOERROR", "REFUSED", "NOTAUTH", "BADSIG"...;
 * for an unknown one buf (len bytes) gets "RCODE 12" and is returned. */
const char *dns_update_msg_rcode_name(unsigned rcode, char *buf, size_t len);

#endif
