/* Fleet mode for the commands (cluster = ... in the configuration): the
 * shared store opened with this node's cluster key and name, the key
 * checked before anything is written, the CA account shared by every node,
 * and for the daemon the heartbeat, the reconcile (on every connect and
 * every FLEET_RECONCILE seconds) and the announcements of installs. */
#ifndef ACMED_CMD_FLEET_H
#define ACMED_CMD_FLEET_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "acme/acme_account.h"
#include "conf/conf.h"
#include "renew/fleet_answers.h"
#include "renew/job_runner.h"
#include "renew/schedule.h"
#include "store/cluster.h"

/* How long a command waits for the store at its start. */
#define FLEET_CONNECT_WAIT 5.0
/* The daemon's heartbeat, and how long a node counts as alive after it. */
#define FLEET_BEAT 10.0
#define FLEET_ALIVE_MS 30000L
/* How often the daemon compares every certificate with the store. */
#define FLEET_RECONCILE 300.0

struct cmd_fleet {
	struct cluster *cluster; /* NULL: no fleet configured */
	struct ev_loop *loop;
	char node[65];
	uint64_t account_token; /* the lease on registering the account, 0 */
	/* the daemon's */
	struct schedule *schedule;
	struct job_runner *runner;
	ev_timer beat;
	ev_timer reconcile;
	ev_timer soon; /* a heartbeat soon: the jobs running changed */
	struct fleet_answers *answers; /* other nodes' webroot files written here */
	bool watching;
	bool was_down; /* the store was away: its return looks at what waited */
	time_t twin_said; /* when another node of this name was last said */
	/* The store's generation the certificates here were compared with
	 * (<state>/fleet.generation). */
	char generation[CLUSTER_GENERATION_LEN];
	/* The daemon's account (cmd_fleet_watch), compared with the fleet's on
	 * every connect: a node that set one up alone joins the fleet's. */
	struct acme_account_handle *acct;
	const char *state_dir;
	const char *ca_url;
	ev_timer account_check;
	/* Called (from the loop, not from the store's reply) each time the
	 * store becomes ready; set by the daemon after cmd_fleet_open. */
	void (*on_ready)(void *arg);
	void *ready_arg;
	ev_timer ready;
	/* Called (from the loop) when the store turns out to hold another
	 * cluster key after the start (ready_arg given). */
	void (*on_refused)(void *arg);
	ev_timer refused;
};

/* Opens the store settings name (nothing when cluster is not set): the key
 * file and password file read, connected, the key checked, waiting up to
 * FLEET_CONNECT_WAIT. Returns 0 (also when the store cannot be reached
 * yet: said once, the node serves what it has and orders nothing until it
 * is back), -2 for a bad key or password file or a store set up with
 * another key (what the user must fix; logged, nothing written), -1 for
 * anything else (logged). */
int cmd_fleet_open(struct cmd_fleet *f, struct ev_loop *loop, const struct conf_settings *settings);

/* The fleet's account for the session's CA into the state folder before
 * session_account (when this node has none or another: its own set aside
 * as account.key.local), so that every node signs as one account. When
 * the fleet has none, this node takes the lease on registering it (and
 * cmd_fleet_account_push lets it go), or waits for the node that holds
 * it. Returns 0, or -1 when the store cannot be reached and this node has
 * no account yet (logged): a node registers none on its own, which would
 * split the fleet between two accounts (orders of one cannot be resumed
 * with the other). */
int cmd_fleet_account_pull(struct cmd_fleet *f, const char *state_dir, const char *ca_url);

/* Once acct (opened under state_dir) is known to the CA: put into the
 * store when the fleet had none; when another node's got there first, it
 * is installed here and acct reloaded. */
void cmd_fleet_account_push(struct cmd_fleet *f, struct acme_account_handle *acct,
                            const char *state_dir, const char *ca_url);

/* The daemon: heartbeat, reconcile, announcements into sched (and other
 * nodes' webroot answers written here); the runner's challenge responders
 * opened for every configuration sched holds, so that this node answers
 * the validations of every node's orders; acct (opened under state_dir
 * for ca_url; all borrowed) compared with the fleet's account on every
 * reconnect (cmd_fleet_account_push). */
void cmd_fleet_watch(struct cmd_fleet *f, struct schedule *sched, struct job_runner *runner,
                     struct acme_account_handle *acct, const char *state_dir, const char *ca_url);

/* The daemon's jobs started or ended: a heartbeat within
 * FLEET_BEAT_SOON seconds (coalesced) says how many run now. */
#define FLEET_BEAT_SOON 1.0
void cmd_fleet_jobs_changed(struct cmd_fleet *f);

/* Stops watching (the schedule is going) without closing the store. */
void cmd_fleet_unwatch(struct cmd_fleet *f);

void cmd_fleet_close(struct cmd_fleet *f);

/* The fleet's view for status and jobs, asked of the store (waited for):
 * each row of certs (an array of status rows, {"cert": NAME, ...}) gets
 * "fleet": {"version", "ordered_by", "lease"} (the node holding its lease
 * now, "" for none), and answer gets "nodes": [{"node", "seen", "running",
 * "alive"}] and "fleet_running" (the orders running on the other live
 * nodes, as their last heartbeat said).
 * Nothing changes when the store is not ready. Returns 0 or -1. */
int cmd_fleet_view(struct cmd_fleet *f, json_t *answer);

#endif
