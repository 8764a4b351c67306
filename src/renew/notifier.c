#include "renew/notifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "io/hook.h"
#include "io/http.h"
#include "store/notified.h"

#define NOTIFIER_DEFAULT_SENDMAIL "/usr/sbin/sendmail"
#define NOTIFIER_TIMEOUT_S 60. /* a hook or sendmail, a webhook's POST */

/* The waits before each retry: the daemon's span about an hour, a one-shot
 * command's a few seconds. */
static const double daemon_retries[] = {10, 60, 300, 900, 1800};
static const double one_shot_retries[] = {1, 3};

struct notifier {
	struct ev_loop *loop;
	enum notifier_mode mode;
	char *state_dir;
	char *host;
	char **hook_argv; /* notify-hook split, or NULL */
	char *webhook; /* or NULL */
	long webhook_format;
	char *email; /* or NULL */
	char *sendmail;
	long interval;
	long warn_before;
	struct http *http; /* the webhook's, or NULL */
	struct list deliveries;
};

/* One notice on its way through one channel. */
struct delivery {
	struct list_node node; /* in the notifier's deliveries */
	struct notifier *n;
	enum notifier_channel channel;
	struct notice nt; /* its strings the copies below */
	char *cert;
	char *message;
	char *ca;
	int tries;
	ev_timer retry;
	struct hook *hook; /* in flight: the hook or sendmail */
	bool posting; /* in flight: the webhook's POST */
	notifier_result_fn done;
	void *arg;
};

const char *
notifier_channel_name(enum notifier_channel channel)
{
	static const char *const names[NOTIFIER__MAX] = {
	        [NOTIFIER_HOOK] = "notify-hook",
	        [NOTIFIER_WEBHOOK] = "notify-webhook",
	        [NOTIFIER_EMAIL] = "notify-email",
	};

	return channel < NOTIFIER__MAX ? names[channel] : "?";
}

static void
delivery_free(struct delivery *d)
{
	list_unlink(&d->node);
	ev_timer_stop(d->n->loop, &d->retry);
	hook_cancel(d->hook);
	free(d->cert);
	free(d->message);
	free(d->ca);
	free(d);
}

static void start(struct delivery *d);

/* The channel said ok or not: done, or tried again later. */
static void
finished(struct delivery *d, bool ok, const char *why)
{
	const double *waits = d->n->mode == NOTIFIER_DAEMON ? daemon_retries : one_shot_retries;
	int max = d->n->mode == NOTIFIER_DAEMON ? (int)(sizeof(daemon_retries) / sizeof(double))
	                                        : (int)(sizeof(one_shot_retries) / sizeof(double));
	const char *channel = notifier_channel_name(d->channel);
	const char *event = notice_event_name(d->nt.event);

	d->hook = NULL;
	d->posting = false;
	if (ok) {
		log_info("%s: %s: told %s", channel, d->cert, event);
	} else if (d->tries <= max) {
		log_warn("%s: %s: %s not told: %s; trying again in %.0f s", channel, d->cert, event,
		         why, waits[d->tries - 1]);
		ev_timer_set(&d->retry, waits[d->tries - 1], 0.);
		ev_timer_start(d->n->loop, &d->retry);
		return;
	} else {
		log_error("%s: %s: %s not told after %d tries: %s", channel, d->cert, event,
		          d->tries, why);
	}
	if (d->done != NULL) {
		d->done(d->channel, ok, ok ? NULL : why, d->arg);
	}
	delivery_free(d);
}

static void
on_hook(int status, const char *why, const char *output, void *arg)
{
	struct delivery *d = arg;
	char reason[512];

	/* What the program said is the best reason there is. */
	if (status != 0 && output != NULL && output[0] != '\0') {
		snprintf(reason, sizeof(reason), "%s: %.*s", why, (int)strcspn(output, "\n"),
		         output);
		why = reason;
	}
	finished(d, status == 0, why);
}

static void
on_posted(const struct http_response *resp, void *arg)
{
	struct delivery *d = arg;
	char why[512];

	if (resp->status == 0) {
		snprintf(why, sizeof(why), "%s", resp->error != NULL ? resp->error : "failed");
	} else {
		/* Not its URL: a Slack webhook's path is its secret. */
		snprintf(why, sizeof(why), "the webhook answered %ld", resp->status);
	}
	finished(d, resp->status >= 200 && resp->status < 300, why);
}

