/* The daemon's control socket: a UNIX stream socket (mode 0600, peers
 * checked with SO_PEERCRED: the daemon's own uid or root), one JSON request
 * line in, one JSON reply line out, then the connection closes. */
#ifndef ACMED_CTL_H
#define ACMED_CTL_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

/* Answers a request (borrowed); returns the reply (new reference). */
typedef json_t *(*ctl_handler_fn)(json_t *request, void *arg);

struct ctl;

/* Listens at path (a stale socket file is replaced, a live one is an
 * error: another daemon runs). Returns NULL (logged) on failure. */
struct ctl *ctl_listen(struct ev_loop *loop, const char *path, ctl_handler_fn handler, void *arg);

/* Stops listening, closes connections and removes the socket file. */
void ctl_close(struct ctl *ctl);

/* The client side: sends request and returns the reply (new reference), or
 * NULL with *no_daemon set when nothing listens at path, or NULL (logged)
 * for another failure. Blocks at most timeout_s seconds. */
json_t *ctl_request(const char *path, json_t *request, double timeout_s, bool *no_daemon);

/* The default socket path: $RUNTIME_DIRECTORY/acmed.sock when systemd set
 * it, else ACMED_RUNDIR/acmed.sock for root, else
 * $XDG_RUNTIME_DIR/acmed.sock (or the state folder). New string or NULL. */
char *ctl_default_path(void);

#endif
