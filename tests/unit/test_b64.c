#include "base/b64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct vector {
	const char *plain;
	size_t len;
	const char *encoded;
};

/* RFC 4648 section 10, without the padding. */
static const struct vector rfc4648[] = {
        {"", 0, ""},
        {"f", 1, "Zg"},
        {"fo", 2, "Zm8"},
        {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"},
        {"fooba", 5, "Zm9vYmE"},
        {"foobar", 6, "Zm9vYmFy"},
};

/* The two characters where base64url differs from base64 ("+/"), and bytes
 * that are not text. */
static const struct vector url_alphabet[] = {
        {"\xfb\xff", 2, "-_8"},
        {"\xfb\xff\xbf", 3, "-_-_"},
        {"\x00", 1, "AA"},
        {"\x00\x00\x00", 3, "AAAA"},
        {"\xff\xff\xff\xff", 4, "_____w"},
        {"\x03\xe0\x00\xff", 4, "A-AA_w"},
};

static void
check_vector(const struct vector *v)
{
	char *enc;
	unsigned char *dec = NULL;
	size_t declen = 0;

	enc = b64_encode(v->plain, v->len);
	assert_non_null(enc);
	assert_string_equal(enc, v->encoded);
	free(enc);

	assert_int_equal(b64_decode(v->encoded, strlen(v->encoded), &dec, &declen), 0);
	assert_non_null(dec);
	assert_int_equal(declen, v->len);
	assert_memory_equal(dec, v->plain, v->len);
	assert_int_equal(dec[declen], '\0');
	free(dec);
}

static void
test_b64_rfc4648_vectors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		check_vector(&rfc4648[i]);
	}
}

static void
test_b64_url_alphabet(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(url_alphabet) / sizeof(url_alphabet[0]); i++) {
		check_vector(&url_alphabet[i]);
	}
}

static void
test_b64_round_trip_all_bytes(void **state)
{
	unsigned char data[256 + 2];
	unsigned char *dec = NULL;
	size_t len, declen, i;
	char *enc;

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (unsigned char)(i * 7 + 3);
	}
	for (len = 0; len <= sizeof(data); len++) {
		enc = b64_encode(data, len);
		assert_non_null(enc);
		assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
		assert_true(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                        "0123456789-_") == strlen(enc));
		assert_int_equal(b64_decode(enc, strlen(enc), &dec, &declen), 0);
		assert_int_equal(declen, len);
		assert_memory_equal(dec, data, len);
		free(dec);
		free(enc);
	}
}

static void
test_b64_decode_uses_slen(void **state)
{
	unsigned char *dec = NULL;
	size_t declen = 0;

	/* Only the first slen characters count, whatever follows. */
	assert_int_equal(b64_decode("Zm9v!!!", 4, &dec, &declen), 0);
	assert_int_equal(declen, 3);
	assert_memory_equal(dec, "foo", 3);
	free(dec);

	assert_int_equal(b64_decode("", 0, &dec, &declen), 0);
	assert_int_equal(declen, 0);
	assert_int_equal(dec[0], '\0');
	free(dec);
}

static void
test_b64_decode_rejects(void **state)
{
	static const char *const bad[] = {
	        "Zg==", /* padding */
	        "Zm8=", /* padding */
	        "Zg=", /* padding */
	        "=", /* padding alone */
	        "Zm9v\n", /* whitespace */
	        "Zm9v Yg", /* whitespace */
	        " Zm9v", /* whitespace */
	        "Zm9v\tYg", /* whitespace */
	        "Zm9v\r\n", /* whitespace */
	        "+/8", /* base64, not base64url */
	        "Zm9+", /* base64, not base64url */
	        "Zm9/", /* base64, not base64url */
	        "Zm.v", /* not in the alphabet */
	        "Zm9v\x80", /* not ASCII */
	        "Zm9v\xc3\xa9", /* UTF-8 */
	        "Z", /* length 1 mod 4 */
	        "Zm9vY", /* length 1 mod 4 */
	        "Zm9vYmFyZ", /* length 1 mod 4 */
	        "Zh", /* unused bits set: "f" is "Zg" */
	        "Zm9", /* unused bits set: "fo" is "Zm8" */
	        "Zm_", /* unused bits set */
	        "AB", /* unused bits set */
	        "AAB", /* unused bits set */
	        "__", /* unused bits set */
	};
	unsigned char *dec = NULL;
	size_t declen = 0;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dec = NULL;
		declen = 12345;
		if (b64_decode(bad[i], strlen(bad[i]), &dec, &declen) == 0) {
			fail_msg("b64_decode accepted \"%s\"", bad[i]);
		}
		assert_null(dec);
		assert_int_equal(declen, 12345);
	}
}

static void
test_b64_decode_rejects_nul(void **state)
{
	static const char s[] = "Zm\0v";
	unsigned char *dec = NULL;
	size_t declen = 0;

	assert_int_equal(b64_decode(s, 4, &dec, &declen), -1);
	assert_null(dec);
}

static void
test_b64_decode_null_arguments(void **state)
{
	unsigned char *dec = NULL;
	size_t declen = 0;

	assert_int_equal(b64_decode(NULL, 4, &dec, &declen), -1);
	assert_int_equal(b64_decode("Zm9v", 4, NULL, &declen), -1);
	assert_int_equal(b64_decode("Zm9v", 4, &dec, NULL), -1);
	assert_null(b64_encode(NULL, 1));
}

static void
test_b64_is_token_accepts(void **state)
{
	assert_true(b64_is_token("a", 1));
	assert_true(b64_is_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", 64));
	assert_true(b64_is_token("-_", 2));
	assert_true(b64_is_token("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	                         64));
	/* Exactly maxlen characters. */
	assert_true(b64_is_token("abcdefgh", 8));
}

static void
test_b64_is_token_rejects(void **state)
{
	static const char *const bad[] = {
	        "",
	        "../etc/passwd",
	        "..",
	        ".",
	        "a/b",
	        "/abs",
	        "a\\b",
	        "abc=",
	        "abc==",
	        "a+b",
	        "a b",
	        " abc",
	        "abc\n",
	        "abc\r",
	        "abc\t",
	        "a;rm -rf /",
	        "$(id)",
	        "`id`",
	        "a|b",
	        "a&b",
	        "a>b",
	        "a<b",
	        "a*",
	        "a?",
	        "~root",
	        "'abc'",
	        "\"abc\"",
	        "a%2fb",
	        "a:b",
	        "a#b",
	        "a\x7f",
	        "a\x80",
	        "\xc3\xa9t\xc3\xa9",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b64_is_token(bad[i], 64)) {
			fail_msg("b64_is_token accepted \"%s\"", bad[i]);
		}
	}
	assert_false(b64_is_token(NULL, 64));
	/* Too long. */
	assert_false(b64_is_token("abcdefghi", 8));
	assert_false(b64_is_token("a", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_b64_rfc4648_vectors),
	        cmocka_unit_test(test_b64_url_alphabet),
	        cmocka_unit_test(test_b64_round_trip_all_bytes),
	        cmocka_unit_test(test_b64_decode_uses_slen),
	        cmocka_unit_test(test_b64_decode_rejects),
	        cmocka_unit_test(test_b64_decode_rejects_nul),
	        cmocka_unit_test(test_b64_decode_null_arguments),
	        cmocka_unit_test(test_b64_is_token_accepts),
	        cmocka_unit_test(test_b64_is_token_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
