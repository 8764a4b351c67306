#include "io/dns_msg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A message written by hand, byte by byte. */
struct mb {
	uint8_t b[2048];
	size_t n;
};

static void
raw(struct mb *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
u8(struct mb *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	raw(m, &b, 1);
}

static void
u16(struct mb *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

static void
u32(struct mb *m, uint32_t v)
{
	u16(m, v >> 16);
	u16(m, v & 0xffff);
}

/* A name in wire form without compression ("" the root). */
static void
name(struct mb *m, const char *text)
{
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, ".");

		u8(m, (unsigned)n);
		raw(m, p, n);
		p += n + (p[n] == '.');
	}
	u8(m, 0);
}

static void
header(struct mb *m, unsigned flags, unsigned qd, unsigned an, unsigned ns)
{
	m->n = 0;
	u16(m, 0xbeef);
	u16(m, flags);
	u16(m, qd);
	u16(m, an);
	u16(m, ns);
	u16(m, 0);
}

/* A question; its name at offset 12 when it is the first. */
static void
question(struct mb *m, const char *qname, unsigned type)
{
	name(m, qname);
	u16(m, type);
	u16(m, DNS_CLASS_IN);
}

/* A record's fixed part after its owner; returns where RDLENGTH is, for
 * rr_end. */
static size_t
rr_begin(struct mb *m, unsigned type, uint32_t ttl)
{
	size_t at;

	u16(m, type);
	u16(m, DNS_CLASS_IN);
	u32(m, ttl);
	at = m->n;
	u16(m, 0);
	return at;
}

static void
rr_end(struct mb *m, size_t at)
{
	size_t len = m->n - at - 2;

	m->b[at] = (uint8_t)(len >> 8);
	m->b[at + 1] = (uint8_t)len;
}

static struct dns_msg *
parse_ok(const struct mb *m)
{
	struct dns_msg *msg = NULL;
	char err[256] = "";

	if (dns_msg_parse(m->b, m->n, &msg, err, sizeof(err)) < 0) {
		fail_msg("parse failed: %s", err);
	}
	assert_non_null(msg);
	return msg;
}

/* Parsing fails with a reason that contains why. */
static void
parse_fails(const struct mb *m, const char *why)
{
	struct dns_msg *msg = (struct dns_msg *)m;
	char err[256] = "";

	assert_int_equal(dns_msg_parse(m->b, m->n, &msg, err, sizeof(err)), -1);
	assert_null(msg);
	if (strstr(err, why) == NULL) {
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
	}
}

static void
test_query_build(void **state)
{
	static const uint8_t want[] = {
	        0x12, 0x34, 0x00, 0x00, 0,   1,   0,   0,   0,   0,   0,   0,   15,  '_', 'a',
	        'c',  'm',  'e',  '-',  'c', 'h', 'a', 'l', 'l', 'e', 'n', 'g', 'e', 7,   'E',
	        'x',  'a',  'm',  'p',  'l', 'e', 3,   'o', 'r', 'g', 0,   0,   16,  0,   1,
	};
	uint8_t buf[DNS_QUERY_MAX];
	char err[256];
	int len;

	len = dns_msg_query_build("_acme-challenge.Example.org.", DNS_TYPE_TXT, false, 0x1234, buf,
	                          sizeof(buf), err, sizeof(err));
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* The same without the trailing dot, RD set. */
	len = dns_msg_query_build("_acme-challenge.Example.org", DNS_TYPE_TXT, true, 0x1234, buf,
	                          sizeof(buf), err, sizeof(err));
	assert_int_equal(len, sizeof(want));
	assert_int_equal(buf[2], 0x01);
	assert_memory_equal(buf + 3, want + 3, sizeof(want) - 3);
	/* The root. */
	len = dns_msg_query_build(".", DNS_TYPE_NS, false, 1, buf, sizeof(buf), err, sizeof(err));
	assert_int_equal(len, 12 + 1 + 4);
	assert_int_equal(buf[12], 0);
}

