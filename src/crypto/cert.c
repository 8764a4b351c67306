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

/* RFC 1035 section 2.3.4: a name is at most 255 octets. */
#define CERT_NAME_MAX 255

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
