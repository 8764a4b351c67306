/* Getting the CA to issue one certificate for a job: the key (the one
 * given, else a new one from the key generator), the order through the
 * runner's newOrder gate (acme_order.h), the account registered again when
 * the CA forgot it, "replaces" dropped when the CA refuses it. Knows
 * nothing of files: the job loads keys and keeps the order's URL. */
#ifndef ACMED_ISSUE_H
#define ACMED_ISSUE_H

#include <ev.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <time.h>

#include "acme/acme_account.h"
#include "acme/acme_account_reg.h"
#include "acme/acme_client.h"
#include "acme/acme_order.h"
#include "base/list.h"
#include "conf/conf.h"
#include "crypto/key.h"
#include "renew/gate.h"

/* What the orders of one runner share. */
struct issue_shared {
	struct ev_loop *loop;
	struct acme_client *client;
	struct acme_account_handle *acct;
	/* For registering the account again when the CA forgot it. */
	const struct acme_account_reg_options *account_options;
	struct keygen *keygen;
	struct gate order_gate; /* new-order-concurrency newOrders at a time */
	/* Until when (ev_now) newOrders are not sent, after one got no answer:
	 * a CA that hangs costs the batch one timeout, not one per
	 * certificate; and why */
	ev_tstamp silent_until;
	char silent_why[256];
	/* A newOrder got no answer and nothing has answered since: once the
	 * hold is over, the next newOrder is preceded by a GET of the
	 * directory (probing while it runs; the issues that reach the gate
	 * meanwhile wait in probe_waiters), so that a CA back within the hold
	 * is ordered from at once and one still silent costs one cheap
	 * request, not a newOrder per certificate. */
	bool silent_seen;
	bool probing;
	struct list probe_waiters;
	bool account_busy; /* a registration is on its way */
	struct list account_waiters; /* issues waiting for it */
};

/* How the order ended; borrowed for the call. */
struct issue_result {
	int rc; /* ACME_ORDER_OK or an ACME_ORDER_* failure */
	const char *message; /* the failure's, one line */
	const char *pem; /* ACME_ORDER_OK: the chain, leaf first */
	size_t pem_len;
	time_t retry_after; /* the CA's Retry-After with a refusal, 0 if none */
	EVP_PKEY *key; /* the order's key (borrowed: the issue's) */
};

struct issue_request {
	const char *name; /* the certificate's, for the log */
	const struct ident *ids;
	size_t n_ids;
	enum key_type key_type; /* for a new key */
	const char *profile; /* or NULL */
	struct acme_chain_pref chain; /* which chain to install; zeroed: the default */
	const char *replaces; /* RFC 9773 ARI ID, or NULL */
	struct challenge *responder;
	const char *resume_url; /* an earlier run's order to go on with, or NULL */
	EVP_PKEY *key; /* taken over: the resumed order's or the key to reuse; NULL: new */
	/* The CA made the order: its URL and key, for a restart to resume;
	 * as acme_order_url_fn, -1 (why set) ends the order here. */
	int (*on_url)(const char *url, EVP_PKEY *key, void *arg, char *why, size_t len);
	void (*on_step)(enum acme_order_step step, void *arg);
	/* Called once; the callee may destroy the issue. */
	void (*done)(const struct issue_result *result, void *arg);
	void *arg;
};

struct issue;

/* An issue for req (strings borrowed until issue_destroy). Sends nothing
 * yet. NULL when out of memory (logged). */
struct issue *issue_create(struct issue_shared *sh, const struct issue_request *req);

/* Makes the key if needed, then waits for the gate and orders. done may be
 * called before this returns (then the caller must not touch the issue). */
void issue_run(struct issue *is);

/* Orders again from the start with a new key (a resumed order brought what
 * is installed already). Same contract as issue_run. */
void issue_again(struct issue *is);

/* Its runner stops (a signal): the order on its way is stopped
 * (acme_order_stop: its challenges withdrawn, the order left at the CA for
 * the next run) and stopped(arg) is called once that is over, instead of
 * done; the callee may destroy the issue. Returns 0 when stopped will be
 * called (possibly before this returns), 1 when no order is on its way
 * (a key being made, the gate or the account waited for: nothing to
 * withdraw; stopped is not called). */
int issue_stop(struct issue *is, void (*stopped)(void *arg), void *arg);

/* Frees it, leaving the gate to the next; safe on NULL. An order still
 * running is abandoned (acme_order_abandon: only when its runner ends). */
void issue_destroy(struct issue *is);

#endif
