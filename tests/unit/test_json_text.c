#include "base/json_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#define FFFD "\xef\xbf\xbd"

/* What json_text_string writes for s, as a new string. */
static char *
string_text(const char *s)
{
	struct buf b;
	char *text;

	buf_init(&b, 1 << 20);
	json_text_string(&b, s);
	text = buf_steal(&b, NULL);
	assert_non_null(text);
	return text;
}

/* text parsed by Jansson must be the string want (n bytes). */
static void
assert_jansson_string(const char *text, const char *want, size_t n)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (v == NULL) {
		fail_msg("jansson refused %s: %s", text, err.text);
	}
	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), n);
	assert_memory_equal(json_string_value(v), want, n);
	json_decref(v);
}

/* s is written as want (quotes included), which reads back as back. */
static void
check_string(const char *s, const char *want, const char *back)
{
	char *text = string_text(s);

	assert_string_equal(text, want);
	assert_jansson_string(text, back, strlen(back));
	free(text);
}

static void
test_string_escapes(void **state)
{
	(void)state;
	check_string("", "\"\"", "");
	check_string("plain text", "\"plain text\"", "plain text");
	check_string("a\"b", "\"a\\\"b\"", "a\"b");
	check_string("a\\b", "\"a\\\\b\"", "a\\b");
	check_string("\\\"\\", "\"\\\\\\\"\\\\\"", "\\\"\\");
	/* Solidus and DEL need no escape (RFC 8259 section 7). */
	check_string("a/b\x7f", "\"a/b\x7f\"", "a/b\x7f");
}

static void
test_string_controls(void **state)
{
	(void)state;
	for (int c = 1; c < 0x20; c++) {
		char in[4] = {'x', (char)c, 'y', '\0'};
		char want[16];

		if (c == '\n') {
			snprintf(want, sizeof(want), "\"x\\ny\"");
		} else if (c == '\r') {
			snprintf(want, sizeof(want), "\"x\\ry\"");
		} else if (c == '\t') {
			snprintf(want, sizeof(want), "\"x\\ty\"");
		} else {
			snprintf(want, sizeof(want), "\"x\\u%04xy\"", c);
		}
		check_string(in, want, in);
	}
}

static void
test_string_utf8_kept(void **state)
{
	static const char *const valid[] = {
	        "\xc2\x80", /* U+0080, the first of two bytes */
	        "caf\xc3\xa9", /* é */
	        "\xdf\xbf", /* U+07FF */
	        "\xe0\xa0\x80", /* U+0800 */
	        "\xe2\x82\xac", /* € */
	        "\xed\x9f\xbf", /* U+D7FF, just below the surrogates */
	        "\xee\x80\x80", /* U+E000, just above */
	        "\xef\xbf\xbf", /* U+FFFF */
	        "\xf0\x90\x80\x80", /* U+10000 */
	        "\xf0\x9f\x98\x80", /* 😀 */
	        "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
	        "a\xc3\xa9\"\xe2\x82\xac\n\xf0\x9f\x98\x80z",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char *text = string_text(valid[i]);

		/* Kept byte for byte, but for the quote and the newline. */
		if (strchr(valid[i], '"') == NULL) {
			assert_int_equal(strlen(text), strlen(valid[i]) + 2);
			assert_memory_equal(text + 1, valid[i], strlen(valid[i]));
		} else {
			assert_string_equal(text,
			                    "\"a\xc3\xa9\\\"\xe2\x82\xac\\n\xf0\x9f\x98\x80z\"");
		}
		assert_jansson_string(text, valid[i], strlen(valid[i]));
		free(text);
	}
}

