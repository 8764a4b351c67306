/* Challenge responders behind one interface, one file each:
 * challenge_webroot.c, challenge_standalone.c (acmed's own HTTP responder),
 * challenge_tlsalpn.c (its own tls-alpn-01 responder), challenge_httphook.c
 * and challenge_dns01.c (hooks), challenge_dnsupdate.c (RFC 2136 updates;
 * it shares challenge_dns01.c's flow), challenge_persist.c (dns-persist-01:
 * a record made once, only looked at). */
#ifndef ACMED_CHALLENGE_H
#define ACMED_CHALLENGE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ident.h"
#include "base/list.h"

/* The longest token acmed accepts from a CA (base64url). */
#define ACME_MAX_TOKEN 128

/* The challenge types of RFC 8555 section 8, and dns-persist-01
 * (draft-ietf-acme-dns-persist-01: challenge/persist.h). */
enum challenge_type {
	CHALLENGE_TYPE_UNKNOWN,
	CHALLENGE_TYPE_DNS01,
	CHALLENGE_TYPE_HTTP01,
	CHALLENGE_TYPE_TLSALPN01,
	CHALLENGE_TYPE_DNSPERSIST01,
	CHALLENGE_TYPE__MAX,
};

const char *challenge_type_name(enum challenge_type type);

/* One identifier's challenge. All strings borrowed from the caller, who keeps
 * them alive until the matching cleanup's done was called. */
struct challenge_task {
	const char *cert_name;
	enum ident_type id_type;
	const char *identifier; /* as in the authorization (no "*." for wildcards) */
	bool wildcard;
	const char *token; /* checked base64url */
	const char *key_auth; /* token.thumbprint (RFC 8555 section 8.1) */
	const char *txt_name; /* dns-01: "_acme-challenge.<identifier>." */
	/* dns-01 inside the responders: the name asked for when txt_name is
	 * the target of its CNAME chain (challenge_dns01.c); else NULL. */
	const char *txt_original;
	const char *txt_value; /* dns-01: base64url(SHA-256(key_auth)) */
	/* dns-persist-01 (no token, no key_auth): the challenge's
	 * issuer-domain-names, checked by persist_issuers_check, and the
	 * account's URL the record must name. */
	const char *const *issuers;
	size_t n_issuers;
	const char *account_uri;
};

/* rc 0 or -1 with a one-line message (borrowed for the call). */
typedef void (*challenge_done_fn)(int rc, const char *message, void *arg);

struct challenge;
struct challenge_call;
struct challenge_lookup;

/* The answer a remote lookup found: the key authorization (borrowed for
 * the call), or NULL when there is none or it cannot be had now. */
typedef void (*challenge_found_fn)(const char *value, void *arg);

/* Where a built-in responder (standalone, tls-alpn) asks for an answer it
 * does not hold itself: in fleet mode another node presented it. The
 * responder knows nothing of what is behind (renew/fleet_answers.c). */
struct challenge_remote {
	/* Asks for the answer to key (challenge_remote_key). found is called
	 * exactly once unless cancelled: either before lookup returns (an
	 * answer at hand; *handle is then NULL) or later from the loop.
	 * Returns 0, or -1 when nothing was asked (found not called). */
	int (*lookup)(void *ctx, enum challenge_type type, const char *key,
	              challenge_found_fn found, void *arg, struct challenge_lookup **handle);
	/* A lookup still waiting: found is never called for it. */
	void (*cancel)(void *ctx, struct challenge_lookup *handle);
	void *ctx; /* borrowed: outlives every responder it is set on */
};

/* What a probe found (challenge_ops.probe). */
enum challenge_probe_result {
	CHALLENGE_PROBE_OK, /* present would be let through */
	CHALLENGE_PROBE_REFUSED, /* it would not: the server said no, or its name has no address */
	CHALLENGE_PROBE_UNKNOWN, /* no telling: no answer, the zone not found */
	CHALLENGE_PROBE__MAX,
};

/* "ok", "refused", "unknown"; "?" for an unknown value. */
const char *challenge_probe_result_name(enum challenge_probe_result result);

