#include "acme/acme_order_authz.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_json.h"
#include "acme/acme_parse.h"
#include "base/b64.h"
#include "base/log.h"
#include "crypto/jws.h"

#define MESSAGE_LEN 1024

struct acme_order_authz {
	struct ev_loop *loop;
	struct acme_client *client;
	struct acme_order_authz_params p;
	acme_order_authz_done_fn done;
	void *arg;
	char *url;
	char *identifier; /* as the authorization names it */
	enum ident_type id_type;
	bool wildcard;
	char *chal_url;
	char *token;
	char *key_auth;
	char *txt_name;
	char *txt_value;
	char **issuers; /* dns-persist-01's, taken from the authorization */
	size_t n_issuers;
	struct challenge_task task;
	ev_timer timer;
	bool timer_active;
	int polls;
	bool presented;
	bool not_presented; /* the first failure: present's own */
	bool withdrawn;
	bool cancelled;
	bool complete;
	bool failed;
	char message[MESSAGE_LEN];
	time_t retry_after; /* the latest Retry-After of a failed reply */
	/* The last reply failed for the CA's own reason (no answer, 5xx,
	 * serverInternal): a failure after it is the CA's */
	bool ca_trouble;
	char who[512]; /* see who() */
};

/* The label of the authorization in messages: its identifier once known. */
static const char *
label(const struct acme_order_authz *a)
{
	return a->identifier != NULL ? a->identifier : a->url;
}

/* The start of a message: the certificate's name, then the
 * authorization's label unless it is the same (a certificate named after
 * its first domain: "www.example: www.example: ..." said it twice). */
static const char *
who(struct acme_order_authz *a)
{
	const char *l = label(a);
	bool same = strcmp(a->p.name, l) == 0;

	snprintf(a->who, sizeof(a->who), "%s%s%s", a->p.name, same ? "" : ": ", same ? "" : l);
	return a->who;
}

/* The first failure is the one reported. */
static void fail(struct acme_order_authz *a, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
fail(struct acme_order_authz *a, const char *fmt, ...)
{
	va_list ap;

	if (a->failed) {
		return;
	}
	a->failed = true;
	va_start(ap, fmt);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	va_end(ap);
}

/* RFC 8555 section 6.6: a refusal's Retry-After is where the caller's
 * next attempt may start. */
static void
note_reply(struct acme_order_authz *a, const struct acme_reply *reply)
{
	if (reply->problem != NULL && reply->retry_after > a->retry_after) {
		a->retry_after = reply->retry_after;
	}
	a->ca_trouble =
	        reply->problem != NULL && (reply->status == 0 || reply->status >= 500 ||
	                                   acme_problem_is(reply->problem, "serverInternal"));
}

/* The last thing any path does: a is not touched after done. */
static void
complete(struct acme_order_authz *a)
{
	a->complete = true;
	a->done(!a->failed         ? 0
	        : a->not_presented ? ACME_ORDER_AUTHZ_NOT_PRESENTED
	        : a->ca_trouble    ? ACME_ORDER_AUTHZ_CA_FAILED
	                           : -1,
	        a->message, a->retry_after, a->arg);
}

static void
on_cleanup(int rc, const char *message, void *arg)
{
	struct acme_order_authz *a = arg;

	if (rc < 0) {
		log_warn("%s: cleanup: %s", who(a), message);
	}
	complete(a);
}

/* Withdraws the challenge if it was presented (on success and on failure
 * alike), then completes. */
static void
withdraw(struct acme_order_authz *a)
{
	struct challenge *ch = a->p.responder;

	if (a->presented && !a->withdrawn) {
		a->withdrawn = true;
		if (ch->ops->cleanup(ch, &a->task, on_cleanup, a) == 0) {
			return;
		}
		log_warn("%s: cannot withdraw the challenge", who(a));
	}
	complete(a);
}

static int
post(struct acme_order_authz *a, const char *url, const char *payload, acme_reply_fn cb)
{
	if (acme_client_post(a->client, url, a->p.key, a->p.kid, payload, cb, a) < 0) {
		fail(a, "%s: %s: cannot send the request", a->p.name, url);
		return -1;
	}
	return 0;
}

static void on_poll(const struct acme_reply *reply, void *arg);

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acme_order_authz *a = w->data;

	(void)revents;
	a->timer_active = false;
	if (a->cancelled) {
		withdraw(a);
	} else if (ev_now(loop) >= a->p.deadline) {
		fail(a, "%s: validation did not finish in time", who(a));
		withdraw(a);
	} else if (post(a, a->url, NULL, on_poll) < 0) {
		withdraw(a);
	}
}

