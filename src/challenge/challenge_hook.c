#include "challenge/challenge_hook.h"

#include "base/list.h"
#include "base/log.h"
#include "io/hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_HOOK_MAX_MESSAGE 512
#define CHALLENGE_HOOK_MAX_LINE 200 /* of the hook's output, in messages */
#define CHALLENGE_HOOK_BASE_VARS 3 /* ACMED_ACTION, ACMED_CERT_NAME, ACMED_DOMAIN */

struct call {
	struct ev_timer wait;
	struct responder *hr;
	struct list_node node; /* in hr->calls */
	struct hook *hook;
	challenge_done_fn done;
	void *arg;
	char *what; /* "dns-hook PROG add NAME" */
	bool waits; /* an add: wait_s before done */
	bool stopped; /* challenge_stop: done with -1 as soon as it can */
};

struct responder {
	struct challenge base;
	struct challenge_ops ops; /* the kind's name and type */
	const struct challenge_hook_kind *kind;
	char *prog;
	double timeout_s;
	double wait_s;
	struct list calls;
};

static void
call_free(struct call *call)
{
	struct responder *hr = call->hr;

	list_unlink(&call->node);
	ev_timer_stop(hr->base.loop, &call->wait);
	hook_cancel(call->hook);
	free(call->what);
	free(call);
}

/* Frees call, then calls its done: the callback may destroy the responder. */
static void
call_finish(struct call *call, int rc, const char *message)
{
	challenge_done_fn done = call->done;
	void *arg = call->arg;

	call_free(call);
	done(rc, message, arg);
}

/* "subject: why: first line of output" in out. */
static void
failure(char *out, size_t len, const char *what, const char *why, const char *output)
{
	size_t n = strcspn(output, "\r\n");
	char line[CHALLENGE_HOOK_MAX_LINE + 1];
	size_t i;

	if (n > CHALLENGE_HOOK_MAX_LINE) {
		n = CHALLENGE_HOOK_MAX_LINE;
	}
	while (n > 0 && (output[n - 1] == ' ' || output[n - 1] == '\t')) {
		n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)output[i];

		line[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	line[n] = '\0';
	snprintf(out, len, "%s: %s%s%s", what, why, n > 0 ? ": " : "", line);
}

bool
challenge_hook_word_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len > 0 && len <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789-_.") == len;
}

static void
on_wait(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct call *call = w->data;

	if (call->stopped) {
		call_finish(call, -1, "stopped");
		return;
	}
	log_debug("%s: done waiting", call->what);
	call_finish(call, 0, NULL);
}

static void
on_hook(int status, const char *why, const char *output, void *arg)
{
	struct call *call = arg;
	struct responder *hr = call->hr;
	char message[CHALLENGE_HOOK_MAX_MESSAGE];

	call->hook = NULL; /* freed by hook.c after this returns */
	if (call->stopped) {
		/* An add that ended anyway: what it set is removed by the
		 * cleanup that follows the failure. */
		snprintf(message, sizeof(message), "%s: stopped", call->what);
		call_finish(call, -1, message);
	} else if (status != 0) {
		failure(message, sizeof(message), call->what, why, output);
		call_finish(call, -1, message);
	} else if (call->waits && hr->wait_s > 0) {
		log_info("%s: waiting %g s %s", call->what, hr->wait_s, hr->kind->wait_why);
		ev_timer_set(&call->wait, hr->wait_s, 0.);
		ev_timer_start(hr->base.loop, &call->wait);
	} else {
		log_debug("%s: done", call->what);
		call_finish(call, 0, NULL);
	}
}

static char *
env_pair(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *pair = malloc(len);

	if (pair != NULL) {
		snprintf(pair, len, "%s=%s", name, value);
	}
	return pair;
}

/* The environment for action on task, then vars: a new NULL-terminated array
 * (env_free), or NULL when out of memory. */
static char **
env_create(const char *action, const struct challenge_task *task, const char *const vars[])
{
	char **env = NULL;
	size_t pairs = 0;
	size_t n;
	size_t i;
	bool complete = true;

	while (vars[2 * pairs] != NULL) {
		pairs++;
	}
	n = CHALLENGE_HOOK_BASE_VARS + pairs;
	env = calloc(n + 1, sizeof(*env));
	if (env == NULL) {
		goto out;
	}
	env[0] = env_pair("ACMED_ACTION", action);
	env[1] = env_pair("ACMED_CERT_NAME", task->cert_name != NULL ? task->cert_name : "");
	env[2] = env_pair("ACMED_DOMAIN", task->identifier != NULL ? task->identifier : "");
	for (i = 0; i < pairs; i++) {
		env[CHALLENGE_HOOK_BASE_VARS + i] = env_pair(vars[2 * i], vars[2 * i + 1]);
	}
	for (i = 0; i < n; i++) {
		complete = complete && env[i] != NULL;
	}
	if (!complete) {
		for (i = 0; i < n; i++) {
			free(env[i]);
		}
		free(env);
		env = NULL;
	}
out:
	return env;
}

