/* What acme_order.c and acme_order_final.c share: the run of one order
 * and the steps each calls in the other. Not for other modules: only those
 * two include it. acme_order.c: the run's life (start, stop, abandon, the
 * one call of done), newOrder (or the order resumed) and the
 * authorizations; acme_order_final.c: the order polled, finalize with a
 * CSR, the chain downloaded and the alternate chains chosen from. */
#ifndef ACMED_ACME_ORDER_INTERNAL_H
#define ACMED_ACME_ORDER_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_client.h"
#include "acme/acme_order.h"
#include "acme/acme_parse.h"

#define ACME_ORDER_MESSAGE_LEN 1024

struct acme_order_run {
	struct ev_loop *loop;
	struct acme_client *client;
	const struct acme_account_handle *acct;
	struct acme_order_params p;
	acme_order_done_fn done;
	acme_order_step_fn step;
	void *arg;
	char *url;
	char *finalize;
	char *cert_url;
	struct acme_order_authz **authzs;
	size_t n_authzs;
	size_t authz_pending; /* started, done not called yet */
	size_t inflight; /* requests, the timer and authorizations outstanding */
	bool failed;
	enum acme_order_result rc;
	/* The last reply's trouble, if the CA's (ca_trouble) */
	enum acme_order_result trouble;
	char message[ACME_ORDER_MESSAGE_LEN];
	ev_timer timer;
	bool timer_active;
	int polls;
	ev_tstamp deadline;
	bool finalized;
	bool finalize_retried;
	bool complete;
	char *pem;
	size_t pem_len;
	/* The alternate chains (RFC 8555 section 7.4.2), fetched when
	 * p.chain asks for a choice: their URLs, and the PEM of each that
	 * came (NULL: not yet, or failed) */
	char *alt_urls[ACME_MAX_LINKS];
	char *alt_pems[ACME_MAX_LINKS];
	size_t alt_lens[ACME_MAX_LINKS];
	size_t n_alts;
	size_t alts_pending;
	char *new_order_payload; /* kept for a resumed order that must be replaced */
	time_t retry_after; /* the latest Retry-After of a failed reply */
	bool resuming;
};

/* acme_order.c */

/* Tells the caller's step callback (if any) that the run is at step. */
void acme_order_set_step(struct acme_order_run *o, enum acme_order_step step);

/* Notes whose trouble reply is (the CA's or none: o->trouble) and, with a
 * problem, its Retry-After. Call it first with every reply. */
void acme_order_note_reply(struct acme_order_run *o, const struct acme_reply *reply);

/* Once nothing is outstanding and the run failed or completed: calls done
 * (the failure, or the PEM) and frees o. Every callback ends with it;
 * o is gone after it when it finished. */
void acme_order_maybe_finish(struct acme_order_run *o);

/* Fails the run with rc and a message (the first failure is the one
 * reported; ACME_ORDER_FAILED after the CA's own trouble is that trouble):
 * the poll timer stopped, the authorizations cancelled. Never frees o (the
 * caller ends with acme_order_maybe_finish). */
void acme_order_fail(struct acme_order_run *o, enum acme_order_result rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* POSTs payload (NULL: POST-as-GET) to url signed with the account, cb
 * called with the reply and o. Returns 0 (one more in flight) or -1 with
 * the run failed. */
int acme_order_post(struct acme_order_run *o, const char *url, const char *payload,
                    acme_reply_fn cb);

/* acme_order_final.c */

/* Acts on an order object whatever request returned it (newOrder, a poll,
 * finalize): valid, the chain downloaded; ready, finalized (or polled once
 * finalize was sent); pending or processing, polled again (retry_after, the
 * reply's Retry-After, weighs on when); anything else fails the run. Nothing once the run
 * failed or stopped. order is borrowed. */
void acme_order_final_handle(struct acme_order_run *o, const struct acme_order *order,
                             time_t retry_after);

/* Sends finalize (RFC 8555 section 7.4) with the CSR: p.csr when the
 * caller gave one, else one made for p.ids with p.cert_key. Fails the run
 * when the CSR or the request cannot be made. */
void acme_order_finalize(struct acme_order_run *o);

#endif
