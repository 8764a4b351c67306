#include "renew/schedule.h"
#include "renew/schedule_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cert.h"
#include "base/list.h"
#include "base/parallel.h"
#include "base/log.h"
#include "base/strmap.h"
#include "conf/ca.h"
#include "renew/ari.h"
#include "renew/policy.h"
#include "renew/status.h"
#include "store/state.h"
#include "base/file.h"
#include "store/store_cert.h"
#include "store/store_index.h"

/* Writes the index for the next start; after a look at every certificate
 * (forget), without what none of them looked up. */
static void
index_save(struct schedule *sched, bool forget)
{
	if (forget) {
		store_index_sweep(sched->index);
	}
	store_index_save(sched->index);
}

/* Frees a list of names as the settings that held it would. */
static void
domains_free(char **domains, size_t n)
{
	struct conf_settings s;

	memset(&s, 0, sizeof(s));
	s.domains = domains;
	s.n_domains = n;
	conf_settings_finish(&s);
}

static void
shared_unref(struct schedule *sched, struct shared *sh)
{
	if (sh != NULL && --sh->refs == 0) {
		if (sched->last_shared == sh) {
			sched->last_shared = NULL;
		}
		conf_settings_finish(&sh->s);
		free(sh);
	}
}

/* e's settings, borrowed from its shared ones and its names. */
static void
settings_of(const struct entry *e, struct conf_settings *s)
{
	*s = e->shared->s;
	s->domains = e->domains;
	s->n_domains = e->n_domains;
}

/* Every entry's next time from the files again; one whose job runs is left
 * to its job. Only sets that changed are parsed (the index). */
static void
refresh(struct schedule *sched)
{
	for (struct entry *e = sched->entries; e != NULL; e = e->next) {
		if (!job_runner_has(sched->runner, e->name)) {
			schedule_arm(e, schedule_next_time(e));
		} else {
			store_index_keep(sched->index, e->name);
		}
	}
	index_save(sched, true);
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
	strmap_init(&sched->by_name);
	list_init(&sched->ari_queue);
	sched->index = store_index_open(state_dir);
	if (sched->index == NULL) {
		free(sched);
		return NULL;
	}
	/* What changes on disk behind the daemon's back (a key removed, a
	 * command's failure recorded) is seen within the hour; what changes a
	 * certificate's folder, at once by status. */
	ev_periodic_init(&sched->sweep, on_sweep, 0.0, SCHEDULE_SWEEP, NULL);
	sched->sweep.data = sched;
	ev_periodic_start(loop, &sched->sweep);
	return sched;
}

static void
entry_free(struct entry *e)
{
	if (e->ari != NULL) {
		e->sched->ari_in_flight--;
	}
	list_unlink(&e->ari_wait);
	ari_cancel(e->ari);
	ev_timer_stop(e->sched->loop, &e->ari_timer);
	ev_periodic_stop(e->sched->loop, &e->timer);
	shared_unref(e->sched, e->shared);
	domains_free(e->domains, e->n_domains);
	free(e->name);
	free(e->last_error);
	free(e->ari_id);
	free(e->issuer);
	free(e->fallback);
	free(e->why);
	free(e->problem);
	free(e);
}

void
schedule_destroy(struct schedule *sched)
{
	if (sched == NULL) {
		return;
	}
	ev_periodic_stop(sched->loop, &sched->sweep);
	/* Nothing waiting is asked for while the entries go. */
	while (!list_empty(&sched->ari_queue)) {
		list_unlink(list_first(&sched->ari_queue));
	}
	index_save(sched, false);
	store_index_close(sched->index);
	while (sched->entries != NULL) {
		struct entry *next = sched->entries->next;

		entry_free(sched->entries);
		sched->entries = next;
	}
	strmap_finish(&sched->by_name);
	for (size_t i = 0; i < sched->n_issuers; i++) {
		free(sched->issuers[i]);
	}
	free(sched->issuers);
	free(sched);
}

static struct entry *
find(const struct schedule *sched, const char *name)
{
	return strmap_get(&sched->by_name, name);
}

void
schedule_arm(struct entry *e, time_t when)
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
	struct conf_settings s;

	if (job_runner_has(e->sched->runner, e->name)) {
		return;
	}
	/* The job asks the policy again, under the lock: another process may
	 * have renewed it meanwhile. */
	memset(&req, 0, sizeof(req));
	req.force = e->force;
	req.asked_at = e->force ? e->asked_at : 0;
	req.ari_when = e->ari_when;
	e->forced = e->force;
	e->force = false;
	settings_of(e, &s);
	if (job_runner_add(e->sched->runner, e->name, &s, &req) < 0) {
		/* Cannot even queue it: try again after a backoff. */
		struct job_outcome o;

		memset(&o, 0, sizeof(o));
		o.name = e->name;
		o.result = JOB_FAILED;
		o.message = "cannot queue the job";
		schedule_job_done(e->sched, &o);
		return;
	}
	job_runner_start(e->sched->runner);
}

