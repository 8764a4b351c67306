/* crypto/seal: AES-256-GCM values bound to their record, and the cluster
 * key file. The vectors marked "independent" were made with Python's
 * cryptography (AESGCM) and hmac modules, not with this code. */
#include "crypto/seal.h"

#include "base/b64.h"
#include "base/log.h"

#include <fcntl.h>
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

#include "tmpdir.h"

#define AAD "cert/www.example/key"

/* 00 01 .. 1f */
static unsigned char key_a[SEAL_KEY_LEN];
/* ff ff .. ff */
static unsigned char key_b[SEAL_KEY_LEN];

static int
group_setup(void **state)
{
	(void)state;
	log_init("acmed", LOG_LEVEL_ERROR, false);
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		key_a[i] = (unsigned char)i;
		key_b[i] = 0xff;
	}
	return 0;
}

static int
dir_setup(void **state)
{
	*state = tmpdir_make("seal");
	return 0;
}

static int
dir_teardown(void **state)
{
	tmpdir_remove(*state);
	free(*state);
	return 0;
}

/* seal_open's result for sealed, or NULL; checks the NUL after it. */
static char *
open_checked(const unsigned char *key, const char *aad, const char *sealed, size_t *len)
{
	char *plain = seal_open(key, aad, sealed, len);

	if (plain != NULL) {
		assert_int_equal(plain[*len], '\0');
	}
	return plain;
}

static void
test_round_trip(void **state)
{
	unsigned char binary[1000];
	const char *text = "-----BEGIN PRIVATE KEY-----\nMIG...\n";
	char *a, *b, *plain;
	size_t len = 0;

	(void)state;
	a = seal(key_a, AAD, text, strlen(text));
	assert_non_null(a);
	assert_memory_equal(a, "s1:", 3);
	assert_true(b64_is_token(a + 3, 4096));
	/* nonce 12 + text + tag 16, in base64url without padding */
	assert_int_equal(strlen(a + 3), ((12 + strlen(text) + 16) * 4 + 2) / 3);
	assert_null(strstr(a, "PRIVATE"));
	plain = open_checked(key_a, AAD, a, &len);
	assert_non_null(plain);
	assert_int_equal(len, strlen(text));
	assert_string_equal(plain, text);
	seal_free(plain);

	/* A fresh nonce each time: the same plain seals differently. */
	b = seal(key_a, AAD, text, strlen(text));
	assert_non_null(b);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(a + 3, b + 3, 16);
	free(a);
	free(b);

	/* Bytes, NULs included. */
	for (size_t i = 0; i < sizeof(binary); i++) {
		binary[i] = (unsigned char)(i * 7);
	}
	a = seal(key_b, "", binary, sizeof(binary));
	assert_non_null(a);
	plain = open_checked(key_b, "", a, &len);
	assert_non_null(plain);
	assert_int_equal(len, sizeof(binary));
	assert_memory_equal(plain, binary, sizeof(binary));
	seal_free(plain);
	free(a);
	seal_free(NULL);
}

/* The format as documented, from another implementation. */
static void
test_independent_vector(void **state)
{
	/* independent: AESGCM(00..1f).encrypt(nonce 64..6f,
	 * "-----BEGIN PRIVATE KEY-----\n", AAD) */
	static const char sealed[] = "s1:ZGVmZ2hpamtsbW5vZTbzS1SrE9l3LH-4iCw8vBaHJkHONd5fivyBQtHe5"
	                             "CV8l_usHkNnfv1b-xI";
	char *plain;
	size_t len = 0;

	(void)state;
	plain = open_checked(key_a, AAD, sealed, &len);
	assert_non_null(plain);
	assert_int_equal(len, 28);
	assert_string_equal(plain, "-----BEGIN PRIVATE KEY-----\n");
	seal_free(plain);
	assert_null(seal_open(key_b, AAD, sealed, &len));
}

static void
test_empty_plain(void **state)
{
	char *sealed, *plain;
	size_t len = 99;

	(void)state;
	sealed = seal(key_a, AAD, "", 0);
	assert_non_null(sealed);
	assert_int_equal(strlen(sealed + 3), ((12 + 16) * 4 + 2) / 3);
	plain = open_checked(key_a, AAD, sealed, &len);
	assert_non_null(plain);
	assert_int_equal(len, 0);
	assert_string_equal(plain, "");
	seal_free(plain);
	/* The tag still binds an empty value to its key and record. */
	assert_null(seal_open(key_b, AAD, sealed, &len));
	assert_null(seal_open(key_a, "cert/other/key", sealed, &len));
	free(sealed);
	sealed = seal(key_a, AAD, NULL, 0);
	assert_non_null(sealed);
	plain = open_checked(key_a, AAD, sealed, &len);
	assert_non_null(plain);
	assert_int_equal(len, 0);
	seal_free(plain);
	free(sealed);
}

