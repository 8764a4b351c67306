#include "acme/acme_order.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_order_authz.h"
#include "acme/acme_parse.h"
#include "base/b64.h"
#include "base/log.h"
#include "crypto/csr.h"

#define DEFAULT_TIMEOUT 600.0
#define MESSAGE_LEN 1024

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
	char message[MESSAGE_LEN];
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

static const char *const step_names[ACME_ORDER_STEP__MAX] = {
        [ACME_ORDER_STEP_ORDERING] = "ordering",
        [ACME_ORDER_STEP_VALIDATING] = "validating",
        [ACME_ORDER_STEP_FINALIZING] = "finalizing",
        [ACME_ORDER_STEP_DOWNLOADING] = "downloading",
};

const char *
acme_order_step_name(enum acme_order_step step)
{
	if (step >= ACME_ORDER_STEP__MAX) {
		return "unknown";
	}
	return step_names[step];
}

static void
set_step(struct acme_order_run *o, enum acme_order_step step)
{
	if (o->step != NULL) {
		o->step(step, o->arg);
	}
}

static void
order_free(struct acme_order_run *o)
{
	for (size_t i = 0; i < o->n_authzs; i++) {
		acme_order_authz_destroy(o->authzs[i]);
	}
	free(o->authzs);
	free(o->url);
	free(o->finalize);
	free(o->cert_url);
	free(o->pem);
	acme_parse_links_free(o->alt_urls, o->n_alts);
	acme_parse_links_free(o->alt_pems, o->n_alts);
	free(o->new_order_payload);
	free(o);
}

void
acme_order_abandon(struct acme_order_run *o)
{
	if (o == NULL) {
		return;
	}
	if (o->timer_active) {
		ev_timer_stop(o->loop, &o->timer);
	}
	order_free(o);
}

/* RFC 8555 section 6.6: a refusal's Retry-After is where the caller's
 * next attempt may start. */
static void
note_retry_after(struct acme_order_run *o, time_t retry_after)
{
	if (retry_after > o->retry_after) {
		o->retry_after = retry_after;
	}
}

/* Whose trouble a reply is: ACME_ORDER_CA_FAILED or ACME_ORDER_RATE_LIMITED
 * for the CA's own, ACME_ORDER_OK for none or the request's (another CA
 * would refuse it too). */
static enum acme_order_result
ca_trouble(const struct acme_reply *reply)
{
	enum acme_order_result ret = ACME_ORDER_OK;

	if (reply->problem == NULL) {
		goto out;
	}
	if (acme_problem_is(reply->problem, "rateLimited")) {
		ret = ACME_ORDER_RATE_LIMITED;
	} else if (reply->status == 0 || reply->status >= 500 ||
	           acme_problem_is(reply->problem, "serverInternal")) {
		ret = ACME_ORDER_CA_FAILED;
	}
out:
	return ret;
}

static void
note_reply(struct acme_order_run *o, const struct acme_reply *reply)
{
	o->trouble = ca_trouble(reply);
	if (reply->problem != NULL) {
		note_retry_after(o, reply->retry_after);
	}
}

/* Calls done once nothing is outstanding, then frees the run. */
static void
maybe_finish(struct acme_order_run *o)
{
	if (o->inflight > 0 || (!o->failed && !o->complete)) {
		return;
	}
	if (o->failed) {
		o->done(o->rc, o->message, NULL, 0, o->retry_after, o->arg);
	} else {
		o->done(ACME_ORDER_OK, "", o->pem, o->pem_len, 0, o->arg);
	}
	order_free(o);
}

/* The first failure is the one reported. */
static void fail(struct acme_order_run *o, enum acme_order_result rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
fail(struct acme_order_run *o, enum acme_order_result rc, const char *fmt, ...)
{
	va_list ap;

	if (o->failed) {
		return;
	}
	o->failed = true;
	/* A failure after the CA's own trouble is the CA's. */
	o->rc = rc == ACME_ORDER_FAILED && o->trouble != ACME_ORDER_OK ? o->trouble : rc;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	if (o->timer_active) {
		ev_timer_stop(o->loop, &o->timer);
		o->timer_active = false;
		o->inflight--;
	}
	/* Held while the authorizations are told: one that completes at once
	 * must not free the run under this loop (the caller finishes it). */
	o->inflight++;
	for (size_t i = 0; i < o->n_authzs; i++) {
		acme_order_authz_cancel(o->authzs[i]);
	}
	o->inflight--;
}

static int
post(struct acme_order_run *o, const char *url, const char *payload, acme_reply_fn cb)
{
	if (acme_client_post(o->client, url, o->acct->key, o->acct->url, payload, cb, o) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name, url);
		return -1;
	}
	o->inflight++;
	return 0;
}

