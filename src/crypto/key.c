#include "crypto/key.h"

#include "base/log.h"
#include "base/file.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A PEM private key is a few KiB even for RSA-4096; anything much larger is
 * not one. */
#define KEY_PEM_MAX (64 * 1024)

/* The named curves' object identifiers, DER-encoded (RFC 5480 section 2.1.1.1). */
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
/* id-ecPublicKey (RFC 5480 section 2.1.1). */
static const unsigned char oid_ec_public_key[] = {0x06, 0x07, 0x2a, 0x86, 0x48,
                                                  0xce, 0x3d, 0x02, 0x01};

static const struct {
	const char *name;
	const char *algorithm; /* for EVP_PKEY_Q_keygen() */
	const char *curve;
	int curve_nid;
	size_t bits;
	const unsigned char *curve_oid; /* EC: DER of the curve's OID */
	size_t curve_oid_len;
} key_types[KEY_TYPE__MAX] = {
        [KEY_TYPE_EC_P256] = {"ec-p256", "EC", "P-256", NID_X9_62_prime256v1, 256, oid_p256,
                              sizeof(oid_p256)},
        [KEY_TYPE_EC_P384] = {"ec-p384", "EC", "P-384", NID_secp384r1, 384, oid_p384,
                              sizeof(oid_p384)},
        [KEY_TYPE_RSA_2048] = {"rsa-2048", "RSA", NULL, NID_undef, 2048, NULL, 0},
        [KEY_TYPE_RSA_3072] = {"rsa-3072", "RSA", NULL, NID_undef, 3072, NULL, 0},
        [KEY_TYPE_RSA_4096] = {"rsa-4096", "RSA", NULL, NID_undef, 4096, NULL, 0},
};

const char *
key_type_name(enum key_type type)
{
	const char *name = NULL;

	if ((unsigned)type < KEY_TYPE__MAX) {
		name = key_types[type].name;
	}
	return name;
}

int
key_type_parse(const char *name, enum key_type *type)
{
	int rc = -1;
	unsigned i;

	if (name == NULL || type == NULL) {
		goto out;
	}
	for (i = 0; i < KEY_TYPE__MAX; i++) {
		if (strcmp(name, key_types[i].name) == 0) {
			*type = (enum key_type)i;
			rc = 0;
			break;
		}
	}
out:
	return rc;
}

int
key_type_of_curve(int nid, enum key_type *type)
{
	int rc = -1;

	for (unsigned i = 0; i < KEY_TYPE__MAX && nid != NID_undef; i++) {
		if (key_types[i].curve_nid == nid) {
			*type = (enum key_type)i;
			rc = 0;
			break;
		}
	}
	return rc;
}

static int
ec_type_of(EVP_PKEY *key, enum key_type *type)
{
	char group[80];
	int nid;

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   NULL) != 1) {
		return -1;
	}
	nid = OBJ_txt2nid(group);
	if (nid == NID_undef) {
		nid = EC_curve_nist2nid(group);
	}
	return key_type_of_curve(nid, type);
}

int
key_type_of_rsa_bits(int bits, enum key_type *type)
{
	int rc = -1;
	size_t best_diff = SIZE_MAX, diff, b;
	unsigned i;

	if (bits < 2048) {
		goto out;
	}
	b = (size_t)bits;
	/* The nearest RSA size; a tie goes to the smaller one. */
	for (i = 0; i < KEY_TYPE__MAX; i++) {
		if (key_types[i].curve != NULL) {
			continue;
		}
		diff = b > key_types[i].bits ? b - key_types[i].bits : key_types[i].bits - b;
		if (diff < best_diff) {
			best_diff = diff;
			*type = (enum key_type)i;
			rc = 0;
		}
	}
out:
	return rc;
}

