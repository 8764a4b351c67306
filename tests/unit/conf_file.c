#include "conf_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char conf_file_dir[64];
char conf_file_path[128];

int
conf_file_setup(void **state)
{
	(void)state;
	snprintf(conf_file_dir, sizeof(conf_file_dir), "/tmp/acmed_test.XXXXXX");
	if (mkdtemp(conf_file_dir) == NULL) {
		return -1;
	}
	snprintf(conf_file_path, sizeof(conf_file_path), "%s/acmed.conf", conf_file_dir);
	return 0;
}

int
conf_file_teardown(void **state)
{
	(void)state;
	unlink(conf_file_path);
	rmdir(conf_file_dir);
	return 0;
}

void
conf_file_write(const char *text)
{
	FILE *fp = fopen(conf_file_path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}
