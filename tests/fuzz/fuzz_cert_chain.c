/* cert_chain_parse, the splitter for the PEM chain a CA sends, and what is
 * then done with each certificate: validity, names, serial, ARI identifier,
 * and cert_chain_check against the leaf's own key and names (so that it gets
 * past the key and name checks to the dates and signatures). */
#include <string.h>

#include "crypto/cert.h"
#include "crypto/cert_chain.h"
#include "fuzz.h"

/* 2023-11-14: a fixed "now", so that a run is reproducible. */
#define FUZZ_NOW ((time_t)1700000000)

static void
check_cert(X509 *x)
{
	struct ident *ids = NULL;
	size_t n_ids = 0;
	time_t nb, na;
	char *s;

	(void)cert_validity(x, &nb, &na);
	if (cert_ids(x, &ids, &n_ids) == 0) {
		for (size_t i = 0; i < n_ids; i++) {
			FUZZ_CHECK(ids[i].value != NULL);
			FUZZ_CHECK(ids[i].type == IDENT_DNS || ids[i].type == IDENT_IP);
		}
		ident_list_free(ids, n_ids);
	}
	s = cert_serial_hex(x);
	free(s);
	s = cert_ari_id(x);
	if (s != NULL) {
		FUZZ_CHECK(strchr(s, '.') != NULL);
	}
	free(s);
}

static void
check_chain(struct cert_chain *chain)
{
	struct ident *ids = NULL;
	size_t n_ids = 0;
	char err[256];

	if (cert_ids(cert_chain_leaf(chain), &ids, &n_ids) != 0 || n_ids == 0) {
		goto out;
	}
	memset(err, 'x', sizeof(err));
	if (cert_chain_check(chain, X509_get0_pubkey(cert_chain_leaf(chain)), ids, n_ids, FUZZ_NOW,
	                     err, sizeof(err)) != 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	}
out:
	ident_list_free(ids, n_ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert_chain chain;
	char err[256];

	fuzz_setup();
	memset(err, 'x', sizeof(err));
	if (cert_chain_parse((const char *)data, size, &chain, err, sizeof(err)) == 0) {
		FUZZ_CHECK(chain.n >= 1 && chain.n <= CERT_MAX_CHAIN);
		/* What the brief read of the leaf takes, the full parse
		 * takes too. */
		FUZZ_CHECK(chain.leaf != NULL && cert_chain_leaf(&chain) != NULL);
		for (size_t i = 0; i < chain.n; i++) {
			FUZZ_CHECK(chain.certs[i] != NULL);
			check_cert(chain.certs[i]);
		}
		check_chain(&chain);
		cert_chain_finish(&chain);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		FUZZ_CHECK(chain.n == 0);
	}
	cert_chain_finish(&chain);
	return 0;
}
