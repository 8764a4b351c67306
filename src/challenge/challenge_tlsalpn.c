/* tls-alpn-01 served by acmed itself (RFC 8737): a TLS listener on the event
 * loop that completes handshakes offering the ALPN protocol "acme-tls/1"
 * for a name being validated, with a self-signed certificate for that name
 * carrying the acmeIdentifier extension, and then closes. One instance
 * serves every order in flight. A name it does not hold is asked of its
 * remote (challenge_set_remote: another node's order, in fleet mode): the
 * handshake waits in the ClientHello callback (SSL_CLIENT_HELLO_RETRY)
 * until the answer comes, and the certificate is made for that
 * connection. */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include "io/listener.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* A validation server completes its handshake at once: one that has not
 * within TLSALPN_TIMEOUT_S is dropped, and when the connections run out the
 * oldest idle one makes room (listener.h), so that held-open connections
 * cannot keep the CA out. */
#define TLSALPN_MAX_CONNS 256
#define TLSALPN_MAX_PER_SOURCE 64
#define TLSALPN_MAX_ENTRIES 4096
#define TLSALPN_TIMEOUT_S 5.
#define TLSALPN_MAX_NAME 256
#define TLSALPN_MAX_MESSAGE 256
/* RFC 8737 section 6.1: the ALPN protocol, and the id-pe-acmeIdentifier
 * extension (1.3.6.1.5.5.7.1.31). */
#define TLSALPN_PROTOCOL "acme-tls/1"
#define TLSALPN_OID "1.3.6.1.5.5.7.1.31"

/* A name being validated: the certificate to show for it. */
struct tlsalpn_entry {
	char *sni; /* the SNI that asks for it, lower case */
	char *key_auth;
	X509 *cert;
	EVP_PKEY *key;
};

struct tlsalpn_conn {
	struct listener_conn base;
	SSL *ssl;
	/* A name asked of the remote: the lookup while waiting, then the
	 * certificate made from its answer (NULL: none). */
	struct challenge_lookup *lookup;
	bool asked;
	bool asking; /* inside the remote's lookup call */
	bool answered; /* found was called */
	char ident[TLSALPN_MAX_NAME];
	enum ident_type id_type;
	X509 *cert;
	EVP_PKEY *key;
};

struct tlsalpn {
	struct challenge base;
	char *listen;
	int fd;
	SSL_CTX *ctx;
	struct listener *listener;
	struct tlsalpn_entry *entries;
	size_t n_entries;
	size_t cap_entries;
};

/* ---- the certificates ---- */

/* The SNI a validation server sends for the identifier: the name itself,
 * lower case, or for an IP address its reverse-DNS name (RFC 8738 section
 * 6). Returns 0, or -1 when it is neither. */
static int
sni_of(const struct challenge_task *task, char *out, size_t len)
{
	unsigned char a[16];
	size_t pos = 0;
	int n;

	if (task->id_type == IDENT_DNS) {
		n = snprintf(out, len, "%s", task->identifier);
		if (n <= 0 || (size_t)n >= len) {
			return -1;
		}
		for (char *p = out; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z') {
				*p = (char)(*p - 'A' + 'a');
			}
		}
		return 0;
	}
	if (task->id_type != IDENT_IP) {
		return -1;
	}
	if (inet_pton(AF_INET, task->identifier, a) == 1) {
		n = snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	if (inet_pton(AF_INET6, task->identifier, a) != 1 || len < 16 * 4 + sizeof("ip6.arpa")) {
		return -1;
	}
	for (int i = 15; i >= 0; i--) {
		pos += (size_t)snprintf(out + pos, len - pos, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	}
	snprintf(out + pos, len - pos, "ip6.arpa");
	return 0;
}

/* The identifier as a subjectAltName entry. */
static GENERAL_NAMES *
san_of(const struct challenge_task *task)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
	unsigned char a[16];
	int type = GEN_DNS;
	int ok = 0;

	if (names == NULL || gn == NULL || value == NULL) {
		goto out;
	}
	if (task->id_type == IDENT_IP) {
		type = GEN_IPADD;
		if (inet_pton(AF_INET, task->identifier, a) == 1) {
			ok = ASN1_OCTET_STRING_set(value, a, 4);
		} else if (inet_pton(AF_INET6, task->identifier, a) == 1) {
			ok = ASN1_OCTET_STRING_set(value, a, 16);
		}
	} else {
		/* An IA5String is an ASN1_STRING like the octet string. */
		ok = ASN1_STRING_set(value, task->identifier, (int)strlen(task->identifier));
	}
	if (!ok) {
		goto out;
	}
	GENERAL_NAME_set0_value(gn, type, value);
	value = NULL;
	if (!sk_GENERAL_NAME_push(names, gn)) {
		goto out;
	}
	return names;
out:
	ASN1_OCTET_STRING_free(value);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return NULL;
}

