/* http-01 through a program of the user's: "PROG add DOMAIN TOKEN KEY_AUTH"
 * publishes the key authorization at
 * http://DOMAIN/.well-known/acme-challenge/TOKEN, "PROG del ..." withdraws
 * it. The contract is in acmed-hooks(7). */
#include "challenge.h"

#include "b64.h"
#include "hook.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPHOOK_MAX_MESSAGE 512
#define HTTPHOOK_MAX_LINE 200 /* of the hook's output, in messages */
#define HTTPHOOK_MAX_KEY_AUTH 512

struct httphook_call {
	struct httphook *hh;
	struct httphook_call *prev, *next;
	struct hook *hook;
	challenge_done_fn done;
	void *arg;
	char *what; /* "http-hook PROG add DOMAIN" */
};

struct httphook {
	struct challenge base;
	char *prog;
	double timeout_s;
	struct httphook_call *calls;
};

static void
call_free(struct httphook_call *call)
{
	struct httphook *hh = call->hh;

	if (call->prev != NULL) {
		call->prev->next = call->next;
	} else {
		hh->calls = call->next;
	}
	if (call->next != NULL) {
		call->next->prev = call->prev;
	}
	hook_cancel(call->hook);
	free(call->what);
	free(call);
}

/* "subject: why: first line of output" in out. */
static void
failure(char *out, size_t len, const char *what, const char *why, const char *output)
{
	size_t n = strcspn(output, "\r\n");
	char line[HTTPHOOK_MAX_LINE + 1];
	size_t i;

	if (n > HTTPHOOK_MAX_LINE) {
		n = HTTPHOOK_MAX_LINE;
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
on_hook(int status, const char *why, const char *output, void *arg)
{
	struct httphook_call *call = arg;
	char message[HTTPHOOK_MAX_MESSAGE] = "";
	challenge_done_fn done = call->done;
	void *done_arg = call->arg;
	int rc = 0;

	call->hook = NULL; /* freed by hook.c after this returns */
	if (status != 0) {
		failure(message, sizeof(message), call->what, why, output);
		rc = -1;
	} else {
		log_debug("%s: done", call->what);
	}
	/* The callback may destroy the responder: let go of it first. */
	call_free(call);
	done(rc, rc == 0 ? NULL : message, done_arg);
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

static bool
key_auth_ok(const char *key_auth)
{
	size_t len = strlen(key_auth);

	return len > 0 && len <= HTTPHOOK_MAX_KEY_AUTH &&
	       strspn(key_auth, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                        "0123456789-_.") == len;
}

static int
run(struct httphook *hh, const char *action, const struct challenge_task *task,
    challenge_done_fn done, void *arg)
{
	struct httphook_call *call = NULL;
	const char *domain;
	char **argv = NULL;
	char *env[6] = {NULL};
	size_t len;
	size_t i;
	int ret = -1;

	if (task == NULL || task->token == NULL || task->key_auth == NULL ||
	    !b64_is_token(task->token, ACME_MAX_TOKEN) || !key_auth_ok(task->key_auth)) {
		log_error("http-hook %s: refusing a token that is not base64url", hh->prog);
		goto out;
	}
	domain = task->identifier != NULL ? task->identifier : "";
	call = calloc(1, sizeof(*call));
	argv = hook_split(hh->prog);
	if (argv != NULL) {
		argv = hook_argv_append(argv, (char *const[]){(char *)action, (char *)domain,
		                                              (char *)task->token,
		                                              (char *)task->key_auth, NULL});
	}
	env[0] = env_pair("ACMED_ACTION", action);
	env[1] = env_pair("ACMED_CERT_NAME", task->cert_name != NULL ? task->cert_name : "");
	env[2] = env_pair("ACMED_DOMAIN", domain);
	env[3] = env_pair("ACMED_TOKEN", task->token);
	env[4] = env_pair("ACMED_KEY_AUTH", task->key_auth);
	len = strlen(hh->prog) + strlen(action) + strlen(domain) + sizeof("http-hook   ");
	if (call != NULL) {
		call->what = malloc(len);
	}
	if (call == NULL || call->what == NULL || argv == NULL || env[0] == NULL ||
	    env[1] == NULL || env[2] == NULL || env[3] == NULL || env[4] == NULL) {
		log_error("http-hook %s: out of memory", hh->prog);
		goto out;
	}
	snprintf(call->what, len, "http-hook %s %s %s", hh->prog, action, domain);
	call->hh = hh;
	call->done = done;
	call->arg = arg;
	call->hook = hook_run(hh->base.loop, argv, env, hh->timeout_s, on_hook, call);
	if (call->hook == NULL) {
		goto out;
	}
	call->next = hh->calls;
	if (hh->calls != NULL) {
		hh->calls->prev = call;
	}
	hh->calls = call;
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
httphook_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                 void *arg)
{
	return run((struct httphook *)ch, "add", task, done, arg);
}

static int
httphook_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                 void *arg)
{
	return run((struct httphook *)ch, "del", task, done, arg);
}

static void
httphook_destroy(struct challenge *ch)
{
	struct httphook *hh = (struct httphook *)ch;

	while (hh->calls != NULL) {
		call_free(hh->calls);
	}
	free(hh->prog);
	free(hh);
}

static const struct challenge_ops httphook_ops = {
        .name = "http-hook",
        .type = ACME_CHALLENGE_HTTP01,
        .present = httphook_present,
        .cleanup = httphook_cleanup,
        .destroy = httphook_destroy,
};

struct challenge *
challenge_httphook_create(struct ev_loop *loop, const char *prog, long timeout_s)
{
	struct httphook *hh = NULL;
	char **argv = NULL;

	argv = hook_split(prog != NULL ? prog : "");
	if (argv == NULL) {
		log_error("http-hook '%s': no program or unbalanced quotes: set http-hook to the "
		          "program to run",
		          prog != NULL ? prog : "");
		goto out;
	}
	hh = calloc(1, sizeof(*hh));
	if (hh != NULL) {
		hh->prog = strdup(prog);
	}
	if (hh == NULL || hh->prog == NULL) {
		log_error("http-hook %s: out of memory", prog);
		free(hh);
		hh = NULL;
		goto out;
	}
	hh->base.ops = &httphook_ops;
	hh->base.loop = loop;
	hh->timeout_s = (double)timeout_s;
out:
	hook_argv_free(argv);
	return hh != NULL ? &hh->base : NULL;
}
