/* The dns-persist-01 check of an order's identifiers before it is placed
 * (issue #18): for each DNS name, whether a TXT record at
 * _validation-persist.NAME authorises the account at one of the CA's
 * issuer domain names (challenge/persist.h: the record there, naming the
 * account's URI, policy=wildcard for a wildcard, persistUntil not past),
 * so that a missing or wrong record costs no newOrder at the CA.
 *
 * The issuer domain names are the CA's as its directory discloses them
 * (caa_check_ca_ids); the check at the challenge (challenge_persist.c)
 * stays, against the challenge's issuer-domain-names, which are what the
 * CA says for that order. The names are asked at once through the
 * resolvers (io/dns.h). A DNS failure (SERVFAIL, a timeout) makes a name
 * PERSIST_CHECK_UNCHECKED, a warning and not a refusal: the CA looks the
 * record up itself and decides. An IP address is refused: dns-persist-01
 * validates DNS names only. Every name is decided, so that a refusal says
 * how many. */
#ifndef ACMED_PERSIST_CHECK_H
#define ACMED_PERSIST_CHECK_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ident.h"
#include "io/dns.h"

enum persist_check_verdict {
	PERSIST_CHECK_ALLOWED, /* every name's record authorises */
	PERSIST_CHECK_UNCHECKED, /* a name could not be looked up, none refused */
	PERSIST_CHECK_REFUSED, /* a name has no record that authorises */
	PERSIST_CHECK__MAX,
};

/* "allowed", "unchecked", "refused". */
const char *persist_check_verdict_name(enum persist_check_verdict v);

struct persist_check_request {
	/* The CA's issuer domain names as it gives them (caa_check_ca_ids):
	 * each normalized (persist_issuer_normalize), one that cannot be is
	 * left out, at most PERSIST_ISSUERS_MAX kept. */
	const char *const *issuers;
	size_t n_issuers;
	const char *account_uri; /* the account's URL */
	int64_t now; /* UNIX seconds: persistUntil is compared with it */
};

struct persist_check;

/* The check is over: every name decided. Called once, from the loop,
 * never inside persist_check_start. check may be destroyed inside. */
typedef void (*persist_check_done_fn)(struct persist_check *check, void *arg);

/* Starts checking the n identifiers ids for req (both copied: nothing is
 * borrowed after the call) through dns (borrowed: it outlives the check)
 * on loop. Returns a new check; or NULL with the reason in why (whylen
 * bytes; done never called) when n is 0, req has no account URI, none of
 * its issuers is a domain name, or out of memory. done(check, arg) is
 * called once every name is decided. */
struct persist_check *persist_check_start(struct ev_loop *loop, struct dns *dns,
                                          const struct persist_check_request *req,
                                          const struct ident *ids, size_t n,
                                          persist_check_done_fn done, void *arg, char *why,
                                          size_t whylen);

/* Frees check; before done, cancels the lookups on their way (done is not
 * called then). Safe on NULL and inside done. */
void persist_check_destroy(struct persist_check *check);

/* The check's verdict, after done: PERSIST_CHECK_REFUSED when a name is
 * refused, else PERSIST_CHECK_UNCHECKED when one could not be checked,
 * else PERSIST_CHECK_ALLOWED. */
enum persist_check_verdict persist_check_verdict(const struct persist_check *check);

/* The one line to log, after done: for a refusal the words of the check
 * at the challenge (persist_refusal: "dns-persist-01: OWNER: WHY: create
 * the record `acmed dns-persist NAME` prints"), for a name not checked
 * "dns-persist-01: OWNER: could not check: WHY", of the first name with
 * the check's verdict, and "(and 2 more names)" when others share it;
 * when allowed, "dns-persist-01: the records of N names authorise the
 * account". Into buf (len bytes, cut short when full); returns buf. */
char *persist_check_summary(const struct persist_check *check, char *buf, size_t len);

#endif