/* RFC 8737 section 3: the acmeIdentifier extension, critical, whose value
 * is the DER OCTET STRING of SHA-256(key authorization). */
static X509_EXTENSION *
acme_identifier(const char *key_auth)
{
	unsigned char der[2 + 32];
	unsigned int len = 0;
	ASN1_OBJECT *oid = OBJ_txt2obj(TLSALPN_OID, 1);
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;

	der[0] = 0x04; /* OCTET STRING */
	der[1] = 32;
	if (oid != NULL && value != NULL &&
	    EVP_Digest(key_auth, strlen(key_auth), der + 2, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32 && ASN1_OCTET_STRING_set(value, der, sizeof(der))) {
		ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, value);
	}
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(value);
	return ext;
}

/* A self-signed certificate for the task's identifier with a new P-256 key:
 * 0, or -1 (OpenSSL's errors logged). */
static int
make_cert(const struct challenge_task *task, X509 **cert, EVP_PKEY **key)
{
	X509 *x = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	GENERAL_NAMES *san = san_of(task);
	X509_EXTENSION *ext = acme_identifier(task->key_auth);
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	if (x == NULL || k == NULL || san == NULL || ext == NULL ||
	    RAND_bytes(serial, sizeof(serial)) != 1) {
		goto out;
	}
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(x);
	if (bn == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                (const unsigned char *)"acmed tls-alpn-01", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, k) ||
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, san, 1, X509V3_ADD_DEFAULT) ||
	    !X509_add_ext(x, ext, -1) || !X509_sign(x, k, EVP_sha256())) {
		goto out;
	}
	*cert = x;
	*key = k;
	x = NULL;
	k = NULL;
	rc = 0;
out:
	if (rc < 0) {
		log_openssl("tls-alpn-01: %s: cannot make the validation certificate",
		            task->identifier);
	}
	BN_free(bn);
	X509_EXTENSION_free(ext);
	GENERAL_NAMES_free(san);
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

/* ---- the table of names ---- */

static struct tlsalpn_entry *
entry_find(struct tlsalpn *ta, const char *sni)
{
	for (size_t i = 0; i < ta->n_entries; i++) {
		if (strcasecmp(ta->entries[i].sni, sni) == 0) {
			return &ta->entries[i];
		}
	}
	return NULL;
}

static void
entry_free(struct tlsalpn_entry *e)
{
	free(e->sni);
	free(e->key_auth);
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
}

/* Adds or replaces the certificate for the task's name. 0, or -1 with the
 * reason in message. */
static int
entry_set(struct tlsalpn *ta, const struct challenge_task *task, char *message, size_t len)
{
	struct tlsalpn_entry e = {0};
	struct tlsalpn_entry *old;
	char sni[TLSALPN_MAX_NAME];

	if (sni_of(task, sni, sizeof(sni)) < 0) {
		snprintf(message, len, "tls-alpn-01: %s: not a name or an IP address",
		         task->identifier);
		return -1;
	}
	old = entry_find(ta, sni);
	if (old == NULL && ta->n_entries == TLSALPN_MAX_ENTRIES) {
		snprintf(message, len, "tls-alpn-01 %s: %s: too many challenges at once",
		         ta->listen, task->identifier);
		return -1;
	}
	if (make_cert(task, &e.cert, &e.key) < 0 || (e.sni = strdup(sni)) == NULL ||
	    (e.key_auth = strdup(task->key_auth)) == NULL) {
		entry_free(&e);
		snprintf(message, len, "tls-alpn-01: %s: cannot make the validation certificate",
		         task->identifier);
		return -1;
	}
	if (old != NULL) {
		/* A new order for the same name: the newest key authorization
		 * is the one being validated. */
		entry_free(old);
		*old = e;
		return 0;
	}
	if (ta->n_entries == ta->cap_entries) {
		size_t cap = ta->cap_entries != 0 ? ta->cap_entries * 2 : 8;
		struct tlsalpn_entry *grown = realloc(ta->entries, cap * sizeof(*grown));

		if (grown == NULL) {
			entry_free(&e);
			snprintf(message, len, "tls-alpn-01: out of memory");
			return -1;
		}
		ta->entries = grown;
		ta->cap_entries = cap;
	}
	ta->entries[ta->n_entries++] = e;
	return 0;
}

/* Removes the name's certificate unless another key authorization (a newer
 * order) replaced it. */
