/* Chain choice (RFC 8555 section 7.4.2): the CA sends a default chain and
 * may name alternates with Link: rel="alternate"; which one is installed,
 * by the certificate's preferred-chain and chain settings. */
#ifndef ACMED_ACME_CHAIN_H
#define ACMED_ACME_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

/* What a certificate asks for; zeroed: the default chain, no alternate
 * fetched. */
struct acme_chain_pref {
	/* preferred-chain: a chain whose topmost certificate's issuer or
	 * subject Common Name is this (ASCII case ignored); NULL: none */
	const char *issuer;
	bool shortest; /* chain = shortest: the fewest certificates */
};

/* Whether pref asks for a choice, so that the alternates are worth
 * fetching. */
bool acme_chain_wanted(const struct acme_chain_pref *pref);

/* The chain to install among n PEM texts (pems[0] the default, the others
 * the alternates in the order offered; a NULL entry an alternate that could
 * not be fetched). An alternate that does not parse or whose leaf is not
 * the default's is refused (logged). The candidates are the chains that
 * match pref->issuer when one does, else all of them (and when
 * pref->issuer was set, the issuers offered are logged once); among the
 * candidates, the one with the fewest certificates when pref->shortest
 * (a tie: the earlier, so the default wins it), else the first. name is
 * the certificate's, for the log. Returns the index of the chain; 0 also
 * when the default does not parse (installing it says why). */
size_t acme_chain_pick(const struct acme_chain_pref *pref, const char *const *pems,
                       const size_t *lens, size_t n, const char *name);

#endif
