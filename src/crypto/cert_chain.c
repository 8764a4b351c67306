/* Certificates from PEM text: a CA's chain, read and checked before it is
 * installed, the issuers of an installed set, a certificate file. */
#include "crypto/cert_chain.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"

#define PEM_BEGIN "-----BEGIN "
#define PEM_END_CERT "-----END CERTIFICATE-----"
#define PEM_DASHES "-----"
/* Longer than any label RFC 7468 knows; enough to name what was sent. */
#define PEM_LABEL_MAX 64

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads the label of a "-----BEGIN label-----" line starting at pem[pos]
 * into label (PEM_LABEL_MAX + 1 bytes) and the offset just after the closing
 * dashes into *end. Returns 0, or -1 when there is no such line. */
static int
pem_begin(const char *pem, size_t len, size_t pos, char *label, size_t *end)
{
	size_t begin_len = strlen(PEM_BEGIN), dash_len = strlen(PEM_DASHES), i, n;
	int rc = -1;

	if (len - pos < begin_len || memcmp(pem + pos, PEM_BEGIN, begin_len) != 0) {
		goto out;
	}
	pos += begin_len;
	for (n = 0; n <= PEM_LABEL_MAX && pos + n < len; n++) {
		i = pos + n;
		if (len - i >= dash_len && memcmp(pem + i, PEM_DASHES, dash_len) == 0) {
			break;
		}
		if (pem[i] < 0x20 || pem[i] > 0x7e) {
			goto out;
		}
	}
	if (n == 0 || n > PEM_LABEL_MAX || pos + n == len) {
		goto out;
	}
	memcpy(label, pem + pos, n);
	label[n] = '\0';
	*end = pos + n + dash_len;
	rc = 0;
out:
	return rc;
}

/* The DER of the certificate in one PEM block of len bytes. RFC 7468
 * section 5.1 certificates have no headers, and an encrypted block would
 * make OpenSSL prompt for a password, so headers are refused. Returns 0 and
 * a new buffer (OPENSSL_free), or -1. */
static int
pem_block_der(const char *block, size_t len, unsigned char **der, long *der_len)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long datalen = 0;
	int rc = -1;

	if (len > INT_MAX) {
		goto out;
	}
	bio = BIO_new_mem_buf(block, (int)len);
	if (bio == NULL) {
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &datalen) != 1) {
		goto out;
	}
	if (strcmp(name, PEM_STRING_X509) != 0 || header[0] != '\0' || datalen <= 0) {
		goto out;
	}
	*der = data;
	*der_len = datalen;
	data = NULL;
	rc = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/* The certificate in one PEM block, in full. New X509 or NULL. */
static X509 *
pem_block_x509(const char *block, size_t len)
{
	unsigned char *der = NULL;
	long der_len = 0;
	const unsigned char *p;
	X509 *x = NULL;

	if (pem_block_der(block, len, &der, &der_len) == 0) {
		p = der;
		x = d2i_X509(NULL, &p, der_len);
		if (x != NULL && p != der + der_len) {
			X509_free(x);
			x = NULL;
		}
	}
	OPENSSL_free(der);
	return x;
}

/* The leaf in one PEM block, read without its key decoded. New brief or
 * NULL. */
static struct cert_brief *
pem_block_brief(const char *block, size_t len)
{
	unsigned char *der = NULL;
	long der_len = 0;
	struct cert_brief *b = NULL;

	if (pem_block_der(block, len, &der, &der_len) == 0) {
		b = cert_brief_from_der(der, der_len);
	}
	OPENSSL_free(der);
	return b;
}

/* The issuers in a CA's chains repeat: the same intermediate follows every
 * leaf of a batch, and parsing it costs as much as parsing the leaf
 * (OpenSSL 3.0 decodes its public key through provider lookups). The last
 * ISSUER_CACHE_SIZE are kept by their exact PEM text, most recent first, and
 * shared (X509_up_ref): parsed certificates are only read. `acmed status`
 * reads sets on several threads: the cache is behind a mutex. */
#define ISSUER_CACHE_SIZE 4

static struct issuer_entry {
	char *pem;
	size_t len;
	X509 *x;
} issuer_cache[ISSUER_CACHE_SIZE];

static pthread_mutex_t issuer_lock = PTHREAD_MUTEX_INITIALIZER;