static void
entry_remove(struct tlsalpn *ta, const struct challenge_task *task)
{
	char sni[TLSALPN_MAX_NAME];
	struct tlsalpn_entry *e;

	if (sni_of(task, sni, sizeof(sni)) < 0 || (e = entry_find(ta, sni)) == NULL ||
	    strcmp(e->key_auth, task->key_auth) != 0) {
		return;
	}
	entry_free(e);
	*e = ta->entries[--ta->n_entries];
}

/* ---- names asked of the remote ---- */

/* The identifier a validation server's SNI stands for (the reverse of
 * sni_of), in canonical text: 0, or -1 when the SNI is not one acmed
 * would have presented. */
static int
ident_of_sni(const char *sni, char *out, size_t len, enum ident_type *type)
{
	static const char v4[] = ".in-addr.arpa";
	static const char v6[] = "ip6.arpa";
	struct challenge_task t = {.id_type = IDENT_IP, .identifier = out};
	char back[TLSALPN_MAX_NAME];
	unsigned char a[16] = {0};
	unsigned b[4];
	size_t n = strlen(sni);
	int family = 0;

	if (n == 0 || n > 253 || strspn(sni, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n ||
	    sni[0] == '.' || strstr(sni, "..") != NULL) {
		return -1;
	}
	if (n > sizeof(v4) - 1 && strcmp(sni + n - (sizeof(v4) - 1), v4) == 0 &&
	    sscanf(sni, "%3u.%3u.%3u.%3u.", &b[3], &b[2], &b[1], &b[0]) == 4) {
		family = AF_INET;
		for (int i = 0; i < 4; i++) {
			a[i] = (unsigned char)(b[i] & 0xff);
		}
	} else if (n == 64 + sizeof(v6) - 1 && strcmp(sni + 64, v6) == 0) {
		family = AF_INET6;
		for (int j = 0; j < 32; j++) {
			const char *hex = "0123456789abcdef";
			const char *d = strchr(hex, sni[2 * j]);

			if (d == NULL || sni[2 * j] == '\0' || sni[2 * j + 1] != '.') {
				return -1;
			}
			a[15 - j / 2] |= (unsigned char)((d - hex) << (j % 2 == 0 ? 0 : 4));
		}
	}
	if (family == 0) {
		*type = IDENT_DNS;
		return snprintf(out, len, "%s", sni) < (int)len ? 0 : -1;
	}
	*type = IDENT_IP;
	/* Only the one spelling sni_of makes (no "007", no 256). */
	if (inet_ntop(family, a, out, (socklen_t)len) == NULL ||
	    sni_of(&t, back, sizeof(back)) < 0 || strcmp(back, sni) != 0) {
		return -1;
	}
	return 0;
}

/* The host name of the ClientHello's server_name extension (RFC 6066
 * section 3), lower case: 0, or -1 when there is none. */
static int
hello_sni(SSL *ssl, char *out, size_t len)
{
	const unsigned char *ext = NULL;
	size_t ext_len = 0;
	size_t n;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) != 1 ||
	    ext_len < 5 || (size_t)((ext[0] << 8) | ext[1]) != ext_len - 2 ||
	    ext[2] != TLSEXT_NAMETYPE_host_name) {
		return -1;
	}
	n = (size_t)((ext[3] << 8) | ext[4]);
	if (n == 0 || n + 5 > ext_len || n >= len) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = ext[5 + i];

		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	out[n] = '\0';
	return memchr(out, '\0', n) == NULL ? 0 : -1;
}

static void conn_step(struct tlsalpn_conn *c);

/* The remote's answer for the name c asked: its certificate made. */
static void
on_found(const char *value, void *arg)
{
	struct tlsalpn_conn *c = arg;
	struct tlsalpn *ta = listener_arg(c->base.listener);
	struct challenge_task t = {
	        .id_type = c->id_type, .identifier = c->ident, .key_auth = value};

	c->lookup = NULL;
	c->answered = true;
	log_debug("tls-alpn-01 %s: %s: %s %s the remote", ta->listen, c->base.peer, c->ident,
	          value != NULL ? "answered by" : "unknown to");
	if (value != NULL) {
		(void)make_cert(&t, &c->cert, &c->key);
	}
	if (!c->asking) {
		conn_step(c);
	}
}

/* Asks the remote for the name of c's ClientHello when this responder
 * does not hold it. Returns 0 when the handshake must wait for the answer,
 * -1 to go on (answered at once, or nothing to ask). */
