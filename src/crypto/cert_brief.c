/* The certificate of RFC 5280 section 4.1 through OpenSSL's ASN.1
 * templates, its subjectPublicKeyInfo kept as an algorithm and a bit string
 * so that nothing looks for a key decoder, its to-be-signed part kept as it
 * was encoded so that its signature can be checked. */
#include "crypto/cert_brief.h"

#include <limits.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"

/* OpenSSL's template macros are not C statements: kept as written. */
/* clang-format off */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
} cert_brief_spki;

ASN1_SEQUENCE(cert_brief_spki) = {
	ASN1_SIMPLE(cert_brief_spki, algor, X509_ALGOR),
	ASN1_SIMPLE(cert_brief_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(cert_brief_spki)

typedef struct {
	ASN1_INTEGER *version;
	ASN1_INTEGER *serial;
	X509_ALGOR *signature;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	cert_brief_spki *spki;
	ASN1_BIT_STRING *issuer_uid;
	ASN1_BIT_STRING *subject_uid;
	STACK_OF(X509_EXTENSION) *extensions;
	/* The bytes as read: the signature is over them, not over a
	 * re-encoding (as X509_CINF keeps its own). */
	ASN1_ENCODING enc;
} cert_brief_tbs;

ASN1_SEQUENCE_enc(cert_brief_tbs, enc, NULL) = {
	ASN1_EXP_OPT(cert_brief_tbs, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(cert_brief_tbs, serial, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_tbs, signature, X509_ALGOR),
	ASN1_SIMPLE(cert_brief_tbs, issuer, X509_NAME),
	ASN1_SIMPLE(cert_brief_tbs, validity, X509_VAL),
	ASN1_SIMPLE(cert_brief_tbs, subject, X509_NAME),
	ASN1_SIMPLE(cert_brief_tbs, spki, cert_brief_spki),
	ASN1_IMP_OPT(cert_brief_tbs, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(cert_brief_tbs, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(cert_brief_tbs, extensions, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END_ref(cert_brief_tbs, cert_brief_tbs)

typedef struct {
	cert_brief_tbs *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *sig;
} cert_brief_x509;

ASN1_SEQUENCE(cert_brief_x509) = {
	ASN1_SIMPLE(cert_brief_x509, tbs, cert_brief_tbs),
	ASN1_SIMPLE(cert_brief_x509, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(cert_brief_x509, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(cert_brief_x509)

/* RFC 3447 appendix A.1.1. */
typedef struct {
	ASN1_INTEGER *n;
	ASN1_INTEGER *e;
} cert_brief_rsa_pub;

ASN1_SEQUENCE(cert_brief_rsa_pub) = {
	ASN1_SIMPLE(cert_brief_rsa_pub, n, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_pub, e, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(cert_brief_rsa_pub)

/* RFC 3447 appendix A.1.2, two primes (what acmed and OpenSSL make). */
typedef struct {
	ASN1_INTEGER *version;
	ASN1_INTEGER *n;
	ASN1_INTEGER *e;
	ASN1_INTEGER *d;
	ASN1_INTEGER *p;
	ASN1_INTEGER *q;
	ASN1_INTEGER *dp;
	ASN1_INTEGER *dq;
	ASN1_INTEGER *qinv;
} cert_brief_rsa_priv;

ASN1_SEQUENCE(cert_brief_rsa_priv) = {
	ASN1_SIMPLE(cert_brief_rsa_priv, version, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, n, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, e, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, d, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, p, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, q, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, dp, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, dq, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_rsa_priv, qinv, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(cert_brief_rsa_priv)

/* RFC 5915 section 3. */
typedef struct {
	ASN1_INTEGER *version;
	ASN1_OCTET_STRING *priv;
	ASN1_TYPE *params;
	ASN1_BIT_STRING *pub;
} cert_brief_ec_priv;

ASN1_SEQUENCE(cert_brief_ec_priv) = {
	ASN1_SIMPLE(cert_brief_ec_priv, version, ASN1_INTEGER),
	ASN1_SIMPLE(cert_brief_ec_priv, priv, ASN1_OCTET_STRING),
	ASN1_EXP_OPT(cert_brief_ec_priv, params, ASN1_ANY, 0),
	ASN1_EXP_OPT(cert_brief_ec_priv, pub, ASN1_BIT_STRING, 1),
} static_ASN1_SEQUENCE_END(cert_brief_ec_priv)

struct cert_brief {
	cert_brief_x509 *x;
	unsigned char *der;
	long der_len;
};
/* clang-format on */

/* DER of len bytes as the template's structure, all of it. NULL when it
 * is not. */
static void *
der_as(const unsigned char *der, long len, const ASN1_ITEM *it)
{
	const unsigned char *p = der;
	ASN1_VALUE *v = ASN1_item_d2i(NULL, &p, len, it);

	if (v != NULL && p != der + len) {
		ASN1_item_free(v, it);
		v = NULL;
	}
	return v;
}

/* The DER of the first PEM block named name (as PEM_bytes_read_bio
 * matches names) in len bytes of text. Returns 0 and a new buffer
 * (OPENSSL_free), or -1. */
static int
pem_der(const char *pem, size_t len, const char *name, unsigned char **der, long *der_len)
{
	BIO *bio;
	char *found = NULL;
	int rc = -1;

	*der = NULL;
	if (pem == NULL || len > INT_MAX) {
		return -1;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio != NULL && PEM_bytes_read_bio(der, der_len, &found, name, bio, NULL, NULL) == 1) {
		rc = 0;
	}
	OPENSSL_free(found);
	BIO_free(bio);
	return rc;
}

/* A brief of der (len bytes, OPENSSL_malloc'd), which it steals: freed
 * when NULL is returned. */
static struct cert_brief *
brief_of_der(unsigned char *der, long len)
{
	struct cert_brief *b = NULL;
	cert_brief_x509 *x = der_as(der, len, ASN1_ITEM_rptr(cert_brief_x509));

	if (x == NULL) {
		goto out;
	}
	b = malloc(sizeof(*b));
	if (b == NULL) {
		goto out;
	}
	b->x = x;
	b->der = der;
	b->der_len = len;
	x = NULL;
	der = NULL;
out:
	ASN1_item_free((ASN1_VALUE *)x, ASN1_ITEM_rptr(cert_brief_x509));
	OPENSSL_free(der);
	ERR_clear_error();
	return b;
}

struct cert_brief *
cert_brief_read(const char *pem, size_t len)
{
	unsigned char *der = NULL;
	long der_len = 0;

	if (pem_der(pem, len, PEM_STRING_X509, &der, &der_len) < 0) {
		ERR_clear_error();
		return NULL;
	}
	return brief_of_der(der, der_len);
}

struct cert_brief *
cert_brief_from_der(const unsigned char *der, long len)
{
	unsigned char *copy;

	if (der == NULL || len <= 0) {
		return NULL;
	}
	copy = OPENSSL_memdup(der, (size_t)len);
	return copy != NULL ? brief_of_der(copy, len) : NULL;
}

void
cert_brief_free(struct cert_brief *b)
{
	if (b != NULL) {
		ASN1_item_free((ASN1_VALUE *)b->x, ASN1_ITEM_rptr(cert_brief_x509));
		OPENSSL_free(b->der);
		free(b);
	}
}

const unsigned char *
cert_brief_der(const struct cert_brief *b, size_t *len)
{
	*len = (size_t)b->der_len;
	return b->der;
}

X509 *
cert_brief_to_x509(const struct cert_brief *b)
{
	const unsigned char *p = b->der;
	X509 *x = d2i_X509(NULL, &p, b->der_len);

	if (x != NULL && p != b->der + b->der_len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

const X509_NAME *
cert_brief_issuer(const struct cert_brief *b)
{
	return b->x->tbs->issuer;
}

const X509_NAME *
cert_brief_subject(const struct cert_brief *b)
{
	return b->x->tbs->subject;
}

bool
cert_brief_same(const struct cert_brief *a, const struct cert_brief *b)
{
	return a->der_len == b->der_len && memcmp(a->der, b->der, (size_t)a->der_len) == 0;
}

bool
cert_brief_signed_by(const struct cert_brief *b, X509 *issuer)
{
	EVP_PKEY *pub = issuer != NULL ? X509_get0_pubkey(issuer) : NULL;
	bool ok;

	/* As X509_verify: the algorithm named outside the signed part is the
	 * one named inside it. */
	ok = pub != NULL && X509_ALGOR_cmp(b->x->sig_alg, b->x->tbs->signature) == 0 &&
	     ASN1_item_verify_ex(ASN1_ITEM_rptr(cert_brief_tbs), b->x->sig_alg, b->x->sig,
	                         b->x->tbs, NULL, pub, NULL, NULL) == 1;
	ERR_clear_error();
	return ok;
}

int
cert_brief_times(const struct cert_brief *b, time_t *not_before, time_t *not_after)
{
	const X509_VAL *v = b->x->tbs->validity;

	return cert_times(v->notBefore, v->notAfter, not_before, not_after);
}

/* The extension nid decoded; NULL when there is none. *repeated says
 * whether there are several (RFC 5280 section 4.2: at most one of each). */
static void *
extension(const struct cert_brief *b, int nid, bool *repeated)
{
	const STACK_OF(X509_EXTENSION) *exts = b->x->tbs->extensions;
	X509_EXTENSION *found = NULL;

	*repeated = false;
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == nid) {
			*repeated = found != NULL;
			if (*repeated) {
				return NULL;
			}
			found = ext;
		}
	}
	return found != NULL ? X509V3_EXT_d2i(found) : NULL;
}

int
cert_brief_ids(const struct cert_brief *b, struct ident **ids, size_t *n)
{
	bool repeated;
	GENERAL_NAMES *names = extension(b, NID_subject_alt_name, &repeated);
	int rc = -1;
	bool present = false;

	*ids = NULL;
	*n = 0;
	if (names == NULL) {
		for (int i = 0; i < sk_X509_EXTENSION_num(b->x->tbs->extensions); i++) {
			present |= OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(
			                   b->x->tbs->extensions, i))) == NID_subject_alt_name;
		}
		/* None at all is no names; one that does not decode is not. */
		rc = present ? -1 : 0;
		goto out;
	}
	rc = cert_names_ids(names, ids, n);
out:
	GENERAL_NAMES_free(names);
	ERR_clear_error();
	return rc;
}

char *
cert_brief_ari_id(const struct cert_brief *b)
{
	bool repeated;
	AUTHORITY_KEYID *akid = extension(b, NID_authority_key_identifier, &repeated);
	char *id = NULL;

	if (akid != NULL) {
		id = cert_ari_id_of(akid->keyid, b->x->tbs->serial);
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	return id;
}

char *
cert_brief_issuer_name(const struct cert_brief *b)
{
	return cert_name_text(b->x->tbs->issuer);
}

/* The number of bits of a positive INTEGER's value. */
static int
integer_bits(const ASN1_INTEGER *i)
{
	const unsigned char *d = ASN1_STRING_get0_data(i);
	int len = ASN1_STRING_length(i), bits;

	while (len > 0 && d[0] == 0) {
		d++;
		len--;
	}
	if (len <= 0 || len > INT_MAX / 8) {
		return 0;
	}
	bits = (len - 1) * 8;
	for (unsigned char top = d[0]; top != 0; top >>= 1) {
		bits++;
	}
	return bits;
}

/* The subjectPublicKeyInfo's algorithm, and for EC keys its curve. */
static int
spki_algorithm(const cert_brief_spki *spki, int *curve)
{
	const ASN1_OBJECT *obj;
	const void *param;
	int ptype, nid;

	X509_ALGOR_get0(&obj, &ptype, &param, spki->algor);
	nid = OBJ_obj2nid(obj);
	*curve = NID_undef;
	if (nid == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT) {
		*curve = OBJ_obj2nid(param);
	}
	return nid;
}

int
cert_brief_key_type(const struct cert_brief *b, enum key_type *type)
{
	const cert_brief_spki *spki = b->x->tbs->spki;
	const ASN1_BIT_STRING *bits = spki->key;
	cert_brief_rsa_pub *rsa = NULL;
	int curve, rc = -1;

	switch (spki_algorithm(spki, &curve)) {
	case NID_X9_62_id_ecPublicKey:
		rc = key_type_of_curve(curve, type);
		break;
	case NID_rsaEncryption:
		rsa = der_as(ASN1_STRING_get0_data(bits), ASN1_STRING_length(bits),
		             ASN1_ITEM_rptr(cert_brief_rsa_pub));
		if (rsa != NULL) {
			rc = key_type_of_rsa_bits(integer_bits(rsa->n), type);
		}
		break;
	default:
		break;
	}
	ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(cert_brief_rsa_pub));
	ERR_clear_error();
	return rc;
}

bool
cert_brief_issued_by(const struct cert_brief *b, X509 *issuer)
{
	bool repeated, ok = false;
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *ski;

	if (issuer == NULL ||
	    X509_NAME_cmp(b->x->tbs->issuer, X509_get_subject_name(issuer)) != 0) {
		goto out;
	}
	akid = extension(b, NID_authority_key_identifier, &repeated);
	ski = X509_get0_subject_key_id(issuer);
	ok = akid == NULL || akid->keyid == NULL || ski == NULL ||
	     ASN1_OCTET_STRING_cmp(akid->keyid, ski) == 0;
out:
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	return ok;
}

static bool
same_bits(const ASN1_BIT_STRING *a, const ASN1_BIT_STRING *b)
{
	int n = ASN1_STRING_length(a);

	return n > 0 && n == ASN1_STRING_length(b) &&
	       memcmp(ASN1_STRING_get0_data(a), ASN1_STRING_get0_data(b), (size_t)n) == 0;
}

/* The fast comparison: 1 when the PKCS#8 key's own public part is the
 * certificate's, 0 when it cannot tell. */
static int
key_is_as_written(const cert_brief_spki *spki, const char *pem, size_t len)
{
	unsigned char *der = NULL;
	long der_len = 0;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const ASN1_OBJECT *alg;
	const X509_ALGOR *palg;
	const unsigned char *pk;
	int pk_len, curve, nid, p8_type;
	const void *param;
	cert_brief_ec_priv *ec = NULL;
	cert_brief_rsa_priv *rsa = NULL;
	cert_brief_rsa_pub *pub = NULL;
	int same = 0;

	if (pem_der(pem, len, PEM_STRING_PKCS8INF, &der, &der_len) < 0) {
		goto out;
	}
	p = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
	if (p8 == NULL || PKCS8_pkey_get0(&alg, &pk, &pk_len, &palg, p8) != 1) {
		goto out;
	}
	nid = spki_algorithm(spki, &curve);
	if (OBJ_obj2nid(alg) != nid) {
		goto out;
	}
	if (nid == NID_X9_62_id_ecPublicKey) {
		X509_ALGOR_get0(NULL, &p8_type, &param, palg);
		ec = der_as(pk, pk_len, ASN1_ITEM_rptr(cert_brief_ec_priv));
		same = p8_type == V_ASN1_OBJECT && OBJ_obj2nid(param) == curve && ec != NULL &&
		       ec->pub != NULL && same_bits(ec->pub, spki->key);
	} else if (nid == NID_rsaEncryption) {
		rsa = der_as(pk, pk_len, ASN1_ITEM_rptr(cert_brief_rsa_priv));
		pub = der_as(ASN1_STRING_get0_data(spki->key), ASN1_STRING_length(spki->key),
		             ASN1_ITEM_rptr(cert_brief_rsa_pub));
		same = rsa != NULL && pub != NULL && ASN1_INTEGER_cmp(rsa->n, pub->n) == 0 &&
		       ASN1_INTEGER_cmp(rsa->e, pub->e) == 0;
	}
out:
	ASN1_item_free((ASN1_VALUE *)ec, ASN1_ITEM_rptr(cert_brief_ec_priv));
	ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(cert_brief_rsa_priv));
	ASN1_item_free((ASN1_VALUE *)pub, ASN1_ITEM_rptr(cert_brief_rsa_pub));
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(der, der_len > 0 ? (size_t)der_len : 0);
	ERR_clear_error();
	return same;
}

/* Whether key is the subjectPublicKeyInfo's key, as OpenSSL compares
 * decoded keys (the slow way). */
static bool
spki_key_eq(const cert_brief_spki *spki, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n;
	bool same;

	n = ASN1_item_i2d((const ASN1_VALUE *)spki, &der, ASN1_ITEM_rptr(cert_brief_spki));
	if (n > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
	}
	same = pub != NULL && key != NULL && EVP_PKEY_eq(pub, key) == 1;
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	ERR_clear_error();
	return same;
}

int
cert_brief_key_is(const struct cert_brief *b, const char *pem, size_t len)
{
	const cert_brief_spki *spki = b->x->tbs->spki;
	EVP_PKEY *key = NULL;
	int curve, rc = -1;

	if (key_is_as_written(spki, pem, len) == 1) {
		return 1;
	}
	key = key_from_pem_as(pem, len,
	                      spki_algorithm(spki, &curve) == NID_rsaEncryption ? "RSA" : "EC");
	if (key == NULL) {
		goto out;
	}
	rc = spki_key_eq(spki, key) ? 1 : 0;
out:
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

/* Whether an RSA key has the modulus and exponent of pub (the DER of an
 * RSAPublicKey). */
static bool
rsa_key_is(EVP_PKEY *key, const ASN1_BIT_STRING *pub_der)
{
	cert_brief_rsa_pub *pub =
	        der_as(ASN1_STRING_get0_data(pub_der), ASN1_STRING_length(pub_der),
	               ASN1_ITEM_rptr(cert_brief_rsa_pub));
	BIGNUM *kn = NULL, *ke = NULL, *n = NULL, *e = NULL;
	bool same = false;

	if (pub == NULL || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &kn) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &ke) != 1) {
		goto out;
	}
	n = ASN1_INTEGER_to_BN(pub->n, NULL);
	e = ASN1_INTEGER_to_BN(pub->e, NULL);
	same = n != NULL && e != NULL && BN_cmp(kn, n) == 0 && BN_cmp(ke, e) == 0;
out:
	BN_free(kn);
	BN_free(ke);
	BN_free(n);
	BN_free(e);
	ASN1_item_free((ASN1_VALUE *)pub, ASN1_ITEM_rptr(cert_brief_rsa_pub));
	return same;
}

/* Whether an EC key is on curve with the encoded point of pub. */
static bool
ec_key_is(EVP_PKEY *key, int curve, const ASN1_BIT_STRING *pub)
{
	char group[80];
	unsigned char point[256];
	size_t n = 0;

	return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                      NULL) == 1 &&
	       OBJ_txt2nid(group) == curve &&
	       EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
	                                       &n) == 1 &&
	       n > 0 && n == (size_t)ASN1_STRING_length(pub) &&
	       memcmp(point, ASN1_STRING_get0_data(pub), n) == 0;
}

int
cert_brief_key_eq(const struct cert_brief *b, EVP_PKEY *key)
{
	const cert_brief_spki *spki = b->x->tbs->spki;
	int curve, rc = 0;
	bool same = false;

	if (key == NULL) {
		goto out;
	}
	switch (spki_algorithm(spki, &curve)) {
	case NID_X9_62_id_ecPublicKey:
		same = EVP_PKEY_is_a(key, "EC") && ec_key_is(key, curve, spki->key);
		break;
	case NID_rsaEncryption:
		same = EVP_PKEY_is_a(key, "RSA") && rsa_key_is(key, spki->key);
		break;
	default:
		break;
	}
	/* What the fast look cannot match (a compressed point, another
	 * algorithm) OpenSSL decodes and compares. */
	rc = (same || spki_key_eq(spki, key)) ? 1 : 0;
out:
	ERR_clear_error();
	return rc;
}
