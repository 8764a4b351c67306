/* The responders behind challenge.h, one file each: what select.c builds
 * and each variant defines. Every constructor returns a new responder
 * (challenge_destroy) or NULL with the reason logged, naming the setting to
 * change. */
#ifndef ACMED_CHALLENGE_RESPONDERS_H
#define ACMED_CHALLENGE_RESPONDERS_H

#include <ev.h>

#include "challenge/challenge.h"

/* http-01: files under webroot (challenge_webroot.c). */
struct challenge *challenge_webroot_create(struct ev_loop *loop, const char *webroot);

/* http-01: acmed's own HTTP responder bound to listen now, so that a port
 * in use is reported at once (challenge_standalone.c). */
struct challenge *challenge_standalone_create(struct ev_loop *loop, const char *listen);

/* tls-alpn-01: acmed's own TLS responder bound to listen now
 * (challenge_tlsalpn.c). */
struct challenge *challenge_tlsalpn_create(struct ev_loop *loop, const char *listen);

/* http-01 through the program prog (challenge_httphook.c). */
struct challenge *challenge_httphook_create(struct ev_loop *loop, const char *prog, long timeout_s);

/* dns-01 through the program prog, waiting wait_s after each add
 * (challenge_dns01.c). */
struct challenge *challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s,
                                         long wait_s);

#endif
