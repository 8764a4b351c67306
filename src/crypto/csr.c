#include "crypto/csr.h"

#include "base/log.h"
#include "crypto/cert.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5280 appendix A.1: ub-common-name. */
#define CSR_CN_MAX 64

/* One subjectAltName entry for an identifier: dNSName, or iPAddress with the
 * 4 or 16 address bytes (RFC 8738 section 4). New GENERAL_NAME or NULL. */
static GENERAL_NAME *
general_name(const struct ident *id)
{
	GENERAL_NAME *gn = NULL, *ret = NULL;
	ASN1_STRING *s = NULL;
	unsigned char addr[sizeof(struct in6_addr)];
	size_t addrlen = 0;
	int type = 0;

	if (strlen(id->value) > INT_MAX) {
		log_error("csr: identifier too long");
		goto out;
	}
	switch (id->type) {
	case IDENT_DNS:
		type = GEN_DNS;
		s = ASN1_IA5STRING_new();
		if (s == NULL || ASN1_STRING_set(s, id->value, (int)strlen(id->value)) != 1) {
			log_openssl("csr: %s: subjectAltName", id->value);
			goto out;
		}
		break;
	case IDENT_IP:
		type = GEN_IPADD;
		if (ident_ip_bytes(id->value, addr, &addrlen) < 0) {
			log_error("csr: %s: not an IP address", id->value);
			goto out;
		}
		s = ASN1_OCTET_STRING_new();
		if (s == NULL || ASN1_OCTET_STRING_set(s, addr, (int)addrlen) != 1) {
			log_openssl("csr: %s: subjectAltName", id->value);
			goto out;
		}
		break;
	default:
		log_error("csr: %s: unsupported identifier type", id->value);
		goto out;
	}
	gn = GENERAL_NAME_new();
	if (gn == NULL) {
		log_openssl("csr: %s: subjectAltName", id->value);
		goto out;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	s = NULL;
	ret = gn;
	gn = NULL;
out:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(gn);
	return ret;
}

/* The subjectAltName extension for all identifiers. RFC 5280 section 4.2.1.6:
 * critical when the subject is empty. */
static X509_EXTENSION *
san_extension(const struct ident *ids, size_t n_ids, int critical)
{
	GENERAL_NAMES *names = NULL;
	GENERAL_NAME *gn = NULL;
	X509_EXTENSION *ext = NULL;
	size_t i;

	names = sk_GENERAL_NAME_new_null();
	if (names == NULL) {
		log_openssl("csr: subjectAltName");
		goto out;
	}
	for (i = 0; i < n_ids; i++) {
		gn = general_name(&ids[i]);
		if (gn == NULL) {
			goto out;
		}
		if (sk_GENERAL_NAME_push(names, gn) <= 0) {
			log_openssl("csr: subjectAltName");
			goto out;
		}
		gn = NULL;
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, critical, names);
	if (ext == NULL) {
		log_openssl("csr: subjectAltName");
	}
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return ext;
}

/* The subject: CN is the first dns identifier if it fits, else nothing. */
static X509_NAME *
subject_name(const struct ident *ids, size_t n_ids)
{
	X509_NAME *name = NULL, *ret = NULL;
	size_t i;

	name = X509_NAME_new();
	if (name == NULL) {
		log_openssl("csr: subject");
		goto out;
	}
	for (i = 0; i < n_ids; i++) {
		if (ids[i].type == IDENT_DNS) {
			break;
		}
	}
	if (i < n_ids && strlen(ids[i].value) <= CSR_CN_MAX &&
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	                               (const unsigned char *)ids[i].value, -1, -1, 0) != 1) {
		log_openssl("csr: %s: subject", ids[i].value);
		goto out;
	}
	ret = name;
	name = NULL;
out:
	X509_NAME_free(name);
	return ret;
}

/* The DER of req: a new buffer (free()) of *len bytes, or NULL (logged). */
/* The request's SubjectPublicKeyInfo for an EC key, written directly
 * (RFC 5480 section 2: id-ecPublicKey, the named curve, the uncompressed
 * point). X509_REQ_set_pubkey gives the same bytes, but OpenSSL 3.0 gets
 * there by encoding the key and decoding it again through its provider
 * lookups, a tenth of acmed's CPU per certificate. Returns 1 when set, 0
 * when key is not an EC key on a named curve (the caller takes the general
 * way), -1 on failure. */
static int
set_ec_pubkey(X509_REQ *req, EVP_PKEY *key)
{
	unsigned char point[1 + 2 * 66]; /* P-521 at most */
	char curve[64];
	size_t point_len = 0;
	unsigned char *bits = NULL;
	ASN1_OBJECT *alg;
	ASN1_OBJECT *params;
	int nid;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
	                                   NULL) != 1 ||
	    (nid = OBJ_txt2nid(curve)) == NID_undef ||
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                    sizeof(point), &point_len) != 1 ||
	    point_len == 0 || point[0] != 0x04) {
		return 0;
	}
	alg = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
	params = OBJ_nid2obj(nid);
	bits = OPENSSL_memdup(point, point_len);
	if (alg == NULL || params == NULL || bits == NULL ||
	    X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), alg, V_ASN1_OBJECT, params, bits,
	                           (int)point_len) != 1) {
		OPENSSL_free(bits);
		return -1;
	}
	return 1;
}

static unsigned char *
encode(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	unsigned char *p;
	int n = i2d_X509_REQ(req, NULL);

	if (n <= 0) {
		log_openssl("csr: encode");
		return NULL;
	}
	der = malloc((size_t)n);
	if (der == NULL) {
		log_error("csr: out of memory");
		return NULL;
	}
	p = der;
	if (i2d_X509_REQ(req, &p) != n) {
		log_openssl("csr: encode");
		free(der);
		return NULL;
	}
	*len = (size_t)n;
	return der;
}

