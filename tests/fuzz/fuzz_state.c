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
	struct state empty;
	char *path;

	fuzz_setup();
	state_init(&empty);
	path = fuzz_write_file("state.json", data, size);
	if (state_load(fuzz_tmpdir(), &st) == 0) {
		FUZZ_CHECK(st.attempts >= 0 && st.attempts <= 1000000);
	} else {
		/* Empty as state_init leaves it: version -1, not all zero. */
		FUZZ_CHECK(memcmp(&st, &empty, sizeof(st)) == 0);
	}
	state_finish(&st);
	free(path);
	return 0;
}