static void
test_wrong_key(void **state)
{
	unsigned char near[SEAL_KEY_LEN];
	char *sealed;
	size_t len = 0;

	(void)state;
	sealed = seal(key_a, AAD, "secret", 6);
	assert_non_null(sealed);
	assert_null(seal_open(key_b, AAD, sealed, &len));
	/* One bit off anywhere in the key. */
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		memcpy(near, key_a, sizeof(near));
		near[i] ^= 0x01;
		assert_null(seal_open(near, AAD, sealed, &len));
	}
	free(sealed);
}

static void
test_wrong_aad(void **state)
{
	static const char *const others[] = {
	        "",
	        "cert/www.example/ke",
	        "cert/www.example/key ",
	        "Cert/www.example/key",
	        "cert/api.example/key",
	};
	char *sealed;
	size_t len = 0;

	(void)state;
	sealed = seal(key_a, AAD, "secret", 6);
	assert_non_null(sealed);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_null(seal_open(key_a, others[i], sealed, &len));
	}
	assert_null(seal_open(key_a, NULL, sealed, &len));
	assert_null(seal(key_a, NULL, "secret", 6));
	free(sealed);
}

/* sealed with raw[i] changed, re-encoded. New string. */
static char *
tamper(const char *sealed, size_t i, unsigned char mask)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	char *b64, *out;

	assert_int_equal(b64_decode(sealed + 3, strlen(sealed + 3), &raw, &raw_len), 0);
	assert_true(i < raw_len);
	raw[i] ^= mask;
	b64 = b64_encode(raw, raw_len);
	assert_non_null(b64);
	out = malloc(strlen(b64) + 4);
	assert_non_null(out);
	snprintf(out, strlen(b64) + 4, "s1:%s", b64);
	free(b64);
	free(raw);
	return out;
}

/* A changed bit in the nonce, the ciphertext or the tag: refused. */
static void
test_tampered(void **state)
{
	const char *text = "a private key";
	size_t raw_len = 12 + strlen(text) + 16;
	char *sealed, *bad, *plain;
	size_t len = 0;

	(void)state;
	sealed = seal(key_a, AAD, text, strlen(text));
	assert_non_null(sealed);
	/* The unchanged value opens (tamper() itself changes nothing else). */
	bad = tamper(sealed, 0, 0);
	plain = open_checked(key_a, AAD, bad, &len);
	assert_non_null(plain);
	seal_free(plain);
	free(bad);
	for (size_t i = 0; i < raw_len; i++) {
		static const unsigned char masks[] = {0x01, 0x80, 0xff};

		for (size_t m = 0; m < sizeof(masks); m++) {
			bad = tamper(sealed, i, masks[m]);
			if (seal_open(key_a, AAD, bad, &len) != NULL) {
				fail_msg("byte %zu (%s) changed by %02x: opened", i,
				         i < 12             ? "nonce"
				         : i < raw_len - 16 ? "ciphertext"
				                            : "tag",
				         masks[m]);
			}
			free(bad);
		}
	}
	free(sealed);
}

static void
test_truncated(void **state)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	char *sealed, *cut, *b64;
	size_t len = 0;

	(void)state;
	sealed = seal(key_a, AAD, "secret value", 12);
	assert_non_null(sealed);
	cut = strdup(sealed);
	assert_non_null(cut);
	/* Every shorter text: bad base64, too short, or a cut tag. */
	for (size_t n = strlen(sealed); n-- > 0;) {
		cut[n] = '\0';
		assert_null(seal_open(key_a, AAD, cut, &len));
	}
	free(cut);
	/* Whole bytes taken off the end or the start, in valid base64. */
	assert_int_equal(b64_decode(sealed + 3, strlen(sealed + 3), &raw, &raw_len), 0);
	for (size_t n = 1; n < raw_len; n++) {
		char text[256];

		b64 = b64_encode(raw, raw_len - n);
		assert_non_null(b64);
		snprintf(text, sizeof(text), "s1:%s", b64);
		assert_null(seal_open(key_a, AAD, text, &len));
		free(b64);
		b64 = b64_encode(raw + n, raw_len - n);
		assert_non_null(b64);
		snprintf(text, sizeof(text), "s1:%s", b64);
		assert_null(seal_open(key_a, AAD, text, &len));
		free(b64);
	}
	free(raw);
	free(sealed);
}

