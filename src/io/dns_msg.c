#include "io/dns_msg.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_LEN 12
/* Type, class, TTL and RDLENGTH after a record's owner (RFC 1035 4.1.3). */
#define RR_FIXED_LEN 10
/* The smallest record: the root as owner and no data. */
#define RR_MIN_LEN (1 + RR_FIXED_LEN)

/* A cursor over a message: everything read goes through it. */
struct reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
get_u16(struct reader *r, uint16_t *v)
{
	if (r->len - r->pos < 2) {
		return -1;
	}
	*v = (uint16_t)(r->buf[r->pos] << 8 | r->buf[r->pos + 1]);
	r->pos += 2;
	return 0;
}

static int
get_u32(struct reader *r, uint32_t *v)
{
	if (r->len - r->pos < 4) {
		return -1;
	}
	*v = (uint32_t)r->buf[r->pos] << 24 | (uint32_t)r->buf[r->pos + 1] << 16 |
	     (uint32_t)r->buf[r->pos + 2] << 8 | (uint32_t)r->buf[r->pos + 3];
	r->pos += 4;
	return 0;
}

/* Appends one label's octets to out (at *n, room for DNS_NAME_TEXT_MAX). */
static void
put_label(char *out, size_t *n, const uint8_t *label, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = label[i];

		if (c >= 'A' && c <= 'Z') {
			out[(*n)++] = (char)(c - 'A' + 'a');
		} else if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
			out[(*n)++] = (char)c;
		} else {
			*n += (size_t)snprintf(out + *n, 5, "\\%03u", c);
		}
	}
}

/* Reads a name at r->pos (which moves past it, pointers not followed),
 * into a new string. RFC 1035 4.1.4: a pointer may replace the end of a
 * name; each pointer must point before the pointer itself, so no chain
 * of them can loop, and the whole name stays within 255 octets. */