static void
test_string_invalid(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* between the quotes */
	} cases[] = {
	        {"\x80", FFFD}, /* a lone continuation */
	        {"a\xbf"
	         "b",
	         "a" FFFD "b"}, /* another */
	        {"\xff", FFFD}, /* never in UTF-8 */
	        {"\xfe\xfe", FFFD FFFD}, /* nor these */
	        {"\xc0\xaf", FFFD FFFD}, /* overlong '/' */
	        {"\xc1\xbf", FFFD FFFD}, /* overlong U+007F */
	        {"\xe0\x80\xaf", FFFD FFFD FFFD}, /* overlong, 3 bytes */
	        {"\xe0\x9f\xbf", FFFD FFFD FFFD}, /* U+07FF in 3 bytes */
	        {"\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD}, /* overlong, 4 bytes */
	        {"\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD}, /* U+FFFF in 4 bytes */
	        {"\xed\xa0\x80", FFFD FFFD FFFD}, /* U+D800, a surrogate */
	        {"\xed\xbf\xbf", FFFD FFFD FFFD}, /* U+DFFF */
	        {"\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD}, /* CESU-8 */
	        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* U+110000 */
	        {"\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD}, /* past F4 */
	        {"\xc3", FFFD}, /* cut at the end */
	        {"a\xe2\x82", "a" FFFD FFFD}, /* cut, 3 bytes */
	        {"\xf0\x9f\x98", FFFD FFFD FFFD}, /* cut, 4 bytes */
	        {"\xe2\x82z", FFFD FFFD "z"}, /* cut by ASCII */
	        {"\xc3\"", FFFD "\\\""}, /* cut by a quote */
	        {"\xe2\x82\xe2\x82\xac", FFFD FFFD "\xe2\x82\xac"}, /* then valid */
	        {"\xc3\xc3\xa9", FFFD "\xc3\xa9"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = string_text(cases[i].in);
		size_t n = strlen(cases[i].out);
		char *back = malloc(n + 1);

		assert_non_null(back);
		assert_int_equal(strlen(text), n + 2);
		assert_memory_equal(text + 1, cases[i].out, n);
		/* What Jansson reads is the text with escapes undone. */
		assert_true(json_text_decode(text, n + 2, back, n + 1) >= 0);
		assert_jansson_string(text, back, strlen(back));
		free(back);
		free(text);
	}
}

static void
test_scalars(void **state)
{
	struct buf b;
	char *text;

	(void)state;
	buf_init(&b, 1024);
	buf_add(&b, "[", 1);
	json_text_next(&b);
	json_text_string(&b, NULL);
	json_text_next(&b);
	json_text_int(&b, 0);
	json_text_next(&b);
	json_text_int(&b, -42);
	json_text_next(&b);
	json_text_int(&b, INT64_MAX);
	json_text_next(&b);
	json_text_int(&b, INT64_MIN);
	json_text_next(&b);
	json_text_bool(&b, true);
	json_text_next(&b);
	json_text_bool(&b, false);
	json_text_next(&b);
	json_text_null(&b);
	buf_add(&b, "]", 1);
	text = buf_steal(&b, NULL);
	assert_string_equal(text, "[null,0,-42,9223372036854775807,-9223372036854775808,true,"
	                          "false,null]");
	free(text);
}

static void
test_keys_commas(void **state)
{
	struct buf b;
	json_error_t err;
	json_t *v;
	char *text;

	(void)state;
	buf_init(&b, 1024);
	buf_add(&b, "{", 1);
	json_text_key(&b, "a");
	json_text_int(&b, 1);
	json_text_key(&b, "b\"q");
	json_text_string(&b, "x");
	json_text_key(&b, "list");
	buf_add(&b, "[", 1);
	json_text_next(&b);
	json_text_int(&b, 1);
	json_text_next(&b);
	buf_add(&b, "[", 1);
	buf_add(&b, "]", 1);
	json_text_next(&b);
	buf_add(&b, "{", 1);
	buf_add(&b, "}", 1);
	json_text_next(&b);
	json_text_string(&b, "[{");
	buf_add(&b, "]", 1);
	json_text_key(&b, "inner");
	buf_add(&b, "{", 1);
	json_text_key(&b, "e");
	json_text_null(&b);
	buf_add(&b, "}", 1);
	json_text_key(&b, "empty");
	buf_add(&b, "[", 1);
	buf_add(&b, "]", 1);
	buf_add(&b, "}", 1);
	text = buf_steal(&b, NULL);
	assert_string_equal(text, "{\"a\":1,\"b\\\"q\":\"x\",\"list\":[1,[],{},\"[{\"],"
	                          "\"inner\":{\"e\":null},\"empty\":[]}");
	v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 5);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "b\"q")), "x");
	assert_int_equal(json_array_size(json_object_get(v, "list")), 4);
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "list"), 3)), "[{");
	assert_true(json_is_null(json_object_get(json_object_get(v, "inner"), "e")));
	json_decref(v);
	free(text);

	/* On an empty buffer: no comma either. */
	buf_init(&b, 1024);
	json_text_key(&b, "k");
	json_text_int(&b, 2);
	text = buf_steal(&b, NULL);
	assert_string_equal(text, "\"k\":2");
	free(text);

	/* A failure sticks: nothing comes out. */
	buf_init(&b, 8);
	buf_add(&b, "{", 1);
	json_text_key(&b, "a long key");
	assert_true(b.failed);
	json_text_int(&b, 1);
	assert_null(buf_steal(&b, NULL));
}

