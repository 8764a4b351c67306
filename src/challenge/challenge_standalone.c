/* http-01 served by acmed itself: a small HTTP/1.x responder on the event
 * loop that answers GET /.well-known/acme-challenge/<token> (RFC 8555 section
 * 8.3) and nothing else. One instance serves every order in flight; a token
 * it does not hold is asked of its remote (challenge_set_remote: another
 * node's order, in fleet mode) while the connection waits. */
#include "challenge/challenge.h"
#include "challenge/responders.h"

#include "base/b64.h"
#include "io/http_head.h"
#include "io/listener.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A validation server sends its request at once: a client that has not
 * within STANDALONE_TIMEOUT_S is dropped, and when the connections run out
 * the oldest idle one makes room (listener.h), so that held-open
 * connections cannot keep the CA out. */
#define STANDALONE_MAX_CONNS 256
#define STANDALONE_MAX_PER_SOURCE 64
#define STANDALONE_MAX_HEAD 4096
#define STANDALONE_TIMEOUT_S 5.
#define STANDALONE_LINGER_S 2.
#define STANDALONE_MAX_LINGER 65536 /* bytes read and dropped after answering */
#define STANDALONE_MAX_TOKENS 65536
#define STANDALONE_MAX_KEY_AUTH 512
#define STANDALONE_MAX_MESSAGE 256
#define STANDALONE_PREFIX "/.well-known/acme-challenge/"

/* A token in flight. The same token may be presented for several
 * identifiers: pairs are counted. */
struct standalone_entry {
	char *token;
	char *key_auth;
	unsigned long refs;
};

enum conn_state {
	CONN_READING,
	CONN_WRITING,
	CONN_LINGERING, /* answered: reading what the client still sends */
	CONN_WAITING, /* for the remote's answer: not watching the socket */
};

struct standalone_conn {
	struct listener_conn base;
	enum conn_state state;
	struct challenge_lookup *lookup; /* the remote's, while waiting */
	bool head; /* the request waiting was a HEAD */
	bool asking; /* inside the remote's lookup call */
	bool answered; /* found was called */
	size_t len; /* of the head read so far, then of the response */
	size_t sent; /* of the response, then bytes dropped while lingering */
	char buf[STANDALONE_MAX_HEAD + 1];
};

struct standalone {
	struct challenge base;
	char *listen;
	struct listener *listener;
	struct standalone_entry *entries; /* sorted by token, then key_auth */
	size_t n_entries;
	size_t cap_entries;
};

static const char response_404[] = "HTTP/1.1 404 Not Found\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Content-Length: 10\r\n"
                                   "Connection: close\r\n"
                                   "\r\n"
                                   "not found\n";

static const char response_400[] = "HTTP/1.1 400 Bad Request\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Content-Length: 12\r\n"
                                   "Connection: close\r\n"
                                   "\r\n"
                                   "bad request\n";

/* ---- the token table ---- */

/* The index of the first entry not less than (token, key_auth); key_auth
 * NULL sorts before every key authorization of that token. */
