#include "renew/job_internal.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "io/hook.h"
#include "crypto/key.h"
#include "base/log.h"
#include "renew/policy.h"
#include "base/file.h"
#include "store/store_cert.h"

static char *
pem_of(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	char *out = NULL;
	long n;

	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1) {
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0) {
		goto out;
	}
	out = malloc((size_t)n + 1);
	if (out != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
out:
	BIO_free(bio);
	return out;
}

/* The result a successful deploy completes the job with. */
static enum job_result
deploy_result(const struct job *job)
{
	if (!job->installed) {
		return JOB_DEPLOYED;
	}
	return job->renewal ? JOB_RENEWED : JOB_ISSUED;
}

static void
on_deploy(int status, const char *why, const char *output, void *arg)
{
	struct job *job = arg;

	job->deploy = NULL;
	if (status != 0) {
		size_t n = strlen(output);

		/* One line for the log and status, whatever the hook printed. */
		while (n > 0 &&
		       (output[n - 1] == '\n' || output[n - 1] == '\r' || output[n - 1] == ' ')) {
			n--;
		}
		job_fail(job,
		         "%s: installed, but the deploy hook failed: %s%s%.*s; it runs again later "
		         "without a new order (acmed deploy %s runs it now)",
		         job->name, why, n > 0 ? ": " : "", (int)n, output, job->name);
		return;
	}
	job_complete(job, deploy_result(job));
}

void
job_deploy(struct job *job, enum job_result result)
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
	char **argv = hook_split(job->s.deploy_hook);
	char env[7][4200];
	char *envp[8];
	char domains[4096];
	size_t pos = 0;

	(void)result;
	job->deploying = true;
	job->state = "deploying";
	job->since = time(NULL);
	if (argv == NULL) {
		job_fail(job, "%s: installed, but deploy-hook '%s' is not a command", job->name,
		         job->s.deploy_hook);
		return;
	}
	domains[0] = '\0';
	for (size_t i = 0; i < job->n_ids && pos < sizeof(domains); i++) {
		pos += (size_t)snprintf(domains + pos, sizeof(domains) - pos, "%s%s",
		                        i > 0 ? " " : "", job->ids[i].value);
	}
	snprintf(env[0], sizeof(env[0]), "ACMED_CERT_NAME=%s", job->name);
	snprintf(env[1], sizeof(env[1]), "ACMED_CERT_DIR=%s", job->dir);
	for (size_t i = 0; i < 4; i++) {
		char *path = store_cert_path(job->runner->state_dir, job->name, files[i]);

		snprintf(env[2 + i], sizeof(env[2 + i]), "%s=%s", vars[i],
		         path != NULL ? path : "");
		free(path);
	}
	snprintf(env[6], sizeof(env[6]), "ACMED_DOMAINS=%s", domains);
	for (size_t i = 0; i < 7; i++) {
		envp[i] = env[i];
	}
	envp[7] = NULL;
	job->deploy = hook_run(job->runner->loop, argv, envp, (double)job->s.hook_timeout,
	                       on_deploy, job);
	hook_argv_free(argv);
	if (job->deploy == NULL) {
		job_fail(job, "%s: installed, but the deploy hook could not start", job->name);
	}
}

/* A host clock off from the CA's shows in what it issues: say so, once per
 * install; the policy's floor keeps it from ordering in a loop. */
static void
warn_skew(const struct job *job, time_t not_before, time_t not_after)
{
	time_t now = time(NULL);
	char date[LOG_TIME_LEN];

	log_time(not_before, date, sizeof(date));
	if (not_before > now + 300) {
		log_warn("%s: the certificate is valid only from %s, %ld s from now: is the host "
		         "clock behind? (check NTP)",
		         job->name, date, (long)(not_before - now));
	}
	if (policy_renewal_time(not_before, not_after, job->s.renew_before) <= now) {
		log_warn("%s: due again the moment it was installed (valid from %s): is the host "
		         "clock ahead, or renew-before longer than the CA's lifetime? the next "
		         "order waits at least %ld s",
		         job->name, date, policy_floor(not_before, not_after));
	}
}

