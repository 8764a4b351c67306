/* Waiting in a command for the fleet's shared store (cmd/fleet.c,
 * cmd/fleet_account.c): the loop runs until the answer came or a deadline
 * passed. The daemon waits so only while it starts. */
#ifndef ACMED_CMD_FLEET_WAIT_H
#define ACMED_CMD_FLEET_WAIT_H

#include <ev.h>
#include <stdbool.h>

#include "store/cluster.h"

struct fleet_wait {
	bool done;
	bool timed_out;
	struct cluster_reply r; /* its message in message */
	char message[512];
	char *key_pem; /* fleet_wait_on_account's */
	char *json;
};

/* Runs loop until ready(arg) or seconds passed (w8->timed_out). */
void fleet_wait_run(struct ev_loop *loop, struct fleet_wait *w8, bool (*ready)(void *), void *arg,
                    double seconds);
/* ready for fleet_wait_run: the answer came (arg: the fleet_wait). */
bool fleet_wait_done(void *arg);
/* A store call's callback (arg: the fleet_wait): the reply kept. */
void fleet_wait_on_reply(const struct cluster_reply *r, void *arg);
void fleet_wait_on_account(const struct cluster_reply *r, const char *key_pem, const char *json,
                           void *arg);
/* Frees what an answer left (the account key cleared first). */
void fleet_wait_finish(struct fleet_wait *w8);
/* Runs the loop for seconds. */
void fleet_wait_sleep(struct ev_loop *loop, double seconds);

#endif
