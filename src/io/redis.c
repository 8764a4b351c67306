/* The Redis connection (redis.h): the link's two connections, their
 * handshake (AUTH, SELECT, PING), the backoff and the loss logged once,
 * and the commands on the command connection. The subscriptions are in
 * redis_sub.c; redis_internal.h is what the two share. */
#include "io/redis_internal.h"

#include "base/file.h"
#include "base/log.h"

#include <hiredis/adapters/libev.h>
#include <openssl/crypto.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDIS_BACKOFF_FIRST_S 0.5
#define REDIS_BACKOFF_MAX_S 30.0
/* hiredis 0.14's async connect has no timeout of its own: an attempt that
 * has not finished its handshake by then is dropped and retried. */
#define REDIS_CONNECT_TIMEOUT_S 5.0

/* A command: handed to hiredis (in r->waiting, hiredis owns the memory
 * and on_reply frees it), or failed without being sent (in r->failed, the
 * idle watcher calls and frees it). */
struct pending {
	struct list_node link;
	struct redis *r;
	redis_reply_fn fn; /* NULL once redis_destroy answered it */
	void *arg;
	char err[REDIS_WHY_LEN];
};

/* Commands that would change what the command connection's replies mean
 * to hiredis 0.14 (pub/sub and monitor modes, RESP3): refused. Sorted. */
static const char *const refused_commands[] = {
        "hello",      "monitor",   "psubscribe",   "punsubscribe",
        "ssubscribe", "subscribe", "sunsubscribe", "unsubscribe",
};

static void
clear_password(struct redis *r)
{
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, strlen(r->password));
		free(r->password);
		r->password = NULL;
	}
}

void
redis_release(struct redis *r)
{
	if (--r->busy > 0 || !r->closing) {
		return;
	}
	redis_sub_free(r);
	clear_password(r);
	free(r->password_file);
	free(r);
}

/* Takes c's context from it: hiredis's callbacks for it see no conn from
 * now on. Returns it for the caller to free, or to leave to hiredis when
 * hiredis is freeing it already. */
static redisAsyncContext *
detach(struct redis_conn *c)
{
	redisAsyncContext *ac = c->ac;

	if (ac != NULL) {
		ac->data = NULL;
	}
	c->ac = NULL;
	c->owed = 0;
	c->subscribing = false;
	c->ready = false;
	return ac;
}

/* The link failed: both connections closed, the next attempt after the
 * backoff, the loss logged once and told once. Calls the user (waiting
 * commands, on_down): the caller must not touch r after. Never called with
 * a context whose onConnect or onDisconnect is running still attached
 * (hiredis frees that one itself after the callback). */
static void
fail(struct redis *r, enum redis_failure kind, const char *why)
{
	redisAsyncContext *acs[REDIS_CONN__MAX];
	bool tell;

	if (r->state == REDIS_LINK_WAITING || r->closing) {
		return;
	}
	r->state = REDIS_LINK_WAITING;
	snprintf(r->why, sizeof(r->why), "%s", why);
	if (kind != r->logged && kind == REDIS_FAILURE_REFUSED) {
		log_error("cluster: %s: %s; serving local files, retrying", r->name, r->why);
	} else if (kind != r->logged) {
		log_warn("cluster: %s unreachable: %s; serving local files, retrying", r->name,
		         r->why);
	}
	r->logged = kind;
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		acs[i] = detach(&r->conns[i]);
	}
	ev_timer_stop(r->loop, &r->timer);
	ev_timer_set(&r->timer, r->backoff, 0.);
	ev_timer_start(r->loop, &r->timer);
	r->backoff = r->backoff * 2 > REDIS_BACKOFF_MAX_S ? REDIS_BACKOFF_MAX_S : r->backoff * 2;
	tell = r->told_up;
	r->told_up = false;
	r->busy++;
	/* Inside one of its reply callbacks hiredis only marks a context and
	 * frees it when the callback returns; elsewhere it frees it now, and
	 * the commands waiting on it get on_reply(NULL). */
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		if (acs[i] != NULL) {
			redisAsyncFree(acs[i]);
		}
	}
	if (tell && !r->closing && r->config.on_down != NULL) {
		r->config.on_down(r->why, r->config.arg);
	}
	redis_release(r);
}

