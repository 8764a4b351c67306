#include "acme/acme_order.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "crypto/csr.h"
#include "crypto/jws.h"
#include "base/log.h"

#define DEFAULT_TIMEOUT 600.0
#define POLL_MAX_DELAY 30.0
#define POLL_MIN_DELAY 1.0
#define MESSAGE_LEN 1024

struct authz_run {
	struct acme_order_run *order;
	char *url;
	char *identifier;
	enum ident_type id_type;
	bool wildcard;
	char *chal_url;
	char *token;
	char *key_auth;
	char *txt_name;
	char *txt_value;
	struct challenge_task task;
	ev_timer timer;
	bool timer_active;
	int polls;
	bool presented;
	bool withdrawn;
	bool complete;
};

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
	struct authz_run *authzs;
	size_t n_authzs;
	size_t inflight; /* requests, timers and responder calls outstanding */
	bool failed;
	int rc;
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
authz_free(struct authz_run *a)
{
	free(a->url);
	free(a->identifier);
	free(a->chal_url);
	free(a->token);
	free(a->key_auth);
	free(a->txt_name);
	free(a->txt_value);
}

static void
order_free(struct acme_order_run *o)
{
	for (size_t i = 0; i < o->n_authzs; i++) {
		authz_free(&o->authzs[i]);
	}
	free(o->authzs);
	free(o->url);
	free(o->finalize);
	free(o->cert_url);
	free(o->pem);
	free(o->new_order_payload);
	free(o);
}

/* RFC 8555 section 6.6: a refusal's Retry-After is where the caller's
 * next attempt may start. */
static void
note_reply(struct acme_order_run *o, const struct acme_reply *reply)
{
	if (reply->problem != NULL && reply->retry_after > o->retry_after) {
		o->retry_after = reply->retry_after;
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

static void withdraw(struct authz_run *a);

/* The first failure is the one reported. */
static void fail(struct acme_order_run *o, int rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
fail(struct acme_order_run *o, int rc, const char *fmt, ...)
{
	va_list ap;

	if (o->failed) {
		return;
	}
	o->failed = true;
	o->rc = rc;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	if (o->timer_active) {
		ev_timer_stop(o->loop, &o->timer);
		o->timer_active = false;
		o->inflight--;
	}
	/* Authorizations waiting on a poll timer withdraw their challenge now
	 * rather than at the next poll. */
	for (size_t i = 0; i < o->n_authzs; i++) {
		struct authz_run *a = &o->authzs[i];

		if (a->timer_active) {
			ev_timer_stop(o->loop, &a->timer);
			a->timer_active = false;
			o->inflight--;
			withdraw(a);
		}
	}
}

static int
post(struct acme_order_run *o, const char *url, const char *payload, acme_reply_fn cb, void *ctx)
{
	if (acme_client_post(o->client, url, o->acct->key, o->acct->url, payload, cb, ctx) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: cannot send the request", o->p.name, url);
		return -1;
	}
	o->inflight++;
	return 0;
}

/* RFC 8555 section 7.5.1 and 7.4: poll after Retry-After when the server
 * gives one, else 1, 2, 4 ... seconds up to POLL_MAX_DELAY; never past the
 * deadline. */
static double
poll_delay(const struct acme_order_run *o, int polls, time_t retry_after)
{
	double delay = 1.0;
	double left = o->deadline - ev_now(o->loop);

	for (int i = 0; i < polls && delay < POLL_MAX_DELAY; i++) {
		delay *= 2;
	}
	if (delay > POLL_MAX_DELAY) {
		delay = POLL_MAX_DELAY;
	}
	if (retry_after != 0) {
		double ra = difftime(retry_after, time(NULL));

		/* Never faster than once a second, whatever a Retry-After of
		 * 0 or in the past says. */
		delay = ra > POLL_MIN_DELAY ? ra : POLL_MIN_DELAY;
	}
	if (delay > left) {
		delay = left > 0 ? left : 0.0;
	}
	return delay;
}

static bool
id_matches(const struct ident *want, const struct ident *got, bool wildcard)
{
	if (want->type != got->type) {
		return false;
	}
	if (wildcard) {
		return strncmp(want->value, "*.", 2) == 0 &&
		       strcasecmp(want->value + 2, got->value) == 0;
	}
	return strcasecmp(want->value, got->value) == 0;
}

/* --- challenges ------------------------------------------------------ */

static void authz_done_check(struct acme_order_run *o);

static void
on_cleanup(int rc, const char *message, void *arg)
{
	struct authz_run *a = arg;
	struct acme_order_run *o = a->order;

	o->inflight--;
	if (rc < 0) {
		log_warn("%s: %s: cleanup: %s", o->p.name, a->identifier, message);
	}
	a->complete = true;
	authz_done_check(o);
	maybe_finish(o);
}

/* Withdraws the challenge if it was presented (on success and on failure
 * alike), then marks the authorization complete. */
static void
withdraw(struct authz_run *a)
{
	struct acme_order_run *o = a->order;
	struct challenge *ch = o->p.responder;

	if (a->presented && !a->withdrawn) {
		a->withdrawn = true;
		o->inflight++;
		if (ch->ops->cleanup(ch, &a->task, on_cleanup, a) == 0) {
			return;
		}
		o->inflight--;
		log_warn("%s: %s: cannot withdraw the challenge", o->p.name, a->identifier);
	}
	a->complete = true;
	authz_done_check(o);
}

static void on_authz_poll(const struct acme_reply *reply, void *arg);

static void
on_authz_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct authz_run *a = w->data;
	struct acme_order_run *o = a->order;

	a->timer_active = false;
	o->inflight--;
	if (o->failed) {
		withdraw(a);
	} else if (ev_now(loop) >= o->deadline) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: validation did not finish in time", o->p.name,
		     a->identifier);
		withdraw(a);
	} else if (post(o, a->url, NULL, on_authz_poll, a) < 0) {
		withdraw(a);
	}
	maybe_finish(o);
}

