/* The clients and the fake remote of the responders' tests
 * (challenge_client.h). */
#include "challenge_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/list.h"

/* --- the loop ------------------------------------------------------------------ */

static void
on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(bool *)w->data = true;
	ev_break(loop, EVBREAK_ALL);
}

void
client_run_until(struct ev_loop *loop, const bool *flag, double seconds)
{
	ev_timer watchdog;
	bool expired = false;

	ev_now_update(loop);
	ev_timer_init(&watchdog, on_watchdog, seconds, 0.);
	watchdog.data = &expired;
	ev_timer_start(loop, &watchdog);
	while ((flag == NULL || !*flag) && !expired) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &watchdog);
	if (flag != NULL && !*flag) {
		fail_msg("still waiting after %.1f s", seconds);
	}
}

void
client_run_for(struct ev_loop *loop, double seconds)
{
	client_run_until(loop, NULL, seconds);
}

void
client_run_until_count(struct ev_loop *loop, const int *count, int n, double seconds)
{
	for (double waited = 0; *count < n && waited < seconds; waited += 0.02) {
		client_run_for(loop, 0.02);
	}
	if (*count < n) {
		fail_msg("%d of %d after %.1f s", *count, n, seconds);
	}
}

/* --- sockets ---------------------------------------------------------------------- */

int
client_free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* A blocking connect to the loop's own listener: the kernel completes it
 * from the backlog. */
static int
connect_to(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
on_readable(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct client_http *h = w->data;
	ssize_t n = recv(w->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len, MSG_DONTWAIT);

	(void)revents;
	if (n > 0) {
		h->len += (size_t)n;
		h->buf[h->len] = '\0';
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	h->eof = true;
	ev_io_stop(loop, w);
}

static void
watch(struct ev_loop *loop, struct client_http *h, int fd)
{
	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->fd = fd;
	ev_io_init(&h->io, on_readable, fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
}

void
client_http_start(struct ev_loop *loop, struct client_http *h, int port, const char *method,
                  const char *path)
{
	char request[512];
	int fd = connect_to(port);
	int n = snprintf(request, sizeof(request), "%s %s HTTP/1.1\r\nHost: example.org\r\n\r\n",
	                 method, path);

	assert_int_equal(send(fd, request, (size_t)n, MSG_NOSIGNAL), n);
	watch(loop, h, fd);
}

const char *
client_http_finish(struct client_http *h)
{
	client_run_until(h->loop, &h->eof, 10.);
	close(h->fd);
	h->fd = -1;
	return h->buf;
}

void
client_http_drop(struct client_http *h)
{
	ev_io_stop(h->loop, &h->io);
	close(h->fd);
	h->fd = -1;
}

/* --- TLS ----------------------------------------------------------------------------- */

static void
seen_cert(SSL *ssl, struct client_tls_seen *out)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	int i = cert != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
	GENERAL_NAMES *names =
	        cert != NULL ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;

	out->ok = true;
	SSL_get0_alpn_selected(ssl, &p, &n);
	snprintf(out->alpn, sizeof(out->alpn), "%.*s", (int)n, (const char *)p);
	if (i >= 0) {
		X509_EXTENSION *ext = X509_get_ext(cert, i);
		ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);

		out->critical = X509_EXTENSION_get_critical(ext) == 1;
		out->ext_len = ASN1_STRING_length(v);
		if (out->ext_len > 0 && out->ext_len <= (int)sizeof(out->ext)) {
			memcpy(out->ext, ASN1_STRING_get0_data(v), (size_t)out->ext_len);
		}
	}
	for (int k = 0; names != NULL && k < sk_GENERAL_NAME_num(names); k++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
		size_t used = strlen(out->san);
		char ip[64] = "";

		if (gn->type == GEN_DNS) {
			snprintf(out->san + used, sizeof(out->san) - used, "DNS:%s;",
			         (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
		} else if (gn->type == GEN_IPADD) {
			int len = ASN1_STRING_length(gn->d.iPAddress);

			inet_ntop(len == 4 ? AF_INET : AF_INET6,
			          ASN1_STRING_get0_data(gn->d.iPAddress), ip, sizeof(ip));
			snprintf(out->san + used, sizeof(out->san) - used, "IP:%s;", ip);
		}
	}
	GENERAL_NAMES_free(names);
	ASN1_OBJECT_free(oid);
	X509_free(cert);
}

static void
child_handshake(int report, int port, const char *sni, const char *alpn)
{
	struct client_tls_seen out;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
	int fd = connect_to(port);
	unsigned char protos[32];

	memset(&out, 0, sizeof(out));
	if (ssl == NULL) {
		_exit(1);
	}
	SSL_set_fd(ssl, fd);
	if (sni != NULL) {
		SSL_set_tlsext_host_name(ssl, sni);
	}
	if (alpn != NULL) {
		protos[0] = (unsigned char)strlen(alpn);
		memcpy(protos + 1, alpn, strlen(alpn));
		SSL_set_alpn_protos(ssl, protos, (unsigned)strlen(alpn) + 1);
	}
	if (SSL_connect(ssl) == 1) {
		seen_cert(ssl, &out);
	}
	if (write(report, &out, sizeof(out)) != (ssize_t)sizeof(out)) {
		_exit(1);
	}
	_exit(0);
}

void
client_tls_start(struct ev_loop *loop, struct client_tls *t, int port, const char *sni,
                 const char *alpn)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		close(fds[0]);
		child_handshake(fds[1], port, sni, alpn);
	}
	close(fds[1]);
	watch(loop, &t->pipe, fds[0]);
}

void
client_tls_finish(struct client_tls *t, struct client_tls_seen *seen)
{
	client_http_finish(&t->pipe);
	/* (The default loop reaps children itself.) A child that failed wrote nothing. */
	assert_int_equal(t->pipe.len, sizeof(*seen));
	memcpy(seen, t->pipe.buf, sizeof(*seen));
}

void
client_tls_assert_identifier(const struct client_tls_seen *seen, const char *key_auth)
{
	unsigned char want[34] = {0x04, 0x20};
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(key_auth, strlen(key_auth), want + 2, &len, EVP_sha256(), NULL),
	                 1);
	assert_true(seen->critical);
	assert_int_equal(seen->ext_len, sizeof(want));
	assert_memory_equal(seen->ext, want, sizeof(want));
}

