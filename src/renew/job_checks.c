/* The checks of the DNS before a new order of a job (job_internal.h;
 * issue #18): the CAA records of its names (renew/caa_check.h), then the
 * dns-persist-01 records (renew/persist_check.h), then the responder's
 * probe (challenge_ops.probe: dns-update asks its server with an update
 * that changes nothing), then the order. */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "challenge/challenge.h"
#include "renew/caa_dns.h"
#include "renew/job_internal.h"
#include "renew/persist_check.h"
#include "renew/responders.h"

/* The CA's issuer domain names (caa_check_ca_ids), with the caa-identity
 * of the job's settings, or of the CA failed over to; *n 0: none. */
static char *const *
ca_ids(const struct job *job, size_t *n)
{
	bool own = job->fallback[0] == '\0';

	return caa_check_ca_ids(acme_client_directory(job->ca->issue.client),
	                        own ? job->s.caa_identities : job->ca->caa_identities,
	                        own ? job->s.n_caa_identities : job->ca->n_caa_identities, n, NULL);
}

typedef void (*check_next_fn)(struct job *job, struct challenge *responder, EVP_PKEY *key);

static void probe_then_order(struct job *job, struct challenge *responder, EVP_PKEY *key);

/* A check before the order is over: its names' records allow, could not
 * be read (a warning: the CA asks its own resolvers and decides) or
 * refuse, as line says. next goes on with the responder and key the job
 * held for it, or the job fails (over to the next CA of its list when
 * the refusal is the CA's: ca_refuses). */
static void
check_over(struct job *job, enum persist_check_verdict outcome, const char *line,
           check_next_fn next, bool ca_refuses)
{
	struct challenge *responder = job->caa_responder;
	EVP_PKEY *key = job->caa_key;

	job->caa_key = NULL;
	job->caa_responder = NULL;
	if (outcome != PERSIST_CHECK_REFUSED) {
		log_msg(outcome == PERSIST_CHECK_ALLOWED ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
		        "%s: %s%s", job->name, line,
		        outcome == PERSIST_CHECK_ALLOWED ? "" : "; ordering all the same");
		next(job, responder, key);
		return;
	}
	EVP_PKEY_free(key);
	/* That CA's refusal, not the name's: another CA of the list may be
	 * named. */
	if (ca_refuses && job_failover(job, line)) {
		return;
	}
	/* Fixed in the zone, not at the CA: no backoff held against it. */
	job->local_failure = true;
	job_fail(job, "%s: not ordered: %s", job->name, line);
}

static void
on_persist_done(struct persist_check *check, void *arg)
{
	struct job *job = arg;
	char line[JOB_MESSAGE_LEN - 32];
	enum persist_check_verdict v = persist_check_verdict(check);

	job->persist = NULL;
	persist_check_summary(check, line, sizeof(line));
	persist_check_destroy(check);
	check_over(job, v, line, probe_then_order, true);
}

/* Starts the dns-persist-01 check of the job's names before a new order
 * (challenge = dns-persist-01) with responder and key (taken over when it
 * started). Returns true when it started (the order goes on from
 * on_persist_done), false when the order goes on now: another challenge,
 * no issuer domain name or account URL to check against, no resolver. */
static bool
persist_begin(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	struct persist_check_request req;
	struct dns *dns;
	char why[256];
	size_t n = 0;
	char *const *ids = ca_ids(job, &n);

	if (job->s.challenge != CONF_CHALLENGE_DNSPERSIST01 ||
	    responder->ops->type != CHALLENGE_TYPE_DNSPERSIST01) {
		return false;
	}
	if (n == 0 || job->ca->issue.acct == NULL) {
		/* The check at the challenge has the CA's issuer names. */
		log_debug("%s: dns-persist-01 not checked before the order: %s", job->name,
		          n == 0 ? "no caaIdentities, no caa-identity" : "no account");
		return false;
	}
	dns = responders_dns(job->sh->responders, job->s.dns_resolver);
	if (dns == NULL) {
		log_warn("%s: dns-persist-01 not checked first: no resolver (dns-resolver); "
		         "ordering all the same",
		         job->name);
		return false;
	}
	memset(&req, 0, sizeof(req));
	req.issuers = (const char *const *)ids;
	req.n_issuers = n;
	req.account_uri = job->ca->issue.acct->url;
	req.now = (int64_t)time(NULL);
	job->persist = persist_check_start(job->sh->loop, dns, &req, job->ids, job->n_ids,
	                                   on_persist_done, job, why, sizeof(why));
	if (job->persist == NULL) {
		log_warn("%s: dns-persist-01 not checked first: %s; ordering all the same",
		         job->name, why);
		return false;
	}
	job->caa_responder = responder;
	job->caa_key = key;
	return true;
}

/* After CAA: the dns-persist-01 records, then the order. */
static void
persist_then_order(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	if (!persist_begin(job, responder, key)) {
		probe_then_order(job, responder, key);
	}
}

static void
on_caa_done(struct caa_check *check, void *arg)
{
	struct job *job = arg;
	char line[JOB_MESSAGE_LEN - 32];
	enum persist_check_verdict outcome = PERSIST_CHECK_REFUSED;

	job->caa = NULL;
	switch (caa_check_verdict(check, NULL)) {
	case CAA_ALLOWED:
		outcome = PERSIST_CHECK_ALLOWED;
		caa_check_summary(check, line, sizeof(line));
		break;
	case CAA_UNCHECKED:
		/* A DNS failure hides records that may allow as well as
		 * forbid: the CA looks again and decides (RFC 8659 section 3
		 * leaves it to the CA). */
		outcome = PERSIST_CHECK_UNCHECKED;
		caa_check_summary(check, line, sizeof(line));
		break;
	default:
		caa_check_refusal(check, line, sizeof(line));
		break;
	}
	caa_check_destroy(check);
	check_over(job, outcome, line, persist_then_order, true);
}