static void
schedule_authz_poll(struct authz_run *a, time_t retry_after)
{
	struct acme_order_run *o = a->order;

	ev_timer_init(&a->timer, on_authz_timer, poll_delay(o, a->polls++, retry_after), 0.0);
	a->timer.data = a;
	ev_timer_start(o->loop, &a->timer);
	a->timer_active = true;
	o->inflight++;
}

/* The problem a failed authorization carries, as text. */
static void
authz_failure(const struct acme_authz *authz, const char *url, char *buf, size_t len)
{
	for (size_t i = 0; i < authz->n_challenges; i++) {
		if (authz->challenges[i].error != NULL) {
			acme_problem_format(authz->challenges[i].error, authz->challenges[i].url,
			                    buf, len);
			return;
		}
	}
	snprintf(buf, len, "%s: authorization is %s", url, acme_status_name(authz->status));
}

static void
on_authz_poll(const struct acme_reply *reply, void *arg)
{
	struct authz_run *a = arg;
	struct acme_order_run *o = a->order;
	struct acme_authz authz;
	char err[256];
	char why[MESSAGE_LEN];

	o->inflight--;
	note_reply(o, reply);
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
		withdraw(a);
		goto out;
	}
	if (acme_parse_authz(reply->body, reply->body_len, &authz, err, sizeof(err)) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
		withdraw(a);
		goto out;
	}
	switch (authz.status) {
	case ACME_STATUS_VALID:
		log_debug("%s: %s: authorized", o->p.name, a->identifier);
		withdraw(a);
		break;
	case ACME_STATUS_PENDING:
	case ACME_STATUS_PROCESSING:
		if (o->failed) {
			withdraw(a);
		} else {
			schedule_authz_poll(a, reply->retry_after);
		}
		break;
	default:
		authz_failure(&authz, reply->url, why, sizeof(why));
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s challenge failed: %s", o->p.name,
		     a->identifier, challenge_type_name(o->p.responder->ops->type), why);
		withdraw(a);
		break;
	}
	acme_authz_finish(&authz);
out:
	maybe_finish(o);
}

static void
on_respond(const struct acme_reply *reply, void *arg)
{
	struct authz_run *a = arg;
	struct acme_order_run *o = a->order;

	o->inflight--;
	note_reply(o, reply);
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, a->identifier, reply->message);
		withdraw(a);
	} else if (o->failed) {
		withdraw(a);
	} else {
		schedule_authz_poll(a, reply->retry_after);
	}
	maybe_finish(o);
}

