#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tls_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

static char ca_path[64];
static SSL_CTX *server_ctx;

/* Certificate -------------------------------------------------------------- */

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ret = -1;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext != NULL && X509_add_ext(x, ext, -1) == 1) {
		ret = 0;
	}
	X509_EXTENSION_free(ext);
	return ret;
}

int
tls_server_init(void)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	int fd;
	int ret = -1;

	signal(SIGPIPE, SIG_IGN);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (pkey == NULL || x == NULL) {
		goto out;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	if (add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, NID_subject_alt_name, "IP:127.0.0.1") < 0) {
		goto out;
	}
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		goto out;
	}
	snprintf(ca_path, sizeof(ca_path), "/tmp/acmed-test-tls-server-XXXXXX");
	fd = mkstemp(ca_path);
	if (fd < 0) {
		ca_path[0] = '\0';
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	if (PEM_write_X509(f, x) != 1) {
		goto out;
	}
	server_ctx = SSL_CTX_new(TLS_server_method());
	if (server_ctx == NULL || SSL_CTX_use_certificate(server_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(server_ctx, pkey) != 1) {
		goto out;
	}
	ret = 0;
out:
	if (f != NULL && fclose(f) != 0) {
		ret = -1;
	}
	if (ret < 0) {
		ERR_print_errors_fp(stderr);
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}

void
tls_server_finish(void)
{
	SSL_CTX_free(server_ctx);
	server_ctx = NULL;
	if (ca_path[0] != '\0') {
		unlink(ca_path);
		ca_path[0] = '\0';
	}
}

const char *
tls_server_ca_file(void)
{
	return ca_path;
}

/* Server ------------------------------------------------------------------- */

void
tls_server_put(SSL *ssl, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		int n = SSL_write(ssl, p, len > 16384 ? 16384 : (int)len);

		if (n <= 0) {
			_exit(0);
		}
		p += n;
		len -= (size_t)n;
	}
}

void
tls_server_putf(SSL *ssl, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		_exit(1);
	}
	tls_server_put(ssl, buf, (size_t)n);
}

/* Reads at least one more byte into buf; the connection's process exits when
 * the client is gone or buf is full. */
static size_t
read_more(SSL *ssl, char *buf, size_t size, size_t have)
{
	int n;

	if (have == size - 1) {
		_exit(1);
	}
	n = SSL_read(ssl, buf + have, (int)(size - 1 - have));
	if (n <= 0) {
		_exit(0);
	}
	have += (size_t)n;
	buf[have] = '\0';
	return have;
}

/* Reads requests on fd and hands each to handler until the client or the
 * handler closes the connection; never returns. */
static void
serve(int fd, int port, tls_server_handler handler)
{
	static char buf[65536];
	size_t have = 0;
	/* static: what a server child holds when killed stays reachable, so
	 * valgrind on the test reports nothing for the children. */
	static SSL *ssl;

	ssl = SSL_new(server_ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		_exit(1);
	}
	for (;;) {
		struct tls_server_request req = {.content_type = ""};
		size_t hdr_len;
		char *end;
		char *h;

		end = memmem(buf, have, "\r\n\r\n", 4);
		while (end == NULL) {
			have = read_more(ssl, buf, sizeof(buf), have);
			end = memmem(buf, have, "\r\n\r\n", 4);
		}
		hdr_len = (size_t)(end + 4 - buf);
		*end = '\0';
		h = strcasestr(buf, "\r\nContent-Length:");
		if (h != NULL) {
			req.body_len = strtoul(h + 17, NULL, 10);
		}
		h = strcasestr(buf, "\r\nContent-Type:");
		if (h != NULL) {
			req.content_type = h + 15 + strspn(h + 15, " \t");
			req.content_type_len = strcspn(req.content_type, "\r");
		}
		if (sscanf(buf, "%15s %255s", req.method, req.path) != 2) {
			_exit(1);
		}
		*end = '\r';
		if (req.body_len > sizeof(buf) - 1 - hdr_len) {
			_exit(1);
		}
		while (have < hdr_len + req.body_len) {
			have = read_more(ssl, buf, sizeof(buf), have);
		}
		req.raw = buf;
		req.raw_len = hdr_len + req.body_len;
		req.body = buf + hdr_len;
		req.port = port;
		if (!handler(ssl, &req)) {
			SSL_shutdown(ssl);
			_exit(0);
		}
		memmove(buf, buf + req.raw_len, have - req.raw_len);
		have -= req.raw_len;
		buf[have] = '\0';
	}
}

int
tls_server_listen(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A forked child in its own process group accepts and forks one grandchild
 * per connection; tls_server_stop kills the group. */
void
tls_server_start(struct tls_server *s, tls_server_handler handler)
{
	int fd;

	fd = tls_server_listen(&s->port);
	assert_true(fd >= 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		alarm(30);
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c < 0) {
				if (errno == EINTR) {
					continue;
				}
				_exit(1);
			}
			if (fork() == 0) {
				close(fd);
				alarm(30);
				serve(c, s->port, handler);
				_exit(0);
			}
			close(c);
		}
	}
	setpgid(s->pid, s->pid);
	close(fd);
}

void
tls_server_stop(struct tls_server *s)
{
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}