/* --- finalize and download ------------------------------------------- */

static void finalize(struct acme_order_run *o);

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
	maybe_finish(o);
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
	note_reply(o, reply);
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: download: %s", o->p.name, reply->message);
	} else if (reply->body_len == 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: empty certificate", o->p.name, reply->url);
	} else {
		o->pem = body_copy(reply);
		if (o->pem == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		} else {
			o->pem_len = reply->body_len;
			if (acme_chain_wanted(&o->p.chain)) {
				fetch_alternates(o, reply);
			} else {
				o->complete = true;
			}
		}
	}
	maybe_finish(o);
}

static void
download(struct acme_order_run *o)
{
	/* RFC 8555 section 7.4.2: the alternates are named by the
	 * download's Link headers, kept only when a choice is asked for. */
	unsigned flags = acme_chain_wanted(&o->p.chain) ? ACME_CLIENT_LINKS : 0;

	set_step(o, ACME_ORDER_STEP_DOWNLOADING);
	if (acme_client_post_with(o->client, flags, o->cert_url, o->acct->key, o->acct->url, NULL,
	                          on_cert, o) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name,
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
		fail(o, ACME_ORDER_FAILED, "%s: %s: the order did not finish in time", o->p.name,
		     o->url);
	} else {
		post(o, o->url, NULL, on_order_poll);
	}
	maybe_finish(o);
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
static void
handle_order(struct acme_order_run *o, const struct acme_order *order, time_t retry_after)
{
	char why[MESSAGE_LEN];

	if (o->failed) {
		return;
	}
	switch (order->status) {
	case ACME_STATUS_VALID:
		free(o->cert_url);
		o->cert_url = strdup(order->certificate);
		if (o->cert_url == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
			return;
		}
		download(o);
		break;
	case ACME_STATUS_READY:
		if (!o->finalized) {
			finalize(o);
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
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, why);
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
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
		return;
	}
	handle_order(o, &order, reply->retry_after);
	acme_parse_order_finish(&order);
}

static void
on_order_poll(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	note_reply(o, reply);
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
	} else {
		handle_reply_order(o, reply);
	}
	maybe_finish(o);
}

static void
on_finalize(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	note_reply(o, reply);
	if (reply->problem != NULL) {
		/* RFC 8555 section 7.4: orderNotReady if the CA has not yet
		 * moved the order on; look again before finalizing. */
		if (acme_problem_is(reply->problem, "orderNotReady") && !o->finalize_retried) {
			o->finalize_retried = true;
			o->finalized = false;
			schedule_order_poll(o, reply->retry_after);
		} else {
			fail(o, ACME_ORDER_FAILED, "%s: finalize: %s", o->p.name, reply->message);
		}
	} else {
		handle_reply_order(o, reply);
	}
	maybe_finish(o);
}

static void
finalize(struct acme_order_run *o)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	char *csr = NULL;
	char *payload = NULL;
	json_t *obj = NULL;

	set_step(o, ACME_ORDER_STEP_FINALIZING);
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
		fail(o, ACME_ORDER_FAILED, "%s: cannot make the CSR", o->p.name);
		goto out;
	}
	post(o, o->finalize, payload, on_finalize);
out:
	json_decref(obj);
	free(payload);
	free(csr);
	free(der);
}

/* --- authorizations -------------------------------------------------- */

/* Once every authorization is complete: finalize, unless something failed. */
static void
on_authz_done(int rc, const char *message, time_t retry_after, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	o->authz_pending--;
	note_retry_after(o, retry_after);
	if (rc < 0) {
		fail(o, rc == ACME_ORDER_AUTHZ_CA_FAILED ? ACME_ORDER_CA_FAILED : ACME_ORDER_FAILED,
		     "%s", message);
	} else if (o->authz_pending == 0 && !o->failed && !o->finalized) {
		finalize(o);
	}
	maybe_finish(o);
}

