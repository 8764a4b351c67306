#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN 256

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t cap;
	char *d;

	if (b->failed || n > b->max - b->len) {
		b->failed = true;
		return -1;
	}
	/* One byte more for the NUL. */
	if (b->len + n >= b->cap) {
		cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
		while (cap <= b->len + n) {
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		}
		d = realloc(b->data, cap);
		if (d == NULL) {
			b->failed = true;
			return -1;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *d = NULL;

	if (!b->failed) {
		d = b->data != NULL ? b->data : strdup("");
		if (len != NULL) {
			*len = b->len;
		}
		b->data = NULL;
	}
	buf_finish(b);
	return d;
}

void
buf_finish(struct buf *b)
{
	size_t max = b->max;

	free(b->data);
	memset(b, 0, sizeof(*b));
	b->max = max;
}
