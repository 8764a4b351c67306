/* dns-01 (RFC 8555 section 8.4): the flow both dns-01 responders run
 * (challenge_dns01.h), and its setter through a program of the user's:
 * "PROG add NAME VALUE" creates the TXT record NAME with VALUE, "PROG del
 * NAME VALUE" removes it. NAME is the final target of the CNAME chain of
 * "_acme-challenge.<domain>." (itself when it is no alias). The contract
 * is in acmed-hooks(7). */
#include "challenge/challenge_dns01.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/list.h"
#include "base/log.h"
#include "challenge/challenge_hook.h"
#include "challenge/dns01_check.h"
#include "challenge/dns01_lookup.h"
#include "challenge/dns01_probe.h"

#define DNS01_MAX_VALUE 64 /* base64url of a SHA-256 is 43 */
#define DNS01_MAX_NAME 255
#define DNS01_MESSAGE 1024

/* Where a task's record went, from its present to its cleanup. */
struct entry {
	struct list_node node;
	char *name; /* task->txt_name */
	char *value;
	char *target; /* with a trailing dot; NULL until the CNAME lookup ended */
	char *zone; /* NULL until known */
	bool sent; /* an add was handed to the setter: a cleanup removes it */
};

struct responder {
	struct challenge base;
	struct challenge_ops ops;
	const struct challenge_dns01_setter *setter;
	void *ctx;
	struct dns *dns;
	bool own_dns;
	char *resolvers;
	char *propagation_servers; /* dns-propagation-servers, or NULL */
	double propagation_s;
	double wait_s;
	struct list calls;
	struct list entries;
	struct dns01_prober *prober; /* NULL: the setter cannot probe */
};

struct call {
	struct list_node node; /* in r->calls */
	struct responder *r;
	bool add;
	struct challenge_task task; /* the caller's strings, borrowed */
	struct entry *e;
	struct dns01_lookup *lookup;
	struct dns01_check *check;
	struct ev_timer wait;
	challenge_done_fn done;
	void *arg;
	bool stopped; /* challenge_stop: an add ends with -1 at its next step */
};

static struct entry *
entry_find(struct responder *r, const struct challenge_task *task)
{
	struct list_node *node;
	struct list_node *tmp;

	list_for_each(&r->entries, node, tmp)
	{
		struct entry *e = list_entry(node, struct entry, node);

		if (strcmp(e->name, task->txt_name) == 0 &&
		    strcmp(e->value, task->txt_value) == 0) {
			return e;
		}
	}
	return NULL;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL) {
		return;
	}
	list_unlink(&e->node);
	free(e->name);
	free(e->value);
	free(e->target);
	free(e->zone);
	free(e);
}

static void
call_free(struct call *call)
{
	list_unlink(&call->node);
	dns01_lookup_cancel(call->lookup);
	dns01_check_cancel(call->check);
	ev_timer_stop(call->r->base.loop, &call->wait);
	free(call);
}

/* Frees call (and its entry after a cleanup), then calls its done: the
 * callback may destroy the responder. */
static void
call_finish(struct call *call, int rc, const char *message)
{
	challenge_done_fn done = call->done;
	void *arg = call->arg;

	if (!call->add) {
		entry_free(call->e);
	}
	call_free(call);
	done(rc, message, arg);
}

static void
on_wait(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct call *call = w->data;
	char text[DNS01_MESSAGE];

	if (call->stopped) {
		snprintf(text, sizeof(text), "dns-01: %s: stopped",
		         call->e->target != NULL ? call->e->target : call->task.txt_name);
		call_finish(call, -1, text);
		return;
	}
	log_debug("dns-01: %s: done waiting (dns-wait)", call->e->target);
	call_finish(call, 0, NULL);
}

static void
after_check(struct call *call)
{
	struct responder *r = call->r;

	if (r->wait_s > 0) {
		log_info("dns-01: %s: waiting %g s (dns-wait)", call->e->target, r->wait_s);
		ev_timer_set(&call->wait, r->wait_s, 0.);
		ev_timer_start(r->base.loop, &call->wait);
	} else {
		call_finish(call, 0, NULL);
	}
}

static void
on_check(int rc, const char *message, void *arg)
{
	struct call *call = arg;

	call->check = NULL;
	if (rc < 0) {
		call_finish(call, -1, message);
	} else {
		after_check(call);
	}
}