static void
env_free(char **env)
{
	size_t i;

	for (i = 0; env != NULL && env[i] != NULL; i++) {
		free(env[i]);
	}
	free(env);
}

/* Runs "PROG ACTION WORDS..." for task: the contract of
 * challenge_ops.present. */
static int
run(struct challenge *ch, const char *action, const struct challenge_task *task,
    challenge_done_fn done, void *arg)
{
	struct responder *hr = (struct responder *)ch;
	const char *name = hr->kind->name;
	struct challenge_hook_args args;
	const char *subject;
	const char *why = NULL;
	struct call *call = NULL;
	char **argv = NULL;
	char **env = NULL;
	size_t len;
	int ret = -1;

	if (hr->kind->args(task, &args, &why) < 0) {
		log_error("%s %s: %s", name, hr->prog, why);
		goto out;
	}
	subject = args.subject;
	call = calloc(1, sizeof(*call));
	argv = hook_split(hr->prog);
	if (argv != NULL) {
		argv = hook_argv_append(argv, (char *const[]){(char *)action, NULL});
	}
	if (argv != NULL) {
		argv = hook_argv_append(argv, (char *const *)(void *)args.words);
	}
	env = env_create(action, task, args.vars);
	len = strlen(name) + strlen(hr->prog) + strlen(action) + strlen(subject) + sizeof("   ");
	if (call != NULL) {
		call->what = malloc(len);
	}
	if (call == NULL || call->what == NULL || argv == NULL || env == NULL) {
		log_error("%s %s: out of memory", name, hr->prog);
		goto out;
	}
	snprintf(call->what, len, "%s %s %s %s", name, hr->prog, action, subject);
	call->hr = hr;
	call->done = done;
	call->arg = arg;
	call->waits = strcmp(action, "add") == 0;
	ev_timer_init(&call->wait, on_wait, 0., 0.);
	call->wait.data = call;
	call->hook = hook_run(ch->loop, argv, env, hr->timeout_s, on_hook, call);
	if (call->hook == NULL) {
		goto out;
	}
	list_push(&hr->calls, &call->node);
	log_debug("%s: started", call->what);
	call = NULL;
	ret = 0;
out:
	if (call != NULL) {
		free(call->what);
		free(call);
	}
	hook_argv_free(argv);
	env_free(env);
	return ret;
}

static int
hook_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	return run(ch, "add", task, done, arg);
}

static int
hook_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
             void *arg)
{
	return run(ch, "del", task, done, arg);
}

/* challenge_ops.stop: an add still running gets the timeout's way out;
 * one in its wait ends from the loop. A del goes on: it is the cleanup. */
static void
hook_stop_presents(struct challenge *ch)
{
	struct responder *hr = (struct responder *)ch;
	struct list_node *n, *tmp;

	list_for_each(&hr->calls, n, tmp)
	{
		struct call *call = list_entry(n, struct call, node);

		if (!call->waits || call->stopped) {
			continue;
		}
		call->stopped = true;
		if (call->hook != NULL) {
			log_info("%s: stopping it", call->what);
			hook_stop(call->hook);
		} else {
			ev_timer_stop(hr->base.loop, &call->wait);
			ev_timer_set(&call->wait, 0., 0.);
			ev_timer_start(hr->base.loop, &call->wait);
		}
	}
}

static void
hook_destroy(struct challenge *ch)
{
	struct responder *hr = (struct responder *)ch;

	if (hr == NULL) {
		return;
	}
	while (!list_empty(&hr->calls)) {
		call_free(list_entry(list_first(&hr->calls), struct call, node));
	}
	free(hr->prog);
	free(hr);
}

struct challenge *
challenge_hook_create(struct ev_loop *loop, const struct challenge_hook_kind *kind,
                      const char *prog, long timeout_s, long wait_s)
{
	struct responder *hr = NULL;
	char **argv = NULL;

	argv = hook_split(prog != NULL ? prog : "");
	if (argv == NULL) {
		log_error("%s '%s': no program or unbalanced quotes: set %s to the program to run",
		          kind->name, prog != NULL ? prog : "", kind->name);
		goto out;
	}
	hr = calloc(1, sizeof(*hr));
	if (hr != NULL) {
		hr->prog = strdup(prog);
	}
	if (hr == NULL || hr->prog == NULL) {
		log_error("%s %s: out of memory", kind->name, prog);
		free(hr);
		hr = NULL;
		goto out;
	}
	hr->kind = kind;
	hr->ops = (struct challenge_ops){
	        .name = kind->name,
	        .type = kind->type,
	        .present = hook_present,
	        .cleanup = hook_cleanup,
	        .stop = hook_stop_presents,
	        .destroy = hook_destroy,
	};
	challenge_init(&hr->base, &hr->ops, loop);
	list_init(&hr->calls);
	hr->timeout_s = (double)timeout_s;
	hr->wait_s = wait_s > 0 ? (double)wait_s : 0.;
out:
	hook_argv_free(argv);
	return hr != NULL ? &hr->base : NULL;
}
