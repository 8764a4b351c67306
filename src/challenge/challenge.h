/* Challenge responders behind one interface, one file each:
 * challenge_webroot.c, challenge_standalone.c (acmed's own HTTP responder),
 * challenge_tlsalpn.c (its own tls-alpn-01 responder), challenge_httphook.c
 * and challenge_dns01.c (hooks). */
#ifndef ACMED_CHALLENGE_H
#define ACMED_CHALLENGE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ident.h"
#include "base/list.h"

/* The longest token acmed accepts from a CA (base64url). */
#define ACME_MAX_TOKEN 128

/* The challenge types of RFC 8555 section 8. */
enum challenge_type {
	CHALLENGE_TYPE_UNKNOWN,
	CHALLENGE_TYPE_DNS01,
	CHALLENGE_TYPE_HTTP01,
	CHALLENGE_TYPE_TLSALPN01,
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
	const char *txt_value; /* dns-01: base64url(SHA-256(key_auth)) */
};

/* rc 0 or -1 with a one-line message (borrowed for the call). */
typedef void (*challenge_done_fn)(int rc, const char *message, void *arg);

struct challenge;
struct challenge_call;

struct challenge_ops {
	const char *name; /* "webroot", "standalone", "tls-alpn", "http-hook", "dns-hook" */
	enum challenge_type type;
	/* Makes the response available; done once from the loop. Returns 0,
	 * or -1 when nothing started (done not called). */
	int (*present)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	/* Withdraws it; same contract. */
	int (*cleanup)(struct challenge *ch, const struct challenge_task *task,
	               challenge_done_fn done, void *arg);
	void (*destroy)(struct challenge *ch);
};

/* Each responder's struct starts with this, set up by challenge_init. */
struct challenge {
	const struct challenge_ops *ops;
	struct ev_loop *loop;
	char *key; /* what identifies equal responders, see challenge_key */
	struct list calls; /* challenge_defer's, not called yet */
};

/* Sets up ch (a responder's zeroed struct) for ops on loop. */
void challenge_init(struct challenge *ch, const struct challenge_ops *ops, struct ev_loop *loop);

/* Drops the calls challenge_defer has not made yet, then frees ch. */
void challenge_destroy(struct challenge *ch);

/* For responders that finish present or cleanup at once: calls done(rc,
 * message) from the loop, never from inside present (message copied; NULL
 * is passed for rc 0). Returns 0, or -1 (logged) when out of memory. */
int challenge_defer(struct challenge *ch, int rc, const char *message, challenge_done_fn done,
                    void *arg);

#endif
