/* Dynamic updates on the loop: the server's address, UDP tries, TCP after
 * a truncated reply, one call of done. */
#include "io/dns_update.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/ident.h"
#include "base/log.h"

/* A DNS message over TCP is at most 65535 octets (RFC 1035 4.2.2); a
 * datagram never more. */
#define MSG_MAX 65535
#define LEN_PREFIX 2

struct dns_update {
	struct ev_loop *loop;
	struct dns_update_key *key;
	struct dns_update_msg msg;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char server[64]; /* "127.0.0.1:53", "[::1]:53" */
	double try_s;
	int try_no; /* the UDP try under way, from 1 */
	int fd;
	bool tcp;
	bool connected; /* TCP: connect(2) finished */
	char last_error[128]; /* the last socket error, "" when none */
	uint8_t *out; /* TCP: the length, then the message */
	size_t out_len, out_pos;
	uint8_t *in; /* a datagram; over TCP the length, then the reply */
	size_t in_len;
	struct ev_io io;
	struct ev_timer timer;
	dns_update_done_fn done;
	void *arg;
};

static const char *const result_names[DNS_UPDATE_RESULT__MAX] = {
        [DNS_UPDATE_OK] = "ok",
        [DNS_UPDATE_RCODE] = "rcode",
        [DNS_UPDATE_TSIG] = "tsig",
        [DNS_UPDATE_NO_ANSWER] = "no-answer",
};

const char *
dns_update_result_name(enum dns_update_result r)
{
	return (unsigned)r < DNS_UPDATE_RESULT__MAX ? result_names[r] : "?";
}

/* ---- the server's address ---- */

static int
parse_port(const char *s, int *port)
{
	long v = 0;
	size_t n = 0;

	while (isdigit((unsigned char)s[n]) && n < 6) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || s[n] != '\0' || v < 1 || v > 65535) {
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* Splits server into its address (host, hostlen bytes) and port. */
static int
split_server(const char *server, char *host, size_t hostlen, int *port)
{
	const char *colon = strchr(server, ':');
	const char *close;
	size_t n;

	*port = DNS_UPDATE_PORT;
	if (server[0] == '[') {
		close = strchr(server, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':') ||
		    (close[1] == ':' && parse_port(close + 2, port) < 0)) {
			return -1;
		}
		n = (size_t)(close - server - 1);
		server++;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		if (parse_port(colon + 1, port) < 0) {
			return -1;
		}
		n = (size_t)(colon - server);
	} else {
		/* No colon, or an IPv6 address without brackets (and port). */
		n = strlen(server);
	}
	if (n == 0 || n >= hostlen) {
		return -1;
	}
	memcpy(host, server, n);
	host[n] = '\0';
	return 0;
}

