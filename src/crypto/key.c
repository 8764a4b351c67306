#include "crypto/key.h"

#include "base/log.h"
#include "base/file.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A PEM private key is a few KiB even for RSA-4096; anything much larger is
 * not one. */
#define KEY_PEM_MAX (64 * 1024)

static const struct {
	const char *name;
	const char *algorithm; /* for EVP_PKEY_Q_keygen() */
	const char *curve;
	int curve_nid;
	size_t bits;
} key_types[KEY_TYPE__MAX] = {
        [KEY_TYPE_EC_P256] = {"ec-p256", "EC", "P-256", NID_X9_62_prime256v1, 256},
        [KEY_TYPE_EC_P384] = {"ec-p384", "EC", "P-384", NID_secp384r1, 384},
        [KEY_TYPE_RSA_2048] = {"rsa-2048", "RSA", NULL, NID_undef, 2048},
        [KEY_TYPE_RSA_3072] = {"rsa-3072", "RSA", NULL, NID_undef, 3072},
        [KEY_TYPE_RSA_4096] = {"rsa-4096", "RSA", NULL, NID_undef, 4096},
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

static int
ec_type_of(EVP_PKEY *key, enum key_type *type)
{
	char group[80];
	int nid, rc = -1;
	unsigned i;

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   NULL) != 1) {
		goto out;
	}
	nid = OBJ_txt2nid(group);
	if (nid == NID_undef) {
		nid = EC_curve_nist2nid(group);
	}
	for (i = 0; i < KEY_TYPE__MAX; i++) {
		if (key_types[i].curve_nid != NID_undef && key_types[i].curve_nid == nid) {
			*type = (enum key_type)i;
			rc = 0;
			break;
		}
	}
out:
	return rc;
}

static int
rsa_type_of(EVP_PKEY *key, enum key_type *type)
{
	int bits, rc = -1;
	size_t best_diff = SIZE_MAX, diff, b;
	unsigned i;

	bits = EVP_PKEY_get_bits(key);
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
		rc = rsa_type_of(key, type);
		break;
	default:
		break;
	}
out:
	return rc;
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
		key = EVP_PKEY_Q_keygen(NULL, NULL, key_types[type].algorithm,
		                        key_types[type].curve);
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

char *
key_to_pem(EVP_PKEY *key, size_t *len)
{
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	char *pem = NULL;

	if (key == NULL || len == NULL) {
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
	rc = file_write_atomic(path, pem, len, 0600) == 0 ? 0 : -1;
out:
	key_pem_free(pem, len);
	return rc;
}
