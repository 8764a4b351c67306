/* dns-01 through a program of the user's: "PROG add NAME VALUE" creates the
 * TXT record NAME ("_acme-challenge.<domain>.") with VALUE (RFC 8555 section
 * 8.4), "PROG del NAME VALUE" removes it. After an add, dns-wait gives the
 * record time to reach every authoritative server. The contract is in
 * acmed-hooks(7). */
#include "challenge/challenge.h"
#include "challenge/select.h"

#include "base/b64.h"
#include "challenge/challenge_hook.h"
#include "base/log.h"

#include <string.h>

#define DNS01_MAX_VALUE 64 /* base64url of a SHA-256 is 43 */
#define DNS01_MAX_NAME 255

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
run(struct challenge *ch, const char *action, const struct challenge_task *task,
    challenge_done_fn done, void *arg)
{
	int ret = -1;

	if (task == NULL || task->txt_name == NULL || task->txt_value == NULL ||
	    !name_ok(task->txt_name) || !b64_is_token(task->txt_value, DNS01_MAX_VALUE)) {
		log_error("dns-hook %s: refusing a record that is not a DNS name and a base64url "
		          "value",
		          challenge_hook_prog(ch));
		goto out;
	}
	ret = challenge_hook_run(
	        ch, action, task, task->txt_name,
	        (char *const[]){(char *)task->txt_name, (char *)task->txt_value, NULL},
	        (const char *const[]){"ACMED_RECORD", task->txt_name, "ACMED_VALUE",
	                              task->txt_value, NULL},
	        done, arg);
out:
	return ret;
}

static int
dns01_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run(ch, "add", task, done, arg);
}

static int
dns01_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
              void *arg)
{
	return run(ch, "del", task, done, arg);
}

static const struct challenge_ops dns01_ops = {
        .name = "dns-hook",
        .type = CHALLENGE_TYPE_DNS01,
        .present = dns01_present,
        .cleanup = dns01_cleanup,
        .destroy = challenge_hook_destroy,
};

struct challenge *
challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s, long wait_s)
{
	return challenge_hook_create(loop, &dns01_ops, prog, timeout_s, wait_s,
	                             "for the record to propagate (dns-wait)");
}