static void
test_value(void **state)
{
	static const struct {
		const char *text;
		ssize_t want;
	} cases[] = {
	        {"\"a\\\"b\" tail", 6},
	        {"\"\\\\\"x", 4},
	        {"\"]}[{\"", 6},
	        {"{\"a\":\"}]\",\"b\":[\"\\\"\",{\"c\":\"[\"}]} tail", 31},
	        {"[[1,[2,{\"x\":[]}]],{}],", 21},
	        {"[1]]", 3},
	        {"  \t\n[1] ", 7},
	        {"\r\n\"s\"", 5},
	        {"true,", 4},
	        {"null ", 4},
	        {"-1.5e3}", 6},
	        {"123", 3},
	        {"tru\"", 3},
	        {"\"abc", -1},
	        {"\"abc\\\"", -1},
	        {"\"ab\\", -1},
	        {"\"a\nb\"", -1}, /* a raw control byte in a string */
	        {"{\"a\":1", -1},
	        {"[1,[2]", -1},
	        {"[\"]\"", -1},
	        {"[}", -1},
	        {"{]", -1},
	        {"[{]}", -1},
	        {"}", -1},
	        {"]", -1},
	        {",", -1},
	        {":", -1},
	        {"", -1},
	        {" \t\r\n", -1},
	};
	char deep[2 * (JSON_TEXT_DEPTH + 1) + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t n = json_text_value(cases[i].text, strlen(cases[i].text));

		if (n != cases[i].want) {
			fail_msg("%s: %zd, not %zd", cases[i].text, n, cases[i].want);
		}
	}
	/* len is the end, whatever follows. */
	assert_int_equal(json_text_value("[1]", 2), -1);
	assert_int_equal(json_text_value("\"a\"", 2), -1);
	assert_int_equal(json_text_value("12345", 2), 2);
	/* JSON_TEXT_DEPTH levels, and one more. */
	memset(deep, '[', JSON_TEXT_DEPTH);
	memset(deep + JSON_TEXT_DEPTH, ']', JSON_TEXT_DEPTH);
	assert_int_equal(json_text_value(deep, 2 * JSON_TEXT_DEPTH), 2 * JSON_TEXT_DEPTH);
	memset(deep, '[', JSON_TEXT_DEPTH + 1);
	memset(deep + JSON_TEXT_DEPTH + 1, ']', JSON_TEXT_DEPTH + 1);
	assert_int_equal(json_text_value(deep, 2 * (JSON_TEXT_DEPTH + 1)), -1);
}

#define SEEN_MAX 8

struct seen {
	int n;
	int stop_at; /* the member whose call returns 7, or -1 */
	char *keys[SEEN_MAX];
	bool has_key[SEEN_MAX];
	const char *values[SEEN_MAX];
	size_t lens[SEEN_MAX];
};

