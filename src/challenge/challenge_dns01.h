/* The dns-01 flow the two dns-01 responders share (challenge_dns01.c):
 * present follows the CNAME chain of _acme-challenge.NAME
 * (dns01_lookup.h), has the record set at its final target, checks its
 * propagation (dns01_check.h), waits dns-wait, and only then reports it
 * done, so the CA is told to validate after every server has it; cleanup
 * has the same target's record removed. probe (challenge_ops.probe, when
 * the setter has one) goes the way of present up to the set, then asks
 * the setter's probe instead (dns01_probe.h). What sets and removes
 * records is a setter (dns01_setter.h): the dns-hook program
 * (challenge_dns01.c) or RFC 2136 updates (challenge_dnsupdate.c). Not
 * part of the challenge API (challenge.h). */
#ifndef ACMED_CHALLENGE_DNS01_H
#define ACMED_CHALLENGE_DNS01_H

#include <ev.h>
#include <stdbool.h>

#include "challenge/challenge.h"
#include "challenge/dns01_setter.h"
#include "challenge/responders.h"

/* A dns-01 responder running the flow with setter (static) and ctx
 * (stolen: destroyed with the responder, or at once on failure). Returns
 * a new responder or NULL (logged). */
struct challenge *challenge_dns01_flow_create(struct ev_loop *loop,
                                              const struct challenge_dns01_setter *setter,
                                              void *ctx, const struct challenge_dns01_opts *opts);

#endif