static void
start(struct delivery *d)
{
	struct notifier *n = d->n;
	char *body = NULL;
	char **env = NULL;
	size_t len = 0;
	const char *why = "out of memory";

	d->tries++;
	switch (d->channel) {
	case NOTIFIER_HOOK:
		env = notice_env(&d->nt);
		if (env != NULL) {
			d->hook = hook_run(n->loop, n->hook_argv, env, NOTIFIER_TIMEOUT_S, on_hook,
			                   d);
			why = "cannot run it";
		}
		break;
	case NOTIFIER_WEBHOOK:
		body = n->webhook_format == CONF_WEBHOOK_SLACK ? notice_slack(&d->nt)
		                                               : notice_json(&d->nt);
		if (body != NULL) {
			d->posting = http_request(n->http, "POST", n->webhook, "application/json",
			                          body, strlen(body), on_posted, d) == 0;
			why = "cannot send the request";
		}
		break;
	case NOTIFIER_EMAIL:
		body = notice_email(&d->nt, n->email, &len);
		if (body != NULL) {
			char opt_t[] = "-t";
			char opt_i[] = "-i";
			char *argv[] = {n->sendmail, opt_t, opt_i, NULL};

			d->hook = hook_run_input(n->loop, argv, NULL, body, len, NOTIFIER_TIMEOUT_S,
			                         on_hook, d);
			why = "cannot run sendmail";
		}
		break;
	case NOTIFIER__MAX:
		break;
	}
	notice_env_free(env);
	free(body);
	if (d->hook == NULL && !d->posting) {
		finished(d, false, why);
	}
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	start(w->data);
}

static bool
has_channel(const struct notifier *n, enum notifier_channel c)
{
	return (c == NOTIFIER_HOOK && n->hook_argv != NULL) ||
	       (c == NOTIFIER_WEBHOOK && n->webhook != NULL) ||
	       (c == NOTIFIER_EMAIL && n->email != NULL);
}

int
notifier_send(struct notifier *n, const struct notice *nt, notifier_result_fn done, void *arg)
{
	int sent = 0;

	for (int c = 0; n != NULL && c < NOTIFIER__MAX; c++) {
		struct delivery *d;

		if (!has_channel(n, (enum notifier_channel)c)) {
			continue;
		}
		d = calloc(1, sizeof(*d));
		if (d == NULL || (d->cert = strdup(nt->cert != NULL ? nt->cert : "")) == NULL ||
		    (d->message = strdup(nt->message != NULL ? nt->message : "")) == NULL ||
		    (nt->ca != NULL && (d->ca = strdup(nt->ca)) == NULL)) {
			log_error("%s: out of memory",
			          notifier_channel_name((enum notifier_channel)c));
			if (d != NULL) {
				free(d->cert);
				free(d->message);
				free(d);
			}
			continue;
		}
		d->n = n;
		d->channel = (enum notifier_channel)c;
		d->nt = *nt;
		d->nt.cert = d->cert;
		d->nt.message = d->message;
		d->nt.ca = d->ca;
		d->nt.host = n->host;
		d->nt.when = nt->when != 0 ? nt->when : time(NULL);
		d->done = done;
		d->arg = arg;
		ev_timer_init(&d->retry, on_retry, 0., 0.);
		d->retry.data = d;
		list_append(&n->deliveries, &d->node);
		sent++;
		start(d);
	}
	return sent;
}

/* The notice window: warn-before, but at most a quarter of the
 * certificate's life, so that a certificate living shorter than it (six
 * days, say) is not "expiring" from the day it is issued: a quarter of its
 * life left is past the renewal time of any policy. */
static time_t
warn_window(const struct notifier *n, time_t not_before, time_t not_after)
{
	time_t quarter = not_before != 0 && not_after > not_before ? (not_after - not_before) / 4
	                                                           : n->warn_before;

	return quarter < n->warn_before ? quarter : n->warn_before;
}

/* The unless for renewal-failed (notified_claim): once per failure in a
 * row, not at each retry (told before it began: told again), and once
 * more when the certificate enters its notice window; never twice within
 * notify-interval (unless already says so). A failure in a row begins
 * after the last success (state.json; 0 when none, and a first record
 * then is the only one). A notice given back (no channel took it, acmed
 * stopped first) is raised again by the next failure. */
static time_t
streak_start(const struct notifier *n, const struct state *st, time_t not_before, time_t not_after,
             time_t unless)
{
	time_t begun = st != NULL ? st->last_success : 0;
	time_t now = unless + n->interval;

	if (not_after != 0 && not_after - now < warn_window(n, not_before, not_after)) {
		time_t entered = not_after - warn_window(n, not_before, not_after);

		begun = entered > begun ? entered : begun;
	}
	return begun < unless ? begun : unless;
}