void
redis_check_up(struct redis *r)
{
	if (r->state != REDIS_LINK_CONNECTING || !r->conns[REDIS_CONN_COMMANDS].ready ||
	    !r->conns[REDIS_CONN_SUBSCRIPTIONS].ready) {
		return;
	}
	r->state = REDIS_LINK_UP;
	ev_timer_stop(r->loop, &r->timer);
	r->backoff = REDIS_BACKOFF_FIRST_S;
	if (r->logged != REDIS_FAILURE_NONE) {
		log_info("cluster: %s reachable again", r->name);
	} else if (!r->ever_up) {
		/* The user of the connection says it is ready, once it is. */
		log_debug("cluster: connected to %s", r->name);
	}
	r->logged = REDIS_FAILURE_NONE;
	r->ever_up = true;
	r->told_up = true;
	/* Last: on_up may destroy r. */
	if (r->config.on_up != NULL) {
		r->config.on_up(r->config.arg);
	}
}

/* The reply to AUTH, SELECT or PING was an error. */
static void
refused(struct redis_conn *c, const char *what)
{
	struct redis *r = c->r;
	char why[REDIS_WHY_LEN];
	enum redis_failure kind = REDIS_FAILURE_REFUSED;

	if (strncmp(what, "LOADING", 7) == 0 || strncmp(what, "BUSY", 4) == 0 ||
	    strncmp(what, "MASTERDOWN", 10) == 0) {
		/* Not ready yet: like a server not there. */
		kind = REDIS_FAILURE_UNREACHABLE;
		snprintf(why, sizeof(why), "%s", what);
	} else if (strncmp(what, "NOAUTH", 6) == 0 && r->password == NULL) {
		snprintf(why, sizeof(why), "it asks for a password (%s): set cluster-password-file",
		         what);
	} else if (strncmp(what, "WRONGPASS", 9) == 0 || strncmp(what, "NOAUTH", 6) == 0 ||
	           strncasecmp(what, "ERR invalid password", 20) == 0 ||
	           strncasecmp(what, "ERR AUTH", 8) == 0) {
		snprintf(why, sizeof(why),
		         "authentication failed (%s): check cluster-password-file (read again at "
		         "each attempt)",
		         what);
	} else {
		snprintf(why, sizeof(why), "the server refused the handshake: %s", what);
	}
	fail(r, kind, why);
}

/* Sends one handshake command; hiredis calls fn with privdata NULL: the
 * conn is found through ac->data, which is NULL once it was dropped. */
static int
send_internal(struct redis_conn *c, redisCallbackFn *fn, int argc, const char **argv)
{
	if (redisAsyncCommandArgv(c->ac, fn, NULL, argc, argv, NULL) != REDIS_OK) {
		return -1;
	}
	c->r->sent++;
	c->owed++;
	return 0;
}

static void
on_hello(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_conn *c = ac->data;
	redisReply *rep = reply;

	/* NULL: hiredis is freeing ac (onDisconnect follows) or we dropped it. */
	if (c == NULL || rep == NULL) {
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		refused(c, rep->str);
		return;
	}
	if (--c->owed > 0) {
		return;
	}
	if (c == &c->r->conns[REDIS_CONN_SUBSCRIPTIONS]) {
		redis_sub_all(c);
		return;
	}
	c->ready = true;
	redis_check_up(c->r);
}