int
key_type_of(EVP_PKEY *key, enum key_type *type)
{
	int rc = -1;

	if (key == NULL || type == NULL) {
		goto out;
	}
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		rc = ec_type_of(key, type);
		break;
	case EVP_PKEY_RSA:
		rc = key_type_of_rsa_bits(EVP_PKEY_get_bits(key), type);
		break;
	default:
		break;
	}
out:
	return rc;
}

/* Each curve's parameters, made once and kept for the process: a key
 * made from them copies the group instead of building it from the curve's
 * name (a third of an EC key's generation in OpenSSL 3.0). Read-only once
 * made, so the key threads share them. */
static EVP_PKEY *curve_params[KEY_TYPE__MAX];
static pthread_mutex_t curve_params_lock = PTHREAD_MUTEX_INITIALIZER;

/* The parameters of type's curve (borrowed), or NULL when they cannot be
 * made (the key is then made from the curve's name). */
static EVP_PKEY *
params_of(enum key_type type)
{
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                         (char *)key_types[type].curve, 0),
	        OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *p;

	pthread_mutex_lock(&curve_params_lock);
	p = curve_params[type];
	if (p == NULL) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, key_types[type].algorithm, NULL);
		if (ctx != NULL && EVP_PKEY_paramgen_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_params(ctx, params) == 1 && EVP_PKEY_paramgen(ctx, &p) == 1) {
			curve_params[type] = p;
		}
	}
	pthread_mutex_unlock(&curve_params_lock);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return p;
}

/* A new key on type's curve from its kept parameters. NULL when not made
 * that way. */
static EVP_PKEY *
generate_on_curve(enum key_type type)
{
	EVP_PKEY *params = params_of(type);
	EVP_PKEY_CTX *ctx = params != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL) : NULL;
	EVP_PKEY *key = NULL;

	if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key;
}

EVP_PKEY *
key_generate(enum key_type type)
{
	EVP_PKEY *key = NULL;

	if ((unsigned)type >= KEY_TYPE__MAX) {
		log_error("key: generate: unknown key type %d", (int)type);
		goto out;
	}
	if (key_types[type].curve != NULL) {
		key = generate_on_curve(type);
		if (key == NULL) {
			ERR_clear_error();
			key = EVP_PKEY_Q_keygen(NULL, NULL, key_types[type].algorithm,
			                        key_types[type].curve);
		}
	} else {
		key = EVP_PKEY_Q_keygen(NULL, NULL, key_types[type].algorithm,
		                        key_types[type].bits);
	}
	if (key == NULL) {
		log_openssl("key: generate %s: failed", key_types[type].name);
	}
out:
	return key;
}

/* Never prompt on the terminal for a passphrase: acmed keys are unencrypted,
 * and the daemon has no one to ask. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Leaves OpenSSL's error queue for the caller to log or clear. */
static EVP_PKEY *
pem_to_key(const char *pem, size_t len)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;

	if (pem == NULL || len == 0 || len > INT_MAX) {
		goto out;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		goto out;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
out:
	BIO_free(bio);
	return key;
}

EVP_PKEY *
key_from_pem(const char *pem, size_t len)
{
	EVP_PKEY *key;

	key = pem_to_key(pem, len);
	if (key == NULL) {
		/* Not logged: leave nothing for the next log_openssl() to
		 * misattribute. */
		ERR_clear_error();
	}
	return key;
}

EVP_PKEY *
key_from_pem_as(const char *pem, size_t len, const char *type)
{
	static const char pkcs8[] = "-----BEGIN PRIVATE KEY-----";
	OSSL_DECODER_CTX *ctx = NULL;
	const unsigned char *data = (const unsigned char *)pem;
	size_t left = len;
	EVP_PKEY *key = NULL;

	if (type != NULL && pem != NULL && len >= sizeof(pkcs8) - 1 &&
	    memcmp(pem, pkcs8, sizeof(pkcs8) - 1) == 0) {
		ctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", "PrivateKeyInfo", type,
		                                    EVP_PKEY_KEYPAIR, NULL, NULL);
		if (ctx != NULL && OSSL_DECODER_from_data(ctx, &data, &left) != 1) {
			EVP_PKEY_free(key);
			key = NULL;
		}
		OSSL_DECODER_CTX_free(ctx);
		ERR_clear_error();
	}
	return key != NULL ? key : key_from_pem(pem, len);
}

