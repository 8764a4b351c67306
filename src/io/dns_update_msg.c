/* UPDATE messages: built and signed, replies read and verified. */
#include "io/dns_update_msg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a hint's %s is. */
enum hint_arg {
	HINT_NONE,
	HINT_KEY, /* the key's name */
	HINT_ZONE,
	HINT_ARG__MAX,
};

struct rcode_entry {
	unsigned code;
	const char *name;
	const char *hint; /* what to do about it, NULL when nothing helps */
	enum hint_arg arg;
};

/* RFC 1035 4.1.1, RFC 2136 section 2.2, RFC 8945 section 3; by code. */
static const struct rcode_entry rcodes[] = {
        {0, "NOERROR", NULL, HINT_NONE},
        {1, "FORMERR", "the server did not understand the update", HINT_NONE},
        {2, "SERVFAIL", "the server failed: see its log", HINT_NONE},
        {3, "NXDOMAIN", NULL, HINT_NONE},
        {4, "NOTIMP", "the server takes no dynamic updates", HINT_NONE},
        {5, "REFUSED",
         "the server's update-policy or allow-update does not let key \"%s\" change it", HINT_KEY},
        {6, "YXDOMAIN", NULL, HINT_NONE},
        {7, "YXRRSET", NULL, HINT_NONE},
        {8, "NXRRSET", NULL, HINT_NONE},
        {9, "NOTAUTH", "the server is not the primary of zone %s", HINT_ZONE},
        {10, "NOTZONE", "the record is not in zone %s", HINT_ZONE},
        {16, "BADSIG", "the server holds another secret for it: check dns-update-key", HINT_NONE},
        {17, "BADKEY", "the server does not know it, or not with this algorithm", HINT_NONE},
        {18, "BADTIME", "this host's clock is more than 300 s away from the server's", HINT_NONE},
        {19, "BADMODE", NULL, HINT_NONE},
        {20, "BADNAME", NULL, HINT_NONE},
        {21, "BADALG", NULL, HINT_NONE},
        {22, "BADTRUNC", NULL, HINT_NONE},
        {23, "BADCOOKIE", NULL, HINT_NONE},
};

static const struct rcode_entry *
rcode_lookup(unsigned rcode)
{
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		if (rcodes[i].code == rcode) {
			return &rcodes[i];
		}
	}
	return NULL;
}

const char *
dns_update_msg_rcode_name(unsigned rcode, char *buf, size_t len)
{
	const struct rcode_entry *e = rcode_lookup(rcode);

	if (e != NULL) {
		return e->name;
	}
	snprintf(buf, len, "RCODE %u", rcode);
	return buf;
}

/* ": " and the rcode's hint, or "". */
static void
hint_for(const struct dns_update_msg *m, unsigned rcode, char *buf, size_t len)
{
	const struct rcode_entry *e = rcode_lookup(rcode);
	int n;

	buf[0] = '\0';
	if (e == NULL || e->hint == NULL || len < 3) {
		return;
	}
	memcpy(buf, ": ", 3);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(buf + 2, len - 2, e->hint,
	             e->arg == HINT_KEY    ? m->key_name
	             : e->arg == HINT_ZONE ? m->zone
	                                   : "");
#pragma GCC diagnostic pop
	if (n < 0) {
		buf[0] = '\0';
	}
}

/* s without a final dot into buf, for messages. */
static void
shown(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '.') {
		n--;
	}
	snprintf(buf, len, "%.*s", (int)n, s);
}

/* The TXT record of the update: added (RFC 2136 2.5.1: class IN and its
 * TTL) or deleted from its RRset (2.5.4: class NONE, TTL 0). */