/* Who issued what is installed, and why that CA (failover). */
static void
entry_issuer(struct entry *e, const char *ca, const char *fallback)
{
	free(e->issuer);
	e->issuer = ca != NULL ? strdup(ca) : NULL;
	free(e->fallback);
	e->fallback = fallback != NULL ? strdup(fallback) : NULL;
}

/* What the entry keeps of the policy's word, for its timer and status. */
static void
entry_note(struct entry *e, const struct policy_decision *d, time_t not_after, const char *ari_id,
           long attempts, const char *last_error)
{
	e->not_after = not_after;
	if (e->why == NULL || strcmp(e->why, d->why) != 0) {
		free(e->why);
		e->why = strdup(d->why);
	}
	free(e->ari_id);
	e->ari_id = ari_id != NULL ? strdup(ari_id) : NULL;
	e->attempts = attempts;
	free(e->last_error);
	e->last_error = last_error != NULL ? strdup(last_error) : NULL;
}

/* name, kept once in the schedule for all its certificates; NULL when
 * out of memory. */
static const char *
intern_issuer(struct schedule *sched, const char *name)
{
	char **grown;
	char *copy;

	for (size_t i = 0; i < sched->n_issuers; i++) {
		if (strcmp(sched->issuers[i], name) == 0) {
			return sched->issuers[i];
		}
	}
	grown = realloc(sched->issuers, (sched->n_issuers + 1) * sizeof(*grown));
	if (grown == NULL) {
		return NULL;
	}
	sched->issuers = grown;
	copy = strdup(name);
	if (copy != NULL) {
		sched->issuers[sched->n_issuers++] = copy;
	}
	return copy;
}

/* What status and metrics show of the installed set and its record. */
static void
entry_facts(struct entry *e, const struct policy_view *v)
{
	e->not_before = v->info.not_before;
	e->last_success = v->st.last_success;
	e->persist_until = v->st.persist_until;
	e->installed = v->info.present;
	if (v->info.problem[0] == '\0' || e->problem == NULL ||
	    strcmp(e->problem, v->info.problem) != 0) {
		free(e->problem);
		e->problem = v->info.problem[0] != '\0' ? strdup(v->info.problem) : NULL;
	}
	snprintf(e->key_type, sizeof(e->key_type), "%s", v->info.key_type);
	e->cert_issuer = v->info.issuer != NULL ? intern_issuer(e->sched, v->info.issuer) : NULL;
	if (v->info.ari_id == NULL || e->ari_id == NULL || strcmp(v->info.ari_id, e->ari_id) != 0) {
		e->ari_start = 0;
		e->ari_end = 0;
	}
}

/* A backoff for failures the files do not record holds too. */
static time_t
held(const struct entry *e, time_t when)
{
	return when < e->hold_until && !e->force ? e->hold_until : when;
}

/* The next time from what is installed and what state.json recorded, as
 * the renewal policy says. */
time_t
schedule_next_time(struct entry *e)
{
	struct policy_view v;
	struct policy_decision d;
	struct conf_settings s;
	time_t now = job_runner_now(e->sched->runner);
	time_t when = now;

	settings_of(e, &s);
	/* The folder's identity from before the files are read: a change
	 * meanwhile shows next time. */
	if (policy_view_load_from(e->sched->index, e->sched->state_dir, e->name, &v,
	                          &e->folder_id) == 0) {
		if (v.info.ari_id == NULL || e->ari_id == NULL ||
		    strcmp(v.info.ari_id, e->ari_id) != 0) {
			/* Another certificate: the window asked for the old one
			 * is not its window. */
			e->ari_when = 0;
		}
		entry_facts(e, &v);
		entry_issuer(e, v.st.ca, v.st.ca_fallback);
		if (policy_view_decide(&v, &s,
		                       s.ca != NULL ? ca_settings_url(s.ca) : e->sched->ca_url,
		                       false, e->ari_when, now, &d) == 0) {
			when = d.when;
			entry_note(e, &d, v.info.not_after, v.info.ari_id, status_failures(&v.st),
			           status_last_error(&v.st));
		}
		e->fleet_version = v.st.fleet_version;
		e->fleet_owed = v.st.fleet_owed;
	}
	policy_view_finish(&v);
	return held(e, when);
}