EVP_PKEY *
key_load(const char *path)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;

	if (path == NULL) {
		goto out;
	}
	pem = file_read(path, KEY_PEM_MAX, &len);
	if (pem == NULL) {
		log_error("key: %s: read: %s", path,
		          errno == EFBIG ? "too large for a private key" : strerror(errno));
		goto out;
	}
	key = pem_to_key(pem, len);
	if (key == NULL) {
		log_openssl("key: %s: not an unencrypted PEM private key", path);
	}
out:
	key_pem_free(pem, len);
	return key;
}

/* Size of a DER tag and length for content of len bytes (len < 65536). */
static size_t
der_head_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
}

/* Writes a DER tag and length at p (len < 65536). Returns the bytes written. */
static size_t
der_head(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = 0;

	p[n++] = tag;
	if (len >= 0x100) {
		p[n++] = 0x82;
		p[n++] = (unsigned char)(len >> 8);
	} else if (len >= 0x80) {
		p[n++] = 0x81;
	}
	p[n++] = (unsigned char)len;
	return n;
}

/* The DER of an EC key's PKCS#8 PrivateKeyInfo (RFC 5208 section 5) holding
 * its RFC 5915 ECPrivateKey with the public key and without the parameters
 * (the algorithm identifier names the curve): what OpenSSL writes, byte for
 * byte (test_key). OpenSSL 3.0 finds its encoder by walking every encoder
 * of every provider, which cost more than the rest of an order's key work;
 * the layout is fixed, so it is written here. Returns the length written to
 * der (room for KEY_EC_DER_MAX bytes), or 0 when this key is not one of
 * acmed's curves with an uncompressed public point (then OpenSSL encodes). */
#define KEY_EC_DER_MAX 256
static size_t
ec_private_der(EVP_PKEY *key, unsigned char *der)
{
	unsigned char priv[48], point[1 + 2 * 48];
	size_t coord, point_len = 0, bits_len, tagged_len, inner_len, inner_total, alg_len,
	              outer_len;
	size_t n = 0;
	BIGNUM *d = NULL;
	enum key_type type;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || ec_type_of(key, &type) != 0) {
		goto out;
	}
	coord = key_types[type].bits / 8;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, priv, (int)coord) != (int)coord ||
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                    sizeof(point), &point_len) != 1 ||
	    point_len != 1 + 2 * coord || point[0] != 0x04) {
		ERR_clear_error();
		goto out;
	}
	bits_len = 1 + point_len; /* the BIT STRING: no unused bits, the point */
	tagged_len = der_head_len(bits_len) + bits_len;
	inner_len = 3 + der_head_len(coord) + coord + der_head_len(tagged_len) + tagged_len;
	inner_total = der_head_len(inner_len) + inner_len;
	alg_len = sizeof(oid_ec_public_key) + key_types[type].curve_oid_len;
	outer_len = 3 + der_head_len(alg_len) + alg_len + der_head_len(inner_total) + inner_total;
	if (der_head_len(outer_len) + outer_len > KEY_EC_DER_MAX) {
		goto out;
	}
	n += der_head(der + n, 0x30, outer_len);
	memcpy(der + n, "\x02\x01\x00", 3); /* version 0 */
	n += 3;
	n += der_head(der + n, 0x30, alg_len);
	memcpy(der + n, oid_ec_public_key, sizeof(oid_ec_public_key));
	n += sizeof(oid_ec_public_key);
	memcpy(der + n, key_types[type].curve_oid, key_types[type].curve_oid_len);
	n += key_types[type].curve_oid_len;
	n += der_head(der + n, 0x04, inner_total);
	n += der_head(der + n, 0x30, inner_len);
	memcpy(der + n, "\x02\x01\x01", 3); /* ecPrivkeyVer1 */
	n += 3;
	n += der_head(der + n, 0x04, coord);
	memcpy(der + n, priv, coord);
	n += coord;
	n += der_head(der + n, 0xa1, tagged_len); /* [1] publicKey */
	n += der_head(der + n, 0x03, bits_len);
	der[n++] = 0x00;
	memcpy(der + n, point, point_len);
	n += point_len;
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	BN_clear_free(d);
	return n;
}