static void
on_present(int rc, const char *message, void *arg)
{
	struct authz_run *a = arg;
	struct acme_order_run *o = a->order;

	o->inflight--;
	if (rc < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, a->identifier, message);
		withdraw(a);
	} else if (o->failed) {
		withdraw(a);
	} else if (post(o, a->chal_url, "{}", on_respond, a) < 0) {
		/* RFC 8555 section 7.5.1: an empty object tells the CA to
		 * validate. */
		withdraw(a);
	}
	maybe_finish(o);
}

static char *
dns_txt_value(const char *key_auth)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(key_auth, strlen(key_auth), md, &md_len, EVP_sha256(), NULL) != 1) {
		return NULL;
	}
	return b64_encode(md, md_len);
}

static char *
concat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	if (s != NULL) {
		snprintf(s, n, "%s%s%s", a, b, c);
	}
	return s;
}

/* Picks the configured challenge type and presents it. Returns 0 or -1 with
 * the order failed. */
static int
present(struct authz_run *a, const struct acme_authz *authz)
{
	struct acme_order_run *o = a->order;
	struct challenge *ch = o->p.responder;
	const struct acme_challenge *chal = NULL;

	for (size_t i = 0; i < authz->n_challenges; i++) {
		if (authz->challenges[i].type == ch->ops->type) {
			chal = &authz->challenges[i];
		}
	}
	if (chal == NULL || chal->token == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: the CA offers no %s challenge for it%s",
		     o->p.name, a->identifier, challenge_type_name(ch->ops->type),
		     authz->wildcard ? " (wildcards need dns-01)" : "");
		return -1;
	}
	a->chal_url = strdup(chal->url);
	a->token = strdup(chal->token);
	a->key_auth = jws_key_authorization(o->acct->key, chal->token);
	if (a->chal_url == NULL || a->token == NULL || a->key_auth == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		return -1;
	}
	if (ch->ops->type == CHALLENGE_TYPE_DNS01) {
		a->txt_name = concat3("_acme-challenge.", a->identifier, ".");
		a->txt_value = dns_txt_value(a->key_auth);
		if (a->txt_name == NULL || a->txt_value == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
			return -1;
		}
	}
	a->task.cert_name = o->p.name;
	a->task.id_type = a->id_type;
	a->task.identifier = a->identifier;
	a->task.wildcard = a->wildcard;
	a->task.token = a->token;
	a->task.key_auth = a->key_auth;
	a->task.txt_name = a->txt_name;
	a->task.txt_value = a->txt_value;
	/* Marked before the call: a responder that failed halfway is still
	 * asked to clean up. */
	a->presented = true;
	o->inflight++;
	if (ch->ops->present(ch, &a->task, on_present, a) < 0) {
		o->inflight--;
		fail(o, ACME_ORDER_FAILED, "%s: %s: cannot present the %s challenge", o->p.name,
		     a->identifier, challenge_type_name(ch->ops->type));
		return -1;
	}
	return 0;
}

static void
on_authz(const struct acme_reply *reply, void *arg)
{
	struct authz_run *a = arg;
	struct acme_order_run *o = a->order;
	struct acme_authz authz;
	char err[256];
	char why[MESSAGE_LEN];
	bool known = false;

	o->inflight--;
	note_reply(o, reply);
	memset(&authz, 0, sizeof(authz));
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
		goto done;
	}
	if (acme_parse_authz(reply->body, reply->body_len, &authz, err, sizeof(err)) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
		goto done;
	}
	/* The authorization must be for a name this order asked for. */
	for (size_t i = 0; i < o->p.n_ids && !known; i++) {
		known = id_matches(&o->p.ids[i], &authz.identifier, authz.wildcard);
	}
	if (!known) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: authorization for an identifier not requested",
		     o->p.name, reply->url);
		goto done;
	}
	a->identifier = strdup(authz.identifier.value);
	a->id_type = authz.identifier.type;
	a->wildcard = authz.wildcard;
	if (a->identifier == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		goto done;
	}
	if (o->failed) {
		goto done;
	}
	switch (authz.status) {
	case ACME_STATUS_VALID:
		/* Authorized earlier (RFC 8555 section 7.1.4): nothing to do. */
		goto done;
	case ACME_STATUS_PENDING:
		if (present(a, &authz) < 0) {
			goto done;
		}
		break;
	default:
		authz_failure(&authz, reply->url, why, sizeof(why));
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, a->identifier, why);
		goto done;
	}
	acme_authz_finish(&authz);
	maybe_finish(o);
	return;
