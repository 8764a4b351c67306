/* One authorization of an order (RFC 8555 sections 7.5 and 7.5.1) as a
 * state machine on the loop: the authorization fetched, the responder's
 * challenge presented, the CA told to validate, the authorization polled,
 * and the challenge withdrawn whatever happened. acme_order.c runs one per
 * authorization URL of an order, in parallel. */
#ifndef ACMED_ACME_ORDER_AUTHZ_H
#define ACMED_ACME_ORDER_AUTHZ_H

#include <ev.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_client.h"
#include "base/ident.h"
#include "challenge/challenge.h"

/* Everything is borrowed until done is called. */
struct acme_order_authz_params {
	const char *name; /* the certificate's name, for messages and hooks */
	const struct ident *ids; /* the order's: the authorization must be for one */
	size_t n_ids;
	struct challenge *responder;
	EVP_PKEY *key; /* the account's, signs by kid */
	const char *kid;
	ev_tstamp deadline; /* by ev_now: polling stops there */
};

/* rc of acme_order_authz_done_fn: failed for the CA's own reason (it did
 * not answer, 5xx, serverInternal), another CA might well issue. */
#define ACME_ORDER_AUTHZ_CA_FAILED (-2)

/* rc of acme_order_authz_done_fn: the challenge could not be put in place
 * (the responder's present failed); the CA was not told to validate it. */
#define ACME_ORDER_AUTHZ_NOT_PRESENTED (-3)

/* rc 0: authorized (or cancelled before anything failed), -1 (or
 * ACME_ORDER_AUTHZ_CA_FAILED): message says why, one line. retry_after is the latest Retry-After
 * the CA sent with a refusal (0: none). Called after the challenge was withdrawn; the run must not
 * be touched in it but for acme_order_authz_destroy. */
typedef void (*acme_order_authz_done_fn)(int rc, const char *message, time_t retry_after,
                                         void *arg);

struct acme_order_authz;

/* Fetches the authorization at url and takes it on from its status. done is
 * called exactly once, from the loop. Returns the run, or NULL (logged)
 * when nothing started (done not called). */
struct acme_order_authz *acme_order_authz_start(struct ev_loop *loop, struct acme_client *client,
                                                const struct acme_order_authz_params *params,
                                                const char *url, acme_order_authz_done_fn done,
                                                void *arg);

/* Another part of the order failed: a challenge waiting for its next poll
 * is withdrawn now (done may be called from within), one waiting for a
 * reply when it comes. Does nothing once done was called. */
void acme_order_authz_cancel(struct acme_order_authz *a);

/* Frees a run whose done was called; safe on NULL. */
void acme_order_authz_destroy(struct acme_order_authz *a);

#endif
