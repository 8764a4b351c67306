/* The run of one order (acme_order.h): its life (start, stop, abandon, the
 * one call of done), newOrder or the order resumed, the authorizations.
 * Its end (polls, finalize, download) is acme_order_final.c; the two share
 * acme_order_internal.h. */
#include "acme/acme_order.h"
#include "acme/acme_order_internal.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_order_authz.h"
#include "acme/acme_parse.h"
#include "base/log.h"

#define DEFAULT_TIMEOUT 600.0

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

void
acme_order_set_step(struct acme_order_run *o, enum acme_order_step step)
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

void
acme_order_note_reply(struct acme_order_run *o, const struct acme_reply *reply)
{
	o->trouble = ca_trouble(reply);
	if (reply->problem != NULL) {
		note_retry_after(o, reply->retry_after);
	}
}

/* Calls done once nothing is outstanding, then frees the run. */
void
acme_order_maybe_finish(struct acme_order_run *o)
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
void
acme_order_fail(struct acme_order_run *o, enum acme_order_result rc, const char *fmt, ...)
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

int
acme_order_post(struct acme_order_run *o, const char *url, const char *payload, acme_reply_fn cb)
{
	if (acme_client_post(o->client, url, o->acct->key, o->acct->url, payload, cb, o) < 0) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name,
		                url);
		return -1;
	}
	o->inflight++;
	return 0;
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
		acme_order_fail(o,
		                rc == ACME_ORDER_AUTHZ_CA_FAILED       ? ACME_ORDER_CA_FAILED
		                : rc == ACME_ORDER_AUTHZ_NOT_PRESENTED ? ACME_ORDER_NOT_PRESENTED
		                                                       : ACME_ORDER_FAILED,
		                "%s", message);
	} else if (o->authz_pending == 0 && !o->failed && !o->finalized) {
		acme_order_finalize(o);
	}
	acme_order_maybe_finish(o);
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

	acme_order_set_step(o, ACME_ORDER_STEP_VALIDATING);
	o->authzs = calloc(order->n_authorizations, sizeof(*o->authzs));
	if (o->authzs == NULL) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		return;
	}
	for (size_t i = 0; i < order->n_authorizations && !o->failed; i++) {
		struct acme_order_authz *a;

		a = acme_order_authz_start(o->loop, o->client, &ap, order->authorizations[i],
		                           on_authz_done, o);
		if (a == NULL) {
			acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request",
			                o->p.name, order->authorizations[i]);
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
 * readable, not invalid and for the names asked for. Says which, either
 * way. */
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
	} else if (!ident_set_equal(order.identifiers, order.n_identifiers, o->p.ids, o->p.n_ids)) {
		/* The names were changed since it was placed: the CA would
		 * refuse its finalize with these (RFC 8555 section 7.4). */
		why = "it is for other names";
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
		acme_order_post(o, acme_client_directory(o->client)->new_order,
		                o->new_order_payload, on_new_order);
	}
}

/* newOrder refused: which of acme_order_result the caller acts on. */
static void
refused(struct acme_order_run *o, const struct acme_reply *reply)
{
	acme_order_note_reply(o, reply);
	if (reply->status == 0) {
		acme_order_fail(o, ACME_ORDER_NO_ANSWER, "%s: %s", o->p.name, reply->message);
	} else if (acme_problem_is(reply->problem, "accountDoesNotExist")) {
		acme_order_fail(o, ACME_ORDER_NO_ACCOUNT, "%s: %s", o->p.name, reply->message);
	} else if (o->p.replaces != NULL && (acme_problem_is(reply->problem, "alreadyReplaced") ||
	                                     acme_problem_is(reply->problem, "conflict") ||
	                                     acme_problem_is(reply->problem, "malformed"))) {
		/* RFC 9773 section 5: alreadyReplaced, or a CA that refuses
		 * "replaces" some other way: the caller orders again without
		 * it. */
		acme_order_fail(o, ACME_ORDER_REPLACED, "%s: %s", o->p.name, reply->message);
	} else if (acme_problem_is(reply->problem, "unauthorized")) {
		/* RFC 8555 section 7.3.6: what a deactivated account gets for
		 * everything it signs. */
		acme_order_fail(
		        o, ACME_ORDER_ACCOUNT_REFUSED,
		        "%s: %s; if the account was deactivated, move %s away: a new account is "
		        "registered on the next run",
		        o->p.name, reply->message, o->acct->dir);
	} else {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
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
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: no order URL in Location", o->p.name,
		                reply->url);
		goto out;
	}
	if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, location, err);
		goto out;
	}
	o->url = strdup(location);
	o->finalize = strdup(order.finalize);
	if (o->url == NULL || o->finalize == NULL) {
		acme_order_fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		goto out;
	}
	/* The order must be for exactly the identifiers asked for. */
	if (!ident_set_equal(order.identifiers, order.n_identifiers, o->p.ids, o->p.n_ids)) {
		acme_order_fail(o, ACME_ORDER_FAILED,
		                "%s: %s: the order's identifiers differ from the request",
		                o->p.name, o->url);
		goto out;
	}
	/* One authorization per identifier, never more (RFC 8555 section 7.1.3). */
	if (order.n_authorizations > o->p.n_ids) {
		acme_order_fail(o, ACME_ORDER_FAILED,
		                "%s: %s: %zu authorizations for %zu identifiers", o->p.name, o->url,
		                order.n_authorizations, o->p.n_ids);
		goto out;
	}
	log_debug("%s: order %s", o->p.name, o->url);
	if (o->p.on_url != NULL && !o->resuming) {
		char why[512] = "";

		if (o->p.on_url(o->url, o->arg, why, sizeof(why)) < 0) {
			acme_order_fail(o, ACME_ORDER_FAILED, "%s", why);
			goto out;
		}
	}
	if (order.status != ACME_STATUS_PENDING || order.n_authorizations == 0) {
		acme_order_final_handle(o, &order, reply->retry_after);
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
	acme_order_note_reply(o, reply);
	if (o->resuming && !resumable(o, reply)) {
		order_anew(o);
	} else if (reply->problem != NULL) {
		refused(o, reply);
	} else {
		take_order(o, reply, o->resuming ? o->p.resume_url : reply->location);
	}
	acme_order_maybe_finish(o);
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
	acme_order_set_step(o, ACME_ORDER_STEP_ORDERING);
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
	acme_order_fail(o, ACME_ORDER_STOPPED, "%s: stopped", o->p.name);
	/* The withdrawals that ended at once may have been the last. */
	acme_order_maybe_finish(o);
}