static int
conn_ask(struct tlsalpn *ta, struct tlsalpn_conn *c)
{
	char sni[TLSALPN_MAX_NAME];
	int rc;

	if (c->asked || ta->base.remote.lookup == NULL || hello_sni(c->ssl, sni, sizeof(sni)) < 0 ||
	    entry_find(ta, sni) != NULL ||
	    ident_of_sni(sni, c->ident, sizeof(c->ident), &c->id_type) < 0) {
		return -1;
	}
	c->asked = true;
	c->asking = true;
	rc = ta->base.remote.lookup(ta->base.remote.ctx, CHALLENGE_TYPE_TLSALPN01, c->ident,
	                            on_found, c, &c->lookup);
	c->asking = false;
	if (rc < 0 || c->answered) {
		c->lookup = NULL;
		return -1;
	}
	/* The handshake stays where it is until on_found; the connection's
	 * timer still closes it (and on_conn_close cancels the lookup). */
	ev_io_stop(ta->base.loop, &c->base.io);
	return 0;
}

/* ---- the handshakes ---- */

/* The certificate follows the SNI; without a name being validated there is
 * none to show. */
static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tlsalpn *ta = arg;
	struct tlsalpn_conn *c = SSL_get_app_data(ssl);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct tlsalpn_entry *e = sni != NULL ? entry_find(ta, sni) : NULL;
	X509 *cert = e != NULL ? e->cert : c->cert;
	EVP_PKEY *key = e != NULL ? e->key : c->key;

	if (cert == NULL || key == NULL || SSL_use_certificate(ssl, cert) != 1 ||
	    SSL_use_PrivateKey(ssl, key) != 1) {
		log_debug("tls-alpn-01 %s: no challenge for '%s'", ta->listen,
		          sni != NULL ? sni : "(no SNI)");
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* The offset of "acme-tls/1" in an ALPN protocol list (RFC 7301 section
 * 3.1, without its length prefix), or -1. */
static long
find_protocol(const unsigned char *in, size_t len)
{
	static const unsigned char proto[] = TLSALPN_PROTOCOL;
	size_t i = 0;

	while (i < len) {
		size_t n = in[i];

		if (i + 1 + n > len) {
			break;
		}
		if (n == sizeof(proto) - 1 && memcmp(in + i + 1, proto, n) == 0) {
			return (long)i + 1;
		}
		i += 1 + n;
	}
	return -1;
}

/* RFC 8737 section 3: only "acme-tls/1". A client that does not offer it
 * is not a validation server and gets no certificate: without the ALPN
 * extension at all, OpenSSL would not ask on_alpn, hence this check on the
 * ClientHello. */
static int
on_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct tlsalpn_conn *c = SSL_get_app_data(ssl);
	const unsigned char *ext = NULL;
	size_t len = 0;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	                              &len) != 1 ||
	    len < 2 || (size_t)((ext[0] << 8) | ext[1]) != len - 2 ||
	    find_protocol(ext + 2, len - 2) < 0) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	/* A validation server, mid-handshake: not one to make room. */
	listener_conn_busy(&c->base, true);
	return conn_ask(arg, c) == 0 ? SSL_CLIENT_HELLO_RETRY : SSL_CLIENT_HELLO_SUCCESS;
}

static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
        unsigned int inlen, void *arg)
{
	long at = find_protocol(in, inlen);

	(void)ssl;
	(void)arg;
	if (at < 0) {
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = in + at;
	*outlen = (unsigned char)(sizeof(TLSALPN_PROTOCOL) - 1);
	return SSL_TLSEXT_ERR_OK;
}

static void
conn_step(struct tlsalpn_conn *c)
{
	struct tlsalpn *ta = listener_arg(c->base.listener);
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		/* RFC 8737 section 3: the validation is the handshake; the
		 * connection ends there. */
		log_debug("tls-alpn-01 %s: %s: handshake for %s", ta->listen, c->base.peer,
		          SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name));
		SSL_shutdown(c->ssl);
		listener_conn_close(&c->base);
		return;
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		listener_conn_watch(&c->base, EV_READ);
		break;
	case SSL_ERROR_WANT_WRITE:
		listener_conn_watch(&c->base, EV_WRITE);
		break;
	case SSL_ERROR_WANT_CLIENT_HELLO_CB:
		break; /* waiting for the remote (conn_ask) */
	default:
		listener_conn_close(&c->base);
		break;
	}
}

static void
on_conn_io(struct listener_conn *base, int revents)
{
	(void)revents;
	conn_step((struct tlsalpn_conn *)base);
}

static int
on_conn_open(struct listener_conn *base, void *arg)
{
	struct tlsalpn_conn *c = (struct tlsalpn_conn *)base;
	struct tlsalpn *ta = arg;

	c->ssl = SSL_new(ta->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, base->fd) != 1) {
		return -1;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_app_data(c->ssl, c);
	return 0;
}

