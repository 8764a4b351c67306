#include "crypto/key.h"

#include "base/file.h"

#include <dirent.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* One key of each type, generated once: RSA-4096 takes seconds. */
struct fixture {
	EVP_PKEY *keys[KEY_TYPE__MAX];
	char dir[PATH_MAX];
};

static const struct {
	const char *name;
	int base_id;
	int bits;
} expected[KEY_TYPE__MAX] = {
        [KEY_TYPE_EC_P256] = {"ec-p256", EVP_PKEY_EC, 256},
        [KEY_TYPE_EC_P384] = {"ec-p384", EVP_PKEY_EC, 384},
        [KEY_TYPE_RSA_2048] = {"rsa-2048", EVP_PKEY_RSA, 2048},
        [KEY_TYPE_RSA_3072] = {"rsa-3072", EVP_PKEY_RSA, 3072},
        [KEY_TYPE_RSA_4096] = {"rsa-4096", EVP_PKEY_RSA, 4096},
};

static int
group_setup(void **state)
{
	struct fixture *f;
	const char *tmp;
	int i;

	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return -1;
	}
	for (i = 0; i < KEY_TYPE__MAX; i++) {
		f->keys[i] = key_generate((enum key_type)i);
		if (f->keys[i] == NULL) {
			return -1;
		}
	}
	tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0') {
		tmp = "/tmp";
	}
	if (snprintf(f->dir, sizeof(f->dir), "%s/test_key.XXXXXX", tmp) >= (int)sizeof(f->dir) ||
	    mkdtemp(f->dir) == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *de;
	char path[PATH_MAX + 256];
	DIR *d;
	int i;

	if (f == NULL) {
		return 0;
	}
	d = opendir(f->dir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", f->dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(f->dir);
	for (i = 0; i < KEY_TYPE__MAX; i++) {
		EVP_PKEY_free(f->keys[i]);
	}
	free(f);
	return 0;
}

static void
test_key_type_names(void **state)
{
	enum key_type type;
	int i;

	for (i = 0; i < KEY_TYPE__MAX; i++) {
		assert_string_equal(key_type_name((enum key_type)i), expected[i].name);
		type = KEY_TYPE__MAX;
		assert_int_equal(key_type_parse(expected[i].name, &type), 0);
		assert_int_equal(type, i);
	}
	assert_null(key_type_name(KEY_TYPE__MAX));
	assert_null(key_type_name((enum key_type) - 1));
	assert_null(key_type_name((enum key_type)1000));
}

static void
test_key_type_parse_unknown(void **state)
{
	static const char *const bad[] = {
	        "",    "ec",       "ec-p521",   "EC-P256",  "ec-p256 ", " ec-p256",
	        "rsa", "rsa-1024", "rsa-2048x", "rsa-8192", "ed25519",  "p256",
	};
	enum key_type type = KEY_TYPE_RSA_3072;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (key_type_parse(bad[i], &type) == 0) {
			fail_msg("key_type_parse accepted \"%s\"", bad[i]);
		}
	}
	assert_int_equal(type, KEY_TYPE_RSA_3072);
	assert_int_equal(key_type_parse(NULL, &type), -1);
	assert_int_equal(key_type_parse("ec-p256", NULL), -1);
}

static void
test_key_generate_each_type(void **state)
{
	struct fixture *f = *state;
	enum key_type type;
	int i;

	for (i = 0; i < KEY_TYPE__MAX; i++) {
		assert_non_null(f->keys[i]);
		assert_int_equal(EVP_PKEY_get_base_id(f->keys[i]), expected[i].base_id);
		assert_int_equal(EVP_PKEY_get_bits(f->keys[i]), expected[i].bits);
		type = KEY_TYPE__MAX;
		assert_int_equal(key_type_of(f->keys[i], &type), 0);
		assert_int_equal(type, i);
	}
	assert_null(key_generate(KEY_TYPE__MAX));
}

/* Every key is new, also the EC keys made from a curve's kept
 * parameters, and of its type. */
static void
test_key_generate_is_fresh(void **state)
{
	static const enum key_type types[] = {KEY_TYPE_EC_P256, KEY_TYPE_EC_P384};

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		EVP_PKEY *k[3];
		enum key_type type;

		for (size_t i = 0; i < 3; i++) {
			k[i] = key_generate(types[t]);
			assert_non_null(k[i]);
			assert_int_equal(key_type_of(k[i], &type), 0);
			assert_int_equal(type, types[t]);
			for (size_t j = 0; j < i; j++) {
				assert_int_not_equal(EVP_PKEY_eq(k[i], k[j]), 1);
			}
		}
		for (size_t i = 0; i < 3; i++) {
			EVP_PKEY_free(k[i]);
		}
	}
}

