/* acmed cluster-key new|id FILE: makes the key a fleet's nodes share
 * (crypto/seal.h), or names one so that two nodes' keys can be compared
 * without showing them. Reads no configuration: the key file is made
 * before the configuration names it. */
#include "cmd/cmd.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "crypto/seal.h"

/* Prints "FILE: WHAT ID" for the key in path. Returns an exit status. */
static int
print_id(const char *path, const char *what)
{
	unsigned char key[SEAL_KEY_LEN];
	char id[SEAL_KEY_ID_LEN];
	char err[512];
	int rc = CLI_EXIT_FAILURE;

	if (seal_key_load(path, key, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	seal_key_id(key, id);
	printf("%s: %s %s\n", path, what, id);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int
run(struct cli *cli)
{
	const char *verb = cli->args[0];
	const char *path = cli->args[1];
	char err[512];
	int rc = CLI_EXIT_FAILURE;

	if (strcmp(verb, "new") == 0) {
		if (seal_key_new(path, err, sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
		/* Read back: what is printed is what a node will load. */
		rc = print_id(path, "new cluster key");
		if (rc == CLI_EXIT_OK) {
			log_info("%s: copy it to every node (mode 0600)", path);
		}
	} else if (strcmp(verb, "id") == 0) {
		rc = print_id(path, "cluster key");
	} else {
		log_error("cluster-key: unknown sub-command '%s': use new or id", verb);
		cli_see_help(cli->command);
		rc = CLI_EXIT_USAGE;
	}
out:
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT__MAX,
};

const struct cli_command cmd_cluster_key = {
        .name = "cluster-key",
        .args = "new|id FILE",
        .summary = "The fleet's cluster key: make a new key file, or print a key's id.",
        .options = options,
        .min_args = 2,
        .max_args = 2,
        .run = run,
};
