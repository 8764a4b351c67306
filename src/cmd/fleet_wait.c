#include "cmd/fleet_wait.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fleet_wait *w8 = w->data;

	(void)loop;
	(void)revents;
	w8->timed_out = true;
}

/* Runs the loop until *flag is set or seconds passed. */
void
fleet_wait_run(struct ev_loop *loop, struct fleet_wait *w8, bool (*ready)(void *), void *arg,
               double seconds)
{
	ev_timer deadline;

	ev_timer_init(&deadline, on_deadline, seconds, 0.0);
	deadline.data = w8;
	ev_timer_start(loop, &deadline);
	while (!ready(arg) && !w8->timed_out) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &deadline);
}

bool
fleet_wait_done(void *arg)
{
	return ((struct fleet_wait *)arg)->done;
}

void
fleet_wait_on_reply(const struct cluster_reply *r, void *arg)
{
	struct fleet_wait *w8 = arg;

	w8->r = *r;
	snprintf(w8->message, sizeof(w8->message), "%s", r->message != NULL ? r->message : "");
	w8->r.message = w8->message;
	w8->done = true;
}

void
fleet_wait_on_account(const struct cluster_reply *r, const char *key_pem, const char *json,
                      void *arg)
{
	struct fleet_wait *w8 = arg;

	fleet_wait_on_reply(r, arg);
	w8->key_pem = key_pem != NULL ? strdup(key_pem) : NULL;
	w8->json = json != NULL ? strdup(json) : NULL;
}

void
fleet_wait_finish(struct fleet_wait *w8)
{
	if (w8->key_pem != NULL) {
		OPENSSL_cleanse(w8->key_pem, strlen(w8->key_pem));
	}
	free(w8->key_pem);
	free(w8->json);
}

void
fleet_wait_sleep(struct ev_loop *loop, double seconds)
{
	struct fleet_wait w8;

	memset(&w8, 0, sizeof(w8));
	fleet_wait_run(loop, &w8, fleet_wait_done, &w8, seconds);
}