/* Runs every authorization of order in parallel. */
static void
start_authzs(struct acme_order_run *o, const struct acme_order *order)
{
	struct acme_order_authz_params ap = {
	        .name = o->p.name,
	        .ids = o->p.ids,
	        .n_ids = o->p.n_ids,
	        .responder = o->p.responder,
	        .key = o->acct->key,
	        .kid = o->acct->url,
	        .deadline = o->deadline,
	};

	set_step(o, ACME_ORDER_STEP_VALIDATING);
	o->authzs = calloc(order->n_authorizations, sizeof(*o->authzs));
	if (o->authzs == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		return;
	}
	for (size_t i = 0; i < order->n_authorizations && !o->failed; i++) {
		struct acme_order_authz *a;

		a = acme_order_authz_start(o->loop, o->client, &ap, order->authorizations[i],
		                           on_authz_done, o);
		if (a == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name,
			     order->authorizations[i]);
			break;
		}
		o->authzs[o->n_authzs++] = a;
		o->authz_pending++;
		o->inflight++;
	}
}

/* --- newOrder -------------------------------------------------------- */

static void on_new_order(const struct acme_reply *reply, void *arg);

/* Whether the order of resume_url can be taken on: not gone (404),
 * readable and not invalid. Says which, either way. */
static bool
resumable(struct acme_order_run *o, const struct acme_reply *reply)
{
	struct acme_order order;
	char err[256];
	const char *why = NULL;

	memset(&order, 0, sizeof(order));
	if (reply->problem != NULL) {
		why = reply->message;
	} else if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		why = err;
	} else if (order.status == ACME_STATUS_INVALID) {
		why = "invalid";
	}
	acme_parse_order_finish(&order);
	if (why != NULL) {
		log_info("%s: order %s cannot be resumed (%s); ordering anew", o->p.name,
		         o->p.resume_url, why);
		return false;
	}
	log_info("%s: resuming order %s", o->p.name, o->p.resume_url);
	return true;
}

/* newOrder, for a resumed order that could not be taken on (none once
 * the run stopped). */
static void
order_anew(struct acme_order_run *o)
{
	o->resuming = false;
	if (!o->failed) {
		post(o, acme_client_directory(o->client)->new_order, o->new_order_payload,
		     on_new_order);
	}
}

/* newOrder refused: which of acme_order_result the caller acts on. */
static void
refused(struct acme_order_run *o, const struct acme_reply *reply)
{
	note_reply(o, reply);
	if (reply->status == 0) {
		fail(o, ACME_ORDER_NO_ANSWER, "%s: %s", o->p.name, reply->message);
	} else if (acme_problem_is(reply->problem, "accountDoesNotExist")) {
		fail(o, ACME_ORDER_NO_ACCOUNT, "%s: %s", o->p.name, reply->message);
	} else if (o->p.replaces != NULL && (acme_problem_is(reply->problem, "alreadyReplaced") ||
	                                     acme_problem_is(reply->problem, "conflict") ||
	                                     acme_problem_is(reply->problem, "malformed"))) {
		/* RFC 9773 section 5: alreadyReplaced, or a CA that refuses
		 * "replaces" some other way: the caller orders again without
		 * it. */
		fail(o, ACME_ORDER_REPLACED, "%s: %s", o->p.name, reply->message);
	} else if (acme_problem_is(reply->problem, "unauthorized")) {
		/* RFC 8555 section 7.3.6: what a deactivated account gets for
		 * everything it signs. */
		fail(o, ACME_ORDER_ACCOUNT_REFUSED,
		     "%s: %s; if the account was deactivated, move %s away: a new account is "
		     "registered on the next run",
		     o->p.name, reply->message, o->acct->dir);
	} else {
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
	}
}

/* Checks the order the CA created (or the one resumed) at location against
 * what was asked for, then takes it on from its status. */