static void
test_key_save_load_round_trip(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 64];
	struct stat st;
	EVP_PKEY *loaded;
	enum key_type type;
	int i;

	for (i = 0; i < KEY_TYPE__MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s.pem", f->dir, expected[i].name);
		assert_int_equal(key_save(f->keys[i], path), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);

		loaded = key_load(path);
		assert_non_null(loaded);
		assert_int_equal(EVP_PKEY_eq(loaded, f->keys[i]), 1);
		assert_int_equal(key_type_of(loaded, &type), 0);
		assert_int_equal(type, i);
		EVP_PKEY_free(loaded);
	}
}

static void
test_key_save_replaces(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 64];
	struct stat st;
	EVP_PKEY *loaded;

	snprintf(path, sizeof(path), "%s/replaced.pem", f->dir);
	assert_int_equal(key_save(f->keys[KEY_TYPE_EC_P256], path), 0);
	assert_int_equal(key_save(f->keys[KEY_TYPE_RSA_2048], path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	loaded = key_load(path);
	assert_non_null(loaded);
	assert_int_equal(EVP_PKEY_eq(loaded, f->keys[KEY_TYPE_RSA_2048]), 1);
	EVP_PKEY_free(loaded);
}

static void
test_key_save_fails(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/missing/dir/key.pem", f->dir);
	assert_int_equal(key_save(f->keys[KEY_TYPE_EC_P256], path), -1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(key_save(NULL, path), -1);
	assert_int_equal(key_save(f->keys[KEY_TYPE_EC_P256], NULL), -1);
}

static void
test_key_pem_round_trip(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *back;
	size_t len;
	char *pem;
	int i;

	for (i = 0; i < KEY_TYPE__MAX; i++) {
		len = 0;
		pem = key_to_pem(f->keys[i], &len);
		assert_non_null(pem);
		assert_int_equal(strlen(pem), len);
		/* PKCS#8, unencrypted, whatever the key type. */
		assert_int_equal(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
		assert_non_null(strstr(pem, "-----END PRIVATE KEY-----\n"));
		back = key_from_pem(pem, len);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(back, f->keys[i]), 1);
		EVP_PKEY_free(back);
		key_pem_free(pem, len);
	}
	key_pem_free(NULL, 0);
	assert_null(key_to_pem(NULL, &len));
	assert_null(key_to_pem(f->keys[0], NULL));
}

/* PEM of key written by OpenSSL with the given options, as a new string. */
static char *
pem_of(EVP_PKEY *key, bool public_only, const EVP_CIPHER *cipher, size_t *len)
{
	BIO *bio;
	BUF_MEM *mem = NULL;
	char *pem;
	int ok;

	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	if (public_only) {
		ok = PEM_write_bio_PUBKEY(bio, key);
	} else {
		ok = PEM_write_bio_PrivateKey(bio, key, cipher, NULL, 0, NULL,
		                              (void *)"passphrase");
	}
	assert_int_equal(ok, 1);
	assert_int_equal(BIO_get_mem_ptr(bio, &mem), 1);
	pem = calloc(1, mem->length + 1);
	assert_non_null(pem);
	memcpy(pem, mem->data, mem->length);
	*len = mem->length;
	BIO_free(bio);
	return pem;
}

/* What OpenSSL's own encoder writes for key (PKCS#8 PEM). New string. */
static char *
openssl_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;
	char *pem;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(BIO_get_mem_ptr(bio, &mem), 1);
	pem = strndup(mem->data, mem->length);
	assert_non_null(pem);
	BIO_free(bio);
	return pem;
}

/* EC keys are encoded by acmed itself (OpenSSL 3.0's encoder lookup is
 * slow): byte for byte what OpenSSL writes and read back as the same key,
 * for 100 keys of each curve and until one whose private scalar is a byte
 * short (one in 256; at most 20,000 keys, which never all miss). */
static void
test_key_to_pem_ec_matches_openssl(void **state)
{
	static const enum key_type types[] = {KEY_TYPE_EC_P256, KEY_TYPE_EC_P384};
	size_t t, i, len;

	(void)state;
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		bool short_scalar = false;

		for (i = 0; i < 20000 && (i < 100 || !short_scalar); i++) {
			EVP_PKEY *key = key_generate(types[t]), *back;
			BIGNUM *d = NULL;
			char *mine, *theirs;

			assert_non_null(key);
			assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d),
			                 1);
			if (BN_num_bytes(d) < (types[t] == KEY_TYPE_EC_P256 ? 32 : 48)) {
				short_scalar = true;
			}
			BN_clear_free(d);
			mine = key_to_pem(key, &len);
			theirs = openssl_pem(key);
			assert_non_null(mine);
			assert_int_equal(len, strlen(mine));
			assert_string_equal(mine, theirs);
			back = key_from_pem(mine, len);
			assert_non_null(back);
			assert_int_equal(EVP_PKEY_eq(key, back), 1);
			EVP_PKEY_free(back);
			key_pem_free(mine, len);
			free(theirs);
			EVP_PKEY_free(key);
		}
		assert_true(short_scalar);
	}
}