static X509 *
issuer_block_x509_locked(const char *block, size_t len)
{
	struct issuer_entry found = {0};
	size_t i;

	for (i = 0; i < ISSUER_CACHE_SIZE && issuer_cache[i].x != NULL; i++) {
		if (issuer_cache[i].len == len && memcmp(issuer_cache[i].pem, block, len) == 0) {
			found = issuer_cache[i];
			break;
		}
	}
	if (found.x == NULL) {
		found.x = pem_block_x509(block, len);
		found.pem = found.x != NULL ? malloc(len) : NULL;
		if (found.pem == NULL) {
			return found.x; /* not kept */
		}
		memcpy(found.pem, block, len);
		found.len = len;
		i = ISSUER_CACHE_SIZE - 1;
		free(issuer_cache[i].pem);
		X509_free(issuer_cache[i].x);
	}
	/* To the front: entries 0 .. i-1 move down one. */
	memmove(&issuer_cache[1], &issuer_cache[0], i * sizeof(issuer_cache[0]));
	issuer_cache[0] = found;
	X509_up_ref(found.x);
	return found.x;
}

static X509 *
issuer_block_x509(const char *block, size_t len)
{
	X509 *x;

	pthread_mutex_lock(&issuer_lock);
	x = issuer_block_x509_locked(block, len);
	pthread_mutex_unlock(&issuer_lock);
	return x;
}

/* cert_chain_parse; with issuers, the first certificate is looked up in
 * the cache too. */
static int
chain_parse(const char *pem, size_t len, bool issuers, struct cert_chain *chain, char *err,
            size_t errlen)
{
	char label[PEM_LABEL_MAX + 1];
	const char *end;
	size_t pos = 0, body, stop;
	X509 *x;
	int rc = -1;

	if (chain == NULL) {
		set_err(err, errlen, "chain: nowhere to store it");
		goto out;
	}
	memset(chain, 0, sizeof(*chain));
	if (pem == NULL) {
		len = 0;
	}
	for (;;) {
		while (pos < len && is_space(pem[pos])) {
			pos++;
		}
		if (pos == len) {
			break;
		}
		if (pem_begin(pem, len, pos, label, &body) != 0) {
			set_err(err, errlen,
			        "chain: unexpected text at byte %zu: not a certificate", pos);
			goto out;
		}
		if (strcmp(label, PEM_STRING_X509) != 0) {
			set_err(err, errlen,
			        "chain: unexpected PEM block '%s': only CERTIFICATE is allowed",
			        label);
			goto out;
		}
		if (chain->n == CERT_MAX_CHAIN) {
			set_err(err, errlen, "chain: more than %d certificates", CERT_MAX_CHAIN);
			goto out;
		}
		end = memmem(pem + body, len - body, PEM_END_CERT, strlen(PEM_END_CERT));
		if (end == NULL || memmem(pem + body, (size_t)(end - pem) - body, PEM_BEGIN,
		                          strlen(PEM_BEGIN)) != NULL) {
			set_err(err, errlen, "chain: certificate %zu has no END CERTIFICATE line",
			        chain->n + 1);
			goto out;
		}
		stop = (size_t)(end - pem) + strlen(PEM_END_CERT);
		x = NULL;
		if (chain->n == 0 && !issuers) {
			chain->leaf = pem_block_brief(pem + pos, stop - pos);
		} else {
			x = issuer_block_x509(pem + pos, stop - pos);
		}
		if (x == NULL && (chain->n > 0 || issuers || chain->leaf == NULL)) {
			set_err(err, errlen, "chain: certificate %zu is not a valid certificate",
			        chain->n + 1);
			goto out;
		}
		chain->certs[chain->n++] = x;
		pos = stop;
	}
	if (chain->n == 0) {
		set_err(err, errlen, "chain: no certificate");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		/* The reason is in err; nothing of this is for the log. */
		ERR_clear_error();
		cert_chain_finish(chain);
	}
	return rc;
}

int
cert_chain_parse(const char *pem, size_t len, struct cert_chain *chain, char *err, size_t errlen)
{
	return chain_parse(pem, len, false, chain, err, errlen);
}

int
cert_issuers_parse(const char *pem, size_t len, struct cert_chain *chain, char *err, size_t errlen)
{
	return chain_parse(pem, len, true, chain, err, errlen);
}

X509 *
cert_chain_leaf(struct cert_chain *chain)
{
	if (chain->n > 0 && chain->certs[0] == NULL && chain->leaf != NULL) {
		chain->certs[0] = cert_brief_to_x509(chain->leaf);
	}
	return chain->n > 0 ? chain->certs[0] : NULL;
}

void
cert_chain_finish(struct cert_chain *chain)
{
	size_t i;

	if (chain != NULL) {
		for (i = 0; i < chain->n && i < CERT_MAX_CHAIN; i++) {
			X509_free(chain->certs[i]);
			chain->certs[i] = NULL;
		}
		cert_brief_free(chain->leaf);
		chain->leaf = NULL;
		chain->n = 0;
	}
}

