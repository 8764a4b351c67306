/* The readers the ACME parsers share (acme_parse.c, acme_problem.c): server
 * JSON loaded with JSON_REJECT_DUPLICATES, members checked for type, length
 * and shape as they are copied out. Internal to acme/. Each reader returns 0
 * (absent when optional, or copied) or -1 with a short lower-case reason in
 * err (errlen bytes; err may be NULL). Nothing here logs. */
#ifndef ACMED_ACME_JSON_H
#define ACMED_ACME_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/ident.h"

/* Writes the reason into err. */
void acme_json_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* body (len bytes) as a JSON object: new reference, or NULL. */
json_t *acme_json_load(const char *body, size_t len, char *err, size_t errlen);

/* Fills out from the object root; returns 0 or -1 (err set). out may be
 * left half filled: the caller finishes it. */
typedef int (*acme_json_fill_fn)(json_t *root, void *out, char *err, size_t errlen);

/* Zeroes out (size bytes), loads body and fills out with fill. Returns
 * fill's rc, or -1 when body is not a JSON object; on -1 the caller
 * finishes out. */
int acme_json_parse(const char *body, size_t len, acme_json_fill_fn fill, void *out, size_t size,
                    char *err, size_t errlen);

/* An optional string member of at most max bytes without NUL: a new
 * string in *out, or NULL when absent. */
int acme_json_string(json_t *obj, const char *name, size_t max, char **out, char *err,
                     size_t errlen);

/* A string member that must pass http_url_ok(); required: absent is an
 * error. */
int acme_json_url(json_t *obj, const char *name, bool required, char **out, char *err,
                  size_t errlen);

/* An RFC 3339 time member (RFC 8555 section 7.1), 0 when absent. */
int acme_json_time(json_t *obj, const char *name, bool required, time_t *out, char *err,
                   size_t errlen);

/* An optional array of at most max strings (urls: each an https URL):
 * *out owns them (acme_json_strings_free), NULL with *n 0 when absent. */
int acme_json_strings(json_t *obj, const char *name, size_t max, bool urls, char ***out, size_t *n,
                      char *err, size_t errlen);

void acme_json_strings_free(char **list, size_t n);

/* An identifier object {"type","value"} (RFC 8555 section 9.7.7): dns
 * names of letters, digits, '-', '.' and '*', ip addresses that parse;
 * other types are IDENT_UNKNOWN. out->value is a new string. */
int acme_json_ident(json_t *v, struct ident *out, char *err, size_t errlen);

void acme_json_ident_finish(struct ident *id);

#endif
