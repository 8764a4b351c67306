/* io/dns_update_msg: the UPDATE built (read back with ldns: sections,
 * classes, TSIG) and every kind of reply read. */
#include "io/dns_update_msg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dns_fake.h"

#define SECRET "CM4WvINkooEnO6ArdIJTvUKfNc/L0uJ6dcEyTNmUfZA="
#define SECRET_OTHER "aAAnif2tGQ1yN2MnXjF+X/yi9CicbyTZEAE2ooh0ISk="
#define VALUE "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

struct fx {
	struct dns_update_key *key;
	struct dns_update_key *other;
	struct dns_update_msg m;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->key = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET);
	fx->other = dns_update_key_create("acmed", DNS_UPDATE_KEY_HMAC_SHA256, SECRET_OTHER);
	*state = fx;
	return fx->key == NULL || fx->other == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	dns_update_msg_finish(&fx->m);
	dns_update_key_destroy(fx->key);
	dns_update_key_destroy(fx->other);
	free(fx);
	return 0;
}

static void
build(struct fx *fx, enum dns_update_op op)
{
	char err[256];

	dns_update_msg_finish(&fx->m);
	if (dns_update_msg_build(&fx->m, fx->key, "a.example", op, "_acme-challenge.a.example.",
	                         VALUE, 0xbeef, err, sizeof(err)) < 0) {
		fail_msg("build: %s", err);
	}
}

/* m's one update RR, checked against what op makes. */
static void
check_update(ldns_pkt *p, enum dns_update_op op)
{
	ldns_rdf *owner = ldns_dname_new_frm_str("_acme-challenge.a.example.");
	ldns_rr *rr;
	const ldns_rdf *txt;

	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 1);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_dname_compare(ldns_rr_owner(rr), owner), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_get_class(rr),
	                 op == DNS_UPDATE_ADD ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_ttl(rr), op == DNS_UPDATE_ADD ? 60 : 0);
	assert_int_equal(ldns_rr_rd_count(rr), 1);
	txt = ldns_rr_rdf(rr, 0);
	assert_int_equal(ldns_rdf_size(txt), 1 + strlen(VALUE));
	assert_int_equal(ldns_rdf_data(txt)[0], strlen(VALUE));
	assert_memory_equal(ldns_rdf_data(txt) + 1, VALUE, strlen(VALUE));
	ldns_rdf_deep_free(owner);
}

static void
test_build(void **state)
{
	struct fx *fx = *state;
	enum dns_update_op ops[] = {DNS_UPDATE_ADD, DNS_UPDATE_DEL};
	ldns_rdf *zone = ldns_dname_new_frm_str("a.example.");
	ldns_rdf *alg = ldns_dname_new_frm_str("hmac-sha256.");
	ldns_rdf *keyname = ldns_dname_new_frm_str("acmed.");
	char why[256];

	for (size_t i = 0; i < 2; i++) {
		ldns_pkt *p = NULL;
		ldns_rr *q, *tsig;

		build(fx, ops[i]);
		assert_int_equal(fx->m.id, 0xbeef);
		assert_int_equal(ldns_wire2pkt(&p, fx->m.wire, fx->m.len), LDNS_STATUS_OK);
		/* RFC 2136 2.2: opcode UPDATE, the other flags zero. */
		assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
		assert_int_equal(ldns_pkt_id(p), 0xbeef);
		assert_false(ldns_pkt_qr(p));
		assert_false(ldns_pkt_rd(p));
		assert_false(ldns_pkt_tc(p));
		assert_false(ldns_pkt_aa(p));
		/* Zone: one RR, the zone, SOA, IN. */
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
		q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		assert_int_equal(ldns_dname_compare(ldns_rr_owner(q), zone), 0);
		assert_int_equal(ldns_rr_get_type(q), LDNS_RR_TYPE_SOA);
		assert_int_equal(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
		/* No prerequisites, one update, no additional data but the TSIG. */
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 0);
		check_update(p, ops[i]);
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 0);
		assert_int_equal(fx->m.wire[11], 1); /* ARCOUNT: the TSIG */
		tsig = ldns_pkt_tsig(p);
		assert_non_null(tsig);
		assert_int_equal(ldns_dname_compare(ldns_rr_owner(tsig), keyname), 0);
		assert_int_equal(ldns_dname_compare(ldns_rr_rdf(tsig, 0), alg), 0);
		assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2)), 300);
		assert_int_equal(ldns_rdf_compare(ldns_rr_rdf(tsig, 3), fx->m.mac), 0);
		/* Verifiable with the key, not with another secret. */
		assert_int_equal(dns_update_key_verify(fx->key, p, fx->m.wire, fx->m.len, NULL,
		                                       time(NULL), why, sizeof(why)),
		                 0);
		assert_int_equal(dns_update_key_verify(fx->other, p, fx->m.wire, fx->m.len, NULL,
		                                       time(NULL), why, sizeof(why)),
		                 -1);
		ldns_pkt_free(p);
	}
	assert_string_equal(fx->m.zone, "a.example");
	assert_string_equal(fx->m.name, "_acme-challenge.a.example");
	assert_string_equal(fx->m.key_name, "acmed");
	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(alg);
	ldns_rdf_deep_free(keyname);
}

