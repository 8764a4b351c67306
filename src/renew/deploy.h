/* Running a certificate's deploy hook (deploy-hook) for what is installed,
 * with the paths and names in its environment:
 *   ACMED_CERT_NAME, ACMED_CERT_DIR, ACMED_KEY_FILE, ACMED_CERT_FILE,
 *   ACMED_CHAIN_FILE, ACMED_FULLCHAIN_FILE, ACMED_DOMAINS (space separated).
 * Calls its done back from the loop; calls nothing else. */
#ifndef ACMED_DEPLOY_H
#define ACMED_DEPLOY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ident.h"

struct deploy_request {
	struct ev_loop *loop;
	const char *state_dir;
	const char *name;
	const char *dir; /* certs/<name> */
	const char *hook; /* the command line */
	long timeout_s;
	const struct ident *ids; /* the certificate's names */
	size_t n_ids;
};

/* ok: the hook exited 0. Otherwise detail is one line: why, then what the
 * hook printed ("exit 3: cannot reload"). Borrowed for the call. */
typedef void (*deploy_done_fn)(bool ok, const char *detail, void *arg);

struct hook;

/* Starts the hook. Returns it (it ends by calling done), or NULL with the
 * reason in detail (len bytes) when it cannot start ("deploy-hook 'x' is
 * not a command", "the deploy hook could not start"). */
struct hook *deploy_start(const struct deploy_request *req, deploy_done_fn done, void *arg,
                          char *detail, size_t len);

#endif
