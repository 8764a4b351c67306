/* Hooks: programs run asynchronously with an argv array (never a shell), an
 * environment of ACMED_* variables on top of acmed's own, a timeout after
 * which the whole process group is killed, and their output captured. */
#ifndef ACMED_HOOK_H
#define ACMED_HOOK_H

#include <ev.h>
#include <stddef.h>

#define HOOK_MAX_OUTPUT 4096

struct hook;

/* status: the exit code (0..255); -1 when it could not run, was killed by a
 * signal, or timed out. why: NULL on exit 0, else a one-line reason ("exit
 * 3", "killed after 120 s timeout", "cannot run: No such file or
 * directory"). output: what the program wrote on stdout and stderr (at most
 * HOOK_MAX_OUTPUT bytes, the rest dropped), NUL-terminated. All borrowed for
 * the duration of the call. */
typedef void (*hook_done_fn)(int status, const char *why, const char *output, void *arg);

/* Starts argv[0] (looked up in PATH if it has no '/') with argv, the
 * environment plus env ("NAME=value" strings, NULL-terminated; may be NULL),
 * stdin from /dev/null, in its own process group. Needs the default loop
 * (ev_child). done is called exactly once from the loop. Returns a handle
 * (valid until done is called), or NULL (logged) when nothing started. */
struct hook *hook_run(struct ev_loop *loop, char *const argv[], char *const env[], double timeout_s,
                      hook_done_fn done, void *arg);

/* The most hook_run_input gives a program on its stdin: what a pipe holds
 * without the writer waiting. */
#define HOOK_MAX_INPUT 32768

/* hook_run with input (input_len bytes, at most HOOK_MAX_INPUT) on the
 * program's stdin instead of /dev/null: an e-mail for sendmail -t. */
struct hook *hook_run_input(struct ev_loop *loop, char *const argv[], char *const env[],
                            const char *input, size_t input_len, double timeout_s,
                            hook_done_fn done, void *arg);

/* Its owner stops (a signal): the program's process group gets what a
 * timeout gives it, now (SIGTERM, SIGKILL after the grace), and done comes
 * as for a timeout, why "stopped". Does nothing once the program exited or
 * is being killed already. */
void hook_stop(struct hook *hook);

/* Kills the hook's process group and frees it without calling done. */
void hook_cancel(struct hook *hook);

/* Splits a command line into words on spaces and tabs; single and double
 * quotes group words (no other expansion). Returns a new NULL-terminated
 * array (hook_argv_free), or NULL when empty, unbalanced or out of memory. */
char **hook_split(const char *command);

/* Whether hook_run could start command (a command line, split as by
 * hook_split): its first word names an executable regular file, as a path
 * when it has a '/', else the first one found on $PATH (default
 * "/bin:/usr/bin") the way execvpe looks. Runs nothing. Returns 0, or -1
 * with a one-line reason naming the program in why ("nginx-reload: not
 * found on PATH /usr/bin:/bin"). */
int hook_check(const char *command, char *why, size_t whylen);

/* Appends extra words to a hook_split array. Returns the new array or NULL
 * (the old one is then freed). */
char **hook_argv_append(char **argv, char *const extra[]);

void hook_argv_free(char **argv);

#endif