static int
collect(const char *key, const char *value, size_t len, void *arg)
{
	struct seen *s = arg;
	int rc = 0;

	assert_true(s->n < SEEN_MAX);
	s->has_key[s->n] = key != NULL;
	s->keys[s->n] = key != NULL ? strdup(key) : NULL;
	s->values[s->n] = value;
	s->lens[s->n] = len;
	if (s->n == s->stop_at) {
		rc = 7;
	}
	s->n++;
	return rc;
}

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
}

static void
seen_finish(struct seen *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->keys[i]);
	}
	seen_init(s);
}

/* Member i was key (NULL: an array's) with the value text value. */
static void
assert_member(const struct seen *s, int i, const char *key, const char *value)
{
	assert_true(i < s->n);
	if (key == NULL) {
		assert_false(s->has_key[i]);
	} else {
		assert_true(s->has_key[i]);
		assert_string_equal(s->keys[i], key);
	}
	assert_int_equal(s->lens[i], strlen(value));
	assert_memory_equal(s->values[i], value, s->lens[i]);
}

static void
test_each_object(void **state)
{
	const char *text = " { \"a\\u00e9\" :1, \"b\\\"c\" : \"x,}\" ,\"d\":{\"e\":[1,2]} ,"
	                   "\"f\":null,\"\":\"\"} \n";
	struct seen s;

	(void)state;
	seen_init(&s);
	assert_int_equal(json_text_each(text, strlen(text), collect, &s), 0);
	assert_int_equal(s.n, 5);
	assert_member(&s, 0, "a\xc3\xa9", "1");
	assert_member(&s, 1, "b\"c", "\"x,}\"");
	assert_member(&s, 2, "d", "{\"e\":[1,2]}");
	assert_member(&s, 3, "f", "null");
	assert_member(&s, 4, "", "\"\"");
	/* Spans into text, not copies. */
	assert_ptr_equal(s.values[3], strstr(text, "null"));
	seen_finish(&s);
}

