#include "renew/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/file.h"

static const char *const reason_names[POLICY_REASON__MAX] = {
        [POLICY_NOT_DUE] = "not due",   [POLICY_MISSING] = "missing",
        [POLICY_BROKEN] = "broken",     [POLICY_NAMES] = "names changed",
        [POLICY_OTHER_CA] = "other CA", [POLICY_DUE] = "due",
        [POLICY_ARI] = "renewalInfo",   [POLICY_FORCED] = "forced",
        [POLICY_BACKOFF] = "backoff",   [POLICY_DEPLOY_RETRY] = "deploy pending",
};

const char *
policy_reason_name(enum policy_reason reason)
{
	return reason < POLICY_REASON__MAX ? reason_names[reason] : "unknown";
}

time_t
policy_renewal_time(time_t not_before, time_t not_after, long renew_before)
{
	if (not_after <= not_before) {
		return not_after;
	}
	/* A renew-before as long as the lifetime would renew every new
	 * certificate at once, back to back: then the usual rule applies. */
	if (renew_before > 0 && renew_before < not_after - not_before) {
		return not_after - renew_before;
	}
	if (not_after - not_before < 10L * 24 * 3600) {
		return not_after - (not_after - not_before) / 2;
	}
	return not_after - (not_after - not_before) / 3;
}

long
policy_floor(time_t not_before, time_t not_after)
{
	long quarter = not_after > not_before ? (long)((not_after - not_before) / 4) : 0;

	return quarter < POLICY_FLOOR_MAX ? quarter : POLICY_FLOOR_MAX;
}

long
policy_backoff(long attempts, double r)
{
	double cap = (double)POLICY_BACKOFF_MIN;

	for (long i = 1; i < attempts && cap < (double)POLICY_BACKOFF_MAX; i++) {
		cap *= 2;
	}
	if (cap > (double)POLICY_BACKOFF_MAX) {
		cap = (double)POLICY_BACKOFF_MAX;
	}
	if (r < 0 || r >= 1) {
		r = 0;
	}
	return POLICY_BACKOFF_MIN + (long)(r * (cap - (double)POLICY_BACKOFF_MIN));
}

time_t
policy_ari_time(time_t start, time_t end, time_t now, double r)
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

time_t
policy_ari_next(time_t now, time_t retry_after)
{
	time_t delay = retry_after > now ? retry_after - now : 6 * 3600;

	if (delay < 60) {
		delay = 60;
	}
	if (delay > 24 * 3600) {
		delay = 24 * 3600;
	}
	return now + delay;
}

