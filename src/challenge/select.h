/* Which responder a configuration asks for, and building it. */
#ifndef ACMED_CHALLENGE_SELECT_H
#define ACMED_CHALLENGE_SELECT_H

#include <ev.h>

#include "challenge/challenge.h"
#include "conf/conf.h"

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
