/* The interface every responder implements, and the deferred calls of
 * those that finish at once. Which responder to build is select.c's. */
#include "challenge/challenge.h"

#include "base/list.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_MAX_MESSAGE 512

struct challenge_call {
	struct ev_timer timer;
	struct challenge *ch;
	struct list_node node; /* in ch->calls */
	challenge_done_fn done;
	void *arg;
	int rc;
	char message[CHALLENGE_MAX_MESSAGE];
};

static const char *const challenge_labels[CHALLENGE_TYPE__MAX] = {
        [CHALLENGE_TYPE_UNKNOWN] = "unknown",
        [CHALLENGE_TYPE_DNS01] = "dns-01",
        [CHALLENGE_TYPE_HTTP01] = "http-01",
        [CHALLENGE_TYPE_TLSALPN01] = "tls-alpn-01",
        [CHALLENGE_TYPE_DNSPERSIST01] = "dns-persist-01",
};

const char *
challenge_type_name(enum challenge_type type)
{
	if (type >= CHALLENGE_TYPE__MAX) {
		return challenge_labels[CHALLENGE_TYPE_UNKNOWN];
	}
	return challenge_labels[type];
}

static const char *const probe_labels[CHALLENGE_PROBE__MAX] = {
        [CHALLENGE_PROBE_OK] = "ok",
        [CHALLENGE_PROBE_REFUSED] = "refused",
        [CHALLENGE_PROBE_UNKNOWN] = "unknown",
};

const char *
challenge_probe_result_name(enum challenge_probe_result result)
{
	return result < CHALLENGE_PROBE__MAX ? probe_labels[result] : "?";
}

void
challenge_init(struct challenge *ch, const struct challenge_ops *ops, struct ev_loop *loop)
{
	ch->ops = ops;
	ch->loop = loop;
	ch->key = NULL;
	list_init(&ch->calls);
	memset(&ch->remote, 0, sizeof(ch->remote));
}

void
challenge_set_remote(struct challenge *ch, const struct challenge_remote *r)
{
	if (r != NULL) {
		ch->remote = *r;
	} else {
		memset(&ch->remote, 0, sizeof(ch->remote));
	}
}

int
challenge_remote_key(enum challenge_type type, const struct challenge_task *task, char *out,
                     size_t len)
{
	unsigned char a[16];
	const char *text;
	int family;
	int n;

	if (type == CHALLENGE_TYPE_HTTP01) {
		text = task->token;
	} else if (type == CHALLENGE_TYPE_TLSALPN01) {
		text = task->identifier;
	} else {
		return -1;
	}
	if (text == NULL || len == 0) {
		return -1;
	}
	if (type == CHALLENGE_TYPE_TLSALPN01 && task->id_type == IDENT_IP) {
		/* One spelling per address whatever the CA wrote. */
		family = inet_pton(AF_INET, text, a) == 1 ? AF_INET : AF_INET6;
		if ((family == AF_INET6 && inet_pton(AF_INET6, text, a) != 1) ||
		    inet_ntop(family, a, out, (socklen_t)len) == NULL) {
			return -1;
		}
		return 0;
	}
	n = snprintf(out, len, "%s", text);
	if (n <= 0 || (size_t)n >= len) {
		return -1;
	}
	if (type == CHALLENGE_TYPE_TLSALPN01) {
		for (char *p = out; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z') {
				*p = (char)(*p - 'A' + 'a');
			}
		}
	}
	return 0;
}

static void
call_unlink(struct challenge_call *call)
{
	struct challenge *ch = call->ch;

	ev_timer_stop(ch->loop, &call->timer);
	list_unlink(&call->node);
}

static void
on_call(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct challenge_call *call = w->data;
	char message[CHALLENGE_MAX_MESSAGE];
	challenge_done_fn done = call->done;
	void *arg = call->arg;
	int rc = call->rc;

	(void)loop;
	(void)revents;
	/* The callback may destroy the responder: let go of it first. */
	memcpy(message, call->message, sizeof(message));
	call_unlink(call);
	free(call);
	done(rc, rc == 0 ? NULL : message, arg);
}

int
challenge_defer(struct challenge *ch, int rc, const char *message, challenge_done_fn done,
                void *arg)
{
	struct challenge_call *call = calloc(1, sizeof(*call));

	if (call == NULL) {
		log_error("%s: out of memory", ch->ops->name);
		return -1;
	}
	call->ch = ch;
	call->done = done;
	call->arg = arg;
	call->rc = rc;
	snprintf(call->message, sizeof(call->message), "%s", message != NULL ? message : "");
	list_push(&ch->calls, &call->node);
	ev_timer_init(&call->timer, on_call, 0., 0.);
	call->timer.data = call;
	ev_timer_start(ch->loop, &call->timer);
	return 0;
}

void
challenge_destroy(struct challenge *ch)
{
	if (ch == NULL) {
		return;
	}
	while (!list_empty(&ch->calls)) {
		struct challenge_call *call =
		        list_entry(list_first(&ch->calls), struct challenge_call, node);

		call_unlink(call);
		free(call);
	}
	free(ch->key);
	ch->key = NULL;
	ch->ops->destroy(ch);
}

void
challenge_stop(struct challenge *ch)
{
	if (ch != NULL && ch->ops->stop != NULL) {
		ch->ops->stop(ch);
	}
}

void
challenge_probe_cancel(struct challenge *ch, struct challenge_probe *probe)
{
	if (ch != NULL && probe != NULL && ch->ops->probe_cancel != NULL) {
		ch->ops->probe_cancel(ch, probe);
	}
}