double
policy_random(void)
{
	unsigned int v = 0;

	/* The jitter spreads many certificates and many hosts apart; it needs
	 * no secrecy, only no common seed. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		v = (unsigned int)rand();
	}
	return (double)(v % 1000000u) / 1000000.0;
}

/* "adds a, b; drops c" into buf. */
static void
names_change(const struct ident *have, size_t n_have, const struct ident *want, size_t n_want,
             char *buf, size_t len)
{
	size_t added;

	buf[0] = '\0';
	added = ident_missing_text(want, n_want, have, n_have, "adds ", buf, len);
	ident_missing_text(have, n_have, want, n_want, added > 0 ? "; drops " : "drops ", buf, len);
}

/* Whether the installed certificate must be replaced whatever its dates;
 * says why in d. */
static bool
must_replace(const struct policy_input *in, struct policy_decision *d)
{
	const struct store_cert_info *inst = in->installed;
	char change[256];

	if (!inst->present) {
		d->reason = inst->problem[0] != '\0' ? POLICY_BROKEN : POLICY_MISSING;
		/* An order stopped (a signal, kill -9) is resumed, not placed
		 * again: say so, or it looks as if nothing had begun. */
		snprintf(d->why, sizeof(d->why), "%s%s",
		         inst->problem[0] != '\0' ? inst->problem : "no certificate installed",
		         in->state != NULL && in->state->order_url != NULL
		                 ? " (an order was begun at the CA: the next run takes it on, "
		                   "placing no other)"
		                 : "");
		return true;
	}
	if (inst->problem[0] != '\0') {
		d->reason = POLICY_BROKEN;
		snprintf(d->why, sizeof(d->why), "installed set broken: %s", inst->problem);
		return true;
	}
	if (!ident_set_equal(inst->ids, inst->n_ids, in->want, in->n_want)) {
		names_change(inst->ids, inst->n_ids, in->want, in->n_want, change, sizeof(change));
		d->reason = POLICY_NAMES;
		snprintf(d->why, sizeof(d->why), "the configured names changed: %s", change);
		return true;
	}
	if (in->ca != NULL && in->state->ca != NULL && strcmp(in->ca, in->state->ca) != 0 &&
	    !conf_ca_list_has(in->ca_list, in->state->ca)) {
		d->reason = POLICY_OTHER_CA;
		snprintf(d->why, sizeof(d->why), "issued by %s, configured CA is %s", in->state->ca,
		         in->ca);
		return true;
	}
	return false;
}

/* Whether the installed set's deploy hook has yet to succeed: recorded as
 * pending, or a set newer than the one state.json recorded (a job switched
 * to it and was killed before it could record anything). */
static bool
deploy_owed(const struct policy_input *in)
{
	const struct store_cert_info *inst = in->installed;
	const struct state *st = in->state;

	if (!inst->present) {
		return false;
	}
	/* A deploy owed to a hook this configuration does not set (another
	 * process's configuration failed it) is not this one's to run:
	 * "deploy-hook '(null)' is not a command" would fail it forever. */
	return in->deploy_hook &&
	       (st->deploy_pending || (st->version >= 0 && inst->version > st->version));
}

/* When an installed, whole set is due: the lifetime rule, or the CA's
 * window, never before the floor after the last success. Sets d's reason,
 * why and skewed; returns the time. */
static time_t
due_time(const struct policy_input *in, struct policy_decision *d)
{
	const struct store_cert_info *inst = in->installed;
	const struct state *st = in->state;
	time_t rule = policy_renewal_time(inst->not_before, inst->not_after, in->renew_before);
	time_t floor_until = 0;
	time_t when = rule;
	char date[64];

	d->reason = POLICY_DUE;
	/* RFC 9773 section 4.2: the CA's window replaces the client's own
	 * rule; one past expiry would let the certificate lapse. */
	if (in->ari_when != 0 && in->ari_when < inst->not_after) {
		when = in->ari_when;
		d->reason = POLICY_ARI;
	}
	if (st->last_success != 0) {
		floor_until = st->last_success + policy_floor(inst->not_before, inst->not_after);
	}
	if (rule <= st->last_success && st->last_success != 0) {
		/* Due by the host's clock the moment it was issued. */
		d->skewed = true;
	}
	if (when < floor_until) {
		when = floor_until;
	}
	log_time(inst->not_after, date, sizeof(date));
	if (when > in->now) {
		d->reason = POLICY_NOT_DUE;
		/* A forced renewal stopped (a signal) left its order: not due,
		 * it waits, which status says (operator trial of #18). */
		snprintf(d->why, sizeof(d->why), "%svalid until %s",
		         st->order_url != NULL ? "an order begun was stopped (`acmed renew --force "
		                                 "NAME` takes it on now); "
		                               : "",
		         date);
	} else if (d->reason == POLICY_ARI) {
		snprintf(d->why, sizeof(d->why),
		         "the CA's renewalInfo window has come (valid until %s)", date);
	} else {
		snprintf(d->why, sizeof(d->why), "due for renewal (valid until %s)", date);
	}
	return when;
}

/* Whether a recorded retry time still holds at now. No backoff is longer
 * than POLICY_BACKOFF_MAX, so one further away was recorded with a clock
 * far ahead (faketime, a bad RTC) and would hold the certificate past its
 * expiry: it is ignored. */
static bool
held_until(time_t next_try, time_t now)
{
	return next_try > now && next_try - now <= POLICY_BACKOFF_MAX;
}

/* A due certificate held by the backoff after failures: d says until when. */
static void
hold(const struct policy_input *in, struct policy_decision *d)
{
	const struct state *st = in->state;
	char why[sizeof(d->why)];
	char date[64];

	memcpy(why, d->why, sizeof(why));
	log_time(st->next_try, date, sizeof(date));
	d->reason = POLICY_BACKOFF;
	d->when = st->next_try;
	snprintf(d->why, sizeof(d->why),
	         "%.200s; held after %ld failure%s until %s (--force orders now)", why,
	         st->attempts, st->attempts == 1 ? "" : "s", date);
}

/* A certificate not to be ordered whose deploy hook is owed: DEPLOY now, or
 * WAIT until its retry when that comes before d->when. */
static void
deploy_again(const struct policy_input *in, struct policy_decision *d)
{
	const struct state *st = in->state;
	char date[64];

	if (!held_until(st->deploy_next_try, in->now)) {
		d->action = POLICY_DEPLOY;
		d->reason = POLICY_DEPLOY_RETRY;
		d->when = in->now;
		if (st->deploy_attempts == 0) {
			/* Owed by an install that a crash may have cut short. */
			snprintf(d->why, sizeof(d->why),
			         "installed; its deploy hook has not run yet: running it now");
		} else {
			snprintf(d->why, sizeof(d->why),
			         "installed, but its deploy hook failed %ld time%s: running it "
			         "again",
			         st->deploy_attempts, st->deploy_attempts == 1 ? "" : "s");
		}
		return;
	}
	if (st->deploy_next_try < d->when) {
		log_time(st->deploy_next_try, date, sizeof(date));
		d->reason = POLICY_DEPLOY_RETRY;
		d->when = st->deploy_next_try;
		snprintf(d->why, sizeof(d->why), "deploy hook failed %ld time%s; next try %s",
		         st->deploy_attempts, st->deploy_attempts == 1 ? "" : "s", date);
	}
}

void
policy_decide(const struct policy_input *in, struct policy_decision *d)
{
	const struct state *st = in->state;
	time_t now = in->now;

	memset(d, 0, sizeof(*d));
	d->reason = POLICY_NOT_DUE;
	d->when = must_replace(in, d) ? now : due_time(in, d);
	if (in->force) {
		bool held = st->attempts > 0 && held_until(st->next_try, now);

		d->action = POLICY_ORDER;
		d->when = now;
		/* A certificate never issued has nothing to renew: its first
		 * order, --force changing only the backoff. */
		if (d->reason == POLICY_MISSING) {
			snprintf(d->why, sizeof(d->why), "no certificate installed: %s%s",
			         st->order_url != NULL ? "the order begun at the CA is taken on"
			                               : "first order",
			         held ? " (--force), over the backoff after failures" : "");
			return;
		}
		d->reason = POLICY_FORCED;
		snprintf(d->why, sizeof(d->why), "renewing now (--force)%s",
		         held ? ", over the backoff after failures" : "");
		return;
	}
	if (d->when <= now && st->attempts > 0 && held_until(st->next_try, now)) {
		hold(in, d);
	}
	if (d->when <= now) {
		d->action = POLICY_ORDER;
		d->when = now;
		return;
	}
	d->action = POLICY_WAIT;
	if (deploy_owed(in)) {
		deploy_again(in, d);
	}
}

void
policy_view_init(struct policy_view *v)
{
	memset(&v->info, 0, sizeof(v->info));
	v->info.version = -1;
	state_init(&v->st);
}

int
policy_view_load(const char *state_dir, const char *name, struct policy_view *v)
{
	return policy_view_load_from(NULL, state_dir, name, v, NULL);
}

int
policy_view_load_from(struct store_index *ix, const char *state_dir, const char *name,
                      struct policy_view *v, uint64_t *folder)
{
	char *dir = NULL;
	int rc = -1;

	if (ix != NULL) {
		return store_index_read(ix, name, &v->info, &v->st, folder);
	}
	policy_view_init(v);
	if (folder != NULL) {
		*folder = store_cert_folder_identity(state_dir, name);
	}
	dir = store_cert_dir(state_dir, name);
	if (dir == NULL || store_cert_inspect(state_dir, name, &v->info) < 0) {
		goto out;
	}
	/* An unreadable state.json is as good as none: it is rewritten by
	 * the next attempt. */
	if (state_load(dir, &v->st) < 0) {
		state_init(&v->st);
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

void
policy_view_finish(struct policy_view *v)
{
	store_cert_info_finish(&v->info);
	state_finish(&v->st);
}

int
policy_view_decide(const struct policy_view *v, const struct conf_settings *s, const char *ca,
                   bool force, time_t ari_when, time_t now, struct policy_decision *d)
{
	const struct store_cert_info *info = &v->info;
	const struct state *st = &v->st;
	struct policy_input in;
	struct ident *want = calloc(s->n_domains + 1, sizeof(*want));

	if (want == NULL) {
		memset(d, 0, sizeof(*d));
		snprintf(d->why, sizeof(d->why), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->n_domains; i++) {
		want[i].type = ident_type_of(s->domains[i]);
		want[i].value = s->domains[i];
	}
	if (ari_when == 0 && info->ari_id != NULL && st->ari_id != NULL &&
	    strcmp(info->ari_id, st->ari_id) == 0) {
		ari_when = st->ari_when;
	}
	memset(&in, 0, sizeof(in));
	in.installed = info;
	in.state = st;
	in.want = want;
	in.n_want = s->n_domains;
	in.renew_before = s->renew_before;
	in.ca = ca;
	in.ca_list = s->ca_list;
	in.ari_when = ari_when;
	in.force = force;
	in.deploy_hook = s->deploy_hook != NULL;
	in.now = now;
	policy_decide(&in, d);
	d->ari_stale = info->present && info->ari_id != NULL &&
	               (st->ari_id == NULL || strcmp(info->ari_id, st->ari_id) != 0 ||
	                st->ari_next <= now);
	free(want);
	return 0;
}

int
policy_check(const char *state_dir, const char *name, const struct conf_settings *s, const char *ca,
             bool force, time_t ari_when, time_t now, struct policy_decision *d,
             struct store_cert_info *info_out)
{
	struct policy_view v;
	int rc = -1;

	if (info_out != NULL) {
		memset(info_out, 0, sizeof(*info_out));
		info_out->version = -1;
	}
	if (policy_view_load(state_dir, name, &v) < 0) {
		memset(d, 0, sizeof(*d));
		snprintf(d->why, sizeof(d->why), "out of memory or a bad name");
		goto out;
	}
	if (policy_view_decide(&v, s, ca, force, ari_when, now, d) < 0) {
		goto out;
	}
	rc = 0;
	if (info_out != NULL) {
		*info_out = v.info;
		memset(&v.info, 0, sizeof(v.info));
	}
out:
	policy_view_finish(&v);
	return rc;
}

int
policy_record_failure(struct state *st, time_t now, time_t retry_after, const char *message,
                      double r)
{
	st->last_attempt = now;
	st->attempts++;
	st->next_try = now + policy_backoff(st->attempts, r);
	/* The CA's Retry-After is a floor, within the backoff's cap. */
	if (retry_after > st->next_try && retry_after - now <= POLICY_BACKOFF_MAX) {
		st->next_try = retry_after;
	}
	return state_set(&st->last_error, message);
}

int
policy_record_installed(struct state *st, time_t now, time_t not_after, const char *ca,
                        bool deploy_hook)
{
	st->last_attempt = now;
	st->last_success = now;
	st->attempts = 0;
	st->next_try = 0;
	st->not_after = not_after;
	st->deploy_pending = deploy_hook;
	st->deploy_attempts = 0;
	st->deploy_next_try = 0;
	if (state_set(&st->last_error, NULL) < 0 || state_set(&st->deploy_error, NULL) < 0) {
		return -1;
	}
	return ca != NULL ? state_set(&st->ca, ca) : 0;
}

int
policy_record_deployed(struct state *st, time_t now, bool ok, const char *message, double r)
{
	if (ok) {
		st->deploy_pending = false;
		st->deploy_attempts = 0;
		st->deploy_next_try = 0;
		return state_set(&st->deploy_error, NULL);
	}
	st->deploy_pending = true;
	st->deploy_attempts++;
	st->deploy_next_try = now + policy_backoff(st->deploy_attempts, r);
	return state_set(&st->deploy_error, message);
}

int
policy_record_install(struct state *st, time_t now, const struct store_cert_info *info,
                      const char *ca, bool deploy_hook, bool ari)
{
	if (policy_record_installed(st, now, info->not_after, ca, deploy_hook) < 0 ||
	    state_set(&st->ari_id, info->ari_id) < 0 || state_set(&st->order_url, NULL) < 0) {
		return -1;
	}
	st->ari_when = 0;
	st->ari_next = ari ? policy_ari_next(now, 0) : now + POLICY_ARI_ABSENT;
	return 0;
}

int
policy_record_attempt(struct state *st, enum policy_attempt a, time_t now, time_t retry_after,
                      const char *message, double r)
{
	int rc = 0;

	switch (a) {
	case POLICY_ATTEMPT_FAILED:
		rc = state_set(&st->order_url, NULL);
		if (rc == 0) {
			rc = policy_record_failure(st, now, retry_after, message, r);
		}
		break;
	case POLICY_ATTEMPT_INSTALL_FAILED:
		rc = policy_record_failure(st, now, retry_after, message, r);
		break;
	case POLICY_ATTEMPT_LOCAL:
		st->last_attempt = now;
		rc = state_set(&st->last_error, message);
		break;
	case POLICY_ATTEMPT_DEPLOYED:
		rc = policy_record_deployed(st, now, true, NULL, r);
		break;
	case POLICY_ATTEMPT_DEPLOY_FAILED:
		rc = policy_record_deployed(st, now, false, message, r);
		break;
	case POLICY_ATTEMPT_ORDER_OVER:
		rc = state_set(&st->order_url, NULL);
		break;
	case POLICY_ATTEMPT_NONE:
	default:
		return 0;
	}
	return rc < 0 ? -1 : 1;
}
