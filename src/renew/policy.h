/* The one renewal policy: whether a certificate is to be ordered now, only
 * deployed again, or left until when; and what a finished attempt records.
 * `acmed cert`, `renew`, `run`, `deploy` and `status` all ask it, so a
 * certificate is due for all of them or for none.
 *
 * The rules, in order:
 *   - nothing installed, an installed set that is not whole (a file missing,
 *     privkey.pem not the certificate's key, chain.pem unreadable), other
 *     names than configured, or another CA than configured: due now;
 *   - else at the renewal time: renew-before before notAfter when set, else
 *     when a third of the lifetime is left (half of it under 10 days), or
 *     the time picked in the CA's renewalInfo window (RFC 9773) when known;
 *     but never sooner than a floor after the last success (a quarter of the
 *     lifetime, at most an hour), so a host clock ahead of the CA's cannot
 *     make a fresh certificate due again at once;
 *   - failures in a row hold the next order until the recorded backoff
 *     (exponential with full jitter, 1 minute to 24 hours, the CA's
 *     Retry-After as a floor);
 *   - --force orders now, over the backoff and the floor;
 *   - a certificate installed whose deploy hook failed is deployed again
 *     (its own backoff), never ordered again for it.
 *
 * policy_decide and the policy_record_* functions are pure: time and
 * randomness come in as arguments. */
#ifndef ACMED_POLICY_H
#define ACMED_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_parse.h"
#include "conf/conf.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "store/store_index.h"

#define POLICY_BACKOFF_MIN 60L
#define POLICY_BACKOFF_MAX (24L * 3600)
#define POLICY_FLOOR_MAX 3600L
/* How long a run trusts that a CA offers no renewalInfo before looking. */
#define POLICY_ARI_ABSENT (24L * 3600)

enum policy_action {
	POLICY_WAIT, /* nothing to do until decision.when */
	POLICY_ORDER, /* order (and install, and deploy) now */
	POLICY_DEPLOY, /* only run the deploy hook again */
	POLICY_ACTION__MAX,
};

enum policy_reason {
	POLICY_NOT_DUE,
	POLICY_MISSING, /* nothing installed */
	POLICY_BROKEN, /* the installed set is not whole */
	POLICY_NAMES, /* the configured names differ */
	POLICY_OTHER_CA, /* issued by another CA than configured */
	POLICY_DUE, /* its renewal time has come */
	POLICY_ARI, /* the CA's renewalInfo window says so */
	POLICY_FORCED,
	POLICY_BACKOFF, /* due, but held by the backoff after failures */
	POLICY_DEPLOY_RETRY, /* installed, the deploy hook to run again */
	POLICY_REASON__MAX,
};

struct policy_input {
	const struct store_cert_info *installed;
	const struct state *state;
	const struct ident *want; /* the configured names */
	size_t n_want;
	long renew_before; /* seconds, 0: auto */
	const char *ca; /* the configured directory URL, or NULL */
	/* Every CA the certificate may come from (conf_settings.ca_list:
	 * failover), or NULL: only ca. One of them issued it: no reason to
	 * order before it is due. */
	const char *ca_list;
	time_t ari_when; /* the time picked in the CA's window, 0: none */
	bool force;
	/* A deploy hook is configured: an installed set newer than the one
	 * state.json recorded owes its deploy (see state.h, version). */
	bool deploy_hook;
	time_t now;
};

struct policy_decision {
	enum policy_action action;
	enum policy_reason reason;
	time_t when; /* now for ORDER and DEPLOY; else when to look again */
	bool skewed; /* due the moment it was installed: clock ahead? */
	/* The CA's renewal window for what is installed is unknown or due to
	 * be asked again (policy_check only). */
	bool ari_stale;
	char why[384]; /* one line for the log and status */
};

/* Decides for one certificate. */
void policy_decide(const struct policy_input *in, struct policy_decision *d);

/* What the policy reads of one certificate: its installed set and its
 * state.json. A job reads it once, under the certificate's lock, keeps it
 * for its whole life and changes st in memory (policy_record_*), so that
 * cert.pem is parsed and state.json read and written once per job. */
struct policy_view {
	struct store_cert_info info;
	struct state st; /* an unreadable state.json reads as an empty one */
};

/* An empty view: nothing installed (version -1), nothing recorded. */
void policy_view_init(struct policy_view *v);

/* Reads the view of certs/<name>. Returns 0, or -1 when out of memory or
 * for a bad name; v is then empty (version -1) but safe to finish. */
int policy_view_load(const char *state_dir, const char *name, struct policy_view *v);

/* policy_view_load through the state folder's index ix (NULL: from the
 * files, as policy_view_load): the set parsed and state.json read only
 * when they changed since ix recorded them (store_index_read). ix's state
 * folder is state_dir. folder (may be NULL) gets the certificate folder's
 * identity (store_cert_folder_identity) from before the files were read. */
