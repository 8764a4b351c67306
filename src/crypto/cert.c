#include "crypto/cert.h"

#include "base/b64.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_BEGIN "-----BEGIN "
#define PEM_END_CERT "-----END CERTIFICATE-----"
#define PEM_DASHES "-----"
/* Longer than any label RFC 7468 knows; enough to name what was sent. */
#define PEM_LABEL_MAX 64
/* RFC 1035 section 2.3.4: a name is at most 255 octets. */
#define CERT_NAME_MAX 255

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

/* The certificate in one PEM block of len bytes. RFC 7468 section 5.1
 * certificates have no headers, and an encrypted block would make OpenSSL
 * prompt for a password, so headers are refused. New X509 or NULL. */
static X509 *
pem_block_x509(const char *block, size_t len)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long datalen = 0;
	X509 *x = NULL, *ret = NULL;

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
	p = data;
	x = d2i_X509(NULL, &p, datalen);
	if (x == NULL || p != data + datalen) {
		goto out;
	}
	ret = x;
	x = NULL;
out:
	X509_free(x);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return ret;
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
		x = chain->n == 0 && !issuers ? pem_block_x509(pem + pos, stop - pos)
		                              : issuer_block_x509(pem + pos, stop - pos);
		if (x == NULL) {
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

void
cert_chain_finish(struct cert_chain *chain)
{
	size_t i;

	if (chain != NULL) {
		for (i = 0; i < chain->n && i < CERT_MAX_CHAIN; i++) {
			X509_free(chain->certs[i]);
			chain->certs[i] = NULL;
		}
		chain->n = 0;
	}
}

int
cert_chain_check(const struct cert_chain *chain, EVP_PKEY *key, const struct ident *ids,
                 size_t n_ids, time_t now, char *err, size_t errlen)
{
	struct ident *names = NULL;
	const struct ident *missing;
	size_t n_names = 0, i;
	EVP_PKEY *pub;
	X509 *leaf;
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
	leaf = chain->certs[0];
	pub = X509_get0_pubkey(leaf);
	if (pub == NULL || EVP_PKEY_eq(pub, key) != 1) {
		set_err(err, errlen, "certificate key does not match the order's key");
		goto out;
	}
	if (cert_ids(leaf, &names, &n_names) != 0) {
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
	if (cert_validity(leaf, &not_before, &not_after) != 0) {
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
		pub = X509_get0_pubkey(chain->certs[i + 1]);
		if (pub == NULL || X509_verify(chain->certs[i], pub) != 1 ||
		    X509_NAME_cmp(X509_get_issuer_name(chain->certs[i]),
		                  X509_get_subject_name(chain->certs[i + 1])) != 0) {
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

static int
asn1_time_unix(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	int rc = -1;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		goto out;
	}
	*out = timegm(&tm);
	rc = 0;
out:
	return rc;
}

int
cert_times(const ASN1_TIME *from, const ASN1_TIME *until, time_t *not_before, time_t *not_after)
{
	time_t nb, na;
	int rc = -1;

	if (from == NULL || until == NULL || asn1_time_unix(from, &nb) != 0 ||
	    asn1_time_unix(until, &na) != 0) {
		ERR_clear_error();
		goto out;
	}
	if (not_before != NULL) {
		*not_before = nb;
	}
	if (not_after != NULL) {
		*not_after = na;
	}
	rc = 0;
out:
	return rc;
}

int
cert_validity(X509 *cert, time_t *not_before, time_t *not_after)
{
	if (cert == NULL) {
		return -1;
	}
	return cert_times(X509_get0_notBefore(cert), X509_get0_notAfter(cert), not_before,
	                  not_after);
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

/* The content octets of a DER INTEGER of len bytes. Returns 0 or -1. */
static int
der_integer_content(const unsigned char *der, size_t len, const unsigned char **content,
                    size_t *content_len)
{
	size_t n, off, i, k;
	int rc = -1;

	if (len < 3 || der[0] != V_ASN1_INTEGER) {
		goto out;
	}
	if (der[1] < 0x80) {
		n = der[1];
		off = 2;
	} else {
		k = der[1] & 0x7f;
		if (k == 0 || k > sizeof(uint32_t) || len < 2 + k) {
			goto out;
		}
		n = 0;
		for (i = 0; i < k; i++) {
			n = (n << 8) | der[2 + i];
		}
		off = 2 + k;
	}
	if (n == 0 || len - off != n) {
		goto out;
	}
	*content = der + off;
	*content_len = n;
	rc = 0;
out:
	return rc;
}

char *
cert_ari_id_of(const ASN1_OCTET_STRING *keyid, const ASN1_INTEGER *serial_number)
{
	const unsigned char *content;
	unsigned char *der = NULL, *p;
	char *aki = NULL, *serial = NULL, *ret = NULL;
	size_t content_len, aki_len, serial_len;
	int n;

	if (keyid == NULL || ASN1_STRING_length(keyid) <= 0 || serial_number == NULL) {
		goto out;
	}
	n = i2d_ASN1_INTEGER(serial_number, NULL);
	if (n <= 0) {
		log_openssl("cert: ari: serial number");
		goto out;
	}
	der = malloc((size_t)n);
	if (der == NULL) {
		log_error("cert: ari: out of memory");
		goto out;
	}
	p = der;
	if (i2d_ASN1_INTEGER(serial_number, &p) != n) {
		log_openssl("cert: ari: serial number");
		goto out;
	}
	if (der_integer_content(der, (size_t)n, &content, &content_len) != 0) {
		log_error("cert: ari: malformed serial number");
		goto out;
	}
	aki = b64_encode(ASN1_STRING_get0_data(keyid), (size_t)ASN1_STRING_length(keyid));
	serial = b64_encode(content, content_len);
	if (aki == NULL || serial == NULL) {
		log_error("cert: ari: out of memory");
		goto out;
	}
	aki_len = strlen(aki);
	serial_len = strlen(serial);
	ret = malloc(aki_len + 1 + serial_len + 1);
	if (ret == NULL) {
		log_error("cert: ari: out of memory");
		goto out;
	}
	memcpy(ret, aki, aki_len);
	ret[aki_len] = '.';
	memcpy(ret + aki_len + 1, serial, serial_len + 1);
out:
	free(aki);
	free(serial);
	free(der);
	return ret;
}

char *
cert_ari_id(X509 *cert)
{
	if (cert == NULL) {
		return NULL;
	}
	return cert_ari_id_of(X509_get0_authority_key_id(cert), X509_get0_serialNumber(cert));
}

/* A dNSName as text: printable ASCII without spaces, so that it can be
 * compared and shown in a message as it is. New string or NULL. */
static char *
dns_text(const ASN1_IA5STRING *s)
{
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s), i;
	char *text = NULL;

	if (len <= 0 || len > CERT_NAME_MAX) {
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (data[i] < 0x21 || data[i] > 0x7e) {
			goto out;
		}
	}
	text = malloc((size_t)len + 1);
	if (text != NULL) {
		memcpy(text, data, (size_t)len);
		text[len] = '\0';
	}
out:
	return text;
}

static char *
ip_text(const ASN1_OCTET_STRING *s)
{
	char buf[INET6_ADDRSTRLEN];
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s), af;
	char *text = NULL;

	if (len == sizeof(struct in_addr)) {
		af = AF_INET;
	} else if (len == sizeof(struct in6_addr)) {
		af = AF_INET6;
	} else {
		goto out;
	}
	if (inet_ntop(af, data, buf, sizeof(buf)) != NULL) {
		text = strdup(buf);
	}
out:
	return text;
}

int
cert_names_ids(const GENERAL_NAMES *names, struct ident **ids, size_t *n)
{
	const GENERAL_NAME *gn;
	struct ident *out = NULL;
	size_t count = 0;
	int num, i, rc = -1;

	*ids = NULL;
	*n = 0;
	num = sk_GENERAL_NAME_num(names);
	if (num > 0) {
		out = calloc((size_t)num, sizeof(*out));
		if (out == NULL) {
			goto out;
		}
	}
	for (i = 0; i < num; i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type == GEN_DNS) {
			out[count].type = IDENT_DNS;
			out[count].value = dns_text(gn->d.dNSName);
		} else if (gn->type == GEN_IPADD) {
			out[count].type = IDENT_IP;
			out[count].value = ip_text(gn->d.iPAddress);
		} else {
			continue;
		}
		if (out[count].value == NULL) {
			goto out;
		}
		count++;
	}
	*ids = out;
	out = NULL;
	*n = count;
	rc = 0;
out:
	ident_list_free(out, count);
	return rc;
}

int
cert_ids(X509 *cert, struct ident **ids, size_t *n)
{
	GENERAL_NAMES *names = NULL;
	int crit = -1, rc = -1;

	if (cert == NULL || ids == NULL || n == NULL) {
		goto out;
	}
	*ids = NULL;
	*n = 0;
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (names == NULL) {
		/* -1 is no subjectAltName at all; anything else is malformed or
		 * repeated. */
		if (crit == -1) {
			rc = 0;
		}
		goto out;
	}
	rc = cert_names_ids(names, ids, n);
out:
	if (rc != 0) {
		ERR_clear_error();
	}
	GENERAL_NAMES_free(names);
	return rc;
}

/* The first entry nid of name as a new UTF-8 string, or NULL. */
static char *
name_entry(const X509_NAME *name, int nid)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	char *ret = NULL;
	int n;

	if (i < 0) {
		return NULL;
	}
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n >= 0) {
		ret = strndup((const char *)utf8, (size_t)n);
	}
	OPENSSL_free(utf8);
	return ret;
}

