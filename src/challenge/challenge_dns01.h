/* The dns-01 flow the two dns-01 responders share (challenge_dns01.c):
 * present follows the CNAME chain of _acme-challenge.NAME
 * (dns01_lookup.h), has the record set at its final target, checks its
 * propagation (dns01_check.h), waits dns-wait, and only then reports it
 * done, so the CA is told to validate after every server has it; cleanup
 * has the same target's record removed. What sets and removes records is
 * a setter: the dns-hook program (challenge_dns01.c) or RFC 2136 updates
 * (challenge_dnsupdate.c). Not part of the challenge API (challenge.h). */
#ifndef ACMED_CHALLENGE_DNS01_H
#define ACMED_CHALLENGE_DNS01_H

#include <ev.h>
#include <stdbool.h>

#include "challenge/challenge.h"
#include "challenge/responders.h"

/* One record to set or remove, all borrowed for the call. */
struct challenge_dns01_record {
	const struct challenge_task *task;
	const char *name; /* the target, with a trailing dot */
	const char *original; /* task->txt_name */
	const char *zone; /* the zone of name; NULL unless the setter needs_zone */
	const char *value;
};

/* Who sets the records. */
struct challenge_dns01_setter {
	const char *name; /* "dns-hook", "dns-update": the responder's name */
	bool needs_zone; /* set gets the zone (found by the SOA walk) */
	/* Adds (add) or removes the record; done once from the loop. Returns
	 * 0, or -1 (logged) and done is never called. */
	int (*set)(void *ctx, bool add, const struct challenge_dns01_record *rec,
	           challenge_done_fn done, void *arg);
	/* Drops what is in flight without calling done, frees ctx. */
	void (*destroy)(void *ctx);
	/* The responder stops (challenge_stop): adds on their way end soon,
	 * done -1 as ever; NULL when they end in bounded time anyway (an RFC
	 * 2136 update: its own tries). */
	void (*stop)(void *ctx);
};

/* A dns-01 responder running the flow with setter (static) and ctx
 * (stolen: destroyed with the responder, or at once on failure). Returns
 * a new responder or NULL (logged). */
struct challenge *challenge_dns01_flow_create(struct ev_loop *loop,
                                              const struct challenge_dns01_setter *setter,
                                              void *ctx, const struct challenge_dns01_opts *opts);

#endif
