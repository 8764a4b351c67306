#include "renew/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_client.h"
#include "acme/acme_counts.h"
#include "base/buf.h"
#include "config.h"

/* The families, in the order the page lists them. */
enum family {
	F_BUILD_INFO,
	F_NOT_AFTER,
	F_NOT_BEFORE,
	F_NEXT_RENEWAL,
	F_LAST_SUCCESS,
	F_FAILURES,
	F_INFO,
	F_ARI_START,
	F_ARI_END,
	F_RENEWALS,
	F_IN_FLIGHT,
	F_REQUESTS,
	F_PROBLEMS,
	F__MAX,
};

static const struct {
	const char *name;
	const char *type;
	const char *help;
} families[F__MAX] = {
        [F_BUILD_INFO] = {"acmed_build_info", "gauge", "The running acmed's version."},
        [F_NOT_AFTER] = {"acmed_certificate_not_after_seconds", "gauge",
                         "When the installed certificate expires (Unix time)."},
        [F_NOT_BEFORE] = {"acmed_certificate_not_before_seconds", "gauge",
                          "When the installed certificate became valid (Unix time)."},
        [F_NEXT_RENEWAL] = {"acmed_certificate_next_renewal_seconds", "gauge",
                            "When acmed looks at the certificate next: its renewal "
                            "time, or its next try after failures (Unix time)."},
        [F_LAST_SUCCESS] = {"acmed_certificate_last_success_seconds", "gauge",
                            "When an order for the certificate last succeeded (Unix time)."},
        [F_FAILURES] = {"acmed_certificate_failures", "gauge",
                        "Failed attempts in a row (orders, and the deploy hook while "
                        "a deploy is owed); 0 after a success."},
        [F_INFO] = {"acmed_certificate_info", "gauge",
                    "The installed certificate's CA (directory URL), key type and "
                    "issuer; always 1."},
        [F_ARI_START] = {"acmed_ari_window_start_seconds", "gauge",
                         "The start of the renewal window the issuing CA suggests "
                         "(RFC 9773; Unix time)."},
        [F_ARI_END] = {"acmed_ari_window_end_seconds", "gauge",
                       "The end of the renewal window the issuing CA suggests "
                       "(RFC 9773; Unix time)."},
        [F_RENEWALS] = {"acmed_renewals_total", "counter",
                        "Certificate jobs ended, by result: since the daemon started, or in the "
                        "acmed renew run that wrote the file."},
        [F_IN_FLIGHT] = {"acmed_orders_in_flight", "gauge", "Certificate jobs running now."},
        [F_REQUESTS] = {"acmed_acme_requests_total", "counter",
                        "HTTP answers from each CA, retries included, by status "
                        "(0: none, the request failed)."},
        [F_PROBLEMS] = {"acmed_acme_problems_total", "counter",
                        "Problem documents (RFC 7807) from each CA, by type."},
};

struct metrics {
	struct buf family[F__MAX];
};

struct metrics *
metrics_begin(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m != NULL) {
		for (size_t i = 0; i < F__MAX; i++) {
			buf_init(&m->family[i], METRICS_MAX);
		}
	}
	return m;
}

static void
add_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
metrics_label_value(struct buf *b, const char *value)
{
	const char *run = value;

	for (const char *p = value; *p != '\0'; p++) {
		const char *esc = *p == '\\'   ? "\\\\"
		                  : *p == '"'  ? "\\\""
		                  : *p == '\n' ? "\\n"
		                               : NULL;

		if (esc != NULL) {
			buf_add(b, run, (size_t)(p - run));
			add_str(b, esc);
			run = p + 1;
		}
	}
	add_str(b, run);
}

/* One sample: the family's name, labels (NULL-terminated name, value
 * pairs; a NULL value is written as "") and value. */
static void
sample(struct metrics *m, enum family f, int64_t value, ...)
{
	struct buf *b = &m->family[f];
	const char *label;
	char num[32];
	va_list ap;
	bool first = true;

	add_str(b, families[f].name);
	va_start(ap, value);
	while ((label = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		add_str(b, first ? "{" : ",");
		add_str(b, label);
		add_str(b, "=\"");
		metrics_label_value(b, v != NULL ? v : "");
		add_str(b, "\"");
		first = false;
	}
	va_end(ap);
	snprintf(num, sizeof(num), "%s %" PRId64 "\n", first ? "" : "}", value);
	add_str(b, num);
}

void
metrics_add_row(struct metrics *m, const struct status_row *row)
{
	const char *cert = row->cert;

	if (m == NULL) {
		return;
	}
	/* A time of 0 is "none": no sample rather than the epoch. */
	if (row->not_after != 0) {
		sample(m, F_NOT_AFTER, row->not_after, "cert", cert, NULL);
		sample(m, F_NOT_BEFORE, row->not_before, "cert", cert, NULL);
		sample(m, F_INFO, 1, "cert", cert, "ca", row->ca, "key_type", row->key_type,
		       "issuer", row->issuer, NULL);
	}
	if (row->next != 0) {
		sample(m, F_NEXT_RENEWAL, row->next, "cert", cert, NULL);
	}
	if (row->last_success != 0) {
		sample(m, F_LAST_SUCCESS, row->last_success, "cert", cert, NULL);
	}
	sample(m, F_FAILURES, row->attempts, "cert", cert, NULL);
	if (row->ari_start != 0 && row->ari_end != 0) {
		sample(m, F_ARI_START, row->ari_start, "cert", cert, NULL);
		sample(m, F_ARI_END, row->ari_end, "cert", cert, NULL);
	}
}

struct tally_ca {
	char *url;
	struct acme_counts counts;
};

struct metrics_tally {
	unsigned long results[JOB__MAX];
	size_t running;
	struct tally_ca *cas;
	size_t n_cas;
	bool failed; /* out of memory: a CA's counts are missing */
};

struct metrics_tally *
metrics_tally_new(void)
{
	return calloc(1, sizeof(struct metrics_tally));
}

void
metrics_tally_free(struct metrics_tally *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->n_cas; i++) {
		free(t->cas[i].url);
	}
	free(t->cas);
	free(t);
}

