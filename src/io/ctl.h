/* The daemon's control socket: a UNIX stream socket (mode 0600, peers
 * checked with SO_PEERCRED: the daemon's own uid or root), one JSON request
 * line in, one JSON reply line out, then the connection closes. Replies of
 * any length are written without blocking the loop; up to 256 clients at
 * once, an idle one dropped after 5 s or when the oldest idle one must make
 * room (see listener.h). */
#ifndef ACMED_CTL_H
#define ACMED_CTL_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

/* Answers a request (borrowed): returns the reply, one JSON value as
 * compact text without a newline (a new string: the connection frees it),
 * or NULL to close without an answer. A long reply (the status of every
 * certificate) is built as text, row by row, never as one tree of values;
 * ctl_reply_json makes the text of a small one. */
typedef char *(*ctl_handler_fn)(json_t *request, void *arg);

/* The compact text of answer (stolen) for a handler to return; NULL when
 * answer is NULL or memory runs out. */
char *ctl_reply_json(json_t *answer);

struct ctl;

/* Listens at path (a stale socket file is replaced, a live one is an
 * error: another daemon runs). Returns NULL (logged) on failure. */
struct ctl *ctl_listen(struct ev_loop *loop, const char *path, ctl_handler_fn handler, void *arg);

/* Stops listening, closes connections and removes the socket file. */
void ctl_close(struct ctl *ctl);

/* The client side: sends request (borrowed) and returns the reply (new
 * reference, up to 256 MiB), or NULL with *no_daemon set when nothing
 * listens at path (no socket file, or nobody accepts on it), or NULL
 * (logged, *no_daemon false) when a daemon is there but cannot be talked
 * to: a refused peer, a daemon silent for timeout_s seconds, an answer too
 * long or not JSON. A connection the daemon closes without a word (a flood
 * pushed it out before the request was read) is made again, up to 5
 * times in all. Blocks while the daemon makes progress, giving up after
 * timeout_s seconds without any. */
json_t *ctl_request(const char *path, json_t *request, double timeout_s, bool *no_daemon);

/* The same, the reply as the daemon wrote it (its newline kept): a new
 * string of *len bytes, not checked to be JSON, for a caller that passes a
 * long reply on without a tree of values (acmed status). */
char *ctl_request_text(const char *path, json_t *request, double timeout_s, bool *no_daemon,
                       size_t *len);

#endif