/* The shared settings for copy (its domains taken out into *domains and
 * *n_domains): the last ones when they are the same, else new ones.
 * Consumes copy. NULL when out of memory. */
static struct shared *
share(struct schedule *sched, struct conf_settings *copy, char ***domains, size_t *n_domains)
{
	struct shared *sh = sched->last_shared;

	*domains = copy->domains;
	*n_domains = copy->n_domains;
	copy->domains = NULL;
	copy->n_domains = 0;
	if (sh != NULL && conf_settings_equal(&sh->s, copy, CONF_KEY_DOMAINS)) {
		conf_settings_finish(copy);
		sh->refs++;
		return sh;
	}
	sh = calloc(1, sizeof(*sh));
	if (sh == NULL) {
		conf_settings_finish(copy);
		return NULL;
	}
	sh->s = *copy;
	sh->refs = 1;
	memset(copy, 0, sizeof(*copy));
	sched->last_shared = sh;
	return sh;
}

void
schedule_preload(struct schedule *sched, const char *const *names, size_t n)
{
	store_index_preload(sched->index, names, n);
}

int
schedule_set(struct schedule *sched, const char *name, const struct conf_settings *s)
{
	struct conf empty;
	struct entry *e = find(sched, name);
	struct conf_settings copy;
	struct shared *sh;
	char **domains = NULL;
	size_t n_domains = 0;

	conf_init(&empty);
	if (conf_resolve(&empty, NULL, s, &copy) < 0) {
		log_error("out of memory");
		return -1;
	}
	sh = share(sched, &copy, &domains, &n_domains);
	if (sh == NULL) {
		domains_free(domains, n_domains);
		log_error("out of memory");
		return -1;
	}
	if (e != NULL) {
		/* Same certificate: new settings, same schedule and backoff,
		 * unless the names changed, which makes it due now. */
		shared_unref(sched, e->shared);
		domains_free(e->domains, e->n_domains);
		e->shared = sh;
		e->domains = domains;
		e->n_domains = n_domains;
		e->marked = true;
		schedule_arm(e, schedule_next_time(e));
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = strdup(name)) == NULL ||
	    strmap_put(&sched->by_name, e->name, e) < 0) {
		if (e != NULL) {
			free(e->name);
		}
		free(e);
		shared_unref(sched, sh);
		domains_free(domains, n_domains);
		log_error("out of memory");
		return -1;
	}
	e->sched = sched;
	e->shared = sh;
	e->domains = domains;
	e->n_domains = n_domains;
	e->marked = true;
	ev_periodic_init(&e->timer, on_due, 0.0, 0.0, NULL);
	e->timer.data = e;
	ev_init(&e->ari_timer, schedule_on_ari_timer);
	e->ari_timer.data = e;
	list_node_init(&e->ari_wait);
	/* In the configuration's order, for status. */
	*sched->tail = e;
	sched->tail = &e->next;
	sched->n++;
	schedule_arm(e, schedule_next_time(e));
	schedule_fetch_ari(e);
	return 0;
}

size_t
schedule_sweep(struct schedule *sched)
{
	struct entry **p = &sched->entries;
	size_t dropped = 0;
	size_t sets;
	size_t states;

	while (*p != NULL) {
		struct entry *e = *p;

		if (!e->marked) {
			*p = e->next;
			log_info("%s: no longer configured", e->name);
			strmap_remove(&sched->by_name, e->name);
			entry_free(e);
			sched->n--;
			dropped++;
			continue;
		}
		e->marked = false;
		p = &e->next;
	}
	sched->tail = p;
	/* Every certificate configured was looked up by schedule_set: the
	 * index forgets the others and is written for the next start. */
	index_save(sched, true);
	store_index_reads(sched->index, &sets, &states);
	log_debug("%zu installed set%s parsed, %zu state.json read since the start (the "
	          "others from certs.index)",
	          sets, sets == 1 ? "" : "s", states);
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
		e->asked_at = job_wall_time();
		schedule_arm(e, time(NULL));
	}
	return 0;
}

/* Looks at e at once (not forced): its job reads the shared record.
 * Whether it was armed (not when a job for it runs already). */
static bool
look_now(struct entry *e)
{
	if (job_runner_has(e->sched->runner, e->name)) {
		return false;
	}
	e->hold_until = 0;
	schedule_arm(e, time(NULL));
	return true;
}

