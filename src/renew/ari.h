/* Asking the CA for a certificate's renewal window (RFC 9773, ACME Renewal
 * Information): one GET of its renewalInfo, the answer parsed and a time
 * picked inside the window. The job (one-shot runs) and the schedule (the
 * daemon) both ask through here. */
#ifndef ACMED_ARI_H
#define ACMED_ARI_H

#include <stdbool.h>
#include <time.h>

#include "acme/acme_client.h"

struct ari_answer {
	bool ok; /* a window was read; else the CA's problem or a bad body (logged) */
	time_t when; /* the time picked in the window (policy_ari_time), 0 when !ok */
	time_t window_start; /* the CA's window, 0 when !ok */
	time_t window_end;
	time_t retry_after; /* when the CA says to ask again, 0: it did not say */
	time_t now; /* when the answer came */
};

typedef void (*ari_done_fn)(const struct ari_answer *answer, void *arg);

struct ari_ask;

/* Asks for the window of the certificate with ARI ID cert_id; name is the
 * certificate's for the log. Returns the request (done is called once from
 * the loop), or NULL: *absent is then true when the CA offers no
 * renewalInfo, false when the request could not start. */
struct ari_ask *ari_ask(struct acme_client *client, const char *name, const char *cert_id,
                        ari_done_fn done, void *arg, bool *absent);

/* Whoever asked is gone: done is not called. */
void ari_cancel(struct ari_ask *ask);

#endif
