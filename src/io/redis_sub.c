/* The subscription side of the Redis connection (redis.h): the channels
 * subscribed to, SUBSCRIBEd on the subscription connection at each
 * connect (the link is up once each is confirmed), and the messages
 * delivered to their callbacks. */
#include "io/redis_internal.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct subscription {
	struct list_node link;
	char *channel;
	redis_message_fn fn;
	void *arg;
};

static void on_message(redisAsyncContext *ac, void *reply, void *privdata);

/* SUBSCRIBE to every channel at once; the connection is ready when each
 * one is confirmed, so a message published after on_up is delivered. */
void
redis_sub_all(struct redis_conn *c)
{
	struct redis *r = c->r;
	struct list_node *n, *tmp;
	const char **argv = NULL;
	int argc = 1;

	c->subscribing = true;
	list_for_each(&r->subscriptions, n, tmp)
	{
		argc++;
	}
	if (argc == 1) {
		c->ready = true;
		redis_check_up(r);
		goto out;
	}
	argv = calloc((size_t)argc, sizeof(*argv));
	if (argv == NULL) {
		log_error("cluster: %s: out of memory", r->name);
		goto out; /* the attempt's timeout retries */
	}
	argv[0] = "SUBSCRIBE";
	argc = 1;
	list_for_each(&r->subscriptions, n, tmp)
	{
		argv[argc++] = list_entry(n, struct subscription, link)->channel;
	}
	if (redisAsyncCommandArgv(c->ac, on_message, NULL, argc, argv, NULL) == REDIS_OK) {
		r->sent++;
		c->owed = argc - 1;
	}
out:
	free(argv);
}

static void
deliver(struct redis *r, const redisReply *channel, const redisReply *message)
{
	struct list_node *n, *tmp;

	r->busy++;
	list_for_each(&r->subscriptions, n, tmp)
	{
		struct subscription *s = list_entry(n, struct subscription, link);

		if (strlen(s->channel) == channel->len &&
		    memcmp(s->channel, channel->str, channel->len) == 0) {
			s->fn(channel->str, message->str, message->len, s->arg);
		}
		if (r->closing) {
			break;
		}
	}
	redis_release(r);
}

static bool
is_kind(const redisReply *e, const char *kind)
{
	return e->type == REDIS_REPLY_STRING && strcasecmp(e->str, kind) == 0;
}

static void
on_message(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_conn *c = ac->data;
	redisReply *rep = reply;

	if (c == NULL || rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) {
		return;
	}
	if (is_kind(rep->element[0], "subscribe")) {
		if (!c->ready && c->owed > 0 && --c->owed == 0) {
			c->ready = true;
			redis_check_up(c->r);
		}
	} else if (is_kind(rep->element[0], "message") &&
	           rep->element[1]->type == REDIS_REPLY_STRING &&
	           rep->element[2]->type == REDIS_REPLY_STRING) {
		deliver(c->r, rep->element[1], rep->element[2]);
	}
}

int
redis_subscribe(struct redis *r, const char *channel, redis_message_fn fn, void *arg)
{
	struct redis_conn *c = &r->conns[REDIS_CONN_SUBSCRIPTIONS];
	struct subscription *s = calloc(1, sizeof(*s));
	const char *argv[] = {"SUBSCRIBE", channel};
	int rc = -1;

	if (s == NULL || (s->channel = strdup(channel)) == NULL) {
		log_error("cluster: %s: out of memory", r->name);
		free(s);
		goto out;
	}
	s->fn = fn;
	s->arg = arg;
	list_append(&r->subscriptions, &s->link);
	/* Otherwise the connection's handshake subscribes to it. A failure
	 * here is a connection going away: the next one subscribes. */
	if (c->ac != NULL && c->subscribing &&
	    redisAsyncCommandArgv(c->ac, on_message, NULL, 2, argv, NULL) == REDIS_OK) {
		r->sent++;
	}
	rc = 0;
out:
	return rc;
}

void
redis_sub_free(struct redis *r)
{
	struct list_node *n, *tmp;

	list_for_each(&r->subscriptions, n, tmp)
	{
		struct subscription *s = list_entry(n, struct subscription, link);

		free(s->channel);
		free(s);
	}
}
