#include "io/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io/listener.h"
#include "base/log.h"
#include "base/file.h"

/* Requests are one short line; replies are as long as the lists they carry
 * (a status of thousands of certificates is megabytes): the client takes
 * up to CTL_MAX_REPLY. */
#define CTL_MAX_REQUEST 8192
#define CTL_MAX_REPLY (256 * 1024 * 1024)
/* Enough for every command a user or script runs at once; a flood of idle
 * clients beyond it pushes out the oldest idle one (see listener.h). */
#define CTL_MAX_CONNS 256
/* For a request to arrive, then for each part of the reply to be taken. */
#define CTL_TIMEOUT_S 5.0
/* A client's connection that has sent nothing yet is an idle one, which a
 * flood of new connections pushes out (listener.h) when the client is
 * slow to send (not scheduled between connect and send): the daemon read
 * none of the request, so the client asks again, a little later each
 * time. */
#define CTL_ATTEMPTS 5
#define CTL_RETRY_PAUSE_NS (20 * 1000 * 1000)

struct ctl_conn {
	struct listener_conn base;
	char *out;
	size_t out_len;
	size_t out_pos;
	size_t len;
	char buf[CTL_MAX_REQUEST + 1];
};

struct ctl {
	struct listener *listener;
	char *path;
	ctl_handler_fn handler;
	void *arg;
};

static void
conn_write(struct ctl_conn *c)
{
	if (listener_conn_send(&c->base, c->out, c->out_len, &c->out_pos) == LISTENER_IO_AGAIN) {
		/* A slow reader is given CTL_TIMEOUT_S per part of the reply,
		 * not for the whole of it. */
		listener_conn_timeout(&c->base, CTL_TIMEOUT_S);
		return;
	}
	listener_conn_close(&c->base);
}

char *
ctl_reply_json(json_t *answer)
{
	char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;

	json_decref(answer);
	return text;
}

/* Sends text (stolen, NULL: nothing) and its newline, then closes; the loop
 * goes on meanwhile. */
static void
reply(struct ctl_conn *c, char *text)
{
	size_t n;

	if (text == NULL) {
		listener_conn_close(&c->base);
		return;
	}
	n = strlen(text);
	c->out = realloc(text, n + 2);
	if (c->out == NULL) {
		free(text);
		listener_conn_close(&c->base);
		return;
	}
	c->out[n] = '\n';
	c->out[n + 1] = '\0';
	c->out_len = n + 1;
	listener_conn_busy(&c->base, true);
	listener_conn_watch(&c->base, EV_WRITE);
	conn_write(c);
}

static void
conn_read(struct ctl_conn *c)
{
	struct ctl *ctl = listener_arg(c->base.listener);
	char *nl;
	json_t *request;
	json_error_t jerr;

	if (!listener_conn_done(&c->base,
	                        listener_conn_recv(&c->base, c->buf, CTL_MAX_REQUEST, &c->len))) {
		return;
	}
	nl = memchr(c->buf, '\n', c->len);
	if (nl == NULL && c->len == CTL_MAX_REQUEST) {
		reply(c, ctl_reply_json(json_pack("{s:s}", "error", "request too long")));
		return;
	}
	if (nl == NULL) {
		return;
	}
	request = json_loadb(c->buf, (size_t)(nl - c->buf), JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(request)) {
		json_decref(request);
		reply(c, ctl_reply_json(json_pack("{s:s}", "error", "not a JSON object")));
		return;
	}
	reply(c, ctl->handler(request, ctl->arg));
	json_decref(request);
}

static void
on_conn_io(struct listener_conn *base, int revents)
{
	struct ctl_conn *c = (struct ctl_conn *)base;

	(void)revents;
	if (c->out != NULL) {
		conn_write(c);
	} else {
		conn_read(c);
	}
}

static void
on_conn_close(struct listener_conn *base)
{
	free(((struct ctl_conn *)base)->out);
}

/* SO_PEERCRED: only our own user or root may talk to the daemon. */
static int
on_conn_open(struct listener_conn *c, void *arg)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	(void)arg;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		return -1;
	}
	return cred.uid == 0 || cred.uid == getuid() ? 0 : -1;
}

static int
fill_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		return -1;
	}
	memcpy(addr->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Makes path's folder and removes a socket file left over from a crash:
 * 0, or -1 (logged) when another daemon answers there. */
static int
claim_path(const char *path, const struct sockaddr_un *addr)
{
	char *dir = strdup(path);
	char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
	bool live = false;
	int probe;
	int ret = -1;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdirs(dir, 0700) < 0) {
			goto out;
		}
	}
	/* A socket file nobody answers on is left over from a crash. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		live = connect(probe, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
		close(probe);
	}
	if (live) {
		log_error("control-socket %s: another acmed daemon answers there", path);
		goto out;
	}
	unlink(path);
	ret = 0;
out:
	free(dir);
	return ret;
}

/* A listening socket at addr, only for our user: the descriptor, or -1
 * (logged). */