static void
test_each_array(void **state)
{
	const char *text = "[ 1 , \"two\" ,[3,[]],{\"k\":\"]\"},true]";
	struct seen s;

	(void)state;
	seen_init(&s);
	assert_int_equal(json_text_each(text, strlen(text), collect, &s), 0);
	assert_int_equal(s.n, 5);
	assert_member(&s, 0, NULL, "1");
	assert_member(&s, 1, NULL, "\"two\"");
	assert_member(&s, 2, NULL, "[3,[]]");
	assert_member(&s, 3, NULL, "{\"k\":\"]\"}");
	assert_member(&s, 4, NULL, "true");
	seen_finish(&s);

	/* Empty ones: no call, and done. */
	assert_int_equal(json_text_each("{}", 2, collect, &s), 0);
	assert_int_equal(json_text_each("[]", 2, collect, &s), 0);
	assert_int_equal(json_text_each(" { \n } ", 7, collect, &s), 0);
	assert_int_equal(json_text_each("[\t]", 3, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void
test_each_malformed(void **state)
{
	static const char *const bad[] = {
	        "{\"a\" 1}", /* no colon */
	        "{\"a\"}", /* nor a value */
	        "{\"a\":}", /* a colon without a value */
	        "{a:1}", /* a name not a string */
	        "{1:2}", /* a name not a string */
	        "{\"a\":1,}", /* a trailing comma */
	        "[1,]", /* one in an array */
	        "[,1]", /* a leading one */
	        "{,}", /* only one */
	        "[1 2]", /* no comma */
	        "{\"a\":1 \"b\":2}",
	        "{\"a\":1}x", /* garbage after the end */
	        "[1]]", /* a bracket too many */
	        "[1],[2]", /* two values */
	        "{\"a\":1", /* not closed */
	        "[1", /* not closed */
	        "[", /* not closed */
	        "{\"a\":1]", /* the wrong bracket */
	        "[1}", /* the wrong bracket */
	        "{\"a\\x\":1}", /* a name that does not decode */
	        "{\"\\u0000\":1}",
	        "\"string\"", /* not an object or array */
	        "1",
	        "",
	        "   ",
	};
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		seen_init(&s);
		if (json_text_each(bad[i], strlen(bad[i]), collect, &s) != -1) {
			fail_msg("%s: taken", bad[i]);
		}
		seen_finish(&s);
	}
}

static void
test_each_stops(void **state)
{
	const char *text = "{\"a\":1,\"b\":2,\"c\":3}";
	struct seen s;

	(void)state;
	seen_init(&s);
	s.stop_at = 1;
	assert_int_equal(json_text_each(text, strlen(text), collect, &s), 7);
	assert_int_equal(s.n, 2);
	assert_member(&s, 1, "b", "2");
	seen_finish(&s);
	/* Stopped at the last one: still what fn returned. */
	s.stop_at = 0;
	assert_int_equal(json_text_each("[9]", 3, collect, &s), 7);
	seen_finish(&s);
}

/* A name of 1023 bytes is the longest taken (the header's limit). */
static void
test_each_long_key(void **state)
{
	char text[1100];
	struct seen s;

	(void)state;
	for (size_t klen = 1023; klen <= 1024; klen++) {
		text[0] = '{';
		text[1] = '"';
		memset(text + 2, 'k', klen);
		memcpy(text + 2 + klen, "\":1}", 5);
		seen_init(&s);
		if (klen == 1023) {
			assert_int_equal(json_text_each(text, strlen(text), collect, &s), 0);
			assert_int_equal(s.n, 1);
			assert_int_equal(strlen(s.keys[0]), 1023);
		} else {
			assert_int_equal(json_text_each(text, strlen(text), collect, &s), -1);
			assert_int_equal(s.n, 0);
		}
		seen_finish(&s);
	}
}

/* text decodes into want (n bytes) with a buffer of exactly n + 1 bytes,
 * and not into one byte less. */
static void
check_decode(const char *text, const char *want, size_t n)
{
	char out[64];

	memset(out, 'x', sizeof(out));
	assert_int_equal(json_text_decode(text, strlen(text), out, n + 1), (ssize_t)n);
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], '\0');
	assert_int_equal(json_text_decode(text, strlen(text), out, n), -1);
}

