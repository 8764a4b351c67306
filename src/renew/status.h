/* One certificate's row in `acmed status`: the same fields whether the
 * daemon answers (from its schedule) or the command reads the files itself
 * (no daemon running), written as JSON text by the one function below
 * (status_row_write) on both sides: the command passes the daemon's rows
 * on without reading the files again. */
#ifndef ACMED_STATUS_H
#define ACMED_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "renew/policy.h"

struct status_row {
	const char *cert;
	char *const *domains; /* as configured */
	size_t n_domains;
	time_t not_after; /* 0: nothing installed */
	time_t not_before; /* of what is installed, 0: nothing */
	time_t last_success; /* of its orders (state.json), 0: none recorded */
	const char *key_type; /* of what is installed ("ec-p256"...), or "" */
	const char *issuer; /* the installed certificate's issuer name, or NULL */
	/* The issuing CA's renewal window (RFC 9773) the daemon last read,
	 * 0 when none (no renewalInfo, not asked yet, or no daemon). */
	time_t ari_start;
	time_t ari_end;
	time_t next; /* when the policy looks again (now when due) */
	long attempts; /* failures in a row */
	const char *last_error; /* see status_last_error, or NULL */
	const char *why; /* the policy's one line */
	/* The CA that issued what is installed (its directory URL), and why
	 * not the certificate's first (failover); NULL when unknown, none. */
	const char *ca;
	const char *ca_fallback;
	bool running; /* a job for it is queued or running */
	/* dns-persist-01 (challenge = dns-persist-01): the earliest
	 * persistUntil of the records its last order used (state.json); 0:
	 * none known, or none has one. */
	time_t persist_until;
	/* The installed set: a readable cert.pem, and what is wrong with the
	 * set ("" or NULL: nothing). */
	bool installed;
	const char *problem;
	/* Not a section of the configuration (a plain `acmed cert`'s). */
	bool unconfigured;
};

/* How long before persistUntil status_persist_warning warns. */
#define STATUS_PERSIST_WARN_S (30 * 86400)

/* The warning for row's dns-persist-01 record, one line into buf (len
 * bytes), when its persistUntil has passed at now or comes within
 * STATUS_PERSIST_WARN_S; returns buf, or NULL when there is none. */
const char *status_persist_warning(const struct status_row *row, time_t now, char *buf, size_t len);

/* The error a row shows from st: the pending deploy's, else the last one
 * recorded (a success clears it); NULL when none. Borrowed from st. */
const char *status_last_error(const struct state *st);

/* The failures in a row a row shows from st: the orders', and the deploy
 * hook's while a deploy is owed. */
long status_failures(const struct state *st);

/* The row of the certificate cert with settings s from its view and the
 * decision made from it; everything borrowed. */
void status_row_fill(struct status_row *row, const char *cert, const struct conf_settings *s,
                     const struct policy_view *v, const struct policy_decision *d);

/* Without the daemon, status cannot see a command's job: when nothing is
 * installed or an order was begun (st), and a process holds the
 * certificate's lock in state_dir now, the row is marked running and its
 * why names the holder ("an order is running: pid 12 (acmed cert)", in
 * buf, len bytes). Reads /proc/locks only for such rows. */
void status_row_holder(struct status_row *row, const struct state *st, const char *state_dir,
                       char *buf, size_t len);

/* What a row says at a glance: "ok", "due", "failing" (failures in a row,
 * or an error while it is due) or "unconfigured" (when have_config: in
 * the state folder, not in the configuration, so nothing renews it). An
 * error that left a valid certificate not due (a forced renewal whose
 * pre-hook failed) is shown, but is no failing. */
const char *status_row_state(const struct status_row *row, bool have_config, time_t now);

/* Row as one compact JSON object appended to b (see base/json_text.h; a
 * failure sticks in b): "cert" first, then the members acmed(8) lists
 * under JSON OUTPUT in a fixed order; its files' paths under state_dir
 * (NULL: no "paths"), days left and state at now, have_config as
 * status_row_state takes it. */
struct buf;
void status_row_write(struct buf *b, const struct status_row *row, const char *state_dir,
                      bool have_config, time_t now);

/* The member "paths" of cert's row (its four files under state_dir),
 * appended to b after a comma unless b ends an object's opening: the
 * daemon leaves it to the command (a quarter less to send). */
void status_paths_write(struct buf *b, const char *state_dir, const char *cert);

#endif
