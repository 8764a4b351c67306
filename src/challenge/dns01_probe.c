/* The dns-01 flow's probe (dns01_probe.h): before newOrder, present's way
 * up to the set, then the setter's probe; and the memory of what it let
 * through. */
#include "challenge/dns01_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "challenge/challenge_hook.h"
#include "challenge/dns01_lookup.h"
#include "challenge/dns01_probe_test.h"

#define PROBE_MAX_NAME 255
#define PROBE_MESSAGE 1024

struct dns01_prober {
	struct ev_loop *loop;
	struct dns *dns;
	const struct challenge_dns01_setter *setter;
	void *ctx;
	struct list probes; /* struct challenge_probe, on their way */
	struct list memory; /* struct probed, the oldest first */
	size_t n_memory;
};

/* A zone (or, for a setter that needs none, a target) whose probe the
 * setter let through, and when (ev_now). */
struct probed {
	struct list_node node; /* in pr->memory */
	char *key;
	ev_tstamp at;
};

/* challenge_ops.probe's handle. */
struct challenge_probe {
	struct list_node node; /* in pr->probes */
	struct dns01_prober *pr;
	char *name; /* task->txt_name */
	char *target; /* with a trailing dot; NULL until the CNAME lookup ended */
	char *zone; /* NULL until known */
	struct dns01_lookup *lookup;
	struct challenge_dns01_probe *setting; /* the setter's probe */
	/* Waiting for the setter's probe of another with the same key (a
	 * busy daemon's jobs of one zone starting together), then woken by
	 * wake from the loop: with its verdict (led), or to go on alone (its
	 * probe cancelled). */
	bool following;
	bool has_led;
	enum challenge_probe_result led;
	char *led_message;
	struct ev_timer wake;
	challenge_probe_fn done;
	void *arg;
};

static double memory_s = DNS01_PROBE_MEMORY_S;

void
dns01_probe_test_memory(double seconds)
{
	memory_s = seconds > 0 ? seconds : DNS01_PROBE_MEMORY_S;
}

static void
probed_free(struct dns01_prober *pr, struct probed *e)
{
	list_unlink(&e->node);
	free(e->key);
	free(e);
	pr->n_memory--;
}

/* The entry of key let through within memory_s, or NULL; the entries past
 * it are dropped on the way. A clock gone back forgets. */
static struct probed *
probed_find(struct dns01_prober *pr, const char *key, ev_tstamp now)
{
	struct list_node *n, *tmp;
	struct probed *found = NULL;

	list_for_each(&pr->memory, n, tmp)
	{
		struct probed *e = list_entry(n, struct probed, node);

		if (e->at > now || now - e->at >= memory_s) {
			probed_free(pr, e);
		} else if (dns_name_equal(e->key, key)) {
			found = e;
		}
	}
	return found;
}

static void
probed_add(struct dns01_prober *pr, const char *key, ev_tstamp now)
{
	struct probed *e = probed_find(pr, key, now);

	if (e != NULL) {
		probed_free(pr, e);
	}
	if (pr->n_memory >= DNS01_PROBE_MEMORY_MAX) {
		probed_free(pr, list_entry(list_first(&pr->memory), struct probed, node));
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->key = strdup(key)) == NULL) {
		/* Not remembered: the next order probes again. */
		free(e);
		return;
	}
	e->at = now;
	list_append(&pr->memory, &e->node);
	pr->n_memory++;
}

/* Frees p without calling anyone; its setter's probe is the caller's. */
static void
probe_free(struct challenge_probe *p)
{
	list_unlink(&p->node);
	dns01_lookup_cancel(p->lookup);
	ev_timer_stop(p->pr->loop, &p->wake);
	free(p->led_message);
	free(p->name);
	free(p->target);
	free(p->zone);
	free(p);
}

