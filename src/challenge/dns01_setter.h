/* Who sets the records of the dns-01 flow (challenge_dns01.h): the
 * interface the dns-hook program (challenge_dns01.c) and RFC 2136 updates
 * (challenge_dnsupdate.c) implement, and the flow (challenge_dns01.c) and
 * its probe (dns01_probe.c) call. */
#ifndef ACMED_DNS01_SETTER_H
#define ACMED_DNS01_SETTER_H

#include <stdbool.h>

#include "challenge/challenge.h"

/* One record to set or remove (or probe for: value NULL), all borrowed
 * for the call. */
struct challenge_dns01_record {
	const struct challenge_task *task;
	const char *name; /* the target, with a trailing dot */
	const char *original; /* task->txt_name */
	const char *zone; /* the zone of name; NULL unless the setter needs_zone */
	const char *value;
};

/* A setter's probe on its way (challenge_dns01_setter.probe). */
struct challenge_dns01_probe;

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
	/* Asks whether set would be let through for rec (its value NULL)
	 * without changing what the zone holds; done once from the loop, the
	 * handle in *handle until then. Returns 0, or -1 (logged) and done
	 * never called. NULL: nothing to probe. */
	int (*probe)(void *ctx, const struct challenge_dns01_record *rec, challenge_probe_fn done,
	             void *arg, struct challenge_dns01_probe **handle);
	/* A probe whose done has not been called: ends it, done never called.
	 * Set whenever probe is. */
	void (*probe_cancel)(void *ctx, struct challenge_dns01_probe *handle);
};

#endif
