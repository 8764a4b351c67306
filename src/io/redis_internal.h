/* What redis.c and redis_sub.c share: the link and its two connections,
 * and the steps of the link the subscription side takes part in. redis.c:
 * the link (connect, handshake, backoff) and the commands; redis_sub.c:
 * the subscriptions (SUBSCRIBE at each connect, messages delivered). Only
 * those two include it. */
#ifndef ACMED_REDIS_INTERNAL_H
#define ACMED_REDIS_INTERNAL_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "base/list.h"
#include "io/redis.h"

#define REDIS_WHY_LEN 256

/* The link is both connections: it is up when both finished their
 * handshake, and losing either drops both, so that on_up means "commands
 * work and the subscriptions are live" and a caller's reconciliation in
 * on_up also covers messages the subscription connection missed. */
enum redis_link {
	REDIS_LINK_WAITING, /* the timer is the wait before the next attempt */
	REDIS_LINK_CONNECTING, /* the timer is the attempt's timeout */
	REDIS_LINK_UP,
};

enum redis_conn_role {
	REDIS_CONN_COMMANDS,
	REDIS_CONN_SUBSCRIPTIONS,
	REDIS_CONN__MAX,
};

/* What the last failure was, so that each kind is logged once an outage. */
enum redis_failure {
	REDIS_FAILURE_NONE,
	REDIS_FAILURE_UNREACHABLE, /* no connection, lost, timed out, LOADING */
	REDIS_FAILURE_REFUSED, /* AUTH or SELECT answered with an error */
};

struct redis_conn {
	struct redis *r;
	redisAsyncContext *ac; /* NULL when closed; ac->data points back here */
	int owed; /* handshake replies (or subscribe confirmations) awaited */
	bool subscribing; /* SUBSCRIBE may be sent (subscription connection) */
	bool ready;
};

struct redis {
	struct ev_loop *loop;
	struct redis_config config;
	char *password;
	char *password_file;
	char name[320];
	struct redis_conn conns[REDIS_CONN__MAX];
	enum redis_link state;
	struct ev_timer timer;
	struct ev_idle idle; /* runs r->failed */
	double backoff;
	enum redis_failure logged; /* the kind of failure logged and not yet over */
	bool ever_up;
	bool told_up; /* on_up called, on_down not yet */
	char why[REDIS_WHY_LEN];
	struct list waiting;
	struct list failed;
	struct list subscriptions;
	unsigned long sent;
	/* Frames that call the user and touch r after: redis_destroy from
	 * inside them leaves the free to the last one (redis_release). */
	int busy;
	bool closing;
};

/* Ends a frame that called the user (r->busy++ began it); frees r when it
 * was destroyed meanwhile and this was the last such frame. */
void redis_release(struct redis *r);

/* The link is up once both connections are ready: on_up is called then
 * (last: it may destroy r). */
void redis_check_up(struct redis *r);

/* redis_sub.c: the subscription connection's handshake is over: SUBSCRIBE
 * to every channel at once (ready when each is confirmed; at once when
 * there is none). */
void redis_sub_all(struct redis_conn *c);

/* Frees r's subscriptions (r is being freed). */
void redis_sub_free(struct redis *r);

#endif
