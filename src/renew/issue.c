#include "renew/issue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/keygen.h"

/* How long newOrders are not sent after one got no answer (seconds): the
 * orders of a batch behind it fail at once instead of each waiting for
 * its own timeout. After it, the CA is asked again (silent_seen). */
#define ISSUE_SILENT_HOLD 10.0

struct issue {
	struct issue_shared *sh;
	struct issue_request req;
	struct acme_order_params params;
	EVP_PKEY *key;
	struct gate_waiter gate;
	struct acme_order_run *order; /* running, or NULL */
	struct list_node account_wait; /* in sh->account_waiters */
	struct list_node probe_wait; /* in sh->probe_waiters */
	bool account_retried;
	/* issue_stop's: called when the order stopped, instead of done */
	void (*stopped)(void *arg);
	void *stopped_arg;
};

static void start_order(struct issue *is);

static void
finish(struct issue *is, int rc, const char *message, time_t retry_after)
{
	struct issue_result r;

	memset(&r, 0, sizeof(r));
	r.rc = rc;
	r.message = message;
	r.retry_after = retry_after;
	r.key = is->key;
	is->req.done(&r, is->req.arg);
}

static void
on_account_again(int rc, const char *message, void *arg)
{
	struct issue_shared *sh = arg;
	struct list waiters;
	struct list_node *n, *tmp;
	char why[512];

	sh->account_busy = false;
	/* Everyone who hit accountDoesNotExist meanwhile goes on too. */
	list_init(&waiters);
	list_for_each(&sh->account_waiters, n, tmp)
	{
		list_unlink(n);
		list_append(&waiters, n);
	}
	snprintf(why, sizeof(why), "%s", message != NULL ? message : "");
	list_for_each(&waiters, n, tmp)
	{
		struct issue *w = list_entry(n, struct issue, account_wait);
		char failed[1024];

		list_unlink(n);
		if (rc < 0) {
			snprintf(failed, sizeof(failed), "%s: registering the account again: %s",
			         w->req.name, why);
			finish(w, ACME_ORDER_FAILED, failed, 0);
		} else {
			start_order(w);
		}
	}
}

/* The CA forgot the account (a restarted test CA does): register once
 * more, then order again; orders that hit it meanwhile wait for the same. */
static void
register_again(struct issue *is)
{
	struct issue_shared *sh = is->sh;

	is->account_retried = true;
	log_warn("%s: the CA does not know the account; registering again", is->req.name);
	list_append(&sh->account_waiters, &is->account_wait);
	if (sh->account_busy) {
		return;
	}
	if (acme_account_reg_ensure(sh->client, sh->acct, sh->account_options, true,
	                            on_account_again, sh) == ACME_ACCOUNT_OK) {
		sh->account_busy = true;
	} else {
		on_account_again(-1, "cannot start", sh);
	}
}