static void
test_query_build_refuses(void **state)
{
	char label64[80], long_name[300];
	uint8_t buf[DNS_QUERY_MAX];
	char err[256];
	const char *bad[] = {"a..b", "a b", "a\\.b", ".a", "a.b..", "é.org", label64, long_name};

	memset(label64, 'a', 64);
	label64[64] = '\0';
	for (size_t i = 0; i < 254; i += 2) {
		long_name[i] = 'a';
		long_name[i + 1] = '.';
	}
	long_name[253] = 'a';
	long_name[254] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dns_msg_query_build(bad[i], DNS_TYPE_A, true, 0, buf, sizeof(buf),
		                                     err, sizeof(err)),
		                 -1);
		assert_true(err[0] != '\0');
	}
	/* 253 characters is the most. */
	long_name[253] = '\0';
	long_name[252] = 'a';
	assert_true(dns_msg_query_build(long_name, DNS_TYPE_A, true, 0, buf, sizeof(buf), err,
	                                sizeof(err)) > 0);
	/* No room. */
	assert_int_equal(
	        dns_msg_query_build("example.org", DNS_TYPE_A, true, 0, buf, 20, err, sizeof(err)),
	        -1);
}

/* Each type in the answer section, the header's flags, and an authority
 * SOA. */
static void
test_parse_types(void **state)
{
	struct mb m;
	struct dns_msg *msg;
	size_t at;
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	/* QR AA TC RD RA, NXDOMAIN would be 3: here REFUSED for the bits. */
	header(&m, 0x8000 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 5, 1, 8, 1);
	question(&m, "_acme-challenge.Example.ORG", DNS_TYPE_TXT);
	/* TXT of two strings, the owner by a pointer to the question. */
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_TXT, 300);
	u8(&m, 3);
	raw(&m, "abc", 3);
	u8(&m, 2);
	raw(&m, "de", 2);
	rr_end(&m, at);
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_CNAME, 0x80000000u); /* RFC 2181 8: read as 0 */
	name(&m, "Target.Example.net");
	rr_end(&m, at);
	name(&m, "example.org");
	at = rr_begin(&m, DNS_TYPE_NS, 1);
	name(&m, "ns1.example.org");
	rr_end(&m, at);
	name(&m, "example.org");
	at = rr_begin(&m, DNS_TYPE_CAA, 1);
	u8(&m, 128);
	u8(&m, 5);
	raw(&m, "issue", 5);
	raw(&m, "ca.example; x=1", 15);
	rr_end(&m, at);
	name(&m, "a.example.org");
	at = rr_begin(&m, DNS_TYPE_A, 1);
	raw(&m, "\xc0\x00\x02\x01", 4);
	rr_end(&m, at);
	name(&m, "a.example.org");
	at = rr_begin(&m, DNS_TYPE_AAAA, 1);
	raw(&m, v6, 16);
	rr_end(&m, at);
	name(&m, "example.org");
	at = rr_begin(&m, 15, 1); /* MX: kept as its type */
	u16(&m, 10);
	name(&m, "mx.example.org");
	rr_end(&m, at);
	/* An empty TXT: no strings at all. */
	name(&m, "empty.example.org");
	at = rr_begin(&m, DNS_TYPE_TXT, 1);
	rr_end(&m, at);
	name(&m, "Example.org");
	at = rr_begin(&m, DNS_TYPE_SOA, 3600);
	name(&m, "ns1.example.org");
	name(&m, "hostmaster.example.org");
	u32(&m, 2026120301);
	u32(&m, 1);
	u32(&m, 2);
	u32(&m, 3);
	u32(&m, 4);
	rr_end(&m, at);

	msg = parse_ok(&m);
	assert_int_equal(msg->id, 0xbeef);
	assert_true(msg->qr && msg->aa && msg->tc && msg->rd && msg->ra);
	assert_int_equal(msg->rcode, DNS_RCODE_REFUSED);
	assert_string_equal(msg->qname, "_acme-challenge.example.org");
	assert_int_equal(msg->qtype, DNS_TYPE_TXT);
	assert_int_equal(msg->n_answer, 8);
	assert_int_equal(msg->n_authority, 1);

	assert_string_equal(msg->answer[0].name, "_acme-challenge.example.org");
	assert_int_equal(msg->answer[0].type, DNS_TYPE_TXT);
	assert_int_equal(msg->answer[0].ttl, 300);
	assert_int_equal(msg->answer[0].u.txt.len, 5);
	assert_string_equal(msg->answer[0].u.txt.data, "abcde");
	assert_int_equal(msg->answer[1].ttl, 0);
	assert_string_equal(msg->answer[1].u.target, "target.example.net");
	assert_string_equal(msg->answer[2].u.target, "ns1.example.org");
	assert_int_equal(msg->answer[3].u.caa.flags, 128);
	assert_string_equal(msg->answer[3].u.caa.tag, "issue");
	assert_int_equal(msg->answer[3].u.caa.len, 15);
	assert_memory_equal(msg->answer[3].u.caa.value, "ca.example; x=1", 16);
	assert_string_equal(msg->answer[4].u.addr, "192.0.2.1");
	assert_string_equal(msg->answer[5].u.addr, "2001:db8::1");
	assert_int_equal(msg->answer[6].type, 15);
	assert_int_equal(msg->answer[7].u.txt.len, 0);
	assert_string_equal(msg->answer[7].u.txt.data, "");

	assert_string_equal(msg->authority[0].name, "example.org");
	assert_int_equal(msg->authority[0].type, DNS_TYPE_SOA);
	assert_string_equal(msg->authority[0].u.soa.mname, "ns1.example.org");
	assert_string_equal(msg->authority[0].u.soa.rname, "hostmaster.example.org");
	assert_int_equal(msg->authority[0].u.soa.serial, 2026120301);
	dns_msg_free(msg);
}

