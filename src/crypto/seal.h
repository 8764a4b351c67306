/* Sealing with the fleet's cluster key (RFC 5116 AEAD_AES_256_GCM through
 * OpenSSL): what a node stores in the shared store (private keys) is
 * encrypted and authenticated, bound to where it is stored by associated
 * data, so neither the store, its traffic nor its files reveal a key, and a
 * sealed value cannot be moved to another record unnoticed. */
#ifndef ACMED_SEAL_H
#define ACMED_SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN 32
#define SEAL_KEY_ID_LEN 17 /* 16 hex digits and the NUL */

/* Reads the cluster key file path: 64 hex digits (what seal_key_new
 * writes; a final newline allowed) or exactly 32 raw bytes. Refuses a file
 * group or others have any permission on (mode & 077; the reason says to
 * run chmod 600). Returns 0, or -1 with a one-line reason naming the file
 * in err (never the content). */
int seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen);

/* Makes a new key file (never replacing one: O_EXCL, mode 0600, written
 * and fsync'd) from the system's random source. Returns 0, or -1 with a
 * reason in err. */
int seal_key_new(const char *path, char *err, size_t errlen);

/* A name for the key that reveals nothing of it (the first 8 bytes of
 * HMAC-SHA256(key, "acmed cluster key id"), hex), for messages that say
 * two nodes hold different keys. */
void seal_key_id(const unsigned char key[SEAL_KEY_LEN], char id[SEAL_KEY_ID_LEN]);

/* Seals len bytes of plain with key, bound to aad (a NUL-terminated
 * string, e.g. the record's name): "s1:" then base64url of a fresh
 * 12-byte nonce, the ciphertext and the 16-byte tag. New string (free()),
 * or NULL when out of memory, OpenSSL fails, or len is over 16 MiB
 * (logged). */
char *seal(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *plain, size_t len);

/* Opens what seal made with the same key and aad: the plain bytes (a
 * terminating NUL added, not counted in *len), or NULL when sealed is not
 * a sealed value, was made with another key or aad, or was changed. Free
 * with seal_free (which clears it first). */
char *seal_open(const unsigned char key[SEAL_KEY_LEN], const char *aad, const char *sealed,
                size_t *len);

/* Clears and frees what seal_open returned. Safe on NULL. */
void seal_free(char *plain);

#endif