static void
on_order(int rc, const char *message, const char *pem, size_t pem_len, time_t retry_after,
         void *arg)
{
	struct issue *is = arg;
	struct issue_result r;

	is->order = NULL; /* frees itself after this */
	/* Before the gate lets the next one through. */
	if (rc == ACME_ORDER_NO_ANSWER) {
		is->sh->silent_until = ev_now(is->sh->loop) + ISSUE_SILENT_HOLD;
		is->sh->silent_seen = true;
		snprintf(is->sh->silent_why, sizeof(is->sh->silent_why), "%s", message);
	}
	gate_leave(&is->sh->order_gate, &is->gate);
	if (is->stopped != NULL) {
		/* Whatever it ended with: nothing more is ordered, the next
		 * run resumes the order. */
		is->stopped(is->stopped_arg);
		return;
	}
	if (rc == ACME_ORDER_NO_ACCOUNT && !is->account_retried) {
		register_again(is);
		return;
	}
	if (rc == ACME_ORDER_REPLACED && is->params.replaces != NULL) {
		log_warn("%s; ordering without replaces", message);
		is->params.replaces = NULL;
		start_order(is);
		return;
	}
	if (rc != ACME_ORDER_OK) {
		finish(is, rc, message, retry_after);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.rc = rc;
	r.message = "";
	r.pem = pem;
	r.pem_len = pem_len;
	r.key = is->key;
	is->req.done(&r, is->req.arg);
}

static void
on_step(enum acme_order_step step, void *arg)
{
	struct issue *is = arg;

	if (step != ACME_ORDER_STEP_ORDERING) {
		gate_leave(&is->sh->order_gate, &is->gate);
	}
	if (is->req.on_step != NULL) {
		is->req.on_step(step, is->req.arg);
	}
}

static int
on_url(const char *url, void *arg, char *why, size_t len)
{
	struct issue *is = arg;

	return is->req.on_url != NULL ? is->req.on_url(url, is->key, is->req.arg, why, len) : 0;
}

/* Holds the gate: fails for the CA's silence just seen. */
static void
fail_silent(struct issue *is)
{
	char failed[512];

	gate_leave(&is->sh->order_gate, &is->gate);
	snprintf(failed, sizeof(failed),
	         "%s: not ordered: the CA did not answer a newOrder just before (%.300s)",
	         is->req.name, is->sh->silent_why);
	finish(is, ACME_ORDER_CA_FAILED, failed, 0);
}

/* Holds the gate: sends the newOrder (or the resumed order's first look). */
static void
order_now(struct issue *is)
{
	struct issue_shared *sh = is->sh;
	char failed[512];

	is->order = acme_order_start(sh->loop, sh->client, sh->acct, &is->params, on_order, on_step,
	                             is);
	if (is->order == NULL) {
		gate_leave(&sh->order_gate, &is->gate);
		snprintf(failed, sizeof(failed), "%s: cannot start the order", is->req.name);
		finish(is, ACME_ORDER_FAILED, failed, 0);
	}
}

/* The directory's GET after the hold: any HTTP answer says the CA is
 * back; none starts another hold. The waiting issues go on or fail. */
static void
on_probe(const struct acme_reply *reply, void *arg)
{
	struct issue_shared *sh = arg;
	struct list waiters;
	struct list_node *n, *tmp;
	bool answered = reply->status != 0;

	sh->probing = false;
	if (answered) {
		sh->silent_seen = false;
		log_info("%s answers again", acme_client_directory_url(sh->client));
	} else {
		sh->silent_until = ev_now(sh->loop) + ISSUE_SILENT_HOLD;
		snprintf(sh->silent_why, sizeof(sh->silent_why), "%s", reply->message);
	}
	list_init(&waiters);
	list_for_each(&sh->probe_waiters, n, tmp)
	{
		list_unlink(n);
		list_append(&waiters, n);
	}
	list_for_each(&waiters, n, tmp)
	{
		struct issue *w = list_entry(n, struct issue, probe_wait);

		list_unlink(n);
		if (answered) {
			order_now(w);
		} else {
			fail_silent(w);
		}
	}
}

/* Holds the gate: within the hold after a newOrder got no answer, fails
 * at once; after it, while nothing has answered since, asks for the
 * directory first (one request for every issue that arrives meanwhile);
 * else sends the newOrder. */
static void
send_order(void *arg)
{
	struct issue *is = arg;
	struct issue_shared *sh = is->sh;

	if (ev_now(sh->loop) < sh->silent_until) {
		fail_silent(is);
		return;
	}
	if (sh->silent_seen) {
		list_append(&sh->probe_waiters, &is->probe_wait);
		if (sh->probing) {
			return;
		}
		sh->probing = true;
		if (acme_client_get(sh->client, acme_client_directory_url(sh->client), on_probe,
		                    sh) == 0) {
			return;
		}
		/* Not sent (out of memory): the newOrder asks instead. */
		sh->probing = false;
		sh->silent_seen = false;
		list_unlink(&is->probe_wait);
	}
	order_now(is);
}

static void
start_order(struct issue *is)
{
	gate_enter(&is->sh->order_gate, &is->gate, send_order, is);
}

static void
on_key(EVP_PKEY *key, void *arg)
{
	struct issue *is = arg;
	char failed[512];

	if (key == NULL) {
		snprintf(failed, sizeof(failed), "%s: cannot make a %s key", is->req.name,
		         key_type_name(is->req.key_type));
		finish(is, ACME_ORDER_FAILED, failed, 0);
		return;
	}
	is->key = key;
	is->params.cert_key = key;
	start_order(is);
}

struct issue *
issue_create(struct issue_shared *sh, const struct issue_request *req)
{
	struct issue *is = calloc(1, sizeof(*is));

	if (is == NULL) {
		log_error("out of memory");
		return NULL;
	}
	is->sh = sh;
	is->req = *req;
	is->key = req->key;
	gate_waiter_init(&is->gate);
	list_node_init(&is->account_wait);
	list_node_init(&is->probe_wait);
	is->params.name = req->name;
	is->params.ids = req->ids;
	is->params.n_ids = req->n_ids;
	is->params.responder = req->responder;
	is->params.replaces = req->replaces;
	is->params.profile = req->profile;
	is->params.chain = req->chain;
	is->params.resume_url = req->resume_url;
	is->params.cert_key = is->key;
	is->params.on_url = on_url;
	return is;
}

void
issue_run(struct issue *is)
{
	char failed[512];

	if (is->key != NULL) {
		start_order(is);
	} else if (keygen_submit(is->sh->keygen, is->req.key_type, on_key, is) < 0) {
		snprintf(failed, sizeof(failed), "%s: cannot make a key", is->req.name);
		finish(is, ACME_ORDER_FAILED, failed, 0);
	}
}

void
issue_again(struct issue *is)
{
	is->params.resume_url = NULL;
	EVP_PKEY_free(is->key);
	is->key = NULL;
	is->params.cert_key = NULL;
	issue_run(is);
}

int
issue_stop(struct issue *is, void (*stopped)(void *arg), void *arg)
{
	if (is == NULL || is->order == NULL) {
		return 1;
	}
	is->stopped = stopped;
	is->stopped_arg = arg;
	acme_order_stop(is->order);
	return 0;
}

void
issue_destroy(struct issue *is)
{
	if (is == NULL) {
		return;
	}
	gate_leave(&is->sh->order_gate, &is->gate);
	list_unlink(&is->account_wait);
	list_unlink(&is->probe_wait);
	/* Only a runner that ends has one still running (see job_runner.h). */
	acme_order_abandon(is->order);
	EVP_PKEY_free(is->key);
	free(is);
}
