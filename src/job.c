#include "job.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acme_order.h"
#include "cert.h"
#include "challenge.h"
#include "hook.h"
#include "key.h"
#include "keygen.h"
#include "log.h"
#include "store.h"
#include "state.h"
#include "store_cert.h"

#define MESSAGE_LEN 1024

struct responder {
	char *key;
	struct challenge *ch;
};

struct job {
	struct job_runner *runner;
	struct job *next;
	char *name;
	struct conf_settings s;
	bool force;
	struct acme_identifier *ids;
	size_t n_ids;
	bool renewal; /* a certificate is installed */
	EVP_PKEY *key;
	struct acme_order_params params;
	bool account_retried;
	bool has_step;
	enum acme_order_step step;
	enum job_result result;
	char message[MESSAGE_LEN];
	char *dir;
	time_t not_after;
	struct hook *deploy;
	char *resume_url;
	char *replaces; /* ARI ID of the installed certificate */
	time_t retry_after; /* the CA's Retry-After with a refusal */
	struct job *run_prev; /* in runner->running */
	struct job *run_next;
	time_t since; /* when the current state began */
	const char *state;
};

struct job_runner {
	struct ev_loop *loop;
	struct acme_client *client;
	struct acme_account_handle *acct;
	const struct conf_settings *account_settings;
	const char *state_dir;
	long concurrency;
	struct job *queue; /* waiting, in order */
	struct job **tail;
	size_t active;
	size_t waiting;
	struct responder *responders;
	size_t n_responders;
	struct keygen *keygen;
	unsigned long counts[JOB__MAX];
	bool account_busy;
	struct job *account_waiters;
	bool starting; /* inside job_next: no recursion */
	struct job *ordering; /* the job whose newOrder is in flight */
	struct job *order_waiters; /* FIFO of jobs waiting to send theirs */
	struct job **order_waiters_tail;
	struct job *running;
	job_done_fn on_done;
	void *on_done_arg;
	unsigned long total;
	unsigned long finished;
	unsigned long in_step[ACME_ORDER_STEP__MAX];
};

static void job_next(struct job_runner *r);
static void start_order(struct job *job);
static void on_order(int rc, const char *message, const char *pem, size_t pem_len,
                     time_t retry_after, void *arg);
static void on_step(enum acme_order_step step, void *arg);
static void release_order_gate(struct job_runner *r, struct job *job);

time_t
job_renewal_time(time_t not_before, time_t not_after, long renew_before)
{
	if (not_after <= not_before) {
		return not_after;
	}
	/* A renew-before as long as the lifetime would renew every new
	 * certificate at once, back to back: then the usual rule applies. */
	if (renew_before > 0 && renew_before < not_after - not_before) {
		return not_after - renew_before;
	}
	if (not_after - not_before < 10L * 24 * 3600) {
		return not_after - (not_after - not_before) / 2;
	}
	return not_after - (not_after - not_before) / 3;
}