static ldns_rr *
txt_rr(const ldns_rdf *owner, enum dns_update_op op, const char *value)
{
	uint8_t data[DNS_UPDATE_VALUE_MAX + 1];
	size_t n = strlen(value);
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *txt = NULL;
	ldns_rdf *name = ldns_rdf_clone(owner);

	data[0] = (uint8_t)n;
	memcpy(data + 1, value, n);
	txt = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, data);
	if (rr == NULL || txt == NULL || name == NULL) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(txt);
		ldns_rdf_deep_free(name);
		return NULL;
	}
	ldns_rr_set_owner(rr, name);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, op == DNS_UPDATE_ADD ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, op == DNS_UPDATE_ADD ? DNS_UPDATE_TTL : 0);
	ldns_rr_push_rdf(rr, txt);
	return rr;
}

/* The zone and the record's name as names, the record within the zone. */
static int
parse_names(const char *zone, const char *name, ldns_rdf **zone_rdf, ldns_rdf **name_rdf, char *err,
            size_t errlen)
{
	int rc = -1;

	*zone_rdf = zone != NULL && zone[0] != '\0' ? ldns_dname_new_frm_str(zone) : NULL;
	*name_rdf = name != NULL && name[0] != '\0' ? ldns_dname_new_frm_str(name) : NULL;
	if (*zone_rdf == NULL) {
		snprintf(err, errlen, "the zone is not a domain name");
		goto out;
	}
	if (*name_rdf == NULL) {
		snprintf(err, errlen, "the record's name is not a domain name");
		goto out;
	}
	if (ldns_dname_compare(*name_rdf, *zone_rdf) != 0 &&
	    !ldns_dname_is_subdomain(*name_rdf, *zone_rdf)) {
		snprintf(err, errlen, "%s is not in zone %s", name, zone);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
dns_update_msg_build(struct dns_update_msg *m, const struct dns_update_key *key, const char *zone,
                     enum dns_update_op op, const char *name, const char *value, uint16_t id,
                     char *err, size_t errlen)
{
	ldns_rdf *zone_rdf = NULL, *name_rdf = NULL;
	ldns_rr_list *updates = NULL;
	ldns_rr *rr = NULL;
	ldns_pkt *pkt = NULL;
	size_t n;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	if ((unsigned)op >= DNS_UPDATE_OP__MAX) {
		snprintf(err, errlen, "unknown operation");
		goto out;
	}
	n = value != NULL ? strlen(value) : 0;
	if (n == 0 || n > DNS_UPDATE_VALUE_MAX) {
		snprintf(err, errlen, "the TXT value must be 1 to %d characters",
		         DNS_UPDATE_VALUE_MAX);
		goto out;
	}
	if (parse_names(zone, name, &zone_rdf, &name_rdf, err, errlen) < 0) {
		goto out;
	}
	rr = txt_rr(name_rdf, op, value);
	updates = ldns_rr_list_new();
	if (rr == NULL || updates == NULL || !ldns_rr_list_push_rr(updates, rr)) {
		goto oom;
	}
	rr = NULL;
	/* RFC 2136 2.3: the zone section's one RR is the zone, type SOA. */
	pkt = ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN, NULL, updates, NULL);
	if (pkt == NULL) {
		goto oom;
	}
	zone_rdf = NULL;
	/* RFC 2136 2.2: the flags other than QR are zero (ldns sets RD). */
	ldns_pkt_set_rd(pkt, false);
	ldns_pkt_set_id(pkt, id);
	if (dns_update_key_sign(key, pkt, NULL) < 0) {
		snprintf(err, errlen, "cannot sign the update with key \"%s\"",
		         dns_update_key_name(key));
		goto out;
	}
	m->mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
	if (m->mac == NULL || ldns_pkt2wire(&m->wire, pkt, &m->len) != LDNS_STATUS_OK) {
		goto oom;
	}
	m->id = id;
	m->op = op;
	shown(m->zone, sizeof(m->zone), zone);
	shown(m->name, sizeof(m->name), name);
	shown(m->key_name, sizeof(m->key_name), dns_update_key_name(key));
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	if (rc < 0) {
		dns_update_msg_finish(m);
	}
	ldns_pkt_free(pkt);
	ldns_rr_list_deep_free(updates);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(zone_rdf);
	ldns_rdf_deep_free(name_rdf);
	return rc;
}

void
dns_update_msg_finish(struct dns_update_msg *m)
{
	free(m->wire);
	ldns_rdf_deep_free(m->mac);
	memset(m, 0, sizeof(*m));
}

/* The TSIG RR's Error field (RFC 8945 section 4.2), 0 without one. */
static unsigned
tsig_error(const ldns_pkt *pkt)
{
	const ldns_rr *tsig = ldns_pkt_tsig(pkt);

	if (tsig == NULL || ldns_rr_rd_count(tsig) < 7 || ldns_rr_rdf(tsig, 5) == NULL ||
	    ldns_rdf_size(ldns_rr_rdf(tsig, 5)) != 2) {
		return 0;
	}
	return ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
}

enum dns_update_msg_reply
dns_update_msg_check(const struct dns_update_msg *m, const struct dns_update_key *key,
                     const uint8_t *wire, size_t len, time_t now, char *why, size_t whylen)
{
	enum dns_update_msg_reply r = DNS_UPDATE_MSG_NOT_OURS;
	char hint[256], buf[16], tsig_why[160];
	ldns_pkt *pkt = NULL;
	unsigned rcode, terr;

	why[0] = '\0';
	if (len < LDNS_HEADER_SIZE || LDNS_ID_WIRE(wire) != m->id || !LDNS_QR_WIRE(wire) ||
	    LDNS_OPCODE_WIRE(wire) != LDNS_PACKET_UPDATE) {
		snprintf(why, whylen, "a message that is not the reply");
		goto out;
	}
	/* RFC 1035 4.2.1: a truncated reply is asked again over TCP, its TSIG
	 * (if any) unchecked: only the whole reply counts. */
	if (LDNS_TC_WIRE(wire)) {
		snprintf(why, whylen, "truncated");
		r = DNS_UPDATE_MSG_TRUNCATED;
		goto out;
	}
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		snprintf(why, whylen, "a reply that is not a DNS message");
		goto out;
	}
	rcode = ldns_pkt_get_rcode(pkt);
	terr = tsig_error(pkt);
	/* RFC 8945 5.3.2: BADSIG and BADKEY come unsigned; only the error
	 * is told. */
	if (terr != 0) {
		hint_for(m, terr, hint, sizeof(hint));
		snprintf(why, whylen, "TSIG %s (key \"%s\")%s",
		         dns_update_msg_rcode_name(terr, buf, sizeof(buf)), m->key_name, hint);
		r = DNS_UPDATE_MSG_TSIG;
		goto out;
	}
	if (ldns_pkt_tsig(pkt) == NULL && rcode != LDNS_RCODE_NOERROR) {
		hint_for(m, rcode, hint, sizeof(hint));
		snprintf(why, whylen, "%s for %s (zone %s)%s (an unsigned reply)",
		         dns_update_msg_rcode_name(rcode, buf, sizeof(buf)), m->name, m->zone,
		         hint);
		r = DNS_UPDATE_MSG_RCODE;
		goto out;
	}
	if (dns_update_key_verify(key, pkt, wire, len, m->mac, now, tsig_why, sizeof(tsig_why)) <
	    0) {
		snprintf(why, whylen, "%s for %s (zone %s): %s",
		         dns_update_msg_rcode_name(rcode, buf, sizeof(buf)), m->name, m->zone,
		         tsig_why);
		r = DNS_UPDATE_MSG_TSIG;
		goto out;
	}
	if (rcode != LDNS_RCODE_NOERROR) {
		hint_for(m, rcode, hint, sizeof(hint));
		snprintf(why, whylen, "%s for %s (zone %s)%s",
		         dns_update_msg_rcode_name(rcode, buf, sizeof(buf)), m->name, m->zone,
		         hint);
		r = DNS_UPDATE_MSG_RCODE;
		goto out;
	}
	snprintf(why, whylen, "%s a TXT record of %s (zone %s)",
	         m->op == DNS_UPDATE_ADD ? "added" : "deleted", m->name, m->zone);
	r = DNS_UPDATE_MSG_DONE;
out:
	ldns_pkt_free(pkt);
	return r;
}