/* RSA keys still go through OpenSSL's encoder. */
static void
test_key_to_pem_rsa_is_openssl(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	char *mine = key_to_pem(f->keys[KEY_TYPE_RSA_2048], &len);
	char *theirs = openssl_pem(f->keys[KEY_TYPE_RSA_2048]);

	assert_non_null(mine);
	assert_string_equal(mine, theirs);
	key_pem_free(mine, len);
	free(theirs);
}

static void
test_key_from_pem_rejects(void **state)
{
	struct fixture *f = *state;
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
	                              "-----END PRIVATE KEY-----\n";
	char *pem;
	size_t len;

	assert_null(key_from_pem(garbage, strlen(garbage)));
	assert_null(key_from_pem("hello", 5));
	assert_null(key_from_pem("", 0));
	assert_null(key_from_pem(NULL, 10));

	/* A public key is not a private key. */
	pem = pem_of(f->keys[KEY_TYPE_EC_P256], true, NULL, &len);
	assert_null(key_from_pem(pem, len));
	free(pem);

	/* An encrypted key fails instead of prompting for a passphrase. */
	pem = pem_of(f->keys[KEY_TYPE_EC_P256], false, EVP_aes_256_cbc(), &len);
	assert_non_null(strstr(pem, "ENCRYPTED"));
	assert_null(key_from_pem(pem, len));
	free(pem);

	/* A truncated key. */
	pem = pem_of(f->keys[KEY_TYPE_EC_P256], false, NULL, &len);
	assert_null(key_from_pem(pem, len / 2));
	free(pem);

	/* Failures are not logged, and leave nothing in the error queue. */
	assert_int_equal(ERR_peek_error(), 0);
}

/* Keys written by other tools: "EC PRIVATE KEY" and "RSA PRIVATE KEY", the
 * former after an "EC PARAMETERS" block as openssl ecparam -genkey writes. */
static void
test_key_from_pem_traditional(void **state)
{
	static const char ec_params[] = "-----BEGIN EC PARAMETERS-----\n"
	                                "BggqhkjOPQMBBw==\n"
	                                "-----END EC PARAMETERS-----\n";
	struct fixture *f = *state;
	static const int types[] = {KEY_TYPE_EC_P256, KEY_TYPE_RSA_2048};
	char buf[8192];
	BUF_MEM *mem = NULL;
	EVP_PKEY *back;
	BIO *bio;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		bio = BIO_new(BIO_s_mem());
		assert_non_null(bio);
		if (types[i] == KEY_TYPE_EC_P256) {
			assert_int_equal(BIO_write(bio, ec_params, (int)strlen(ec_params)),
			                 (int)strlen(ec_params));
		}
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, f->keys[types[i]], NULL,
		                                                      NULL, 0, NULL, NULL),
		                 1);
		assert_int_equal(BIO_get_mem_ptr(bio, &mem), 1);
		assert_true(mem->length < sizeof(buf));
		memcpy(buf, mem->data, mem->length);
		buf[mem->length] = '\0';
		assert_non_null(strstr(buf, types[i] == KEY_TYPE_EC_P256
		                                    ? "-----BEGIN EC PRIVATE KEY-----"
		                                    : "-----BEGIN RSA PRIVATE KEY-----"));
		back = key_from_pem(buf, mem->length);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(back, f->keys[types[i]]), 1);
		EVP_PKEY_free(back);
		BIO_free(bio);
	}
}