/* Whether certificate i of chain is issuer's by name and signature. */
static bool
signed_by(const struct cert_chain *chain, size_t i, X509 *issuer)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer);

	if (i == 0) {
		return X509_NAME_cmp(cert_brief_issuer(chain->leaf),
		                     X509_get_subject_name(issuer)) == 0 &&
		       cert_brief_signed_by(chain->leaf, issuer);
	}
	return pub != NULL &&
	       X509_NAME_cmp(X509_get_issuer_name(chain->certs[i]),
	                     X509_get_subject_name(issuer)) == 0 &&
	       X509_verify(chain->certs[i], pub) == 1;
}

int
cert_chain_check(const struct cert_chain *chain, EVP_PKEY *key, const struct ident *ids,
                 size_t n_ids, time_t now, char *err, size_t errlen)
{
	struct ident *names = NULL;
	const struct ident *missing;
	size_t n_names = 0, i;
	const struct cert_brief *leaf;
	time_t not_before, not_after;
	struct tm tm;
	char date[32];
	int rc = -1;

	if (chain == NULL || chain->n == 0 || chain->n > CERT_MAX_CHAIN) {
		set_err(err, errlen, "chain: no certificate");
		goto out;
	}
	if (key == NULL || ids == NULL || n_ids == 0) {
		set_err(err, errlen, "chain: no key or no identifiers to check against");
		goto out;
	}
	leaf = chain->leaf;
	if (leaf == NULL || cert_brief_key_eq(leaf, key) != 1) {
		set_err(err, errlen, "certificate key does not match the order's key");
		goto out;
	}
	if (cert_brief_ids(leaf, &names, &n_names) != 0) {
		set_err(err, errlen, "certificate has a malformed subjectAltName");
		goto out;
	}
	missing = ident_first_missing(ids, n_ids, names, n_names);
	if (missing != NULL) {
		set_err(err, errlen, "certificate lacks name '%s'",
		        missing->value != NULL ? missing->value : "");
		goto out;
	}
	missing = ident_first_missing(names, n_names, ids, n_ids);
	if (missing != NULL) {
		set_err(err, errlen, "certificate has unrequested name '%s'", missing->value);
		goto out;
	}
	if (cert_brief_times(leaf, &not_before, &not_after) != 0) {
		set_err(err, errlen, "certificate has a malformed validity");
		goto out;
	}
	if (not_after <= now) {
		if (gmtime_r(&not_after, &tm) == NULL ||
		    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
			date[0] = '\0';
		}
		set_err(err, errlen, "certificate expired on %s", date);
		goto out;
	}
	/* Only the leaf's dates matter: CAs send cross-signed intermediates that
	 * expired on purpose, and the TLS client picks its own path. */
	for (i = 0; i + 1 < chain->n; i++) {
		if (!signed_by(chain, i, chain->certs[i + 1])) {
			set_err(err, errlen,
			        "chain: certificate %zu is not signed by certificate %zu", i + 1,
			        i + 2);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		ERR_clear_error();
	}
	ident_list_free(names, n_names);
	return rc;
}

/* A certificate file is never encrypted: refuse instead of prompting. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

X509 *
cert_load(const char *path, char *err, size_t errlen)
{
	FILE *fp = NULL;
	X509 *x = NULL;

	if (path == NULL) {
		set_err(err, errlen, "%s", strerror(EINVAL));
		goto out;
	}
	fp = fopen(path, "re");
	if (fp == NULL) {
		set_err(err, errlen, "%s", strerror(errno));
		goto out;
	}
	x = PEM_read_X509(fp, NULL, no_password, NULL);
	if (x == NULL) {
		set_err(err, errlen, "no PEM certificate");
		ERR_clear_error();
	}
out:
	if (fp != NULL) {
		fclose(fp);
	}
	return x;
}

char *
cert_chain_pem(const struct cert_chain *chain, size_t from, size_t to, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *out = NULL;
	const unsigned char *der;
	size_t der_len;
	long n = 0;

	if (bio == NULL) {
		goto out;
	}
	for (size_t i = from; i < to && i < chain->n; i++) {
		if (i == 0 && chain->leaf != NULL) {
			/* As PEM_write_bio_X509 writes it: no header, the DER
			 * as received (an X509 keeps its encoding too). */
			der = cert_brief_der(chain->leaf, &der_len);
			if (der_len > LONG_MAX ||
			    PEM_write_bio(bio, PEM_STRING_X509, "", der, (long)der_len) <= 0) {
				goto out;
			}
		} else if (PEM_write_bio_X509(bio, chain->certs[i]) != 1) {
			goto out;
		}
	}
	n = BIO_get_mem_data(bio, &data);
	if (n < 0) {
		goto out;
	}
	out = malloc((size_t)n + 1);
	if (out != NULL) {
		if (n > 0) {
			memcpy(out, data, (size_t)n);
		}
		out[n] = '\0';
		*len = (size_t)n;
	}
out:
	BIO_free(bio);
	return out;
}
