#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "store_cert.h"

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
	time_t renewed_at; /* last success in this run, 0: none */
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
	struct entry *entries;
	size_t n;
};

long
schedule_backoff(long attempts, double r)
{
	double cap = (double)SCHEDULE_BACKOFF_MIN;

	for (long i = 1; i < attempts && cap < (double)SCHEDULE_BACKOFF_MAX; i++) {
		cap *= 2;
	}
	if (cap > (double)SCHEDULE_BACKOFF_MAX) {
		cap = (double)SCHEDULE_BACKOFF_MAX;
	}
	if (r < 0 || r >= 1) {
		r = 0;
	}
	return SCHEDULE_BACKOFF_MIN + (long)(r * (cap - (double)SCHEDULE_BACKOFF_MIN));
}

static double
uniform(void)
{
	return (double)(random() % 1000000) / 1000000.0;
}

struct schedule *
schedule_create(struct ev_loop *loop, struct job_runner *runner, struct acme_client *client,
                const char *state_dir)
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
	srandom((unsigned int)(time(NULL) ^ getpid()));
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
	free(e);
}

void
schedule_destroy(struct schedule *sched)
{
	if (sched == NULL) {
		return;
	}
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
format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void
arm(struct entry *e, time_t when)
{
	char date[64];

	e->when = when;
	ev_periodic_stop(e->sched->loop, &e->timer);
	ev_periodic_set(&e->timer, (ev_tstamp)when, 0.0, NULL);
	ev_periodic_start(e->sched->loop, &e->timer);
	format_time(when, date, sizeof(date));
	log_debug("%s: next renewal %s", e->name, date);
}

static void
on_due(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct entry *e = w->data;

	if (job_runner_has(e->sched->runner, e->name)) {
		return;
	}
	if (job_runner_add(e->sched->runner, e->name, &e->s, true) < 0) {
		/* Cannot even queue it: try again after a backoff. */
		schedule_job_done(e->sched, e->name, JOB_FAILED, "cannot queue the job", 0);
		return;
	}
	job_runner_start(e->sched->runner);
}

time_t
schedule_ari_time(time_t start, time_t end, time_t now, double r)
{
	time_t t;

	if (end <= now) {
		return now;
	}
	if (r < 0 || r >= 1) {
		r = 0;
	}
	t = start + (time_t)(r * (double)(end - start));
	return t < now ? now : t;
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
	e->ari_when = schedule_ari_time(info.start, info.end, now, uniform());
	if (e->not_after != 0 && e->ari_when >= e->not_after) {
		/* A window past expiry would let the certificate lapse. */
		log_warn("%s: renewalInfo window ends after the certificate expires; keeping the "
		         "usual schedule",
		         e->name);
		acme_renewal_info_finish(&info);
		e->ari_when = 0;
		ari_again(e,
		          reply->retry_after != 0 ? difftime(reply->retry_after, now) : 6 * 3600);
		return;
	}
	if (e->renewed_at != 0 && e->ari_when < e->renewed_at + SCHEDULE_ARI_MIN_GAP) {
		/* A CA asking for a renewal of what it just issued gets one
		 * an hour later at the soonest, not a storm. */
		e->ari_when = e->renewed_at + SCHEDULE_ARI_MIN_GAP;
	}
	format_time(e->ari_when, date, sizeof(date));
	log_info("%s: the CA suggests renewal by %s (renewalInfo)", e->name, date);
	acme_renewal_info_finish(&info);
	/* A backoff in force still wins, and so does a certificate that is
	 * due now anyway (missing, or for other names). */
	if ((e->attempts == 0 && e->when > now) || (e->attempts > 0 && e->ari_when > e->when)) {
		arm(e, e->ari_when);
	}
	ari_again(e, reply->retry_after != 0 ? difftime(reply->retry_after, now) : 6 * 3600);
}

/* Asks the CA for the installed certificate's renewal window. */
static void
fetch_ari(struct entry *e)
{
	const struct acme_directory *dir =
	        e->sched->client != NULL ? acme_client_directory(e->sched->client) : NULL;
	char *certdir = NULL;
	char *path = NULL;
	char *id = NULL;
	char *url = NULL;
	char err[256];
	X509 *x = NULL;
	size_t n;

	if (dir == NULL || dir->renewal_info == NULL || e->ari != NULL) {
		goto out;
	}
	certdir = store_cert_dir(e->sched->state_dir, e->name);
	path = certdir != NULL ? store_path(certdir, "cert.pem", NULL) : NULL;
	x = path != NULL ? cert_load(path, err, sizeof(err)) : NULL;
	id = x != NULL ? cert_ari_id(x) : NULL;
	if (id == NULL) {
		goto out;
	}
	n = strlen(dir->renewal_info) + strlen(id) + 2;
	url = malloc(n);
	e->ari = calloc(1, sizeof(*e->ari));
	if (url == NULL || e->ari == NULL) {
		free(e->ari);
		e->ari = NULL;
		goto out;
	}
	snprintf(url, n, "%s%s%s", dir->renewal_info,
	         dir->renewal_info[strlen(dir->renewal_info) - 1] == '/' ? "" : "/", id);
	e->ari->e = e;
	if (acme_client_get(e->sched->client, url, on_ari, e->ari) < 0) {
		free(e->ari);
		e->ari = NULL;
	}
out:
	X509_free(x);
	free(url);
	free(id);
	free(path);
	free(certdir);
}

/* The next time from what is installed and the persisted backoff. */
static time_t
next_time(struct entry *e)
{
	struct state st;
	char *dir = store_cert_dir(e->sched->state_dir, e->name);
	time_t when = job_due(e->sched->state_dir, e->name, &e->s, &e->not_after);

	if (dir != NULL && state_load(dir, &st) == 0) {
		e->attempts = st.attempts;
		free(e->last_error);
		e->last_error = st.last_error;
		st.last_error = NULL;
		/* The CA's window, unless the certificate is missing or its
		 * names changed: then it is due now whatever the window. */
		if (st.attempts == 0 && e->ari_when != 0 && when > time(NULL)) {
			when = e->ari_when;
		}
		if (st.attempts > 0 && st.next_try > when) {
			when = st.next_try;
		}
		state_finish(&st);
	}
	free(dir);
	return when;
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
	e->next = sched->entries;
	sched->entries = e;
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
		arm(e, time(NULL));
	}
	return 0;
}

