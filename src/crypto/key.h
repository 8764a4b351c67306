/* Private keys: generation, loading, saving. */
#ifndef ACMED_KEY_H
#define ACMED_KEY_H

#include <openssl/evp.h>
#include <stddef.h>

enum key_type {
	KEY_TYPE_EC_P256,
	KEY_TYPE_EC_P384,
	KEY_TYPE_RSA_2048,
	KEY_TYPE_RSA_3072,
	KEY_TYPE_RSA_4096,
	KEY_TYPE__MAX,
};

/* "ec-p256", ... ; NULL for an out-of-range value. */
const char *key_type_name(enum key_type type);

/* Parses a key type name. Returns 0 or -1 when unknown. */
int key_type_parse(const char *name, enum key_type *type);

/* The type of an existing key. Returns 0, or -1 for a key acmed does not
 * support (another curve, RSA of another size is accepted as the nearest
 * RSA type only if at least 2048 bits). */
int key_type_of(EVP_PKEY *key, enum key_type *type);

/* The same from an EC key's curve (a NID) or an RSA key's size in bits. */
int key_type_of_curve(int nid, enum key_type *type);
int key_type_of_rsa_bits(int bits, enum key_type *type);

/* Generates a new key. Returns a new key (EVP_PKEY_free()) or NULL (logged). */
EVP_PKEY *key_generate(enum key_type type);

/* Loads a PEM private key. Returns a new key or NULL (logged with the path). */
EVP_PKEY *key_load(const char *path);

/* Loads a PEM private key from memory. New key or NULL (not logged). */
EVP_PKEY *key_from_pem(const char *pem, size_t len);

/* key_from_pem for a key expected to be of type (an EVP_PKEY type name:
 * "EC", "RSA", "ED25519"; of the certificate it should belong to): OpenSSL
 * is asked for that type's PKCS#8 decoder alone, about four times faster
 * than trying every decoder; another key or format still loads the slow
 * way. */
EVP_PKEY *key_from_pem_as(const char *pem, size_t len, const char *type);

/* PEM (PKCS#8, unencrypted) of the private key. New NUL-terminated string
 * (free after clearing: use key_pem_free()), length in *len; NULL on error. */
char *key_to_pem(EVP_PKEY *key, size_t *len);
void key_pem_free(char *pem, size_t len);

/* Saves the key as PEM at path, mode 0600, atomically. Returns 0 or -1. */
int key_save(EVP_PKEY *key, const char *path);

/* key_save with file_write_atomic_flags's flags (FILE_SYNC_LATER). */
int key_save_flags(EVP_PKEY *key, const char *path, unsigned flags);

#endif
