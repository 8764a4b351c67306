/* dns_msg_parse: a DNS answer as a server (or anyone on the path) sends it,
 * read by the propagation check and the CAA pre-check. Whatever comes in:
 * an error, or a message whose record counts fit the input, whose names
 * are lower-case printable text within DNS_NAME_TEXT_MAX, whose data
 * lengths fit the input. And dns_msg_query_build: a query built from the
 * input as a name parses back to that name, lower case. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/dns_msg.h"

static void
check_name(const char *name)
{
	size_t n;

	FUZZ_CHECK(name != NULL);
	n = strlen(name);
	FUZZ_CHECK(n < DNS_NAME_TEXT_MAX);
	FUZZ_CHECK(n == 0 || name[n - 1] != '.');
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(name[i] > 0x20 && name[i] < 0x7f);
		FUZZ_CHECK(!isupper((unsigned char)name[i]));
	}
}

static void
check_rr(const struct dns_rr *rr, size_t size)
{
	check_name(rr->name);
	switch (rr->type) {
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
		check_name(rr->u.target);
		break;
	case DNS_TYPE_SOA:
		check_name(rr->u.soa.mname);
		check_name(rr->u.soa.rname);
		break;
	case DNS_TYPE_TXT:
		FUZZ_CHECK(rr->u.txt.data != NULL && rr->u.txt.len < size);
		FUZZ_CHECK(rr->u.txt.data[rr->u.txt.len] == '\0');
		break;
	case DNS_TYPE_CAA:
		FUZZ_CHECK(rr->u.caa.tag != NULL && rr->u.caa.tag[0] != '\0');
		for (const char *p = rr->u.caa.tag; *p != '\0'; p++) {
			FUZZ_CHECK(isalnum((unsigned char)*p));
		}
		FUZZ_CHECK(rr->u.caa.len < size && rr->u.caa.value[rr->u.caa.len] == '\0');
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		FUZZ_CHECK(strlen(rr->u.addr) >= 2);
		break;
	default:
		break;
	}
	FUZZ_CHECK(rr->ttl <= 0x7fffffff);
}

static void
round_trip(const uint8_t *data, size_t size)
{
	uint8_t buf[DNS_QUERY_MAX];
	char err[256];
	struct dns_msg *m = NULL;
	char *name = fuzz_cstring(data, size);
	size_t n = strlen(name);
	int len = dns_msg_query_build(name, DNS_TYPE_TXT, size % 2 == 0, 0x1234, buf, sizeof(buf),
	                              err, sizeof(err));

	if (len >= 0) {
		FUZZ_CHECK(dns_msg_parse(buf, (size_t)len, &m, err, sizeof(err)) == 0);
		FUZZ_CHECK(m->id == 0x1234 && !m->qr && m->rd == (size % 2 == 0));
		FUZZ_CHECK(m->qtype == DNS_TYPE_TXT && m->qclass == DNS_CLASS_IN);
		if (n > 0 && name[n - 1] == '.') {
			name[--n] = '\0';
		}
		for (size_t i = 0; i < n; i++) {
			name[i] = (char)tolower((unsigned char)name[i]);
		}
		FUZZ_CHECK(strcmp(m->qname, name) == 0);
		FUZZ_CHECK(dns_name_equal(m->qname, name));
		dns_msg_free(m);
	}
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg *m = (struct dns_msg *)1;
	char err[256];

	fuzz_setup();
	if (dns_msg_parse(data, size, &m, err, sizeof(err)) == 0) {
		FUZZ_CHECK(m != NULL);
		FUZZ_CHECK((m->n_answer + m->n_authority) * 11 <= size);
		if (m->qname != NULL) {
			check_name(m->qname);
		}
		for (size_t i = 0; i < m->n_answer; i++) {
			check_rr(&m->answer[i], size);
		}
		for (size_t i = 0; i < m->n_authority; i++) {
			check_rr(&m->authority[i], size);
		}
		dns_msg_free(m);
	} else {
		FUZZ_CHECK(m == NULL);
		FUZZ_CHECK(err[0] != '\0');
	}
	round_trip(data, size);
	return 0;
}
