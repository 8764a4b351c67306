#include "acme/acme_problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_json.h"

#define ACME_URN "urn:ietf:params:acme:error:"

static int problem_fill_depth(json_t *obj, struct acme_problem *out, int depth, char *err,
                              size_t errlen);

static size_t append(char *buf, size_t len, size_t pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
problem_fill_depth(json_t *obj, struct acme_problem *out, int depth, char *err, size_t errlen)
{
	json_t *v;
	json_t *sub;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (acme_json_string(obj, "type", 512, &out->type, err, errlen) < 0 ||
	    acme_json_string(obj, "detail", 1024, &out->detail, err, errlen) < 0 ||
	    acme_json_string(obj, "instance", 2048, &out->instance, err, errlen) < 0) {
		goto out;
	}
	v = json_object_get(obj, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599) {
		out->status = (long)json_integer_value(v);
	}
	v = json_object_get(obj, "identifier");
	if (v != NULL && acme_json_ident(v, &out->identifier, err, errlen) < 0) {
		goto out;
	}
	sub = json_object_get(obj, "subproblems");
	if (depth == 0 && json_is_array(sub) && json_array_size(sub) > 0) {
		size_t n = json_array_size(sub);

		if (n > ACME_MAX_SUBPROBLEMS) {
			n = ACME_MAX_SUBPROBLEMS;
		}
		out->subproblems = calloc(n, sizeof(*out->subproblems));
		if (out->subproblems == NULL) {
			acme_json_err(err, errlen, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++) {
			v = json_array_get(sub, i);
			if (!json_is_object(v)) {
				acme_json_err(err, errlen, "subproblem is not an object");
				goto out;
			}
			out->n_subproblems = i + 1;
			if (problem_fill_depth(v, &out->subproblems[i], depth + 1, err, errlen) <
			    0) {
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		acme_problem_finish(out);
	}
	return rc;
}

int
acme_problem_member(json_t *obj, struct acme_problem **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "error");

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_object(v)) {
		acme_json_err(err, errlen, "'error' is not an object");
		return -1;
	}
	*out = calloc(1, sizeof(**out));
	if (*out == NULL) {
		acme_json_err(err, errlen, "out of memory");
		return -1;
	}
	if (problem_fill_depth(v, *out, 0, err, errlen) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void
acme_problem_free(struct acme_problem *p)
{
	acme_problem_finish(p);
	free(p);
}

static int
problem_fill(json_t *root, void *out, char *err, size_t errlen)
{
	return problem_fill_depth(root, out, 0, err, errlen);
}

int
acme_problem_parse(const char *body, size_t len, struct acme_problem *out, char *err, size_t errlen)
{
	/* problem_fill_depth finishes out when it fails. */
	return acme_json_parse(body, len, problem_fill, out, sizeof(*out), err, errlen);
}

void
acme_problem_finish(struct acme_problem *p)
{
	if (p == NULL) {
		return;
	}
	free(p->type);
	free(p->detail);
	free(p->instance);
	acme_json_ident_finish(&p->identifier);
	for (size_t i = 0; i < p->n_subproblems; i++) {
		acme_problem_finish(&p->subproblems[i]);
	}
	free(p->subproblems);
	memset(p, 0, sizeof(*p));
}

bool
acme_problem_is(const struct acme_problem *p, const char *name)
{
	size_t n = strlen(ACME_URN);

	if (p == NULL || p->type == NULL || strncmp(p->type, ACME_URN, n) != 0) {
		return false;
	}
	return strcmp(p->type + n, name) == 0;
}

const char *
acme_problem_short_type(const char *type)
{
	size_t n = strlen(ACME_URN);

	if (type == NULL) {
		return "error";
	}
	if (strncmp(type, ACME_URN, n) == 0 && type[n] != '\0') {
		return type + n;
	}
	return type;
}

static size_t
append(char *buf, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pos >= len) {
		return pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + pos, len - pos, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return pos;
	}
	return pos + (size_t)n;
}

void
acme_problem_format(const struct acme_problem *p, const char *url, char *buf, size_t len)
{
	size_t pos = 0;

	if (len == 0) {
		return;
	}
	buf[0] = '\0';
	if (url != NULL) {
		pos = append(buf, len, pos, "%s: ", url);
	}
	if (p->status != 0) {
		pos = append(buf, len, pos, "%ld: ", p->status);
	}
	pos = append(buf, len, pos, "%s", acme_problem_short_type(p->type));
	if (p->detail != NULL && p->detail[0] != '\0') {
		pos = append(buf, len, pos, ": %s", p->detail);
	}
	if (p->instance != NULL && acme_problem_is(p, "userActionRequired")) {
		pos = append(buf, len, pos, " (see %s)", p->instance);
	}
	for (size_t i = 0; i < p->n_subproblems; i++) {
		const struct acme_problem *s = &p->subproblems[i];

		pos = append(buf, len, pos, "; %s: %s",
		             s->identifier.value != NULL ? s->identifier.value : "-",
		             acme_problem_short_type(s->type));
		if (s->detail != NULL && s->detail[0] != '\0') {
			pos = append(buf, len, pos, ": %s", s->detail);
		}
	}
	/* Server text is shown on one line, without control characters. */
	for (char *c = buf; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*c = ' ';
		}
	}
}