/* A TXT of strings at their longest, joined: 255 + 255 + 1. */
static void
test_parse_long_txt(void **state)
{
	struct mb m;
	struct dns_msg *msg;
	char text[512];
	size_t at;

	header(&m, 0x8400, 0, 1, 0);
	name(&m, "t.example");
	at = rr_begin(&m, DNS_TYPE_TXT, 1);
	for (int i = 0; i < 2; i++) {
		memset(text, 'a' + i, 255);
		u8(&m, 255);
		raw(&m, text, 255);
	}
	u8(&m, 1);
	raw(&m, "\0", 1); /* a NUL is a byte like another */
	rr_end(&m, at);
	msg = parse_ok(&m);
	assert_int_equal(msg->answer[0].u.txt.len, 511);
	assert_int_equal(msg->answer[0].u.txt.data[0], 'a');
	assert_int_equal(msg->answer[0].u.txt.data[255], 'b');
	assert_int_equal(msg->answer[0].u.txt.data[510], '\0');
	assert_null(msg->qname);
	dns_msg_free(msg);
}

/* Compression: a pointer after labels, a pointer to a name that ends in a
 * pointer, pointers inside record data. */
static void
test_compression(void **state)
{
	struct mb m;
	struct dns_msg *msg;
	size_t at, sub;

	header(&m, 0x8400, 1, 3, 0);
	question(&m, "example.org", DNS_TYPE_NS); /* 12: example.org */
	/* "ns1" + pointer to example.org */
	sub = m.n;
	u8(&m, 3);
	raw(&m, "ns1", 3);
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_A, 1);
	raw(&m, "\x7f\x00\x00\x01", 4);
	rr_end(&m, at);
	/* "x" + pointer to ns1.example.org (itself a pointer chain) */
	u8(&m, 1);
	raw(&m, "X", 1);
	u16(&m, 0xc000 | (unsigned)sub);
	at = rr_begin(&m, DNS_TYPE_CNAME, 1);
	u8(&m, 2);
	raw(&m, "ns", 2);
	u16(&m, 0xc000 | (unsigned)sub); /* in the data: ns.ns1.example.org */
	rr_end(&m, at);
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_SOA, 1);
	u16(&m, 0xc000 | (unsigned)sub);
	u16(&m, 0xc00c);
	for (int i = 0; i < 5; i++) {
		u32(&m, (uint32_t)i + 7);
	}
	rr_end(&m, at);
	msg = parse_ok(&m);
	assert_string_equal(msg->answer[0].name, "ns1.example.org");
	assert_string_equal(msg->answer[1].name, "x.ns1.example.org");
	assert_string_equal(msg->answer[1].u.target, "ns.ns1.example.org");
	assert_string_equal(msg->answer[2].name, "example.org");
	assert_string_equal(msg->answer[2].u.soa.mname, "ns1.example.org");
	assert_string_equal(msg->answer[2].u.soa.rname, "example.org");
	assert_int_equal(msg->answer[2].u.soa.serial, 7);
	dns_msg_free(msg);
}

/* Pointers that loop or point forwards, names too long, odd label
 * types. */