static void
test_garbage(void **state)
{
	char text[512];
	char *sealed;
	size_t len = 0;

	(void)state;
	sealed = seal(key_a, AAD, "secret", 6);
	assert_non_null(sealed);
	snprintf(text, sizeof(text), "s2:%s", sealed + 3);
	assert_null(seal_open(key_a, AAD, text, &len));
	snprintf(text, sizeof(text), "S1:%s", sealed + 3);
	assert_null(seal_open(key_a, AAD, text, &len));
	snprintf(text, sizeof(text), "x%s", sealed);
	assert_null(seal_open(key_a, AAD, text, &len));
	snprintf(text, sizeof(text), " %s", sealed);
	assert_null(seal_open(key_a, AAD, text, &len));
	snprintf(text, sizeof(text), "%s\n", sealed);
	assert_null(seal_open(key_a, AAD, text, &len));
	snprintf(text, sizeof(text), "%s=", sealed);
	assert_null(seal_open(key_a, AAD, text, &len));
	/* Without its prefix. */
	assert_null(seal_open(key_a, AAD, sealed + 3, &len));
	assert_null(seal_open(key_a, AAD, "", &len));
	assert_null(seal_open(key_a, AAD, "s1:", &len));
	assert_null(seal_open(key_a, AAD, "s1:!!!!", &len));
	assert_null(seal_open(key_a, AAD, "-----BEGIN PRIVATE KEY-----", &len));
	assert_null(seal_open(key_a, AAD, NULL, &len));
	free(sealed);
}

/* Writes len bytes to dir/name with mode. New string: the path. */
static char *
write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return strdup(path);
}

/* Expects seal_key_load(path) to fail with a message naming path and
 * containing want. */
static void
expect_load_error(const char *path, const char *want)
{
	unsigned char key[SEAL_KEY_LEN];
	char err[512] = "";

	assert_int_equal(seal_key_load(path, key, err, sizeof(err)), -1);
	if (strstr(err, path) == NULL || strstr(err, want) == NULL) {
		fail_msg("%s: got \"%s\", expected the path and \"%s\"", path, err, want);
	}
}

static void
expect_loads(const char *dir, const char *name, const void *data, size_t len,
             const unsigned char *want)
{
	unsigned char key[SEAL_KEY_LEN];
	char err[512] = "";
	char *path = write_file(dir, name, data, len, 0600);

	if (seal_key_load(path, key, err, sizeof(err)) != 0) {
		fail_msg("%s: %s", name, err);
	}
	assert_memory_equal(key, want, SEAL_KEY_LEN);
	free(path);
}

static void
test_key_file_formats(void **state)
{
	const char *dir = *state;
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	const char *upper = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
	unsigned char raw[SEAL_KEY_LEN];
	char text[256];
	char *path;

	expect_loads(dir, "hex", hex, 64, key_a);
	snprintf(text, sizeof(text), "%s\n", hex);
	expect_loads(dir, "hex-newline", text, 65, key_a);
	expect_loads(dir, "upper", upper, 64, key_a);
	/* 32 raw bytes, whatever they are (NULs and newlines too). */
	expect_loads(dir, "raw", key_a, SEAL_KEY_LEN, key_a);
	expect_loads(dir, "raw-ff", key_b, SEAL_KEY_LEN, key_b);
	memset(raw, '\n', sizeof(raw));
	raw[0] = 0;
	expect_loads(dir, "raw-newlines", raw, sizeof(raw), raw);

	path = write_file(dir, "empty", "", 0, 0600);
	expect_load_error(path, "empty");
	free(path);
	path = write_file(dir, "short", hex, 63, 0600);
	expect_load_error(path, "too short (63 bytes)");
	free(path);
	path = write_file(dir, "half", hex, 33, 0600);
	expect_load_error(path, "too short");
	free(path);
	snprintf(text, sizeof(text), "%s00", hex);
	path = write_file(dir, "long", text, 66, 0600);
	expect_load_error(path, "too long");
	free(path);
	snprintf(text, sizeof(text), "%s0", hex);
	path = write_file(dir, "65-digits", text, 65, 0600);
	expect_load_error(path, "not a cluster key");
	free(path);
	memset(text, 'a', 200);
	path = write_file(dir, "big", text, 200, 0600);
	expect_load_error(path, "too long");
	free(path);
	snprintf(text, sizeof(text), "%s\n\n", hex);
	path = write_file(dir, "two-newlines", text, 66, 0600);
	expect_load_error(path, "too long");
	free(path);
	snprintf(text, sizeof(text), "%s", hex);
	text[40] = 'g';
	path = write_file(dir, "not-hex", text, 64, 0600);
	expect_load_error(path, "not a cluster key: expected 64 hex digits");
	free(path);
	snprintf(text, sizeof(text), "%s\r", hex);
	path = write_file(dir, "carriage-return", text, 65, 0600);
	expect_load_error(path, "not a cluster key");
	free(path);
	snprintf(text, sizeof(text), " %s", hex);
	path = write_file(dir, "space", text, 64, 0600);
	expect_load_error(path, "not a cluster key");
	free(path);

	snprintf(text, sizeof(text), "%s/missing", dir);
	expect_load_error(text, "acmed cluster-key new");
	expect_load_error(dir, "not a regular file");
}