static int
open_socket(const char *path, const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old;

	if (fd < 0) {
		log_error("control-socket %s: %s", path, strerror(errno));
		return -1;
	}
	/* Created 0600 from the start, not chmod'ed after. */
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		umask(old);
		log_error("control-socket %s: bind: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* A short backlog would make clients wait in connect() behind a
	 * flood instead of reaching the accept loop that sorts it out. */
	if (listen(fd, SOMAXCONN) < 0) {
		log_error("control-socket %s: listen: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

struct ctl *
ctl_listen(struct ev_loop *loop, const char *path, ctl_handler_fn handler, void *arg)
{
	struct sockaddr_un addr;
	struct ctl *ctl = NULL;
	struct listener_config cfg = {
	        .name = "control-socket",
	        .conn_size = sizeof(struct ctl_conn),
	        .max_conns = CTL_MAX_CONNS,
	        .timeout_s = CTL_TIMEOUT_S,
	        .open = on_conn_open,
	        .io = on_conn_io,
	        .close = on_conn_close,
	};
	int fd;

	if (fill_addr(path, &addr) < 0) {
		log_error("control-socket %s: path too long", path);
		return NULL;
	}
	if (claim_path(path, &addr) < 0) {
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		log_error("out of memory");
		return NULL;
	}
	ctl->handler = handler;
	ctl->arg = arg;
	ctl->path = strdup(path);
	if (ctl->path == NULL) {
		log_error("control-socket %s: %s", path, strerror(ENOMEM));
		goto fail;
	}
	fd = open_socket(path, &addr);
	if (fd < 0) {
		goto fail;
	}
	cfg.arg = ctl;
	ctl->listener = listener_create(loop, fd, &cfg);
	if (ctl->listener == NULL) {
		unlink(path);
		goto fail;
	}
	return ctl;
fail:
	free(ctl->path);
	free(ctl);
	return NULL;
}

void
ctl_close(struct ctl *ctl)
{
	if (ctl == NULL) {
		return;
	}
	listener_destroy(ctl->listener);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

/* SO_SNDTIMEO and SO_RCVTIMEO: connect, send and recv give up with EAGAIN
 * after timeout_s without progress. */
static int
set_timeouts(int fd, double timeout_s)
{
	struct timeval tv;

	tv.tv_sec = (time_t)timeout_s;
	tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);
	if (tv.tv_sec == 0 && tv.tv_usec == 0) {
		tv.tv_usec = 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		return -1;
	}
	return 0;
}

/* Connects to the daemon: 0; 1 when nothing listens at path (no socket
 * file, or one nobody accepts on: left over by a daemon that is gone); -1
 * (logged) when something is there but cannot be reached. */
static int
connect_daemon(int fd, const char *path, double timeout_s)
{
	struct sockaddr_un addr;
	int rc = -1;

	if (fill_addr(path, &addr) < 0) {
		log_error("control-socket %s: path too long", path);
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		rc = 0;
	} else if (errno == ENOENT || errno == ECONNREFUSED) {
		rc = 1;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		log_error("control-socket %s: the daemon accepted no connection within %g s", path,
		          timeout_s);
	} else if (errno == EACCES || errno == EPERM) {
		log_error("control-socket %s: %s: run as the daemon's user or root", path,
		          strerror(errno));
	} else {
		log_error("control-socket %s: connect: %s", path, strerror(errno));
	}
out:
	return rc;
}

/* Reads the reply line (up to CTL_MAX_REPLY bytes) into *buf, a new string;
 * returns its length, or -1: logged, unless the daemon closed the
 * connection before a byte of answer (*closed set). */
static ssize_t
read_reply(int fd, const char *path, double timeout_s, char **buf, bool *closed)
{
	size_t cap = 64 * 1024;
	size_t len = 0;
	char *b = malloc(cap + 1);
	char *grown;
	ssize_t ret = -1;
	ssize_t n;

	if (b == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_MAX_REPLY) {
				log_error("control-socket %s: the daemon's answer is longer than "
				          "%d MiB",
				          path, CTL_MAX_REPLY / (1024 * 1024));
				goto out;
			}
			cap = cap * 2 > CTL_MAX_REPLY ? CTL_MAX_REPLY : cap * 2;
			grown = realloc(b, cap + 1);
			if (grown == NULL) {
				log_error("out of memory");
				goto out;
			}
			b = grown;
		}
		n = recv(fd, b + len, cap - len, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			log_error("control-socket %s: the daemon did not answer within %g s", path,
			          timeout_s);
			goto out;
		}
		/* Closed with our request unread: ECONNRESET, not an end of
		 * file. */
		if (n < 0 && errno == ECONNRESET && len == 0) {
			break;
		}
		if (n < 0) {
			log_error("control-socket %s: recv: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			break;
		}
		if (memchr(b + len, '\n', (size_t)n) != NULL) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	if (len == 0) {
		*closed = true;
		goto out;
	}
	b[len] = '\0';
	*buf = b;
	b = NULL;
	ret = (ssize_t)len;
out:
	free(b);
	return ret;
}

/* Whether the daemon at the other end of fd refuses us: it takes only its
 * own user and root (on_conn_open), and SO_PEERCRED names its user here
 * too. */
static bool
refused_peer(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t uid = getuid();

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		return false;
	}
	return uid != 0 && uid != cred.uid;
}

/* What one connection to the daemon came to. */
enum attempt {
	ATTEMPT_OK, /* the answer is in *buf */
	ATTEMPT_NO_DAEMON, /* nothing listens at path */
	ATTEMPT_FAILED, /* logged */
	ATTEMPT_CLOSED, /* closed without a word: pushed out before it was read */
	ATTEMPT__MAX,
};

/* Sends the request line text (len bytes, its newline included) on a
 * connection of its own and reads the answer into *buf (a new string of
 * *len_out bytes). */
static enum attempt
attempt(const char *path, const char *text, size_t len, double timeout_s, char **buf,
        size_t *len_out)
{
	enum attempt ret = ATTEMPT_FAILED;
	bool closed = false;
	size_t sent = 0;
	ssize_t got;
	ssize_t n;
	int fd;
	int rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || set_timeouts(fd, timeout_s) < 0) {
		log_error("control-socket %s: socket: %s", path, strerror(errno));
		goto out;
	}
	rc = connect_daemon(fd, path, timeout_s);
	if (rc != 0) {
		ret = rc == 1 ? ATTEMPT_NO_DAEMON : ATTEMPT_FAILED;
		goto out;
	}
	while (sent < len) {
		n = send(fd, text + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			closed = true;
			break;
		}
		if (n <= 0) {
			log_error("control-socket %s: send: %s", path,
			          n < 0 && errno == EAGAIN ? "the daemon does not read"
			                                   : strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}
	if (!closed) {
		got = read_reply(fd, path, timeout_s, buf, &closed);
		if (got >= 0) {
			*len_out = (size_t)got;
			ret = ATTEMPT_OK;
			goto out;
		}
	}
	if (closed && refused_peer(fd)) {
		log_error("control-socket %s: the daemon closed the connection without answering: "
		          "run as the daemon's user or root",
		          path);
	} else if (closed) {
		ret = ATTEMPT_CLOSED;
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	return ret;
}

char *
ctl_request_text(const char *path, json_t *request, double timeout_s, bool *no_daemon,
                 size_t *len_out)
{
	struct timespec pause = {0, 0};
	enum attempt got = ATTEMPT_FAILED;
	char *text = NULL;
	char *buf = NULL;
	size_t len;

	*no_daemon = false;
	/* Made before connecting: a connection that has sent nothing yet
	 * is one a flood may push out. */
	text = json_dumps(request, JSON_COMPACT);
	if (text == NULL) {
		log_error("out of memory");
		goto out;
	}
	len = strlen(text);
	text[len] = '\n';
	len++;
	for (int i = 0; i < CTL_ATTEMPTS; i++) {
		if (i > 0) {
			log_debug("control-socket %s: the daemon closed the connection without "
			          "answering: asking again",
			          path);
			pause.tv_nsec = CTL_RETRY_PAUSE_NS * i;
			nanosleep(&pause, NULL);
		}
		got = attempt(path, text, len, timeout_s, &buf, len_out);
		if (got != ATTEMPT_CLOSED) {
			break;
		}
	}
	if (got == ATTEMPT_CLOSED) {
		log_error("control-socket %s: the daemon closed the connection without answering, "
		          "%d times: more clients at once than it takes (see its log)",
		          path, CTL_ATTEMPTS);
	}
	*no_daemon = got == ATTEMPT_NO_DAEMON;
out:
	free(text);
	return buf;
}

json_t *
ctl_request(const char *path, json_t *request, double timeout_s, bool *no_daemon)
{
	json_t *answer = NULL;
	size_t len = 0;
	char *buf = ctl_request_text(path, request, timeout_s, no_daemon, &len);

	if (buf == NULL) {
		goto out;
	}
	answer = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, NULL);
	if (answer == NULL) {
		log_error("control-socket %s: the daemon's answer is not JSON", path);
	}
out:
	free(buf);
	return answer;
}
