#include "io/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

#define LISTENER_ACCEPTS_PER_EVENT 64
#define LISTENER_PAUSE_S 1. /* out of descriptors: try again later */

struct listener {
	struct ev_loop *loop;
	struct listener_config cfg;
	char *name;
	int fd;
	struct ev_io io;
	struct ev_timer pause;
	struct list conns; /* oldest first */
	size_t n_conns;
};

void
listener_conn_close(struct listener_conn *c)
{
	struct listener *l = c->listener;

	ev_io_stop(l->loop, &c->io);
	ev_timer_stop(l->loop, &c->timer);
	if (l->cfg.close != NULL) {
		l->cfg.close(c);
	}
	close(c->fd);
	list_unlink(&c->node);
	l->n_conns--;
	free(c);
}

void
listener_conn_watch(struct listener_conn *c, int events)
{
	struct ev_loop *loop = c->listener->loop;

	if ((c->io.events & (EV_READ | EV_WRITE)) == events && ev_is_active(&c->io)) {
		return;
	}
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(loop, &c->io);
}

void
listener_conn_busy(struct listener_conn *c, bool busy)
{
	c->busy = busy;
}

enum listener_io
listener_conn_send(struct listener_conn *c, const char *buf, size_t len, size_t *pos)
{
	enum listener_io ret = LISTENER_IO_DONE;
	ssize_t n;

	while (*pos < len) {
		n = send(c->fd, buf + *pos, len - *pos, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = LISTENER_IO_AGAIN;
			break;
		}
		if (n <= 0) {
			ret = LISTENER_IO_CLOSED;
			break;
		}
		*pos += (size_t)n;
	}
	return ret;
}

enum listener_io
listener_conn_recv(struct listener_conn *c, char *buf, size_t cap, size_t *len)
{
	enum listener_io ret = LISTENER_IO_DONE;
	ssize_t n;

	do {
		n = recv(c->fd, buf + *len, cap - *len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		ret = LISTENER_IO_AGAIN;
	} else if (n <= 0) {
		ret = LISTENER_IO_CLOSED;
	} else {
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return ret;
}

bool
listener_conn_done(struct listener_conn *c, enum listener_io io)
{
	if (io == LISTENER_IO_CLOSED) {
		listener_conn_close(c);
	}
	return io == LISTENER_IO_DONE;
}

void
listener_conn_timeout(struct listener_conn *c, double timeout_s)
{
	struct ev_loop *loop = c->listener->loop;

	/* The loop's clock stops during a callback, which may have been
	 * long (building a large reply): count from now, not from then. */
	ev_now_update(loop);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, timeout_s, 0.);
	ev_timer_start(loop, &c->timer);
}

void *
listener_arg(const struct listener *l)
{
	return l->cfg.arg;
}

size_t
listener_count(const struct listener *l)
{
	return l->n_conns;
}

static void
on_conn_io(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct listener_conn *c = w->data;

	(void)loop;
	c->listener->cfg.io(c, revents);
}

static void
on_conn_timeout(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	listener_conn_close(w->data);
}

/* The source a per-source cap counts: an IPv4 address (as IPv4-mapped
 * IPv6), or the /64 of an IPv6 address, since one host usually holds a
 * whole /64. */
static void
set_source(struct listener_conn *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const void *addr = NULL;

	memset(c->source, 0, sizeof(c->source));
	if (ss->ss_family == AF_INET) {
		c->source[10] = 0xff;
		c->source[11] = 0xff;
		memcpy(c->source + 12, &sin->sin_addr, 4);
		c->has_source = true;
		addr = &sin->sin_addr;
	} else if (ss->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(c->source, &sin6->sin6_addr, 16);
		} else {
			memcpy(c->source, &sin6->sin6_addr, 8);
		}
		c->has_source = true;
		addr = &sin6->sin6_addr;
	}
	if (addr == NULL) {
		snprintf(c->peer, sizeof(c->peer), "local");
	} else if (inet_ntop(ss->ss_family, addr, c->peer, sizeof(c->peer)) == NULL) {
		snprintf(c->peer, sizeof(c->peer), "?");
	}
}

static bool
same_source(const struct listener_conn *a, const struct listener_conn *b)
{
	return a->has_source && b->has_source && memcmp(a->source, b->source, 16) == 0;
}

/* Whether the client sent something not read yet: a request that arrived
 * while the loop was busy accepting (a burst of validations) is no idle
 * connection to push out. */
static bool
has_input(const struct listener_conn *c)
{
	int pending = 0;

	return ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0;
}

/* The oldest connection that may make room (not busy, nothing waiting to
 * be read), of c's source only when same; NULL when there is none. */
static struct listener_conn *
oldest_idle(struct listener *l, const struct listener_conn *c, bool same)
{
	struct list_node *node;
	struct list_node *tmp;

	list_for_each(&l->conns, node, tmp)
	{
		struct listener_conn *it = list_entry(node, struct listener_conn, node);

		if ((!same || same_source(it, c)) && !it->busy && !has_input(it)) {
			return it;
		}
	}
	return NULL;
}

