/* The metrics of issue #17 in Prometheus's text exposition format
 * (version 0.0.4): the certificates' status rows (the same the status
 * command shows) and what a job runner counted (renewals by result, orders
 * in flight, each CA's answers and problems). The daemon serves the text on
 * metrics-listen; `acmed renew` writes it to metrics-file for
 * node_exporter's textfile collector. Nothing secret is in it: names,
 * dates, counts, CA URLs. */
#ifndef ACMED_METRICS_H
#define ACMED_METRICS_H

#include <stddef.h>

#include "renew/job_runner.h"
#include "renew/status.h"

/* The text past which a metrics page is refused (out of memory, or a
 * configuration far past any real one). */
#define METRICS_MAX (256u << 20)

struct metrics;

/* A page being built. NULL when out of memory. */
struct metrics *metrics_begin(void);

/* The certificate's samples: its dates, failures, info and the CA's
 * renewal window when known. */
void metrics_add_row(struct metrics *m, const struct status_row *row);

/* What runners counted: jobs by result and running, each CA's answers
 * and problems; summed over the runners added (`acmed renew` runs one per
 * group of certificates). */
struct metrics_tally;

struct metrics_tally *metrics_tally_new(void); /* NULL: out of memory */
void metrics_tally_runner(struct metrics_tally *t, const struct job_runner *runner);
/* n more jobs ended with result r without a runner (their CA could not be
 * reached). */
void metrics_tally_result(struct metrics_tally *t, enum job_result r, unsigned long n);
void metrics_tally_free(struct metrics_tally *t);

/* The tally's samples; t may be NULL (nothing ran: zero counts). */
void metrics_add_tally(struct metrics *m, const struct metrics_tally *t);

/* The page: every family's HELP and TYPE, then its samples. A new string
 * of *len bytes, or NULL when out of memory (m freed either way). */
char *metrics_end(struct metrics *m, size_t *len);

/* Appends value to b as a label value (backslash, double quote and
 * newline escaped, as the format wants); exposed for the unit test. */
struct buf;
void metrics_label_value(struct buf *b, const char *value);

#endif