/* --- the fake remote -------------------------------------------------------------------- */

struct challenge_lookup {
	struct list_node node;
	struct fake_remote *fr;
	ev_timer timer;
	challenge_found_fn found;
	void *arg;
	char key[256];
};

static struct list pending = {{&pending.head, &pending.head}};

static void
answer(struct challenge_lookup *l)
{
	struct fake_remote *fr = l->fr;
	bool known = fr->key != NULL && strcmp(l->key, fr->key) == 0;
	challenge_found_fn found = l->found;
	void *arg = l->arg;

	ev_timer_stop(fr->loop, &l->timer);
	list_unlink(&l->node);
	if (fr->waiting == l) {
		fr->waiting = NULL;
	}
	free(l);
	fr->founds++;
	fr->found_flag = true;
	found(known ? fr->value : NULL, arg);
}

static void
on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	answer(w->data);
}

static int
fake_lookup(void *ctx, enum challenge_type type, const char *key, challenge_found_fn found,
            void *arg, struct challenge_lookup **handle)
{
	struct fake_remote *fr = ctx;
	struct challenge_lookup *l;

	fr->lookups++;
	fr->type = type;
	snprintf(fr->last_key, sizeof(fr->last_key), "%s", key);
	*handle = NULL;
	if (fr->mode == FAKE_REFUSE) {
		return -1;
	}
	l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->fr = fr;
	l->found = found;
	l->arg = arg;
	snprintf(l->key, sizeof(l->key), "%s", key);
	list_push(&pending, &l->node);
	ev_timer_init(&l->timer, on_delay, fr->delay, 0.);
	l->timer.data = l;
	if (fr->mode == FAKE_IMMEDIATE) {
		answer(l);
		return 0;
	}
	if (fr->mode == FAKE_DELAYED) {
		ev_timer_start(fr->loop, &l->timer);
	}
	fr->waiting = l;
	*handle = l;
	return 0;
}

static void
fake_cancel(void *ctx, struct challenge_lookup *l)
{
	struct fake_remote *fr = ctx;

	assert_ptr_equal(l->fr, fr);
	fr->cancels++;
	ev_timer_stop(fr->loop, &l->timer);
	list_unlink(&l->node);
	if (fr->waiting == l) {
		fr->waiting = NULL;
	}
	free(l);
}

void
fake_remote_init(struct fake_remote *fr, struct ev_loop *loop, enum fake_mode mode, const char *key,
                 const char *value)
{
	memset(fr, 0, sizeof(*fr));
	fr->loop = loop;
	fr->mode = mode;
	fr->delay = 0.2;
	fr->key = key;
	fr->value = value;
	fr->remote.lookup = fake_lookup;
	fr->remote.cancel = fake_cancel;
	fr->remote.ctx = fr;
}

void
fake_remote_answer(struct fake_remote *fr)
{
	assert_non_null(fr->waiting);
	answer(fr->waiting);
}

void
fake_remote_finish(struct fake_remote *fr)
{
	struct list_node *n, *tmp;

	list_for_each(&pending, n, tmp)
	{
		struct challenge_lookup *l = list_entry(n, struct challenge_lookup, node);

		if (l->fr == fr) {
			ev_timer_stop(fr->loop, &l->timer);
			list_unlink(&l->node);
			free(l);
		}
	}
	fr->waiting = NULL;
}
