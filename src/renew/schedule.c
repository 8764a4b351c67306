#include "renew/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cert.h"
#include "base/log.h"
#include "renew/policy.h"
#include "store/state.h"
#include "base/file.h"
#include "store/store_cert.h"

struct ari_request;

struct entry {
	struct schedule *sched;
	struct entry *next;
	char *name;
	struct conf_settings s;
	ev_periodic timer;
	time_t when;
	time_t not_after;
	long attempts;
	char *last_error;
	bool marked;
	ev_timer ari_timer; /* when to ask for the window again */
	struct ari_request *ari; /* in flight, or NULL */
	time_t ari_when; /* the time picked in the window, 0: none */
	char *ari_id; /* of the installed certificate, or NULL */
	bool force; /* the next job orders whatever the policy says */
	long unrecorded; /* jobs in a row that left it due without a record */
	time_t hold_until; /* their backoff, kept here */
	char why[sizeof(((struct policy_decision *)0)->why)];
};

/* Outlives its entry if the entry is dropped while the CA answers. */
struct ari_request {
	struct entry *e;
};

struct schedule {
	struct ev_loop *loop;
	struct job_runner *runner;
	struct acme_client *client;
	const char *state_dir;
	const char *ca_url;
	struct entry *entries;
	struct entry **tail;
	ev_periodic sweep; /* looks at every certificate again, hourly */
	size_t n;
};

static void arm(struct entry *e, time_t when);
static time_t next_time(struct entry *e);

/* Every entry's next time from the files again; one whose job runs is left
 * to its job. */
static void
refresh(struct schedule *sched)
{
	for (struct entry *e = sched->entries; e != NULL; e = e->next) {
		if (!job_runner_has(sched->runner, e->name)) {
			arm(e, next_time(e));
		}
	}
}

static void
on_sweep(struct ev_loop *loop, ev_periodic *w, int revents)
{
	refresh(w->data);
}

struct schedule *
schedule_create(struct ev_loop *loop, struct job_runner *runner, struct acme_client *client,
                const char *state_dir, const char *ca_url)
{
	struct schedule *sched = calloc(1, sizeof(*sched));

	if (sched == NULL) {
		log_error("out of memory");
		return NULL;
	}
	sched->loop = loop;
	sched->runner = runner;
	sched->client = client;
	sched->state_dir = state_dir;
	sched->ca_url = ca_url;
	sched->tail = &sched->entries;
	/* What changes on disk behind the daemon's back (a key removed, a
	 * command's failure recorded) is seen within the hour, and at once by
	 * status. */
	ev_periodic_init(&sched->sweep, on_sweep, 0.0, SCHEDULE_SWEEP, NULL);
	sched->sweep.data = sched;
	ev_periodic_start(loop, &sched->sweep);
	return sched;
}

static void
entry_free(struct entry *e)
{
	if (e->ari != NULL) {
		e->ari->e = NULL;
	}
	ev_timer_stop(e->sched->loop, &e->ari_timer);
	ev_periodic_stop(e->sched->loop, &e->timer);
	conf_settings_finish(&e->s);
	free(e->name);
	free(e->last_error);
	free(e->ari_id);
	free(e);
}

void
schedule_destroy(struct schedule *sched)
{
	if (sched == NULL) {
		return;
	}
	ev_periodic_stop(sched->loop, &sched->sweep);
	while (sched->entries != NULL) {
		struct entry *next = sched->entries->next;

		entry_free(sched->entries);
		sched->entries = next;
	}
	free(sched);
}

static struct entry *
find(const struct schedule *sched, const char *name)
{
	for (struct entry *e = sched->entries; e != NULL; e = e->next) {
		if (strcmp(e->name, name) == 0) {
			return e;
		}
	}
	return NULL;
}

static void
arm(struct entry *e, time_t when)
{
	char date[64];

	e->when = when;
	ev_periodic_stop(e->sched->loop, &e->timer);
	ev_periodic_set(&e->timer, (ev_tstamp)when, 0.0, NULL);
	ev_periodic_start(e->sched->loop, &e->timer);
	log_time(when, date, sizeof(date));
	log_debug("%s: next renewal %s", e->name, date);
}

static void
on_due(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct entry *e = w->data;
	struct job_request req;

	if (job_runner_has(e->sched->runner, e->name)) {
		return;
	}
	/* The job asks the policy again, under the lock: another process may
	 * have renewed it meanwhile. */
	memset(&req, 0, sizeof(req));
	req.force = e->force;
	req.ari_when = e->ari_when;
	e->force = false;
	if (job_runner_add(e->sched->runner, e->name, &e->s, &req) < 0) {
		/* Cannot even queue it: try again after a backoff. */
		schedule_job_done(e->sched, e->name, JOB_FAILED, "cannot queue the job", 0);
		return;
	}
	job_runner_start(e->sched->runner);
}