static void
test_key_file_modes(void **state)
{
	static const mode_t refused[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601, 0700 | 07};
	static const mode_t accepted[] = {0600, 0400, 0700};
	const char *dir = *state;
	unsigned char key[SEAL_KEY_LEN];
	char want[512];
	char err[512];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *path = write_file(dir, "key", key_a, SEAL_KEY_LEN, refused[i]);

		snprintf(want, sizeof(want), "run chmod 600 %s", path);
		expect_load_error(path, want);
		expect_load_error(path, "group or others can access");
		free(path);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		char *path = write_file(dir, "key", key_a, SEAL_KEY_LEN, accepted[i]);

		memset(key, 0, sizeof(key));
		if (seal_key_load(path, key, err, sizeof(err)) != 0) {
			fail_msg("mode %04o: %s", (unsigned)accepted[i], err);
		}
		assert_memory_equal(key, key_a, SEAL_KEY_LEN);
		free(path);
	}
}

static void
test_key_new(void **state)
{
	const char *dir = *state;
	unsigned char key[SEAL_KEY_LEN], again[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
	char path[512], path2[512], err[512] = "";
	struct stat st;
	char *text, *after;
	mode_t mask;

	snprintf(path, sizeof(path), "%s/cluster.key", dir);
	/* The mode is 0600 whatever the umask. */
	mask = umask(0);
	assert_int_equal(seal_key_new(path, err, sizeof(err)), 0);
	umask(mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = tmpdir_read(dir, "cluster.key");
	assert_non_null(text);
	assert_int_equal(strlen(text), 65);
	assert_int_equal(text[64], '\n');
	assert_int_equal(strspn(text, "0123456789abcdef"), 64);
	assert_int_equal(seal_key_load(path, key, err, sizeof(err)), 0);

	/* Never replaced. */
	err[0] = '\0';
	assert_int_equal(seal_key_new(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "already exists"));
	after = tmpdir_read(dir, "cluster.key");
	assert_non_null(after);
	assert_string_equal(after, text);
	assert_int_equal(seal_key_load(path, again, err, sizeof(err)), 0);
	assert_memory_equal(key, again, SEAL_KEY_LEN);
	free(after);
	free(text);

	/* Nor through a symbolic link, even to a missing file. */
	snprintf(path2, sizeof(path2), "%s/link.key", dir);
	assert_int_equal(symlink("missing-target", path2), 0);
	assert_int_equal(seal_key_new(path2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path2));
	assert_false(tmpdir_exists(dir, "missing-target"));

	/* Another key is another key. */
	snprintf(path2, sizeof(path2), "%s/other.key", dir);
	assert_int_equal(seal_key_new(path2, err, sizeof(err)), 0);
	assert_int_equal(seal_key_load(path2, other, err, sizeof(err)), 0);
	assert_memory_not_equal(key, other, SEAL_KEY_LEN);

	snprintf(path2, sizeof(path2), "%s/no/such/folder/k", dir);
	err[0] = '\0';
	assert_int_equal(seal_key_new(path2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path2));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void
test_key_id(void **state)
{
	char id[SEAL_KEY_ID_LEN], again[SEAL_KEY_ID_LEN], other[SEAL_KEY_ID_LEN];
	unsigned char near[SEAL_KEY_LEN];

	(void)state;
	seal_key_id(key_a, id);
	/* independent: hmac.new(key, b"acmed cluster key id", sha256) */
	assert_string_equal(id, "007b34db8005a676");
	seal_key_id(key_a, again);
	assert_string_equal(id, again);
	seal_key_id(key_b, other);
	assert_string_equal(other, "099e5c0952a7372d");
	memcpy(near, key_a, sizeof(near));
	near[31] ^= 1;
	seal_key_id(near, other);
	assert_int_equal(strlen(other), 16);
	assert_string_not_equal(id, other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_independent_vector),
	        cmocka_unit_test(test_empty_plain),
	        cmocka_unit_test(test_wrong_key),
	        cmocka_unit_test(test_wrong_aad),
	        cmocka_unit_test(test_tampered),
	        cmocka_unit_test(test_truncated),
	        cmocka_unit_test(test_garbage),
	        cmocka_unit_test_setup_teardown(test_key_file_formats, dir_setup, dir_teardown),
	        cmocka_unit_test_setup_teardown(test_key_file_modes, dir_setup, dir_teardown),
	        cmocka_unit_test_setup_teardown(test_key_new, dir_setup, dir_teardown),
	        cmocka_unit_test(test_key_id),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
