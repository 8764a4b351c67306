/* What schedule.c and schedule_ari.c share: the schedule's entries (one
 * per certificate) and the calls between them. Not for other modules. */
#ifndef ACMED_SCHEDULE_INTERNAL_H
#define ACMED_SCHEDULE_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/list.h"
#include "base/strmap.h"
#include "conf/conf.h"
#include "renew/schedule.h"

/* Settings that certificates share, but for their names: a thousand
 * sections with the same hooks and CA hold one copy. */
struct shared {
	size_t refs;
	struct conf_settings s; /* without domains */
};

struct entry {
	struct schedule *sched;
	struct entry *next;
	char *name;
	struct shared *shared;
	char **domains; /* its own */
	size_t n_domains;
	ev_periodic timer;
	time_t when;
	time_t not_after;
	long attempts;
	char *last_error;
	bool marked;
	bool force; /* the next job orders whatever the policy says */
	bool forced; /* the job running now was */
	double asked_at; /* when force was asked (renew --now) */
	bool looked; /* inside schedule_fleet_reconcile: counted once */
	ev_timer ari_timer; /* when to ask for the window again */
	struct ari_ask *ari; /* in flight, or NULL */
	struct list_node ari_wait; /* in the schedule's ari_queue */
	time_t ari_when; /* the time picked in the window, 0: none */
	char *ari_id; /* of the installed certificate, or NULL */
	/* The CA that issued it (state.json), which alone is asked for its
	 * window; NULL: unknown, the schedule's client is asked. */
	char *issuer;
	char *fallback; /* why issuer is not its first CA, or NULL */
	long unrecorded; /* jobs in a row that left it due without a record */
	time_t hold_until; /* their backoff, kept here */
	/* store_cert_folder_identity when its files were last read: status
	 * reads again only a certificate whose folder changed. */
	uint64_t folder_id;
	char *why; /* the policy's one line, or NULL before the first */
	/* For status and metrics: the installed certificate's facts, its
	 * last success and the window the CA last gave. */
	time_t not_before;
	time_t last_success;
	char key_type[16];
	const char *cert_issuer; /* interned in the schedule, or NULL */
	time_t ari_start;
	time_t ari_end;
	time_t persist_until; /* state.json's; see struct status_row */
	bool installed; /* a readable cert.pem */
	char *problem; /* what is wrong with the installed set, or NULL */
	/* Fleet mode: the shared record's version installed here and
	 * whether a set made here is owed to the store (state.json, then
	 * each job's outcome). */
	long fleet_version;
	bool fleet_owed;
	bool fleet_waiting; /* its last job waited for the store or a lease */
	/* an install announced while its job was queued or running: that
	 * job may have ended before it (another node ordering), so it is
	 * looked at again at once when the job is done */
	long fleet_announced;
};

struct schedule {
	struct ev_loop *loop;
	struct job_runner *runner;
	struct acme_client *client;
	const char *state_dir;
	const char *ca_url;
	struct entry *entries; /* in the configuration's order */
	/* The installed certificates' issuer names, each once: a handful for
	 * any number of certificates. */
	char **issuers;
	size_t n_issuers;
	struct entry **tail;
	struct strmap by_name; /* name -> entry */
	/* What the installed sets and state.json held, so that a start, the
	 * hourly look and every decision made again (a renewalInfo answer, a
	 * status after a change) read only what changed. */
	struct store_index *index;
	struct shared *last_shared; /* the settings schedule_set shared last */
	ev_periodic sweep; /* looks at every certificate again, hourly */
	size_t n;
	/* renewalInfo requests: at most SCHEDULE_ARI_MAX at once, the others
	 * waiting in order (a start with thousands of certificates asks for
	 * each). */
	struct list ari_queue;
	size_t ari_in_flight;
};

/* Arms e's timer for when (now or past: at once). */
void schedule_arm(struct entry *e, time_t when);

/* The next time from what is installed and what state.json recorded, as
 * the renewal policy says (the entry's status fields updated). */
time_t schedule_next_time(struct entry *e);

/* Asks the CA for the installed certificate's renewal window, or queues the
 * question behind SCHEDULE_ARI_MAX others (schedule_ari.c). */
void schedule_fetch_ari(struct entry *e);

/* e->ari_timer's callback: time to ask for the window again. */
void schedule_on_ari_timer(struct ev_loop *loop, ev_timer *w, int revents);

#endif
