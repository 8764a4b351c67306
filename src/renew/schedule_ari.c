/* The schedule's renewal windows (RFC 9773): asked of the issuing CA for
 * each installed certificate, SCHEDULE_ARI_MAX at a time, again when the CA
 * says (within bounds); a window moves the entry's timer. */
#include "renew/schedule_internal.h"

#include <stdio.h>

#include "base/log.h"
#include "renew/ari.h"
#include "renew/job_runner.h"

static void ari_next(struct schedule *sched);

void
schedule_on_ari_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	schedule_fetch_ari(w->data);
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

/* Asks for the windows waiting, while fewer than SCHEDULE_ARI_MAX are in
 * flight. */
static void
ari_next(struct schedule *sched)
{
	while (sched->ari_in_flight < SCHEDULE_ARI_MAX && !list_empty(&sched->ari_queue)) {
		struct list_node *n = list_first(&sched->ari_queue);

		list_unlink(n);
		schedule_fetch_ari(list_entry(n, struct entry, ari_wait));
	}
}

static void
on_ari(const struct ari_answer *a, void *arg)
{
	struct entry *e = arg;
	double again = a->retry_after != 0 ? difftime(a->retry_after, a->now) : 6 * 3600;
	char date[64];

	e->ari = NULL;
	e->sched->ari_in_flight--;
	ari_next(e->sched);
	if (!a->ok) {
		ari_again(e, 6 * 3600);
		return;
	}
	e->ari_when = a->when;
	e->ari_start = a->window_start;
	e->ari_end = a->window_end;
	if (e->not_after != 0 && e->ari_when >= e->not_after) {
		/* A window past expiry would let the certificate lapse. */
		log_warn("%s: renewalInfo window ends after the certificate expires; keeping the "
		         "usual schedule",
		         e->name);
		e->ari_when = 0;
		ari_again(e, again);
		return;
	}
	log_time(e->ari_when, date, sizeof(date));
	log_info("%s: the CA suggests renewal by %s (renewalInfo)", e->name, date);
	/* The policy weighs the window with the backoff and the floor after
	 * the last success (a CA asking to renew what it just issued). */
	if (!job_runner_has(e->sched->runner, e->name)) {
		schedule_arm(e, schedule_next_time(e));
	}
	ari_again(e, again);
}

/* Asks the CA for the installed certificate's renewal window, or queues the
 * question behind SCHEDULE_ARI_MAX others. */
void
schedule_fetch_ari(struct entry *e)
{
	struct schedule *sched = e->sched;
	/* RFC 9773: a window is the issuing CA's to give. */
	struct acme_client *client =
	        job_runner_client(sched->runner, e->issuer != NULL ? e->issuer : sched->ca_url);
	bool absent;

	if (client == NULL && e->issuer == NULL) {
		client = sched->client;
	}
	if (client == NULL || e->ari != NULL || e->ari_id == NULL || list_linked(&e->ari_wait)) {
		return;
	}
	if (sched->ari_in_flight >= SCHEDULE_ARI_MAX) {
		list_append(&sched->ari_queue, &e->ari_wait);
		return;
	}
	e->ari = ari_ask(client, e->name, e->ari_id, on_ari, e, &absent);
	if (e->ari != NULL) {
		sched->ari_in_flight++;
	}
}