static void
on_set(int rc, const char *message, void *arg)
{
	struct call *call = arg;
	struct responder *r = call->r;

	if (rc < 0 || !call->add) {
		call_finish(call, rc, message);
	} else if (call->stopped) {
		/* Set, and removed by the cleanup that follows. */
		on_wait(r->base.loop, &call->wait, EV_TIMER);
	} else if (r->propagation_s <= 0) {
		after_check(call);
	} else if (dns01_check_start(r->base.loop, r->dns, r->resolvers, r->propagation_servers,
	                             call->e->target, call->e->zone, call->task.txt_value,
	                             r->propagation_s, on_check, call, &call->check) < 0) {
		call_finish(call, -1, "dns-01: the propagation check cannot start");
	}
}

static void
set_record(struct call *call)
{
	struct responder *r = call->r;
	struct challenge_dns01_record rec = {
	        .task = &call->task,
	        .name = call->e->target,
	        .original = call->task.txt_name,
	        .zone = call->e->zone,
	        .value = call->task.txt_value,
	};

	if (call->add) {
		call->e->sent = true;
	}
	if (r->setter->set(r->ctx, call->add, &rec, on_set, call) < 0) {
		call_finish(call, -1, "dns-01: the record cannot be set");
	}
}

static void
on_zone(int rc, const char *zone, const char *message, void *arg)
{
	struct call *call = arg;
	char text[DNS01_MESSAGE];

	call->lookup = NULL;
	if (zone == NULL) {
		snprintf(text, sizeof(text), "%s: no zone found for %s: %s", call->r->setter->name,
		         call->e->target, message != NULL ? message : "no SOA record");
		call_finish(call, -1, text);
		return;
	}
	call->e->zone = strdup(zone);
	if (call->e->zone == NULL) {
		call_finish(call, -1, "dns-01: out of memory");
		return;
	}
	set_record(call);
}

/* The target is known: the zone next when the setter needs it. */
static void
with_target(struct call *call)
{
	struct responder *r = call->r;

	if (r->setter->needs_zone && call->e->zone == NULL) {
		if (dns01_zone_find(r->dns, call->e->target, on_zone, call, &call->lookup) < 0) {
			call_finish(call, -1, "dns-01: the zone cannot be looked up");
		}
		return;
	}
	set_record(call);
}

static void
on_cname(int rc, const char *target, const char *message, void *arg)
{
	struct call *call = arg;
	size_t len;

	call->lookup = NULL;
	if (rc < 0) {
		call_finish(call, -1, message);
		return;
	}
	len = strlen(target) + 2;
	call->e->target = malloc(len);
	if (call->e->target == NULL) {
		call_finish(call, -1, "dns-01: out of memory");
		return;
	}
	snprintf(call->e->target, len, "%s.", target);
	if (!dns_name_equal(call->e->target, call->task.txt_name)) {
		log_info("dns-01: %s is delegated to %s (CNAME)", call->task.txt_name,
		         call->e->target);
	}
	with_target(call);
}

/* The entry of task: the one its present made, or a new one in r's list.
 * NULL when out of memory. */
static struct entry *
entry_get(struct responder *r, const struct challenge_task *task)
{
	struct entry *e = entry_find(r, task);

	if (e != NULL) {
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		goto out;
	}
	e->name = strdup(task->txt_name);
	e->value = strdup(task->txt_value);
	if (e->name == NULL || e->value == NULL) {
		entry_free(e);
		e = NULL;
		goto out;
	}
	list_push(&r->entries, &e->node);
out:
	return e;
}

/* Starts call's first step, which answers from the loop: 0 or -1. */
static int
first_step(struct call *call)
{
	struct responder *r = call->r;
	struct challenge_dns01_record rec = {
	        .task = &call->task,
	        .name = call->e->target,
	        .original = call->task.txt_name,
	        .zone = call->e->zone,
	        .value = call->task.txt_value,
	};

	if (call->add) {
		return dns01_cname_follow(r->dns, call->task.txt_name, on_cname, call,
		                          &call->lookup);
	}
	if (r->setter->needs_zone && call->e->zone == NULL) {
		return dns01_zone_find(r->dns, call->e->target, on_zone, call, &call->lookup);
	}
	return r->setter->set(r->ctx, false, &rec, on_set, call);
}