static void
on_conn_close(struct listener_conn *base)
{
	struct tlsalpn_conn *c = (struct tlsalpn_conn *)base;
	struct tlsalpn *ta = listener_arg(base->listener);

	if (c->lookup != NULL) {
		ta->base.remote.cancel(ta->base.remote.ctx, c->lookup);
	}
	SSL_free(c->ssl);
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
}

/* ---- present and cleanup ---- */

static bool
task_ok(const struct challenge_task *task)
{
	bool ok = task != NULL && task->identifier != NULL && task->key_auth != NULL;

	if (!ok) {
		log_error("tls-alpn-01: a challenge without an identifier or key authorization");
	}
	return ok;
}

static int
tlsalpn_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct tlsalpn *ta = (struct tlsalpn *)ch;
	char message[TLSALPN_MAX_MESSAGE] = "";
	int rc;

	if (!task_ok(task)) {
		return -1;
	}
	rc = entry_set(ta, task, message, sizeof(message));
	if (challenge_defer(&ta->base, rc, message, done, arg) < 0) {
		if (rc == 0) {
			entry_remove(ta, task);
		}
		return -1;
	}
	return 0;
}

static int
tlsalpn_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                void *arg)
{
	struct tlsalpn *ta = (struct tlsalpn *)ch;

	if (!task_ok(task)) {
		return -1;
	}
	entry_remove(ta, task);
	return challenge_defer(&ta->base, 0, "", done, arg);
}

static void
tlsalpn_destroy(struct challenge *ch)
{
	struct tlsalpn *ta = (struct tlsalpn *)ch;

	listener_destroy(ta->listener);
	for (size_t i = 0; i < ta->n_entries; i++) {
		entry_free(&ta->entries[i]);
	}
	free(ta->entries);
	SSL_CTX_free(ta->ctx);
	free(ta->listen);
	free(ta);
}

static const struct challenge_ops tlsalpn_ops = {
        .name = "tls-alpn",
        .type = CHALLENGE_TYPE_TLSALPN01,
        .present = tlsalpn_present,
        .cleanup = tlsalpn_cleanup,
        .destroy = tlsalpn_destroy,
};

struct challenge *
challenge_tlsalpn_create(struct ev_loop *loop, const char *address)
{
	struct tlsalpn *ta = NULL;
	char name[128];
	struct listener_config cfg = {
	        .name = name,
	        .conn_size = sizeof(struct tlsalpn_conn),
	        .max_conns = TLSALPN_MAX_CONNS,
	        .max_per_source = TLSALPN_MAX_PER_SOURCE,
	        .timeout_s = TLSALPN_TIMEOUT_S,
	        .open = on_conn_open,
	        .io = on_conn_io,
	        .close = on_conn_close,
	};
	bool ok = false;

	if (address == NULL || address[0] == '\0') {
		log_error("tls-alpn-01: no address given: set tls-listen");
		goto out;
	}
	ta = calloc(1, sizeof(*ta));
	if (ta == NULL) {
		log_error("tls-alpn-01 %s: out of memory", address);
		goto out;
	}
	challenge_init(&ta->base, &tlsalpn_ops, loop);
	ta->listen = strdup(address);
	if (ta->listen == NULL) {
		log_error("tls-alpn-01 %s: out of memory", address);
		goto out;
	}
	/* RFC 8737 section 3: TLS 1.2 or later. */
	ta->ctx = SSL_CTX_new(TLS_server_method());
	if (ta->ctx == NULL || SSL_CTX_set_min_proto_version(ta->ctx, TLS1_2_VERSION) != 1) {
		log_openssl("tls-alpn-01 %s: cannot set up TLS", address);
		goto out;
	}
	SSL_CTX_set_options(ta->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ta->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_tlsext_servername_callback(ta->ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ta->ctx, ta);
	SSL_CTX_set_client_hello_cb(ta->ctx, on_client_hello, ta);
	SSL_CTX_set_alpn_select_cb(ta->ctx, on_alpn, ta);
	snprintf(name, sizeof(name), "tls-alpn-01 %s", address);
	cfg.arg = ta;
	ta->listener = listener_start(loop, "tls-listen", address, &cfg);
	ok = ta->listener != NULL;
out:
	if (!ok && ta != NULL) {
		int saved = errno; /* the bind's, for the caller */

		tlsalpn_destroy(&ta->base);
		ta = NULL;
		errno = saved;
	}
	return ta != NULL ? &ta->base : NULL;
}