static int
get_name(struct reader *r, const char *what, char **out)
{
	char text[DNS_NAME_TEXT_MAX];
	size_t n = 0;
	size_t wire = 1; /* the root's length octet */
	size_t at = r->pos;
	size_t limit = r->len; /* a pointer may point anywhere before itself */
	bool jumped = false;
	int pointers = 0;
	int ret = -1;

	for (;;) {
		uint8_t c;

		if (at >= limit) {
			ret = fail(r, "%s: name runs past the message", what);
			goto out;
		}
		c = r->buf[at];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (at + 1 >= limit) {
				ret = fail(r, "%s: truncated compression pointer", what);
				goto out;
			}
			target = (size_t)(c & 0x3f) << 8 | r->buf[at + 1];
			if (target >= at) {
				ret = fail(r, "%s: compression pointer does not point backwards",
				           what);
				goto out;
			}
			if (++pointers > DNS_MSG_MAX_POINTERS) {
				ret = fail(r, "%s: too many compression pointers", what);
				goto out;
			}
			if (!jumped) {
				r->pos = at + 2;
				jumped = true;
			}
			limit = at;
			at = target;
			continue;
		}
		if ((c & 0xc0) != 0) {
			/* 01 and 10: extended label types (RFC 6891 section 5). */
			ret = fail(r, "%s: unknown label type 0x%02x", what, c & 0xc0);
			goto out;
		}
		if (c == 0) {
			if (!jumped) {
				r->pos = at + 1;
			}
			break;
		}
		if ((size_t)c >= limit - at) {
			ret = fail(r, "%s: label runs past the message", what);
			goto out;
		}
		wire += 1 + (size_t)c;
		if (wire > 255) {
			ret = fail(r, "%s: name longer than 255 octets", what);
			goto out;
		}
		if (n > 0) {
			text[n++] = '.';
		}
		put_label(text, &n, r->buf + at + 1, c);
		at += 1 + (size_t)c;
	}
	text[n] = '\0';
	*out = strdup(text);
	if (*out == NULL) {
		ret = fail(r, "out of memory");
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* A name that must end exactly at end (the record data's end). */
static int
get_name_to(struct reader *r, const char *what, size_t end, char **out)
{
	int ret = get_name(r, what, out);

	if (ret == 0 && r->pos > end) {
		ret = fail(r, "%s: name runs past the record", what);
	}
	return ret;
}

/* TXT: RFC 1035 3.3.14, one or more <character-string>s, each a length
 * octet and that many octets, filling the data exactly. */
static int
get_txt(struct reader *r, const char *what, size_t end, struct dns_rr *rr)
{
	size_t total = 0;
	size_t at = r->pos;
	int ret = -1;

	while (at < end) {
		size_t n = r->buf[at];

		if (n > end - at - 1) {
			ret = fail(r, "%s: TXT string runs past the record", what);
			goto out;
		}
		total += n;
		at += 1 + n;
	}
	rr->u.txt.data = malloc(total + 1);
	if (rr->u.txt.data == NULL) {
		ret = fail(r, "out of memory");
		goto out;
	}
	total = 0;
	while (r->pos < end) {
		size_t n = r->buf[r->pos];

		memcpy(rr->u.txt.data + total, r->buf + r->pos + 1, n);
		total += n;
		r->pos += 1 + n;
	}
	rr->u.txt.data[total] = '\0';
	rr->u.txt.len = total;
	ret = 0;
out:
	return ret;
}

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* CAA: RFC 8659 section 4.1, flags, tag length, tag, and the value to the
 * end of the data. */
static int
get_caa(struct reader *r, const char *what, size_t end, struct dns_rr *rr)
{
	uint8_t taglen = 0;
	size_t vlen;
	int ret = -1;

	if (end - r->pos < 2) {
		ret = fail(r, "%s: CAA data shorter than 2 octets", what);
		goto out;
	}
	rr->u.caa.flags = r->buf[r->pos];
	taglen = r->buf[r->pos + 1];
	r->pos += 2;
	if (taglen == 0 || taglen > end - r->pos) {
		ret = fail(r, "%s: CAA tag length %u out of the record", what, taglen);
		goto out;
	}
	for (size_t i = 0; i < taglen; i++) {
		if (!is_alnum(r->buf[r->pos + i])) {
			ret = fail(r, "%s: CAA tag holds other than letters and digits", what);
			goto out;
		}
	}
	rr->u.caa.tag = strndup((const char *)r->buf + r->pos, taglen);
	r->pos += taglen;
	vlen = end - r->pos;
	rr->u.caa.value = malloc(vlen + 1);
	if (rr->u.caa.tag == NULL || rr->u.caa.value == NULL) {
		ret = fail(r, "out of memory");
		goto out;
	}
	memcpy(rr->u.caa.value, r->buf + r->pos, vlen);
	rr->u.caa.value[vlen] = '\0';
	rr->u.caa.len = vlen;
	r->pos = end;
	ret = 0;
out:
	return ret;
}

static int
get_addr(struct reader *r, const char *what, size_t end, int family, struct dns_rr *rr)
{
	size_t need = family == AF_INET ? 4 : 16;

	if (end - r->pos != need) {
		return fail(r, "%s: address of %zu octets", what, end - r->pos);
	}
	/* Cannot fail: the family is known and the buffer holds the longest
	 * text (INET6_ADDRSTRLEN). */
	inet_ntop(family, r->buf + r->pos, rr->u.addr, sizeof(rr->u.addr));
	r->pos = end;
	return 0;
}

/* The data of rr (RDLENGTH octets at r->pos) by its type. */
static int
get_rdata(struct reader *r, const char *what, size_t end, struct dns_rr *rr)
{
	int ret = 0;

	switch (rr->type) {
	case DNS_TYPE_A:
		ret = get_addr(r, what, end, AF_INET, rr);
		break;
	case DNS_TYPE_AAAA:
		ret = get_addr(r, what, end, AF_INET6, rr);
		break;
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
		ret = get_name_to(r, what, end, &rr->u.target);
		break;
	case DNS_TYPE_SOA:
		ret = get_name_to(r, what, end, &rr->u.soa.mname);
		if (ret == 0) {
			ret = get_name_to(r, what, end, &rr->u.soa.rname);
		}
		/* Serial, refresh, retry, expire, minimum: only the serial is
		 * kept, the others must be there. */
		if (ret == 0 && end - r->pos != 20) {
			ret = fail(r, "%s: SOA data of the wrong length", what);
		}
		if (ret == 0) {
			get_u32(r, &rr->u.soa.serial);
			r->pos = end;
		}
		break;
	case DNS_TYPE_TXT:
		ret = get_txt(r, what, end, rr);
		break;
	case DNS_TYPE_CAA:
		ret = get_caa(r, what, end, rr);
		break;
	default:
		/* Kept as its type only. */
		r->pos = end;
		break;
	}
	if (ret == 0 && r->pos != end) {
		ret = fail(r, "%s: data shorter than its length", what);
	}
	r->pos = end;
	return ret;
}

static int
get_rr(struct reader *r, const char *what, struct dns_rr *rr)
{
	uint16_t rdlen = 0;
	int ret = -1;

	ret = get_name(r, what, &rr->name);
	if (ret < 0) {
		goto out;
	}
	if (r->len - r->pos < RR_FIXED_LEN) {
		ret = fail(r, "%s: truncated", what);
		goto out;
	}
	get_u16(r, &rr->type);
	get_u16(r, &rr->rclass);
	get_u32(r, &rr->ttl);
	get_u16(r, &rdlen);
	if (rr->ttl > INT32_MAX) {
		rr->ttl = 0;
	}
	if (rdlen > r->len - r->pos) {
		ret = fail(r, "%s: data runs past the message", what);
		goto out;
	}
	ret = get_rdata(r, what, r->pos + rdlen, rr);
out:
	return ret;
}

static void
rr_finish(struct dns_rr *rr)
{
	free(rr->name);
	switch (rr->type) {
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
		free(rr->u.target);
		break;
	case DNS_TYPE_SOA:
		free(rr->u.soa.mname);
		free(rr->u.soa.rname);
		break;
	case DNS_TYPE_TXT:
		free(rr->u.txt.data);
		break;
	case DNS_TYPE_CAA:
		free(rr->u.caa.tag);
		free(rr->u.caa.value);
		break;
	default:
		break;
	}
}

/* A section of count records into a new array at *out (*n counts those
 * parsed, so that a failure frees what was). */
static int
get_section(struct reader *r, const char *section, uint16_t count, struct dns_rr **out, size_t *n)
{
	char what[64];
	int ret = -1;

	*n = 0;
	if (count == 0) {
		ret = 0;
		goto out;
	}
	/* Each record takes at least RR_MIN_LEN octets: a count the message
	 * cannot hold makes no allocation. */
	if (count > (r->len - r->pos) / RR_MIN_LEN) {
		ret = fail(r, "%s: %u records do not fit in the message", section, count);
		goto out;
	}
	*out = calloc(count, sizeof(**out));
	if (*out == NULL) {
		ret = fail(r, "out of memory");
		goto out;
	}
	for (uint16_t i = 0; i < count; i++) {
		snprintf(what, sizeof(what), "%s record %u", section, i + 1);
		/* Counted before it is read: a half-read record is freed too. */
		(*n)++;
		ret = get_rr(r, what, &(*out)[i]);
		if (ret < 0) {
			goto out;
		}
	}
	ret = 0;
out:
	return ret;
}

static int
get_questions(struct reader *r, uint16_t count, struct dns_msg *m)
{
	int ret = 0;

	for (uint16_t i = 0; i < count && ret == 0; i++) {
		char *name = NULL;
		uint16_t type = 0;
		uint16_t qclass = 0;

		ret = get_name(r, "question", &name);
		if (ret == 0 && (get_u16(r, &type) < 0 || get_u16(r, &qclass) < 0)) {
			ret = fail(r, "question: truncated");
		}
		if (ret == 0 && m->qname == NULL) {
			m->qname = name;
			m->qtype = type;
			m->qclass = qclass;
			name = NULL;
		}
		free(name);
	}
	return ret;
}

int
dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg **out, char *err, size_t errlen)
{
	struct reader r = {.buf = buf, .len = len, .err = err, .errlen = errlen};
	struct dns_msg *m = NULL;
	uint16_t flags = 0, qd = 0, an = 0, ns = 0;
	int ret = -1;

	*out = NULL;
	if (len < HEADER_LEN || len > DNS_MSG_MAX) {
		ret = fail(&r, "message of %zu octets", len);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		ret = fail(&r, "out of memory");
		goto out;
	}
	get_u16(&r, &m->id);
	get_u16(&r, &flags);
	get_u16(&r, &qd);
	get_u16(&r, &an);
	get_u16(&r, &ns);
	r.pos += 2; /* ARCOUNT: the additional section is not read */
	m->qr = (flags & 0x8000) != 0;
	m->opcode = (uint8_t)((flags >> 11) & 0xf);
	m->aa = (flags & 0x0400) != 0;
	m->tc = (flags & 0x0200) != 0;
	m->rd = (flags & 0x0100) != 0;
	m->ra = (flags & 0x0080) != 0;
	m->rcode = (uint8_t)(flags & 0xf);
	ret = get_questions(&r, qd, m);
	if (ret == 0) {
		ret = get_section(&r, "answer", an, &m->answer, &m->n_answer);
	}
	if (ret == 0) {
		ret = get_section(&r, "authority", ns, &m->authority, &m->n_authority);
	}
	if (ret < 0) {
		goto out;
	}
	*out = m;
	m = NULL;
	ret = 0;
out:
	dns_msg_free(m);
	return ret;
}

void
dns_msg_free(struct dns_msg *m)
{
	if (m == NULL) {
		return;
	}
	for (size_t i = 0; i < m->n_answer; i++) {
		rr_finish(&m->answer[i]);
	}
	for (size_t i = 0; i < m->n_authority; i++) {
		rr_finish(&m->authority[i]);
	}
	free(m->answer);
	free(m->authority);
	free(m->qname);
	free(m);
}

static bool
label_char(char c)
{
	return is_alnum((uint8_t)c) || c == '-' || c == '_' || c == '*';
}

int
dns_msg_query_build(const char *name, uint16_t type, bool rd, uint16_t id, uint8_t *buf, size_t cap,
                    char *err, size_t errlen)
{
	struct reader r = {.err = err, .errlen = errlen};
	size_t len = strlen(name);
	size_t pos = HEADER_LEN;
	int ret = -1;

	if (len > 0 && name[len - 1] == '.') {
		len--;
	}
	if (len > 253) {
		ret = fail(&r, "%s: name longer than 253 characters", name);
		goto out;
	}
	if (cap < HEADER_LEN + len + 2 + 4) {
		ret = fail(&r, "%s: no room for the query", name);
		goto out;
	}
	memset(buf, 0, HEADER_LEN);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = rd ? 0x01 : 0x00;
	buf[5] = 1; /* QDCOUNT */
	for (size_t start = 0; start < len;) {
		size_t end = start;

		while (end < len && name[end] != '.') {
			if (!label_char(name[end])) {
				ret = fail(&r, "%s: character 0x%02x not allowed in a name", name,
				           (unsigned char)name[end]);
				goto out;
			}
			end++;
		}
		if (end == start || end - start > 63) {
			ret = fail(&r, "%s: empty label or label longer than 63", name);
			goto out;
		}
		buf[pos++] = (uint8_t)(end - start);
		memcpy(buf + pos, name + start, end - start);
		pos += end - start;
		start = end + 1;
		if (end < len && start == len) {
			ret = fail(&r, "%s: empty label", name);
			goto out;
		}
	}
	buf[pos++] = 0;
	buf[pos++] = (uint8_t)(type >> 8);
	buf[pos++] = (uint8_t)type;
	buf[pos++] = 0;
	buf[pos++] = DNS_CLASS_IN;
	ret = (int)pos;
out:
	return ret;
}

/* Sorted by name, for the parse. */
static const struct {
	const char *name;
	uint16_t type;
} types[] = {
        {"A", DNS_TYPE_A},         {"AAAA", DNS_TYPE_AAAA}, {"CAA", DNS_TYPE_CAA},
        {"CNAME", DNS_TYPE_CNAME}, {"NS", DNS_TYPE_NS},     {"SOA", DNS_TYPE_SOA},
        {"TXT", DNS_TYPE_TXT},
};

static const char *const rcodes[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
};

const char *
dns_type_name(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type == type) {
			return types[i].name;
		}
	}
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

uint16_t
dns_type_parse(const char *name)
{
	char *end = NULL;
	unsigned long v;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(types[i].name, name) == 0) {
			return types[i].type;
		}
	}
	/* RFC 3597 section 5: the generic form. */
	if (strncasecmp(name, "TYPE", 4) != 0 || name[4] < '0' || name[4] > '9') {
		return 0;
	}
	v = strtoul(name + 4, &end, 10);
	return *end == '\0' && v <= UINT16_MAX ? (uint16_t)v : 0;
}

const char *
dns_rcode_name(int rcode, char *buf, size_t len)
{
	if (rcode >= 0 && (size_t)rcode < sizeof(rcodes) / sizeof(rcodes[0])) {
		return rcodes[rcode];
	}
	snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}

bool
dns_name_equal(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);

	if (la > 0 && a[la - 1] == '.') {
		la--;
	}
	if (lb > 0 && b[lb - 1] == '.') {
		lb--;
	}
	return la == lb && strncasecmp(a, b, la) == 0;
}
