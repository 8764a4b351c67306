#include "renew/responders.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "challenge/select.h"
#include "renew/fleet_answers.h"

/* One responder and the configuration it serves (challenge_key). */
struct responder {
	char *key;
	struct challenge *ch;
};

struct responders {
	struct ev_loop *loop;
	struct responder *v;
	size_t n;
	struct fleet_answers *fleet; /* fleet mode, or NULL */
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

static void
close_all(struct responders *p)
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
responders_close(struct responders *p)
{
	if (p->fleet == NULL) {
		close_all(p);
	}
}

int
responders_set_fleet(struct responders *p, struct cluster *cluster)
{
	struct fleet_answers *fleet = fleet_answers_create(p->loop, cluster);

	if (fleet == NULL) {
		return -1;
	}
	close_all(p);
	fleet_answers_destroy(p->fleet);
	p->fleet = fleet;
	return 0;
}

/* ch (the responder challenge_create made for s) for the fleet. */
static struct challenge *
for_fleet(struct responders *p, const struct conf_settings *s, struct challenge *ch)
{
	enum challenge_responder r = challenge_pick(s, NULL);

	if (r == CHALLENGE_RESPONDER_STANDALONE || r == CHALLENGE_RESPONDER_TLS_ALPN) {
		challenge_set_remote(ch, fleet_answers_remote(p->fleet));
	}
	return fleet_answers_wrap(p->fleet, ch, r == CHALLENGE_RESPONDER_WEBROOT);
}

void
responders_destroy(struct responders *p)
{
	if (p == NULL) {
		return;
	}
	close_all(p);
	fleet_answers_destroy(p->fleet);
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
	if (ch != NULL && p->fleet != NULL) {
		ch = for_fleet(p, s, ch);
	}
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

void
responders_open(struct responders *p, const struct conf_settings *s)
{
	(void)responders_get(p, s);
}
