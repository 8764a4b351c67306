/* The accept loop and connection list shared by acmed's servers (the
 * control socket, the standalone http-01 and the tls-alpn-01 responders):
 * a listening socket on the event loop, its connections in the order they
 * were accepted, each with an ev_io and an ev_timer, and the rules that keep
 * a flood of idle clients from locking the others out:
 *
 * - at most max_conns connections; when full, a new connection replaces
 *   the oldest one that is not busy (see listener_conn_busy), and is only
 *   refused when every connection is busy;
 * - at most max_per_source of them from one source address (an IPv4
 *   address, an IPv6 /64); past it, the new connection replaces that
 *   source's oldest one that is not busy, so a flooding source only ever
 *   pushes out its own connections;
 * - a connection whose timer runs out is closed.
 *
 * The protocol lives in the callbacks. Each protocol's connection struct
 * starts with a struct listener_conn, and conn_size says how large it is. */
#ifndef ACMED_LISTENER_H
#define ACMED_LISTENER_H

#include <arpa/inet.h>
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/list.h"

struct listener;

struct listener_conn {
	struct listener *listener;
	struct list_node node; /* in the listener's list, oldest first */
	int fd;
	bool busy;
	bool has_source; /* a TCP peer: source is set */
	unsigned char source[16]; /* IPv4-mapped, or an IPv6 /64 */
	char peer[INET6_ADDRSTRLEN]; /* for log lines: the address, or "local" */
	struct ev_io io;
	struct ev_timer timer;
};

struct listener_config {
	const char *name; /* for log lines, e.g. "standalone [::]:80"; copied */
	size_t conn_size; /* of the protocol's struct, at least sizeof(struct listener_conn) */
	size_t max_conns;
	size_t max_per_source; /* 0: no cap per source */
	double timeout_s; /* from accept; listener_conn_timeout changes it */
	/* Called for each accepted connection (zeroed past the listener_conn,
	 * watching EV_READ, timer started): 0, or -1 to close it at once. */
	int (*open)(struct listener_conn *c, void *arg);
	/* The connection's socket is ready for what listener_conn_watch asked. */
	void (*io)(struct listener_conn *c, int revents);
	/* Frees what open and io made; then the socket is closed and c freed.
	 * May be NULL. */
	void (*close)(struct listener_conn *c);
	void *arg; /* given to open; listener_arg returns it */
};

/* A TCP listen address as the settings http-listen and tls-listen give it:
 * "PORT" (every address, IPv4 and IPv6), "ADDR:PORT" (IPv4) or
 * "[ADDR]:PORT" (IPv6), with a port from 1 to 65535. */
struct listener_address {
	struct sockaddr_storage ss;
	socklen_t len;
	bool dual; /* an IPv6 wildcard that takes IPv4 too */
};

/* Parses address into *out. Returns 0, or -1 when it is none of the forms
 * above. */
int listener_parse_address(const char *address, struct listener_address *out);

/* The address in one spelling per socket ("8080" and "[::0]:08080" are
 * both "[::]:8080"), for telling whether two settings ask for the same
 * listener; address itself when it does not parse. Returns buf or
 * address (borrowed). */
const char *listener_address_name(const char *address, char *buf, size_t len);

/* A listening TCP socket (non-blocking, close-on-exec) on address (see
 * struct listener_address); -1 with the one-line reason in err, named
 * after the setting key ("http-listen [::]:80: bind: Address already in
 * use: ..."), saying what to do about it. */
int listener_open_err(const char *key, const char *address, char *err, size_t errlen);

/* listener_open_err with the reason logged; errno is the failure's
 * (EADDRINUSE: another socket holds the port). */
int listener_open(const char *key, const char *address);

/* Serves the listening socket fd (non-blocking), which it owns from now on,
 * even on failure. cfg is copied. Returns NULL (logged) when out of memory. */
struct listener *listener_create(struct ev_loop *loop, int fd, const struct listener_config *cfg);

/* listener_open(key, address), then listener_create on the socket.
 * Returns the listener, or NULL (logged; errno as listener_open's). */
struct listener *listener_start(struct ev_loop *loop, const char *key, const char *address,
                                const struct listener_config *cfg);

/* Closes every connection (their close callbacks run) and the listening
 * socket, and frees l. NULL is fine. */
void listener_destroy(struct listener *l);

/* cfg.arg, borrowed. */
void *listener_arg(const struct listener *l);

/* Connections open now. */
size_t listener_count(const struct listener *l);

/* Closes c (its close callback runs) and frees it. */
void listener_conn_close(struct listener_conn *c);

/* Watches c's socket for events (EV_READ and/or EV_WRITE) from now on. */
void listener_conn_watch(struct listener_conn *c, int events);

/* A busy connection is serving a request: it is not replaced by new ones,
 * only closed by its timer. A new connection is not busy. */
void listener_conn_busy(struct listener_conn *c, bool busy);

/* What listener_conn_send and listener_conn_recv did. */
enum listener_io {
	LISTENER_IO_DONE, /* sent all of it; received some */
	LISTENER_IO_AGAIN, /* not now: call again when the socket is ready */
	LISTENER_IO_CLOSED, /* the peer is gone or closed its side: close c */
	LISTENER_IO__MAX,
};

/* Sends buf from *pos to len on c's socket without blocking, advancing
 * *pos. */
enum listener_io listener_conn_send(struct listener_conn *c, const char *buf, size_t len,
                                    size_t *pos);

/* Receives what has come on c's socket into buf from *len up to cap
 * (more than *len), advancing *len and writing a NUL at buf[*len]: buf
 * holds cap + 1 bytes. */
enum listener_io listener_conn_recv(struct listener_conn *c, char *buf, size_t cap, size_t *len);

/* Whether a send or receive on c gave io DONE, so that its caller goes on;
 * CLOSED closes c (then freed), AGAIN leaves it waiting. */
bool listener_conn_done(struct listener_conn *c, enum listener_io io);

/* Restarts c's timer: c is closed timeout_s seconds from now. */
void listener_conn_timeout(struct listener_conn *c, double timeout_s);

#endif
