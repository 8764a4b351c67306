/* The responders behind challenge.h, one file each: what select.c builds
 * and each variant defines. Every constructor returns a new responder
 * (challenge_destroy) or NULL with the reason logged, naming the setting to
 * change. */
#ifndef ACMED_CHALLENGE_RESPONDERS_H
#define ACMED_CHALLENGE_RESPONDERS_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "challenge/challenge.h"
#include "io/dns.h"

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

/* What the dns-01 responders share (issue #18). */
struct challenge_dns01_opts {
	/* The resolver of every lookup (borrowed, outliving the responder),
	 * or NULL: the responder makes its own from resolvers. */
	struct dns *dns;
	const char *resolvers; /* dns-resolver, NULL: the system's */
	long propagation_s; /* dns-propagation-timeout; 0: no check */
	/* dns-propagation-servers: asked instead of the zone's; NULL: those */
	const char *propagation_servers;
	long wait_s; /* dns-wait, after the check */
};

/* dns-01 through the program prog: "PROG add|del NAME VALUE" with NAME the
 * target of _acme-challenge's CNAME chain (challenge_dns01.c). */
struct challenge *challenge_dns01_create(struct ev_loop *loop, const char *prog, long timeout_s,
                                         const struct challenge_dns01_opts *opts);

/* dns-01 through RFC 2136 updates signed with the TSIG key in key_file
 * (BIND's format) sent to server ("IP[:PORT]", see dns_update_server_parse)
 * (challenge_dnsupdate.c). */
struct challenge *challenge_dnsupdate_create(struct ev_loop *loop, const char *server,
                                             const char *key_file,
                                             const struct challenge_dns01_opts *opts);

/* dns-persist-01 (draft-ietf-acme-dns-persist-01): nothing is set; present
 * looks up the TXT records at _validation-persist.NAME through opts->dns
 * (or resolvers: opts's propagation and wait are not used) and succeeds
 * when one authorises the task's account at one of its issuers
 * (persist_check_all); else it fails with the reason and the command that
 * prints the record, so the CA is never asked to validate (challenge_persist.c). */
struct challenge *challenge_persist_create(struct ev_loop *loop,
                                           const struct challenge_dns01_opts *opts);

/* The persistUntil (UNIX seconds; INT64_MAX: the record has none) of the
 * record that last authorised name (as in the task: without "*.";
 * wildcard as the task's) for the dns-persist-01 responder ch, into
 * *until: what `acmed status` warns about. Returns 0, or -1 when ch is no
 * such responder or no record authorised name through it (it keeps the
 * latest 1024 names). */
int challenge_persist_until(const struct challenge *ch, const char *name, bool wildcard,
                            int64_t *until);

/* Whether key_file (dns-update-key, NULL: not set) loads as the dns-update
 * responder will load it (preflight: `acmed check` and the start). A file
 * others may read is logged as a warning. Returns 0, or -1 with a one-line
 * reason in err naming the key to set, or the file and line. */
int challenge_dnsupdate_check(const char *key_file, char *err, size_t errlen);

#endif
