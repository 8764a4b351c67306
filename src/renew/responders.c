#include "renew/responders.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "challenge/select.h"

/* One responder and the configuration it serves (challenge_key). */
struct responder {
	char *key;
	struct challenge *ch;
};

struct responders {
	struct ev_loop *loop;
	struct responder *v;
	size_t n;
};

struct responders *
responders_create(struct ev_loop *loop)
{
	struct responders *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		log_error("out of memory");
		return NULL;
	}
	p->loop = loop;
	return p;
}

void
responders_close(struct responders *p)
{
	for (size_t i = 0; i < p->n; i++) {
		challenge_destroy(p->v[i].ch);
		free(p->v[i].key);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

void
responders_destroy(struct responders *p)
{
	if (p == NULL) {
		return;
	}
	responders_close(p);
	free(p);
}

struct challenge *
responders_get(struct responders *p, const struct conf_settings *s)
{
	struct responder *grown;
	struct challenge *ch = NULL;
	char *key = challenge_key(s);

	if (key == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].key, key) == 0) {
			ch = p->v[i].ch;
			goto out;
		}
	}
	ch = challenge_create(p->loop, s);
	if (ch == NULL) {
		goto out;
	}
	grown = realloc(p->v, (p->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		log_error("out of memory");
		challenge_destroy(ch);
		ch = NULL;
		goto out;
	}
	p->v = grown;
	p->v[p->n].key = key;
	p->v[p->n].ch = ch;
	p->n++;
	key = NULL;
out:
	free(key);
	return ch;
}

size_t
responders_count(const struct responders *p)
{
	return p->n;
}