/* Makes room for c: NULL when there is room, else the connection c
 * replaces (the oldest idle one of its source when that source is at its
 * cap, else the oldest idle one), else c itself when every candidate is
 * busy. Idle ones are looked for only when a cap is reached. */
static struct listener_conn *
victim(struct listener *l, struct listener_conn *c)
{
	struct list_node *node;
	struct list_node *tmp;
	struct listener_conn *old;
	size_t same = 0;

	if (l->cfg.max_per_source > 0) {
		list_for_each(&l->conns, node, tmp)
		{
			same += same_source(list_entry(node, struct listener_conn, node), c);
		}
	}
	if (l->cfg.max_per_source > 0 && same >= l->cfg.max_per_source) {
		old = oldest_idle(l, c, true);
		return old != NULL ? old : c;
	}
	if (l->n_conns >= l->cfg.max_conns) {
		old = oldest_idle(l, c, false);
		return old != NULL ? old : c;
	}
	return NULL;
}

static void
add_conn(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct listener_conn *c = calloc(1, l->cfg.conn_size);
	struct listener_conn *old;

	if (c == NULL) {
		close(fd);
		return;
	}
	c->listener = l;
	c->fd = fd;
	set_source(c, ss);
	old = victim(l, c);
	if (old == c) {
		log_debug("%s: %s: every connection is busy: refused", l->name, c->peer);
		close(fd);
		free(c);
		return;
	}
	if (old != NULL) {
		log_debug("%s: %s: full: closing an idle connection from %s", l->name, c->peer,
		          old->peer);
		listener_conn_close(old);
	}
	list_append(&l->conns, &c->node);
	l->n_conns++;
	ev_io_init(&c->io, on_conn_io, fd, EV_READ);
	c->io.data = c;
	ev_io_start(l->loop, &c->io);
	ev_timer_init(&c->timer, on_conn_timeout, l->cfg.timeout_s, 0.);
	c->timer.data = c;
	ev_timer_start(l->loop, &c->timer);
	if (l->cfg.open != NULL && l->cfg.open(c, l->cfg.arg) < 0) {
		listener_conn_close(c);
	}
}

static void
on_pause(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct listener *l = w->data;

	(void)revents;
	ev_io_start(loop, &l->io);
}

static void
on_accept(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	(void)revents;
	for (int i = 0; i < LISTENER_ACCEPTS_PER_EVENT; i++) {
		sslen = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The socket stays readable: wait instead of
				 * spinning on it. */
				log_warn("%s: accept: %s", l->name, strerror(errno));
				ev_io_stop(loop, &l->io);
				ev_timer_start(loop, &l->pause);
			}
			break;
		}
		add_conn(l, fd, &ss);
	}
}

struct listener *
listener_create(struct ev_loop *loop, int fd, const struct listener_config *cfg)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l != NULL) {
		l->name = strdup(cfg->name);
	}
	if (l == NULL || l->name == NULL) {
		log_error("%s: out of memory", cfg->name);
		free(l);
		l = NULL;
		close(fd);
		goto out;
	}
	l->loop = loop;
	l->cfg = *cfg;
	l->cfg.name = l->name;
	if (l->cfg.conn_size < sizeof(struct listener_conn)) {
		l->cfg.conn_size = sizeof(struct listener_conn);
	}
	l->fd = fd;
	list_init(&l->conns);
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	l->io.data = l;
	ev_io_start(loop, &l->io);
	ev_timer_init(&l->pause, on_pause, LISTENER_PAUSE_S, 0.);
	l->pause.data = l;
out:
	return l;
}

void
listener_destroy(struct listener *l)
{
	if (l == NULL) {
		return;
	}
	while (!list_empty(&l->conns)) {
		listener_conn_close(list_entry(list_first(&l->conns), struct listener_conn, node));
	}
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->pause);
	close(l->fd);
	free(l->name);
	free(l);
}

/* ---- listen addresses ---- */

static int
parse_port(const char *s, in_port_t *port)
{
	unsigned long value = 0;
	size_t i;
	int ret = -1;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5) {
			goto out;
		}
		value = value * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || value == 0 || value > 65535) {
		goto out;
	}
	*port = htons((in_port_t)value);
	ret = 0;
out:
	return ret;
}

/* The address between start and stop, in family's binary form at bin. */
static int
parse_host(int family, const char *start, const char *stop, void *bin)
{
	char host[INET6_ADDRSTRLEN];
	size_t len = (size_t)(stop - start);

	if (len == 0 || len >= sizeof(host)) {
		return -1;
	}
	memcpy(host, start, len);
	host[len] = '\0';
	return inet_pton(family, host, bin) == 1 ? 0 : -1;
}

