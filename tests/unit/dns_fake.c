#include "dns_fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* An unsigned TSIG RR carrying error (RFC 8945 5.3.2: BADSIG and BADKEY
 * replies have an empty MAC). */
static ldns_rr *
error_tsig(unsigned error)
{
	ldns_rr *rr = ldns_rr_new();
	uint8_t when[6] = {0};
	uint64_t now = (uint64_t)time(NULL);

	for (int i = 5; i >= 0; i--) {
		when[i] = (uint8_t)(now & 0xff);
		now >>= 8;
	}
	assert_non_null(rr);
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str("acmed."));
	ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TSIG);
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_push_rdf(rr, ldns_dname_new_frm_str("hmac-sha256."));
	ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_TSIGTIME, 6, when));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 300));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16_data(0, NULL));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)error));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16_data(0, NULL));
	return rr;
}

uint8_t *
dns_fake_reply(const uint8_t *query, size_t qlen, const struct dns_fake_reply *r, size_t *len)
{
	ldns_pkt *q = NULL, *p = ldns_pkt_new();
	const ldns_rdf *mac = NULL;
	uint8_t *wire = NULL;

	assert_non_null(p);
	assert_int_equal(ldns_wire2pkt(&q, query, qlen), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, (uint16_t)(ldns_pkt_id(q) + r->id_delta));
	ldns_pkt_set_qr(p, !r->not_response);
	ldns_pkt_set_opcode(p, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(p, (uint8_t)r->rcode);
	ldns_pkt_set_tc(p, r->tc);
	/* RFC 2136 3.8: the zone section comes back. */
	ldns_rr_list_deep_free(ldns_pkt_question(p));
	ldns_pkt_set_question(p, ldns_rr_list_clone(ldns_pkt_question(q)));
	ldns_pkt_set_qdcount(p, ldns_pkt_qdcount(q));
	if (ldns_pkt_tsig(q) != NULL && !r->without_request_mac) {
		mac = ldns_rr_rdf(ldns_pkt_tsig(q), 3);
	}
	if (r->tsig_error != 0) {
		ldns_pkt_set_tsig(p, error_tsig(r->tsig_error));
	} else if (r->key != NULL) {
		assert_int_equal(dns_update_key_sign(r->key, p, mac), 0);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	ldns_pkt_free(q);
	return wire;
}

static void
check_query(struct dns_fake_server *s, const uint8_t *wire, size_t len)
{
	ldns_pkt *q = NULL;
	char why[256];

	assert_true(len <= sizeof(s->last_query));
	memcpy(s->last_query, wire, len);
	s->last_len = len;
	if (ldns_wire2pkt(&q, wire, len) == LDNS_STATUS_OK && s->key != NULL &&
	    dns_update_key_verify(s->key, q, wire, len, NULL, time(NULL), why, sizeof(why)) == 0) {
		s->verified++;
	}
	ldns_pkt_free(q);
}

static void
send_to(int fd, const uint8_t *wire, size_t len, const struct sockaddr_storage *to, socklen_t tolen)
{
	assert_int_equal(sendto(fd, wire, len, 0, (const struct sockaddr *)to, tolen),
	                 (ssize_t)len);
}

static void
udp_first(struct dns_fake_server *s, const uint8_t *q, size_t qlen,
          const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct dns_fake_reply first = {.rcode = 0, .key = s->reply.key};
	uint8_t *wire;
	size_t len;
	int fd;

	if (s->mode == DNS_FAKE_WRONG_ID_FIRST) {
		first.id_delta = 1;
		wire = dns_fake_reply(q, qlen, &first, &len);
		send_to(s->udp_fd, wire, len, from, fromlen);
		free(wire);
	} else if (s->mode == DNS_FAKE_SPOOF_FIRST) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(fd >= 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		wire = dns_fake_reply(q, qlen, &first, &len);
		send_to(fd, wire, len, from, fromlen);
		free(wire);
		close(fd);
	}
}

static void
on_udp(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_fake_server *s = w->data;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	struct dns_fake_reply tc = {.tc = true};
	uint8_t q[65535], *wire;
	ssize_t n;
	size_t len;

	n = recvfrom(s->udp_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0) {
		return;
	}
	s->udp_queries++;
	check_query(s, q, (size_t)n);
	if (s->mode == DNS_FAKE_SILENT) {
		return;
	}
	udp_first(s, q, (size_t)n, &from, fromlen);
	if (s->mode == DNS_FAKE_TRUNCATE || s->mode == DNS_FAKE_TCP_CLOSE) {
		wire = dns_fake_reply(q, (size_t)n, &tc, &len);
	} else {
		wire = dns_fake_reply(q, (size_t)n, &s->reply, &len);
	}
	send_to(s->udp_fd, wire, len, &from, fromlen);
	free(wire);
}

static void
conn_close(struct dns_fake_server *s)
{
	ev_io_stop(s->loop, &s->conn_io);
	if (s->conn_fd >= 0) {
		close(s->conn_fd);
	}
	s->conn_fd = -1;
	s->conn_len = 0;
}

static void
on_conn(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_fake_server *s = w->data;
	size_t want = 2, len;
	uint8_t *wire, *framed;
	ssize_t n;

	if (s->conn_len >= 2) {
		want += ((size_t)s->conn_buf[0] << 8) | s->conn_buf[1];
	}
	n = recv(s->conn_fd, s->conn_buf + s->conn_len, want - s->conn_len, 0);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			conn_close(s);
		}
		return;
	}
	s->conn_len += (size_t)n;
	if (s->conn_len < 2 || s->conn_len < 2 + (((size_t)s->conn_buf[0] << 8) | s->conn_buf[1])) {
		return;
	}
	s->tcp_queries++;
	check_query(s, s->conn_buf + 2, s->conn_len - 2);
	if (s->mode == DNS_FAKE_TCP_CLOSE) {
		conn_close(s);
		return;
	}
	wire = dns_fake_reply(s->conn_buf + 2, s->conn_len - 2, &s->reply, &len);
	framed = malloc(len + 2);
	assert_non_null(framed);
	framed[0] = (uint8_t)(len >> 8);
	framed[1] = (uint8_t)len;
	memcpy(framed + 2, wire, len);
	assert_int_equal(send(s->conn_fd, framed, len + 2, MSG_NOSIGNAL), (ssize_t)(len + 2));
	free(framed);
	free(wire);
	conn_close(s);
}