int
dns_update_server_parse(const char *server, struct sockaddr_storage *ss, socklen_t *len, char *name,
                        size_t namelen, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	int port, rc = -1;

	memset(ss, 0, sizeof(*ss));
	if (server == NULL || split_server(server, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen,
		         "dns-update %s: not an address: IPV4[:PORT] or [IPV6]:PORT (port 1 to "
		         "65535)",
		         server != NULL ? server : "(none)");
		goto out;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 && server[0] != '[') {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		snprintf(name, namelen, "%s:%d", host, port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(name, namelen, "[%s]:%d", host, port);
	} else {
		snprintf(err, errlen,
		         "dns-update %s: not an IP address (give the primary server's address, "
		         "not its name)",
		         server);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
dns_update_server_split(const char *server, char *host, size_t hostlen, int *port, bool *is_name,
                        char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char spelled[80];
	char name[DNS_UPDATE_HOST_MAX + 1];
	char why[160];
	int rc = -1;

	*is_name = false;
	if (dns_update_server_parse(server, &ss, &len, spelled, sizeof(spelled), err, errlen) ==
	    0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
			          (socklen_t)hostlen);
			*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
			          (socklen_t)hostlen);
			*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
		rc = 0;
		goto out;
	}
	/* Not an address: a host name, "NAME" or "NAME:PORT". A string of
	 * digits and dots is a mistyped address, not a name (RFC 1123 2.1: a
	 * top-level label is never all digits). */
	if (server == NULL || server[0] == '[' || strchr(server, '*') != NULL ||
	    split_server(server, name, sizeof(name), port) < 0 ||
	    strspn(name, "0123456789.") == strlen(name)) {
		snprintf(err, errlen,
		         "dns-update %s: not an address or host name: IPV4[:PORT], [IPV6]:PORT or "
		         "NAME[:PORT] (port 1 to 65535)",
		         server != NULL ? server : "(none)");
		goto out;
	}
	if (ident_dns_name(name, host, hostlen, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "dns-update %s: not an address or host name: %s", server,
		         why);
		goto out;
	}
	*is_name = true;
	rc = 0;
out:
	return rc;
}

/* ---- the end ---- */

static void
release(struct dns_update *u)
{
	ev_io_stop(u->loop, &u->io);
	ev_timer_stop(u->loop, &u->timer);
	if (u->fd >= 0) {
		close(u->fd);
	}
	dns_update_key_destroy(u->key);
	dns_update_msg_finish(&u->msg);
	free(u->out);
	free(u->in);
	free(u);
}

void
dns_update_cancel(struct dns_update *u)
{
	if (u != NULL) {
		release(u);
	}
}

/* Frees u, then calls its done: done may do anything, even stop the loop
 * or free what arg points at. */
static void __attribute__((format(printf, 3, 4)))
finish(struct dns_update *u, enum dns_update_result result, const char *fmt, ...)
{
	dns_update_done_fn done = u->done;
	void *arg = u->arg;
	char text[512], message[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(message, sizeof(message), "dns-update %s: %s", u->server, text);
	release(u);
	done(result, message, arg);
}

static void
watch(struct dns_update *u, int events)
{
	ev_io_stop(u->loop, &u->io);
	ev_io_set(&u->io, u->fd, events);
	ev_io_start(u->loop, &u->io);
}

static void
restart_timer(struct dns_update *u, double seconds)
{
	ev_timer_stop(u->loop, &u->timer);
	ev_timer_set(&u->timer, seconds, 0.0);
	ev_timer_start(u->loop, &u->timer);
}

/* Ends the update with what the reply said. */
static void
reply_end(struct dns_update *u, enum dns_update_msg_reply verdict, const char *why)
{
	static const enum dns_update_result results[DNS_UPDATE_MSG_REPLY__MAX] = {
	        [DNS_UPDATE_MSG_NOT_OURS] = DNS_UPDATE_NO_ANSWER,
	        [DNS_UPDATE_MSG_TRUNCATED] = DNS_UPDATE_NO_ANSWER,
	        [DNS_UPDATE_MSG_DONE] = DNS_UPDATE_OK,
	        [DNS_UPDATE_MSG_RCODE] = DNS_UPDATE_RCODE,
	        [DNS_UPDATE_MSG_TSIG] = DNS_UPDATE_TSIG,
	};

	finish(u, results[verdict], "%s%s", u->tcp ? "over TCP: " : "", why);
}

/* ---- TCP ---- */

static int
tcp_start(struct dns_update *u)
{
	int rc = -1;

	ev_io_stop(u->loop, &u->io);
	close(u->fd);
	u->tcp = true;
	u->in_len = 0;
	u->out_len = LEN_PREFIX + u->msg.len;
	u->out = malloc(u->out_len);
	u->fd = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->out == NULL || u->fd < 0) {
		snprintf(u->last_error, sizeof(u->last_error), "%s",
		         u->out == NULL ? "out of memory" : strerror(errno));
		goto out;
	}
	u->out[0] = (uint8_t)(u->msg.len >> 8);
	u->out[1] = (uint8_t)(u->msg.len & 0xff);
	memcpy(u->out + LEN_PREFIX, u->msg.wire, u->msg.len);
	if (connect(u->fd, (struct sockaddr *)&u->addr, u->addrlen) < 0 && errno != EINPROGRESS) {
		snprintf(u->last_error, sizeof(u->last_error), "connect: %s", strerror(errno));
		goto out;
	}
	watch(u, EV_WRITE);
	restart_timer(u, u->try_s * DNS_UPDATE_TRIES);
	rc = 0;
out:
	return rc;
}

/* Sends what is left of the message; connect(2)'s result first. Returns
 * 0 (sent, or not yet), or -1 with last_error set. */
static int
tcp_send(struct dns_update *u)
{
	int error = 0;
	socklen_t elen = sizeof(error);
	ssize_t n;

	if (!u->connected) {
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &error, &elen) < 0) {
			error = errno;
		}
		if (error != 0) {
			snprintf(u->last_error, sizeof(u->last_error), "connect: %s",
			         strerror(error));
			return -1;
		}
		u->connected = true;
	}
	n = send(u->fd, u->out + u->out_pos, u->out_len - u->out_pos, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return 0;
		}
		snprintf(u->last_error, sizeof(u->last_error), "send: %s", strerror(errno));
		return -1;
	}
	u->out_pos += (size_t)n;
	if (u->out_pos == u->out_len) {
		watch(u, EV_READ);
	}
	return 0;
}

