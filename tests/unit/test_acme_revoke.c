#include "acme/acme_revoke.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64.h"
#include "crypto/key.h"

struct fixture {
	EVP_PKEY *key; /* the certificate's */
	EVP_PKEY *other; /* same type, another key */
	EVP_PKEY *rsa;
	X509 *cert;
};

/* A self-signed certificate for key. */
static X509 *
make_cert(EVP_PKEY *key)
{
	X509_NAME *name;
	X509 *x = X509_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"revoke.example", -1, -1,
	                                            0),
	                 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->key = key_generate(KEY_TYPE_EC_P256);
	f->other = key_generate(KEY_TYPE_EC_P256);
	f->rsa = key_generate(KEY_TYPE_RSA_2048);
	if (f->key == NULL || f->other == NULL || f->rsa == NULL) {
		return -1;
	}
	f->cert = make_cert(f->key);
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	EVP_PKEY_free(f->rsa);
	free(f);
	return 0;
}

static void
test_reason_names(void **state)
{
	static const struct {
		const char *text;
		int code;
	} ok[] = {
	        {"unspecified", 0},
	        {"keyCompromise", 1},
	        {"affiliationChanged", 3},
	        {"superseded", 4},
	        {"cessationOfOperation", 5},
	        /* names as people type them */
	        {"keycompromise", 1},
	        {"KEYCOMPROMISE", 1},
	        {"Superseded", 4},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int code = -42;

		assert_int_equal(acme_revoke_reason_parse(ok[i].text, &code, err, sizeof(err)), 0);
		assert_int_equal(code, ok[i].code);
	}
}

static void
test_reason_numbers(void **state)
{
	static const struct {
		const char *text;
		int code;
	} ok[] = {{"0", 0}, {"1", 1}, {"3", 3}, {"4", 4}, {"5", 5}};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int code = -42;

		assert_int_equal(acme_revoke_reason_parse(ok[i].text, &code, err, sizeof(err)), 0);
		assert_int_equal(code, ok[i].code);
	}
}

static void
test_reason_rejects(void **state)
{
	/* 2 cACompromise, 6 certificateHold, 7 unused, 8 removeFromCRL,
	 * 9 privilegeWithdrawn, 10 aACompromise: not for subscribers. */
	static const char *const bad[] = {
	        "2",
	        "6",
	        "7",
	        "8",
	        "9",
	        "10",
	        "11",
	        "-1",
	        "+1",
	        "4294967297",
	        "1x",
	        "",
	        "keyCompro",
	        " 1",
	        "1 ",
	        "x",
	        "cACompromise",
	        "certificateHold",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int code = -42;

		err[0] = '\0';
		assert_int_equal(acme_revoke_reason_parse(bad[i], &code, err, sizeof(err)), -1);
		assert_int_equal(code, -42);
		/* The message says what is accepted. */
		assert_non_null(strstr(err, "keyCompromise (1)"));
		assert_non_null(strstr(err, "cessationOfOperation (5)"));
	}
}

static void
test_reason_name(void **state)
{
	(void)state;
	assert_string_equal(acme_revoke_reason_name(0), "unspecified");
	assert_string_equal(acme_revoke_reason_name(1), "keyCompromise");
	assert_string_equal(acme_revoke_reason_name(3), "affiliationChanged");
	assert_string_equal(acme_revoke_reason_name(4), "superseded");
	assert_string_equal(acme_revoke_reason_name(5), "cessationOfOperation");
	assert_null(acme_revoke_reason_name(2));
	assert_null(acme_revoke_reason_name(-1));
	assert_null(acme_revoke_reason_name(6));
}

static void
test_key_matches(void **state)
{
	struct fixture *f = *state;

	assert_true(acme_revoke_key_matches(f->cert, f->key));
	assert_false(acme_revoke_key_matches(f->cert, f->other));
	assert_false(acme_revoke_key_matches(f->cert, f->rsa));
	assert_false(acme_revoke_key_matches(f->cert, NULL));
}

/* The payload's members, checked: certificate is the DER, reason as
 * given or absent. */
static void
check_payload(X509 *cert, const char *text, int reason)
{
	json_error_t jerr;
	json_t *root;
	const char *b64 = NULL;
	unsigned char *der = NULL;
	unsigned char *want = NULL;
	size_t der_len = 0;
	int want_len;

	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), reason == ACME_REVOKE_REASON_NONE ? 1 : 2);
	assert_int_equal(json_unpack(root, "{s:s}", "certificate", &b64), 0);
	assert_int_equal(b64_decode(b64, strlen(b64), &der, &der_len), 0);
	want_len = i2d_X509(cert, &want);
	assert_true(want_len > 0);
	assert_int_equal(der_len, (size_t)want_len);
	assert_memory_equal(der, want, der_len);
	if (reason != ACME_REVOKE_REASON_NONE) {
		json_t *r = json_object_get(root, "reason");

		assert_true(json_is_integer(r));
		assert_int_equal(json_integer_value(r), reason);
	} else {
		assert_null(json_object_get(root, "reason"));
	}
	OPENSSL_free(want);
	free(der);
	json_decref(root);
}

static void
test_payload(void **state)
{
	struct fixture *f = *state;
	char *text;

	text = acme_revoke_payload(f->cert, ACME_REVOKE_REASON_NONE);
	assert_non_null(text);
	check_payload(f->cert, text, ACME_REVOKE_REASON_NONE);
	free(text);

	text = acme_revoke_payload(f->cert, 1);
	assert_non_null(text);
	check_payload(f->cert, text, 1);
	/* Compact, as signed. */
	assert_null(strchr(text, ' '));
	assert_null(strchr(text, '\n'));
	free(text);

	text = acme_revoke_payload(f->cert, 0);
	assert_non_null(text);
	check_payload(f->cert, text, 0);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reason_names),   cmocka_unit_test(test_reason_numbers),
	        cmocka_unit_test(test_reason_rejects), cmocka_unit_test(test_reason_name),
	        cmocka_unit_test(test_key_matches),    cmocka_unit_test(test_payload),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