/* Starts the CAA check of the job's names before a new order (issue #18)
 * with responder and key (taken over when it started). Returns true when
 * it started (the order goes on from on_caa_done), false when the order
 * goes on now: caa-check = no, or no identity of the CA to check against. */
static bool
caa_begin(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	struct caa_request req;
	struct dns *dns;
	size_t n = 0;
	char *const *ids = ca_ids(job, &n);

	if (!job->s.caa_check) {
		return false;
	}
	if (n == 0) {
		/* Nothing to compare the records with: no lookup at all. Said
		 * once for the CA (operator trial: a record forbidding it went
		 * unnoticed with caa-check on), the others in the debug log. */
		log_msg(job->ca->caa_unchecked_said ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
		        "%s: CAA not checked: %s lists no caaIdentities and no caa-identity is "
		        "set (caa-identity = DOMAIN names the CA's)",
		        job->name, job->ca->url);
		job->ca->caa_unchecked_said = true;
		return false;
	}
	dns = responders_dns(job->sh->responders, job->s.dns_resolver);
	if (dns == NULL) {
		log_warn("%s: CAA not checked: no resolver (see dns-resolver); ordering all the "
		         "same",
		         job->name);
		return false;
	}
	memset(&req, 0, sizeof(req));
	req.ca_ids = (const char *const *)ids;
	req.n_ca_ids = n;
	req.account_uri = job->ca->issue.acct != NULL ? job->ca->issue.acct->url : NULL;
	/* A responder of no known type leaves validationmethods undecided
	 * (a warning), never a refusal. */
	req.method = responder->ops->type != CHALLENGE_TYPE_UNKNOWN
	                     ? challenge_type_name(responder->ops->type)
	                     : NULL;
	job->caa = caa_check_start(job->sh->loop, &caa_dns_ops, dns, &req, job->ids, job->n_ids,
	                           on_caa_done, job);
	if (job->caa == NULL) {
		log_warn("%s: CAA not checked: out of memory; ordering all the same", job->name);
		return false;
	}
	job->caa_responder = responder;
	job->caa_key = key;
	return true;
}

void
job_checks_run(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	if (!caa_begin(job, responder, key)) {
		persist_then_order(job, responder, key);
	}
}

/* ---- the responder's probe ---- */

/* "_acme-challenge." and a name (RFC 1035 2.3.4: 253 octets) and ".". */
#define JOB_PROBE_NAME_MAX 300

static void on_probe(enum challenge_probe_result v, const char *message, void *arg);

/* Asks the responder the job holds (job->caa_responder) about the job's
 * next DNS name from job->probe_next on (a wildcard "*.x": x, whose
 * _acme-challenge.x holds its record, RFC 8555 section 8.4). Returns true
 * when a probe started (the job goes on from on_probe), false when no name
 * is left or the probe cannot start (said: the order goes on). */
static bool
probe_next(struct job *job)
{
	struct challenge *responder = job->caa_responder;
	char txt[JOB_PROBE_NAME_MAX];

	while (job->probe_next < job->n_ids) {
		const struct ident *id = &job->ids[job->probe_next++];
		bool wildcard = strncmp(id->value, "*.", 2) == 0;
		const char *name = wildcard ? id->value + 2 : id->value;
		struct challenge_task task = {
		        .cert_name = job->name,
		        .id_type = IDENT_DNS,
		        .identifier = name,
		        .wildcard = wildcard,
		        .txt_name = txt,
		};

		if (id->type != IDENT_DNS) {
			continue;
		}
		snprintf(txt, sizeof(txt), "_acme-challenge.%s.", name);
		if (responder->ops->probe(responder, &task, on_probe, job, &job->probe) == 0) {
			return true;
		}
		log_warn("%s: %s: %s not probed before the order; ordering all the same", job->name,
		         name, responder->ops->name);
		return false;
	}
	return false;
}

static void
on_probe(enum challenge_probe_result v, const char *message, void *arg)
{
	struct job *job = arg;
	char line[JOB_MESSAGE_LEN - 32];
	enum persist_check_verdict outcome = PERSIST_CHECK_ALLOWED;

	job->probe = NULL;
	snprintf(line, sizeof(line), "%s", message != NULL ? message : "");
	if (v == CHALLENGE_PROBE_OK) {
		log_debug("%s: %s", job->name, line);
		if (probe_next(job)) {
			return;
		}
		snprintf(line, sizeof(line), "%s let every name through its probe",
		         job->caa_responder->ops->name);
	} else if (v == CHALLENGE_PROBE_UNKNOWN) {
		/* present tries again and says precisely what fails; the
		 * other names' probes would wait as long. */
		outcome = PERSIST_CHECK_UNCHECKED;
	} else {
		outcome = PERSIST_CHECK_REFUSED;
	}
	/* A refusal is this host's to fix (the key, the zone's policy, the
	 * server's name): no other CA would do better, no backoff. */
	check_over(job, outcome, line, job_place_order, false);
}

/* After the checks of the records: the responder's probe of each DNS name
 * (those that can probe: dns-update), then the order. */
static void
probe_then_order(struct job *job, struct challenge *responder, EVP_PKEY *key)
{
	if (responder->ops->probe == NULL) {
		job_place_order(job, responder, key);
		return;
	}
	job->caa_responder = responder;
	job->caa_key = key;
	job->probe_next = 0;
	if (!probe_next(job)) {
		job->caa_responder = NULL;
		job->caa_key = NULL;
		job_place_order(job, responder, key);
	}
}
