/* One growing byte buffer, for what is built piece by piece (the status of
 * every certificate, the certificate index): appends amortise, and the
 * first failure (out of memory, past the cap) sticks, so that a builder
 * appends without checking each time and checks once at the end. */
#ifndef ACMED_BUF_H
#define ACMED_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated once anything was added; NULL before */
	size_t len;
	size_t cap;
	size_t max; /* the most it may hold */
	bool failed;
};

/* An empty buffer that holds at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes of p, unless b failed already. Returns 0, or -1 (and b
 * failed from then on) when out of memory or past b->max. */
int buf_add(struct buf *b, const void *p, size_t n);

/* The contents as a new string (b emptied), or NULL when b failed
 * (b freed). */
char *buf_steal(struct buf *b, size_t *len);

void buf_finish(struct buf *b);

#endif