/* The password file's first line, read again (see password_file). */
static void
reread_password(struct redis *r)
{
	size_t len = 0;
	char *text = r->password_file != NULL ? file_read(r->password_file, 4096, &len) : NULL;

	if (text == NULL) {
		return;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (r->password != NULL && strcmp(r->password, text) == 0) {
		OPENSSL_cleanse(text, len);
		free(text);
		return;
	}
	if (r->password != NULL) {
		log_info("cluster: %s: %s changed: using it", r->name, r->password_file);
	}
	clear_password(r);
	r->password = text;
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct redis_conn *c = ac->data;
	char db[16];
	const char *auth[] = {"AUTH", NULL};
	const char *select[] = {"SELECT", db};
	const char *ping[] = {"PING"};
	char why[REDIS_WHY_LEN];
	int rc = 0;

	if (c == NULL) {
		return;
	}
	if (status != REDIS_OK) {
		snprintf(why, sizeof(why), "%s", ac->c.err != 0 ? ac->c.errstr : "cannot connect");
		/* hiredis frees ac when this returns. */
		detach(c);
		fail(c->r, REDIS_FAILURE_UNREACHABLE, why);
		return;
	}
	/* Pipelined; PING last: it is refused while the server loads its data,
	 * so "up" means commands are served. Nothing here may free ac: hiredis
	 * goes on using it after this callback (a failure is left to the
	 * attempt's timeout). */
	snprintf(db, sizeof(db), "%d", c->r->config.address.db);
	reread_password(c->r);
	auth[1] = c->r->password;
	if (c->r->password != NULL) {
		rc |= send_internal(c, on_hello, 2, auth);
	}
	if (c == &c->r->conns[REDIS_CONN_COMMANDS] && c->r->config.address.db != 0) {
		rc |= send_internal(c, on_hello, 2, select);
	}
	rc |= send_internal(c, on_hello, 1, ping);
	if (rc != 0) {
		log_error("cluster: %s: out of memory", c->r->name);
	}
}

static void
on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct redis_conn *c = ac->data;
	char why[REDIS_WHY_LEN];

	if (c == NULL) {
		return;
	}
	snprintf(why, sizeof(why), "%s",
	         ac->c.err != 0 ? ac->c.errstr : "the server closed the connection");
	detach(c);
	fail(c->r, REDIS_FAILURE_UNREACHABLE, why);
}

static int
conn_open(struct redis_conn *c)
{
	struct redis *r = c->r;
	redisAsyncContext *ac = redisAsyncConnect(r->config.address.host, r->config.address.port);
	int rc = -1;

	if (ac == NULL) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		goto out;
	}
	if (ac->err != 0) {
		snprintf(r->why, sizeof(r->why), "%s", ac->errstr);
		redisAsyncFree(ac);
		goto out;
	}
	if (redisLibevAttach(r->loop, ac) != REDIS_OK) {
		snprintf(r->why, sizeof(r->why), "cannot watch its socket");
		redisAsyncFree(ac);
		goto out;
	}
	/* Not for hooks: acmed's children must not hold the connection. */
	fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
	ac->data = c;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	c->ac = ac;
	rc = 0;
out:
	return rc;
}

static void
attempt(struct redis *r)
{
	char why[REDIS_WHY_LEN];

	r->state = REDIS_LINK_CONNECTING;
	ev_timer_stop(r->loop, &r->timer);
	ev_timer_set(&r->timer, REDIS_CONNECT_TIMEOUT_S, 0.);
	ev_timer_start(r->loop, &r->timer);
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		if (conn_open(&r->conns[i]) < 0) {
			snprintf(why, sizeof(why), "%s", r->why);
			fail(r, REDIS_FAILURE_UNREACHABLE, why);
			break;
		}
	}
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct redis *r = w->data;
	char why[REDIS_WHY_LEN];

	if (r->state == REDIS_LINK_WAITING) {
		attempt(r);
	} else if (r->state == REDIS_LINK_CONNECTING) {
		snprintf(why, sizeof(why), "no answer within %.0f s", REDIS_CONNECT_TIMEOUT_S);
		fail(r, REDIS_FAILURE_UNREACHABLE, why);
	}
}

/* Calls the commands failed before they were sent, those queued when this
 * round started (one that fails again waits for the next round). */