/* Reads the reply: the length, then that many octets. Returns 1 when it
 * is whole, 0 when more is to come, -1 with last_error set. */
static int
tcp_recv(struct dns_update *u)
{
	size_t want = LEN_PREFIX;
	ssize_t n;

	if (u->in_len >= LEN_PREFIX) {
		want += ((size_t)u->in[0] << 8) | u->in[1];
	}
	n = recv(u->fd, u->in + u->in_len, want - u->in_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return 0;
		}
		snprintf(u->last_error, sizeof(u->last_error), "recv: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		snprintf(u->last_error, sizeof(u->last_error),
		         "the server closed the connection before its reply");
		return -1;
	}
	u->in_len += (size_t)n;
	if (u->in_len == LEN_PREFIX) {
		return 0;
	}
	return u->in_len == LEN_PREFIX + (((size_t)u->in[0] << 8) | u->in[1]) ? 1 : 0;
}

static void
tcp_io(struct dns_update *u, int revents)
{
	enum dns_update_msg_reply verdict;
	char why[512];
	int got = 0;

	if ((revents & EV_WRITE) != 0 && tcp_send(u) < 0) {
		got = -1;
	} else if ((revents & EV_READ) != 0) {
		got = tcp_recv(u);
	}
	if (got < 0) {
		finish(u, DNS_UPDATE_NO_ANSWER, "over TCP: %s", u->last_error);
		return;
	}
	if (got == 0) {
		return;
	}
	verdict = dns_update_msg_check(&u->msg, u->key, u->in + LEN_PREFIX, u->in_len - LEN_PREFIX,
	                               time(NULL), why, sizeof(why));
	if (verdict == DNS_UPDATE_MSG_TRUNCATED) {
		snprintf(why, sizeof(why), "a truncated reply");
	} else if (verdict == DNS_UPDATE_MSG_NOT_OURS) {
		/* RFC 7766 7: over TCP the reply answers this connection's
		 * one query: anything else is a broken server. */
		snprintf(why, sizeof(why), "a reply that is not to the update");
	}
	reply_end(u, verdict, why);
}

/* ---- UDP ---- */

static void
udp_send(struct dns_update *u)
{
	ssize_t n = send(u->fd, u->msg.wire, u->msg.len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n < 0) {
		/* Kept for the message; the try's timer still decides. */
		snprintf(u->last_error, sizeof(u->last_error), "send: %s", strerror(errno));
	}
	watch(u, EV_READ);
}

/* Reads the datagrams that came. */
static void
udp_recv(struct dns_update *u)
{
	enum dns_update_msg_reply verdict;
	char why[512];
	ssize_t n;

	for (;;) {
		n = recv(u->fd, u->in, MSG_MAX, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return;
		}
		if (n < 0) {
			/* ECONNREFUSED from an ICMP port unreachable: the
			 * server may be starting; the next try will tell. */
			snprintf(u->last_error, sizeof(u->last_error), "%s", strerror(errno));
			continue;
		}
		verdict = dns_update_msg_check(&u->msg, u->key, u->in, (size_t)n, time(NULL), why,
		                               sizeof(why));
		if (verdict == DNS_UPDATE_MSG_NOT_OURS) {
			log_debug("dns-update %s: ignored %s", u->server, why);
			continue;
		}
		if (verdict == DNS_UPDATE_MSG_TRUNCATED) {
			if (tcp_start(u) < 0) {
				finish(u, DNS_UPDATE_NO_ANSWER, "over TCP: %s", u->last_error);
			}
			return;
		}
		reply_end(u, verdict, why);
		return;
	}
}

