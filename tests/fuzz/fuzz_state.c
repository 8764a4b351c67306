/* state_load: certs/<name>/state.json, written by acmed but read back after
 * crashes, disk trouble and hand edits. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/state.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	char *path;

	fuzz_setup();
	path = fuzz_write_file("state.json", data, size);
	if (state_load(fuzz_tmpdir(), &st) == 0) {
		FUZZ_CHECK(st.attempts >= 0 && st.attempts <= 1000000);
	} else {
		FUZZ_CHECK(fuzz_is_zero(&st, sizeof(st)));
	}
	state_finish(&st);
	free(path);
	return 0;
}
