/* The fixture of test_fleet.c: two nodes, a and b, each a state folder
 * of its own and a handle on one shared store (cluster_fixture.h's nodes
 * a and b), and the view and fleet context (renew/fleet.h) of each one's
 * job of the moment, driven as job.c drives them; certificate sets issued
 * by a CA of the test (pki.h). Failures fail the test (cmocka). */
#ifndef ACMED_TEST_FLEET_FIXTURE_H
#define ACMED_TEST_FLEET_FIXTURE_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "renew/fleet.h"
#include "renew/policy.h"
#include "cluster_fixture.h"
#include "pki.h"

#define NAME "www"
#define CA_URL "https://ca.test/directory"
#define SHORT_MS 300

/* A node: its state folder, and the view and fleet context of its job of
 * the moment (job_begin .. job_end). */
struct site {
	struct node *n; /* its handle on the store (the fixture's) */
	char *state_dir;
	char *dir; /* certs/www */
	bool deploy_hook;
	struct policy_view view;
	struct fleet_job fj;
	int calls; /* answers of the fleet's steps */
	enum fleet_result rc;
};

struct world {
	struct fixture *fx;
	struct pki ca;
	struct site a, b;
	int issued; /* sets made so far: each one issued a second after the last */
};

typedef int (*fleet_step_fn)(struct fleet_job *fj, fleet_done_fn done, void *arg);

/* A fresh store with nodes a and b (cluster_fixture.h's setup), each with
 * an empty state folder and a deploy hook; and a CA. */
int world_setup(void **state);
int world_teardown(void **state);

/* The fleet steps' callback (arg: the site). */
void on_fleet(enum fleet_result rc, void *arg);

/* A job on s starts as job.c's (the view read from the state folder, a
 * fresh fleet context) and ends as its (the view saved; the shared state
 * put when attempted, the lease let go). */
void job_begin(struct world *w, struct site *s);
void job_end(struct site *s, bool attempted);

/* One step (fleet_job_sync, _lease, _installed), awaited: answered once,
 * from the loop. Its result. */
enum fleet_result step(struct world *w, struct site *s, fleet_step_fn fn);

/* A new set on s as job_install makes it: a new key, a leaf for it from
 * the CA, install_chain, the view recording it. Its serial (free()). */
char *install_new(struct world *w, struct site *s);

/* The serial of the set installed on s (free()), NULL when none; its key
 * (EVP_PKEY_free). */
char *installed_serial(const struct site *s);
EVP_PKEY *installed_key(const struct site *s);

/* The store's record of NAME read through node a's handle (into res,
 * result_reset), or through s's: after s's fire-and-forget calls, since
 * one connection answers in order. */
void record(struct world *w, struct result *res);
void record_by(struct world *w, struct site *s, struct result *res);

/* Waits until nobody holds NAME's lease. */
void wait_released(struct world *w);

/* The job on s that orders: sync, lease, a new set, installed, end. Its
 * serial (free()); the store's version after it in *version. */
char *order_on(struct world *w, struct site *s, long *version);

/* A job on s that only syncs. */
void sync_on(struct world *w, struct site *s);

/* A set made on s while the store was away: installed, owed, its fleet
 * version the one it started from. Its serial (free()). */
char *make_owed(struct world *w, struct site *s);

/* A handle (node "c") that never becomes ready: a Redis URL nothing
 * listens on, or a store folder made unusable behind its back (*folder:
 * the temporary folder to remove, or NULL). */
struct cluster *open_down(struct world *w, bool redis, char **folder);

/* Empties the store behind the nodes' backs (a new or wiped one). */
void wipe_store(struct world *w);

#endif