/* A probe's end: the result and a one-line message naming the server and
 * what it said (borrowed for the call; on OK too, for the debug log). */
typedef void (*challenge_probe_fn)(enum challenge_probe_result result, const char *message,
                                   void *arg);

struct challenge_probe;

struct challenge_ops {
	/* "webroot", "standalone", "tls-alpn", "http-hook", "dns-hook",
	 * "dns-update", "dns-persist" */
	const char *name;
	enum challenge_type type;
	/* Makes the response available; done once from the loop. Returns 0,
	 * or -1 when nothing started (done not called). */
	int (*present)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	/* Withdraws it; same contract. */
	int (*cleanup)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	void (*destroy)(struct challenge *ch);
	/* Ends the presents on their way (see challenge_stop); NULL for a
	 * responder whose presents end at once. */
	void (*stop)(struct challenge *ch);
	/* Asks, changing nothing, whether a present for task's name would be
	 * let through, so that what would refuse it is found before newOrder
	 * spends an order (task: id_type, identifier, txt_name; no token, no
	 * value; read only inside the call). Done once from the loop; the
	 * probe's handle in *handle until then. Returns 0, or -1 when nothing
	 * started (done not called). NULL: nothing to probe (a hook is not
	 * run for a probe). challenge_stop leaves probes alone: their caller
	 * cancels them. */
	int (*probe)(struct challenge *ch, const struct challenge_task *task,
	             challenge_probe_fn done, void *arg, struct challenge_probe **handle);
	/* A probe whose done has not been called: it ends now, done never
	 * called, nothing left on the loop. Set whenever probe is. */
	void (*probe_cancel)(struct challenge *ch, struct challenge_probe *handle);
};

/* Each responder's struct starts with this, set up by challenge_init. */
struct challenge {
	const struct challenge_ops *ops;
	struct ev_loop *loop;
	char *key; /* what identifies equal responders, see challenge_key */
	struct list calls; /* challenge_defer's, not called yet */
	struct challenge_remote remote; /* lookup NULL: none */
};

/* Sets up ch (a responder's zeroed struct) for ops on loop. */
void challenge_init(struct challenge *ch, const struct challenge_ops *ops, struct ev_loop *loop);

/* Drops the calls challenge_defer has not made yet, then frees ch. */
void challenge_destroy(struct challenge *ch);

/* Its owner stops (a signal): every present on its way ends soon, its
 * done called from the loop with -1 ("stopped"), after the hook it runs was
 * killed (the hook timeout's way: SIGTERM, then SIGKILL) or the wait it was
 * in (propagation, dns-wait) cut short; what was set meanwhile is removed
 * by the cleanup the caller then asks for, as after any failure. Cleanups
 * on their way go on. Safe on NULL. */
void challenge_stop(struct challenge *ch);

/* ch->ops->probe_cancel when probe is not NULL. Safe on a NULL ch or
 * handle. */
void challenge_probe_cancel(struct challenge *ch, struct challenge_probe *probe);

/* Lets ch ask r (copied) for answers it does not hold; r NULL: no more.
 * Only the built-in responders ask; the others ignore it. Set it while
 * no lookup waits (before connections come). */
void challenge_set_remote(struct challenge *ch, const struct challenge_remote *r);

/* The key an answer of type is known by between nodes, into out (len
 * bytes): http-01 the token; tls-alpn-01 the identifier as a validation
 * server names it: a DNS name in lower case, an IP address in its
 * canonical text (so "192.0.2.7" for the SNI 7.2.0.192.in-addr.arpa).
 * Returns 0, or -1 when the task has none or it does not fit. */
int challenge_remote_key(enum challenge_type type, const struct challenge_task *task, char *out,
                         size_t len);

/* For responders that finish present or cleanup at once: calls done(rc,
 * message) from the loop, never from inside present (message copied; NULL
 * is passed for rc 0). Returns 0, or -1 (logged) when out of memory. */
int challenge_defer(struct challenge *ch, int rc, const char *message, challenge_done_fn done,
                    void *arg);

#endif