done:
	acme_authz_finish(&authz);
	withdraw(a);
	maybe_finish(o);
}

/* --- finalize and download ------------------------------------------- */

static void finalize(struct acme_order_run *o);
static void handle_order(struct acme_order_run *o, const struct acme_order *order,
                         time_t retry_after);

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
		o->pem = malloc(reply->body_len + 1);
		if (o->pem == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		} else {
			memcpy(o->pem, reply->body, reply->body_len);
			o->pem[reply->body_len] = '\0';
			o->pem_len = reply->body_len;
			o->complete = true;
		}
	}
	maybe_finish(o);
}

static void
download(struct acme_order_run *o)
{
	set_step(o, ACME_ORDER_STEP_DOWNLOADING);
	post(o, o->cert_url, NULL, on_cert, o);
}

static void on_order_poll(const struct acme_reply *reply, void *arg);

static void
on_order_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acme_order_run *o = w->data;

	o->timer_active = false;
	o->inflight--;
	if (ev_now(loop) >= o->deadline) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: the order did not finish in time", o->p.name,
		     o->url);
	} else {
		post(o, o->url, NULL, on_order_poll, o);
	}
	maybe_finish(o);
}

static void
schedule_order_poll(struct acme_order_run *o, time_t retry_after)
{
	ev_timer_init(&o->timer, on_order_timer, poll_delay(o, o->polls++, retry_after), 0.0);
	o->timer.data = o;
	ev_timer_start(o->loop, &o->timer);
	o->timer_active = true;
	o->inflight++;
}

static void
on_order_poll(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;
	struct acme_order order;
	char err[256];

	o->inflight--;
	note_reply(o, reply);
	if (reply->problem != NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
	} else if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
	} else {
		handle_order(o, &order, reply->retry_after);
		acme_order_finish(&order);
	}
	maybe_finish(o);
}

/* Acts on an order object whatever request returned it. */
static void
handle_order(struct acme_order_run *o, const struct acme_order *order, time_t retry_after)
{
	char why[MESSAGE_LEN];

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
			acme_problem_format(order->error, o->url, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "%s: order is %s", o->url,
			         acme_status_name(order->status));
		}
		fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, why);
		break;
	}
}

