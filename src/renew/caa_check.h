/* The CAA check of an order's identifiers before it is placed (issue #18):
 * for each DNS name, the relevant record set found by climbing the DNS tree
 * (RFC 8659 section 3: the name, then each parent up to the TLD, the root
 * excluded; the first non-empty set is the relevant one; a wildcard name
 * starts without its "*."), and caa_decide's verdict over it. The lookups
 * go through struct caa_lookup_ops (io/dns.c's, or a test's), so that the
 * climbing runs without DNS.
 *
 * Every level of every name is asked at once, each distinct name once per
 * check (www.example.com and example.com share example.com); an answer
 * decides each name whose levels below are all known, and a level no
 * undecided name still waits for is cancelled. A DNS failure at or below
 * the level that decides a name makes it CAA_UNCHECKED ("could not check:
 * ..."), a warning and not a refusal: records hidden by the failure might
 * allow or forbid. IP address identifiers are not checked: CAA is for
 * domain names (RFC 8659), no standard defines it for addresses (RFC 8738
 * does not; draft-shoemaker-caa-ip expired). Every name is decided, so
 * that a refusal lists them all. */
#ifndef ACMED_CAA_CHECK_H
#define ACMED_CAA_CHECK_H

#include <ev.h>
#include <stddef.h>

#include "acme/acme_parse.h"
#include "base/ident.h"
#include "renew/caa.h"

enum caa_answer_status {
	CAA_ANSWER_RECORDS, /* NOERROR with CAA records */
	CAA_ANSWER_EMPTY, /* NOERROR, no CAA record (NODATA) */
	CAA_ANSWER_NXDOMAIN, /* the name does not exist: its parents are looked at all the same */
	CAA_ANSWER_FAILED, /* SERVFAIL, REFUSED, a timeout, no server, a bad answer... */
	CAA_ANSWER__MAX,
};

/* "records", "empty", "nxdomain", "failed". */
const char *caa_answer_status_name(enum caa_answer_status s);

/* What a lookup found at one name. Borrowed for the call. The lookup has
 * followed CNAMEs already (RFC 8659 section 3: a CNAME's target's records
 * are the name's); records of other types are not among these. */
struct caa_answer {
	enum caa_answer_status status;
	const struct caa_record *records; /* CAA_ANSWER_RECORDS: n_records (0 is EMPTY) */
	size_t n_records;
	const char *error; /* CAA_ANSWER_FAILED: one line, "SERVFAIL", "timeout" (NULL: "failed") */
};

typedef void (*caa_answer_fn)(void *arg, const struct caa_answer *answer);

/* How a check looks names up (ctx is the lookup's own). */
struct caa_lookup_ops {
	/* Looks up the CAA records of name (borrowed for the call; lower
	 * case, no trailing dot). Returns 0 with *handle set, and then calls
	 * answer(arg, ...) once, from the loop or before returning (the
	 * check copes with either), unless cancelled before; or -1 when it
	 * could not start (answer never called). */
	int (*query)(void *ctx, const char *name, caa_answer_fn answer, void *arg, void **handle);
	/* Stops the query of handle, whose answer has not come: answer is
	 * not called, neither inside nor after this call. */
	void (*cancel)(void *ctx, void *handle);
};

struct caa_check;

/* The check is over: every name decided. Called once, from the loop (a
 * lookup's answer or the check's own timer), never inside
 * caa_check_start. check may be destroyed inside. */
typedef void (*caa_check_done_fn)(struct caa_check *check, void *arg);

/* Starts checking the n identifiers ids for req (both copied: nothing is
 * borrowed after the call) on loop, by the lookups of ops and ctx
 * (borrowed: they outlive the check). Returns a new check, or NULL when
 * out of memory or n is 0 (done never called). done(check, arg) is called
 * once every name is decided; when none needs a lookup (IP addresses
 * only) or every lookup answered inside this call, from a timer of loop. */
struct caa_check *caa_check_start(struct ev_loop *loop, const struct caa_lookup_ops *ops, void *ctx,
                                  const struct caa_request *req, const struct ident *ids, size_t n,
                                  caa_check_done_fn done, void *arg);

/* Frees check; before done, cancels the lookups on their way (done is not
 * called then). Safe on NULL and inside done. */
void caa_check_destroy(struct caa_check *check);

/* The number of identifiers, the i-th as given, its result (valid after
 * done; an IP address is CAA_ALLOWED, "not checked: ..."). */
size_t caa_check_count(const struct caa_check *check);
const char *caa_check_name(const struct caa_check *check, size_t i);
const struct caa_result *caa_check_result(const struct caa_check *check, size_t i);

/* The check's verdict, after done: CAA_FORBIDDEN when a name is forbidden,
 * else CAA_UNCHECKED when one could not be checked, else CAA_ALLOWED.
 * *first (when not NULL) is the index of the first name with that verdict
 * (0 when allowed). */
enum caa_verdict caa_check_verdict(const struct caa_check *check, size_t *first);

/* The one line to log, after done: "NAME: REASON" of the first name with
 * the check's verdict, and "(and 2 more names)" when others share it. Into
 * buf (len bytes, cut short when full); returns buf. */
char *caa_check_summary(const struct caa_check *check, char *buf, size_t len);

/* The CA's issuer domain names, which CAA records (RFC 8659 section 4.2)
 * and dns-persist-01 records (draft-ietf-acme-dns-persist-01 section 2)
 * are to name: its directory's meta.caaIdentities when dir (may be NULL)
 * lists any (RFC 8555 section 7.1.1: the CA's own word), else the n_conf
 * names conf of caa-identity (a CA that lists none has to be told). *n is
 * their number, 0 when neither has any (NULL returned then); *from (when
 * not NULL) "meta.caaIdentities" or "caa-identity", for messages. Borrowed
 * from dir or conf. The one choice of the CAA check, the dns-persist-01
 * check before the order and `acmed dns-persist`. */
char *const *caa_check_ca_ids(const struct acme_directory *dir, char *const *conf, size_t n_conf,
                              size_t *n, const char **from);

/* The one line that says why check forbids (after done, with the verdict
 * CAA_FORBIDDEN): "NAME: REASON" of the first name forbidden, the name
 * left out when the reason starts with its own "CAA of NAME: ", and "(and
 * 2 more names)" when others are forbidden too. Into buf (len bytes, cut
 * short when full); returns buf. */
char *caa_check_refusal(const struct caa_check *check, char *buf, size_t len);

#endif