static void
schedule_poll(struct acme_order_authz *a, time_t retry_after)
{
	double left = a->p.deadline - ev_now(a->loop);

	ev_timer_init(&a->timer, on_timer, 0.0, 0.0);
	a->timer.data = a;
	acme_client_timer_start(a->client, &a->timer,
	                        acme_client_poll_delay(a->client, a->polls++, retry_after, left));
	a->timer_active = true;
}

/* The problem a failed authorization carries, as text (and counted). */
static void
authz_failure(struct acme_order_authz *a, const struct acme_authz *authz, const char *url,
              char *buf, size_t len)
{
	for (size_t i = 0; i < authz->n_challenges; i++) {
		if (authz->challenges[i].error != NULL) {
			acme_client_count_problem(a->client, authz->challenges[i].error);
			acme_problem_format(authz->challenges[i].error, authz->challenges[i].url,
			                    buf, len);
			return;
		}
	}
	snprintf(buf, len, "%s: authorization is %s", url, acme_status_name(authz->status));
}

/* A reply that must carry the authorization: parsed into authz, or the
 * run failed. Returns 0 or -1. */
static int
read_authz(struct acme_order_authz *a, const struct acme_reply *reply, struct acme_authz *authz)
{
	char err[256];

	memset(authz, 0, sizeof(*authz));
	note_reply(a, reply);
	if (reply->problem != NULL) {
		fail(a, "%s: %s", a->p.name, reply->message);
		return -1;
	}
	if (acme_parse_authz(reply->body, reply->body_len, authz, err, sizeof(err)) < 0) {
		fail(a, "%s: %s: %s", a->p.name, reply->url, err);
		return -1;
	}
	return 0;
}

static void
on_poll(const struct acme_reply *reply, void *arg)
{
	struct acme_order_authz *a = arg;
	struct acme_authz authz;
	char why[MESSAGE_LEN];
	bool again = false;

	if (read_authz(a, reply, &authz) < 0) {
		goto out;
	}
	switch (authz.status) {
	case ACME_STATUS_VALID:
		log_debug("%s: authorized", who(a));
		break;
	case ACME_STATUS_PENDING:
	case ACME_STATUS_PROCESSING:
		again = !a->cancelled;
		break;
	default:
		authz_failure(a, &authz, reply->url, why, sizeof(why));
		fail(a, "%s: %s challenge failed: %s", who(a),
		     challenge_type_name(a->p.responder->ops->type), why);
		break;
	}
out:
	acme_parse_authz_finish(&authz);
	if (again) {
		schedule_poll(a, reply->retry_after);
	} else {
		withdraw(a);
	}
}

/* The challenge object a challenge POST answers with (RFC 8555 section
 * 7.5.1): valid means the authorization is (section 7.1.6: one valid
 * challenge is enough) and needs no poll; invalid carries the reason; else,
 * or when the body says nothing readable, the authorization is polled. */