int
schedule_fleet_installed(struct schedule *sched, const char *name, long version)
{
	struct entry *e = find(sched, name);

	if (e == NULL) {
		return -1;
	}
	if (version > e->fleet_version && !look_now(e)) {
		e->fleet_announced = version;
	}
	return 0;
}

size_t
schedule_fleet_reconcile(struct schedule *sched, size_t n, const char *const *names,
                         const long *versions, bool all_due, bool all)
{
	time_t now = job_runner_now(sched->runner);
	size_t looked = 0;

	for (size_t i = 0; i < n; i++) {
		struct entry *e = find(sched, names[i]);

		if (e != NULL && versions[i] != e->fleet_version && look_now(e)) {
			e->looked = true;
			looked++;
		}
	}
	for (struct entry *e = sched->entries; e != NULL; e = e->next) {
		if (!e->looked &&
		    (all || e->fleet_owed || (all_due && (e->fleet_waiting || e->when <= now))) &&
		    look_now(e)) {
			looked++;
		}
		e->looked = false;
	}
	return looked;
}

void
schedule_job_done(struct schedule *sched, const struct job_outcome *o)
{
	struct entry *e = find(sched, o->name);
	time_t now = job_runner_now(sched->runner);
	time_t when;
	char date[64];

	if (e == NULL) {
		return;
	}
	/* The job decided from what it recorded; a job that never read the
	 * files leaves it to them. */
	if (o->has_next) {
		/* What the job wrote is what was decided from: no change for
		 * refresh_changed to find. */
		e->folder_id = store_cert_folder_identity(sched->state_dir, e->name);
		if (o->ari_id == NULL || e->ari_id == NULL || strcmp(o->ari_id, e->ari_id) != 0) {
			e->ari_when = 0;
		}
		if (o->view != NULL) {
			entry_facts(e, o->view);
		}
		entry_note(e, &o->next, o->not_after, o->ari_id, o->attempts, o->last_error);
		if (o->result == JOB_ISSUED || o->result == JOB_RENEWED) {
			entry_issuer(e, o->ca_url, o->ca_fallback);
		}
		e->fleet_version = o->fleet_version;
		e->fleet_owed = o->fleet_owed;
		e->fleet_waiting = o->fleet_waiting;
		when = held(e, o->next.when);
		if (e->fleet_announced > e->fleet_version) {
			/* a second on: not "due again at once", which backs off */
			when = now + 1;
		}
		e->fleet_announced = 0;
	} else {
		when = schedule_next_time(e);
	}
	if (o->result == JOB_ISSUED || o->result == JOB_RENEWED || o->result == JOB_DEPLOYED) {
		e->unrecorded = 0;
		e->hold_until = 0;
	}
	if (e->forced && o->result == JOB_DEFERRED && o->fleet_waiting) {
		/* renew --now while the fleet's store is away: still asked
		 * when it is back (not when another node ordered it: its new
		 * certificate is what was asked for). */
		e->force = true;
	}
	if (e->forced && o->result == JOB_FAILED && o->port_held) {
		/* renew --now while another process holds the responder's
		 * port (an acmed command ordering holds it for seconds): the
		 * wish stays, tried again after a backoff. */
		long delay = policy_backoff(++e->unrecorded, policy_random());

		e->forced = false;
		e->force = true;
		log_warn("%s: asked to renew, but its responder's port is held by another process "
		         "(an acmed command ordering, or another program); trying again in %ld s",
		         o->name, delay);
		schedule_arm(e, now + delay);
		return;
	}
	e->forced = false;
	if (when <= now) {
		/* Due again at once: a failure not recorded as the
		 * certificate's (a hook missing, the account refused, the
		 * state folder unwritable) does this. A backoff kept here,
		 * not a loop. */
		long delay = policy_backoff(++e->unrecorded, policy_random());

		when = now + delay;
		e->hold_until = when;
		log_warn("%s: still due after the job (%s); looking again in %ld s", o->name,
		         o->message != NULL && o->message[0] != '\0' ? o->message
		                                                     : job_result_name(o->result),
		         delay);
	} else if (o->result == JOB_FAILED && e->attempts > 0) {
		log_time(when, date, sizeof(date));
		log_warn("%s: attempt %ld failed; next try in %ld s (%s)", o->name, e->attempts,
		         (long)(when - now), date);
	} else if (o->fleet_waiting) {
		/* Waiting for the fleet's store or another node's order: said
		 * once for all (the store's loss), shown by status. */
		log_debug("%s: %s", o->name, e->why != NULL ? e->why : job_result_name(o->result));
	} else if (o->result == JOB_FAILED || o->result == JOB_DEFERRED) {
		log_warn("%s: %s", o->name, e->why != NULL ? e->why : job_result_name(o->result));
	}
	schedule_arm(e, when);
	if (o->result == JOB_ISSUED || o->result == JOB_RENEWED) {
		schedule_fetch_ari(e);
	}
}

