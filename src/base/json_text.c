#include "base/json_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KEY_MAX 1024

/* The length of the UTF-8 sequence at s (n bytes left), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF
 * refused (RFC 3629 section 4). */
static size_t
utf8_length(const unsigned char *s, size_t n)
{
	size_t want;
	uint32_t cp;

	if (s[0] < 0x80) {
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		want = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		want = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		want = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < want) {
		return 0;
	}
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0u) != 0x80u) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((want == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (want == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return want;
}

/* A comma unless b's last byte opens the object or array. */
static void
separate(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[') {
		buf_add(b, ",", 1);
	}
}

void
json_text_key(struct buf *b, const char *key)
{
	separate(b);
	json_text_string(b, key);
	buf_add(b, ":", 1);
}

void
json_text_next(struct buf *b)
{
	separate(b);
}

void
json_text_string(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s != NULL ? strlen(s) : 0;
	size_t run = 0; /* bytes copied as they are, waiting */

	if (s == NULL) {
		json_text_null(b);
		return;
	}
	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_length(p + i, n - i);
		char esc[8];
		const char *out = NULL;
		size_t out_len = 2;

		if (k == 1 && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			run++;
			i++;
			continue;
		}
		if (k > 1) {
			run += k;
			i += k;
			continue;
		}
		buf_add(b, p + i - run, run);
		run = 0;
		switch (k == 0 ? -1 : p[i]) {
		case -1:
			out = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
			out_len = 3;
			break;
		case '"':
			out = "\\\"";
			break;
		case '\\':
			out = "\\\\";
			break;
		case '\n':
			out = "\\n";
			break;
		case '\r':
			out = "\\r";
			break;
		case '\t':
			out = "\\t";
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			out = esc;
			out_len = 6;
			break;
		}
		buf_add(b, out, out_len);
		i++;
	}
	buf_add(b, p + n - run, run);
	buf_add(b, "\"", 1);
}

void
json_text_int(struct buf *b, long long v)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", v);

	buf_add(b, text, (size_t)n);
}

void
json_text_bool(struct buf *b, bool v)
{
	buf_add(b, v ? "true" : "false", v ? 4 : 5);
}

void
json_text_null(struct buf *b)
{
	buf_add(b, "null", 4);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the string whose opening quote is at text[i]: the index past
 * its closing quote, or 0 when it is not closed. */
static size_t
string_end(const char *text, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (text[i] == '\\') {
			i++;
		} else if (text[i] == '"') {
			return i + 1;
		} else if ((unsigned char)text[i] < 0x20) {
			return 0;
		}
	}
	return 0;
}

ssize_t
json_text_value(const char *text, size_t len)
{
	char open[JSON_TEXT_DEPTH];
	size_t depth = 0;
	size_t i = 0;

	while (i < len && is_space(text[i])) {
		i++;
	}
	if (i == len) {
		return -1;
	}
	do {
		char c = text[i];

		if (c == '"') {
			i = string_end(text, len, i);
			if (i == 0) {
				return -1;
			}
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == JSON_TEXT_DEPTH) {
				return -1;
			}
			open[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (depth == 0 || open[depth - 1] != c) {
				return -1;
			}
			depth--;
		} else if (depth == 0) {
			/* A scalar at the top: up to the next delimiter. */
			size_t start = i;

			while (i < len && !is_space(text[i]) &&
			       strchr(",:]}[{\"", text[i]) == NULL) {
				i++;
			}
			return i > start ? (ssize_t)i : -1;
		}
		i++;
	} while (depth > 0 && i < len);
	return depth == 0 ? (ssize_t)i : -1;
}

/* i past the white space at text[i]. */
static size_t
skip_space(const char *text, size_t len, size_t i)
{
	while (i < len && is_space(text[i])) {
		i++;
	}
	return i;
}