static void
test_build_errors(void **state)
{
	static const struct {
		const char *zone, *name, *value, *err;
	} cases[] = {
	        {"a.example", "_acme-challenge.b.example", VALUE,
	         "_acme-challenge.b.example is not in zone a.example"},
	        {"a.example", "_acme-challenge.xa.example", VALUE, "is not in zone"},
	        {"a.example", "_acme-challenge.a.example", "", "the TXT value must be 1 to 255"},
	        {"", "_acme-challenge.a.example", VALUE, "the zone is not a domain name"},
	        {"a..example", "_acme-challenge.a.example", VALUE, "the zone is not a domain name"},
	        {"a.example", "", VALUE, "the record's name is not a domain name"},
	        {"a.example",
	         "_acme-challenge.a234567890123456789012345678901234567890123456789012345678901234"
	         ".a.example",
	         VALUE, "the record's name is not a domain name"},
	};
	struct fx *fx = *state;
	char long_value[300], err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dns_update_msg_build(&fx->m, fx->key, cases[i].zone,
		                                      DNS_UPDATE_ADD, cases[i].name, cases[i].value,
		                                      1, err, sizeof(err)),
		                 -1);
		if (strstr(err, cases[i].err) == NULL) {
			fail_msg("case %zu: \"%s\" has not \"%s\"", i, err, cases[i].err);
		}
		assert_null(fx->m.wire);
	}
	memset(long_value, 'x', 256);
	long_value[256] = '\0';
	assert_int_equal(dns_update_msg_build(&fx->m, fx->key, "a.example", DNS_UPDATE_ADD,
	                                      "a.example", long_value, 1, err, sizeof(err)),
	                 -1);
	long_value[255] = '\0';
	/* The zone's own name, 255 octets of value: both allowed. */
	assert_int_equal(dns_update_msg_build(&fx->m, fx->key, "a.example", DNS_UPDATE_ADD,
	                                      "a.example", long_value, 1, err, sizeof(err)),
	                 0);
}

/* The verdict on the reply r makes to fx's request, and its why. */
static enum dns_update_msg_reply
check(struct fx *fx, const struct dns_fake_reply *r, char *why, size_t whylen)
{
	size_t len;
	uint8_t *wire = dns_fake_reply(fx->m.wire, fx->m.len, r, &len);
	enum dns_update_msg_reply v =
	        dns_update_msg_check(&fx->m, fx->key, wire, len, time(NULL), why, whylen);

	free(wire);
	return v;
}

