#include "acme/acme_counts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_problem.h"

/* A problem document's media type (RFC 7807), parameters aside. */
static bool
is_problem(const char *content_type)
{
	static const char want[] = "application/problem+json";
	size_t n = sizeof(want) - 1;

	return content_type != NULL && strncasecmp(content_type, want, n) == 0 &&
	       (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

static void
count_problem_n(struct acme_counts *c, const char *type, unsigned long n)
{
	for (size_t i = 0; i < c->n_problems; i++) {
		if (strcmp(c->problems[i].type, type) == 0) {
			c->problems[i].n += n;
			return;
		}
	}
	if (c->n_problems == ACME_COUNTS_PROBLEMS) {
		c->other_problems += n;
		return;
	}
	snprintf(c->problems[c->n_problems].type, sizeof(c->problems[0].type), "%s", type);
	c->problems[c->n_problems].n = n;
	c->n_problems++;
}

void
acme_counts_add(struct acme_counts *c, const struct http_response *resp)
{
	struct acme_problem problem;
	char err[128];

	c->status[resp->status > 0 && resp->status < ACME_COUNTS_STATUS ? resp->status : 0]++;
	if (resp->status < 400 || !is_problem(resp->content_type) || resp->body_len == 0 ||
	    acme_problem_parse(resp->body, resp->body_len, &problem, err, sizeof(err)) < 0) {
		return;
	}
	count_problem_n(c, acme_problem_short_type(problem.type), 1);
	acme_problem_finish(&problem);
}

void
acme_counts_merge(struct acme_counts *into, const struct acme_counts *from)
{
	for (size_t s = 0; s < ACME_COUNTS_STATUS; s++) {
		into->status[s] += from->status[s];
	}
	for (size_t i = 0; i < from->n_problems; i++) {
		count_problem_n(into, from->problems[i].type, from->problems[i].n);
	}
	into->other_problems += from->other_problems;
}

void
acme_counts_problem(struct acme_counts *c, const char *type)
{
	count_problem_n(c, type, 1);
}