/* Present (add) or cleanup: the contract of challenge_ops.present. */
static int
run(struct challenge *ch, bool add, const struct challenge_task *task, challenge_done_fn done,
    void *arg)
{
	struct responder *r = (struct responder *)ch;
	struct call *call = NULL;
	struct entry *e = NULL;
	int ret = -1;

	if (task == NULL || task->txt_name == NULL || task->txt_value == NULL ||
	    !challenge_hook_word_ok(task->txt_name, DNS01_MAX_NAME) ||
	    !b64_is_token(task->txt_value, DNS01_MAX_VALUE)) {
		log_error("%s: refusing a record that is not a DNS name and a base64url value",
		          r->setter->name);
		goto out;
	}
	/* A cleanup after this responder's present stopped before its add
	 * (a CNAME loop, the zone not found): no del for a record never
	 * added (acmed-hooks(7): the del gets the same RECORD as its add). */
	e = entry_find(r, task);
	if (!add && e != NULL && !e->sent) {
		entry_free(e);
		return challenge_defer(ch, 0, NULL, done, arg);
	}
	e = entry_get(r, task);
	call = calloc(1, sizeof(*call));
	/* A cleanup whose present never learnt the target: nothing was set
	 * elsewhere than the name asked for. */
	if (e != NULL && !add && e->target == NULL) {
		e->target = strdup(task->txt_name);
	}
	if (e == NULL || call == NULL || (!add && e->target == NULL)) {
		log_error("%s: out of memory", r->setter->name);
		goto out;
	}
	call->r = r;
	call->add = add;
	call->task = *task;
	call->e = e;
	call->done = done;
	call->arg = arg;
	ev_timer_init(&call->wait, on_wait, 0., 0.);
	call->wait.data = call;
	if (first_step(call) < 0) {
		goto out;
	}
	list_push(&r->calls, &call->node);
	call = NULL;
	ret = 0;
out:
	if (ret < 0 && e != NULL && e->target == NULL) {
		entry_free(e);
	}
	free(call);
	return ret;
}

static int
dns01_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run(ch, true, task, done, arg);
}

static int
dns01_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run(ch, false, task, done, arg);
}

/* challenge_ops.stop: a lookup or a propagation check is dropped and the
 * add ends from the loop (the wait timer at 0); a dns-wait is cut short;
 * an add the setter runs is the setter's to end. Cleanups go on. */
static void
dns01_stop(struct challenge *ch)
{
	struct responder *r = (struct responder *)ch;
	struct list_node *n, *tmp;
	bool setting = false;

	list_for_each(&r->calls, n, tmp)
	{
		struct call *call = list_entry(n, struct call, node);
		bool waiting =
		        call->lookup != NULL || call->check != NULL || ev_is_active(&call->wait);

		if (!call->add || call->stopped) {
			continue;
		}
		call->stopped = true;
		if (!waiting) {
			setting = true;
			continue;
		}
		if (call->check != NULL) {
			log_info("dns-01: %s: propagation wait stopped", call->e->target);
		}
		dns01_lookup_cancel(call->lookup);
		call->lookup = NULL;
		dns01_check_cancel(call->check);
		call->check = NULL;
		ev_timer_stop(r->base.loop, &call->wait);
		ev_timer_set(&call->wait, 0., 0.);
		ev_timer_start(r->base.loop, &call->wait);
	}
	if (setting && r->setter->stop != NULL) {
		r->setter->stop(r->ctx);
	}
}

static int
dns01_probe(struct challenge *ch, const struct challenge_task *task, challenge_probe_fn done,
            void *arg, struct challenge_probe **handle)
{
	struct responder *r = (struct responder *)ch;

	return dns01_prober_start(r->prober, task, done, arg, handle);
}

static void
dns01_probe_cancel(struct challenge *ch, struct challenge_probe *handle)
{
	struct responder *r = (struct responder *)ch;

	dns01_prober_cancel(r->prober, handle);
}

static void
dns01_destroy(struct challenge *ch)
{
	struct responder *r = (struct responder *)ch;

	if (r == NULL) {
		return;
	}
	/* The setter's calls first: none of them calls back into a call. */
	r->setter->destroy(r->ctx);
	dns01_prober_destroy(r->prober);
	while (!list_empty(&r->calls)) {
		call_free(list_entry(list_first(&r->calls), struct call, node));
	}
	while (!list_empty(&r->entries)) {
		entry_free(list_entry(list_first(&r->entries), struct entry, node));
	}
	if (r->own_dns) {
		dns_destroy(r->dns);
	}
	free(r->resolvers);
	free(r->propagation_servers);
	free(r);
}