static void
on_finalize(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;
	struct acme_order order;
	char err[256];

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
	} else if (acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0) {
		fail(o, ACME_ORDER_FAILED, "%s: %s: %s", o->p.name, reply->url, err);
	} else {
		handle_order(o, &order, reply->retry_after);
		acme_order_finish(&order);
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
	der = csr_create(o->p.cert_key, o->p.ids, o->p.n_ids, &der_len);
	if (der != NULL) {
		csr = b64_encode(der, der_len);
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
	post(o, o->finalize, payload, on_finalize, o);
out:
	json_decref(obj);
	free(payload);
	free(csr);
	free(der);
}

/* Once every authorization is complete: finalize, unless something failed. */
static void
authz_done_check(struct acme_order_run *o)
{
	for (size_t i = 0; i < o->n_authzs; i++) {
		if (!o->authzs[i].complete) {
			return;
		}
	}
	if (!o->failed && !o->finalized) {
		finalize(o);
	}
}

/* --- newOrder -------------------------------------------------------- */

/* The order must be for exactly the identifiers asked for. */
static int
check_identifiers(struct acme_order_run *o, const struct acme_order *order)
{
	if (order->n_identifiers != o->p.n_ids) {
		return -1;
	}
	for (size_t i = 0; i < order->n_identifiers; i++) {
		bool found = false;

		for (size_t j = 0; j < o->p.n_ids && !found; j++) {
			found = o->p.ids[j].type == order->identifiers[i].type &&
			        strcasecmp(o->p.ids[j].value, order->identifiers[i].value) == 0;
		}
		if (!found) {
			return -1;
		}
	}
	return 0;
}

static void
on_new_order(const struct acme_reply *reply, void *arg)
{
	struct acme_order_run *o = arg;
	struct acme_order order;
	const char *location = reply->location;
	char err[256];

	o->inflight--;
	note_reply(o, reply);
	memset(&order, 0, sizeof(order));
	if (o->resuming) {
		location = o->p.resume_url;
		if (reply->problem != NULL ||
		    acme_parse_order(reply->body, reply->body_len, &order, err, sizeof(err)) < 0 ||
		    order.status == ACME_STATUS_INVALID) {
			/* Gone (404), unreadable or failed: a new order. */
			log_info("%s: order %s cannot be resumed (%s); ordering anew", o->p.name,
			         location,
			         reply->problem != NULL                ? reply->message
			         : order.status == ACME_STATUS_INVALID ? "invalid"
			                                               : err);
			acme_order_finish(&order);
			o->resuming = false;
			if (acme_client_post(o->client, acme_client_directory(o->client)->new_order,
			                     o->acct->key, o->acct->url, o->new_order_payload,
			                     on_new_order, o) < 0) {
				fail(o, ACME_ORDER_FAILED, "%s: cannot send newOrder", o->p.name);
			} else {
				o->inflight++;
			}
			goto out;
		}
		acme_order_finish(&order);
		log_info("%s: resuming order %s", o->p.name, location);
	}
	if (reply->problem != NULL) {
		if (acme_problem_is(reply->problem, "accountDoesNotExist")) {
			fail(o, ACME_ORDER_NO_ACCOUNT, "%s: %s", o->p.name, reply->message);
		} else if (o->p.replaces != NULL &&
		           (acme_problem_is(reply->problem, "alreadyReplaced") ||
		            acme_problem_is(reply->problem, "conflict") ||
		            acme_problem_is(reply->problem, "malformed"))) {
			/* RFC 9773 section 5: alreadyReplaced, or a CA that
			 * refuses "replaces" some other way: the caller orders
			 * again without it. */
			fail(o, ACME_ORDER_REPLACED, "%s: %s", o->p.name, reply->message);
		} else if (acme_problem_is(reply->problem, "unauthorized")) {
			/* RFC 8555 section 7.3.6: what a deactivated account
			 * gets for everything it signs. */
			fail(o, ACME_ORDER_ACCOUNT_REFUSED,
			     "%s: %s; if the account was deactivated, move %s away: a new account "
			     "is registered on the next run",
			     o->p.name, reply->message, o->acct->dir);
		} else {
			fail(o, ACME_ORDER_FAILED, "%s: %s", o->p.name, reply->message);
		}
		goto out;
	}
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
	if (check_identifiers(o, &order) < 0) {
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
		goto out;
	}
	set_step(o, ACME_ORDER_STEP_VALIDATING);
	o->authzs = calloc(order.n_authorizations, sizeof(*o->authzs));
	if (o->authzs == NULL) {
		fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		goto out;
	}
	o->n_authzs = order.n_authorizations;
	for (size_t i = 0; i < o->n_authzs; i++) {
		struct authz_run *a = &o->authzs[i];

		a->order = o;
		a->url = strdup(order.authorizations[i]);
		if (a->url == NULL) {
			fail(o, ACME_ORDER_FAILED, "%s: out of memory", o->p.name);
		}
	}
	for (size_t i = 0; i < o->n_authzs; i++) {
		struct authz_run *a = &o->authzs[i];

		if (o->failed || post(o, a->url, NULL, on_authz, a) < 0) {
			a->complete = true;
		}
	}
out:
	acme_order_finish(&order);
	maybe_finish(o);
}

struct acme_order_run *
acme_order_start(struct ev_loop *loop, struct acme_client *client,
                 const struct acme_account_handle *acct, const struct acme_order_params *params,
                 acme_order_done_fn done, acme_order_step_fn step, void *arg)
{
	const struct acme_directory *dir = acme_client_directory(client);
	struct acme_order_run *o = NULL;
	json_t *ids = NULL;
	json_t *payload = NULL;
	char *text = NULL;

	if (dir == NULL || acct->url == NULL) {
		log_error("%s: no directory or account", params->name);
		return NULL;
	}
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
		free(o->new_order_payload);
		free(o);
		o = NULL;
		goto out;
	}
	o->inflight++;
out:
	free(text);
	json_decref(payload);
	json_decref(ids);
	return o;
}
