/* certs/<name>/state.json: what acmed remembers about a certificate between
 * runs (attempts and backoff survive a restart). Written only under the
 * certificate's lock, by the job that holds it (job.c), with the fields the
 * renewal policy (policy.h) computes. */
#ifndef ACMED_STATE_H
#define ACMED_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* store_index.c keeps these: a field added here is added there too. */
struct state {
	time_t not_after; /* of the installed certificate, 0 if none */
	time_t last_attempt; /* 0: never */
	time_t last_success;
	long attempts; /* failures in a row */
	time_t next_try; /* backoff: not before this time; 0: no backoff */
	char *last_error; /* or NULL */
	char *order_url; /* an order in flight (its key in pending.key), or NULL */
	char *ca; /* directory URL the installed certificate came from, or NULL */
	/* Why ca is not the certificate's first CA (failover): the first's
	 * failure, one line; NULL when it came from the first. */
	char *ca_fallback;
	/* A certificate installed whose deploy hook has not succeeded yet:
	 * retried with its own backoff, never ordered again for it. */
	bool deploy_pending;
	long deploy_attempts;
	time_t deploy_next_try;
	char *deploy_error; /* or NULL */
	/* The installed set (v/<n>) this file last recorded, -1 when unknown
	 * (a file from before it was kept). A higher installed one was
	 * switched to by a job that did not live to record it: its deploy is
	 * owed. */
	long version;
	/* RFC 9773: the time picked in the CA's renewal window for the
	 * certificate ari_id, and when to ask the CA again (also set when the
	 * CA offers no renewalInfo, so one-shot runs do not ask each time). */
	char *ari_id; /* or NULL */
	time_t ari_when; /* 0: no window */
	time_t ari_next;
	/* Fleet mode (store/cluster.h): the shared record's version the
	 * installed set is (0: none), and whether the installed set was made
	 * here and still has to be put into the shared store (it was away). */
	long fleet_version;
	bool fleet_owed;
	/* dns-persist-01: the earliest persistUntil of the records the last
	 * order's validations were looked up with, after which the CA takes
	 * them for no new validation; 0: none known, or none has one. */
	time_t persist_until;
};

/* A state with nothing recorded (version -1). */
void state_init(struct state *st);

/* Reads dir/state.json into st (state_init first). A missing file gives an
 * empty state and 0. Returns 0, or -1 for an unreadable or malformed file (st is
 * then empty; not logged, the reason in errno-like err). */
int state_load(const char *dir, struct state *st);

/* The same, the certificate's folder open as dirfd: state.json looked up
 * from it (a start reads 100,000). */
int state_load_at(int dirfd, struct state *st);

/* state_load_at that also gives the file_identity of the state.json it
 * read (or of the error that kept it from being read) in *id: what
 * state_identity says of it until it changes. */
int state_load_at_ident(int dirfd, struct state *st, uint64_t *id);

/* file_identity of dir/state.json: another number once it was written
 * (every write replaces it) or edited. 0 when out of memory. */
uint64_t state_identity(const char *dir);

/* Writes dir/state.json atomically. Returns 0 or -1 (logged). */
int state_save(const char *dir, const char *name, const struct state *st);

/* state_save's first half (file_write_temp): st written beside
 * dir/state.json, nothing synced, its temp name in tmp (tmplen bytes). The
 * caller renames it over state.json once it is durable, or removes it.
 * Returns 0 or -1 (logged). */
int state_save_temp(const char *dir, const char *name, const struct state *st, char *tmp,
                    size_t tmplen);

/* Under the certificate's lock, before its state is read: a record a
 * killed run wrote beside dir/state.json (state_save_temp, or the temp
 * file of state_save) and never renamed. The newest that reads whole and
 * is no older than state.json takes its place, synced first; every other
 * such temp file is removed. Returns 1 when one was taken, 0 when none,
 * -1 when the folder cannot be read (errno set). */
int state_recover(const char *dir);

void state_finish(struct state *st);

/* The part of a state the fleet shares (cluster_cert.state): the attempts
 * and their backoff, the last success, the CA and the ARI window; never
 * the order (the shared store keeps it apart), a node's deploy, or a set
 * number. A new JSON text (free()), or NULL when out of memory. */
char *state_shared_to_json(const struct state *st);

/* Takes the shared part from text into st when it is news: its last
 * attempt later than st's (or force). Returns 1 when st changed, 0 when
 * not, -1 for a malformed text or out of memory (st unchanged). */
int state_shared_merge(struct state *st, const char *text, bool force);

/* Sets one of st's strings to a copy of value (NULL clears it). Returns 0,
 * or -1 when out of memory (the field unchanged). */
int state_set(char **field, const char *value);

#endif
