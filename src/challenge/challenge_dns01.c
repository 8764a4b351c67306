/* dns-01 through a program of the user's: "PROG add NAME VALUE" creates the
 * TXT record NAME ("_acme-challenge.<domain>.") with VALUE (RFC 8555 section
 * 8.4), "PROG del NAME VALUE" removes it. After an add, dns-wait gives the
 * record time to reach every authoritative server. The contract is in
 * acmed-hooks(7). */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include "base/b64.h"
#include "challenge/challenge_hook.h"

#define DNS01_MAX_VALUE 64 /* base64url of a SHA-256 is 43 */
#define DNS01_MAX_NAME 255

static int
dns01_args(const struct challenge_task *task, struct challenge_hook_args *args, const char **why)
{
	if (task == NULL || task->txt_name == NULL || task->txt_value == NULL ||
	    !challenge_hook_word_ok(task->txt_name, DNS01_MAX_NAME) ||
	    !b64_is_token(task->txt_value, DNS01_MAX_VALUE)) {
		*why = "refusing a record that is not a DNS name and a base64url value";
		return -1;
	}
	*args = (struct challenge_hook_args){
	        .subject = task->txt_name,
	        .words = {task->txt_name, task->txt_value, NULL},
	        .vars = {"ACMED_RECORD", task->txt_name, "ACMED_VALUE", task->txt_value, NULL},
	};
	return 0;
}

static const struct challenge_hook_kind dns01_kind = {
        .name = "dns-hook",
        .type = CHALLENGE_TYPE_DNS01,
        .args = dns01_args,
        .wait_why = "for the record to propagate (dns-wait)",
};

struct challenge *
challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s, long wait_s)
{
	return challenge_hook_create(loop, &dns01_kind, prog, timeout_s, wait_s);
}
