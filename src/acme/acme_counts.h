/* What a CA answered, counted for the metrics (acmed_acme_requests_total
 * and acmed_acme_problems_total): every HTTP answer of one client, retries
 * included, by status, and the problem documents among them by type. */
#ifndef ACMED_ACME_COUNTS_H
#define ACMED_ACME_COUNTS_H

#include "io/http.h"

/* Answers by HTTP status; [0] counts the requests that got none (no
 * connection, a timeout). */
#define ACME_COUNTS_STATUS 600

/* Problem types kept apart; past them, the rest count as "other" (a CA
 * that makes up types does not grow the metrics). */
#define ACME_COUNTS_PROBLEMS 24

struct acme_counts {
	unsigned long status[ACME_COUNTS_STATUS];
	struct {
		char type[64]; /* acme_problem_short_type, cut to fit */
		unsigned long n;
	} problems[ACME_COUNTS_PROBLEMS];
	size_t n_problems; /* slots in use */
	unsigned long other_problems;
};

/* Counts resp: its status, and its problem's type when it carries one. */
void acme_counts_add(struct acme_counts *c, const struct http_response *resp);

/* Counts a problem of type (acme_problem_short_type) that came inside
 * another document: a challenge's, an authorization's or an order's
 * error (RFC 8555 section 7.1). */
void acme_counts_problem(struct acme_counts *c, const char *type);

/* Adds what from counted to into. */
void acme_counts_merge(struct acme_counts *into, const struct acme_counts *from);

#endif
