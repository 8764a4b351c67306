#include "crypto/seal.h"

#include "base/b64.h"
#include "base/file.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_PREFIX "s1:"
#define SEAL_PREFIX_LEN 3
#define SEAL_NONCE_LEN 12 /* RFC 5116 5.1: the recommended 96 bits */
#define SEAL_TAG_LEN 16
/* Private keys are a few KiB; a value much larger is not ours, and the cap
 * keeps every length within OpenSSL's int. */
#define SEAL_PLAIN_MAX (16 * 1024 * 1024)
#define SEAL_KEY_HEX_LEN (2 * SEAL_KEY_LEN)
#define SEAL_KEY_ID_LABEL "acmed cluster key id"

/* What seal_open hands out: the length travels in front of the bytes so
 * that seal_free can clear all of them, NULs included. */
struct opened {
	size_t len;
	char data[];
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

static int
hex_digit(unsigned char c)
{
	int v = -1;

	if (c >= '0' && c <= '9') {
		v = c - '0';
	} else if (c >= 'a' && c <= 'f') {
		v = c - 'a' + 10;
	} else if (c >= 'A' && c <= 'F') {
		v = c - 'A' + 10;
	}
	return v;
}

/* The key from what a key file holds: 64 hex digits with at most one final
 * newline, or 32 raw bytes. Returns 0, or -1 with the reason in err (the
 * content is never quoted: it is a secret). */
static int
key_from_content(const char *path, const unsigned char *buf, size_t n,
                 unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen)
{
	const char *want = "expected 64 hex digits (a final newline allowed) or exactly 32 bytes";
	int hi, lo;
	int rc = -1;

	if (n == SEAL_KEY_LEN) {
		memcpy(key, buf, SEAL_KEY_LEN);
		rc = 0;
		goto out;
	}
	if (n == 0) {
		fail(err, errlen, "%s: the cluster key file is empty: %s", path, want);
		goto out;
	}
	if (n < SEAL_KEY_HEX_LEN) {
		fail(err, errlen, "%s: the cluster key file is too short (%zu bytes): %s", path, n,
		     want);
		goto out;
	}
	if (n > SEAL_KEY_HEX_LEN + 1) {
		fail(err, errlen, "%s: the cluster key file is too long: %s", path, want);
		goto out;
	}
	if (n == SEAL_KEY_HEX_LEN + 1 && buf[SEAL_KEY_HEX_LEN] != '\n') {
		fail(err, errlen, "%s: not a cluster key: %s", path, want);
		goto out;
	}
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		hi = hex_digit(buf[2 * i]);
		lo = hex_digit(buf[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			fail(err, errlen, "%s: not a cluster key: %s", path, want);
			OPENSSL_cleanse(key, SEAL_KEY_LEN);
			goto out;
		}
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	rc = 0;
out:
	return rc;
}

int
seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen)
{
	/* One byte more than the longest valid file tells "too long". */
	unsigned char buf[SEAL_KEY_HEX_LEN + 2];
	struct stat st;
	size_t n = 0;
	ssize_t got = 1;
	int fd = -1;
	int rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			fail(err, errlen,
			     "%s: no cluster key file there (acmed cluster-key new %s makes one)",
			     path, path);
		} else {
			fail(err, errlen, "%s: cannot open the cluster key file: %s", path,
			     strerror(errno));
		}
		goto out;
	}
	/* fstat, not stat: the mode checked is the mode of what is read. */
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: the cluster key is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		fail(err, errlen,
		     "%s: group or others can access the cluster key (mode %04o): run chmod 600 %s",
		     path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (n < sizeof(buf) && got != 0) {
		got = read(fd, buf + n, sizeof(buf) - n);
		if (got < 0 && errno != EINTR) {
			fail(err, errlen, "%s: cannot read the cluster key file: %s", path,
			     strerror(errno));
			goto out;
		}
		if (got > 0) {
			n += (size_t)got;
		}
	}
	rc = key_from_content(path, buf, n, key, err, errlen);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

/* fsync of the folder path is in, so that its new name lasts. Returns 0
 * or -1 (errno set). */
static int
sync_parent(const char *path)
{
	char dir[PATH_MAX] = ".";
	const char *slash = strrchr(path, '/');
	size_t len;
	int rc = -1;

	if (slash != NULL) {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	rc = file_sync_dir(dir);
out:
	return rc;
}

int
seal_key_new(const char *path, char *err, size_t errlen)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char key[SEAL_KEY_LEN];
	char hex[SEAL_KEY_HEX_LEN + 1];
	bool made = false;
	int fd = -1;
	int rc = -1;

	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		log_openssl("%s: no random bytes for a cluster key", path);
		fail(err, errlen, "%s: the system's random source failed", path);
		goto out;
	}
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 0xf];
	}
	hex[SEAL_KEY_HEX_LEN] = '\n';
	/* O_EXCL: a key that exists may be the one the fleet's sealed keys
	 * need; replacing it would lose them. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			fail(err, errlen,
			     "%s: already exists: a cluster key is never replaced (what the "
			     "fleet sealed with it could not be opened again)",
			     path);
		} else {
			fail(err, errlen, "%s: cannot create the cluster key file: %s", path,
			     strerror(errno));
		}
		goto out;
	}
	made = true;
	/* A umask may have left more than 0600 off, never less; make it exact. */
	if (fchmod(fd, 0600) < 0 || file_write_all(fd, hex, sizeof(hex)) < 0 || fsync(fd) < 0) {
		fail(err, errlen, "%s: cannot write the cluster key file: %s", path,
		     strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		fail(err, errlen, "%s: cannot write the cluster key file: %s", path,
		     strerror(errno));
		goto out;
	}
	fd = -1;
	if (sync_parent(path) < 0) {
		fail(err, errlen, "%s: cannot sync its folder: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
	}
	if (rc < 0 && made) {
		unlink(path);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

void
seal_key_id(const unsigned char key[SEAL_KEY_LEN], char id[SEAL_KEY_ID_LEN])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t n = (SEAL_KEY_ID_LEN - 1) / 2;

	if (HMAC(EVP_sha256(), key, SEAL_KEY_LEN, (const unsigned char *)SEAL_KEY_ID_LABEL,
	         strlen(SEAL_KEY_ID_LABEL), mac, &mac_len) == NULL ||
	    mac_len < n) {
		/* Only out of memory gets here; a name no key has says so. */
		log_openssl("cluster key id");
		memset(mac, 0, sizeof(mac));
	}
	for (size_t i = 0; i < n; i++) {
		id[2 * i] = digits[mac[i] >> 4];
		id[2 * i + 1] = digits[mac[i] & 0xf];
	}
	id[2 * n] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* AES-256-GCM over len bytes of in into out (len bytes) and tag, with
 * nonce and aad. Returns 0 or -1 (logged). */
static int
encrypt(const unsigned char key[SEAL_KEY_LEN], const unsigned char *nonce, const char *aad,
        const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0;
	int rc = -1;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + (len > 0 ? n : 0), &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1) {
		log_openssl("seal: AES-256-GCM");
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

char *
seal(const unsigned char key[SEAL_KEY_LEN], const char *aad, const void *plain, size_t len)
{
	unsigned char *raw = NULL;
	char *text = NULL;
	char *ret = NULL;
	size_t raw_len;
	size_t text_len;

	if (aad == NULL || (plain == NULL && len > 0)) {
		log_error("seal: no associated data or no plain text");
		goto out;
	}
	if (len > SEAL_PLAIN_MAX || strlen(aad) > SEAL_PLAIN_MAX) {
		log_error("seal: %zu bytes: larger than %d", len, SEAL_PLAIN_MAX);
		goto out;
	}
	raw_len = SEAL_NONCE_LEN + len + SEAL_TAG_LEN;
	raw = malloc(raw_len);
	if (raw == NULL) {
		log_error("seal: out of memory");
		goto out;
	}
	/* A fresh random nonce per value: with 96 bits, no two of the
	 * fleet's seals under one key share one in any count it will reach. */
	if (RAND_bytes(raw, SEAL_NONCE_LEN) != 1) {
		log_openssl("seal: no random bytes for a nonce");
		goto out;
	}
	if (encrypt(key, raw, aad, plain, len, raw + SEAL_NONCE_LEN, raw + SEAL_NONCE_LEN + len) <
	    0) {
		goto out;
	}
	text = b64_encode(raw, raw_len);
	if (text == NULL) {
		log_error("seal: out of memory");
		goto out;
	}
	text_len = strlen(text);
	ret = malloc(SEAL_PREFIX_LEN + text_len + 1);
	if (ret == NULL) {
		log_error("seal: out of memory");
		goto out;
	}
	memcpy(ret, SEAL_PREFIX, SEAL_PREFIX_LEN);
	memcpy(ret + SEAL_PREFIX_LEN, text, text_len + 1);
out:
	free(text);
	free(raw);
	return ret;
}

/* Decrypts and checks len bytes of in into out with nonce, aad and tag.
 * Returns 0, or -1 when it is not what key sealed for aad. */
static int
decrypt(const unsigned char key[SEAL_KEY_LEN], const unsigned char *nonce, const char *aad,
        const unsigned char *in, size_t len, const unsigned char *tag, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char tag_copy[SEAL_TAG_LEN];
	int n = 0;
	int rc = -1;

	memcpy(tag_copy, tag, SEAL_TAG_LEN);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    (len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag_copy) != 1) {
		log_openssl("seal: AES-256-GCM");
		goto out;
	}
	/* The tag is checked here: a wrong key, aad or any changed byte
	 * fails, and what was decrypted must not be used. */
	if (EVP_DecryptFinal_ex(ctx, out + (len > 0 ? n : 0), &n) != 1) {
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

char *
seal_open(const unsigned char key[SEAL_KEY_LEN], const char *aad, const char *sealed, size_t *len)
{
	/* The longest text seal makes: base64 of the nonce, the largest
	 * plain and the tag. */
	const size_t text_max =
	        ((size_t)SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_TAG_LEN) / 3 * 4 + 4;
	unsigned char *raw = NULL;
	struct opened *o = NULL;
	size_t raw_len = 0;
	size_t text_len;
	size_t ct_len;
	char *ret = NULL;

	if (aad == NULL || sealed == NULL || strncmp(sealed, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0 ||
	    strlen(aad) > SEAL_PLAIN_MAX) {
		goto out;
	}
	text_len = strnlen(sealed + SEAL_PREFIX_LEN, text_max + 1);
	if (text_len > text_max ||
	    b64_decode(sealed + SEAL_PREFIX_LEN, text_len, &raw, &raw_len) < 0 ||
	    raw_len < SEAL_NONCE_LEN + SEAL_TAG_LEN) {
		goto out;
	}
	ct_len = raw_len - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	o = malloc(sizeof(*o) + ct_len + 1);
	if (o == NULL) {
		log_error("seal: out of memory");
		goto out;
	}
	o->len = ct_len;
	if (decrypt(key, raw, aad, raw + SEAL_NONCE_LEN, ct_len, raw + SEAL_NONCE_LEN + ct_len,
	            (unsigned char *)o->data) < 0) {
		goto out;
	}
	o->data[ct_len] = '\0';
	if (len != NULL) {
		*len = ct_len;
	}
	ret = o->data;
	o = NULL;
out:
	if (o != NULL) {
		OPENSSL_cleanse(o->data, o->len);
		free(o);
	}
	free(raw);
	return ret;
}

void
seal_free(char *plain)
{
	struct opened *o;

	if (plain == NULL) {
		goto out;
	}
	o = (struct opened *)(void *)(plain - offsetof(struct opened, data));
	OPENSSL_cleanse(o->data, o->len + 1);
	free(o);
out:
	return;
}