/* Whether leaf (PEM) is the installed cert.pem, byte for byte. */
static bool
same_as_installed(const struct job *job, const char *leaf, size_t leaf_len)
{
	size_t len = 0;
	char *have;
	bool same;

	char *path = store_cert_path(job->runner->state_dir, job->name, STORE_CERT_CERT);

	have = path != NULL ? file_read(path, 1 << 20, &len) : NULL;
	same = have != NULL && len == leaf_len && memcmp(have, leaf, len) == 0;
	free(have);
	free(path);
	return same;
}

/* Checks the chain and installs it with the key. */
void
job_install(struct job *job, const char *pem, size_t pem_len)
{
	struct cert_chain chain;
	struct store_cert_set set;
	char err[512];
	char *key_pem = NULL;
	size_t key_len = 0;
	char *leaf = NULL;
	size_t leaf_len = 0;
	bool unchanged = false;
	char *rest = NULL;
	size_t rest_len = 0;
	time_t nb;
	char date[LOG_TIME_LEN];
	bool ok = false;

	memset(&chain, 0, sizeof(chain));
	if (cert_chain_parse(pem, pem_len, &chain, err, sizeof(err)) < 0 ||
	    cert_chain_check(&chain, job->key, job->ids, job->n_ids, time(NULL), err, sizeof(err)) <
	            0) {
		snprintf(job->message, sizeof(job->message),
		         "%s: the CA's certificate was refused, nothing installed: %s", job->name,
		         err);
		goto out;
	}
	key_pem = key_to_pem(job->key, &key_len);
	leaf = pem_of(chain.certs[0], &leaf_len);
	if (leaf != NULL && job->params.resume_url != NULL &&
	    same_as_installed(job, leaf, leaf_len)) {
		/* A resumed order whose certificate was installed just before
		 * a crash: nothing to switch, no deploy hook to run again; but
		 * the policy asked for a new one. */
		log_info("%s: the resumed order's certificate is already installed; ordering a "
		         "new one",
		         job->name);
		unchanged = true;
		goto out;
	}
	rest = calloc(1, 1);
	for (size_t i = 1; rest != NULL && i < chain.n; i++) {
		size_t n = 0;
		char *one = pem_of(chain.certs[i], &n);
		char *grown = one != NULL ? realloc(rest, rest_len + n + 1) : NULL;

		if (grown == NULL) {
			free(one);
			free(rest);
			rest = NULL;
			break;
		}
		rest = grown;
		memcpy(rest + rest_len, one, n);
		rest_len += n;
		rest[rest_len] = '\0';
		free(one);
	}
	if (key_pem == NULL || leaf == NULL || rest == NULL) {
		snprintf(job->message, sizeof(job->message), "%s: out of memory", job->name);
		goto out;
	}
	set.key_pem = key_pem;
	set.key_len = key_len;
	set.cert_pem = leaf;
	set.cert_len = leaf_len;
	set.chain_pem = rest;
	set.chain_len = rest_len;
	/* A kill between the switch and the record of the install must not
	 * lose the deploy: the hook is marked due first (running it once
	 * more over the old set, if the switch never happens, is harmless). */
	if (job->s.deploy_hook != NULL) {
		job_record(job, RECORD_DEPLOY_DUE, NULL);
	}
	if (store_cert_install(job->runner->state_dir, job->name, &set) < 0) {
		snprintf(job->message, sizeof(job->message),
		         "%s: cannot install the certificate (see above); the previous one stays",
		         job->name);
		goto out;
	}
	cert_validity(chain.certs[0], &nb, &job->not_after);
	free(job->ari_id);
	job->ari_id = cert_ari_id(chain.certs[0]);
	job->installed = true;
	job_record(job, RECORD_INSTALLED, NULL);
	log_time(job->not_after, date, sizeof(date));
	log_info("%s: installed in %s, valid until %s", job->name, job->dir, date);
	warn_skew(job, nb, job->not_after);
	ok = true;
out:
	if (key_pem != NULL) {
		key_pem_free(key_pem, key_len);
	}
	free(leaf);
	free(rest);
	cert_chain_finish(&chain);
	if (unchanged) {
		job_reorder(job);
	} else if (!ok) {
		job_complete(job, JOB_FAILED);
	} else if (job->s.deploy_hook != NULL) {
		job_deploy(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	} else {
		job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	}
}
