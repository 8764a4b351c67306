/* A redis-server for the unit tests, started by the test and stopped by
 * PID: on 127.0.0.1 only, on a free port, with its own folder (tmpdir.h)
 * holding its configuration (redis.conf, so a password is not on a
 * command line), its log (redis.log) and, with the AOF on, its
 * appendonlydir/. Always "save ''": no RDB snapshots, the AOF (when on,
 * "appendfsync always") is the only persistence. The folder outlives a
 * stop or a kill, so redis_server_restart starts the server again on the
 * same port over the same data: a restart test sees what the AOF kept.
 *
 * The server dies with the test (PR_SET_PDEATHSIG), so a test that fails
 * half-way leaves none behind. A missing redis-server FAILS the test with
 * a message naming the package (scripts/deps.sh installs it): these tests
 * are never skipped. Every failure here fails the test (cmocka). */
#ifndef ACMED_TEST_REDIS_SERVER_H
#define ACMED_TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

struct redisReply;

struct redis_server_options {
	const char *password; /* requirepass, or NULL for none */
	bool aof; /* appendonly yes, appendfsync always */
	int port; /* 0: a free port */
};

struct redis_server {
	pid_t pid; /* 0 when not running */
	int port;
	char *dir; /* its folder; NULL before the first start */
	char password[128]; /* "" for none */
	bool aof;
};

/* Starts a server with o (NULL: no password, no AOF) in a new folder and
 * waits (at most 10 s) until it answers PING. */
void redis_server_start(struct redis_server *s, const struct redis_server_options *o);

/* SIGTERM, then waits for it to exit (SIGKILL after 10 s). Safe on a
 * stopped server. */
void redis_server_stop(struct redis_server *s);

/* SIGKILL and waits: a crash, nothing flushed but what the AOF's "always"
 * already wrote. */
void redis_server_kill(struct redis_server *s);

/* Starts a stopped server again: the same port, folder and options. */
void redis_server_restart(struct redis_server *s);

/* Stops it and removes its folder. Safe on a zeroed one. */
void redis_server_finish(struct redis_server *s);

/* One command on a new synchronous connection (AUTH first when there is
 * a password, then SELECT db when not 0): for a test to look at or change
 * what the server holds behind the code under test. A new reply
 * (freeReplyObject); an error reply is returned as it is. */
struct redisReply *redis_server_command(struct redis_server *s, int db, const char *fmt, ...);

/* A TCP port on 127.0.0.1 nothing listens on (it was free a moment ago). */
int redis_server_free_port(void);

#endif
