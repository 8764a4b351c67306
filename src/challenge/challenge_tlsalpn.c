/* tls-alpn-01 served by acmed itself (RFC 8737): a TLS listener on the event
 * loop that completes handshakes offering the ALPN protocol "acme-tls/1"
 * for a name being validated, with a self-signed certificate for that name
 * carrying the acmeIdentifier extension, and then closes. One instance
 * serves every order in flight. */
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

/* ---- the handshakes ---- */

/* The certificate follows the SNI; without a name being validated there is
 * none to show. */
static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tlsalpn *ta = arg;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct tlsalpn_entry *e = sni != NULL ? entry_find(ta, sni) : NULL;

	if (e == NULL || SSL_use_certificate(ssl, e->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, e->key) != 1) {
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
	const unsigned char *ext = NULL;
	size_t len = 0;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	                              &len) != 1 ||
	    len < 2 || (size_t)((ext[0] << 8) | ext[1]) != len - 2 ||
	    find_protocol(ext + 2, len - 2) < 0) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	/* A validation server, mid-handshake: not one to make room. */
	listener_conn_busy(&((struct tlsalpn_conn *)SSL_get_app_data(ssl))->base, true);
	return SSL_CLIENT_HELLO_SUCCESS;
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
	SSL_free(((struct tlsalpn_conn *)base)->ssl);
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
		tlsalpn_destroy(&ta->base);
		ta = NULL;
	}
	return ta != NULL ? &ta->base : NULL;
}
