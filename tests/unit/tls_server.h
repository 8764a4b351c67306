/* A loopback TLS server for the unit tests, forked by the test: a self-signed
 * certificate for 127.0.0.1 made in-process, a child that accepts and a
 * grandchild per connection that reads HTTP/1.1 requests and hands each to
 * the test's handler, which writes the response. */
#ifndef ACMED_TEST_TLS_SERVER_H
#define ACMED_TEST_TLS_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_server {
	pid_t pid; /* the accepting child; 0 when stopped */
	int port;
};

/* One request as the server read it. The pointers point into the server's
 * buffer: borrowed for the duration of the handler. */
struct tls_server_request {
	char method[16];
	char path[256];
	const char *raw; /* the request line, the headers and the body */
	size_t raw_len;
	const char *content_type; /* the Content-Type value, "" when absent */
	size_t content_type_len;
	const char *body; /* not NUL-terminated */
	size_t body_len;
	int port; /* the server's */
};

/* Answers one request on ssl (tls_server_put, tls_server_putf). Runs in the
 * connection's process: it may _exit. Returns whether the connection stays
 * open. */
typedef bool (*tls_server_handler)(SSL *ssl, const struct tls_server_request *req);

/* Makes the server's key and certificate, writes the certificate to a new
 * file under /tmp (tls_server_ca_file) and ignores SIGPIPE: the server
 * writes to sockets the client may have closed. Once, before any
 * tls_server_start. 0 or -1. */
int tls_server_init(void);

/* Frees what tls_server_init made and removes the file. Safe when
 * tls_server_init failed or never ran. */
void tls_server_finish(void);

/* The certificate for clients to trust: a path, borrowed until
 * tls_server_finish. */
const char *tls_server_ca_file(void);

/* A socket listening on 127.0.0.1 on a port the system picks, stored in
 * *port. A new descriptor, or -1. */
int tls_server_listen(int *port);

/* Forks the server (in its own process group) on a new port; s->pid and
 * s->port say where. Fails the test when it cannot. */
void tls_server_start(struct tls_server *s, tls_server_handler handler);

/* Kills the server and every connection it forked. Safe on a stopped one. */
void tls_server_stop(struct tls_server *s);

/* Write to the client; when the client is gone the connection's process
 * exits. tls_server_putf writes at most 8 kB at once. */
void tls_server_put(SSL *ssl, const void *buf, size_t len);
void tls_server_putf(SSL *ssl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