int
listener_parse_address(const char *address, struct listener_address *out)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	const char *sep;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (strspn(address, "0123456789") == strlen(address)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		out->len = sizeof(*sin6);
		out->dual = true;
		ret = parse_port(address, &sin6->sin6_port);
	} else if (address[0] == '[') {
		sep = strchr(address, ']');
		if (sep == NULL || sep[1] != ':' ||
		    parse_host(AF_INET6, address + 1, sep, &sin6->sin6_addr) < 0) {
			goto out;
		}
		sin6->sin6_family = AF_INET6;
		out->len = sizeof(*sin6);
		out->dual = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
		ret = parse_port(sep + 2, &sin6->sin6_port);
	} else {
		sep = strrchr(address, ':');
		if (sep == NULL || parse_host(AF_INET, address, sep, &sin->sin_addr) < 0) {
			goto out;
		}
		sin->sin_family = AF_INET;
		out->len = sizeof(*sin);
		ret = parse_port(sep + 1, &sin->sin_port);
	}
out:
	return ret;
}

static in_port_t
port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
	                                 : ((const struct sockaddr_in *)ss)->sin_port;
}

const char *
listener_address_name(const char *address, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	struct listener_address a;
	char host[INET6_ADDRSTRLEN];
	int n;

	if (listener_parse_address(address, &a) < 0) {
		return address;
	}
	sin6 = (const struct sockaddr_in6 *)&a.ss;
	sin = (const struct sockaddr_in *)&a.ss;
	if (a.ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		n = snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		n = snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
	}
	return n > 0 && (size_t)n < len ? buf : address;
}

/* What to do about a failed bind: written to buf, empty when there is
 * nothing to add to strerror. */
static void
bind_hint(const char *key, int err, const struct sockaddr_storage *ss, char *buf, size_t len)
{
	unsigned port = (unsigned)ntohs(port_of(ss));

	buf[0] = '\0';
	if (err == EACCES) {
		snprintf(buf, len,
		         ": port %u needs root or CAP_NET_BIND_SERVICE: run acmed as root, grant "
		         "it the capability, or set %s to a port above 1023",
		         port, key);
	} else if (err == EADDRINUSE && strcmp(key, "http-listen") != 0 &&
	           strcmp(key, "tls-listen") != 0) {
		/* Not a challenge responder (metrics-listen): no challenge
		 * advice. */
		snprintf(buf, len,
		         ": another program (or another acmed run) holds port %u: stop it, or "
		         "set %s to a free port",
		         port, key);
	} else if (err == EADDRINUSE) {
		snprintf(buf, len,
		         ": another program (a web server, or acmed run answering challenges) "
		         "holds port %u: stop it, set %s to a free port, or use webroot or a hook "
		         "(with acmed run there, acmed renew --now NAME has it order)",
		         port, key);
	} else if (err == EADDRNOTAVAIL) {
		snprintf(buf, len, ": no interface of this host has that address: set %s to one",
		         key);
	}
}

/* A socket for a: on a kernel without IPv6, a dual wildcard falls back to
 * every IPv4 address, which will do. */
static int
open_socket(struct listener_address *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	in_port_t port;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 && a->dual && errno == EAFNOSUPPORT) {
		port = port_of(&a->ss);
		memset(&a->ss, 0, sizeof(a->ss));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = port;
		a->len = sizeof(*sin);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	return fd;
}

int
listener_open_err(const char *key, const char *address, char *err, size_t errlen)
{
	struct listener_address a;
	char hint[256] = "";
	const char *step;
	int one = 1;
	int v6only;
	int fd = -1;
	int saved;

	if (listener_parse_address(address, &a) < 0) {
		snprintf(err, errlen,
		         "%s %s: expected PORT, ADDR:PORT or [ADDR]:PORT with a port from 1 to "
		         "65535",
		         key, address);
		goto out;
	}
	step = "socket";
	fd = open_socket(&a);
	if (fd < 0) {
		goto fail;
	}
	step = "setsockopt";
	v6only = a.dual ? 0 : 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (a.ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)) {
		goto fail;
	}
	step = "bind";
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		saved = errno;
		bind_hint(key, saved, &a.ss, hint, sizeof(hint));
		errno = saved;
		goto fail;
	}
	step = "listen";
	if (listen(fd, SOMAXCONN) < 0) {
		goto fail;
	}
	goto out;
fail:
	saved = errno;
	snprintf(err, errlen, "%s %s: %s: %s%s", key, address, step, strerror(saved), hint);
	if (fd >= 0) {
		close(fd);
		fd = -1;
	}
	errno = saved;
out:
	return fd;
}

int
listener_open(const char *key, const char *address)
{
	char err[512];
	int fd = listener_open_err(key, address, err, sizeof(err));

	if (fd < 0) {
		int saved = errno;

		log_error("%s", err);
		errno = saved;
	}
	return fd;
}

struct listener *
listener_start(struct ev_loop *loop, const char *key, const char *address,
               const struct listener_config *cfg)
{
	struct listener *l = NULL;
	int fd = listener_open(key, address);

	if (fd >= 0) {
		l = listener_create(loop, fd, cfg);
	}
	if (l != NULL) {
		log_debug("%s: listening", cfg->name);
	}
	return l;
}
