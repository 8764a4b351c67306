/* b64_decode, strict base64url (JWS members, EAB keys, ARI identifiers), and
 * b64_encode: strict decoding means exactly one encoding per value, so a
 * decoded input encodes back to itself, and any bytes survive a round trip. */
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *dec = NULL;
	unsigned char *back = NULL;
	char *enc = NULL;
	size_t dec_len = 0;
	size_t back_len = 0;

	fuzz_setup();
	if (b64_decode((const char *)data, size, &dec, &dec_len) == 0) {
		FUZZ_CHECK(dec != NULL);
		FUZZ_CHECK(dec_len <= size / 4 * 3 + 2);
		FUZZ_CHECK(dec[dec_len] == '\0');
		enc = b64_encode(dec, dec_len);
		FUZZ_CHECK(enc != NULL);
		FUZZ_CHECK(strlen(enc) == size && memcmp(enc, data, size) == 0);
		free(enc);
		enc = NULL;
	}
	free(dec);
	enc = b64_encode(data, size);
	FUZZ_CHECK(enc != NULL);
	FUZZ_CHECK(b64_decode(enc, strlen(enc), &back, &back_len) == 0);
	FUZZ_CHECK(back_len == size && (size == 0 || memcmp(back, data, size) == 0));
	/* A non-empty encoding is a token, as ARI identifiers and key
	 * authorizations must be. */
	FUZZ_CHECK(b64_is_token(enc, strlen(enc)) == (size > 0));
	free(back);
	free(enc);
	return 0;
}