void
schedule_job_done(struct schedule *sched, const char *name, enum job_result result,
                  const char *message, time_t retry_after)
{
	struct entry *e = find(sched, name);
	char *dir;
	struct state st;
	long delay;
	char date[64];

	if (e == NULL) {
		return;
	}
	if (result != JOB_FAILED) {
		e->attempts = 0;
		free(e->last_error);
		e->last_error = NULL;
		e->ari_when = 0;
		e->renewed_at = time(NULL);
		arm(e, next_time(e));
		fetch_ari(e);
		return;
	}
	dir = store_cert_dir(sched->state_dir, name);
	if (dir == NULL) {
		return;
	}
	state_load(dir, &st);
	if (st.attempts < 1) {
		st.attempts = 1;
	}
	delay = schedule_backoff(st.attempts, uniform());
	st.next_try = time(NULL) + delay;
	/* The CA's Retry-After is a floor (within the backoff's cap). */
	if (retry_after > st.next_try && retry_after - time(NULL) <= SCHEDULE_BACKOFF_MAX) {
		st.next_try = retry_after;
		delay = (long)(retry_after - time(NULL));
	}
	if (st.last_error == NULL && message != NULL) {
		st.last_error = strdup(message);
	}
	state_save(dir, name, &st);
	format_time(st.next_try, date, sizeof(date));
	log_warn("%s: attempt %ld failed; next try in %ld s (%s)", name, st.attempts, delay, date);
	e->attempts = st.attempts;
	free(e->last_error);
	e->last_error = st.last_error;
	st.last_error = NULL;
	arm(e, st.next_try);
	state_finish(&st);
	free(dir);
}

void
schedule_list(const struct schedule *sched, json_t *list)
{
	for (const struct entry *e = sched->entries; e != NULL; e = e->next) {
		json_t *domains = json_array();

		for (size_t i = 0; domains != NULL && i < e->s.n_domains; i++) {
			json_array_append_new(domains, json_string(e->s.domains[i]));
		}
		json_array_append_new(
		        list, json_pack("{s:s, s:o*, s:I, s:I, s:I, s:s*, s:b}", "cert", e->name,
		                        "domains", domains, "not_after", (json_int_t)e->not_after,
		                        "next", (json_int_t)e->when, "attempts",
		                        (json_int_t)e->attempts, "last_error", e->last_error,
		                        "running", job_runner_has(sched->runner, e->name)));
	}
}

size_t
schedule_count(const struct schedule *sched)
{
	return sched->n;
}
