#include "challenge/challenge.h"
#include "challenge/select.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_DEFAULT_LISTEN "[::]:80"
#define CHALLENGE_DEFAULT_TLS_LISTEN "[::]:443"
#define CHALLENGE_DEFAULT_HOOK_TIMEOUT 120L
#define CHALLENGE_MAX_MESSAGE 512

struct challenge_call {
	struct ev_timer timer;
	struct challenge *ch;
	struct challenge_call *prev, *next;
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
};

const char *
challenge_type_name(enum challenge_type type)
{
	if (type >= CHALLENGE_TYPE__MAX) {
		return challenge_labels[CHALLENGE_TYPE_UNKNOWN];
	}
	return challenge_labels[type];
}

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

enum challenge_responder
challenge_pick(const struct conf_settings *s, const char **why)
{
	enum challenge_responder r = CHALLENGE_RESPONDER_NONE;
	const char *unused;

	if (why == NULL) {
		why = &unused;
	}
	*why = NULL;
	switch (s->challenge) {
	case CONF_CHALLENGE_DNS01:
		if (is_set(s->dns_hook)) {
			r = CHALLENGE_RESPONDER_DNS_HOOK;
		} else {
			*why = "dns-01 needs a hook: set dns-hook or --dns-hook";
		}
		break;
	case CONF_CHALLENGE_HTTP01:
		if (is_set(s->http_hook)) {
			r = CHALLENGE_RESPONDER_HTTP_HOOK;
		} else if (is_set(s->webroot)) {
			r = CHALLENGE_RESPONDER_WEBROOT;
		} else {
			r = CHALLENGE_RESPONDER_STANDALONE;
		}
		break;
	case CONF_CHALLENGE_TLSALPN01:
		r = CHALLENGE_RESPONDER_TLS_ALPN;
		break;
	default:
		*why = "unknown challenge type: set challenge to http-01, dns-01 or tls-alpn-01";
		break;
	}
	return r;
}

static long
hook_timeout(const struct conf_settings *s)
{
	return s->hook_timeout > 0 ? s->hook_timeout : CHALLENGE_DEFAULT_HOOK_TIMEOUT;
}

static const char *
listen_address(const struct conf_settings *s)
{
	return is_set(s->http_listen) ? s->http_listen : CHALLENGE_DEFAULT_LISTEN;
}

static const char *
tls_listen_address(const struct conf_settings *s)
{
	return is_set(s->tls_listen) ? s->tls_listen : CHALLENGE_DEFAULT_TLS_LISTEN;
}

const char *
challenge_listen_address(const struct conf_settings *s, enum challenge_responder r)
{
	const char *address = NULL;

	if (r == CHALLENGE_RESPONDER_STANDALONE) {
		address = listen_address(s);
	} else if (r == CHALLENGE_RESPONDER_TLS_ALPN) {
		address = tls_listen_address(s);
	}
	return address;
}

/* "PORT" is "[::]:PORT": one listener either way. buf holds the result when
 * it is not address itself. */
static const char *
same_listener(const char *address, char *buf, size_t len)
{
	if (strspn(address, "0123456789") == strlen(address)) {
		snprintf(buf, len, "[::]:%.6s", address);
		return buf;
	}
	return address;
}

/* A new string: the words joined by '\n' (which none of the settings can
 * hold), or NULL when out of memory. */
static char *
join(const char *const words[], size_t n)
{
	char *out = NULL;
	size_t len = 0;
	size_t off = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		len += strlen(words[i]) + 1;
	}
	out = malloc(len + 1);
	if (out == NULL) {
		goto out;
	}
	for (i = 0; i < n; i++) {
		size_t w = strlen(words[i]);

		memcpy(out + off, words[i], w);
		off += w;
		out[off++] = '\n';
	}
	out[off] = '\0';
out:
	return out;
}

char *
challenge_key(const struct conf_settings *s)
{
	char timeout[32];
	char wait[32];
	char port[16];
	const char *listen;
	const char *name;
	const char *why;
	char *key = NULL;

	if (s == NULL) {
		goto out;
	}
	snprintf(timeout, sizeof(timeout), "%ld", hook_timeout(s));
	snprintf(wait, sizeof(wait), "%ld", s->dns_wait);
	switch (challenge_pick(s, &why)) {
	case CHALLENGE_RESPONDER_NONE:
	case CHALLENGE_RESPONDER__MAX:
		name = conf_challenge_name(s->challenge);
		key = join((const char *[]){"none", name != NULL ? name : "?"}, 2);
		break;
	case CHALLENGE_RESPONDER_DNS_HOOK:
		key = join((const char *[]){"dns-hook", s->dns_hook, timeout, wait}, 4);
		break;
	case CHALLENGE_RESPONDER_HTTP_HOOK:
		key = join((const char *[]){"http-hook", s->http_hook, timeout}, 3);
		break;
	case CHALLENGE_RESPONDER_WEBROOT:
		key = join((const char *[]){"webroot", s->webroot}, 2);
		break;
	case CHALLENGE_RESPONDER_STANDALONE:
		listen = same_listener(listen_address(s), port, sizeof(port));
		key = join((const char *[]){"standalone", listen}, 2);
		break;
	case CHALLENGE_RESPONDER_TLS_ALPN:
		listen = same_listener(tls_listen_address(s), port, sizeof(port));
		key = join((const char *[]){"tls-alpn", listen}, 2);
		break;
	}
out:
	return key;
}

struct challenge *
challenge_create(struct ev_loop *loop, const struct conf_settings *s)
{
	struct challenge *ch = NULL;
	const char *why = NULL;
	char *key = NULL;

	if (s == NULL) {
		goto out;
	}
	key = challenge_key(s);
	if (key == NULL) {
		log_error("challenge: out of memory");
		goto out;
	}
	switch (challenge_pick(s, &why)) {
	case CHALLENGE_RESPONDER_NONE:
	case CHALLENGE_RESPONDER__MAX:
		log_error("%s", why != NULL ? why : "challenge: no responder");
		break;
	case CHALLENGE_RESPONDER_DNS_HOOK:
		ch = challenge_dns01_create(loop, s->dns_hook, hook_timeout(s), s->dns_wait);
		break;
	case CHALLENGE_RESPONDER_HTTP_HOOK:
		ch = challenge_httphook_create(loop, s->http_hook, hook_timeout(s));
		break;
	case CHALLENGE_RESPONDER_WEBROOT:
		ch = challenge_webroot_create(loop, s->webroot);
		break;
	case CHALLENGE_RESPONDER_STANDALONE:
		ch = challenge_standalone_create(loop, listen_address(s));
		break;
	case CHALLENGE_RESPONDER_TLS_ALPN:
		ch = challenge_tlsalpn_create(loop, tls_listen_address(s));
		break;
	}
	if (ch != NULL) {
		ch->key = key;
		key = NULL;
	}
out:
	free(key);
	return ch;
}

static void
call_unlink(struct challenge_call *call)
{
	struct challenge *ch = call->ch;

	ev_timer_stop(ch->loop, &call->timer);
	if (call->prev != NULL) {
		call->prev->next = call->next;
	} else {
		ch->calls = call->next;
	}
	if (call->next != NULL) {
		call->next->prev = call->prev;
	}
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
	call->next = ch->calls;
	if (ch->calls != NULL) {
		ch->calls->prev = call;
	}
	ch->calls = call;
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
	while (ch->calls != NULL) {
		struct challenge_call *call = ch->calls;

		call_unlink(call);
		free(call);
	}
	free(ch->key);
	ch->key = NULL;
	ch->ops->destroy(ch);
}
