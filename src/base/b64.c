#include "base/b64.h"

#include <stdint.h>
#include <stdlib.h>

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of a base64url character, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '-') {
		return 62;
	}
	if (c == '_') {
		return 63;
	}
	return -1;
}

char *
b64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = NULL;
	size_t outlen, i, o = 0;
	uint32_t v;

	if (data == NULL && len != 0) {
		goto out;
	}
	if (len / 3 >= (SIZE_MAX - 4) / 4) {
		goto out;
	}
	outlen = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	out = malloc(outlen + 1);
	if (out == NULL) {
		goto out;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
	}
	out[o] = '\0';
out:
	return out;
}

int
b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t i, o = 0, n;
	uint32_t acc = 0;
	int bits = 0, v, rc = -1;

	if ((s == NULL && slen != 0) || out == NULL || outlen == NULL) {
		goto out;
	}
	if (slen % 4 == 1) {
		goto out;
	}
	n = slen / 4 * 3 + (slen % 4 == 0 ? 0 : slen % 4 - 1);
	buf = malloc(n + 1);
	if (buf == NULL) {
		goto out;
	}
	for (i = 0; i < slen; i++) {
		v = b64_value((unsigned char)s[i]);
		if (v < 0) {
			goto out;
		}
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* RFC 4648 section 3.5: the bits left over must be zero, so that each
	 * value has exactly one encoding. */
	if ((acc & ((1u << bits) - 1)) != 0) {
		goto out;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

bool
b64_is_token(const char *s, size_t maxlen)
{
	bool ok = false;
	size_t i;

	if (s == NULL || s[0] == '\0') {
		goto out;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= maxlen || b64_value((unsigned char)s[i]) < 0) {
			goto out;
		}
	}
	ok = true;
out:
	return ok;
}