static void fetch_ari(struct entry *e);

static void
on_ari_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	fetch_ari(w->data);
}

static void
ari_again(struct entry *e, double delay)
{
	/* RFC 9773 section 4.3: ask again when Retry-After says, within
	 * sane bounds; six hours without one. */
	if (delay < 60) {
		delay = 60;
	}
	if (delay > 24 * 3600) {
		delay = 24 * 3600;
	}
	ev_timer_stop(e->sched->loop, &e->ari_timer);
	ev_timer_set(&e->ari_timer, delay, 0.0);
	ev_timer_start(e->sched->loop, &e->ari_timer);
}

static void
on_ari(const struct acme_reply *reply, void *arg)
{
	struct ari_request *req = arg;
	struct entry *e = req->e;
	struct acme_renewal_info info;
	char err[256];
	char date[64];
	time_t now = time(NULL);

	free(req);
	if (e == NULL) {
		return;
	}
	e->ari = NULL;
	if (reply->problem != NULL) {
		log_debug("%s: renewalInfo: %s", e->name, reply->message);
		ari_again(e, 6 * 3600);
		return;
	}
	if (acme_parse_renewal_info(reply->body, reply->body_len, &info, err, sizeof(err)) < 0) {
		log_warn("%s: %s: %s; keeping the usual schedule", e->name, reply->url, err);
		ari_again(e, 6 * 3600);
		return;
	}
	e->ari_when = policy_ari_time(info.start, info.end, now, policy_random());
	if (e->not_after != 0 && e->ari_when >= e->not_after) {
		/* A window past expiry would let the certificate lapse. */
		log_warn("%s: renewalInfo window ends after the certificate expires; keeping the "
		         "usual schedule",
		         e->name);
		acme_parse_renewal_info_finish(&info);
		e->ari_when = 0;
		ari_again(e,
		          reply->retry_after != 0 ? difftime(reply->retry_after, now) : 6 * 3600);
		return;
	}
	log_time(e->ari_when, date, sizeof(date));
	log_info("%s: the CA suggests renewal by %s (renewalInfo)", e->name, date);
	acme_parse_renewal_info_finish(&info);
	/* The policy weighs the window with the backoff and the floor after
	 * the last success (a CA asking to renew what it just issued). */
	if (!job_runner_has(e->sched->runner, e->name)) {
		arm(e, next_time(e));
	}
	ari_again(e, reply->retry_after != 0 ? difftime(reply->retry_after, now) : 6 * 3600);
}

/* Asks the CA for the installed certificate's renewal window. */
static void
fetch_ari(struct entry *e)
{
	char *url = NULL;

	if (e->sched->client == NULL || e->ari != NULL || e->ari_id == NULL) {
		goto out;
	}
	url = acme_client_ari_url(e->sched->client, e->ari_id);
	e->ari = url != NULL ? calloc(1, sizeof(*e->ari)) : NULL;
	if (e->ari == NULL) {
		goto out;
	}
	e->ari->e = e;
	if (acme_client_get(e->sched->client, url, on_ari, e->ari) < 0) {
		free(e->ari);
		e->ari = NULL;
	}
out:
	free(url);
}

/* The next time from what is installed and what state.json recorded, as
 * the renewal policy says. */
static time_t
next_time(struct entry *e)
{
	struct policy_decision d;
	struct store_cert_info info;
	struct state st;
	char *dir = store_cert_dir(e->sched->state_dir, e->name);
	time_t now = job_runner_now(e->sched->runner);
	time_t when = now;

	if (policy_check(e->sched->state_dir, e->name, &e->s, e->sched->ca_url, false, e->ari_when,
	                 now, &d, &info) == 0) {
		when = d.when;
		e->not_after = info.not_after;
		snprintf(e->why, sizeof(e->why), "%s", d.why);
		if (info.ari_id == NULL || e->ari_id == NULL ||
		    strcmp(info.ari_id, e->ari_id) != 0) {
			/* Another certificate: the window asked for the old one
			 * is not its window. */
			e->ari_when = 0;
		}
		free(e->ari_id);
		e->ari_id = info.ari_id;
		info.ari_id = NULL;
		store_cert_info_finish(&info);
	}
	if (dir != NULL && state_load(dir, &st) == 0) {
		e->attempts = st.attempts;
		free(e->last_error);
		/* A pending deploy's error, else the last one recorded (a
		 * success clears it). */
		e->last_error = st.deploy_pending && st.deploy_error != NULL
		                        ? strdup(st.deploy_error)
		                : st.last_error != NULL ? strdup(st.last_error)
		                                        : NULL;
		state_finish(&st);
	}
	free(dir);
	/* A backoff for failures the files do not record holds too. */
	return when < e->hold_until && !e->force ? e->hold_until : when;
}

