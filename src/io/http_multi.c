#include "io/http_multi.h"

#include "base/log.h"

#include <stdlib.h>

/* One socket curl asked us to watch; found again through curl_multi_assign. */
struct http_sock {
	struct ev_io io;
	struct http_multi *m;
	struct list_node node; /* in m->socks */
};

static void
socket_action(struct http_multi *m, curl_socket_t fd, int action)
{
	int running = 0;
	CURLMcode rc;

	rc = curl_multi_socket_action(m->multi, fd, action, &running);
	if (rc != CURLM_OK) {
		log_error("http: curl_multi_socket_action: %s", curl_multi_strerror(rc));
	}
	m->info(m->arg);
}

static void
io_cb(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct http_sock *s = w->data;
	int action = 0;

	(void)loop;
	if (revents & EV_READ) {
		action |= CURL_CSELECT_IN;
	}
	if (revents & EV_WRITE) {
		action |= CURL_CSELECT_OUT;
	}
	/* s may be freed by the time this returns (CURL_POLL_REMOVE). */
	socket_action(s->m, w->fd, action);
}

static void
timer_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	socket_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_multi *m = userp;

	(void)multi;
	ev_timer_stop(m->loop, &m->timer);
	/* Even a zero timeout goes through the loop: socket_action must not be
	 * called from inside curl, and done never from inside http_request. */
	if (timeout_ms >= 0) {
		ev_timer_set(&m->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
	return 0;
}

static void
sock_free(struct http_multi *m, struct http_sock *s)
{
	ev_io_stop(m->loop, &s->io);
	list_unlink(&s->node);
	free(s);
}

static int
multi_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_multi *m = userp;
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			sock_free(m, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			log_error("http: out of memory");
			return -1;
		}
		s->m = m;
		list_push(&m->socks, &s->node);
		ev_init(&s->io, io_cb);
		s->io.data = s;
		curl_multi_assign(m->multi, fd, s);
	}
	if (what & CURL_POLL_IN) {
		events |= EV_READ;
	}
	if (what & CURL_POLL_OUT) {
		events |= EV_WRITE;
	}
	ev_io_stop(m->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(m->loop, &s->io);
	return 0;
}

int
http_multi_init(struct http_multi *m, struct ev_loop *loop, http_multi_info_fn info, void *arg)
{
	int ret = -1;

	m->loop = loop;
	m->info = info;
	m->arg = arg;
	list_init(&m->socks);
	ev_init(&m->timer, timer_cb);
	m->timer.data = m;
	m->multi = curl_multi_init();
	if (m->multi == NULL) {
		log_error("http: curl_multi_init failed");
		goto out;
	}
	if (curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) != CURLM_OK) {
		log_error("http: curl_multi_setopt failed");
		goto out;
	}
	ret = 0;
out:
	return ret;
}

void
http_multi_finish(struct http_multi *m)
{
	if (m->multi != NULL) {
		curl_multi_cleanup(m->multi);
		m->multi = NULL;
	}
	if (m->loop == NULL) {
		return;
	}
	while (!list_empty(&m->socks)) {
		sock_free(m, list_entry(list_first(&m->socks), struct http_sock, node));
	}
	ev_timer_stop(m->loop, &m->timer);
}