static void
test_compression_refused(void **state)
{
	struct mb m;
	size_t at;

	/* A pointer to itself. */
	header(&m, 0x8400, 1, 0, 0);
	u16(&m, 0xc00c);
	u16(&m, 1);
	u16(&m, 1);
	parse_fails(&m, "backwards");
	/* Two names pointing at each other: the second points forward. */
	header(&m, 0x8400, 1, 0, 0);
	u8(&m, 1);
	raw(&m, "a", 1);
	u16(&m, 0xc000 | 15); /* 12: "a" -> 15 */
	u8(&m, 1);
	raw(&m, "b", 1);
	u16(&m, 0xc00c); /* 15: "b" -> 12 */
	u16(&m, 1);
	u16(&m, 1);
	parse_fails(&m, "backwards");
	/* A pointer past the end. */
	header(&m, 0x8400, 1, 0, 0);
	u16(&m, 0xc000 | 0x3fff);
	u16(&m, 1);
	u16(&m, 1);
	parse_fails(&m, "backwards");
	/* A pointer cut in half. */
	header(&m, 0x8400, 1, 0, 0);
	u8(&m, 0xc0);
	parse_fails(&m, "truncated compression pointer");
	/* Extended label types 01 and 10. */
	header(&m, 0x8400, 1, 0, 0);
	u8(&m, 0x41);
	u8(&m, 0);
	u16(&m, 1);
	u16(&m, 1);
	parse_fails(&m, "label type");
	header(&m, 0x8400, 1, 0, 0);
	u8(&m, 0x81);
	parse_fails(&m, "label type");
	/* A name of 257 octets through pointers: four questions, each a
	 * 63-octet label and a pointer to the name of the one before. */
	header(&m, 0x8400, 4, 0, 0);
	{
		char label[63];
		size_t prev = 0;

		memset(label, 'a', sizeof(label));
		for (int i = 0; i < 4; i++) {
			size_t here = m.n;

			u8(&m, 63);
			raw(&m, label, 63);
			if (i == 0) {
				u8(&m, 0);
			} else {
				u16(&m, 0xc000 | (unsigned)prev);
			}
			u16(&m, 1);
			u16(&m, 1);
			prev = here;
		}
	}
	parse_fails(&m, "longer than 255");
	m.b[5] = 3; /* the first three: 193 octets */
	dns_msg_free(parse_ok(&m));
	(void)at;
}

/* Every prefix of a good message is refused, none read past its end
 * (AddressSanitizer watches: each prefix is copied to its own buffer). */
static void
test_truncated(void **state)
{
	struct mb m;
	size_t at;

	header(&m, 0x8400, 1, 2, 1);
	question(&m, "_acme-challenge.example.org", DNS_TYPE_TXT);
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_TXT, 1);
	u8(&m, 4);
	raw(&m, "abcd", 4);
	rr_end(&m, at);
	u16(&m, 0xc00c);
	at = rr_begin(&m, DNS_TYPE_CAA, 1);
	u8(&m, 0);
	u8(&m, 5);
	raw(&m, "issue", 5);
	raw(&m, "ca", 2);
	rr_end(&m, at);
	u16(&m, 0xc00c + 16);
	at = rr_begin(&m, DNS_TYPE_SOA, 1);
	u16(&m, 0xc00c);
	u16(&m, 0xc00c);
	for (int i = 0; i < 5; i++) {
		u32(&m, 1);
	}
	rr_end(&m, at);
	dns_msg_free(parse_ok(&m));
	for (size_t len = 0; len < m.n; len++) {
		uint8_t *copy = malloc(len > 0 ? len : 1);
		struct dns_msg *msg = NULL;
		char err[256] = "";

		assert_non_null(copy);
		memcpy(copy, m.b, len);
		assert_int_equal(dns_msg_parse(copy, len, &msg, err, sizeof(err)), -1);
		assert_null(msg);
		assert_true(err[0] != '\0');
		free(copy);
	}
}

/* A one-record answer of type with data (len bytes). */
static void
one_record(struct mb *m, unsigned type, const void *data, size_t len)
{
	size_t at;

	header(m, 0x8400, 0, 1, 0);
	name(m, "x.example");
	at = rr_begin(m, type, 1);
	raw(m, data, len);
	rr_end(m, at);
}