static void
on_idle(struct ev_loop *loop, struct ev_idle *w, int revents)
{
	struct redis *r = w->data;
	struct list_node *n, *tmp;
	size_t round = 0;

	list_for_each(&r->failed, n, tmp)
	{
		round++;
	}
	r->busy++;
	for (; round > 0 && !r->closing; round--) {
		struct pending *p = list_entry(list_first(&r->failed), struct pending, link);

		list_unlink(&p->link);
		p->fn(NULL, p->err, p->arg);
		free(p);
	}
	if (!r->closing && list_empty(&r->failed)) {
		ev_idle_stop(loop, w);
	}
	redis_release(r);
}

/* fn gets (NULL, why) from the loop. */
static int
defer_failure(struct redis *r, redis_reply_fn fn, void *arg, const char *why)
{
	struct pending *p = calloc(1, sizeof(*p));
	int rc = -1;

	if (p == NULL) {
		log_error("cluster: %s: out of memory", r->name);
		goto out;
	}
	p->r = r;
	p->fn = fn;
	p->arg = arg;
	snprintf(p->err, sizeof(p->err), "%s", why);
	list_append(&r->failed, &p->link);
	ev_idle_start(r->loop, &r->idle);
	rc = 0;
out:
	return rc;
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pending *p = privdata;
	redis_reply_fn fn = p->fn;
	void *arg = p->arg;
	char err[REDIS_WHY_LEN];

	list_unlink(&p->link);
	if (fn != NULL && reply == NULL) {
		/* hiredis's error when the connection broke; ours when we
		 * dropped it (fn is set: r is alive). */
		snprintf(err, sizeof(err), "connection lost: %.200s",
		         ac->c.err != 0 ? ac->c.errstr : p->r->why);
	}
	free(p);
	if (fn != NULL) {
		fn(reply, reply == NULL ? err : NULL, arg);
	}
}

/* The command's name (its first argument) in a formatted command. */
static bool
is_refused(const char *cmd, size_t len)
{
	const char *dollar = memchr(cmd, '$', len);
	const char *name;
	char *end = NULL;
	long n;

	if (dollar == NULL) {
		return true;
	}
	n = strtol(dollar + 1, &end, 10);
	name = end + 2;
	if (n <= 0 || name + n > cmd + len) {
		return true;
	}
	for (size_t i = 0; i < sizeof(refused_commands) / sizeof(refused_commands[0]); i++) {
		if ((size_t)n == strlen(refused_commands[i]) &&
		    strncasecmp(name, refused_commands[i], (size_t)n) == 0) {
			return true;
		}
	}
	return false;
}

/* cmd: formatted by hiredis (len bytes), or NULL with len -1 (out of
 * memory) or -2 (no argument, an invalid format). */
static int
send_user(struct redis *r, redis_reply_fn fn, void *arg, const char *cmd, int len)
{
	redisAsyncContext *ac = r->conns[REDIS_CONN_COMMANDS].ac;
	struct pending *p = NULL;
	char why[REDIS_WHY_LEN];
	int rc = -1;

	if (r->closing || len == -1) {
		log_error("cluster: %s: %s", r->name,
		          r->closing ? "command after close" : "out of memory");
		goto out;
	}
	if (len < 0) {
		rc = defer_failure(r, fn, arg, "invalid command");
		goto out;
	}
	if (r->state != REDIS_LINK_UP) {
		snprintf(why, sizeof(why), "not connected: %.200s", r->why);
		rc = defer_failure(r, fn, arg, why);
		goto out;
	}
	if (is_refused(cmd, (size_t)len)) {
		rc = defer_failure(r, fn, arg,
		                   "refused on the command connection (use redis_subscribe)");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_error("cluster: %s: out of memory", r->name);
		goto out;
	}
	p->r = r;
	p->fn = fn;
	p->arg = arg;
	/* Refused when hiredis is tearing the context down (a loss not yet
	 * told through onDisconnect). */
	if (redisAsyncFormattedCommand(ac, on_reply, p, cmd, (size_t)len) != REDIS_OK) {
		free(p);
		rc = defer_failure(r, fn, arg, "connection lost");
		goto out;
	}
	list_append(&r->waiting, &p->link);
	r->sent++;
	rc = 0;
out:
	return rc;
}