struct job_runner *
job_runner_create(struct ev_loop *loop, struct acme_client *client,
                  struct acme_account_handle *acct, const struct conf_settings *account_settings,
                  const char *state_dir, long concurrency)
{
	struct job_runner *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_error("out of memory");
		return NULL;
	}
	r->loop = loop;
	r->client = client;
	r->acct = acct;
	r->account_settings = account_settings;
	r->state_dir = state_dir;
	r->concurrency = concurrency > 0 ? concurrency : 1;
	r->tail = &r->queue;
	r->order_waiters_tail = &r->order_waiters;
	r->keygen = keygen_create(loop);
	if (r->keygen == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
job_free(struct job *job)
{
	if (job == NULL) {
		return;
	}
	free(job->name);
	conf_settings_finish(&job->s);
	for (size_t i = 0; i < job->n_ids; i++) {
		free(job->ids[i].value);
	}
	free(job->ids);
	EVP_PKEY_free(job->key);
	free(job->dir);
	free(job->resume_url);
	free(job->replaces);
	free(job);
}

void
job_runner_destroy(struct job_runner *r)
{
	if (r == NULL) {
		return;
	}
	while (r->queue != NULL) {
		struct job *next = r->queue->next;

		job_free(r->queue);
		r->queue = next;
	}
	for (size_t i = 0; i < r->n_responders; i++) {
		challenge_destroy(r->responders[i].ch);
		free(r->responders[i].key);
	}
	free(r->responders);
	keygen_destroy(r->keygen);
	free(r);
}

unsigned long
job_runner_count(const struct job_runner *r, enum job_result result)
{
	return result < JOB__MAX ? r->counts[result] : 0;
}

/* One responder per distinct configuration, shared by all jobs. */
static struct challenge *
responder_for(struct job_runner *r, const struct conf_settings *s)
{
	struct responder *grown;
	struct challenge *ch;
	char *key = challenge_key(s);

	if (key == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < r->n_responders; i++) {
		if (strcmp(r->responders[i].key, key) == 0) {
			free(key);
			return r->responders[i].ch;
		}
	}
	ch = challenge_create(r->loop, s);
	if (ch == NULL) {
		free(key);
		return NULL;
	}
	grown = realloc(r->responders, (r->n_responders + 1) * sizeof(*grown));
	if (grown == NULL) {
		challenge_destroy(ch);
		free(key);
		return NULL;
	}
	r->responders = grown;
	r->responders[r->n_responders].key = key;
	r->responders[r->n_responders].ch = ch;
	r->n_responders++;
	return ch;
}

static int
make_ids(struct job *job)
{
	unsigned char addr[16];

	job->ids = calloc(job->s.n_domains, sizeof(*job->ids));
	if (job->ids == NULL) {
		return -1;
	}
	for (size_t i = 0; i < job->s.n_domains; i++) {
		const char *d = job->s.domains[i];

		/* RFC 8738: addresses are "ip" identifiers. */
		job->ids[i].type =
		        inet_pton(AF_INET, d, addr) == 1 || inet_pton(AF_INET6, d, addr) == 1
		                ? ACME_ID_IP
		                : ACME_ID_DNS;
		job->ids[i].value = strdup(d);
		if (job->ids[i].value == NULL) {
			return -1;
		}
		job->n_ids = i + 1;
	}
	return 0;
}

int
job_runner_add(struct job_runner *r, const char *name, const struct conf_settings *s, bool force)
{
	struct conf empty;
	struct job *job;

	if (s->n_domains == 0) {
		log_error("%s: no domains: set domains in its [cert] section", name);
		return -1;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		log_error("out of memory");
		return -1;
	}
	conf_init(&empty);
	job->runner = r;
	job->force = force;
	job->name = strdup(name);
	job->dir = store_cert_dir(r->state_dir, name);
	if (job->name == NULL || job->dir == NULL || conf_resolve(&empty, NULL, s, &job->s) < 0 ||
	    make_ids(job) < 0) {
		log_error("%s: cannot queue the certificate (bad name or out of memory)", name);
		job_free(job);
		return -1;
	}
	*r->tail = job;
	r->tail = &job->next;
	r->waiting++;
	r->total++;
	job->state = "waiting";
	job->since = time(NULL);
	return 0;
}

static bool
same_names(const struct acme_identifier *a, size_t na, const struct acme_identifier *b, size_t nb)
{
	if (na != nb) {
		return false;
	}
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++) {
			found = a[i].type == b[j].type && strcasecmp(a[i].value, b[j].value) == 0;
		}
		if (!found) {
			return false;
		}
	}
	return true;
}

time_t
job_due(const char *state_dir, const char *name, const struct conf_settings *s, time_t *not_after)
{
	struct acme_identifier *want = NULL;
	struct acme_identifier *have = NULL;
	size_t n_have = 0;
	char *dir = store_cert_dir(state_dir, name);
	char *path = dir != NULL ? store_path(dir, "cert.pem", NULL) : NULL;
	char err[256];
	time_t now = time(NULL);
	time_t when = now;
	time_t nb;
	time_t na;
	X509 *x = NULL;
	unsigned char addr[16];

	*not_after = 0;
	want = calloc(s->n_domains + 1, sizeof(*want));
	if (path == NULL || want == NULL) {
		goto out;
	}
	for (size_t i = 0; i < s->n_domains; i++) {
		want[i].type = inet_pton(AF_INET, s->domains[i], addr) == 1 ||
		                               inet_pton(AF_INET6, s->domains[i], addr) == 1
		                       ? ACME_ID_IP
		                       : ACME_ID_DNS;
		want[i].value = s->domains[i];
	}
	x = cert_load(path, err, sizeof(err));
	if (x == NULL || cert_validity(x, &nb, &na) < 0 || cert_ids(x, &have, &n_have) < 0) {
		goto out;
	}
	*not_after = na;
	if (!same_names(have, n_have, want, s->n_domains)) {
		goto out;
	}
	when = job_renewal_time(nb, na, s->renew_before);
out:
	cert_ids_free(have, n_have);
	X509_free(x);
	free(want);
	free(path);
	free(dir);
	return when;
}

