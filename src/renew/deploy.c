#include "renew/deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/hook.h"
#include "store/store_cert.h"

#define DEPLOY_ENV 9

struct deploy {
	deploy_done_fn done;
	void *arg;
};

static void
on_hook(int status, const char *why, const char *output, void *arg)
{
	struct deploy *d = arg;
	char detail[1024];
	size_t n = strlen(output);

	if (status == 0) {
		d->done(true, "", d->arg);
		free(d);
		return;
	}
	/* One line for the log and status, whatever the hook printed. */
	while (n > 0 && (output[n - 1] == '\n' || output[n - 1] == '\r' || output[n - 1] == ' ')) {
		n--;
	}
	snprintf(detail, sizeof(detail), "%s%s%.*s", why, n > 0 ? ": " : "", (int)n, output);
	/* Lines inside it too: the detail is kept in state.json and shown
	 * as one row of acmed status. */
	for (char *p = detail; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = ' ';
		}
	}
	d->done(false, detail, d->arg);
	free(d);
}

/* The hook's environment in env (DEPLOY_ENV strings of 4200 bytes): the
 * name, folder and files, ACMED_COMBINED_FILE and ACMED_PKCS12_FILE only
 * when the installed set has them (output). Returns how many. */
static size_t
make_env(const struct deploy_request *req, char env[DEPLOY_ENV][4200])
{
	static const enum store_cert_file files[] = {
	        STORE_CERT_PRIVKEY,
	        STORE_CERT_CERT,
	        STORE_CERT_CHAIN,
	        STORE_CERT_FULLCHAIN,
	};
	static const char *const vars[] = {
	        "ACMED_KEY_FILE",
	        "ACMED_CERT_FILE",
	        "ACMED_CHAIN_FILE",
	        "ACMED_FULLCHAIN_FILE",
	};
	static const enum store_cert_file extra[] = {STORE_CERT_COMBINED, STORE_CERT_PKCS12};
	static const char *const extra_vars[] = {"ACMED_COMBINED_FILE", "ACMED_PKCS12_FILE"};
	char domains[4096];
	size_t pos = 0;
	size_t n;

	domains[0] = '\0';
	for (size_t i = 0; i < req->n_ids && pos < sizeof(domains); i++) {
		pos += (size_t)snprintf(domains + pos, sizeof(domains) - pos, "%s%s",
		                        i > 0 ? " " : "", req->ids[i].value);
	}
	snprintf(env[0], sizeof(env[0]), "ACMED_CERT_NAME=%s", req->name);
	snprintf(env[1], sizeof(env[1]), "ACMED_CERT_DIR=%s", req->dir);
	for (size_t i = 0; i < 4; i++) {
		char *path = store_cert_path(req->state_dir, req->name, files[i]);

		snprintf(env[2 + i], sizeof(env[2 + i]), "%s=%s", vars[i],
		         path != NULL ? path : "");
		free(path);
	}
	snprintf(env[6], sizeof(env[6]), "ACMED_DOMAINS=%s", domains);
	n = 7;
	for (size_t i = 0; i < 2; i++) {
		char *path = store_cert_path(req->state_dir, req->name, extra[i]);

		if (path != NULL && access(path, F_OK) == 0) {
			snprintf(env[n], sizeof(env[n]), "%s=%s", extra_vars[i], path);
			n++;
		}
		free(path);
	}
	return n;
}

struct hook *
deploy_start(const struct deploy_request *req, deploy_done_fn done, void *arg, char *detail,
             size_t len)
{
	char env[DEPLOY_ENV][4200];
	char *envp[DEPLOY_ENV + 1];
	char **argv = hook_split(req->hook);
	struct deploy *d = NULL;
	struct hook *h = NULL;
	size_t n;

	if (argv == NULL) {
		snprintf(detail, len, "deploy-hook '%s' is not a command", req->hook);
		goto out;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(detail, len, "the deploy hook could not start");
		goto out;
	}
	d->done = done;
	d->arg = arg;
	n = make_env(req, env);
	for (size_t i = 0; i < n; i++) {
		envp[i] = env[i];
	}
	envp[n] = NULL;
	h = hook_run(req->loop, argv, envp, (double)req->timeout_s, on_hook, d);
	if (h == NULL) {
		snprintf(detail, len, "the deploy hook could not start");
		free(d);
	}
out:
	hook_argv_free(argv);
	return h;
}
