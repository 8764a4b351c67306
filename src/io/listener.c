#include "io/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	struct listener_conn *oldest;
	struct listener_conn *newest;
	size_t n_conns;
};

static void
unlink_conn(struct listener_conn *c)
{
	struct listener *l = c->listener;

	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		l->oldest = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	} else {
		l->newest = c->prev;
	}
	c->prev = NULL;
	c->next = NULL;
	l->n_conns--;
}

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
	unlink_conn(c);
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

/* Makes room for c: NULL when there is room, else the connection c
 * replaces (the oldest idle one of its source when that source is at its
 * cap, else the oldest idle one), else c itself when every candidate is
 * busy. */
static struct listener_conn *
victim(struct listener *l, struct listener_conn *c)
{
	struct listener_conn *it;
	struct listener_conn *oldest_idle = NULL;
	struct listener_conn *oldest_idle_same = NULL;
	size_t same = 0;

	for (it = l->oldest; it != NULL; it = it->next) {
		if (!same_source(it, c)) {
			if (oldest_idle == NULL && !it->busy) {
				oldest_idle = it;
			}
			continue;
		}
		same++;
		if (oldest_idle_same == NULL && !it->busy) {
			oldest_idle_same = it;
		}
		if (oldest_idle == NULL && !it->busy) {
			oldest_idle = it;
		}
	}
	if (l->cfg.max_per_source > 0 && same >= l->cfg.max_per_source) {
		return oldest_idle_same != NULL ? oldest_idle_same : c;
	}
	if (l->n_conns >= l->cfg.max_conns) {
		return oldest_idle != NULL ? oldest_idle : c;
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
	c->prev = l->newest;
	if (l->newest != NULL) {
		l->newest->next = c;
	} else {
		l->oldest = c;
	}
	l->newest = c;
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
	while (l->oldest != NULL) {
		listener_conn_close(l->oldest);
	}
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->pause);
	close(l->fd);
	free(l->name);
	free(l);
}
