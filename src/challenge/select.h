/* Which responder a configuration asks for, and building it (select.c). */
#ifndef ACMED_CHALLENGE_SELECT_H
#define ACMED_CHALLENGE_SELECT_H

#include <ev.h>

#include "challenge/challenge.h"
#include "conf/conf.h"
#include "io/dns.h"

/* Which responder challenge_create builds for a configuration. */
enum challenge_responder {
	CHALLENGE_RESPONDER_NONE, /* the settings name none: see why */
	CHALLENGE_RESPONDER_DNS_HOOK,
	CHALLENGE_RESPONDER_DNS_UPDATE,
	CHALLENGE_RESPONDER_HTTP_HOOK,
	CHALLENGE_RESPONDER_WEBROOT,
	CHALLENGE_RESPONDER_STANDALONE,
	CHALLENGE_RESPONDER_TLS_ALPN,
	CHALLENGE_RESPONDER_DNS_PERSIST,
	CHALLENGE_RESPONDER__MAX,
};

/* The responder challenge_create would build for s; for NONE, *why (may be
 * NULL) receives a static one-line reason naming the key to set. */
enum challenge_responder challenge_pick(const struct conf_settings *s, const char **why);

/* The address the STANDALONE or TLS_ALPN responder listens on: http-listen
 * or tls-listen, else its default ("[::]:80", "[::]:443"); NULL for other
 * responders. Borrowed from s or static. */
const char *challenge_listen_address(const struct conf_settings *s, enum challenge_responder r);

/* The responder the settings ask for: dns-01 -> dns-hook or dns-update
 * (not both); dns-persist-01 -> the record's check; http-01 ->
 * http-hook, else webroot, else standalone on http-listen (default
 * "[::]:80"). A standalone responder binds its socket here, so a port in use
 * is reported now. Returns a new responder (challenge_destroy) or NULL with
 * the reason logged, naming the key to set; errno is then EADDRINUSE when
 * a built-in responder's port is held by another socket. */
struct challenge *challenge_create(struct ev_loop *loop, const struct conf_settings *s);

/* challenge_create with the resolver of the dns-01 responders' lookups
 * (borrowed, outliving the responder, made for s->dns_resolver); with
 * dns NULL a dns-01 responder makes its own. */
struct challenge *challenge_create_dns(struct ev_loop *loop, const struct conf_settings *s,
                                       struct dns *dns);

/* A string equal for settings that would create an equal responder (so that
 * concurrent orders share one standalone listener). New string or NULL. */
char *challenge_key(const struct conf_settings *s);

#endif