static void
on_io(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct dns_update *u = w->data;

	if (u->tcp) {
		tcp_io(u, revents);
	} else if ((revents & EV_WRITE) != 0) {
		udp_send(u);
	} else {
		udp_recv(u);
	}
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct dns_update *u = w->data;

	if (u->tcp) {
		finish(u, DNS_UPDATE_NO_ANSWER, "over TCP: no reply in %g s",
		       u->try_s * DNS_UPDATE_TRIES);
		return;
	}
	if (u->try_no >= DNS_UPDATE_TRIES) {
		finish(u, DNS_UPDATE_NO_ANSWER, "no answer after %d tries (%g s each)%s%s",
		       u->try_no, u->try_s, u->last_error[0] != '\0' ? ": " : "", u->last_error);
		return;
	}
	/* The same message again: its id and MAC are those a late reply to an
	 * earlier try carries too. */
	u->try_no++;
	watch(u, EV_WRITE);
	restart_timer(u, u->try_s);
}

/* The UDP socket, connected: the kernel then passes only datagrams from
 * the server's address and port. */
static int
udp_open(struct dns_update *u, char *err, size_t errlen)
{
	int rc = -1;

	u->fd = socket(u->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		snprintf(err, errlen, "dns-update %s: socket: %s", u->server, strerror(errno));
		goto out;
	}
	if (connect(u->fd, (struct sockaddr *)&u->addr, u->addrlen) < 0) {
		snprintf(err, errlen, "dns-update %s: connect: %s", u->server, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
dns_update_send(struct ev_loop *loop, const char *server, const struct dns_update_key *key,
                const char *zone, enum dns_update_op op, const char *name, const char *value,
                double try_s, dns_update_done_fn done, void *arg, struct dns_update **handle,
                char *err, size_t errlen)
{
	struct dns_update *u = NULL;
	char why[256];
	uint16_t id;
	int rc = -1;

	*handle = NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		snprintf(err, errlen, "dns-update: out of memory");
		goto out;
	}
	u->fd = -1;
	u->loop = loop;
	ev_io_init(&u->io, on_io, -1, EV_WRITE);
	ev_timer_init(&u->timer, on_timer, 0.0, 0.0);
	u->io.data = u;
	u->timer.data = u;
	if (dns_update_server_parse(server, &u->addr, &u->addrlen, u->server, sizeof(u->server),
	                            err, errlen) < 0) {
		goto out;
	}
	/* RFC 5452 9.2: an id no one off the path can guess (TSIG aside). */
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		snprintf(err, errlen, "dns-update %s: getrandom: %s", u->server, strerror(errno));
		goto out;
	}
	if (dns_update_msg_build(&u->msg, key, zone, op, name, value, id, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "dns-update %s: %s", u->server, why);
		goto out;
	}
	u->key = dns_update_key_dup(key);
	u->in = malloc(LEN_PREFIX + MSG_MAX);
	if (u->key == NULL || u->in == NULL) {
		snprintf(err, errlen, "dns-update %s: out of memory", u->server);
		goto out;
	}
	if (udp_open(u, err, errlen) < 0) {
		goto out;
	}
	u->try_s = try_s > 0 ? try_s : DNS_UPDATE_TRY_S;
	u->try_no = 1;
	u->done = done;
	u->arg = arg;
	/* Sent when the socket is writable: whatever happens, done comes
	 * from the loop. */
	watch(u, EV_WRITE);
	restart_timer(u, u->try_s);
	*handle = u;
	u = NULL;
	rc = 0;
out:
	if (u != NULL) {
		release(u);
	}
	return rc;
}