/* The typed decoder gives the same key as the slow path for every type;
 * a wrong or unknown type, a traditional PEM or garbage still end as the
 * slow path would. */
static void
test_key_from_pem_as(void **state)
{
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	                              "-----END PRIVATE KEY-----\n";
	struct fixture *f = *state;
	EVP_PKEY *back;
	size_t len;
	char *pem;

	for (int i = 0; i < KEY_TYPE__MAX; i++) {
		const char *own = EVP_PKEY_get0_type_name(f->keys[i]);
		const char *other = strcmp(own, "RSA") == 0 ? "EC" : "RSA";
		const char *hints[] = {own, other, "NOSUCHTYPE", NULL};

		len = 0;
		pem = key_to_pem(f->keys[i], &len);
		assert_non_null(pem);
		for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
			back = key_from_pem_as(pem, len, hints[h]);
			assert_non_null(back);
			assert_int_equal(EVP_PKEY_eq(back, f->keys[i]), 1);
			EVP_PKEY_free(back);
		}
		/* Cut short: no key, whichever way. */
		assert_null(key_from_pem_as(pem, len / 2, own));
		key_pem_free(pem, len);
	}
	assert_null(key_from_pem_as(garbage, strlen(garbage), "EC"));
	assert_null(key_from_pem_as("", 0, "EC"));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_key_load_fails(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 64];
	char *big;
	size_t big_len = 1024 * 1024;

	snprintf(path, sizeof(path), "%s/does-not-exist.pem", f->dir);
	assert_null(key_load(path));
	assert_null(key_load(NULL));

	snprintf(path, sizeof(path), "%s/garbage.pem", f->dir);
	assert_int_equal(file_write_atomic(path, "not a key\n", 10, 0600), 0);
	assert_null(key_load(path));

	snprintf(path, sizeof(path), "%s/big.pem", f->dir);
	big = malloc(big_len);
	assert_non_null(big);
	memset(big, 'A', big_len);
	assert_int_equal(file_write_atomic(path, big, big_len, 0600), 0);
	assert_null(key_load(path));
	free(big);

	/* A directory is not a key. */
	assert_null(key_load(f->dir));
}

static void
test_key_type_of_unsupported(void **state)
{
	static const char *const curves[] = {"P-521", "secp256k1", "P-224"};
	enum key_type type = KEY_TYPE_RSA_3072;
	EVP_PKEY *key;
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);
		assert_non_null(key);
		if (key_type_of(key, &type) == 0) {
			fail_msg("key_type_of accepted curve %s", curves[i]);
		}
		EVP_PKEY_free(key);
	}

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(key);
	assert_int_equal(key_type_of(key, &type), -1);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(key);
	assert_int_equal(key_type_of(key, &type), -1);
	EVP_PKEY_free(key);

	assert_int_equal(type, KEY_TYPE_RSA_3072);
	assert_int_equal(key_type_of(NULL, &type), -1);
}

static void
test_key_type_of_other_rsa_size(void **state)
{
	enum key_type type = KEY_TYPE__MAX;
	EVP_PKEY *key;

	/* Not a size acmed generates, but at least 2048 bits: the nearest. */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2304);
	assert_non_null(key);
	assert_int_equal(key_type_of(key, &type), 0);
	assert_int_equal(type, KEY_TYPE_RSA_2048);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_type_names),
	        cmocka_unit_test(test_key_type_parse_unknown),
	        cmocka_unit_test(test_key_generate_each_type),
	        cmocka_unit_test(test_key_generate_is_fresh),
	        cmocka_unit_test(test_key_save_load_round_trip),
	        cmocka_unit_test(test_key_save_replaces),
	        cmocka_unit_test(test_key_save_fails),
	        cmocka_unit_test(test_key_pem_round_trip),
	        cmocka_unit_test(test_key_to_pem_ec_matches_openssl),
	        cmocka_unit_test(test_key_to_pem_rsa_is_openssl),
	        cmocka_unit_test(test_key_from_pem_rejects),
	        cmocka_unit_test(test_key_from_pem_traditional),
	        cmocka_unit_test(test_key_from_pem_as),
	        cmocka_unit_test(test_key_load_fails),
	        cmocka_unit_test(test_key_type_of_unsupported),
	        cmocka_unit_test(test_key_type_of_other_rsa_size),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
