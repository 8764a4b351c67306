#include "redis_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tmpdir.h"

#define REDIS_SERVER_PROGRAM "redis-server"
#define REDIS_SERVER_WAIT_S 10

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool
in_path(const char *program)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
		size_t n = strcspn(p, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, p, program);
		if (n > 0 && access(candidate, X_OK) == 0) {
			return true;
		}
		p += n + (p[n] == ':');
	}
	return false;
}

int
redis_server_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
write_config(struct redis_server *s)
{
	char text[1024];
	char *path;

	snprintf(text, sizeof(text),
	         "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/redis.log\ndaemonize no\n"
	         "save \"\"\nappendonly %s\nappendfsync always\n%s%s%s",
	         s->port, s->dir, s->dir, s->aof ? "yes" : "no",
	         s->password[0] != '\0' ? "requirepass \"" : "", s->password,
	         s->password[0] != '\0' ? "\"\n" : "");
	path = tmpdir_write(s->dir, "redis.conf", text, 0600);
	free(path);
}

/* The server's log on the test's output: why it did not start. */
static void
print_log(const struct redis_server *s)
{
	char *log = tmpdir_read(s->dir, "redis.log");

	print_error("redis-server's log (%s/redis.log):\n%s\n", s->dir,
	            log != NULL ? log : "(none)");
	free(log);
}

static redisContext *
connect_to(struct redis_server *s, int db)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *reply = NULL;

	if (c == NULL || c->err != 0) {
		goto fail;
	}
	if (s->password[0] != '\0') {
		reply = redisCommand(c, "AUTH %s", s->password);
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
			goto fail;
		}
		freeReplyObject(reply);
	}
	if (db != 0) {
		reply = redisCommand(c, "SELECT %d", db);
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
			goto fail;
		}
		freeReplyObject(reply);
	}
	return c;
fail:
	if (reply != NULL) {
		freeReplyObject(reply);
	}
	redisFree(c);
	return NULL;
}

static bool
answers(struct redis_server *s)
{
	redisContext *c = connect_to(s, 0);
	redisReply *reply = c != NULL ? redisCommand(c, "PING") : NULL;
	bool ok = reply != NULL && reply->type == REDIS_REPLY_STATUS;

	if (reply != NULL) {
		freeReplyObject(reply);
	}
	redisFree(c);
	return ok;
}

static void
launch(struct redis_server *s)
{
	char conf[PATH_MAX];
	int status;

	snprintf(conf, sizeof(conf), "%s/redis.conf", s->dir);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execlp(REDIS_SERVER_PROGRAM, REDIS_SERVER_PROGRAM, conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < REDIS_SERVER_WAIT_S * 50; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			print_log(s);
			fail_msg("redis-server on port %d exited (status %d) before answering",
			         s->port, status);
		}
		if (answers(s)) {
			return;
		}
		sleep_ms(20);
	}
	print_log(s);
	fail_msg("redis-server on port %d did not answer PING within %d s", s->port,
	         REDIS_SERVER_WAIT_S);
}

void
redis_server_start(struct redis_server *s, const struct redis_server_options *o)
{
	if (!in_path(REDIS_SERVER_PROGRAM)) {
		fail_msg("redis-server not found in PATH: these tests need it (Debian: apt-get "
		         "install redis-server; scripts/deps.sh installs it)");
	}
	memset(s, 0, sizeof(*s));
	s->dir = tmpdir_make("redis");
	s->port = o != NULL && o->port != 0 ? o->port : redis_server_free_port();
	s->aof = o != NULL && o->aof;
	if (o != NULL && o->password != NULL) {
		snprintf(s->password, sizeof(s->password), "%s", o->password);
	}
	write_config(s);
	launch(s);
}

static void
end(struct redis_server *s, int sig)
{
	int status;

	if (s->pid <= 0) {
		return;
	}
	kill(s->pid, sig);
	for (int i = 0; i < REDIS_SERVER_WAIT_S * 100; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
}

void
redis_server_stop(struct redis_server *s)
{
	end(s, SIGTERM);
}

void
redis_server_kill(struct redis_server *s)
{
	end(s, SIGKILL);
}

void
redis_server_restart(struct redis_server *s)
{
	assert_non_null(s->dir);
	assert_int_equal(s->pid, 0);
	launch(s);
}

void
redis_server_finish(struct redis_server *s)
{
	end(s, SIGTERM);
	tmpdir_remove(s->dir);
	free(s->dir);
	s->dir = NULL;
}

struct redisReply *
redis_server_command(struct redis_server *s, int db, const char *fmt, ...)
{
	redisContext *c = connect_to(s, db);
	redisReply *reply;
	va_list ap;

	if (c == NULL) {
		fail_msg("cannot connect to redis-server on port %d", s->port);
	}
	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	assert_non_null(reply);
	return reply;
}
