/* What of dry_run.c runs without a CA: which staging directory, the
 * settings a dry run orders with, its private folder made and removed, and
 * the rows its jobs' outcomes give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "base/log.h"
#include "cmd/dry_run.h"
#include "conf/ca.h"

#define PROD "https://127.0.0.1:14000/dir"
#define STAGING "https://127.0.0.1:14001/dir"

static int
group_setup(void **state)
{
	(void)state;
	log_init("acmed", LOG_LEVEL_ERROR, false);
	return 0;
}

/* Settings as conf_resolve gives them, from "key = value" pairs. */
static void
settings_of(struct conf_settings *s, const char *const *kv)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; kv[i] != NULL; i += 2) {
		enum conf_where where =
		        strncmp(kv[i], "staging", 7) == 0 ? CONF_WHERE_GLOBAL : CONF_WHERE_CLI;

		if (conf_set(s, where, kv[i], kv[i + 1], err, sizeof(err)) < 0) {
			fail_msg("%s", err);
		}
	}
}

static void
test_staging_url(void **state)
{
	static const char *const none[] = {NULL};
	static const char *const le[] = {"ca", "letsencrypt", NULL};
	static const char *const zerossl[] = {"ca", "zerossl", NULL};
	static const char *const url[] = {"ca", PROD, NULL};
	static const char *const keyed[] = {"ca", PROD, "staging", STAGING, NULL};
	static const char *const over[] = {"ca", "google", "staging", STAGING, NULL};
	struct conf_settings s;

	(void)state;
	/* No ca: the default CA's staging. */
	settings_of(&s, none);
	assert_string_equal(dry_run_staging_url("www", &s), ca_staging_url(CA_DEFAULT));
	conf_settings_finish(&s);
	settings_of(&s, le);
	assert_string_equal(dry_run_staging_url("www", &s),
	                    "https://acme-staging-v02.api.letsencrypt.org/directory");
	conf_settings_finish(&s);
	/* None known: the caller refuses (logged). */
	settings_of(&s, zerossl);
	assert_null(dry_run_staging_url("www", &s));
	conf_settings_finish(&s);
	settings_of(&s, url);
	assert_null(dry_run_staging_url("www", &s));
	conf_settings_finish(&s);
	/* The key names it, and wins over a short name's. */
	settings_of(&s, keyed);
	assert_string_equal(dry_run_staging_url("www", &s), STAGING);
	conf_settings_finish(&s);
	settings_of(&s, over);
	assert_string_equal(dry_run_staging_url("www", &s), STAGING);
	conf_settings_finish(&s);
}

