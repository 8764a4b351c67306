/* A Redis connection on the loop (hiredis's async API through its libev
 * adapter), for the fleet's shared store (store/cluster.h): connects,
 * authenticates (AUTH) and selects its database before it says it is up;
 * reconnects with a backoff (0.5 s doubling to 30 s) when the server goes
 * away, logging the loss once and the return once; a second connection
 * carries the subscriptions (resubscribed after every reconnect).
 *
 * hiredis 0.14 has no TLS: the connection is plain TCP (see the fleet's
 * documentation for running it over a private network or a tunnel). */
#ifndef ACMED_REDIS_H
#define ACMED_REDIS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

struct redisReply;

/* Where the server is: "redis://HOST:PORT[/DB]" parsed. */
struct redis_address {
	char host[256]; /* a name or an address; "[v6]" brackets removed */
	int port; /* default 6379 */
	int db; /* default 0 */
};

/* Parses url into a. Returns 0, or -1 with a one-line reason in err. */
int redis_url_parse(const char *url, struct redis_address *a, char *err, size_t errlen);

struct redis_config {
	struct redis_address address;
	const char *password; /* AUTH, or NULL */
	/* Else AUTH with this file's first line, read again at each
	 * connection attempt: a corrected file is taken without a restart
	 * (an unreadable one leaves the last password read). */
	const char *password_file;
	/* Called each time the connection is up (after AUTH and SELECT, with
	 * every subscription confirmed), and once each time it is lost (why:
	 * one line); may be NULL. Never from inside a redis_* call. The two
	 * connections go up and down together: losing either closes both and
	 * both are retried, so on_up also follows a gap in the messages. */
	void (*on_up)(void *arg);
	void (*on_down)(const char *why, void *arg);
	void *arg;
};

struct redis;

/* A new connection to config's server (config copied); connecting starts
 * at once, and goes on in the background while the server cannot be
 * reached. NULL when out of memory (logged). */
struct redis *redis_create(struct ev_loop *loop, const struct redis_config *config);

/* Closes both connections; every command still waiting gets its callback
 * with reply NULL ("closed") before this returns. Safe on NULL, and from
 * inside any callback of r (the memory hiredis still uses is freed when
 * hiredis returns). */
void redis_destroy(struct redis *r);

/* Whether the connection is up (between on_up and on_down). */
bool redis_up(const struct redis *r);

/* The reply (NULL on failure: not connected, the connection lost, out of
 * memory, with a one-line reason in err) to one command. A reply of type
 * REDIS_REPLY_ERROR is passed as it is. Borrowed for the call. */
typedef void (*redis_reply_fn)(struct redisReply *reply, const char *err, void *arg);

/* Sends one command (argv with lengths, NULL for strlen: binary safe). fn
 * is called exactly once, always from the loop and never from inside this
 * call, also when the connection is down (reply NULL then). Commands that
 * would change what the connection's replies mean (SUBSCRIBE and the
 * like, MONITOR, HELLO) fail that way unsent. Returns 0, or -1 only when
 * out of memory or called while redis_destroy runs (logged; fn never
 * called). */
int redis_command(struct redis *r, redis_reply_fn fn, void *arg, int argc, const char **argv,
                  const size_t *lens);

/* The same, printf-style as hiredis's redisAsyncCommand (%s, %b, %d ...). */
int redis_commandf(struct redis *r, redis_reply_fn fn, void *arg, const char *fmt, ...);

/* A message received on a channel subscribed to. Borrowed for the call. */
typedef void (*redis_message_fn)(const char *channel, const char *message, size_t len, void *arg);

/* Subscribes to channel on the subscription connection, now and after
 * every reconnect; messages published while it was down are lost (Redis
 * pub/sub): a caller reconciles in on_up. Called before the connection is
 * up, a message published after on_up is delivered. Returns 0 or -1
 * (logged). */
int redis_subscribe(struct redis *r, const char *channel, redis_message_fn fn, void *arg);

/* Commands sent since the connection was created (the subscription
 * connection's included, and each connect's AUTH, SELECT and PING): for
 * the fleet benchmark. */
unsigned long redis_commands_sent(const struct redis *r);

/* A short description for logs: "redis://HOST:PORT/DB". */
const char *redis_name(const struct redis *r);

#endif
