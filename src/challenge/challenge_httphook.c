/* http-01 through a program of the user's: "PROG add DOMAIN TOKEN KEY_AUTH"
 * publishes the key authorization at
 * http://DOMAIN/.well-known/acme-challenge/TOKEN, "PROG del ..." withdraws
 * it. The contract is in acmed-hooks(7). */
#include "challenge/challenge.h"
#include "challenge/select.h"

#include "base/b64.h"
#include "challenge/challenge_hook.h"
#include "base/log.h"

#include <string.h>

#define HTTPHOOK_MAX_KEY_AUTH 512

static bool
key_auth_ok(const char *key_auth)
{
	size_t len = strlen(key_auth);

	return len > 0 && len <= HTTPHOOK_MAX_KEY_AUTH &&
	       strspn(key_auth, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                        "0123456789-_.") == len;
}

static int
run(struct challenge *ch, const char *action, const struct challenge_task *task,
    challenge_done_fn done, void *arg)
{
	const char *domain;
	int ret = -1;

	if (task == NULL || task->token == NULL || task->key_auth == NULL ||
	    !b64_is_token(task->token, ACME_MAX_TOKEN) || !key_auth_ok(task->key_auth)) {
		log_error("http-hook %s: refusing a token that is not base64url",
		          challenge_hook_prog(ch));
		goto out;
	}
	domain = task->identifier != NULL ? task->identifier : "";
	ret = challenge_hook_run(
	        ch, action, task, domain,
	        (char *const[]){(char *)domain, (char *)task->token, (char *)task->key_auth, NULL},
	        (const char *const[]){"ACMED_TOKEN", task->token, "ACMED_KEY_AUTH", task->key_auth,
	                              NULL},
	        done, arg);
out:
	return ret;
}

static int
httphook_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                 void *arg)
{
	return run(ch, "add", task, done, arg);
}

static int
httphook_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                 void *arg)
{
	return run(ch, "del", task, done, arg);
}

static const struct challenge_ops httphook_ops = {
        .name = "http-hook",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = httphook_present,
        .cleanup = httphook_cleanup,
        .destroy = challenge_hook_destroy,
};

struct challenge *
challenge_httphook_create(struct ev_loop *loop, const char *prog, long timeout_s)
{
	return challenge_hook_create(loop, &httphook_ops, prog, timeout_s, 0, NULL);
}
