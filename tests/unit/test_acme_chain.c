/* acme_chain_pick: which of the chains a CA offers is installed, over real
 * chains made by pki.c: one leaf under an intermediate certified by two
 * roots, and a longer chain through a cross-signed certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acme/acme_chain.h"
#include "base/log.h"
#include "capture.h"
#include "pki.h"

/* The chains, as PEM: 0 the default (leaf, Int by Root A), 1 (leaf, Int by
 * Root B), 2 (leaf, Int by Root B, Root B by Cross Root C), 3 another leaf
 * under Root B, 4 not a chain. */
enum { DEF, ALT_B, ALT_LONG, ALT_OTHER_LEAF, ALT_GARBAGE, N_CHAINS };

struct chains {
	char *pem[N_CHAINS];
	size_t len[N_CHAINS];
	struct capture cap;
};

static int
setup(void **state)
{
	struct chains *c = calloc(1, sizeof(*c));
	time_t now = time(NULL);
	time_t nb = now - PKI_DAY, na = now + 90 * PKI_DAY;
	EVP_PKEY *ka = pki_key(), *kb = pki_key(), *kc = pki_key(), *ki = pki_key();
	EVP_PKEY *kl = pki_key();
	X509 *root_a = pki_cert(ka, "Root A", NULL, ka, NULL, nb, na, true);
	X509 *root_b = pki_cert(kb, "Root B", NULL, kb, NULL, nb, na, true);
	X509 *root_c = pki_cert(kc, "Cross Root C", NULL, kc, NULL, nb, na, true);
	X509 *b_by_c = pki_cert(kb, "Root B", root_c, kc, NULL, nb, na, true);
	X509 *int_a = pki_cert(ki, "Int", root_a, ka, NULL, nb, na, true);
	X509 *int_b = pki_cert(ki, "Int", root_b, kb, NULL, nb, na, true);
	X509 *leaf = pki_cert(kl, "a.test", int_a, ki, "DNS:a.test", nb, na, false);
	X509 *leaf2 = pki_cert(kl, "a.test", int_a, ki, "DNS:a.test", nb, na, false);

	c->pem[DEF] = pki_pem_list((X509 *[]){leaf, int_a}, 2, &c->len[DEF]);
	c->pem[ALT_B] = pki_pem_list((X509 *[]){leaf, int_b}, 2, &c->len[ALT_B]);
	c->pem[ALT_LONG] = pki_pem_list((X509 *[]){leaf, int_b, b_by_c}, 3, &c->len[ALT_LONG]);
	c->pem[ALT_OTHER_LEAF] = pki_pem_list((X509 *[]){leaf2, int_b}, 2, &c->len[ALT_OTHER_LEAF]);
	c->pem[ALT_GARBAGE] = strdup("not a certificate");
	c->len[ALT_GARBAGE] = strlen(c->pem[ALT_GARBAGE]);
	X509 *all[] = {root_a, root_b, root_c, b_by_c, int_a, int_b, leaf, leaf2};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		X509_free(all[i]);
	}
	EVP_PKEY *keys[] = {ka, kb, kc, ki, kl};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EVP_PKEY_free(keys[i]);
	}
	capture_begin(&c->cap, false);
	log_init("acmed", LOG_LEVEL_INFO, false);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct chains *c = *state;

	capture_end(&c->cap);
	for (size_t i = 0; i < N_CHAINS; i++) {
		free(c->pem[i]);
	}
	free(c);
	return 0;
}

/* acme_chain_pick over the chains named by which (n of them, the default
 * first). */
static size_t
pick(struct chains *c, const char *issuer, bool shortest, const int *which, size_t n)
{
	struct acme_chain_pref pref = {.issuer = issuer, .shortest = shortest};
	const char *pems[N_CHAINS];
	size_t lens[N_CHAINS];

	for (size_t i = 0; i < n; i++) {
		pems[i] = which[i] < 0 ? NULL : c->pem[which[i]];
		lens[i] = which[i] < 0 ? 0 : c->len[which[i]];
	}
	return acme_chain_pick(&pref, pems, lens, n, "www");
}

