/* The CAA check's lookups (renew/caa_check.h) through acmed's resolver
 * (io/dns.h): each name asked for its CAA records with recursion, the
 * answer read into what caa_check expects. */
#ifndef ACMED_CAA_DNS_H
#define ACMED_CAA_DNS_H

#include "io/dns.h"
#include "renew/caa_check.h"

/* The lookups; their ctx is a struct dns * (borrowed: it outlives every
 * check that uses it). A lookup's answer comes from the loop, never inside
 * query, never after cancel (io/dns's own discipline). */
extern const struct caa_lookup_ops caa_dns_ops;

/* The most CAA records read from one answer; beyond, the answer counts as
 * failed (no real domain has that many, and a partial set could allow
 * what the whole forbids). */
#define CAA_DNS_MAX_RECORDS 64

/* How one answer to a CAA query for name reads (status, rcode and msg as
 * dns_query_fn has them): the CAA records at the end of the CNAME chain
 * that starts at name, which the resolver followed (RFC 8659 section 3);
 * an answer with only CNAMEs holds none (CAA_ANSWER_EMPTY); NXDOMAIN is
 * CAA_ANSWER_NXDOMAIN; another RCODE or no answer CAA_ANSWER_FAILED with
 * its name ("SERVFAIL", "timeout"). out->records points into records (cap
 * of them), whose tag and value point into msg: valid while msg is;
 * out->error points into err (errlen bytes). */
void caa_dns_read(const char *name, enum dns_status status, int rcode, const struct dns_msg *msg,
                  struct caa_record *records, size_t cap, char *err, size_t errlen,
                  struct caa_answer *out);

#endif