struct challenge *
challenge_dns01_flow_create(struct ev_loop *loop, const struct challenge_dns01_setter *setter,
                            void *ctx, const struct challenge_dns01_opts *opts)
{
	struct responder *r = calloc(1, sizeof(*r));
	char *err = NULL;

	if (r == NULL ||
	    (opts->resolvers != NULL && (r->resolvers = strdup(opts->resolvers)) == NULL) ||
	    (opts->propagation_servers != NULL &&
	     (r->propagation_servers = strdup(opts->propagation_servers)) == NULL)) {
		log_error("%s: out of memory", setter->name);
		goto fail;
	}
	r->dns = opts->dns;
	if (r->dns == NULL) {
		r->dns = dns_create(loop, opts->resolvers, &err);
		r->own_dns = true;
	}
	if (r->dns == NULL) {
		log_error("%s", err != NULL ? err : "dns-resolver: out of memory");
		goto fail;
	}
	if (setter->probe != NULL) {
		r->prober = dns01_prober_create(loop, r->dns, setter, ctx);
		if (r->prober == NULL) {
			goto fail;
		}
	}
	r->setter = setter;
	r->ctx = ctx;
	r->ops = (struct challenge_ops){
	        .name = setter->name,
	        .type = CHALLENGE_TYPE_DNS01,
	        .present = dns01_present,
	        .cleanup = dns01_cleanup,
	        .stop = dns01_stop,
	        .destroy = dns01_destroy,
	        .probe = r->prober != NULL ? dns01_probe : NULL,
	        .probe_cancel = r->prober != NULL ? dns01_probe_cancel : NULL,
	};
	challenge_init(&r->base, &r->ops, loop);
	list_init(&r->calls);
	list_init(&r->entries);
	r->propagation_s = opts->propagation_s > 0 ? (double)opts->propagation_s : 0.;
	r->wait_s = opts->wait_s > 0 ? (double)opts->wait_s : 0.;
	return &r->base;
fail:
	free(err);
	setter->destroy(ctx);
	if (r != NULL) {
		if (r->own_dns) {
			dns_destroy(r->dns);
		}
		free(r->resolvers);
		free(r->propagation_servers);
		free(r);
	}
	return NULL;
}

/* ---- the dns-hook setter ---- */

static int
hook_args(const struct challenge_task *task, struct challenge_hook_args *args, const char **why)
{
	const char *original = task->txt_original != NULL ? task->txt_original : task->txt_name;

	if (!challenge_hook_word_ok(task->txt_name, DNS01_MAX_NAME)) {
		*why = "refusing a record that is not a DNS name";
		return -1;
	}
	/* ACMED_RECORD is the record the hook sets, as its NAME argument
	 * (acmed-hooks(7)); ACMED_DNS_NAME says the same beside
	 * ACMED_DNS_ORIGINAL_NAME. */
	*args = (struct challenge_hook_args){
	        .subject = task->txt_name,
	        .words = {task->txt_name, task->txt_value, NULL},
	        .vars = {"ACMED_RECORD", task->txt_name, "ACMED_VALUE", task->txt_value,
	                 "ACMED_DNS_NAME", task->txt_name, "ACMED_DNS_ORIGINAL_NAME", original,
	                 NULL},
	};
	return 0;
}

static const struct challenge_hook_kind hook_kind = {
        .name = "dns-hook",
        .type = CHALLENGE_TYPE_DNS01,
        .args = hook_args,
        .wait_why = "",
};

static int
hook_set(void *ctx, bool add, const struct challenge_dns01_record *rec, challenge_done_fn done,
         void *arg)
{
	struct challenge *hook = ctx;
	struct challenge_task task = *rec->task;

	task.txt_name = rec->name;
	task.txt_original = rec->original;
	/* The hook responder reads task only inside this call. */
	return add ? hook->ops->present(hook, &task, done, arg)
	           : hook->ops->cleanup(hook, &task, done, arg);
}

static void
hook_destroy(void *ctx)
{
	challenge_destroy(ctx);
}

static void
hook_setter_stop(void *ctx)
{
	challenge_stop(ctx);
}

/* No probe: a hook is run to set a record, never to ask whether it could. */
static const struct challenge_dns01_setter hook_setter = {
        .name = "dns-hook",
        .needs_zone = false,
        .set = hook_set,
        .destroy = hook_destroy,
        .stop = hook_setter_stop,
};

struct challenge *
challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s,
                       const struct challenge_dns01_opts *opts)
{
	/* dns-wait is the flow's, after the propagation check. */
	struct challenge *hook = challenge_hook_create(loop, &hook_kind, prog, timeout_s, 0);

	if (hook == NULL) {
		return NULL;
	}
	return challenge_dns01_flow_create(loop, &hook_setter, hook, opts);
}