static void
test_decode(void **state)
{
	static const char *const bad[] = {
	        "\"\\ud83d\"", /* a lone high surrogate */
	        "\"\\ud83dx\"", /* followed by no escape */
	        "\"\\ud83d\\n\"", /* by another escape */
	        "\"\\ud83d\\u0041\"", /* by no low surrogate */
	        "\"\\ud83d\\ud83d\"", /* by a high one */
	        "\"\\ude00\"", /* a lone low surrogate */
	        "\"\\udfff\\ud800\"", /* the pair the wrong way round */
	        "\"\\u0000\"", /* U+0000 */
	        "\"a\\u0000b\"",
	        "\"\\x\"", /* no such escape */
	        "\"\\U00e9\"",
	        "\"\\u12\"", /* too short */
	        "\"\\u12g4\"", /* not hex */
	        "\"\\u\"",
	        "\"a\x01\"", /* a raw control byte */
	        "\"abc", /* not closed */
	        "\"a\"b\"", /* a quote inside */
	        "abc", /* not a string */
	        "\"",
	        "",
	};
	char out[64];

	(void)state;
	check_decode("\"\"", "", 0);
	check_decode("\"abc\"", "abc", 3);
	check_decode("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	check_decode("\"\\u00e9\"", "\xc3\xa9", 2);
	check_decode("\"\\u00E9\"", "\xc3\xa9", 2);
	check_decode("\"\\u0041\\u007f\"", "A\x7f", 2);
	check_decode("\"\\u07ff\\u0800\"", "\xdf\xbf\xe0\xa0\x80", 5);
	check_decode("\"\\u20ac\"", "\xe2\x82\xac", 3);
	check_decode("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	check_decode("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4);
	check_decode("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4);
	check_decode("\"caf\xc3\xa9\"", "caf\xc3\xa9", 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (json_text_decode(bad[i], strlen(bad[i]), out, sizeof(out)) != -1) {
			fail_msg("%s: decoded", bad[i]);
		}
	}
	/* The text is len bytes: what follows is not read. */
	assert_int_equal(json_text_decode("\"ab\"cd", 4, out, sizeof(out)), 2);
	assert_int_equal(json_text_decode("\"ab\"", 3, out, sizeof(out)), -1);
	assert_int_equal(json_text_decode("\"ab\"", 4, out, 0), -1);
}

/* xorshift64: the same strings on every run. */
static uint64_t
next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A string of up to 40 bytes, no NUL: valid UTF-8 of every width, or
 * bytes of any kind, or one spoilt by a byte of the other kind. */
static size_t
random_string(uint64_t *x, char *s)
{
	static const uint32_t ranges[][2] = {
	        {0x01, 0x1f},  {0x20, 0x7f},    {'"', '"'},       {'\\', '\\'},
	        {0x80, 0x7ff}, {0x800, 0xd7ff}, {0xe000, 0xffff}, {0x10000, 0x10ffff},
	};
	uint64_t kind = next_random(x) % 3;
	size_t n = 0;
	size_t want = next_random(x) % 41;

	while (n + 4 < want || (n < want && kind == 1)) {
		if (kind == 1) {
			s[n++] = (char)(1 + next_random(x) % 255);
			continue;
		}
		const uint32_t *r = ranges[next_random(x) % 8];
		uint32_t cp = r[0] + (uint32_t)(next_random(x) % (r[1] - r[0] + 1));

		if (cp < 0x80) {
			s[n++] = (char)cp;
		} else if (cp < 0x800) {
			s[n++] = (char)(0xc0 | (cp >> 6));
			s[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			s[n++] = (char)(0xe0 | (cp >> 12));
			s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[n++] = (char)(0xf0 | (cp >> 18));
			s[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	if (kind == 2 && n > 0) {
		s[next_random(x) % n] = (char)(0x80 + next_random(x) % 0x80);
	}
	s[n] = '\0';
	return n;
}

/* json_text_string's text always parses, keeps valid UTF-8, and
 * json_text_decode reads it as Jansson does. */
static void
test_round_trip(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t valid = 0;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		char in[48];
		char out[256];
		size_t n = random_string(&x, in);
		char *text = string_text(in);
		json_error_t err;
		json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
		/* Jansson's own check: json_string takes only UTF-8. */
		json_t *utf8 = json_string(in);
		ssize_t m;

		if (v == NULL || !json_is_string(v)) {
			fail_msg("case %d: jansson refused %s: %s", i, text, err.text);
		}
		if (utf8 != NULL) {
			valid++;
			assert_int_equal(json_string_length(v), n);
			assert_memory_equal(json_string_value(v), in, n);
		}
		m = json_text_decode(text, strlen(text), out, sizeof(out));
		assert_int_equal(m, (ssize_t)json_string_length(v));
		assert_memory_equal(out, json_string_value(v), (size_t)m);
		json_decref(utf8);
		json_decref(v);
		free(text);
	}
	/* Both kinds were tried. */
	assert_true(valid > 1000 && valid < 4000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_string_escapes),
	        cmocka_unit_test(test_string_controls),
	        cmocka_unit_test(test_string_utf8_kept),
	        cmocka_unit_test(test_string_invalid),
	        cmocka_unit_test(test_scalars),
	        cmocka_unit_test(test_keys_commas),
	        cmocka_unit_test(test_value),
	        cmocka_unit_test(test_each_object),
	        cmocka_unit_test(test_each_array),
	        cmocka_unit_test(test_each_malformed),
	        cmocka_unit_test(test_each_stops),
	        cmocka_unit_test(test_each_long_key),
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