static void
test_bad_lengths(void **state)
{
	struct mb m;
	uint8_t name_data[32];

	one_record(&m, DNS_TYPE_A, "\1\2\3\4\5", 5);
	parse_fails(&m, "address of 5 octets");
	one_record(&m, DNS_TYPE_AAAA, "\1\2\3\4", 4);
	parse_fails(&m, "address of 4 octets");
	one_record(&m, DNS_TYPE_TXT, "\5abc", 4);
	parse_fails(&m, "TXT string runs past");
	one_record(&m, DNS_TYPE_CAA, "\0\0issue", 7);
	parse_fails(&m, "CAA tag length 0");
	one_record(&m, DNS_TYPE_CAA, "\0\011issue", 7);
	parse_fails(&m, "CAA tag length 9");
	one_record(&m, DNS_TYPE_CAA, "\0\5is-ue", 7);
	parse_fails(&m, "letters and digits");
	one_record(&m, DNS_TYPE_CAA, "\0", 1);
	parse_fails(&m, "CAA data shorter");
	/* A CNAME whose name ends before the data does. */
	memcpy(name_data, "\1a\0\0\0", 5);
	one_record(&m, DNS_TYPE_CNAME, name_data, 5);
	parse_fails(&m, "shorter than its length");
	/* A CNAME whose name runs past the data's end. */
	one_record(&m, DNS_TYPE_CNAME, "\1a\1b", 4);
	m.b[m.n - 5] = 2; /* RDLENGTH 2: "\1a", the rest outside */
	u8(&m, 0);
	parse_fails(&m, "past the record");
	/* An SOA without its five numbers. */
	one_record(&m, DNS_TYPE_SOA, "\0\0\0\0\0\1", 6);
	parse_fails(&m, "SOA data of the wrong length");
	/* RDLENGTH past the message. */
	one_record(&m, DNS_TYPE_TXT, "\1a", 2);
	m.b[m.n - 3] = 3;
	parse_fails(&m, "data runs past the message");
	/* Counts the message cannot hold: refused before any allocation. */
	header(&m, 0x8400, 0, 0xffff, 0);
	parse_fails(&m, "do not fit");
	header(&m, 0x8400, 0, 0, 2);
	name(&m, "");
	parse_fails(&m, "do not fit");
	/* Shorter than a header. */
	m.n = 11;
	parse_fails(&m, "message of 11 octets");
}

/* Octets a name in presentation form must not show as they are. */
static void
test_name_escapes(void **state)
{
	struct mb m;
	struct dns_msg *msg;
	size_t at;

	header(&m, 0x8400, 0, 1, 0);
	u8(&m, 5);
	raw(&m, "A.b\\\x01", 5);
	u8(&m, 3);
	raw(&m, "O G", 3);
	u8(&m, 0);
	at = rr_begin(&m, 99, 1);
	rr_end(&m, at);
	msg = parse_ok(&m);
	assert_string_equal(msg->answer[0].name, "a\\046b\\092\\001.o\\032g");
	dns_msg_free(msg);
}

static void
test_names(void **state)
{
	char buf[16];

	assert_string_equal(dns_type_name(DNS_TYPE_CAA, buf, sizeof(buf)), "CAA");
	assert_string_equal(dns_type_name(99, buf, sizeof(buf)), "TYPE99");
	assert_int_equal(dns_type_parse("txt"), DNS_TYPE_TXT);
	assert_int_equal(dns_type_parse("AAAA"), DNS_TYPE_AAAA);
	assert_int_equal(dns_type_parse("TYPE257"), DNS_TYPE_CAA);
	assert_int_equal(dns_type_parse("TYPE65536"), 0);
	assert_int_equal(dns_type_parse("TYPE"), 0);
	assert_int_equal(dns_type_parse("MX"), 0);
	assert_string_equal(dns_rcode_name(DNS_RCODE_NXDOMAIN, buf, sizeof(buf)), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(9, buf, sizeof(buf)), "RCODE9");
	assert_true(dns_name_equal("Example.ORG.", "example.org"));
	assert_true(dns_name_equal("", "."));
	assert_false(dns_name_equal("example.org", "example.org.uk"));
	assert_false(dns_name_equal("a.example.org", "example.org"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_query_build),  cmocka_unit_test(test_query_build_refuses),
	        cmocka_unit_test(test_parse_types),  cmocka_unit_test(test_parse_long_txt),
	        cmocka_unit_test(test_compression),  cmocka_unit_test(test_compression_refused),
	        cmocka_unit_test(test_truncated),    cmocka_unit_test(test_bad_lengths),
	        cmocka_unit_test(test_name_escapes), cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