int policy_view_load_from(struct store_index *ix, const char *state_dir, const char *name,
                          struct policy_view *v, uint64_t *folder);

void policy_view_finish(struct policy_view *v);

/* Decides from v for settings s (directory URL ca) as policy_check does;
 * ari_when 0 takes the time v->st recorded for the installed certificate.
 * Also sets d->ari_stale. Returns 0, or -1 when out of memory. */
int policy_view_decide(const struct policy_view *v, const struct conf_settings *s, const char *ca,
                       bool force, time_t ari_when, time_t now, struct policy_decision *d);

/* The same from what is under state_dir for the certificate name with
 * settings s (directory URL ca): reads the installed set and state.json;
 * ari_when 0 takes the time state.json recorded for the installed
 * certificate, if any.
 * info: when not NULL, gets the installed set (store_cert_info_finish).
 * Returns 0, or -1 when out of memory or for a bad name (d says why). */
int policy_check(const char *state_dir, const char *name, const struct conf_settings *s,
                 const char *ca, bool force, time_t ari_when, time_t now, struct policy_decision *d,
                 struct store_cert_info *info);

/* When a certificate valid from not_before to not_after is due by the
 * lifetime rule with renew_before (0: auto). */
time_t policy_renewal_time(time_t not_before, time_t not_after, long renew_before);

/* The least time between two successful orders of one certificate with this
 * lifetime. */
long policy_floor(time_t not_before, time_t not_after);

/* The backoff before attempt attempts+1 after attempts failures in a row:
 * uniform in [POLICY_BACKOFF_MIN, min(POLICY_BACKOFF_MAX, 60 * 2^(n-1))]
 * with r uniform in [0, 1). */
long policy_backoff(long attempts, double r);

/* What an attempt records in st (see state.h). failed: one more failure,
 * the next try after the backoff (r as for policy_backoff) or the CA's
 * retry_after (0: none) if later, message kept (copied). */
int policy_record_failure(struct state *st, time_t now, time_t retry_after, const char *message,
                          double r);

/* A certificate installed: failures forgotten, its notAfter and CA (copied)
 * kept, deploy pending until policy_record_deployed. */
int policy_record_installed(struct state *st, time_t now, time_t not_after, const char *ca,
                            bool deploy_hook);

/* A new set installed (info describes it), as policy_record_installed,
 * and its order over; its renewal window not asked for at once (months away
 * but for an incident, which the next look finds: six hours on when the CA
 * offers renewalInfo (ari), a day when not). */
int policy_record_install(struct state *st, time_t now, const struct store_cert_info *info,
                          const char *ca, bool deploy_hook, bool ari);

/* How an attempt ended, for policy_record_attempt. */
enum policy_attempt {
	POLICY_ATTEMPT_NONE, /* nothing to record */
	POLICY_ATTEMPT_FAILED, /* the order failed: backoff, the order forgotten */
	POLICY_ATTEMPT_LOCAL, /* failed on this host before the CA: said, no backoff */
	POLICY_ATTEMPT_DEPLOYED, /* the deploy hook succeeded */
	POLICY_ATTEMPT_DEPLOY_FAILED, /* installed, its deploy hook failed */
	POLICY_ATTEMPT_ORDER_OVER, /* a resumed order came to nothing: forgotten */
	/* the CA issued, the install failed here (a full disk), or a
	 * challenge could not be put in place before the CA was told to
	 * validate it (the order still pending there): backoff, the order
	 * kept, so that the next attempt takes it on instead of ordering
	 * anew */
	POLICY_ATTEMPT_INSTALL_FAILED,
	POLICY_ATTEMPT__MAX,
};

/* Records the end of an attempt in st: message (copied) for failures, the
 * CA's retry_after (0: none) and r as for policy_record_failure. Returns 1
 * when st changed, 0 when not, -1 when out of memory. */
int policy_record_attempt(struct state *st, enum policy_attempt a, time_t now, time_t retry_after,
                          const char *message, double r);

/* The deploy hook ran: ok clears the pending deploy; otherwise one more
 * deploy failure with its backoff (r) and message (copied). */
int policy_record_deployed(struct state *st, time_t now, bool ok, const char *message, double r);

/* Picks the renewal time inside an ARI window: now when the window is
 * over, else start + r * (end - start), never before now; r in [0, 1). */
time_t policy_ari_time(time_t start, time_t end, time_t now, double r);

/* When to ask for the renewal window again after an answer at now with
 * the CA's Retry-After (0: none): RFC 9773 section 4.3, within a minute and
 * a day, six hours without one. */
time_t policy_ari_next(time_t now, time_t retry_after);

/* Uniform in [0, 1), for the jitter. */
double policy_random(void);

const char *policy_reason_name(enum policy_reason reason);

#endif