int
redis_command(struct redis *r, redis_reply_fn fn, void *arg, int argc, const char **argv,
              const size_t *lens)
{
	char *cmd = NULL;
	int len = argc < 1 ? -2 : redisFormatCommandArgv(&cmd, argc, argv, lens);
	int rc = send_user(r, fn, arg, cmd, len);

	free(cmd);
	return rc;
}

int
redis_commandf(struct redis *r, redis_reply_fn fn, void *arg, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int len;
	int rc;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	rc = send_user(r, fn, arg, cmd, len);
	free(cmd);
	return rc;
}

struct redis *
redis_create(struct ev_loop *loop, const struct redis_config *config)
{
	struct redis *r = calloc(1, sizeof(*r));
	const struct redis_address *a = &config->address;
	bool v6 = strchr(a->host, ':') != NULL;

	if (r == NULL) {
		goto fail;
	}
	r->loop = loop;
	r->config = *config;
	if (config->password != NULL && (r->password = strdup(config->password)) == NULL) {
		goto fail;
	}
	r->config.password = r->password;
	if (config->password_file != NULL &&
	    (r->password_file = strdup(config->password_file)) == NULL) {
		goto fail;
	}
	r->config.password_file = r->password_file;
	snprintf(r->name, sizeof(r->name), "redis://%s%s%s:%d/%d", v6 ? "[" : "", a->host,
	         v6 ? "]" : "", a->port, a->db);
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		r->conns[i].r = r;
	}
	list_init(&r->waiting);
	list_init(&r->failed);
	list_init(&r->subscriptions);
	snprintf(r->why, sizeof(r->why), "connecting");
	r->backoff = REDIS_BACKOFF_FIRST_S;
	r->state = REDIS_LINK_WAITING;
	/* The first attempt from the loop: nothing happens inside this call. */
	ev_timer_init(&r->timer, on_timer, 0., 0.);
	r->timer.data = r;
	ev_timer_start(loop, &r->timer);
	ev_idle_init(&r->idle, on_idle);
	r->idle.data = r;
	return r;
fail:
	log_error("cluster: out of memory");
	free(r);
	return NULL;
}

void
redis_destroy(struct redis *r)
{
	redisAsyncContext *acs[REDIS_CONN__MAX];
	struct list_node *n;

	if (r == NULL || r->closing) {
		return;
	}
	r->closing = true;
	r->busy++;
	ev_timer_stop(r->loop, &r->timer);
	ev_idle_stop(r->loop, &r->idle);
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		acs[i] = detach(&r->conns[i]);
	}
	/* Answered here; hiredis still holds them and on_reply frees them
	 * without a call. */
	while ((n = list_first(&r->waiting)) != NULL) {
		struct pending *p = list_entry(n, struct pending, link);
		redis_reply_fn fn = p->fn;

		list_unlink(n);
		p->fn = NULL;
		p->r = NULL;
		fn(NULL, "closed", p->arg);
	}
	while ((n = list_first(&r->failed)) != NULL) {
		struct pending *p = list_entry(n, struct pending, link);

		list_unlink(n);
		p->fn(NULL, "closed", p->arg);
		free(p);
	}
	/* From inside a reply callback of one of them (a user's callback
	 * calling this), hiredis frees it when that callback returns; its
	 * onDisconnect and the other callbacks then find no conn. */
	for (int i = 0; i < REDIS_CONN__MAX; i++) {
		if (acs[i] != NULL) {
			redisAsyncFree(acs[i]);
		}
	}
	redis_release(r);
}

bool
redis_up(const struct redis *r)
{
	return r != NULL && r->state == REDIS_LINK_UP;
}

unsigned long
redis_commands_sent(const struct redis *r)
{
	return r->sent;
}

const char *
redis_name(const struct redis *r)
{
	return r->name;
}
