#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	const struct acme_directory *dir;
	int rc = CLI_EXIT_USAGE;

	rc = cmd_session(cli, &conf, &settings, &s);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	dir = acme_client_directory(s.acme);
	if (dir->terms_of_service == NULL) {
		log_error("%s: the CA publishes no terms of service (meta.termsOfService)",
		          acme_client_directory_url(s.acme));
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	printf("%s\n", dir->terms_of_service);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_CA,
        CLI_OPT_CA_FILE,
        CLI_OPT__MAX,
};

const struct cli_command cmd_terms = {
        .name = "terms",
        .args = "",
        .summary = "Print the CA's terms-of-service URL.",
        .options = options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