/* Whether the job has work to do, from the installed certificate. */
static bool
is_due(struct job *job)
{
	const struct acme_directory *dir;
	char path[4096];
	char err[256];
	struct acme_identifier *ids = NULL;
	size_t n = 0;
	time_t nb;
	time_t na;
	time_t when;
	X509 *x = NULL;
	bool due = true;

	snprintf(path, sizeof(path), "%s/cert.pem", job->dir);
	x = cert_load(path, err, sizeof(err));
	if (x == NULL) {
		log_debug("%s: no installed certificate (%s)", job->name, err);
		goto out;
	}
	job->renewal = true;
	/* RFC 9773 section 5: a renewal names the certificate it replaces
	 * when the CA speaks ARI. */
	dir = acme_client_directory(job->runner->client);
	if (dir != NULL && dir->renewal_info != NULL) {
		job->replaces = cert_ari_id(x);
	}
	if (cert_validity(x, &nb, &na) < 0 || cert_ids(x, &ids, &n) < 0) {
		log_warn("%s: %s: unreadable certificate, ordering a new one", job->name, path);
		goto out;
	}
	job->not_after = na;
	if (!same_names(ids, n, job->ids, job->n_ids)) {
		log_info("%s: the configured names changed", job->name);
		goto out;
	}
	when = job_renewal_time(nb, na, job->s.renew_before);
	if (job->force) {
		log_info("%s: renewing now", job->name);
		goto out;
	}
	if (time(NULL) >= when) {
		log_info("%s: due for renewal", job->name);
		goto out;
	}
	due = false;
out:
	cert_ids_free(ids, n);
	X509_free(x);
	return due;
}

static void
pending_key_path(const struct job *job, char *path, size_t len)
{
	snprintf(path, len, "%s/pending.key", job->dir);
}

static void
pending_key_remove(const struct job *job)
{
	char path[4096];

	pending_key_path(job, path, sizeof(path));
	unlink(path);
}

/* Once the CA created the order, its URL and the new key are kept so that a
 * restart (even after kill -9) resumes it instead of starting over. */
static void
on_order_url(const char *url, void *arg)
{
	struct job *job = arg;
	struct state st;
	char path[4096];

	pending_key_path(job, path, sizeof(path));
	if (store_mkdirs(job->dir, 0755) < 0 || key_save(job->key, path) < 0) {
		return;
	}
	state_load(job->dir, &st);
	free(st.order_url);
	st.order_url = strdup(url);
	state_save(job->dir, job->name, &st);
	state_finish(&st);
}

/* An order left by an earlier run with its key: resumed when both are
 * there. */
static bool
load_resume(struct job *job)
{
	struct state st;
	char path[4096];
	bool ok = false;

	if (state_load(job->dir, &st) < 0 || st.order_url == NULL) {
		goto out;
	}
	pending_key_path(job, path, sizeof(path));
	if (access(path, F_OK) != 0) {
		goto out;
	}
	job->key = key_load(path);
	if (job->key == NULL) {
		goto out;
	}
	job->resume_url = st.order_url;
	st.order_url = NULL;
	ok = true;
out:
	state_finish(&st);
	return ok;
}

/* state.json: what status and the daemon read back. */
static void
save_state(struct job *job, bool ok)
{
	struct state st;
	time_t now = time(NULL);

	/* A broken file is replaced rather than a reason to fail the job. */
	state_load(job->dir, &st);
	st.last_attempt = now;
	if (job->not_after != 0) {
		st.not_after = job->not_after;
	}
	free(st.last_error);
	st.last_error = NULL;
	/* The order is over, whatever its outcome: nothing to resume. */
	free(st.order_url);
	st.order_url = NULL;
	pending_key_remove(job);
	if (ok) {
		st.attempts = 0;
		st.last_success = now;
		st.next_try = 0;
	} else {
		st.attempts++;
		st.last_error = strdup(job->message);
	}
	state_save(job->dir, job->name, &st);
	state_finish(&st);
}

