/* The fleet's part of a certificate job (fleet mode, store/cluster.h): the
 * job (job.c) calls these at four points, and without a cluster never.
 *
 *   sync      before deciding: the shared record is read; a newer version
 *             than the local set is installed here (checked like a CA's
 *             chain, its deploy owed), a set made here while the store was
 *             away is put into it, the shared attempts and backoff are
 *             taken when they are news
 *   lease     before ordering: the certificate's lease (one node orders);
 *             under it the record is read again, and an order another node
 *             left (killed) is taken over with its key; the lease is
 *             extended while the job runs
 *   order     the CA made an order: its URL and key are kept in the store
 *   installed the new set goes into the store (compare-and-set on the
 *             version the order started from; a lost race leaves the set
 *             owed and the fleet's newer one is installed by the next sync)
 *   end       the shared state put (when this job holds the lease), the
 *             lease released
 *
 * The job's struct policy_view is read and changed in place (never saved
 * here: the job saves it). */
#ifndef ACMED_FLEET_H
#define ACMED_FLEET_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/ident.h"
#include "renew/policy.h"
#include "store/cluster.h"

/* How long a lease lasts unless extended (every third of it). */
#define FLEET_LEASE_MS 30000L
/* How many times one sync reads the record again after losing a put. */
#define FLEET_RESYNCS 3
/* How long a job that found the lease held waits before it looks again
 * (an install announced by the holder comes sooner). */
#define FLEET_BUSY_WAIT 15
/* How long a due certificate waits for a store that cannot be reached (its
 * return looks at every certificate at once). */
#define FLEET_DOWN_WAIT 300

enum fleet_result {
	FLEET_OK,
	FLEET_BUSY, /* another node holds the lease (holder says who) */
	FLEET_DOWN, /* the store cannot be reached: nothing may be ordered */
	FLEET_FAILED, /* something else (message says) */
};

struct install_output;

/* One job's fleet context; zeroed, then fleet_job_init. */
struct fleet_job {
	struct cluster *cluster;
	struct ev_loop *loop;
	const char *state_dir;
	const char *name;
	const char *dir; /* certs/<name> */
	const struct ident *ids;
	size_t n_ids;
	long renew_before;
	const struct install_output *output; /* the job's (install.h) */
	bool deploy_hook; /* a deploy is owed for a set installed from the store */
	const char *ca_url;
	bool ari; /* the CA offers renewalInfo */
	struct policy_view *view; /* the job's */

	uint64_t token; /* the lease held, 0 none */
	ev_timer extend;
	struct fleet_call *call; /* in flight, cancelled by fleet_job_finish */
	char holder[128]; /* BUSY */
	char message[512]; /* FAILED, DOWN */
	bool changed; /* the view changed (sync, lease): to be saved */
	bool materialized; /* a set from the store was installed here */
	/* A conflict made it read the record again (at most FLEET_RESYNCS
	 * times: three nodes putting their sets back into a wiped store). */
	bool synced_again;
	int resyncs;
	/* The store had forgotten this node's version (a wiped or restored
	 * store) and this node's set goes back into it: an older set another
	 * node put back meanwhile is not installed over it. */
	bool forgot;
	long remote_version; /* the record's version last read */
	const char *remote_node; /* who installed it (for logs), or "" */
};

typedef void (*fleet_done_fn)(enum fleet_result rc, void *arg);

void fleet_job_init(struct fleet_job *fj);

/* Stops the extension timer and cancels a call in flight (its callback is
 * never called); does not release the lease (fleet_job_end does). */
void fleet_job_finish(struct fleet_job *fj);

/* The steps; each calls done once from the loop (never from inside) and
 * returns 0, or -1 when out of memory (done not called). */
int fleet_job_sync(struct fleet_job *fj, fleet_done_fn done, void *arg);
int fleet_job_lease(struct fleet_job *fj, fleet_done_fn done, void *arg);
int fleet_job_installed(struct fleet_job *fj, fleet_done_fn done, void *arg);

/* Fire and forget (failures logged): the order's URL and key PEM kept
 * under the lease; and the end (state put when attempted, lease let go). */
void fleet_job_order(struct fleet_job *fj, const char *url, const char *key_pem);
void fleet_job_end(struct fleet_job *fj, bool attempted);

#endif