int
json_text_each(const char *text, size_t len, json_text_fn fn, void *arg)
{
	char key[KEY_MAX];
	size_t i = skip_space(text, len, 0);
	bool object;
	bool first = true;
	int rc = -1;

	if (i == len || (text[i] != '{' && text[i] != '[')) {
		goto out;
	}
	object = text[i] == '{';
	for (i++;;) {
		ssize_t n;

		i = skip_space(text, len, i);
		if (i < len && text[i] == (object ? '}' : ']') && first) {
			i++;
			break;
		}
		if (object) {
			n = json_text_value(text + i, len - i);
			if (n < 0 || text[i] != '"' ||
			    json_text_decode(text + i, (size_t)n, key, sizeof(key)) < 0) {
				goto out;
			}
			i = skip_space(text, len, i + (size_t)n);
			if (i == len || text[i] != ':') {
				goto out;
			}
			i = skip_space(text, len, i + 1);
		}
		n = json_text_value(text + i, len - i);
		if (n <= 0) {
			goto out;
		}
		rc = fn(object ? key : NULL, text + i, (size_t)n, arg);
		if (rc != 0) {
			goto out;
		}
		rc = -1;
		first = false;
		i = skip_space(text, len, i + (size_t)n);
		if (i < len && text[i] == ',') {
			i++;
			continue;
		}
		if (i < len && text[i] == (object ? '}' : ']')) {
			i++;
			break;
		}
		goto out;
	}
	/* Nothing but white space after the closing bracket. */
	rc = skip_space(text, len, i) == len ? 0 : -1;
out:
	return rc;
}

/* The value of the hex digit c, or -1. */
static int
hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* The four hex digits at s (n bytes left) as a number, or -1. */
static long
hex4(const char *s, size_t n)
{
	long v = 0;

	if (n < 4) {
		return -1;
	}
	for (size_t i = 0; i < 4; i++) {
		int d = hex(s[i]);

		if (d < 0) {
			return -1;
		}
		v = v * 16 + d;
	}
	return v;
}

/* cp as UTF-8 at out + *o (size bytes in all, one kept for the NUL). */
static int
put_utf8(char *out, size_t size, size_t *o, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (size - *o <= n) {
		return -1;
	}
	memcpy(out + *o, u, n);
	*o += n;
	return 0;
}

/* The \u escape at text[*i] (the backslash) as a code point, a surrogate
 * pair joined (RFC 8259 section 7); *i past it. Returns -1 when it is
 * not one, a lone surrogate included. */
static long
unicode_escape(const char *text, size_t end, size_t *i)
{
	long hi = hex4(text + *i + 2, end - *i - 2);
	long lo;

	if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff)) {
		return -1;
	}
	*i += 6;
	if (hi < 0xd800 || hi > 0xdbff) {
		return hi;
	}
	if (end - *i < 6 || text[*i] != '\\' || text[*i + 1] != 'u') {
		return -1;
	}
	lo = hex4(text + *i + 2, end - *i - 2);
	if (lo < 0xdc00 || lo > 0xdfff) {
		return -1;
	}
	*i += 6;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

ssize_t
json_text_decode(const char *text, size_t len, char *out, size_t size)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;
	size_t i = 1;
	size_t end;

	if (size == 0 || len < 2 || text[0] != '"' || string_end(text, len, 0) != len) {
		return -1;
	}
	end = len - 1;
	while (i < end) {
		long cp;
		const char *esc;

		if (text[i] != '\\') {
			if (size - o <= 1) {
				return -1;
			}
			out[o++] = text[i++];
			continue;
		}
		esc = text[i + 1] != '\0' && text[i + 1] != 'u' ? strchr(from, text[i + 1]) : NULL;
		if (esc != NULL) {
			if (size - o <= 1) {
				return -1;
			}
			out[o++] = to[esc - from];
			i += 2;
			continue;
		}
		cp = text[i + 1] == 'u' ? unicode_escape(text, end, &i) : -1;
		if (cp <= 0 || put_utf8(out, size, &o, (uint32_t)cp) < 0) {
			return -1;
		}
	}
	out[o] = '\0';
	return (ssize_t)o;
}
