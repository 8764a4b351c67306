/* The line a batch shows under its messages on a terminal: "acmed: 3/10
 * done, ordering 2, validating 4, finalizing 1, downloading 0". Nothing
 * without a terminal. */
#ifndef ACMED_PROGRESS_H
#define ACMED_PROGRESS_H

#include <stdbool.h>

#include "acme/acme_order.h"

struct progress {
	unsigned long total; /* jobs queued so far */
	unsigned long finished;
	unsigned long in_step[ACME_ORDER_STEP__MAX];
};

/* A job moves from step was (when had) to step now (when has). */
void progress_step(struct progress *p, bool had, enum acme_order_step was, bool has,
                   enum acme_order_step now);

/* A job is over. */
void progress_finished(struct progress *p);

#endif
