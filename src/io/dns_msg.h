/* DNS messages (RFC 1035 section 4) on the wire: a response parsed into a
 * small owned structure, and a query built. c-ares only carries the bytes
 * (io/dns.h); what a server says is read here, and only here, with every
 * length checked against the buffer: this is the parser the fuzz target
 * dns_msg feeds (tests/fuzz/fuzz_dns_msg.c).
 *
 * Names, both owners and those inside record data, are in presentation
 * form: labels joined by '.', lower case (ASCII letters only: RFC 4343
 * makes names case-insensitive), without the trailing dot; the root is "".
 * An octet of a label that is not printable ASCII, or is '.' or '\\', is
 * written "\\DDD" (three decimal digits, RFC 1035 section 5.1), so a name
 * read back is never ambiguous and holds no control byte. */
#ifndef ACMED_DNS_MSG_H
#define ACMED_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The record types acmed reads (IANA "Resource Record (RR) TYPEs"). Any
 * other type is kept as its number, without data. */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_CAA = 257,
};

/* RCODEs of the header (RFC 1035 section 4.1.1, RFC 2136 section 2.2). */
enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

#define DNS_CLASS_IN 1

/* The longest name in presentation form: 255 octets on the wire, each
 * written at most as "\\DDD", plus the NUL. */
#define DNS_NAME_TEXT_MAX (255 * 4 + 1)

/* The longest query dns_msg_query_build makes: header, a name of 255
 * octets, type and class. */
#define DNS_QUERY_MAX (12 + 255 + 4)

/* The longest message read: what fits in a TCP frame (RFC 1035 4.2.2). */
#define DNS_MSG_MAX 65535

/* At most this many compression pointers are followed in one name; with
 * pointers that must point backwards a loop is impossible anyway, this
 * bounds the work a message can make (RFC 1035 section 4.1.4). */
#define DNS_MSG_MAX_POINTERS 64

/* One resource record of the answer or authority section. */
struct dns_rr {
	char *name; /* owner */
	uint16_t type;
	uint16_t rclass;
	/* RFC 2181 section 8: a TTL with its top bit set is read as 0. */
	uint32_t ttl;
	union {
		/* TXT: the character-strings joined without separator (as RFC
		 * 7208 section 3.3 reads an SPF record; a dns-01 value is one
		 * string), len bytes then a NUL (a string may hold a NUL). */
		struct {
			char *data;
			size_t len;
		} txt;
		/* CNAME and NS: the name the record points at. */
		char *target;
		/* A and AAAA: the address as inet_ntop writes it. */
		char addr[46];
		/* SOA: the primary server, the mailbox, the zone's serial. */
		struct {
			char *mname;
			char *rname;
			uint32_t serial;
		} soa;
		/* CAA (RFC 8659 section 4.1): the flags octet (bit 128 is
		 * Issuer Critical), the tag (1 to 255 letters and digits, as
		 * sent: tags compare case-insensitively) and the value, len
		 * bytes then a NUL. */
		struct {
			uint8_t flags;
			char *tag;
			unsigned char *value;
			size_t len;
		} caa;
	} u;
};

/* A message as parsed. The question is the first of the question section
 * (qname NULL when it has none). Additional records are not read. */
struct dns_msg {
	uint16_t id;
	bool qr; /* a response */
	uint8_t opcode;
	bool aa; /* authoritative answer */
	bool tc; /* truncated */
	bool rd; /* recursion desired */
	bool ra; /* recursion available */
	uint8_t rcode; /* the header's four bits (enum dns_rcode) */
	char *qname;
	uint16_t qtype;
	uint16_t qclass;
	struct dns_rr *answer;
	size_t n_answer;
	struct dns_rr *authority;
	size_t n_authority;
};

/* Parses the len bytes of buf as a DNS message. On success *out is a new
 * message (dns_msg_free) and 0 is returned; else -1 with *out NULL and a
 * one-line reason in err ("truncated answer record 2", "compression
 * pointer does not point backwards" ...). Malformed data of a known type
 * (an A record of 5 octets, a TXT string running past its record, a CAA
 * tag of length 0 or with other than letters and digits, a name in SOA
 * data not ending at the record's end) fails the whole message. Never
 * reads outside buf, whatever the input. */
int dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg **out, char *err, size_t errlen);

/* Frees m and everything in it. Safe on NULL. */
void dns_msg_free(struct dns_msg *m);

/* Writes a query for name (presentation form, an optional trailing dot;
 * letters, digits and "-_*" between the dots, at most 63 octets a label and
 * 253 in all) of type in class IN into buf (cap bytes, DNS_QUERY_MAX is
 * always enough) with the RD bit set as rd says (false: ask an
 * authoritative server about its own data, RFC 1035 section 4.1.1) and no
 * EDNS. Returns the length, or -1 with a reason in err (name refused, cap
 * too small). */
int dns_msg_query_build(const char *name, uint16_t type, bool rd, uint16_t id, uint8_t *buf,
                        size_t cap, char *err, size_t errlen);

/* "TXT", "CAA" ... for the types above, else "TYPE<n>" written into buf
 * (at least 12 bytes). Returns buf or a static string. */
const char *dns_type_name(uint16_t type, char *buf, size_t len);

/* The type named (case-insensitive: "txt", "CAA", "TYPE257"), or 0. */
uint16_t dns_type_parse(const char *name);

/* "NOERROR", "NXDOMAIN" ... or "RCODE<n>" written into buf (at least 12
 * bytes). */
const char *dns_rcode_name(int rcode, char *buf, size_t len);

/* Whether two names in presentation form are the same name: a trailing
 * dot ignored, ASCII letters compared without case (RFC 4343). */
bool dns_name_equal(const char *a, const char *b);

#endif