/* On a terminal, one line under the messages says where the batch is. */
static void
show_progress(struct job_runner *r)
{
	if (!log_is_tty()) {
		return;
	}
	if (r->finished == r->total) {
		log_status_clear();
		return;
	}
	log_status("acmed: %lu/%lu done, ordering %lu, validating %lu, finalizing %lu, "
	           "downloading %lu",
	           r->finished, r->total, r->in_step[ACME_ORDER_STEP_ORDERING],
	           r->in_step[ACME_ORDER_STEP_VALIDATING], r->in_step[ACME_ORDER_STEP_FINALIZING],
	           r->in_step[ACME_ORDER_STEP_DOWNLOADING]);
}

static void
set_job_step(struct job *job, bool has_step, enum acme_order_step step)
{
	struct job_runner *r = job->runner;

	if (job->has_step) {
		r->in_step[job->step]--;
	}
	job->has_step = has_step;
	job->step = step;
	if (has_step) {
		r->in_step[step]++;
		job->state = acme_order_step_name(step);
		job->since = time(NULL);
	}
	show_progress(r);
}

static void
job_complete(struct job *job, enum job_result result)
{
	struct job_runner *r = job->runner;

	set_job_step(job, false, ACME_ORDER_STEP_ORDERING);
	r->finished++;
	show_progress(r);
	job->result = result;
	r->counts[result]++;
	if (result == JOB_FAILED) {
		log_error("%s", job->message);
	}
	/* An unchanged job that resumed an order still clears it. */
	if (result != JOB_UNCHANGED || job->resume_url != NULL) {
		save_state(job, result != JOB_FAILED);
	}
	r->active--;
	if (job->run_prev != NULL) {
		job->run_prev->run_next = job->run_next;
	} else if (r->running == job) {
		r->running = job->run_next;
	}
	if (job->run_next != NULL) {
		job->run_next->run_prev = job->run_prev;
	}
	if (r->on_done != NULL) {
		r->on_done(job->name, result, job->message, job->retry_after, r->on_done_arg);
	}
	job_free(job);
	job_next(r);
}

static void fail_job(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail_job(struct job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->message, sizeof(job->message), fmt, ap);
	va_end(ap);
	job_complete(job, JOB_FAILED);
}

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

static void
on_deploy(int status, const char *why, const char *output, void *arg)
{
	struct job *job = arg;

	job->deploy = NULL;
	if (status != 0) {
		fail_job(job, "%s: installed, but the deploy hook failed: %s%s%s", job->name, why,
		         output[0] != '\0' ? ": " : "", output);
		return;
	}
	job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
}