static void
take_order(struct acme_order_run *o, const struct acme_reply *reply, const char *location)
{
	struct acme_order order;
	char err[256];

	memset(&order, 0, sizeof(order));
	if (location == NULL || !http_url_ok(location)) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: no order URL in Location", o->p.name,
		     reply->url);
		goto out;
	}
	if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, location, err);
		goto out;
	}
	o->url = strdup(location);
	o->finalize = strdup(order.finalize);
	if (o->url == NULL || o->finalize == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		goto out;
	}
	/* The order must be for exactly the identifiers asked for. */
	if (!ident_set_equal(order.identifiers, order.n_identifiers, o->p.ids, o->p.n_ids)) {
		fail(o, ACME_ORDER_FAILED,
		     "%s: %s: the order's identifiers differ from the request", o->p.name, o->url);
		goto out;
	}
	/* One authorization per identifier, never more (RFC 8555 section 7.1.3). */
	if (order.n_authorizations > o->p.n_ids) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %zu authorizations for %zu identifiers",
		     o->p.name, o->url, order.n_authorizations, o->p.n_ids);
		goto out;
	}
	log_debug("%s: order %s", o->p.name, o->url);
	if (o->p.on_url != NULL && !o->resuming) {
		o->p.on_url(o->url, o->arg);
	}
	if (order.status != ACME_STATUS_PENDING || order.n_authorizations == 0) {
		handle_order(o, &order, reply->retry_after);
	} else {
		start_authzs(o, &order);
	}
out:
	acme_parse_order_finish(&order);
}

static void
on_new_order(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;

	o->inflight--;
	note_reply(o, reply);
	if (o->resuming && !resumable(o, reply)) {
		order_anew(o);
	} else if (reply->problem != NULL) {
		refused(o, reply);
	} else {
		take_order(o, reply, o->resuming ? o->p.resume_url : reply->location);
	}
	maybe_finish(o);
}

/* The newOrder payload (RFC 8555 section 7.4) as JSON text: new string or
 * NULL. */
static char *
new_order_payload(const struct acme_order_params *params)
{
	json_t *ids = NULL;
	json_t *payload = NULL;
	char *text = NULL;

	ids = json_array();
	for (size_t i = 0; ids != NULL && i < params->n_ids; i++) {
		json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
		                                     ident_type_name(params->ids[i].type), "value",
		                                     params->ids[i].value));
	}
	payload = json_pack("{s:O}", "identifiers", ids);
	if (payload != NULL && params->replaces != NULL) {
		/* RFC 9773 section 5 */
		json_object_set_new(payload, "replaces", json_string(params->replaces));
	}
	if (payload != NULL && params->profile != NULL) {
		/* draft-ietf-acme-profiles section 4 */
		json_object_set_new(payload, "profile", json_string(params->profile));
	}
	if (payload != NULL) {
		text = json_dumps(payload, JSON_COMPACT);
	}
	json_decref(payload);
	json_decref(ids);
	return text;
}

struct acme_order_run *
acme_order_start(struct ev_loop *loop, struct acme_client *client,
                 const struct acme_account_handle *acct, const struct acme_order_params *params,
                 acme_order_done_fn done, acme_order_step_fn step, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct acme_order_run *o = NULL;
	char *text = NULL;

	if (dir == NULL || acct->url == NULL) {
		log_error("%s: no directory or account", params->name);
		return NULL;
	}
	text = new_order_payload(params);
	o = calloc(1, sizeof(*o));
	if (text == NULL || o == NULL) {
		log_error("out of memory");
		free(o);
		o = NULL;
		goto out;
	}
	o->loop = loop;
	o->client = client;
	o->acct = acct;
	o->p = *params;
	o->done = done;
	o->step = step;
	o->arg = arg;
	o->deadline = ev_now(loop) + (params->timeout_s > 0 ? params->timeout_s : DEFAULT_TIMEOUT);
	o->new_order_payload = text;
	text = NULL;
	o->resuming = params->resume_url != NULL;
	set_step(o, ACME_ORDER_STEP_ORDERING);
	if (acme_client_post(client, o->resuming ? params->resume_url : dir->new_order, acct->key,
	                     acct->url, o->resuming ? NULL : o->new_order_payload, on_new_order,
	                     o) < 0) {
		order_free(o);
		o = NULL;
		goto out;
	}
	o->inflight++;
out:
	free(text);
	return o;
}

void
acme_order_stop(struct acme_order_run *o)
{
	fail(o, ACME_ORDER_STOPPED, "%s: stopped", o->p.name);
	/* The withdrawals that ended at once may have been the last. */
	maybe_finish(o);
}