char *
cert_name_text(const X509_NAME *name)
{
	char *ret = NULL;
	char *line;

	if (name == NULL) {
		goto out;
	}
	ret = name_entry(name, NID_commonName);
	if (ret == NULL) {
		ret = name_entry(name, NID_organizationName);
	}
	if (ret == NULL) {
		line = X509_NAME_oneline(name, NULL, 0);
		ret = line != NULL ? strdup(line) : NULL;
		OPENSSL_free(line);
	}
out:
	return ret;
}

char *
cert_issuer_name(X509 *cert)
{
	return cert_name_text(cert != NULL ? X509_get_issuer_name(cert) : NULL);
}

char *
cert_serial_hex(X509 *cert)
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *ret = NULL;
	const char *digits;
	size_t len, i = 0;
	bool neg;

	if (cert == NULL) {
		goto out;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	if (bn == NULL) {
		log_openssl("cert: serial number");
		goto out;
	}
	hex = BN_bn2hex(bn);
	if (hex == NULL) {
		log_openssl("cert: serial number");
		goto out;
	}
	digits = hex;
	neg = digits[0] == '-';
	if (neg) {
		digits++;
	}
	/* BN_bn2hex() writes whole bytes: "0ABC" for 0xabc. */
	while (digits[0] == '0' && digits[1] != '\0') {
		digits++;
	}
	len = strlen(digits);
	ret = malloc(len + 2);
	if (ret == NULL) {
		log_error("cert: serial number: out of memory");
		goto out;
	}
	if (neg) {
		ret[i++] = '-';
	}
	for (; *digits != '\0'; digits++) {
		ret[i++] = *digits >= 'A' && *digits <= 'F' ? (char)(*digits - 'A' + 'a') : *digits;
	}
	ret[i] = '\0';
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

char *
cert_chain_pem(const struct cert_chain *chain, size_t from, size_t to, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *out = NULL;
	long n = 0;

	if (bio == NULL) {
		goto out;
	}
	for (size_t i = from; i < to && i < chain->n; i++) {
		if (PEM_write_bio_X509(bio, chain->certs[i]) != 1) {
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
