/* A plain main() for the fuzz targets, so that the corpus runs as a test
 * without clang or libFuzzer: every argument is a file, or a folder whose
 * files (not recursively, dot files skipped) are fed in name order, each once,
 * to LLVMFuzzerTestOneInput. A crash or a sanitizer report fails the test;
 * the name of the input is printed first so the log says which. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "base/file.h"

/* The largest input any target is fuzzed with, with room to spare. */
#define REPLAY_MAX (4 * 1024 * 1024)

static int
replay_file(const char *path)
{
	char *data = NULL;
	uint8_t *exact = NULL;
	size_t len = 0;
	int rc = -1;

	data = file_read(path, REPLAY_MAX, &len);
	if (data == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	/* A copy of exactly len bytes, as libFuzzer passes: the NUL that
	 * file_read adds would hide an over-read from AddressSanitizer. */
	exact = malloc(len > 0 ? len : 1);
	if (exact == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	memcpy(exact, data, len);
	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(exact, len);
	rc = 0;
out:
	free(exact);
	free(data);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the files of dir; *count gets how many. Returns 0 or -1. */
static int
replay_dir(const char *dir, size_t *count)
{
	DIR *d = NULL;
	struct dirent *e;
	char **names = NULL;
	char **grown;
	size_t n = 0, cap = 0, i;
	char *path;
	int rc = -1;

	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (e == NULL) {
			break;
		}
		if (e->d_name[0] == '.') {
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				goto out;
			}
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL) {
			goto out;
		}
		n++;
	}
	if (errno != 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		path = file_path(dir, names[i], NULL);
		if (path == NULL || replay_file(path) < 0) {
			free(path);
			goto out;
		}
		free(path);
		(*count)++;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
	if (d != NULL) {
		closedir(d);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int rc = EXIT_SUCCESS;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = EXIT_FAILURE;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0) {
				rc = EXIT_FAILURE;
			}
		} else if (replay_file(argv[i]) < 0) {
			rc = EXIT_FAILURE;
		} else {
			count++;
		}
	}
	printf("%zu inputs replayed\n", count);
	if (count == 0) {
		fprintf(stderr, "no input: an empty corpus tests nothing\n");
		rc = EXIT_FAILURE;
	}
	return rc;
}