static size_t
lower_bound(const struct standalone *sa, const char *token, const char *key_auth)
{
	size_t lo = 0;
	size_t hi = sa->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct standalone_entry *e = &sa->entries[mid];
		int cmp = strcmp(e->token, token);

		if (cmp == 0) {
			cmp = key_auth == NULL ? 1 : strcmp(e->key_auth, key_auth);
		}
		if (cmp < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

static bool
entry_is(const struct standalone *sa, size_t i, const char *token, const char *key_auth)
{
	return i < sa->n_entries && strcmp(sa->entries[i].token, token) == 0 &&
	       (key_auth == NULL || strcmp(sa->entries[i].key_auth, key_auth) == 0);
}

static int
table_add(struct standalone *sa, const char *token, const char *key_auth)
{
	struct standalone_entry e = {NULL, NULL, 1};
	struct standalone_entry *grown;
	size_t cap;
	size_t i = lower_bound(sa, token, key_auth);
	int ret = -1;

	if (entry_is(sa, i, token, key_auth)) {
		sa->entries[i].refs++;
		ret = 0;
		goto out;
	}
	if (sa->n_entries >= STANDALONE_MAX_TOKENS) {
		goto out;
	}
	if (sa->n_entries == sa->cap_entries) {
		cap = sa->cap_entries == 0 ? 64 : sa->cap_entries * 2;
		grown = realloc(sa->entries, cap * sizeof(*grown));
		if (grown == NULL) {
			goto out;
		}
		sa->entries = grown;
		sa->cap_entries = cap;
	}
	e.token = strdup(token);
	e.key_auth = strdup(key_auth);
	if (e.token == NULL || e.key_auth == NULL) {
		goto out;
	}
	memmove(&sa->entries[i + 1], &sa->entries[i], (sa->n_entries - i) * sizeof(e));
	sa->entries[i] = e;
	sa->n_entries++;
	e.token = NULL;
	e.key_auth = NULL;
	ret = 0;
out:
	free(e.token);
	free(e.key_auth);
	return ret;
}

static void
table_remove(struct standalone *sa, const char *token, const char *key_auth)
{
	size_t i = lower_bound(sa, token, key_auth);

	if (!entry_is(sa, i, token, key_auth) || --sa->entries[i].refs > 0) {
		return;
	}
	free(sa->entries[i].token);
	free(sa->entries[i].key_auth);
	sa->n_entries--;
	memmove(&sa->entries[i], &sa->entries[i + 1], (sa->n_entries - i) * sizeof(sa->entries[0]));
}

/* Copies the len bytes at token into copy when they are a token. */
static bool
token_of(const char *token, size_t len, char copy[ACME_MAX_TOKEN + 1])
{
	if (len == 0 || len > ACME_MAX_TOKEN) {
		return false;
	}
	memcpy(copy, token, len);
	copy[len] = '\0';
	return b64_is_token(copy, ACME_MAX_TOKEN);
}

/* The key authorization served for token, or NULL. Borrowed. */
static const char *
table_find(const struct standalone *sa, const char *token)
{
	size_t i = lower_bound(sa, token, NULL);

	return entry_is(sa, i, token, NULL) ? sa->entries[i].key_auth : NULL;
}

/* ---- connections ---- */

static void
conn_close(struct standalone_conn *c)
{
	listener_conn_close(&c->base);
}

/* Only a connection being answered is busy: an idle or lingering one may
 * make room for a new one. */
static void
conn_watch(struct standalone_conn *c, enum conn_state state, int events)
{
	c->state = state;
	listener_conn_busy(&c->base, state == CONN_WRITING);
	listener_conn_watch(&c->base, events);
}

/* Reads and drops what the client still sends, for a while (see
 * http_head_linger), then closes. */
static void
conn_linger(struct standalone_conn *c)
{
	if (!http_head_linger(c->base.fd, &c->sent, STANDALONE_MAX_LINGER)) {
		conn_close(c);
	}
}

static void
conn_write(struct standalone_conn *c)
{
	if (!listener_conn_done(&c->base, listener_conn_send(&c->base, c->buf, c->len, &c->sent))) {
		return;
	}
	shutdown(c->base.fd, SHUT_WR);
	c->sent = 0;
	conn_watch(c, CONN_LINGERING, EV_READ);
	listener_conn_timeout(&c->base, STANDALONE_LINGER_S);
	conn_linger(c);
}

/* What a request asks for. */
struct request {
	const char *line; /* the request line, for the log */
	size_t line_len;
	bool head;
	int status; /* 200, 400 or 404 */
	const char *key_auth; /* for 200: borrowed from the table */
	char token[ACME_MAX_TOKEN + 1]; /* the token asked for, or "" */
};

/* What the request in buf (len bytes) asks for: a token this responder
 * holds (200), another path or method (404), not HTTP/1.x (400). */
static void
parse_request(const struct standalone *sa, const char *buf, size_t len, struct request *r)
{
	struct http_head_line h;
	size_t plen = sizeof(STANDALONE_PREFIX) - 1;
	int rc = http_head_parse(buf, len, &h);

	*r = (struct request){.line = h.line, .line_len = h.line_len, .status = 404};
	if (rc < 0) {
		r->status = 400;
		return;
	}
	r->head = http_head_method_is(&h, "HEAD");
	if (!r->head && !http_head_method_is(&h, "GET")) {
		return;
	}
	if (h.path == NULL || h.path_len <= plen || strncmp(h.path, STANDALONE_PREFIX, plen) != 0) {
		return;
	}
	if (!token_of(h.path + plen, h.path_len - plen, r->token)) {
		r->token[0] = '\0';
		return;
	}
	r->key_auth = table_find(sa, r->token);
	if (r->key_auth != NULL) {
		r->status = 200;
	}
}

/* The response to r in c->buf. */
static void
set_response(struct standalone_conn *c, const struct request *r)
{
	int n;

	if (r->status == 200) {
		n = snprintf(c->buf, sizeof(c->buf),
		             "HTTP/1.1 200 OK\r\n"
		             "Content-Type: text/plain\r\n"
		             "Content-Length: %zu\r\n"
		             "Connection: close\r\n"
		             "\r\n"
		             "%s",
		             strlen(r->key_auth), r->head ? "" : r->key_auth);
		c->len = n > 0 && (size_t)n < sizeof(c->buf) ? (size_t)n : 0;
	} else if (r->status == 400) {
		memcpy(c->buf, response_400, sizeof(response_400) - 1);
		c->len = sizeof(response_400) - 1;
	} else {
		memcpy(c->buf, response_404, sizeof(response_404) - 1);
		c->len = sizeof(response_404) - 1;
		if (r->head) {
			c->len -= sizeof("not found\n") - 1;
		}
	}
}

/* Starts sending the response in c->buf. */
static void
conn_send(struct standalone_conn *c)
{
	c->sent = 0;
	conn_watch(c, CONN_WRITING, EV_WRITE);
	conn_write(c);
}

/* The remote's answer to a token this responder does not hold. */
static void
on_found(const char *value, void *arg)
{
	struct standalone_conn *c = arg;
	struct standalone *sa = listener_arg(c->base.listener);
	struct request r = {.head = c->head, .status = 404};

	c->lookup = NULL;
	c->answered = true;
	if (value != NULL && strlen(value) <= STANDALONE_MAX_KEY_AUTH) {
		r.status = 200;
		r.key_auth = value;
	}
	log_debug("standalone %s: %s: from the remote: %d", sa->listen, c->base.peer, r.status);
	set_response(c, &r);
	if (!c->asking) {
		conn_send(c);
	}
}

/* Asks the remote for r's token. Returns 0 when the answer is in c->buf
 * or on its way (on_found sends it), -1 when nothing was asked. */
static int
conn_ask(struct standalone_conn *c, const struct request *r)
{
	struct standalone *sa = listener_arg(c->base.listener);
	int rc;

	c->head = r->head;
	c->answered = false;
	c->asking = true;
	rc = sa->base.remote.lookup(sa->base.remote.ctx, CHALLENGE_TYPE_HTTP01, r->token, on_found,
	                            c, &c->lookup);
	c->asking = false;
	if (rc < 0) {
		c->lookup = NULL;
		return -1;
	}
	if (c->answered) {
		conn_send(c);
		return 0;
	}
	/* A validation being answered: not one to make room; its timer
	 * still closes it (and on_conn_close cancels the lookup). */
	c->state = CONN_WAITING;
	listener_conn_busy(&c->base, true);
	ev_io_stop(sa->base.loop, &c->base.io);
	return 0;
}

/* Replaces the request in c->buf with the response and starts sending. */
static void
conn_respond(struct standalone_conn *c)
{
	struct standalone *sa = listener_arg(c->base.listener);
	struct request r;
	char shown[128];

	parse_request(sa, c->buf, c->len, &r);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		http_head_printable(shown, sizeof(shown), r.line, r.line_len);
		log_debug("standalone %s: %s: %s: %d", sa->listen, c->base.peer, shown, r.status);
	}
	if (r.status == 404 && r.token[0] != '\0' && sa->base.remote.lookup != NULL &&
	    conn_ask(c, &r) == 0) {
		return;
	}
	set_response(c, &r);
	conn_send(c);
}

static void
conn_read(struct standalone_conn *c)
{
	if (http_head_read(&c->base, c->buf, STANDALONE_MAX_HEAD, &c->len)) {
		conn_respond(c);
	}
}

static void
on_conn_io(struct listener_conn *base, int revents)
{
	struct standalone_conn *c = (struct standalone_conn *)base;

	(void)revents;
	switch (c->state) {
	case CONN_READING:
		conn_read(c);
		break;
	case CONN_WRITING:
		conn_write(c);
		break;
	case CONN_LINGERING:
		conn_linger(c);
		break;
	case CONN_WAITING:
		break;
	}
}

static void
on_conn_close(struct listener_conn *base)
{
	struct standalone_conn *c = (struct standalone_conn *)base;
	struct standalone *sa = listener_arg(base->listener);

	if (c->lookup != NULL) {
		sa->base.remote.cancel(sa->base.remote.ctx, c->lookup);
		c->lookup = NULL;
	}
}

/* ---- present and cleanup ---- */

static bool
task_ok(const struct standalone *sa, const struct challenge_task *task)
{
	bool ok = task != NULL && task->token != NULL && task->key_auth != NULL &&
	          b64_is_token(task->token, ACME_MAX_TOKEN) &&
	          strlen(task->key_auth) <= STANDALONE_MAX_KEY_AUTH;

	if (!ok) {
		log_error("standalone %s: refusing a token that is not base64url", sa->listen);
	}
	return ok;
}

static int
standalone_present(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                   void *arg)
{
	struct standalone *sa = (struct standalone *)ch;
	char message[STANDALONE_MAX_MESSAGE] = "";
	int rc = 0;
	int ret = -1;

	if (!task_ok(sa, task)) {
		goto out;
	}
	if (table_add(sa, task->token, task->key_auth) < 0) {
		snprintf(message, sizeof(message), "standalone %s: %s: too many challenges at once",
		         sa->listen, task->identifier != NULL ? task->identifier : "?");
		rc = -1;
	}
	ret = challenge_defer(&sa->base, rc, message, done, arg);
	if (ret < 0 && rc == 0) {
		table_remove(sa, task->token, task->key_auth);
	}
out:
	return ret;
}

static int
standalone_cleanup(struct challenge *ch, const struct challenge_task *task, challenge_done_fn done,
                   void *arg)
{
	struct standalone *sa = (struct standalone *)ch;
	int ret = -1;

	if (!task_ok(sa, task)) {
		goto out;
	}
	table_remove(sa, task->token, task->key_auth);
	ret = challenge_defer(&sa->base, 0, "", done, arg);
out:
	return ret;
}

static void
standalone_destroy(struct challenge *ch)
{
	struct standalone *sa = (struct standalone *)ch;
	size_t i;

	listener_destroy(sa->listener);
	for (i = 0; i < sa->n_entries; i++) {
		free(sa->entries[i].token);
		free(sa->entries[i].key_auth);
	}
	free(sa->entries);
	free(sa->listen);
	free(sa);
}

static const struct challenge_ops standalone_ops = {
        .name = "standalone",
        .type = CHALLENGE_TYPE_HTTP01,
        .present = standalone_present,
        .cleanup = standalone_cleanup,
        .destroy = standalone_destroy,
};

struct challenge *
challenge_standalone_create(struct ev_loop *loop, const char *address)
{
	struct standalone *sa = NULL;
	char name[128];
	struct listener_config cfg = {
	        .name = name,
	        .conn_size = sizeof(struct standalone_conn),
	        .max_conns = STANDALONE_MAX_CONNS,
	        .max_per_source = STANDALONE_MAX_PER_SOURCE,
	        .timeout_s = STANDALONE_TIMEOUT_S,
	        .io = on_conn_io,
	        .close = on_conn_close,
	};
	bool ok = false;

	if (address == NULL || address[0] == '\0') {
		log_error("standalone: no address given: set http-listen");
		goto out;
	}
	sa = calloc(1, sizeof(*sa));
	if (sa == NULL) {
		log_error("standalone %s: out of memory", address);
		goto out;
	}
	challenge_init(&sa->base, &standalone_ops, loop);
	sa->listen = strdup(address);
	if (sa->listen == NULL) {
		log_error("standalone %s: out of memory", address);
		goto out;
	}
	snprintf(name, sizeof(name), "standalone %s", address);
	cfg.arg = sa;
	sa->listener = listener_start(loop, "http-listen", address, &cfg);
	ok = sa->listener != NULL;
out:
	if (!ok && sa != NULL) {
		int saved = errno; /* the bind's, for the caller */

		standalone_destroy(&sa->base);
		sa = NULL;
		errno = saved;
	}
	return sa != NULL ? &sa->base : NULL;
}
