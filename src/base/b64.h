/* base64url without padding (RFC 4648 section 5, RFC 7515 section 2). */
#ifndef ACMED_B64_H
#define ACMED_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Encodes len bytes. Returns a new NUL-terminated string (free()), or NULL
 * when out of memory. */
char *b64_encode(const void *data, size_t len);

/* Strict decoding of slen characters: only the base64url alphabet, no padding,
 * no whitespace, no length of 1 mod 4, unused trailing bits zero. On success
 * stores a new buffer (free(); NUL-terminated for convenience, not counted in
 * *outlen) and returns 0; returns -1 on bad input or out of memory. */
int b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);

/* Whether s is 1 to maxlen characters of the base64url alphabet and nothing
 * else: the check for server-supplied tokens before they reach a path, a URL
 * or a hook (RFC 8555 section 8.3). */
bool b64_is_token(const char *s, size_t maxlen);

#endif
