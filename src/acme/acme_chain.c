#include "acme/acme_chain.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "crypto/cert_chain.h"

#define CN_MAX 256 /* longer Common Names are cut, for the log only */
#define OFFERED_MAX 1024

/* One chain offered: parsed, and its topmost certificate's names. */
struct offer {
	bool usable;
	size_t n_certs;
	bool matches;
	char issuer[CN_MAX];
};

bool
acme_chain_wanted(const struct acme_chain_pref *pref)
{
	return pref != NULL && (pref->issuer != NULL || pref->shortest);
}

/* The Common Name of name as UTF-8 in out ("" when none); *cut when it
 * was longer than out. */
static void
common_name(const X509_NAME *name, char *out, size_t len, bool *cut)
{
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int n;

	out[0] = '\0';
	*cut = false;
	if (i < 0) {
		goto out;
	}
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0) {
		goto out;
	}
	if ((size_t)n >= len) {
		*cut = true;
		n = (int)len - 1;
	}
	memcpy(out, utf8, (size_t)n);
	out[n] = '\0';
out:
	OPENSSL_free(utf8);
}

/* Whether the Common Name of name is want (a name cut short is not). */
static bool
cn_is(const X509_NAME *name, const char *want, char *buf, size_t len)
{
	bool cut;

	common_name(name, buf, len, &cut);
	return !cut && buf[0] != '\0' && strlen(buf) == strlen(want) && strcasecmp(buf, want) == 0;
}

/* Makes a Common Name fit for one log line. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			*s = '?';
		}
	}
}

/* Reads chain i (pem, len bytes) into o; leaf is the default chain's leaf
 * (NULL for the default itself). When o comes out usable, the parsed
 * chain is in *chain for the caller to finish. */
static void
offer_read(struct offer *o, const struct acme_chain_pref *pref, const char *pem, size_t len,
           const struct cert_brief *leaf, struct cert_chain *chain, const char *name, size_t i)
{
	char err[256];
	char buf[CN_MAX];
	const X509_NAME *top_issuer, *top_subject;
	bool cut;

	memset(o, 0, sizeof(*o));
	if (pem == NULL) {
		goto out;
	}
	if (cert_chain_parse(pem, len, chain, err, sizeof(err)) < 0) {
		if (i > 0) {
			log_warn("%s: alternate chain %zu refused: %s", name, i, err);
		}
		goto out;
	}
	/* RFC 8555 section 7.4.2: the alternates are the same certificate
	 * with other issuers; another leaf is not what was ordered. */
	if (leaf != NULL && !cert_brief_same(chain->leaf, leaf)) {
		log_warn("%s: alternate chain %zu refused: its certificate is not the default "
		         "chain's",
		         name, i);
		cert_chain_finish(chain);
		goto out;
	}
	/* The last certificate: the leaf itself when the CA sent it alone. */
	if (chain->n == 1) {
		top_issuer = cert_brief_issuer(chain->leaf);
		top_subject = cert_brief_subject(chain->leaf);
	} else {
		top_issuer = X509_get_issuer_name(chain->certs[chain->n - 1]);
		top_subject = X509_get_subject_name(chain->certs[chain->n - 1]);
	}
	o->usable = true;
	o->n_certs = chain->n;
	common_name(top_issuer, o->issuer, sizeof(o->issuer), &cut);
	printable(o->issuer);
	o->matches = pref->issuer != NULL && (cn_is(top_issuer, pref->issuer, buf, sizeof(buf)) ||
	                                      cn_is(top_subject, pref->issuer, buf, sizeof(buf)));
out:
	return;
}

/* Logs, once, that no chain matched and which were offered. */
static void
log_offered(const struct acme_chain_pref *pref, const struct offer *offers, size_t n,
            const char *name)
{
	char list[OFFERED_MAX];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(list); i++) {
		if (offers[i].usable) {
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"%s",
			                         used > 0 ? ", " : "", offers[i].issuer,
			                         i == 0 ? " (default)" : "");
		}
	}
	log_warn("%s: preferred-chain \"%s\": no chain offered is issued by it; the CA offered "
	         "chains issued by %s; using the %s",
	         name, pref->issuer, list, pref->shortest ? "shortest" : "default");
}

size_t
acme_chain_pick(const struct acme_chain_pref *pref, const char *const *pems, const size_t *lens,
                size_t n, const char *name)
{
	struct offer *offers = NULL;
	struct cert_chain def;
	bool any_match = false;
	size_t best = 0;

	memset(&def, 0, sizeof(def));
	if (!acme_chain_wanted(pref) || n < 1) {
		goto out;
	}
	offers = calloc(n, sizeof(*offers));
	if (offers == NULL) {
		log_warn("%s: out of memory choosing the chain; using the default", name);
		goto out;
	}
	offer_read(&offers[0], pref, pems[0], lens[0], NULL, &def, name, 0);
	if (!offers[0].usable) {
		goto out;
	}
	for (size_t i = 1; i < n; i++) {
		struct cert_chain alt;

		offer_read(&offers[i], pref, pems[i], lens[i], def.leaf, &alt, name, i);
		if (offers[i].usable) {
			cert_chain_finish(&alt);
		}
	}
	for (size_t i = 0; i < n; i++) {
		any_match = any_match || (offers[i].usable && offers[i].matches);
	}
	if (pref->issuer != NULL && !any_match) {
		log_offered(pref, offers, n, name);
	}
	best = n;
	for (size_t i = 0; i < n; i++) {
		if (!offers[i].usable || (any_match && !offers[i].matches)) {
			continue;
		}
		if (best == n || (pref->shortest && offers[i].n_certs < offers[best].n_certs)) {
			best = i;
		}
		if (!pref->shortest) {
			break;
		}
	}
	if (best == n) {
		best = 0;
	}
	if (best != 0) {
		log_info("%s: installing alternate chain %zu of %zu (issued by \"%s\", %zu "
		         "certificates)",
		         name, best, n - 1, offers[best].issuer, offers[best].n_certs);
	} else {
		log_debug("%s: installing the default chain (issued by \"%s\")", name,
		          offers[0].issuer);
	}
out:
	cert_chain_finish(&def);
	free(offers);
	return best;
}
