#include "dns_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/dns_msg.h"

#define CONN_BUF 4096

/* One TCP connection: length-prefixed queries (RFC 1035 4.2.2). */
struct dns_server_conn {
	struct dns_server *s;
	struct ev_io io;
	uint8_t buf[CONN_BUF];
	size_t len;
	struct dns_server_conn *next;
};

/* A response being written. */
struct out {
	uint8_t buf[DNS_MSG_MAX];
	size_t len;
};

static void
put(struct out *o, const void *p, size_t n)
{
	assert_true(o->len + n <= sizeof(o->buf));
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
put16(struct out *o, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(o, b, 2);
}

static void
put32(struct out *o, uint32_t v)
{
	put16(o, v >> 16);
	put16(o, v & 0xffff);
}

/* name in wire form; the question's name (at offset 12) as a pointer. */
static void
put_name(struct out *o, const char *name, const char *qname)
{
	if (qname != NULL && dns_name_equal(name, qname)) {
		put16(o, 0xc00c);
		return;
	}
	for (const char *p = name; *p != '\0';) {
		size_t n = strcspn(p, ".");
		uint8_t len = (uint8_t)n;

		put(o, &len, 1);
		put(o, p, n);
		p += n + (p[n] == '.');
	}
	put(o, "", 1);
}

static void
put_rdata(struct out *o, const struct dns_server_rr *rr)
{
	char a[256], b[256];
	unsigned serial, flags;
	uint8_t addr[16];
	size_t n, at;

	switch (rr->type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		assert_int_equal(
		        inet_pton(rr->type == DNS_TYPE_A ? AF_INET : AF_INET6, rr->data, addr), 1);
		put(o, addr, rr->type == DNS_TYPE_A ? 4 : 16);
		break;
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
		put_name(o, rr->data, NULL);
		break;
	case DNS_TYPE_SOA:
		assert_int_equal(sscanf(rr->data, "%255s %255s %u", a, b, &serial), 3);
		put_name(o, a, NULL);
		put_name(o, b, NULL);
		put32(o, serial);
		put32(o, 7200);
		put32(o, 3600);
		put32(o, 1209600);
		put32(o, 300);
		break;
	case DNS_TYPE_TXT:
		n = strlen(rr->data);
		at = 0;
		do {
			uint8_t len = (uint8_t)(n - at > 255 ? 255 : n - at);

			put(o, &len, 1);
			put(o, rr->data + at, len);
			at += len;
		} while (at < n);
		break;
	case DNS_TYPE_CAA:
		assert_int_equal(sscanf(rr->data, "%u %255s %255[^\n]", &flags, a, b), 3);
		addr[0] = (uint8_t)flags;
		addr[1] = (uint8_t)strlen(a);
		put(o, addr, 2);
		put(o, a, strlen(a));
		put(o, b, strlen(b));
		break;
	default:
		fail_msg("dns_server: no data for type %u", rr->type);
	}
}

static void
put_rrs(struct out *o, const struct dns_server_rr *rrs, const char *qname)
{
	for (size_t i = 0; i < DNS_SERVER_RRS && rrs[i].name != NULL; i++) {
		size_t at;

		put_name(o, rrs[i].name, qname);
		put16(o, rrs[i].type);
		put16(o, DNS_CLASS_IN);
		put32(o, 60);
		at = o->len;
		put16(o, 0);
		put_rdata(o, &rrs[i]);
		o->buf[at] = (uint8_t)((o->len - at - 2) >> 8);
		o->buf[at + 1] = (uint8_t)(o->len - at - 2);
	}
}

static size_t
count(const struct dns_server_rr *rrs)
{
	size_t n = 0;

	while (n < DNS_SERVER_RRS && rrs[n].name != NULL) {
		n++;
	}
	return n;
}

/* The answer to the len bytes of query into o; false: none. */
static bool
answer(struct dns_server *s, const uint8_t *query, size_t len, bool tcp, struct out *o)
{
	static const struct dns_server_entry nxdomain = {.rcode = DNS_RCODE_NXDOMAIN, .aa = true};
	const struct dns_server_entry *e = &nxdomain;
	struct dns_msg *m = NULL;
	char err[256];
	bool tc;

	assert_int_equal(dns_msg_parse(query, len, &m, err, sizeof(err)), 0);
	assert_non_null(m->qname);
	assert_true(s->nqueries < DNS_SERVER_MAX_QUERIES);
	snprintf(s->queries[s->nqueries].name, sizeof(s->queries[0].name), "%s", m->qname);
	s->queries[s->nqueries].type = m->qtype;
	s->queries[s->nqueries].rd = m->rd;
	s->queries[s->nqueries].tcp = tcp;
	s->nqueries++;
	for (size_t i = 0; i < s->n; i++) {
		if (s->table[i].qtype == m->qtype && dns_name_equal(s->table[i].qname, m->qname)) {
			e = &s->table[i];
			break;
		}
	}
	if (e->mode == DNS_SERVER_DROP) {
		dns_msg_free(m);
		return false;
	}
	tc = e->mode == DNS_SERVER_TRUNCATE && !tcp;
	o->len = 0;
	put16(o, m->id);
	put16(o, 0x8000 | (e->aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) | (m->rd ? 0x0100 : 0) |
	                 (unsigned)e->rcode);
	put16(o, 1);
	put16(o, tc ? 0 : (unsigned)count(e->answer));
	put16(o, tc ? 0 : (unsigned)count(e->authority));
	put16(o, 0);
	put_name(o, m->qname, NULL);
	put16(o, m->qtype);
	put16(o, m->qclass);
	if (!tc) {
		put_rrs(o, e->answer, m->qname);
		put_rrs(o, e->authority, m->qname);
	}
	if (e->mode == DNS_SERVER_MALFORMED) {
		o->len--;
	}
	dns_msg_free(m);
	return true;
}

static void
on_udp(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_server *s = w->data;
	static struct out o;
	uint8_t buf[512];
	struct sockaddr_in from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	n = recvfrom(s->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	if (n <= 0) {
		return;
	}
	if (answer(s, buf, (size_t)n, false, &o)) {
		assert_true(o.len <= 512);
		sendto(s->udp, o.buf, o.len, 0, (struct sockaddr *)&from, fromlen);
	}
}

static void
conn_close(struct dns_server_conn *c)
{
	struct dns_server_conn **pp = &c->s->conns;

	while (*pp != c) {
		pp = &(*pp)->next;
	}
	*pp = c->next;
	ev_io_stop(c->s->loop, &c->io);
	close(c->io.fd);
	free(c);
}

static void
on_conn(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_server_conn *c = w->data;
	static struct out o;
	ssize_t n;

	n = read(w->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2 && c->len >= 2 + (size_t)(c->buf[0] << 8 | c->buf[1])) {
		size_t qlen = (size_t)(c->buf[0] << 8 | c->buf[1]);
		uint8_t frame[2];

		if (answer(c->s, c->buf + 2, qlen, true, &o)) {
			frame[0] = (uint8_t)(o.len >> 8);
			frame[1] = (uint8_t)o.len;
			/* Loopback and small: written at once. */
			assert_int_equal(write(w->fd, frame, 2), 2);
			assert_int_equal(write(w->fd, o.buf, o.len), (ssize_t)o.len);
		}
		memmove(c->buf, c->buf + 2 + qlen, c->len - 2 - qlen);
		c->len -= 2 + qlen;
	}
}

static void
on_accept(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_server *s = w->data;
	struct dns_server_conn *c;
	int fd = accept(s->tcp, NULL, NULL);

	if (fd < 0) {
		return;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->s = s;
	c->next = s->conns;
	s->conns = c;
	ev_io_init(&c->io, on_conn, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
}

/* A socket of type bound to 127.0.0.1:port (0: any free port). */
static int
bound(int type, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (type == SOCK_STREAM) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

void
dns_server_start(struct dns_server *s, struct ev_loop *loop, const struct dns_server_entry *table,
                 size_t n)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->table = table;
	s->n = n;
	s->tcp = -1;
	/* UDP takes a free port, TCP the same one; tried again in the rare
	 * case that someone holds it over TCP. */
	for (int i = 0; i < 20 && s->tcp < 0; i++) {
		s->udp = bound(SOCK_DGRAM, 0);
		assert_true(s->udp >= 0);
		s->port = port_of(s->udp);
		s->tcp = bound(SOCK_STREAM, s->port);
		if (s->tcp < 0) {
			close(s->udp);
		}
	}
	assert_true(s->tcp >= 0);
	assert_int_equal(listen(s->tcp, 16), 0);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
	ev_io_init(&s->udp_io, on_udp, s->udp, EV_READ);
	s->udp_io.data = s;
	ev_io_start(loop, &s->udp_io);
	ev_io_init(&s->tcp_io, on_accept, s->tcp, EV_READ);
	s->tcp_io.data = s;
	ev_io_start(loop, &s->tcp_io);
}

void
dns_server_stop(struct dns_server *s)
{
	if (s->loop == NULL) {
		return;
	}
	while (s->conns != NULL) {
		conn_close(s->conns);
	}
	ev_io_stop(s->loop, &s->udp_io);
	ev_io_stop(s->loop, &s->tcp_io);
	close(s->udp);
	close(s->tcp);
	s->loop = NULL;
}

size_t
dns_server_count(const struct dns_server *s, const char *name, uint16_t type, bool tcp)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nqueries; i++) {
		if (s->queries[i].type == type && s->queries[i].tcp == tcp &&
		    dns_name_equal(s->queries[i].name, name)) {
			n++;
		}
	}
	return n;
}

int
dns_server_dead_port(void)
{
	int fd = bound(SOCK_DGRAM, 0);
	int port;

	assert_true(fd >= 0);
	port = port_of(fd);
	close(fd);
	return port;
}

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	bool *expired = w->data;

	(void)revents;
	*expired = true;
	ev_break(loop, EVBREAK_ALL);
}

bool
dns_server_run_until(struct ev_loop *loop, double seconds, dns_server_cond_fn cond, const void *arg)
{
	ev_timer watchdog;
	bool expired = false;

	ev_now_update(loop);
	ev_timer_init(&watchdog, on_watchdog, seconds, 0.);
	watchdog.data = &expired;
	ev_timer_start(loop, &watchdog);
	while (!cond(arg) && !expired) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &watchdog);
	return cond(arg);
}

struct int_at_least {
	const int *n;
	int want;
};

static bool
int_reached(const void *arg)
{
	const struct int_at_least *c = arg;

	return *c->n >= c->want;
}

void
dns_server_wait_int(struct ev_loop *loop, double seconds, const int *n, int want)
{
	struct int_at_least c = {n, want};

	if (!dns_server_run_until(loop, seconds, int_reached, &c)) {
		fail_msg("still waiting after %g s", seconds);
	}
}

struct size_at_least {
	const size_t *n;
	size_t want;
};

static bool
size_reached(const void *arg)
{
	const struct size_at_least *c = arg;

	return *c->n >= c->want;
}

void
dns_server_wait_size(struct ev_loop *loop, double seconds, const size_t *n, size_t want)
{
	struct size_at_least c = {n, want};

	if (!dns_server_run_until(loop, seconds, size_reached, &c)) {
		fail_msg("still waiting after %g s", seconds);
	}
}