static void
on_accept(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_fake_server *s = w->data;
	int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		return;
	}
	conn_close(s);
	s->conn_fd = fd;
	ev_io_init(&s->conn_io, on_conn, fd, EV_READ);
	s->conn_io.data = s;
	ev_io_start(loop, &s->conn_io);
}

/* UDP on a free port, TCP on the same one (tried again when taken). */
static void
open_sockets(struct dns_fake_server *s)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t len = sizeof(sin);
		int one = 1;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(s->udp_fd >= 0);
		assert_int_equal(bind(s->udp_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(s->udp_fd, (struct sockaddr *)&sin, &len), 0);
		s->port = ntohs(sin.sin_port);
		s->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(s->tcp_fd >= 0);
		setsockopt(s->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp_fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(s->tcp_fd, 4) == 0) {
			return;
		}
		close(s->tcp_fd);
		close(s->udp_fd);
	}
	fail_msg("no port free for both UDP and TCP on 127.0.0.1");
}

void
dns_fake_start(struct dns_fake_server *s, struct ev_loop *loop, enum dns_fake_mode mode,
               const struct dns_update_key *key)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->mode = mode;
	s->key = key;
	s->reply.key = key;
	s->conn_fd = -1;
	open_sockets(s);
	ev_io_init(&s->udp_io, on_udp, s->udp_fd, EV_READ);
	ev_io_init(&s->tcp_io, on_accept, s->tcp_fd, EV_READ);
	s->udp_io.data = s;
	s->tcp_io.data = s;
	ev_io_start(loop, &s->udp_io);
	ev_io_start(loop, &s->tcp_io);
}

void
dns_fake_stop(struct dns_fake_server *s)
{
	if (s->loop == NULL) {
		return;
	}
	conn_close(s);
	ev_io_stop(s->loop, &s->udp_io);
	ev_io_stop(s->loop, &s->tcp_io);
	close(s->udp_fd);
	close(s->tcp_fd);
	s->loop = NULL;
}
