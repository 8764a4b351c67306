/* The end of an order (acme_order_internal.h): the order polled until
 * it is ready or valid, finalize with a CSR, the certificate downloaded,
 * and the alternate chains (RFC 8555 section 7.4.2) fetched and chosen
 * from when the caller asks for a chain. */
#include "acme/acme_order_internal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/log.h"
#include "crypto/csr.h"

/* A reply's body as a new NUL-terminated string, or NULL. */
static char *
body_copy(const struct acme_reply *reply)
{
	char *pem = malloc(reply->body_len + 1);

	if (pem != NULL) {
		memcpy(pem, reply->body, reply->body_len);
		pem[reply->body_len] = '\0';
	}
	return pem;
}

/* Every alternate is in (or failed): the chain to install. */
static void
choose_chain(struct acme_order_run *o)
{
	const char *pems[1 + ACME_MAX_LINKS];
	size_t lens[1 + ACME_MAX_LINKS];
	size_t best;

	pems[0] = o->pem;
	lens[0] = o->pem_len;
	for (size_t i = 0; i < o->n_alts; i++) {
		pems[i + 1] = o->alt_pems[i];
		lens[i + 1] = o->alt_lens[i];
	}
	best = acme_chain_pick(&o->p.chain, pems, lens, o->n_alts + 1, o->p.name);
	if (best > 0) {
		free(o->pem);
		o->pem = o->alt_pems[best - 1];
		o->pem_len = o->alt_lens[best - 1];
		o->alt_pems[best - 1] = NULL;
	}
	o->complete = true;
}

static void
on_alternate(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;
	size_t i = 0;

	o->inflight--;
	o->alts_pending--;
	while (i < o->n_alts && strcmp(o->alt_urls[i], reply->url) != 0) {
		i++;
	}
	/* An alternate that cannot be had leaves the others to choose from:
	 * the certificate was issued, the default chain is in hand. */
	if (reply->problem != NULL) {
		log_warn("%s: alternate chain %zu: %s; left out", o->p.name, i + 1, reply->message);
	} else if (i < o->n_alts && o->alt_pems[i] == NULL) {
		o->alt_pems[i] = body_copy(reply);
		o->alt_lens[i] = reply->body_len;
	}
	if (o->alts_pending == 0 && !o->failed) {
		choose_chain(o);
	}
	acme_order_maybe_finish(o);
}

/* The alternates the download's Link headers name, each fetched
 * (POST-as-GET, as the default); the choice waits for them all. */
static void
fetch_alternates(struct acme_order_run *o, const struct acme_reply *reply)
{
	char *urls[ACME_MAX_LINKS];
	char err[256];
	int n = 0;

	if (reply->links != NULL) {
		n = acme_parse_links(reply->links, "alternate", reply->url, urls, ACME_MAX_LINKS,
		                     err, sizeof(err));
	}
	if (n < 0) {
		log_warn("%s: %s: unreadable Link header (%s); only the default chain is "
		         "considered",
		         o->p.name, reply->url, err);
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		/* The default is not its own alternate. */
		if (strcmp(urls[i], o->cert_url) == 0) {
			free(urls[i]);
			continue;
		}
		o->alt_urls[o->n_alts++] = urls[i];
	}
	log_debug("%s: %zu alternate chains offered", o->p.name, o->n_alts);
	for (size_t i = 0; i < o->n_alts; i++) {
		/* acme_client refuses (and says so) a URL off the CA's host. */
		if (acme_client_post(o->client, o->alt_urls[i], o->acct->key, o->acct->url, NULL,
		                     on_alternate, o) < 0) {
			log_warn("%s: alternate chain %zu: %s: cannot be fetched; left out",
			         o->p.name, i + 1, o->alt_urls[i]);
			continue;
		}
		o->inflight++;
		o->alts_pending++;
	}
	if (o->alts_pending == 0 && !o->failed) {
		choose_chain(o);
	}
}

static void
on_cert(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	acme_order_note_reply(o, reply);
	if (reply->problem != NULL) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: download: %s", o->p.name,
		                reply->message);
	} else if (reply->body_len == 0) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: empty certificate", o->p.name,
		                reply->url);
	} else {
		o->pem = body_copy(reply);
		if (o->pem == NULL) {
			acme_order_fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		} else {
			o->pem_len = reply->body_len;
			if (acme_chain_wanted(&o->p.chain)) {
				fetch_alternates(o, reply);
			} else {
				o->complete = true;
			}
		}
	}
	acme_order_maybe_finish(o);
}