static void
on_respond(const struct acme_reply *reply, void *arg)
{
	struct acme_order_authz *a = arg;
	struct acme_challenge chal;
	char why[MESSAGE_LEN];
	char err[256];

	memset(&chal, 0, sizeof(chal));
	note_reply(a, reply);
	if (reply->problem != NULL) {
		fail(a, "%s: %s", who(a), reply->message);
	} else if (!a->cancelled &&
	           acme_parse_challenge(reply->body, reply->body_len, &chal, err, sizeof(err)) ==
	                   0 &&
	           chal.status == ACME_STATUS_VALID) {
		log_debug("%s: authorized", who(a));
	} else if (!a->cancelled && chal.status == ACME_STATUS_INVALID && chal.error != NULL) {
		acme_client_count_problem(a->client, chal.error);
		acme_problem_format(chal.error, reply->url, why, sizeof(why));
		fail(a, "%s: %s challenge failed: %s", who(a),
		     challenge_type_name(a->p.responder->ops->type), why);
	} else if (!a->cancelled) {
		acme_parse_challenge_finish(&chal);
		schedule_poll(a, reply->retry_after);
		return;
	}
	acme_parse_challenge_finish(&chal);
	withdraw(a);
}

static void
on_present(int rc, const char *message, void *arg)
{
	struct acme_order_authz *a = arg;

	if (rc < 0) {
		/* Before the CA was told: the authorization is still pending
		 * there (unless another failure came first). */
		a->not_presented = !a->failed && !a->cancelled;
		fail(a, "%s: %s", who(a), message);
		withdraw(a);
	} else if (a->cancelled) {
		withdraw(a);
	} else if (post(a, a->chal_url, "{}", on_respond) < 0) {
		/* RFC 8555 section 7.5.1: an empty object tells the CA to
		 * validate. */
		withdraw(a);
	}
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

/* What the responder is given for chal (RFC 8555 sections 8.1 and 8.4;
 * dns-persist-01: its issuer names, taken from chal, and the account's
 * URL). Returns 0 or -1 (out of memory). */
static int
make_task(struct acme_order_authz *a, struct acme_challenge *chal)
{
	a->chal_url = strdup(chal->url);
	if (chal->token != NULL) {
		a->token = strdup(chal->token);
		a->key_auth = jws_key_authorization(a->p.key, chal->token);
		if (a->token == NULL || a->key_auth == NULL) {
			return -1;
		}
	}
	if (a->chal_url == NULL) {
		return -1;
	}
	a->issuers = chal->issuers;
	a->n_issuers = chal->n_issuers;
	chal->issuers = NULL;
	chal->n_issuers = 0;
	if (a->p.responder->ops->type == CHALLENGE_TYPE_DNS01) {
		a->txt_name = concat3("_acme-challenge.", a->identifier, ".");
		a->txt_value = dns_txt_value(a->key_auth);
		if (a->txt_name == NULL || a->txt_value == NULL) {
			return -1;
		}
	}
	a->task.cert_name = a->p.name;
	a->task.id_type = a->id_type;
	a->task.identifier = a->identifier;
	a->task.wildcard = a->wildcard;
	a->task.token = a->token;
	a->task.key_auth = a->key_auth;
	a->task.txt_name = a->txt_name;
	a->task.txt_value = a->txt_value;
	a->task.issuers = (const char *const *)a->issuers;
	a->task.n_issuers = a->n_issuers;
	a->task.account_uri = a->p.kid;
	return 0;
}

/* Picks the responder's challenge type and presents it. Returns 0 or -1 with
 * the run failed. */
static int
present(struct acme_order_authz *a, struct acme_authz *authz)
{
	struct challenge *ch = a->p.responder;
	struct acme_challenge *chal = NULL;

	for (size_t i = 0; i < authz->n_challenges; i++) {
		if (authz->challenges[i].type == ch->ops->type) {
			chal = &authz->challenges[i];
		}
	}
	if (chal == NULL || (chal->token == NULL && chal->type != CHALLENGE_TYPE_DNSPERSIST01)) {
		fail(a, "%s: the CA offers no %s challenge for it%s", who(a),
		     challenge_type_name(ch->ops->type),
		     authz->wildcard ? " (wildcards need dns-01 or dns-persist-01)" : "");
		return -1;
	}
	if (chal->malformed != NULL) {
		/* draft-ietf-acme-dns-persist-01 section 3.1: not answered. */
		fail(a, "%s: the CA's %s challenge is malformed: %s", who(a),
		     challenge_type_name(chal->type), chal->malformed);
		return -1;
	}
	if (make_task(a, chal) < 0) {
		fail(a, "%s: out of memory", a->p.name);
		return -1;
	}
	/* Marked before the call: a responder that failed halfway is still
	 * asked to clean up. */
	a->presented = true;
	if (ch->ops->present(ch, &a->task, on_present, a) < 0) {
		fail(a, "%s: cannot present the %s challenge", who(a),
		     challenge_type_name(ch->ops->type));
		return -1;
	}
	return 0;
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

/* The authorization must be for a name this order asked for. Takes its
 * identifier. Returns 0 or -1 with the run failed. */
static int
take_identifier(struct acme_order_authz *a, const struct acme_authz *authz, const char *url)
{
	bool known = false;

	for (size_t i = 0; i < a->p.n_ids && !known; i++) {
		known = id_matches(&a->p.ids[i], &authz->identifier, authz->wildcard);
	}
	if (!known) {
		fail(a, "%s: %s: authorization for an identifier not requested", a->p.name, url);
		return -1;
	}
	a->identifier = strdup(authz->identifier.value);
	a->id_type = authz->identifier.type;
	a->wildcard = authz->wildcard;
	if (a->identifier == NULL) {
		fail(a, "%s: out of memory", a->p.name);
		return -1;
	}
	return 0;
}

static void
on_authz(const struct acme_reply *reply, void *arg)
{
	struct acme_order_authz *a = arg;
	struct acme_authz authz;
	char why[MESSAGE_LEN];
	bool presenting = false;

	if (read_authz(a, reply, &authz) < 0 || take_identifier(a, &authz, reply->url) < 0 ||
	    a->cancelled) {
		goto out;
	}
	switch (authz.status) {
	case ACME_STATUS_VALID:
		/* Authorized earlier (RFC 8555 section 7.1.4): nothing to do. */
		break;
	case ACME_STATUS_PENDING:
		presenting = present(a, &authz) == 0;
		break;
	default:
		authz_failure(a, &authz, reply->url, why, sizeof(why));
		fail(a, "%s: %s", who(a), why);
		break;
	}
out:
	acme_parse_authz_finish(&authz);
	if (!presenting) {
		withdraw(a);
	}
}

struct acme_order_authz *
acme_order_authz_start(struct ev_loop *loop, struct acme_client *client,
                       const struct acme_order_authz_params *params, const char *url,
                       acme_order_authz_done_fn done, void *arg)
{
	struct acme_order_authz *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->url = strdup(url)) == NULL) {
		log_error("%s: out of memory", params->name);
		free(a);
		return NULL;
	}
	a->loop = loop;
	a->client = client;
	a->p = *params;
	a->done = done;
	a->arg = arg;
	if (acme_client_post(client, url, params->key, params->kid, NULL, on_authz, a) < 0) {
		log_error("%s: %s: cannot send the request", params->name, url);
		acme_order_authz_destroy(a);
		return NULL;
	}
	return a;
}

void
acme_order_authz_cancel(struct acme_order_authz *a)
{
	if (a == NULL || a->complete || a->cancelled) {
		return;
	}
	a->cancelled = true;
	/* Waiting for a poll: withdraw now rather than at the next poll. */
	if (a->timer_active) {
		ev_timer_stop(a->loop, &a->timer);
		a->timer_active = false;
		withdraw(a);
	}
}

void
acme_order_authz_destroy(struct acme_order_authz *a)
{
	if (a == NULL) {
		return;
	}
	if (a->timer_active) {
		ev_timer_stop(a->loop, &a->timer);
	}
	free(a->url);
	free(a->identifier);
	free(a->chal_url);
	free(a->token);
	free(a->key_auth);
	free(a->txt_name);
	free(a->txt_value);
	acme_json_strings_free(a->issuers, a->n_issuers);
	free(a);
}
