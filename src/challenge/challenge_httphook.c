/* http-01 through a program of the user's: "PROG add DOMAIN TOKEN KEY_AUTH"
 * publishes the key authorization at
 * http://DOMAIN/.well-known/acme-challenge/TOKEN, "PROG del ..." withdraws
 * it. The contract is in acmed-hooks(7). */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include "base/b64.h"
#include "challenge/challenge_hook.h"

#define HTTPHOOK_MAX_KEY_AUTH 512

static int
httphook_args(const struct challenge_task *task, struct challenge_hook_args *args, const char **why)
{
	const char *domain;

	if (task == NULL || task->token == NULL || task->key_auth == NULL ||
	    !b64_is_token(task->token, ACME_MAX_TOKEN) ||
	    !challenge_hook_word_ok(task->key_auth, HTTPHOOK_MAX_KEY_AUTH)) {
		*why = "refusing a token that is not base64url";
		return -1;
	}
	domain = task->identifier != NULL ? task->identifier : "";
	*args = (struct challenge_hook_args){
	        .subject = domain,
	        .words = {domain, task->token, task->key_auth, NULL},
	        .vars = {"ACMED_TOKEN", task->token, "ACMED_KEY_AUTH", task->key_auth, NULL},
	};
	return 0;
}

static const struct challenge_hook_kind httphook_kind = {
        .name = "http-hook",
        .type = CHALLENGE_TYPE_HTTP01,
        .args = httphook_args,
};

struct challenge *
challenge_httphook_create(struct ev_loop *loop, const char *prog, long timeout_s)
{
	return challenge_hook_create(loop, &httphook_kind, prog, timeout_s, 0);
}