static void
download(struct acme_order_run *o)
{
	/* RFC 8555 section 7.4.2: the alternates are named by the
	 * download's Link headers, kept only when a choice is asked for. */
	unsigned flags = acme_chain_wanted(&o->p.chain) ? ACME_CLIENT_LINKS : 0;

	acme_order_set_step(o, ACME_ORDER_STEP_DOWNLOADING);
	if (acme_client_post_with(o->client, flags, o->cert_url, o->acct->key, o->acct->url, NULL,
	                          on_cert, o) < 0) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name,
		                o->cert_url);
		return;
	}
	o->inflight++;
}

static void on_order_poll(const struct acme_reply *reply, void *arg);

static void
on_order_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acme_order_run *o = w->data;

	(void)revents;
	o->timer_active = false;
	o->inflight--;
	if (ev_now(loop) >= o->deadline) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: the order did not finish in time",
		                o->p.name, o->url);
	} else {
		acme_order_post(o, o->url, NULL, on_order_poll);
	}
	acme_order_maybe_finish(o);
}

static void
schedule_order_poll(struct acme_order_run *o, time_t retry_after)
{
	double left = o->deadline - ev_now(o->loop);

	ev_timer_init(&o->timer, on_order_timer, 0.0, 0.0);
	o->timer.data = o;
	acme_client_timer_start(o->client, &o->timer,
	                        acme_client_poll_delay(o->client, o->polls++, retry_after, left));
	o->timer_active = true;
	o->inflight++;
}

/* Acts on an order object whatever request returned it; nothing more is
 * asked once the run failed or stopped. */
void
acme_order_final_handle(struct acme_order_run *o, const struct acme_order *order,
                        time_t retry_after)
{
	char why[ACME_ORDER_MESSAGE_LEN];

	if (o->failed) {
		return;
	}
	switch (order->status) {
	case ACME_STATUS_VALID:
		free(o->cert_url);
		o->cert_url = strdup(order->certificate);
		if (o->cert_url == NULL) {
			acme_order_fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
			return;
		}
		download(o);
		break;
	case ACME_STATUS_READY:
		if (!o->finalized) {
			acme_order_finalize(o);
		} else {
			schedule_order_poll(o, retry_after);
		}
		break;
	case ACME_STATUS_PENDING:
	case ACME_STATUS_PROCESSING:
		schedule_order_poll(o, retry_after);
		break;
	default:
		if (order->error != NULL) {
			acme_client_count_problem(o->client, order->error);
			acme_problem_format(order->error, o->url, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "%s: order is %s", o->url,
			         acme_status_name(order->status));
		}
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, why);
		break;
	}
}

/* A successful reply that carries the order object (a poll's, finalize's):
 * acted on, or the run failed when it does not parse. */
static void
handle_reply_order(struct acme_order_run *o, const struct acme_reply *reply)
{
	struct acme_order order;
	char err[256];

	if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
		return;
	}
	acme_order_final_handle(o, &order, reply->retry_after);
	acme_parse_order_finish(&order);
}

static void
on_order_poll(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	acme_order_note_reply(o, reply);
	if (reply->problem != NULL) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
	} else {
		handle_reply_order(o, reply);
	}
	acme_order_maybe_finish(o);
}

static void
on_finalize(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	acme_order_note_reply(o, reply);
	if (reply->problem != NULL) {
		/* RFC 8555 section 7.4: orderNotReady if the CA has not yet
		 * moved the order on; look again before finalizing. */
		if (acme_problem_is(reply->problem, "orderNotReady") && !o->finalize_retried) {
			o->finalize_retried = true;
			o->finalized = false;
			schedule_order_poll(o, reply->retry_after);
		} else {
			acme_order_fail(o, ACME_ORDER_FAILED, "%s: finalize: %s", o->p.name,
			                reply->message);
		}
	} else {
		handle_reply_order(o, reply);
	}
	acme_order_maybe_finish(o);
}

void
acme_order_finalize(struct acme_order_run *o)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	char *csr = NULL;
	char *payload = NULL;
	json_t *obj = NULL;

	acme_order_set_step(o, ACME_ORDER_STEP_FINALIZING);
	o->finalized = true;
	if (o->p.csr != NULL) {
		csr = b64_encode(o->p.csr, o->p.csr_len);
	} else {
		der = csr_create(o->p.cert_key, o->p.ids, o->p.n_ids, &der_len);
		if (der != NULL) {
			csr = b64_encode(der, der_len);
		}
	}
	if (csr != NULL) {
		obj = json_pack("{s:s}", "csr", csr);
	}
	if (obj != NULL) {
		payload = json_dumps(obj, JSON_COMPACT);
	}
	if (payload == NULL) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: cannot make the CSR", o->p.name);
		goto out;
	}
	acme_order_post(o, o->finalize, payload, on_finalize);
out:
	json_decref(obj);
	free(payload);
	free(csr);
	free(der);
}
