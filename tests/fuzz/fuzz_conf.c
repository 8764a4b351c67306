/* conf_load, the configuration file parser with its whole-file checks, then
 * conf_resolve and conf_find_cert for every section as the commands do.
 * conf_load only reads paths, so the input goes to a file first. */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "fuzz.h"

static void
check_resolved(const struct conf *conf, const struct conf_cert *cert)
{
	struct conf_settings s;

	memset(&s, 0, sizeof(s));
	if (conf_resolve(conf, cert, NULL, &s) == 0) {
		FUZZ_CHECK(s.challenge < CONF_CHALLENGE__MAX);
		FUZZ_CHECK((s.emails == NULL) == (s.n_emails == 0));
		FUZZ_CHECK((s.domains == NULL) == (s.n_domains == 0));
	}
	conf_settings_finish(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf conf;
	char *path;
	int rc;

	fuzz_setup();
	path = fuzz_write_file("acmed.conf", data, size);
	conf_init(&conf);
	rc = conf_load(&conf, path);
	FUZZ_CHECK((rc == 0) == (conf.n_errors == 0));
	for (size_t i = 0; i < conf.n_errors; i++) {
		FUZZ_CHECK(conf.errors[i] != NULL);
		FUZZ_CHECK(strncmp(conf.errors[i], path, strlen(path)) == 0);
		FUZZ_CHECK(strchr(conf.errors[i], '\n') == NULL);
	}
	check_resolved(&conf, NULL);
	for (size_t i = 0; i < conf.n_certs; i++) {
		const struct conf_cert *cert = &conf.certs[i];

		FUZZ_CHECK(cert->name != NULL);
		FUZZ_CHECK(conf_find_cert(&conf, cert->name) != NULL);
		check_resolved(&conf, cert);
	}
	conf_finish(&conf);
	free(path);
	return 0;
}