static void
test_replies(void **state)
{
	struct fx *fx = *state;
	struct {
		struct dns_fake_reply r;
		enum dns_update_msg_reply verdict;
		const char *why; /* its start */
	} cases[] = {
	        {{.rcode = 0, .key = fx->key},
	         DNS_UPDATE_MSG_DONE,
	         "added a TXT record of _acme-challenge.a.example (zone a.example)"},
	        {{.rcode = 5, .key = fx->key},
	         DNS_UPDATE_MSG_RCODE,
	         "REFUSED for _acme-challenge.a.example (zone a.example): the server's "
	         "update-policy or allow-update does not let key \"acmed\" change it"},
	        {{.rcode = 9, .key = fx->key},
	         DNS_UPDATE_MSG_RCODE,
	         "NOTAUTH for _acme-challenge.a.example (zone a.example): the server is not the "
	         "primary of zone a.example"},
	        {{.rcode = 10, .key = fx->key}, DNS_UPDATE_MSG_RCODE, "NOTZONE for "},
	        {{.rcode = 2, .key = fx->key}, DNS_UPDATE_MSG_RCODE, "SERVFAIL for "},
	        {{.rcode = 12, .key = fx->key}, DNS_UPDATE_MSG_RCODE, "RCODE 12 for "},
	        {{.rcode = 1},
	         DNS_UPDATE_MSG_RCODE,
	         "FORMERR for _acme-challenge.a.example (zone a.example): the server did not "
	         "understand the update (an unsigned reply)"},
	        {{.rcode = 9, .tsig_error = 16},
	         DNS_UPDATE_MSG_TSIG,
	         "TSIG BADSIG (key \"acmed\"): the server holds another secret for it"},
	        {{.rcode = 9, .tsig_error = 17},
	         DNS_UPDATE_MSG_TSIG,
	         "TSIG BADKEY (key \"acmed\")"},
	        {{.rcode = 9, .tsig_error = 18},
	         DNS_UPDATE_MSG_TSIG,
	         "TSIG BADTIME (key \"acmed\"): this host's clock"},
	        {{.rcode = 0},
	         DNS_UPDATE_MSG_TSIG,
	         "NOERROR for _acme-challenge.a.example (zone a.example): the reply is not signed"},
	        {{.rcode = 0, .key = fx->other},
	         DNS_UPDATE_MSG_TSIG,
	         "NOERROR for _acme-challenge.a.example (zone a.example): the reply's MAC does not "
	         "verify with key \"acmed\""},
	        {{.rcode = 5, .key = fx->other}, DNS_UPDATE_MSG_TSIG, "REFUSED for "},
	        {{.rcode = 0, .key = fx->key, .without_request_mac = true},
	         DNS_UPDATE_MSG_TSIG,
	         "NOERROR for _acme-challenge.a.example (zone a.example): the reply's MAC"},
	        {{.rcode = 0, .key = fx->key, .id_delta = 1}, DNS_UPDATE_MSG_NOT_OURS, ""},
	        {{.rcode = 0, .key = fx->key, .not_response = true}, DNS_UPDATE_MSG_NOT_OURS, ""},
	        {{.tc = true}, DNS_UPDATE_MSG_TRUNCATED, ""},
	};
	char why[512];

	build(fx, DNS_UPDATE_ADD);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dns_update_msg_reply v = check(fx, &cases[i].r, why, sizeof(why));

		if (v != cases[i].verdict ||
		    strncmp(why, cases[i].why, strlen(cases[i].why)) != 0) {
			fail_msg("case %zu: %d \"%s\"", i, v, why);
		}
	}
	build(fx, DNS_UPDATE_DEL);
	assert_int_equal(check(fx, &cases[0].r, why, sizeof(why)), DNS_UPDATE_MSG_DONE);
	assert_string_equal(why,
	                    "deleted a TXT record of _acme-challenge.a.example (zone a.example)");
}

static void
test_not_dns(void **state)
{
	struct fx *fx = *state;
	uint8_t junk[64];
	char why[256];

	build(fx, DNS_UPDATE_ADD);
	assert_int_equal(
	        dns_update_msg_check(&fx->m, fx->key, junk, 5, time(NULL), why, sizeof(why)),
	        DNS_UPDATE_MSG_NOT_OURS);
	/* The right header, then garbage. */
	memset(junk, 0xff, sizeof(junk));
	junk[0] = 0xbe;
	junk[1] = 0xef;
	junk[2] = 0x80 | (5 << 3);
	junk[3] = 0;
	assert_int_equal(dns_update_msg_check(&fx->m, fx->key, junk, sizeof(junk), time(NULL), why,
	                                      sizeof(why)),
	                 DNS_UPDATE_MSG_NOT_OURS);
	assert_string_equal(why, "a reply that is not a DNS message");
}

static void
test_rcode_names(void **state)
{
	char buf[16];

	assert_string_equal(dns_update_msg_rcode_name(0, buf, sizeof(buf)), "NOERROR");
	assert_string_equal(dns_update_msg_rcode_name(5, buf, sizeof(buf)), "REFUSED");
	assert_string_equal(dns_update_msg_rcode_name(9, buf, sizeof(buf)), "NOTAUTH");
	assert_string_equal(dns_update_msg_rcode_name(10, buf, sizeof(buf)), "NOTZONE");
	assert_string_equal(dns_update_msg_rcode_name(16, buf, sizeof(buf)), "BADSIG");
	assert_string_equal(dns_update_msg_rcode_name(17, buf, sizeof(buf)), "BADKEY");
	assert_string_equal(dns_update_msg_rcode_name(18, buf, sizeof(buf)), "BADTIME");
	assert_string_equal(dns_update_msg_rcode_name(99, buf, sizeof(buf)), "RCODE 99");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_build_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_dns, setup, teardown),
	        cmocka_unit_test(test_rcode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