/* "N days H hours" (or "H hours") of seconds into buf. */
static const char *
span(long seconds, char *buf, size_t len)
{
	long days = seconds / 86400;
	long hours = seconds % 86400 / 3600;

	if (days > 0) {
		snprintf(buf, len, "%ld day%s %ld hour%s", days, days == 1 ? "" : "s", hours,
		         hours == 1 ? "" : "s");
	} else {
		snprintf(buf, len, "%ld hour%s", hours, hours == 1 ? "" : "s");
	}
	return buf;
}

/* A notice claimed in notified.json on its way through every channel:
 * told when one channel took it; given back when none did (every try
 * failed, or acmed stopped first), so that it is told the next time it is
 * raised. */
struct claimed {
	char *state_dir;
	char *cert;
	const char *event;
	time_t at;
	time_t prev;
	int pending;
	bool told;
};

static void
claimed_end(struct claimed *c)
{
	if (!c->told) {
		log_warn("%s: %s reached no channel: told again when it happens again", c->cert,
		         c->event);
		notified_release(c->state_dir, c->cert, c->event, c->at, c->prev);
	}
	free(c->state_dir);
	free(c->cert);
	free(c);
}

static void
on_claimed(enum notifier_channel channel, bool ok, const char *why, void *arg)
{
	struct claimed *c = arg;

	(void)channel;
	(void)why;
	c->told = c->told || ok;
	if (--c->pending == 0) {
		claimed_end(c);
	}
}

/* Sends nt unless its event was told for its certificate at or after
 * unless (store/notified.h). */
static void
post(struct notifier *n, const struct notice *nt, time_t unless)
{
	const char *event = notice_event_name(nt->event);
	struct claimed *c = NULL;
	char date[32] = "?";
	struct tm tm;
	time_t prev = 0;
	int claim = notified_claim(n->state_dir, nt->cert, event, nt->when, unless, &prev);

	if (claim == 0) {
		if (gmtime_r(&prev, &tm) != NULL) {
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
		}
		/* Said, so that silence is never a mystery. */
		log_info("%s: %s told on %s already: not again now (notify-interval, or once a "
		         "failure in a row)",
		         nt->cert, event, date);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c != NULL && claim == 1 && (c->state_dir = strdup(n->state_dir)) != NULL &&
	    (c->cert = strdup(nt->cert)) != NULL) {
		c->event = event;
		c->at = nt->when;
		c->prev = prev;
		/* More than can end while the channels start; set right after. */
		c->pending = NOTIFIER__MAX;
		c->pending -= NOTIFIER__MAX - notifier_send(n, nt, on_claimed, c);
		if (c->pending == 0) {
			claimed_end(c);
		}
		return;
	}
	if (c != NULL) {
		free(c->state_dir);
		free(c);
	}
	notifier_send(n, nt, NULL, NULL);
}

void
notifier_job_done(struct notifier *n, const struct job_outcome *o)
{
	const struct state *st = o->view != NULL ? &o->view->st : NULL;
	time_t not_before = o->view != NULL ? o->view->info.not_before : 0;
	struct notice nt = {.cert = o->name,
	                    .message = o->message,
	                    .not_after = o->not_after,
	                    .ca = o->ca_url,
	                    .failures = o->attempts,
	                    .when = time(NULL)};
	time_t unless;
	char line[256];

	if (n == NULL) {
		return;
	}
	unless = nt.when - n->interval;
	switch (o->result) {
	case JOB_ISSUED:
	case JOB_RENEWED:
		nt.event = NOTICE_RENEWED;
		if (st != NULL && st->deploy_pending) {
			nt.event = NOTICE_DEPLOY_FAILED;
			nt.message = st->deploy_error;
		} else {
			struct tm tm;
			char date[32] = "";

			if (o->not_after != 0 && gmtime_r(&o->not_after, &tm) != NULL) {
				strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
			}
			snprintf(line, sizeof(line), "valid until %s", date);
			nt.message = line;
		}
		post(n, &nt, unless);
		break;
	case JOB_DEPLOYED:
		/* The deploy hook that failed (deploy-failed was told) ran
		 * again and succeeded: the all-clear. */
		nt.event = NOTICE_RENEWED;
		nt.message = "installed earlier; its deploy hook succeeded now";
		post(n, &nt, unless);
		break;
	case JOB_FAILED:
		if (st != NULL && st->deploy_pending) {
			nt.event = NOTICE_DEPLOY_FAILED;
			nt.message = st->deploy_error != NULL ? st->deploy_error : o->message;
			post(n, &nt, unless);
			break;
		}
		nt.event = NOTICE_RENEWAL_FAILED;
		post(n, &nt, streak_start(n, st, not_before, o->not_after, unless));
		break;
	default:
		break;
	}
}