/* PEM "PRIVATE KEY" of DER (RFC 7468 section 10): base64 in lines of 64.
 * New string (cleared by key_pem_free) or NULL. */
static char *
der_to_pem(const unsigned char *der, size_t der_len, size_t *len)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----\n";
	static const char end[] = "-----END PRIVATE KEY-----\n";
	unsigned char b64[4 * (KEY_EC_DER_MAX / 3 + 1) + 1];
	size_t b64_len, cap, n = 0, i, line;
	char *pem = NULL;

	b64_len = (size_t)EVP_EncodeBlock(b64, der, (int)der_len);
	cap = sizeof(begin) - 1 + b64_len + b64_len / 64 + 1 + sizeof(end);
	pem = malloc(cap);
	if (pem == NULL) {
		goto out;
	}
	memcpy(pem, begin, sizeof(begin) - 1);
	n = sizeof(begin) - 1;
	for (i = 0; i < b64_len; i += line) {
		line = b64_len - i < 64 ? b64_len - i : 64;
		memcpy(pem + n, b64 + i, line);
		n += line;
		pem[n++] = '\n';
	}
	memcpy(pem + n, end, sizeof(end));
	n += sizeof(end) - 1;
	*len = n;
out:
	OPENSSL_cleanse(b64, sizeof(b64));
	return pem;
}

char *
key_to_pem(EVP_PKEY *key, size_t *len)
{
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	char *pem = NULL;
	unsigned char der[KEY_EC_DER_MAX];
	size_t der_len;

	if (key == NULL || len == NULL) {
		goto out;
	}
	der_len = ec_private_der(key, der);
	if (der_len > 0) {
		pem = der_to_pem(der, der_len, len);
		OPENSSL_cleanse(der, der_len);
		if (pem == NULL) {
			log_error("key: to pem: out of memory");
		}
		goto out;
	}
	/* BIO_s_mem() clears its buffer when freed. */
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		log_openssl("key: to pem: out of memory");
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		log_openssl("key: to pem: cannot encode the private key");
		goto out;
	}
	if (BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL || mem->length == 0) {
		log_openssl("key: to pem: no output");
		goto out;
	}
	pem = malloc(mem->length + 1);
	if (pem == NULL) {
		log_error("key: to pem: out of memory");
		goto out;
	}
	memcpy(pem, mem->data, mem->length);
	pem[mem->length] = '\0';
	*len = mem->length;
out:
	BIO_free(bio);
	return pem;
}

void
key_pem_free(char *pem, size_t len)
{
	if (pem != NULL) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
}

int
key_save(EVP_PKEY *key, const char *path)
{
	return key_save_flags(key, path, 0);
}

int
key_save_flags(EVP_PKEY *key, const char *path, unsigned flags)
{
	char *pem = NULL;
	size_t len = 0;
	int rc = -1;

	if (path == NULL) {
		goto out;
	}
	pem = key_to_pem(key, &len);
	if (pem == NULL) {
		log_error("key: %s: not saved", path);
		goto out;
	}
	rc = file_write_atomic_flags(path, pem, len, 0600, flags) == 0 ? 0 : -1;
out:
	key_pem_free(pem, len);
	return rc;
}
