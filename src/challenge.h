/* Challenge responders behind one interface, one file each:
 * challenge_webroot.c, challenge_standalone.c (acmed's own HTTP responder),
 * challenge_tlsalpn.c (its own tls-alpn-01 responder), challenge_httphook.c
 * and challenge_dns01.c (hooks). */
#ifndef ACMED_CHALLENGE_H
#define ACMED_CHALLENGE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "acme_parse.h"
#include "conf.h"

/* One identifier's challenge. All strings borrowed from the caller, who keeps
 * them alive until the matching cleanup's done was called. */
struct challenge_task {
	const char *cert_name;
	enum acme_id_type id_type;
	const char *identifier; /* as in the authorization (no "*." for wildcards) */
	bool wildcard;
	const char *token; /* checked base64url */
	const char *key_auth; /* token.thumbprint (RFC 8555 section 8.1) */
	const char *txt_name; /* dns-01: "_acme-challenge.<identifier>." */
	const char *txt_value; /* dns-01: base64url(SHA-256(key_auth)) */
};

/* rc 0 or -1 with a one-line message (borrowed for the call). */
typedef void (*challenge_done_fn)(int rc, const char *message, void *arg);

struct challenge;
struct challenge_call;

struct challenge_ops {
	const char *name; /* "webroot", "standalone", "tls-alpn", "http-hook", "dns-hook" */
	enum acme_challenge_type type;
	/* Makes the response available; done once from the loop. Returns 0,
	 * or -1 when nothing started (done not called). */
	int (*present)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	/* Withdraws it; same contract. */
	int (*cleanup)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	void (*destroy)(struct challenge *ch);
};

/* Each responder's struct starts with this (zeroed, then ops and loop set). */
struct challenge {
	const struct challenge_ops *ops;
	struct ev_loop *loop;
	char *key; /* what identifies equal responders, see challenge_key */
	struct challenge_call *calls; /* challenge_defer's, not called yet */
};

/* Which responder challenge_create builds for a configuration. */
enum challenge_responder {
	CHALLENGE_RESPONDER_NONE, /* the settings name none: see why */
	CHALLENGE_RESPONDER_DNS_HOOK,
	CHALLENGE_RESPONDER_HTTP_HOOK,
	CHALLENGE_RESPONDER_WEBROOT,
	CHALLENGE_RESPONDER_STANDALONE,
	CHALLENGE_RESPONDER_TLS_ALPN,
	CHALLENGE_RESPONDER__MAX,
};

/* The responder challenge_create would build for s; for NONE, *why (may be
 * NULL) receives a static one-line reason naming the key to set. */
enum challenge_responder challenge_pick(const struct conf_settings *s, const char **why);

/* The address the STANDALONE or TLS_ALPN responder listens on: http-listen
 * or tls-listen, else its default ("[::]:80", "[::]:443"); NULL for other
 * responders. Borrowed from s or static. */
const char *challenge_listen_address(const struct conf_settings *s, enum challenge_responder r);

/* The responder the settings ask for: dns-01 -> dns-hook; http-01 ->
 * http-hook, else webroot, else standalone on http-listen (default
 * "[::]:80"). A standalone responder binds its socket here, so a port in use
 * is reported now. Returns a new responder (challenge_destroy) or NULL with
 * the reason logged, naming the key to set. */
struct challenge *challenge_create(struct ev_loop *loop, const struct conf_settings *s);

/* A string equal for settings that would create an equal responder (so that
 * concurrent orders share one standalone listener). New string or NULL. */
char *challenge_key(const struct conf_settings *s);

/* Drops the calls challenge_defer has not made yet, then frees ch. */
void challenge_destroy(struct challenge *ch);

/* For responders that finish present or cleanup at once: calls done(rc,
 * message) from the loop, never from inside present (message copied; NULL
 * is passed for rc 0). Returns 0, or -1 (logged) when out of memory. */
int challenge_defer(struct challenge *ch, int rc, const char *message, challenge_done_fn done,
                    void *arg);

/* A listening TCP socket (non-blocking, close-on-exec) on address: "PORT"
 * (every address, IPv4 and IPv6), "ADDR:PORT" or "[ADDR]:PORT"; -1 with the
 * reason logged, named after the setting key ("http-listen"). */
int challenge_listen(const char *key, const char *address);

/* challenge_listen without logging: -1 with the one-line reason in err
 * ("http-listen [::]:80: bind: Address already in use: ..."), naming what to
 * do about it. */
int challenge_listen_err(const char *key, const char *address, char *err, size_t errlen);

/* Constructors of the variants, used by challenge_create. */
struct challenge *challenge_webroot_create(struct ev_loop *loop, const char *webroot);
struct challenge *challenge_standalone_create(struct ev_loop *loop, const char *listen);
struct challenge *challenge_tlsalpn_create(struct ev_loop *loop, const char *listen);
struct challenge *challenge_httphook_create(struct ev_loop *loop, const char *prog, long timeout_s);
struct challenge *challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s,
                                         long wait_s);

#endif