void
notifier_check_expiry(struct notifier *n, const char *cert, time_t not_before, time_t not_after,
                      const char *ca, long failures)
{
	struct notice nt = {.event = NOTICE_EXPIRING,
	                    .cert = cert,
	                    .not_after = not_after,
	                    .ca = ca,
	                    .failures = failures,
	                    .when = time(NULL)};
	char line[128];
	char left_text[64];
	long left;

	if (n == NULL || not_after == 0 ||
	    not_after - nt.when >= warn_window(n, not_before, not_after)) {
		return;
	}
	left = (long)(not_after - nt.when);
	if (left <= 0) {
		snprintf(line, sizeof(line), "expired %s ago and was not renewed",
		         span(-left, left_text, sizeof(left_text)));
	} else {
		snprintf(line, sizeof(line), "expires in %s and was not renewed",
		         span(left, left_text, sizeof(left_text)));
	}
	nt.message = line;
	post(n, &nt, nt.when - n->interval);
}

void
notifier_check_window(struct notifier *n, const char *cert, time_t not_after, const char *ca,
                      time_t window_end)
{
	struct notice nt = {.event = NOTICE_ARI_REPLACE_NOW,
	                    .cert = cert,
	                    .message = "its renewal window (RFC 9773) has ended: the CA asks to "
	                               "replace it at once",
	                    .not_after = not_after,
	                    .ca = ca,
	                    .when = time(NULL)};

	if (n == NULL || window_end == 0 || window_end > nt.when) {
		return;
	}
	post(n, &nt, nt.when - n->interval);
}

bool
notifier_busy(const struct notifier *n)
{
	return n != NULL && !list_empty(&n->deliveries);
}

struct notifier *
notifier_create(struct ev_loop *loop, const struct conf_settings *global, const char *state_dir,
                const char *host, enum notifier_mode mode)
{
	struct notifier *n = NULL;
	struct http_options opts = {.total_timeout_ms = (long)(NOTIFIER_TIMEOUT_S * 1000),
	                            .loopback_http = true};
	bool ok = false;

	if (global->notify_hook == NULL && global->notify_webhook == NULL &&
	    global->notify_email == NULL) {
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		goto out;
	}
	list_init(&n->deliveries);
	n->loop = loop;
	n->mode = mode;
	n->webhook_format = global->notify_webhook_format;
	n->interval = global->notify_interval;
	n->warn_before = global->warn_before;
	if ((n->state_dir = strdup(state_dir)) == NULL ||
	    (n->host = strdup(host != NULL ? host : "")) == NULL ||
	    (global->notify_hook != NULL &&
	     (n->hook_argv = hook_split(global->notify_hook)) == NULL) ||
	    (global->notify_webhook != NULL &&
	     (n->webhook = strdup(global->notify_webhook)) == NULL) ||
	    (global->notify_email != NULL && (n->email = strdup(global->notify_email)) == NULL) ||
	    (n->sendmail = strdup(global->notify_sendmail != NULL ? global->notify_sendmail
	                                                          : NOTIFIER_DEFAULT_SENDMAIL)) ==
	            NULL) {
		goto out;
	}
	if (n->webhook != NULL && (n->http = http_create(loop, &opts)) == NULL) {
		goto out;
	}
	ok = true;
out:
	if (!ok) {
		log_error("notifications: out of memory, or notify-hook empty");
		notifier_destroy(n);
		n = NULL;
	}
	return n;
}

void
notifier_destroy(struct notifier *n)
{
	struct list_node *node;
	struct list_node *tmp;

	if (n == NULL) {
		return;
	}
	/* The webhook's transfers go first: their callbacks must not run. */
	http_destroy(n->http);
	list_for_each(&n->deliveries, node, tmp)
	{
		struct delivery *d = list_entry(node, struct delivery, node);

		log_warn("%s: %s: %s not told: acmed is stopping",
		         notifier_channel_name(d->channel), d->cert,
		         notice_event_name(d->nt.event));
		if (d->done != NULL) {
			d->done(d->channel, false, "acmed is stopping", d->arg);
		}
		delivery_free(d);
	}
	hook_argv_free(n->hook_argv);
	free(n->webhook);
	free(n->email);
	free(n->sendmail);
	free(n->state_dir);
	free(n->host);
	free(n);
}