/* Frees p, then calls its done: the callback may destroy the responder. */
static void
probe_finish(struct challenge_probe *p, enum challenge_probe_result v, const char *message)
{
	challenge_probe_fn done = p->done;
	void *arg = p->arg;

	probe_free(p);
	done(v, message, arg);
}

/* What the memory knows p by: its zone, or its target. */
static const char *
probe_key(const struct challenge_probe *p)
{
	return p->zone != NULL ? p->zone : p->target;
}

/* The probes following leader's key wake from the loop: with its verdict
 * v and message (has_led), or to go on alone (leader cancelled). */
static void
wake_followers(struct challenge_probe *leader, bool has_led, enum challenge_probe_result v,
               const char *message)
{
	struct list_node *n, *tmp;

	list_for_each(&leader->pr->probes, n, tmp)
	{
		struct challenge_probe *q = list_entry(n, struct challenge_probe, node);

		if (q == leader || !q->following ||
		    !dns_name_equal(probe_key(q), probe_key(leader))) {
			continue;
		}
		q->following = false;
		q->has_led = has_led;
		q->led = v;
		free(q->led_message);
		q->led_message = has_led && message != NULL ? strdup(message) : NULL;
		ev_timer_set(&q->wake, 0., 0.);
		ev_timer_start(q->pr->loop, &q->wake);
	}
}

static void
on_setter(enum challenge_probe_result v, const char *message, void *arg)
{
	struct challenge_probe *p = arg;

	p->setting = NULL;
	/* Failures are not remembered: the next order asks again. */
	if (v == CHALLENGE_PROBE_OK) {
		probed_add(p->pr, probe_key(p), ev_now(p->pr->loop));
	}
	wake_followers(p, true, v, message);
	probe_finish(p, v, message);
}

static void probe_set(struct challenge_probe *p);

static void
on_wake(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct challenge_probe *p = w->data;
	char text[PROBE_MESSAGE];

	(void)loop;
	(void)revents;
	/* A yes is in the memory now (probe_set finds it); a no or no
	 * answer is the leader's, said for each. */
	if (!p->has_led || p->led == CHALLENGE_PROBE_OK) {
		probe_set(p);
		return;
	}
	snprintf(text, sizeof(text), "%s",
	         p->led_message != NULL ? p->led_message : "dns-01: out of memory");
	probe_finish(p, p->led, text);
}

/* Another probe of key on its way at the setter, or NULL. */
static struct challenge_probe *
probe_leading(struct dns01_prober *pr, const char *key)
{
	struct list_node *n, *tmp;

	list_for_each(&pr->probes, n, tmp)
	{
		struct challenge_probe *q = list_entry(n, struct challenge_probe, node);

		if (q->setting != NULL && dns_name_equal(probe_key(q), key)) {
			return q;
		}
	}
	return NULL;
}

/* The target (and zone) known: the setter's probe, unless the same key's
 * probe succeeded within memory_s. */
static void
probe_set(struct challenge_probe *p)
{
	struct dns01_prober *pr = p->pr;
	struct challenge_task task = {.txt_name = p->name};
	struct challenge_dns01_record rec = {
	        .task = &task,
	        .name = p->target,
	        .original = p->name,
	        .zone = p->zone,
	};
	char text[PROBE_MESSAGE];
	ev_tstamp now = ev_now(pr->loop);
	struct probed *e = probed_find(pr, probe_key(p), now);

	if (e != NULL) {
		snprintf(text, sizeof(text), "%s: %s %s: probed %.0f s ago, not again for %.0f s",
		         pr->setter->name, p->zone != NULL ? "zone" : "name", probe_key(p),
		         now - e->at, memory_s - (now - e->at));
		probe_finish(p, CHALLENGE_PROBE_OK, text);
		return;
	}
	if (probe_leading(pr, probe_key(p)) != NULL) {
		/* One update a zone, however many jobs wait for it. */
		p->following = true;
		return;
	}
	if (pr->setter->probe(pr->ctx, &rec, on_setter, p, &p->setting) < 0) {
		snprintf(text, sizeof(text), "%s: %s: the probe cannot be sent", pr->setter->name,
		         p->target);
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, text);
	}
}

