#include "job_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "acme_client.h"
#include "cert.h"
#include "log.h"
#include "store.h"
#include "store_cert.h"

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
bool
job_is_due(struct job *job)
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