static void
test_preferred(void **state)
{
	struct chains *c = *state;
	const int offered[] = {DEF, ALT_B, ALT_LONG};

	assert_false(acme_chain_wanted(&(struct acme_chain_pref){0}));
	assert_false(acme_chain_wanted(NULL));
	assert_int_equal(pick(c, NULL, false, offered, 3), 0);
	/* The issuer of the topmost certificate, ASCII case ignored. */
	assert_int_equal(pick(c, "Root A", false, offered, 3), 0);
	assert_int_equal(pick(c, "Root B", false, offered, 3), 1);
	assert_int_equal(pick(c, "root b", false, offered, 3), 1);
	assert_int_equal(pick(c, "Cross Root C", false, offered, 3), 2);
	capture_take(&c->cap);
	/* Or its subject: "Root B" is the subject of the cross-signed one,
	 * but chain 1 matched first. */
	assert_int_equal(pick(c, "Root B", false, (const int[]){DEF, ALT_LONG}, 2), 1);
	assert_int_equal(pick(c, "Int", false, offered, 3), 0);
	/* Not a prefix or a part. */
	assert_int_equal(pick(c, "Root", false, offered, 3), 0);
	assert_non_null(strstr(capture_take(&c->cap),
	                       "www: preferred-chain \"Root\": no chain offered is issued by it; "
	                       "the CA offered chains issued by \"Root A\" (default), \"Root B\", "
	                       "\"Cross Root C\"; using the default"));
	assert_int_equal(pick(c, "Root B ", false, offered, 3), 0);
	assert_int_equal(pick(c, "", false, offered, 3), 0);
}

static void
test_shortest(void **state)
{
	struct chains *c = *state;

	/* A tie: the default. */
	assert_int_equal(pick(c, NULL, true, (const int[]){DEF, ALT_LONG, ALT_B}, 3), 0);
	/* The default longer than an alternate. */
	assert_int_equal(pick(c, NULL, true, (const int[]){ALT_LONG, ALT_LONG, ALT_B}, 3), 2);
	/* With preferred-chain: the shortest of those that match ... */
	assert_int_equal(pick(c, "Cross Root C", true, (const int[]){DEF, ALT_LONG}, 2), 1);
	assert_int_equal(pick(c, "Root B", true, (const int[]){ALT_LONG, ALT_LONG, ALT_B}, 3), 2);
	/* ... else the shortest of all, said so. */
	capture_take(&c->cap);
	assert_int_equal(pick(c, "Nobody", true, (const int[]){ALT_LONG, ALT_B}, 2), 1);
	assert_non_null(strstr(capture_take(&c->cap), "; using the shortest"));
}

static void
test_refused(void **state)
{
	struct chains *c = *state;

	capture_take(&c->cap);
	/* Another leaf in an alternate: refused even when it matches. */
	assert_int_equal(pick(c, "Root B", false, (const int[]){DEF, ALT_OTHER_LEAF, ALT_B}, 3), 2);
	assert_non_null(strstr(capture_take(&c->cap),
	                       "www: alternate chain 1 refused: its certificate is not the "
	                       "default chain's"));
	assert_int_equal(pick(c, "Root B", true, (const int[]){DEF, ALT_OTHER_LEAF}, 2), 0);
	/* Not a chain, or not fetched. */
	assert_int_equal(pick(c, "Root B", false, (const int[]){DEF, ALT_GARBAGE, -1, ALT_B}, 4),
	                 3);
	assert_non_null(strstr(capture_take(&c->cap), "www: alternate chain 1 refused: chain:"));
	/* A default that does not parse: the default all the same (its
	 * install says why). */
	assert_int_equal(pick(c, "Root B", true, (const int[]){ALT_GARBAGE, ALT_B}, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_preferred),
	        cmocka_unit_test(test_shortest),
	        cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
