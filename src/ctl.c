#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"

#define CTL_MAX_LINE (64 * 1024)
#define CTL_MAX_CONNS 32
#define CTL_TIMEOUT 5.0

struct ctl_conn {
	struct ctl *ctl;
	struct ctl_conn *prev;
	struct ctl_conn *next;
	int fd;
	ev_io io;
	ev_timer timer;
	char *buf;
	size_t len;
	char *out;
	size_t out_len;
	size_t out_pos;
};

struct ctl {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char *path;
	ctl_handler_fn handler;
	void *arg;
	struct ctl_conn *conns;
	size_t n_conns;
};

static void
conn_close(struct ctl_conn *c)
{
	struct ctl *ctl = c->ctl;

	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		ctl->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	ctl->n_conns--;
	free(c->buf);
	free(c->out);
	free(c);
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_close(w->data);
}

static void
on_conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *c = w->data;
	ssize_t n;

	n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->out_pos += (size_t)n;
	if (c->out_pos == c->out_len) {
		conn_close(c);
	}
}

static void
reply(struct ctl_conn *c, json_t *answer)
{
	char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(answer);
	if (text == NULL) {
		conn_close(c);
		return;
	}
	n = strlen(text);
	c->out = realloc(text, n + 2);
	if (c->out == NULL) {
		free(text);
		conn_close(c);
		return;
	}
	c->out[n] = '\n';
	c->out[n + 1] = '\0';
	c->out_len = n + 1;
	ev_io_stop(c->ctl->loop, &c->io);
	ev_io_init(&c->io, on_conn_write, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(c->ctl->loop, &c->io);
}

static void
on_conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *c = w->data;
	char chunk[4096];
	char *nl;
	ssize_t n;
	json_t *request;
	json_error_t jerr;

	n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0 || c->len + (size_t)n > CTL_MAX_LINE) {
		conn_close(c);
		return;
	}
	memcpy(c->buf + c->len, chunk, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	nl = memchr(c->buf, '\n', c->len);
	if (nl == NULL) {
		return;
	}
	request = json_loadb(c->buf, (size_t)(nl - c->buf), JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(request)) {
		json_decref(request);
		reply(c, json_pack("{s:s}", "error", "not a JSON object"));
		return;
	}
	reply(c, c->ctl->handler(request, c->ctl->arg));
	json_decref(request);
}

/* SO_PEERCRED: only our own user or root may talk to the daemon. */
static bool
peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		return false;
	}
	return cred.uid == 0 || cred.uid == getuid();
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl *ctl = w->data;
	struct ctl_conn *c;
	int fd;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		return;
	}
	if (ctl->n_conns >= CTL_MAX_CONNS || !peer_allowed(fd)) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c != NULL) {
		c->buf = malloc(CTL_MAX_LINE + 1);
	}
	if (c == NULL || c->buf == NULL) {
		if (c != NULL) {
			free(c);
		}
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->next = ctl->conns;
	if (ctl->conns != NULL) {
		ctl->conns->prev = c;
	}
	ctl->conns = c;
	ctl->n_conns++;
	ev_io_init(&c->io, on_conn_read, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, on_conn_timeout, CTL_TIMEOUT, 0.0);
	c->timer.data = c;
	ev_timer_start(loop, &c->timer);
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

struct ctl *
ctl_listen(struct ev_loop *loop, const char *path, ctl_handler_fn handler, void *arg)
{
	struct sockaddr_un addr;
	struct ctl *ctl = NULL;
	char *dir = NULL;
	char *slash;
	bool live = false;
	mode_t old;
	int probe;

	if (fill_addr(path, &addr) < 0) {
		log_error("control-socket %s: path too long", path);
		return NULL;
	}
	dir = strdup(path);
	slash = dir != NULL ? strrchr(dir, '/') : NULL;
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (store_mkdirs(dir, 0700) < 0) {
			free(dir);
			return NULL;
		}
	}
	free(dir);
	/* A socket file nobody answers on is left over from a crash. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		live = connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
		close(probe);
	}
	if (live) {
		log_error("control-socket %s: another acmed daemon answers there", path);
		return NULL;
	}
	unlink(path);
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		log_error("out of memory");
		return NULL;
	}
	ctl->loop = loop;
	ctl->handler = handler;
	ctl->arg = arg;
	ctl->path = strdup(path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->path == NULL || ctl->fd < 0) {
		log_error("control-socket %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Created 0600 from the start, not chmod'ed after. */
	old = umask(0177);
	if (bind(ctl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		umask(old);
		log_error("control-socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (listen(ctl->fd, 16) < 0) {
		log_error("control-socket %s: listen: %s", path, strerror(errno));
		goto fail;
	}
	ev_io_init(&ctl->io, on_accept, ctl->fd, EV_READ);
	ctl->io.data = ctl;
	ev_io_start(loop, &ctl->io);
	return ctl;
fail:
	if (ctl->fd >= 0) {
		close(ctl->fd);
	}
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
	while (ctl->conns != NULL) {
		conn_close(ctl->conns);
	}
	ev_io_stop(ctl->loop, &ctl->io);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *
ctl_request(const char *path, json_t *request, double timeout_s, bool *no_daemon)
{
	struct sockaddr_un addr;
	struct pollfd pfd;
	json_t *answer = NULL;
	char *text = NULL;
	char *buf = NULL;
	size_t len = 0;
	size_t sent = 0;
	double deadline = now_s() + timeout_s;
	int fd = -1;

	*no_daemon = false;
	if (fill_addr(path, &addr) < 0) {
		log_error("control-socket %s: path too long", path);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			*no_daemon = true;
		} else {
			log_error("control-socket %s: %s", path, strerror(errno));
		}
		goto out;
	}
	text = json_dumps(request, JSON_COMPACT);
	buf = malloc(CTL_MAX_LINE + 1);
	if (text == NULL || buf == NULL) {
		log_error("out of memory");
		goto out;
	}
	len = strlen(text);
	text[len] = '\n';
	len++;
	while (sent < len) {
		ssize_t n = send(fd, text + sent, len - sent, MSG_NOSIGNAL);

		if (n <= 0) {
			log_error("control-socket %s: send: %s", path, strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}
	len = 0;
	for (;;) {
		double left = deadline - now_s();
		ssize_t n;

		pfd.fd = fd;
		pfd.events = POLLIN;
		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) {
			log_error("control-socket %s: the daemon did not answer", path);
			goto out;
		}
		n = recv(fd, buf + len, CTL_MAX_LINE - len, 0);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL || len == CTL_MAX_LINE) {
			break;
		}
	}
	answer = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, NULL);
	if (answer == NULL) {
		log_error("control-socket %s: the daemon's answer is not JSON", path);
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	free(text);
	free(buf);
	return answer;
}

char *
ctl_default_path(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *systemd = getenv("RUNTIME_DIRECTORY");
	char *dir;
	char *path;

	/* systemd's RuntimeDirectory= (the service runs as its own user). */
	if (systemd != NULL && systemd[0] == '/' && strchr(systemd, ':') == NULL) {
		return store_path(systemd, "acmed.sock", NULL);
	}
	if (geteuid() == 0) {
		return strdup(ACMED_RUNDIR "/acmed.sock");
	}
	if (xdg != NULL && xdg[0] == '/') {
		return store_path(xdg, "acmed.sock", NULL);
	}
	dir = store_default_dir();
	path = dir != NULL ? store_path(dir, "acmed.sock", NULL) : NULL;
	free(dir);
	return path;
}
