/* The core of the two hook responders, challenge_httphook.c and
 * challenge_dns01.c: present runs "PROG add WORD...", cleanup "PROG del
 * WORD..." through io/hook.c, the calls in flight are kept until they end or
 * the responder is destroyed, and a failing hook is reported with the first
 * line of its output. A variant says only what differs: which task fields
 * are its words and variables, and how they are checked. Not part of the
 * challenge API, which is challenge.h. */
#ifndef ACMED_CHALLENGE_HOOK_H
#define ACMED_CHALLENGE_HOOK_H

#include <ev.h>

#include "challenge/challenge.h"

#define CHALLENGE_HOOK_MAX_WORDS 3
#define CHALLENGE_HOOK_MAX_VARS 4

/* What one call of the hook gets from a task, all borrowed from it. */
struct challenge_hook_args {
	const char *subject; /* for messages: "NAME PROG ACTION SUBJECT" */
	const char *words[CHALLENGE_HOOK_MAX_WORDS + 1]; /* after ACTION; NULL-terminated */
	/* name, value, name, value, ..., NULL: on top of acmed's environment,
	 * ACMED_ACTION, ACMED_CERT_NAME and ACMED_DOMAIN. */
	const char *vars[2 * CHALLENGE_HOOK_MAX_VARS + 1];
};

/* A variant of the hook responder. */
struct challenge_hook_kind {
	const char *name; /* the config key that names the program ("dns-hook") */
	enum challenge_type type;
	/* Fills args from task (not NULL): 0, or -1 when the task cannot be
	 * handed to a program; then the one-line reason goes to why. */
	int (*args)(const struct challenge_task *task, struct challenge_hook_args *args,
	            const char **why);
	/* Logged after "waiting N s " when done of an add waits (dns-wait). */
	const char *wait_why;
};

/* Whether s is 1 to max letters, digits, '-', '_' and '.': a word no shell
 * or program mistakes for an option or splits (DNS names, base64url). */
bool challenge_hook_word_ok(const char *s, size_t max);

/* A responder of kind (borrowed; static), running prog (a command line, see
 * hook_split) with timeout_s. With wait_s > 0, done of a successful "add"
 * comes wait_s seconds after the hook ended. Returns a new responder
 * (challenge_destroy), or NULL with the reason logged when prog is empty or
 * unbalanced. */
struct challenge *challenge_hook_create(struct ev_loop *loop,
                                        const struct challenge_hook_kind *kind, const char *prog,
                                        long timeout_s, long wait_s);

#endif