static void
run_deploy_hook(struct job *job)
{
	job->state = "deploying";
	job->since = time(NULL);
	char **argv = hook_split(job->s.deploy_hook);
	char env[7][4200];
	char *envp[8];
	char domains[4096];
	size_t pos = 0;

	if (argv == NULL) {
		fail_job(job, "%s: installed, but deploy-hook '%s' is not a command", job->name,
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
	snprintf(env[2], sizeof(env[2]), "ACMED_KEY_FILE=%s/privkey.pem", job->dir);
	snprintf(env[3], sizeof(env[3]), "ACMED_CERT_FILE=%s/cert.pem", job->dir);
	snprintf(env[4], sizeof(env[4]), "ACMED_CHAIN_FILE=%s/chain.pem", job->dir);
	snprintf(env[5], sizeof(env[5]), "ACMED_FULLCHAIN_FILE=%s/fullchain.pem", job->dir);
	snprintf(env[6], sizeof(env[6]), "ACMED_DOMAINS=%s", domains);
	for (size_t i = 0; i < 7; i++) {
		envp[i] = env[i];
	}
	envp[7] = NULL;
	job->deploy = hook_run(job->runner->loop, argv, envp, (double)job->s.hook_timeout,
	                       on_deploy, job);
	hook_argv_free(argv);
	if (job->deploy == NULL) {
		fail_job(job, "%s: installed, but the deploy hook could not start", job->name);
	}
}

/* Whether leaf (PEM) is the installed cert.pem, byte for byte. */
static bool
same_as_installed(const struct job *job, const char *leaf, size_t leaf_len)
{
	char path[4096];
	size_t len = 0;
	char *have;
	bool same;

	snprintf(path, sizeof(path), "%s/cert.pem", job->dir);
	have = store_read_file(path, 1 << 20, &len);
	same = have != NULL && len == leaf_len && memcmp(have, leaf, len) == 0;
	free(have);
	return same;
}

/* Checks the chain and installs it with the key. */
static void
install(struct job *job, const char *pem, size_t pem_len)
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
	char date[64];
	struct tm tm;
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
		 * a crash: nothing to switch, no deploy hook to run again. */
		log_info("%s: the resumed order's certificate is already installed", job->name);
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
	if (store_cert_install(job->runner->state_dir, job->name, &set) < 0) {
		snprintf(job->message, sizeof(job->message),
		         "%s: cannot install the certificate (see above); the previous one stays",
		         job->name);
		goto out;
	}
	cert_validity(chain.certs[0], &nb, &job->not_after);
	gmtime_r(&job->not_after, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	log_info("%s: installed in %s, valid until %s", job->name, job->dir, date);
	ok = true;
out:
	if (key_pem != NULL) {
		key_pem_free(key_pem, key_len);
	}
	free(leaf);
	free(rest);
	cert_chain_finish(&chain);
	if (unchanged) {
		job_complete(job, JOB_UNCHANGED);
	} else if (!ok) {
		job_complete(job, JOB_FAILED);
	} else if (job->s.deploy_hook != NULL) {
		run_deploy_hook(job);
	} else {
		job_complete(job, job->renewal ? JOB_RENEWED : JOB_ISSUED);
	}
}

static void
on_account_again(int rc, const char *message, void *arg)
{
	struct job *job = arg;
	struct job_runner *r = job->runner;
	struct job *waiters = r->account_waiters;

	r->account_busy = false;
	r->account_waiters = NULL;
	/* Everyone who hit accountDoesNotExist meanwhile goes on too. */
	while (waiters != NULL) {
		struct job *w = waiters;

		waiters = w->next;
		w->next = NULL;
		if (rc < 0) {
			fail_job(w, "%s: registering the account again: %s", w->name, message);
		} else {
			start_order(w);
		}
	}
	(void)job;
}

static void
on_order(int rc, const char *message, const char *pem, size_t pem_len, time_t retry_after,
         void *arg)
{
	struct job *job = arg;

	job->retry_after = retry_after;
	struct job_runner *r = job->runner;

	release_order_gate(r, job);
	if (rc == ACME_ORDER_NO_ACCOUNT && !job->account_retried) {
		/* The CA forgot the account (a restarted test CA does):
		 * register once more, then order again. */
		job->account_retried = true;
		log_warn("%s: the CA does not know the account; registering again", job->name);
		job->next = r->account_waiters;
		r->account_waiters = job;
		if (!r->account_busy) {
			int started = acme_account_ensure(r->client, r->acct, r->account_settings,
			                                  true, on_account_again, job);

			if (started == 0) {
				r->account_busy = true;
			} else {
				on_account_again(-1, "cannot start", job);
			}
		}
		return;
	}
	if (rc == ACME_ORDER_REPLACED && job->params.replaces != NULL) {
		log_warn("%s; ordering without replaces", message);
		job->params.replaces = NULL;
		start_order(job);
		return;
	}
	if (rc != ACME_ORDER_OK) {
		fail_job(job, "%s", message);
		return;
	}
	install(job, pem, pem_len);
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct job *job = arg;

	set_job_step(job, true, step);
	if (step != ACME_ORDER_STEP_ORDERING) {
		release_order_gate(job->runner, job);
	}
	/* Without a terminal, a single certificate's steps are worth a line
	 * each; a batch's would drown its outcomes. */
	log_msg(job->runner->total == 1 && !log_is_tty() ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	        "%s: %s", job->name, acme_order_step_name(step));
}

/* newOrder requests go to the CA one at a time: they are the expensive
 * ones for a CA (and what its rate limits count), the rest of each order
 * runs in parallel anyway, and Pebble 2.4's memory store deadlocks on
 * concurrent newOrder requests. */
static void
release_order_gate(struct job_runner *r, struct job *job)
{
	struct job *next;

	if (r->ordering != job) {
		return;
	}
	r->ordering = NULL;
	next = r->order_waiters;
	if (next != NULL) {
		r->order_waiters = next->next;
		if (r->order_waiters == NULL) {
			r->order_waiters_tail = &r->order_waiters;
		}
		next->next = NULL;
		start_order(next);
	}
}

static void
start_order(struct job *job)
{
	struct job_runner *r = job->runner;

	if (r->ordering != NULL) {
		*r->order_waiters_tail = job;
		r->order_waiters_tail = &job->next;
		return;
	}
	r->ordering = job;
	if (acme_order_start(r->loop, r->client, r->acct, &job->params, on_order, on_step, job) ==
	    NULL) {
		release_order_gate(r, job);
		fail_job(job, "%s: cannot start the order", job->name);
	}
}

static void
on_key(EVP_PKEY *key, void *arg)
{
	struct job *job = arg;

	if (key == NULL) {
		fail_job(job, "%s: cannot make a %s key", job->name,
		         key_type_name(job->s.key_type));
		return;
	}
	job->key = key;
	job->params.cert_key = job->key;
	start_order(job);
}

static void
job_start(struct job *job)
{
	struct job_runner *r = job->runner;
	char path[4096];

	r->active++;
	job->run_next = r->running;
	if (r->running != NULL) {
		r->running->run_prev = job;
	}
	r->running = job;
	job->state = "ordering";
	job->since = time(NULL);
	if (!is_due(job)) {
		char date[64];
		struct tm tm;

		gmtime_r(&job->not_after, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		log_info("%s: valid until %s, not due (--force renews now)", job->name, date);
		job_complete(job, JOB_UNCHANGED);
		return;
	}
	job->params.responder = responder_for(r, &job->s);
	if (job->params.responder == NULL) {
		fail_job(job, "%s: no challenge responder (see above)", job->name);
		return;
	}
	job->params.name = job->name;
	job->params.ids = job->ids;
	job->params.n_ids = job->n_ids;
	job->params.on_url = on_order_url;
	job->params.replaces = job->replaces;
	if (load_resume(job)) {
		job->params.resume_url = job->resume_url;
		job->params.cert_key = job->key;
		start_order(job);
		return;
	}
	snprintf(path, sizeof(path), "%s/privkey.pem", job->dir);
	if (job->s.reuse_key && access(path, F_OK) == 0) {
		log_debug("%s: reusing the key in %s", job->name, path);
		job->key = key_load(path);
		if (job->key == NULL) {
			fail_job(job, "%s: cannot reuse the key in %s (see above)", job->name,
			         path);
			return;
		}
		job->params.cert_key = job->key;
		start_order(job);
		return;
	}
	if (keygen_submit(r->keygen, job->s.key_type, on_key, job) < 0) {
		fail_job(job, "%s: cannot make a key", job->name);
	}
}

/* Starts waiting jobs while below the cap. */
static void
job_next(struct job_runner *r)
{
	/* Jobs that finish at once (not due) would otherwise recurse here
	 * once per certificate. */
	if (r->starting) {
		return;
	}
	r->starting = true;
	while (r->queue != NULL && r->active < (size_t)r->concurrency) {
		struct job *job = r->queue;

		r->queue = job->next;
		if (r->queue == NULL) {
			r->tail = &r->queue;
		}
		job->next = NULL;
		r->waiting--;
		job_start(job);
	}
	r->starting = false;
}

void
job_runner_on_done(struct job_runner *r, job_done_fn done, void *arg)
{
	r->on_done = done;
	r->on_done_arg = arg;
}

void
job_runner_start(struct job_runner *r)
{
	job_next(r);
}

size_t
job_runner_active(const struct job_runner *r)
{
	return r->active;
}

size_t
job_runner_waiting(const struct job_runner *r)
{
	return r->waiting;
}

bool
job_runner_has(const struct job_runner *r, const char *name)
{
	for (const struct job *j = r->running; j != NULL; j = j->run_next) {
		if (strcmp(j->name, name) == 0) {
			return true;
		}
	}
	for (const struct job *j = r->queue; j != NULL; j = j->next) {
		if (strcmp(j->name, name) == 0) {
			return true;
		}
	}
	return false;
}

static void
list_one(const struct job *j, json_t *list)
{
	json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "cert", j->name, "state", j->state,
	                                      "since", (json_int_t)j->since));
}

void
job_runner_list(const struct job_runner *r, json_t *list)
{
	for (const struct job *j = r->running; j != NULL; j = j->run_next) {
		list_one(j, list);
	}
	for (const struct job *j = r->queue; j != NULL; j = j->next) {
		list_one(j, list);
	}
}

void
job_runner_run(struct job_runner *r)
{
	job_next(r);
	while (r->active > 0 || r->waiting > 0) {
		ev_run(r->loop, EVRUN_ONCE);
	}
}