unsigned char *
csr_create(EVP_PKEY *key, const struct ident *ids, size_t n_ids, size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *subject = NULL;
	X509_EXTENSION *ext = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char *ret = NULL;
	size_t i;
	int pub;

	if (key == NULL || ids == NULL || n_ids == 0 || len == NULL) {
		log_error("csr: no key or no identifiers");
		goto out;
	}
	for (i = 0; i < n_ids; i++) {
		if (ids[i].value == NULL || ids[i].value[0] == '\0') {
			log_error("csr: identifier %zu is empty", i + 1);
			goto out;
		}
	}
	req = X509_REQ_new();
	if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
		log_openssl("csr: new request");
		goto out;
	}
	subject = subject_name(ids, n_ids);
	if (subject == NULL) {
		goto out;
	}
	if (X509_REQ_set_subject_name(req, subject) != 1) {
		log_openssl("csr: subject");
		goto out;
	}
	ext = san_extension(ids, n_ids, X509_NAME_entry_count(subject) == 0);
	if (ext == NULL) {
		goto out;
	}
	exts = sk_X509_EXTENSION_new_null();
	if (exts == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0) {
		log_openssl("csr: extensions");
		goto out;
	}
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1) {
		log_openssl("csr: extensions");
		goto out;
	}
	pub = set_ec_pubkey(req, key);
	if (pub < 0 || (pub == 0 && X509_REQ_set_pubkey(req, key) != 1)) {
		log_openssl("csr: public key");
		goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		log_openssl("csr: sign");
		goto out;
	}
	ret = encode(req, len);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_EXTENSION_free(ext);
	X509_NAME_free(subject);
	X509_REQ_free(req);
	return ret;
}

/* data as a CSR: PEM when it has a PEM header, else DER. New or NULL. */
static X509_REQ *
read_req(const unsigned char *data, size_t len)
{
	X509_REQ *req = NULL;
	const unsigned char *p = data;
	BIO *bio;

	if (len > INT_MAX) {
		goto out;
	}
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		bio = BIO_new_mem_buf(data, (int)len);
		if (bio != NULL) {
			req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		}
		BIO_free(bio);
		goto out;
	}
	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req != NULL && p != data + len) {
		X509_REQ_free(req);
		req = NULL;
	}
out:
	return req;
}

/* The CSR's names: subjectAltName, else the CN. 0 or -1 with err. */
static int
req_ids(X509_REQ *req, struct ident **ids, size_t *n, char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *names = NULL;
	const X509_NAME *subject;
	char cn[256];
	int crit = -1;
	int len;
	int rc = -1;

	*ids = NULL;
	*n = 0;
	if (exts != NULL) {
		names = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
		if (names == NULL && crit != -1) {
			snprintf(err, errlen, "its subjectAltName cannot be read");
			goto out;
		}
	}
	if (names != NULL) {
		if (cert_names_ids(names, ids, n) < 0) {
			snprintf(err, errlen,
			         "a subjectAltName entry is not a host name or address");
			goto out;
		}
		if (*n > 0) {
			rc = 0;
			goto out;
		}
		ident_list_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	subject = X509_REQ_get_subject_name(req);
	len = subject != NULL ? X509_NAME_get_text_by_NID((X509_NAME *)subject, NID_commonName, cn,
	                                                  sizeof(cn))
	                      : -1;
	if (len <= 0 || (size_t)len >= sizeof(cn) - 1 || strlen(cn) != (size_t)len) {
		snprintf(err, errlen, "it names nothing: no subjectAltName and no subject CN");
		goto out;
	}
	*ids = calloc(1, sizeof(**ids));
	if (*ids != NULL) {
		(*ids)[0].type = ident_type_of(cn);
		(*ids)[0].value = strdup(cn);
	}
	if (*ids == NULL || (*ids)[0].value == NULL) {
		free(*ids);
		*ids = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*n = 1;
	rc = 0;
out:
	GENERAL_NAMES_free(names);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
csr_parse(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
          struct ident **ids, size_t *n_ids, EVP_PKEY **pub, char *err, size_t errlen)
{
	X509_REQ *req = read_req(data, len);
	EVP_PKEY *key = NULL;
	unsigned char *out = NULL;
	int n;
	int rc = -1;

	*der = NULL;
	*ids = NULL;
	*n_ids = 0;
	*pub = NULL;
	if (req == NULL) {
		snprintf(err, errlen, "not a certificate signing request (PEM or DER)");
		goto out;
	}
	key = X509_REQ_get_pubkey(req);
	if (key == NULL) {
		snprintf(err, errlen, "its public key cannot be read");
		goto out;
	}
	if (X509_REQ_verify(req, key) != 1) {
		snprintf(err, errlen, "its signature does not verify with its own key");
		goto out;
	}
	if (req_ids(req, ids, n_ids, err, errlen) < 0) {
		goto out;
	}
	n = i2d_X509_REQ(req, &out);
	if (n <= 0) {
		snprintf(err, errlen, "it cannot be encoded again");
		goto out;
	}
	*der = malloc((size_t)n);
	if (*der == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*der, out, (size_t)n);
	*der_len = (size_t)n;
	*pub = key;
	key = NULL;
	rc = 0;
out:
	if (rc < 0) {
		ident_list_free(*ids, *n_ids);
		*ids = NULL;
		*n_ids = 0;
		free(*der);
		*der = NULL;
	}
	OPENSSL_free(out);
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}
