/* dns-01 through a program of the user's: "PROG add NAME VALUE" creates the
 * TXT record NAME ("_acme-challenge.<domain>.") with VALUE (RFC 8555 section
 * 8.4), "PROG del NAME VALUE" removes it. After an add, dns-wait gives the
 * record time to reach every authoritative server. The contract is in
 * acmed-hooks(7). */
#include "challenge.h"

#include "b64.h"
#include "hook.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS01_MAX_MESSAGE 512
#define DNS01_MAX_LINE 200 /* of the hook's output, in messages */
#define DNS01_MAX_VALUE 64 /* base64url of a SHA-256 is 43 */
#define DNS01_MAX_NAME 255

struct dns01_call {
	struct ev_timer wait;
	struct dns01 *dns;
	struct dns01_call *prev, *next;
	struct hook *hook;
	challenge_done_fn done;
	void *arg;
	char *what; /* "dns-hook PROG add NAME" */
	bool waits; /* an add: dns-wait before done */
};

struct dns01 {
	struct challenge base;
	char *prog;
	double timeout_s;
	double wait_s;
	struct dns01_call *calls;
};

static void
call_free(struct dns01_call *call)
{
	struct dns01 *dns = call->dns;

	if (call->prev != NULL) {
		call->prev->next = call->next;
	} else {
		dns->calls = call->next;
	}
	if (call->next != NULL) {
		call->next->prev = call->prev;
	}
	ev_timer_stop(dns->base.loop, &call->wait);
	hook_cancel(call->hook);
	free(call->what);
	free(call);
}

/* Frees call, then calls its done: the callback may destroy the responder. */
static void
call_finish(struct dns01_call *call, int rc, const char *message)
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
	char line[DNS01_MAX_LINE + 1];
	size_t i;

	if (n > DNS01_MAX_LINE) {
		n = DNS01_MAX_LINE;
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

static void
on_wait(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct dns01_call *call = w->data;

	log_debug("%s: done waiting", call->what);
	call_finish(call, 0, NULL);
}

static void
on_hook(int status, const char *why, const char *output, void *arg)
{
	struct dns01_call *call = arg;
	struct dns01 *dns = call->dns;
	char message[DNS01_MAX_MESSAGE];

	call->hook = NULL; /* freed by hook.c after this returns */
	if (status != 0) {
		failure(message, sizeof(message), call->what, why, output);
		call_finish(call, -1, message);
	} else if (call->waits && dns->wait_s > 0) {
		log_info("%s: waiting %g s for the record to propagate (dns-wait)", call->what,
		         dns->wait_s);
		ev_timer_set(&call->wait, dns->wait_s, 0.);
		ev_timer_start(dns->base.loop, &call->wait);
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

/* A DNS name in presentation form, as acmed builds it. */
static bool
name_ok(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= DNS01_MAX_NAME &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                    "0123456789-_.") == len;
}

static int
run(struct dns01 *dns, const char *action, const struct challenge_task *task,
    challenge_done_fn done, void *arg)
{
	struct dns01_call *call = NULL;
	const char *domain;
	char **argv = NULL;
	char *env[6] = {NULL};
	size_t len;
	size_t i;
	int ret = -1;

	if (task == NULL || task->txt_name == NULL || task->txt_value == NULL ||
	    !name_ok(task->txt_name) || !b64_is_token(task->txt_value, DNS01_MAX_VALUE)) {
		log_error("dns-hook %s: refusing a record that is not a DNS name and a base64url "
		          "value",
		          dns->prog);
		goto out;
	}
	domain = task->identifier != NULL ? task->identifier : "";
	call = calloc(1, sizeof(*call));
	argv = hook_split(dns->prog);
	if (argv != NULL) {
		argv = hook_argv_append(argv,
		                        (char *const[]){(char *)action, (char *)task->txt_name,
		                                        (char *)task->txt_value, NULL});
	}
	env[0] = env_pair("ACMED_ACTION", action);
	env[1] = env_pair("ACMED_CERT_NAME", task->cert_name != NULL ? task->cert_name : "");
	env[2] = env_pair("ACMED_DOMAIN", domain);
	env[3] = env_pair("ACMED_RECORD", task->txt_name);
	env[4] = env_pair("ACMED_VALUE", task->txt_value);
	len = strlen(dns->prog) + strlen(action) + strlen(task->txt_name) + sizeof("dns-hook   ");
	if (call != NULL) {
		call->what = malloc(len);
	}
	if (call == NULL || call->what == NULL || argv == NULL || env[0] == NULL ||
	    env[1] == NULL || env[2] == NULL || env[3] == NULL || env[4] == NULL) {
		log_error("dns-hook %s: out of memory", dns->prog);
		goto out;
	}
	snprintf(call->what, len, "dns-hook %s %s %s", dns->prog, action, task->txt_name);
	call->dns = dns;
	call->done = done;
	call->arg = arg;
	call->waits = strcmp(action, "add") == 0;
	ev_timer_init(&call->wait, on_wait, 0., 0.);
	call->wait.data = call;
	call->hook = hook_run(dns->base.loop, argv, env, dns->timeout_s, on_hook, call);
	if (call->hook == NULL) {
		goto out;
	}
	call->next = dns->calls;
	if (dns->calls != NULL) {
		dns->calls->prev = call;
	}
	dns->calls = call;
	log_debug("%s: started", call->what);
	call = NULL;
	ret = 0;
out:
	if (call != NULL) {
		free(call->what);
		free(call);
	}
	hook_argv_free(argv);
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		free(env[i]);
	}
	return ret;
}

static int
dns01_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run((struct dns01 *)ch, "add", task, done, arg);
}

static int
dns01_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run((struct dns01 *)ch, "del", task, done, arg);
}

static void
dns01_destroy(struct challenge *ch)
{
	struct dns01 *dns = (struct dns01 *)ch;

	while (dns->calls != NULL) {
		call_free(dns->calls);
	}
	free(dns->prog);
	free(dns);
}

static const struct challenge_ops dns01_ops = {
        .name = "dns-hook",
        .type = ACME_CHALLENGE_DNS01,
        .present = dns01_present,
        .cleanup = dns01_cleanup,
        .destroy = dns01_destroy,
};

struct challenge *
challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s, long wait_s)
{
	struct dns01 *dns = NULL;
	char **argv = NULL;

	argv = hook_split(prog != NULL ? prog : "");
	if (argv == NULL) {
		log_error("dns-hook '%s': no program or unbalanced quotes: set dns-hook to the "
		          "program to run",
		          prog != NULL ? prog : "");
		goto out;
	}
	dns = calloc(1, sizeof(*dns));
	if (dns != NULL) {
		dns->prog = strdup(prog);
	}
	if (dns == NULL || dns->prog == NULL) {
		log_error("dns-hook %s: out of memory", prog);
		free(dns);
		dns = NULL;
		goto out;
	}
	dns->base.ops = &dns01_ops;
	dns->base.loop = loop;
	dns->timeout_s = (double)timeout_s;
	dns->wait_s = wait_s > 0 ? (double)wait_s : 0.;
out:
	hook_argv_free(argv);
	return dns != NULL ? &dns->base : NULL;
}
