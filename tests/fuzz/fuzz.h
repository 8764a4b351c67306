/* What every fuzz target shares: the libFuzzer entry point, quiet logging,
 * NUL-terminated copies of the input, files for parsers that only read paths,
 * and a check that aborts so that libFuzzer keeps the input. Each target is
 * linked either with libFuzzer (-Dfuzz=true, clang) or with replay.c, a plain
 * main() over the corpus. */
#ifndef ACMED_FUZZ_H
#define ACMED_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defined by each fuzz_<target>.c. Returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lowers the log level to errors only, once. Call at the top of every
 * LLVMFuzzerTestOneInput. */
void fuzz_setup(void);

/* A new NUL-terminated copy of the size bytes of data (free()); an embedded
 * NUL ends the string early, as it would in a header or argv. Aborts when out
 * of memory. */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* A private folder made once per process (mkdtemp under $TMPDIR, else
 * /dev/shm or /tmp) and removed at exit with what fuzz_write_file put in it.
 * Borrowed. */
const char *fuzz_tmpdir(void);

/* Replaces the file name in fuzz_tmpdir() with the size bytes of data.
 * Returns a new path (free()). Aborts on failure: the harness is broken, not
 * the code under test. */
char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

/* Prints "file:line: fuzz check failed: what" and aborts. */
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* An invariant of the code under test: prints the expression and where, then
 * aborts so that the fuzzer saves the input. */
#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond)) {                                \
			fuzz_fail(__FILE__, __LINE__, #cond); \
		}                                             \
	} while (0)

/* Whether the size bytes at p are all zero: parsers promise a zeroed struct
 * after a failure. */
bool fuzz_is_zero(const void *p, size_t size);

#endif