/* The folder identities refresh_changed compares, taken on every
 * processor. */
struct refresh {
	struct entry **entries;
	uint64_t *ids;
	int certs; /* certs/ open */
};

static void
refresh_one(size_t i, void *arg)
{
	struct refresh *r = arg;

	r->ids[i] = store_cert_folder_identity_at(r->certs, r->entries[i]->name);
}

/* What other processes changed since the files were read (a command's
 * attempt recorded in state.json, a set installed, a link removed): their
 * certificates looked at again. One stat(2) per certificate, relative to
 * certs/ and spread over the processors (100,000 in a fraction of a
 * second); a set's files changed in place are found by the hourly look. */
static void
refresh_changed(struct schedule *sched)
{
	struct refresh r = {.certs = store_cert_open_certs(sched->state_dir)};
	size_t n = 0;

	for (struct entry *e = sched->entries; e != NULL; e = e->next) {
		n++;
	}
	r.entries = calloc(n + 1, sizeof(*r.entries));
	r.ids = calloc(n + 1, sizeof(*r.ids));
	n = 0;
	for (struct entry *e = sched->entries; r.entries != NULL && e != NULL; e = e->next) {
		r.entries[n++] = e;
	}
	if (r.certs >= 0 && r.entries != NULL && r.ids != NULL) {
		parallel_for(n, 0, refresh_one, &r);
	}
	n = 0;
	for (struct entry *e = sched->entries; e != NULL; e = e->next, n++) {
		/* Without certs/ (nothing issued yet) or memory: one by one. */
		uint64_t id = r.certs >= 0 && r.entries != NULL && r.ids != NULL
		                      ? r.ids[n]
		                      : store_cert_folder_identity(sched->state_dir, e->name);

		if (id != e->folder_id && !job_runner_has(sched->runner, e->name)) {
			time_t when = schedule_next_time(e);

			/* A wait for the fleet (its store away, another node's
			 * order) is not in the files: it holds. */
			schedule_arm(e, e->fleet_waiting && e->when > when ? e->when : when);
		}
	}
	if (r.certs >= 0) {
		close(r.certs);
	}
	free(r.entries);
	free(r.ids);
}

void
schedule_each(struct schedule *sched, void (*fn)(const struct status_row *row, void *arg),
              void *arg)
{
	refresh_changed(sched);
	for (const struct entry *e = sched->entries; e != NULL; e = e->next) {
		struct status_row row;

		memset(&row, 0, sizeof(row));
		row.cert = e->name;
		row.domains = e->domains;
		row.n_domains = e->n_domains;
		row.not_after = e->not_after;
		row.not_before = e->not_before;
		row.last_success = e->last_success;
		row.key_type = e->key_type;
		row.issuer = e->cert_issuer;
		row.ari_start = e->ari_start;
		row.ari_end = e->ari_end;
		row.next = e->when;
		/* Failures the files do not record (a job stopped before its
		 * order by a problem on this host) count too: an alert on
		 * failures must not miss a certificate that never reaches its
		 * CA. */
		row.attempts = e->attempts + e->unrecorded;
		row.last_error = e->last_error;
		row.why = e->why;
		row.ca = e->issuer;
		row.ca_fallback = e->fallback;
		row.persist_until = e->persist_until;
		row.installed = e->installed;
		row.problem = e->problem;
		row.running = job_runner_has(sched->runner, e->name);
		fn(&row, arg);
	}
}

size_t
schedule_count(const struct schedule *sched)
{
	return sched->n;
}

int
schedule_settings(const struct schedule *sched, const char *name, struct conf_settings *s)
{
	const struct entry *e = find(sched, name);

	if (e == NULL) {
		return -1;
	}
	settings_of(e, s);
	return 0;
}

void
schedule_each_settings(const struct schedule *sched,
                       void (*fn)(const struct conf_settings *s, void *arg), void *arg)
{
	const struct shared *last = NULL;
	struct conf_settings s;

	for (const struct entry *e = sched->entries; e != NULL; e = e->next) {
		if (e->shared != last) {
			last = e->shared;
			settings_of(e, &s);
			fn(&s, arg);
		}
	}
}