/* The private folder: under TMPDIR, 0700, gone with everything in it. */
static void
test_init_finish(void **state)
{
	char *tmp = tmpdir_make("dry_run");
	struct dry_run dr;
	struct stat st;
	char *dir;

	(void)state;
	setenv("TMPDIR", tmp, 1);
	assert_int_equal(dry_run_init(&dr, "/nonexistent/state", true), 0);
	assert_int_equal(strncmp(dr.state_dir, tmp, strlen(tmp)), 0);
	assert_int_equal(stat(dr.state_dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(tmpdir_write(dr.state_dir, "account.key", "k", 0600));
	dir = strdup(dr.state_dir);
	assert_non_null(dir);
	dry_run_finish(&dr);
	assert_null(dr.state_dir);
	assert_int_equal(stat(dir, &st), -1);
	/* Safe twice. */
	dry_run_finish(&dr);
	free(dir);
	unsetenv("TMPDIR");
	tmpdir_remove(tmp);
	free(tmp);
}

/* ca the staging, state-dir the private folder, no deploy hook, no
 * shared store; the rest as resolved. */
static void
test_settings(void **state)
{
	static const char *const kv[] = {
	        "ca",          PROD,
	        "staging",     STAGING,
	        "state-dir",   "/srv/real",
	        "key-type",    "rsa-2048",
	        "deploy-hook", "/bin/true",
	        "pre-hook",    "/bin/true",
	        "cluster",     "file:///srv/fleet",
	        NULL,
	};
	static const char *const nostaging[] = {"ca", PROD, NULL};
	struct conf_settings s;
	struct dry_run dr;

	(void)state;
	memset(&dr, 0, sizeof(dr));
	dr.state_dir = (char *)"/tmp/acmed-dry-run.test";
	settings_of(&s, kv);
	/* As conf_resolve_at leaves it: the CAs to fail over to. */
	s.ca_list = strdup(PROD " https://other.example/dir");
	assert_int_equal(dry_run_settings(&dr, "www", &s), CLI_EXIT_OK);
	assert_null(s.ca_list);
	assert_string_equal(s.ca, STAGING);
	assert_string_equal(s.state_dir, "/tmp/acmed-dry-run.test");
	assert_null(s.deploy_hook);
	assert_false(s.set & ((uint64_t)1 << CONF_KEY_DEPLOY_HOOK));
	assert_null(s.cluster);
	assert_false(s.set & ((uint64_t)1 << CONF_KEY_CLUSTER));
	assert_string_equal(s.pre_hook, "/bin/true");
	assert_int_equal(s.key_type, KEY_TYPE_RSA_2048);
	conf_settings_finish(&s);

	settings_of(&s, nostaging);
	assert_int_equal(dry_run_settings(&dr, "www", &s), CLI_EXIT_USAGE);
	assert_string_equal(s.ca, PROD);
	conf_settings_finish(&s);
}

/* The production EAB never goes to staging: staging's own, or none. */
static void
test_settings_eab(void **state)
{
	static const char *const prod_only[] = {
	        "ca",       PROD,           "staging", STAGING, "eab-kid",
	        "prod-kid", "eab-hmac-key", "cHJvZA",  NULL,
	};
	static const char *const both[] = {
	        "ca",
	        PROD,
	        "staging",
	        STAGING,
	        "eab-kid",
	        "prod-kid",
	        "eab-hmac-key",
	        "cHJvZA",
	        "staging-eab-kid",
	        "staging-kid",
	        "staging-eab-hmac-key",
	        "c3RhZ2luZw",
	        NULL,
	};
	struct conf_settings s;
	struct dry_run dr;

	(void)state;
	memset(&dr, 0, sizeof(dr));
	dr.state_dir = (char *)"/tmp/acmed-dry-run.test";
	settings_of(&s, prod_only);
	assert_int_equal(dry_run_settings(&dr, "www", &s), CLI_EXIT_OK);
	assert_null(s.eab_kid);
	assert_null(s.eab_hmac_key);
	conf_settings_finish(&s);
	settings_of(&s, both);
	assert_int_equal(dry_run_settings(&dr, "www", &s), CLI_EXIT_OK);
	assert_string_equal(s.eab_kid, "staging-kid");
	assert_string_equal(s.eab_hmac_key, "c3RhZ2luZw");
	conf_settings_finish(&s);
}

/* An order in the empty private folder is "issued"; the real folder says
 * whether a real run would issue or renew. A failure keeps its message
 * without the certificate's name; those no job answered for fail too. */
static void
test_rows(void **state)
{
	char *real = tmpdir_make("dry_run_real");
	struct job_outcome o;
	struct dry_run dr;
	const char *names[] = {"www", "api"};
	json_t *row;

	(void)state;
	memset(&dr, 0, sizeof(dr));
	dr.real_state_dir = real;
	dr.json = true;
	dr.rows = json_array();
	dr.ca_url = STAGING;
	memset(&o, 0, sizeof(o));
	o.name = "www";
	o.result = JOB_ISSUED;
	o.message = "";
	dry_run_on_done(&o, &dr);
	o.name = "db";
	o.result = JOB_FAILED;
	o.message = "db: order: 403 rejectedIdentifier";
	dry_run_on_done(&o, &dr);
	dry_run_not_run(&dr, names, 2);

	row = dry_run_row(&dr, "www");
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "result")), "issued");
	assert_string_equal(json_string_value(json_object_get(row, "ca")), STAGING);
	assert_true(json_is_true(json_object_get(row, "dry_run")));
	assert_null(json_object_get(row, "error"));
	row = dry_run_row(&dr, "db");
	assert_string_equal(json_string_value(json_object_get(row, "result")), "failed");
	assert_string_equal(json_string_value(json_object_get(row, "error")),
	                    "order: 403 rejectedIdentifier");
	row = dry_run_row(&dr, "api");
	assert_string_equal(json_string_value(json_object_get(row, "result")), "failed");
	assert_null(dry_run_row(&dr, "other"));
	assert_int_equal(dr.counts[JOB_ISSUED], 1);
	assert_int_equal(dr.counts[JOB_RENEWED], 0);
	assert_int_equal(dr.counts[JOB_FAILED], 2);
	assert_int_equal(json_array_size(dr.rows), 3);
	dry_run_finish(&dr);
	tmpdir_remove(real);
	free(real);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_staging_url), cmocka_unit_test(test_init_finish),
	        cmocka_unit_test(test_settings),    cmocka_unit_test(test_settings_eab),
	        cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
