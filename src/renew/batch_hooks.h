/* pre-hook and post-hook: programs run once around the orders of a run,
 * for those who must stop a web server to free port 80 and start it
 * again. The jobs of a runner that are about to order join the batch
 * (batch_hooks_enter); the first starts the pre-hook (after a short
 * gather, so that the certificates due together share it) and they wait
 * for it; once the last that joined is over (batch_hooks_leave) the
 * post-hook runs: at once when the runner goes idle (the daemon), or when
 * the command says so (batch_hooks_finish), so that a command with several
 * runners runs each hook once. A run that orders nothing runs neither.
 *
 * Hooks run as deploy-hook does (io/hook.h: argv, no shell, hook-timeout),
 * with ACMED_CERT_NAMES (space separated: for the pre-hook the certificates
 * waiting for it, for the post-hook every one of the batch) and
 * ACMED_HOOK ("pre" or "post") in their environment. A failing pre-hook
 * fails the orders of its batch (nothing is ordered: the web server may
 * still hold the port) and the post-hook still runs. */
#ifndef ACMED_BATCH_HOOKS_H
#define ACMED_BATCH_HOOKS_H

#include <ev.h>
#include <stdbool.h>

/* How long the first job waits for others before the pre-hook starts. */
#define BATCH_HOOKS_GATHER 0.2

struct batch_hooks;

/* failed: NULL to go on and order, else why not (one line, naming the
 * hook: stored as the job's last error). Borrowed for the call. */
typedef void (*batch_go_fn)(const char *failed, void *arg);

/* Hooks for pre and post (command lines; either may be NULL), killed
 * after timeout_s; post_when_idle: the post-hook runs when the runner
 * goes idle (batch_hooks_idle) rather than at batch_hooks_finish. Strings
 * copied. NULL when out of memory (logged), or when neither is set unless
 * post_when_idle (a daemon, whose reload may set them: batch_hooks_set). */
struct batch_hooks *batch_hooks_create(struct ev_loop *loop, const char *pre, const char *post,
                                       long timeout_s, bool post_when_idle);

/* New commands and timeout (a reload), from the next batch on. Returns
 * 0, or -1 when out of memory (logged; b unchanged). */
int batch_hooks_set(struct batch_hooks *b, const char *pre, const char *post, long timeout_s);

/* Whether b has a pre-hook or a post-hook: jobs join a batch only then. */
bool batch_hooks_any(const struct batch_hooks *b);

/* Whether b has a post-hook (the port it may need goes before it). */
bool batch_hooks_has_post(const struct batch_hooks *b);

/* Kills a hook still running; safe on NULL. */
void batch_hooks_destroy(struct batch_hooks *b);

/* The job named name is about to order: go is called (maybe at once) when
 * the pre-hook ran. The job then belongs to the batch until
 * batch_hooks_leave (also when go was not called yet: it is forgotten). */
void batch_hooks_enter(struct batch_hooks *b, const char *name, batch_go_fn go, void *arg);

/* The job with arg is over (or destroyed while waiting). */
void batch_hooks_leave(struct batch_hooks *b, void *arg);

/* The runner has nothing running or queued: with post_when_idle, the
 * post-hook of a batch whose jobs are all over runs now. */
void batch_hooks_idle(struct batch_hooks *b);

/* For a command, after its runners: runs the post-hook when a batch
 * began, and the loop until it is over. Safe on NULL. Returns 0, or -1
 * when a hook failed (logged). */
int batch_hooks_finish(struct batch_hooks *b);

#endif
