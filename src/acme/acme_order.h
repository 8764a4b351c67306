/* One certificate order (RFC 8555 section 7.4) as a state machine on the
 * loop: newOrder, the authorizations in parallel (acme_order_authz.h:
 * challenge presented, CA told, authorization polled, challenge withdrawn
 * whatever happened), finalize with a CSR, order polled, chain downloaded.
 * Installing is the caller's business. */
#ifndef ACMED_ACME_ORDER_H
#define ACMED_ACME_ORDER_H

#include <ev.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_account.h"
#include "acme/acme_chain.h"
#include "acme/acme_client.h"
#include "challenge/challenge.h"

/* rc of acme_order_done_fn */
enum acme_order_result {
	/* A challenge could not be put in place here (its responder failed:
	 * a hook, a dns-update, the propagation check) before the CA was told
	 * to validate it: the order stays pending at the CA, for the next
	 * attempt to take on rather than order anew */
	ACME_ORDER_NOT_PRESENTED = -9,
	/* acme_order_stop: its owner stops; nothing failed at the CA */
	ACME_ORDER_STOPPED = -8,
	/* Refused with rateLimited (its Retry-After the done callback's) */
	ACME_ORDER_RATE_LIMITED = -7,
	/* The CA failed: no answer, 5xx after the retries, serverInternal;
	 * another CA may well issue (failover) */
	ACME_ORDER_CA_FAILED = -6,
	/* newOrder got no answer (a timeout, a connection lost: no HTTP
	 * status): the CA's trouble, the same for every order behind it */
	ACME_ORDER_NO_ANSWER = -5,
	/* newOrder refused as unauthorized: the account's problem
	 * (deactivated, say), not the certificate's */
	ACME_ORDER_ACCOUNT_REFUSED = -4,
	ACME_ORDER_REPLACED = -3, /* ARI: "replaces" refused; retry without */
	ACME_ORDER_NO_ACCOUNT = -2, /* the CA does not know the account */
	ACME_ORDER_FAILED = -1,
	ACME_ORDER_OK = 0,
};

enum acme_order_step {
	ACME_ORDER_STEP_ORDERING,
	ACME_ORDER_STEP_VALIDATING,
	ACME_ORDER_STEP_FINALIZING,
	ACME_ORDER_STEP_DOWNLOADING,
	ACME_ORDER_STEP__MAX,
};

/* The order's URL, once the CA created it: for the caller to persist so
 * that a restart can resume the order (see resume_url). Returns 0 to go
 * on, or -1 with why (len bytes) set when it could not be kept: the order
 * goes no further (no challenge presented, nothing finalized: the CA
 * issues nothing that could not be resumed) and done comes with
 * ACME_ORDER_FAILED and why. */
typedef int (*acme_order_url_fn)(const char *url, void *arg, char *why, size_t len);

struct acme_order_params {
	const char *name; /* the certificate's name, for messages and hooks */
	const struct ident *ids;
	size_t n_ids;
	EVP_PKEY *cert_key; /* the key the CSR is made with */
	/* A CSR made elsewhere (DER), sent as it is instead of one made with
	 * cert_key (NULL then); NULL: made here */
	const unsigned char *csr;
	size_t csr_len;
	struct challenge *responder; /* presents the challenges */
	const char *replaces; /* ARI certificate ID, or NULL */
	const char *profile; /* one of the directory's profiles, or NULL */
	double timeout_s; /* overall deadline; 0: 600 s */
	/* An order created before a restart: fetched and taken on from its
	 * status (pending: authorizations, ready: finalize, processing: poll,
	 * valid: download); a vanished or invalid one is replaced by a new
	 * order. NULL: a new order. */
	const char *resume_url;
	acme_order_url_fn on_url; /* may be NULL; called with the run's arg */
	/* Which chain to install (acme_chain.h): when it asks for a choice,
	 * the alternates the download names are fetched and one picked;
	 * zeroed: the default, nothing more asked */
	struct acme_chain_pref chain;
};

/* rc is an enum acme_order_result. On success pem/pem_len hold the
 * downloaded chain (borrowed for the call), message is "". Otherwise message says what failed, one
 * line, and retry_after is the latest Retry-After the CA sent with a refusal (0: none): the
 * earliest time to try again. */
typedef void (*acme_order_done_fn)(int rc, const char *message, const char *pem, size_t pem_len,
                                   time_t retry_after, void *arg);
/* Progress for people watching; may be NULL. */
typedef void (*acme_order_step_fn)(enum acme_order_step step, void *arg);

struct acme_order_run;

/* Starts the order. Everything in params (and the account, client,
 * responder) is borrowed and must stay until done is called. done is called
 * exactly once from the loop, after every challenge was withdrawn and no
 * request is in flight; the run frees itself after done returns. Returns the
 * run, or NULL (logged) when nothing started. */
struct acme_order_run *acme_order_start(struct ev_loop *loop, struct acme_client *client,
                                        const struct acme_account_handle *acct,
                                        const struct acme_order_params *params,
                                        acme_order_done_fn done, acme_order_step_fn step,
                                        void *arg);

/* Frees a run that has not finished, done never called: for its owner's
 * end only, once nothing will answer its requests any more (the HTTP
 * client gone, or the loop never run again). Its timers stop; a challenge
 * presented stays presented (a stopping daemon does not wait for
 * hooks). */
void acme_order_abandon(struct acme_order_run *o);

/* Its owner stops (a signal): nothing more is asked of the CA, the waits
 * for polls end, every challenge presented is withdrawn (one whose present
 * is on its way once it ends: challenge_stop makes that soon), and done is
 * called with ACME_ORDER_STOPPED once nothing is outstanding, possibly
 * before this returns. The order stays at the CA, for a later run to
 * resume (its URL was given to on_url). After another failure, done comes
 * with that one. Does nothing once done was called. */
void acme_order_stop(struct acme_order_run *o);

const char *acme_order_step_name(enum acme_order_step step);

#endif