int
schedule_set(struct schedule *sched, const char *name, const struct conf_settings *s)
{
	struct conf empty;
	struct entry *e = find(sched, name);
	struct conf_settings copy;

	conf_init(&empty);
	if (conf_resolve(&empty, NULL, s, &copy) < 0) {
		log_error("out of memory");
		return -1;
	}
	if (e != NULL) {
		/* Same certificate: new settings, same schedule and backoff,
		 * unless the names changed, which makes it due now. */
		conf_settings_finish(&e->s);
		e->s = copy;
		e->marked = true;
		arm(e, next_time(e));
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		conf_settings_finish(&copy);
		log_error("out of memory");
		return -1;
	}
	e->sched = sched;
	e->s = copy;
	e->marked = true;
	ev_periodic_init(&e->timer, on_due, 0.0, 0.0, NULL);
	e->timer.data = e;
	ev_init(&e->ari_timer, on_ari_timer);
	e->ari_timer.data = e;
	/* In the configuration's order, for status. */
	*sched->tail = e;
	sched->tail = &e->next;
	sched->n++;
	arm(e, next_time(e));
	fetch_ari(e);
	return 0;
}

size_t
schedule_sweep(struct schedule *sched)
{
	struct entry **p = &sched->entries;
	size_t dropped = 0;

	while (*p != NULL) {
		struct entry *e = *p;

		if (!e->marked) {
			*p = e->next;
			log_info("%s: no longer configured", e->name);
			entry_free(e);
			sched->n--;
			dropped++;
			continue;
		}
		e->marked = false;
		p = &e->next;
	}
	sched->tail = p;
	return dropped;
}

int
schedule_renew_now(struct schedule *sched, const char *name)
{
	struct entry *e = find(sched, name);

	if (e == NULL) {
		return -1;
	}
	if (!job_runner_has(sched->runner, name)) {
		e->force = true;
		arm(e, time(NULL));
	}
	return 0;
}

void
schedule_job_done(struct schedule *sched, const char *name, enum job_result result,
                  const char *message, time_t retry_after)
{
	struct entry *e = find(sched, name);
	time_t now = job_runner_now(sched->runner);
	time_t when;
	char date[64];

	if (e == NULL) {
		return;
	}
	/* The job recorded its outcome in state.json; the policy reads it. */
	when = next_time(e);
	if (result == JOB_ISSUED || result == JOB_RENEWED || result == JOB_DEPLOYED) {
		e->unrecorded = 0;
		e->hold_until = 0;
	}
	if (when <= now) {
		/* Due again at once: a failure not recorded as the
		 * certificate's (a hook missing, the account refused, the
		 * state folder unwritable) does this. A backoff kept here,
		 * not a loop. */
		long delay = policy_backoff(++e->unrecorded, policy_random());

		when = now + delay;
		e->hold_until = when;
		log_warn("%s: still due after the job (%s); looking again in %ld s", name,
		         message != NULL && message[0] != '\0' ? message : job_result_name(result),
		         delay);
	} else if (result == JOB_FAILED && e->attempts > 0) {
		log_time(when, date, sizeof(date));
		log_warn("%s: attempt %ld failed; next try in %ld s (%s)", name, e->attempts,
		         (long)(when - now), date);
	} else if (result == JOB_FAILED || result == JOB_DEFERRED) {
		log_warn("%s: %s", name, e->why);
	}
	arm(e, when);
	if (result == JOB_ISSUED || result == JOB_RENEWED) {
		fetch_ari(e);
	}
	(void)retry_after;
}

void
schedule_list(struct schedule *sched, json_t *list)
{
	refresh(sched);
	for (const struct entry *e = sched->entries; e != NULL; e = e->next) {
		json_t *domains = json_array();

		for (size_t i = 0; domains != NULL && i < e->s.n_domains; i++) {
			json_array_append_new(domains, json_string(e->s.domains[i]));
		}
		json_array_append_new(list, json_pack("{s:s, s:o*, s:I, s:I, s:I, s:s*, s:s, s:b}",
		                                      "cert", e->name, "domains", domains,
		                                      "not_after", (json_int_t)e->not_after, "next",
		                                      (json_int_t)e->when, "attempts",
		                                      (json_int_t)e->attempts, "last_error",
		                                      e->last_error, "why", e->why, "running",
		                                      job_runner_has(sched->runner, e->name)));
	}
}

size_t
schedule_count(const struct schedule *sched)
{
	return sched->n;
}
