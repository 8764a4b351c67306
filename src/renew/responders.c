#include "renew/responders.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "challenge/select.h"
#include "io/dns.h"
#include "io/listener.h"
#include "renew/fleet_answers.h"

/* One responder and the configuration it serves (challenge_key). */
struct responder {
	char *key;
	struct challenge *ch;
	/* A built-in responder's address (listener_address_name), else "". */
	char listen[80];
};

struct responders {
	struct ev_loop *loop;
	struct responder *v;
	size_t n;
	struct fleet_answers *fleet; /* fleet mode, or NULL */
	/* The resolvers asked so far, one per dns-resolver value ("" the
	 * system's): kept until p goes (a reload that changes the value
	 * leaves the old one to the lookups it has in flight). */
	struct resolver {
		char *servers;
		struct dns *dns;
	} * resolvers;
	size_t n_resolvers;
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
	for (size_t i = 0; i < p->n_resolvers; i++) {
		dns_destroy(p->resolvers[i].dns);
		free(p->resolvers[i].servers);
	}
	free(p->resolvers);
	free(p);
}

struct dns *
responders_dns(struct responders *p, const char *servers)
{
	const char *key = servers != NULL ? servers : "";
	struct resolver *grown;
	struct dns *d = NULL;
	char *err = NULL;
	char *copy = NULL;

	for (size_t i = 0; i < p->n_resolvers; i++) {
		if (strcmp(p->resolvers[i].servers, key) == 0) {
			return p->resolvers[i].dns;
		}
	}
	d = dns_create(p->loop, servers, &err);
	if (d == NULL) {
		log_error("%s", err != NULL ? err : "dns-resolver: out of memory");
		goto out;
	}
	copy = strdup(key);
	grown = realloc(p->resolvers, (p->n_resolvers + 1) * sizeof(*grown));
	if (copy == NULL || grown == NULL) {
		log_error("out of memory");
		if (grown != NULL) {
			p->resolvers = grown;
		}
		dns_destroy(d);
		d = NULL;
		goto out;
	}
	p->resolvers = grown;
	p->resolvers[p->n_resolvers++] = (struct resolver){copy, d};
	copy = NULL;
out:
	free(copy);
	free(err);
	return d;
}

struct challenge *
responders_get(struct responders *p, const struct conf_settings *s)
{
	struct responder *grown;
	struct challenge *ch = NULL;
	char *key = challenge_key(s);
	const char *address;
	char name[80];
	int saved;

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
	if (conf_challenge_dns(s->challenge)) {
		struct dns *d = responders_dns(p, s->dns_resolver);

		ch = d != NULL ? challenge_create_dns(p->loop, s, d) : NULL;
	} else {
		ch = challenge_create(p->loop, s);
	}
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
	p->v[p->n].listen[0] = '\0';
	address = challenge_listen_address(s, challenge_pick(s, NULL));
	if (address != NULL) {
		snprintf(p->v[p->n].listen, sizeof(p->v[p->n].listen), "%s",
		         listener_address_name(address, name, sizeof(name)));
	}
	p->n++;
	key = NULL;
out:
	saved = errno; /* challenge_create's: EADDRINUSE */
	free(key);
	errno = saved;
	return ch;
}

bool
responders_listen_on(const struct responders *p, const char *address)
{
	char want[80];
	const char *name = listener_address_name(address, want, sizeof(want));

	for (size_t i = 0; p != NULL && i < p->n; i++) {
		if (p->v[i].listen[0] != '\0' && strcmp(p->v[i].listen, name) == 0) {
			return true;
		}
	}
	return false;
}

void
responders_stop(struct responders *p)
{
	for (size_t i = 0; p != NULL && i < p->n; i++) {
		challenge_stop(p->v[i].ch);
	}
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
