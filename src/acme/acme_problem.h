/* Problem documents (RFC 7807, RFC 8555 section 6.7): what a CA says when
 * it refuses, parsed at the boundary, tested by name and formatted as one
 * line for people. Nothing here logs. */
#ifndef ACMED_ACME_PROBLEM_H
#define ACMED_ACME_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ident.h"

#define ACME_MAX_SUBPROBLEMS 32

/* The type as shown to people: the ACME name without its URN prefix
 * ("badNonce"), another URI as it is, "error" for none. Borrowed. */
const char *acme_problem_short_type(const char *type);

struct acme_problem {
	char *type; /* URI as sent, or NULL */
	char *detail; /* or NULL */
	long status; /* 0 when absent */
	struct ident identifier; /* subproblems name one; value NULL otherwise */
	char *instance; /* e.g. the terms URL for userActionRequired, or NULL */
	struct acme_problem *subproblems;
	size_t n_subproblems;
};

/* Fills out (zeroed first) from a JSON body of len bytes. Returns 0, or -1
 * with a short reason in err (errlen bytes); out is then finished. */
int acme_problem_parse(const char *body, size_t len, struct acme_problem *out, char *err,
                       size_t errlen);

/* The optional "error" member of obj (an order's, a challenge's): a new
 * problem in *out (acme_problem_free), NULL when absent. Returns 0 or -1
 * (err set). */
int acme_problem_member(json_t *obj, struct acme_problem **out, char *err, size_t errlen);

/* Frees what p holds; safe on NULL or zeroed. */
void acme_problem_finish(struct acme_problem *p);

/* acme_problem_finish and free(p); safe on NULL. */
void acme_problem_free(struct acme_problem *p);

/* Whether problem type (full URN or NULL) is the ACME error name, e.g.
 * acme_problem_is(p, "badNonce"). */
bool acme_problem_is(const struct acme_problem *p, const char *name);

/* "url: status: type: detail" (RFC 8555 prefix shortened to the name) with
 * each subproblem as "; identifier: type: detail". Writes at most len bytes,
 * always NUL-terminated. url may be NULL. */
void acme_problem_format(const struct acme_problem *p, const char *url, char *buf, size_t len);

#endif