static void
on_zone(int rc, const char *zone, const char *message, void *arg)
{
	struct challenge_probe *p = arg;
	char text[PROBE_MESSAGE];

	(void)rc;
	p->lookup = NULL;
	if (zone == NULL) {
		snprintf(text, sizeof(text), "%s: no zone found for %s: %s", p->pr->setter->name,
		         p->target, message != NULL ? message : "no SOA record");
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, text);
		return;
	}
	p->zone = strdup(zone);
	if (p->zone == NULL) {
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, "dns-01: out of memory");
		return;
	}
	probe_set(p);
}

static void
on_cname(int rc, const char *target, const char *message, void *arg)
{
	struct challenge_probe *p = arg;
	struct dns01_prober *pr = p->pr;
	size_t len;

	p->lookup = NULL;
	if (rc < 0) {
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, message);
		return;
	}
	len = strlen(target) + 2;
	p->target = malloc(len);
	if (p->target == NULL) {
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, "dns-01: out of memory");
		return;
	}
	snprintf(p->target, len, "%s.", target);
	if (!pr->setter->needs_zone) {
		probe_set(p);
	} else if (dns01_zone_find(pr->dns, p->target, on_zone, p, &p->lookup) < 0) {
		probe_finish(p, CHALLENGE_PROBE_UNKNOWN, "dns-01: the zone cannot be looked up");
	}
}

int
dns01_prober_start(struct dns01_prober *pr, const struct challenge_task *task,
                   challenge_probe_fn done, void *arg, struct challenge_probe **handle)
{
	struct challenge_probe *p = NULL;

	if (task == NULL || task->txt_name == NULL ||
	    !challenge_hook_word_ok(task->txt_name, PROBE_MAX_NAME)) {
		log_error("%s: refusing to probe what is not a DNS name", pr->setter->name);
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->name = strdup(task->txt_name)) == NULL) {
		log_error("%s: out of memory", pr->setter->name);
		free(p);
		return -1;
	}
	p->pr = pr;
	p->done = done;
	p->arg = arg;
	list_node_init(&p->node);
	ev_timer_init(&p->wake, on_wake, 0., 0.);
	p->wake.data = p;
	if (dns01_cname_follow(pr->dns, p->name, on_cname, p, &p->lookup) < 0) {
		probe_free(p);
		return -1;
	}
	list_push(&pr->probes, &p->node);
	*handle = p;
	return 0;
}

void
dns01_prober_cancel(struct dns01_prober *pr, struct challenge_probe *p)
{
	if (p == NULL) {
		return;
	}
	if (p->setting != NULL) {
		pr->setter->probe_cancel(pr->ctx, p->setting);
		p->setting = NULL;
		wake_followers(p, false, CHALLENGE_PROBE_UNKNOWN, NULL);
	}
	probe_free(p);
}

struct dns01_prober *
dns01_prober_create(struct ev_loop *loop, struct dns *dns,
                    const struct challenge_dns01_setter *setter, void *ctx)
{
	struct dns01_prober *pr = calloc(1, sizeof(*pr));

	if (pr == NULL) {
		log_error("%s: out of memory", setter->name);
		return NULL;
	}
	pr->loop = loop;
	pr->dns = dns;
	pr->setter = setter;
	pr->ctx = ctx;
	list_init(&pr->probes);
	list_init(&pr->memory);
	return pr;
}

void
dns01_prober_destroy(struct dns01_prober *pr)
{
	if (pr == NULL) {
		return;
	}
	while (!list_empty(&pr->probes)) {
		probe_free(list_entry(list_first(&pr->probes), struct challenge_probe, node));
	}
	while (!list_empty(&pr->memory)) {
		probed_free(pr, list_entry(list_first(&pr->memory), struct probed, node));
	}
	free(pr);
}
