/* What the two hook responders, challenge_httphook.c and challenge_dns01.c,
 * share: each present and cleanup runs "PROG ACTION WORD..." through hook.c,
 * the calls in flight are kept until they end or the responder is destroyed,
 * and a failing hook is reported with the first line of its output. The
 * variants keep what differs: the words, the variables and the checks. Not
 * part of the challenge API, which is challenge.h. */
#ifndef ACMED_CHALLENGE_HOOK_H
#define ACMED_CHALLENGE_HOOK_H

#include <ev.h>

#include "challenge/challenge.h"

/* A responder with ops, running prog (a command line, see hook_split) with
 * timeout_s. ops->name ("dns-hook") is the config key that names prog and
 * starts every message; ops->destroy must be challenge_hook_destroy. With
 * wait_s > 0, done of a successful "add" comes wait_s seconds after the hook
 * ended, logged as "waiting N s " followed by wait_why (borrowed; a string
 * literal). Returns a new responder (challenge_destroy), or NULL with the
 * reason logged when prog is empty or unbalanced. */
struct challenge *challenge_hook_create(struct ev_loop *loop, const struct challenge_ops *ops,
                                        const char *prog, long timeout_s, long wait_s,
                                        const char *wait_why);

/* The command line given to challenge_hook_create, borrowed. */
const char *challenge_hook_prog(const struct challenge *ch);

/* Runs "PROG ACTION WORDS..." with, on top of acmed's environment,
 * ACMED_ACTION, ACMED_CERT_NAME, ACMED_DOMAIN (the task's identifier) and
 * then vars (name, value, name, value, ..., NULL). Its messages start with
 * "NAME PROG ACTION SUBJECT" (NAME is ops->name). The contract of
 * challenge_ops.present, with task not NULL; all arguments borrowed for the
 * call. */
int challenge_hook_run(struct challenge *ch, const char *action, const struct challenge_task *task,
                       const char *subject, char *const words[], const char *const vars[],
                       challenge_done_fn done, void *arg);

/* Cancels the calls in flight (their done is not called) and frees ch. */
void challenge_hook_destroy(struct challenge *ch);

#endif
