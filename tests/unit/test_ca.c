/* The CA short names and the URLs ca_directory_url accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf/ca.h"

static void
test_ca(void **state)
{
	char names[256];
	char *name;
	char *save = NULL;

	(void)state;
	assert_string_equal(ca_directory_url("letsencrypt"),
	                    "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(ca_directory_url("letsencrypt-staging"),
	                    "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_string_equal(ca_directory_url("zerossl"), "https://acme.zerossl.com/v2/DV90");
	assert_string_equal(ca_directory_url("buypass"), "https://api.buypass.com/acme/directory");
	assert_string_equal(ca_directory_url("google-staging"),
	                    "https://dv.acme-v02.test-api.pki.goog/directory");
	assert_string_equal(ca_directory_url("https://ca.example/dir"), "https://ca.example/dir");
	assert_null(ca_directory_url("http://ca.example/dir"));
	assert_null(ca_directory_url("LetsEncrypt"));
	assert_null(ca_directory_url("letsencrypt "));
	assert_null(ca_directory_url(""));
	assert_null(ca_directory_url(NULL));

	/* Every short name in the message resolves. */
	snprintf(names, sizeof(names), "%s", ca_short_names());
	for (name = strtok_r(names, ", ", &save); name != NULL;
	     name = strtok_r(NULL, ", ", &save)) {
		assert_non_null(ca_directory_url(name));
		assert_ptr_not_equal(ca_directory_url(name), name);
	}
}

/* --dry-run's directory: a short name's staging (also by its directory
 * URL), a staging name its own, nothing for another URL (the staging key
 * names it) or a CA without one. */
static void
test_ca_staging(void **state)
{
	(void)state;
	assert_string_equal(ca_staging_url("letsencrypt"),
	                    "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_string_equal(ca_staging_url("google"),
	                    "https://dv.acme-v02.test-api.pki.goog/directory");
	assert_string_equal(ca_staging_url("buypass"),
	                    "https://api.test4.buypass.no/acme/directory");
	/* A staging short name is its own staging. */
	assert_ptr_equal(ca_staging_url("letsencrypt-staging"),
	                 ca_directory_url("letsencrypt-staging"));
	assert_ptr_equal(ca_staging_url("google-staging"), ca_directory_url("google-staging"));
	assert_ptr_equal(ca_staging_url("buypass-staging"), ca_directory_url("buypass-staging"));
	assert_null(ca_staging_url("zerossl"));
	/* A short name's directory URL, as a resolved setting holds it. */
	assert_string_equal(ca_staging_url("https://acme-v02.api.letsencrypt.org/directory"),
	                    "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_ptr_equal(ca_staging_url(ca_directory_url("google-staging")),
	                 ca_directory_url("google-staging"));
	assert_null(ca_staging_url(ca_directory_url("zerossl")));
	assert_null(ca_staging_url("https://127.0.0.1:14000/dir"));
	assert_null(ca_staging_url("LetsEncrypt"));
	assert_null(ca_staging_url(""));
	assert_null(ca_staging_url(NULL));
}

/* A URL is given back as it is (borrowed), a short name as the table's. */
static void
test_ca_borrowed(void **state)
{
	const char *url = "https://127.0.0.1:14000/dir";
	char name[] = "letsencrypt";

	(void)state;
	assert_ptr_equal(ca_directory_url(url), url);
	assert_ptr_equal(ca_directory_url(name), ca_directory_url("letsencrypt"));
	assert_string_equal(ca_directory_url("buypass-staging"),
	                    "https://api.test4.buypass.no/acme/directory");
	assert_string_equal(ca_directory_url("google"),
	                    "https://dv.acme-v02.api.pki.goog/directory");
	assert_null(ca_directory_url("letsencrypt-"));
	assert_null(ca_directory_url("zerossl2"));
	assert_null(ca_directory_url("a"));
	assert_string_equal(ca_short_names(),
	                    "buypass, buypass-staging, google, google-staging, letsencrypt, "
	                    "letsencrypt-staging, zerossl");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ca),
	        cmocka_unit_test(test_ca_borrowed),
	        cmocka_unit_test(test_ca_staging),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