/* t's counts of url, added when new; NULL when out of memory. */
static struct acme_counts *
tally_ca(struct metrics_tally *t, const char *url)
{
	struct tally_ca *grown;

	for (size_t i = 0; i < t->n_cas; i++) {
		if (strcmp(t->cas[i].url, url) == 0) {
			return &t->cas[i].counts;
		}
	}
	grown = realloc(t->cas, (t->n_cas + 1) * sizeof(*grown));
	if (grown == NULL) {
		return NULL;
	}
	t->cas = grown;
	memset(&t->cas[t->n_cas], 0, sizeof(t->cas[0]));
	t->cas[t->n_cas].url = strdup(url);
	if (t->cas[t->n_cas].url == NULL) {
		return NULL;
	}
	return &t->cas[t->n_cas++].counts;
}

static void
add_client(const char *url, const struct acme_client *client, void *arg)
{
	struct metrics_tally *t = arg;
	struct acme_counts *sum = tally_ca(t, url);

	if (sum == NULL) {
		t->failed = true;
		return;
	}
	acme_counts_merge(sum, acme_client_counts(client));
}

void
metrics_tally_runner(struct metrics_tally *t, const struct job_runner *runner)
{
	if (t == NULL || runner == NULL) {
		return;
	}
	for (int r = 0; r < JOB__MAX; r++) {
		t->results[r] += job_runner_count(runner, (enum job_result)r);
	}
	t->running += job_runner_active(runner);
	job_runner_each_client(runner, add_client, t);
}

void
metrics_tally_result(struct metrics_tally *t, enum job_result r, unsigned long n)
{
	if (t != NULL && r < JOB__MAX) {
		t->results[r] += n;
	}
}

/* One CA's answers and problems. */
static void
add_ca(struct metrics *m, const char *url, const struct acme_counts *c)
{
	char status[8];

	for (int s = 0; s < ACME_COUNTS_STATUS; s++) {
		if (c->status[s] != 0) {
			snprintf(status, sizeof(status), "%d", s);
			sample(m, F_REQUESTS, (int64_t)c->status[s], "ca", url, "status", status,
			       NULL);
		}
	}
	for (size_t i = 0; i < c->n_problems; i++) {
		sample(m, F_PROBLEMS, (int64_t)c->problems[i].n, "ca", url, "type",
		       c->problems[i].type, NULL);
	}
	if (c->other_problems != 0) {
		sample(m, F_PROBLEMS, (int64_t)c->other_problems, "ca", url, "type", "other", NULL);
	}
}

void
metrics_add_tally(struct metrics *m, const struct metrics_tally *t)
{
	if (m == NULL) {
		return;
	}
	for (int r = 0; r < JOB__MAX; r++) {
		sample(m, F_RENEWALS, t != NULL ? (int64_t)t->results[r] : 0, "result",
		       job_result_name((enum job_result)r), NULL);
	}
	sample(m, F_IN_FLIGHT, t != NULL ? (int64_t)t->running : 0, NULL);
	for (size_t i = 0; t != NULL && i < t->n_cas; i++) {
		add_ca(m, t->cas[i].url, &t->cas[i].counts);
	}
	if (t != NULL && t->failed) {
		m->family[F_REQUESTS].failed = true;
	}
}

char *
metrics_end(struct metrics *m, size_t *len)
{
	struct buf page;
	char *text = NULL;

	*len = 0;
	if (m == NULL) {
		return NULL;
	}
	sample(m, F_BUILD_INFO, 1, "version", ACMED_VERSION, NULL);
	buf_init(&page, METRICS_MAX);
	for (size_t i = 0; i < F__MAX; i++) {
		struct buf *b = &m->family[i];

		if (b->failed) {
			page.failed = true;
		}
		if (b->len == 0) {
			continue;
		}
		add_str(&page, "# HELP ");
		add_str(&page, families[i].name);
		add_str(&page, " ");
		add_str(&page, families[i].help);
		add_str(&page, "\n# TYPE ");
		add_str(&page, families[i].name);
		add_str(&page, " ");
		add_str(&page, families[i].type);
		add_str(&page, "\n");
		buf_add(&page, b->data, b->len);
	}
	if (!page.failed) {
		text = buf_steal(&page, len);
	} else {
		buf_finish(&page);
	}
	for (size_t i = 0; i < F__MAX; i++) {
		buf_finish(&m->family[i]);
	}
	free(m);
	return text;
}
