#include "store/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "tmpdir.h"

static int
setup(void **state)
{
	*state = tmpdir_make("state");
	return 0;
}

static int
teardown(void **state)
{
	tmpdir_remove(*state);
	free(*state);
	return 0;
}

/* Every field as state_init leaves it: nothing recorded, version -1. */
static void
assert_empty(const struct state *st)
{
	assert_int_equal(st->not_after, 0);
	assert_int_equal(st->last_attempt, 0);
	assert_int_equal(st->last_success, 0);
	assert_int_equal(st->attempts, 0);
	assert_int_equal(st->next_try, 0);
	assert_null(st->last_error);
	assert_null(st->order_url);
	assert_null(st->ca);
	assert_false(st->deploy_pending);
	assert_int_equal(st->deploy_attempts, 0);
	assert_int_equal(st->deploy_next_try, 0);
	assert_null(st->deploy_error);
	assert_int_equal(st->version, -1);
	assert_null(st->ari_id);
	assert_int_equal(st->ari_when, 0);
	assert_int_equal(st->ari_next, 0);
}

static void
test_init_is_empty(void **state)
{
	struct state st;

	(void)state;
	memset(&st, 0x5a, sizeof(st));
	state_init(&st);
	assert_empty(&st);
	/* Finishing an empty state, and finishing twice, is harmless. */
	state_finish(&st);
	state_finish(&st);
	assert_empty(&st);
}

static void
test_round_trip_every_field(void **state)
{
	const char *dir = *state;
	struct state st;
	struct state back;

	state_init(&st);
	st.not_after = 1800000001;
	st.last_attempt = 1700000002;
	st.last_success = 1700000003;
	st.attempts = 4;
	st.next_try = 1700000005;
	st.last_error = strdup("www: order failed: \"quoted\"\nand a second line");
	st.order_url = strdup("https://ca.example/order/7");
	st.ca = strdup("https://ca.example/directory");
	st.deploy_pending = true;
	st.deploy_attempts = 9;
	st.deploy_next_try = 1700000010;
	st.deploy_error = strdup("exit 3: cannot reload");
	st.version = 12;
	st.ari_id = strdup("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	st.ari_when = 1750000014;
	st.ari_next = 1700000015;
	st.fleet_version = 16;
	st.fleet_owed = true;
	st.persist_until = 1900000017;
	assert_int_equal(state_save(dir, "www", &st), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.persist_until, 1900000017);
	assert_int_equal(back.fleet_version, 16);
	assert_true(back.fleet_owed);
	assert_int_equal(back.not_after, st.not_after);
	assert_int_equal(back.last_attempt, st.last_attempt);
	assert_int_equal(back.last_success, st.last_success);
	assert_int_equal(back.attempts, st.attempts);
	assert_int_equal(back.next_try, st.next_try);
	assert_string_equal(back.last_error, st.last_error);
	assert_string_equal(back.order_url, st.order_url);
	assert_string_equal(back.ca, st.ca);
	assert_true(back.deploy_pending);
	assert_int_equal(back.deploy_attempts, st.deploy_attempts);
	assert_int_equal(back.deploy_next_try, st.deploy_next_try);
	assert_string_equal(back.deploy_error, st.deploy_error);
	assert_int_equal(back.version, 12);
	assert_string_equal(back.ari_id, st.ari_id);
	assert_int_equal(back.ari_when, st.ari_when);
	assert_int_equal(back.ari_next, st.ari_next);
	/* The strings are the loaded state's own. */
	assert_ptr_not_equal(back.last_error, st.last_error);
	state_finish(&back);
	state_finish(&st);
}

/* state_save_temp: state.json stays as it was until the caller renames
 * the text written beside it, which then reads back as saved. */
static void
test_save_temp(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	struct state st;
	struct state back;

	state_init(&st);
	st.attempts = 1;
	assert_int_equal(state_save(dir, "www", &st), 0);
	st.attempts = 2;
	st.order_url = strdup("https://ca.example/order/8");
	assert_int_equal(state_save_temp(dir, "www", &st, tmp, sizeof(tmp)), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.attempts, 1);
	assert_null(back.order_url);
	state_finish(&back);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.attempts, 2);
	assert_string_equal(back.order_url, "https://ca.example/order/8");
	state_finish(&back);
	state_finish(&st);
}

/* Sets path's modification time to sec (seconds since the epoch). */
static void
set_mtime(const char *path, time_t sec)
{
	struct timespec t[2] = {{sec, 0}, {sec, 0}};

	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* The names in dir that start with a dot, besides . and .. */
static int
count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		     strcmp(de->d_name, "..") != 0;
	}
	closedir(d);
	return n;
}

/* A killed run's records beside state.json: the newest whole one no older
 * than state.json is taken, a half one, an older one and the rest are
 * removed; with none, nothing changes. */
static void
test_recover(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], journal[PATH_MAX], older[PATH_MAX], half[PATH_MAX];
	struct state st;
	struct state back;
	time_t now = time(NULL);

	assert_int_equal(state_recover(dir), 0);
	/* No state.json yet: the journal of a first order. */
	state_init(&st);
	st.order_url = strdup("https://ca.example/order/1");
	assert_int_equal(state_save_temp(dir, "www", &st, journal, sizeof(journal)), 0);
	assert_int_equal(state_recover(dir), 1);
	assert_int_equal(state_load(dir, &back), 0);
	assert_string_equal(back.order_url, "https://ca.example/order/1");
	state_finish(&back);
	assert_int_equal(count_temps(dir), 0);

	/* state.json now; an older record, a half one and the newest. */
	snprintf(path, sizeof(path), "%s/state.json", dir);
	set_mtime(path, now - 100);
	st.attempts = 7;
	assert_int_equal(state_save_temp(dir, "www", &st, older, sizeof(older)), 0);
	set_mtime(older, now - 200);
	snprintf(half, sizeof(half), "%s/.state.json.AbCdEf", dir);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0644), 0);
	set_mtime(path, now - 100);
	{
		FILE *fp = fopen(half, "w");

		assert_non_null(fp);
		fputs("{\"order_url\": \"https://ca.exa", fp);
		fclose(fp);
	}
	set_mtime(half, now);
	st.attempts = 3;
	free(st.order_url);
	st.order_url = strdup("https://ca.example/order/2");
	assert_int_equal(state_save_temp(dir, "www", &st, journal, sizeof(journal)), 0);
	set_mtime(journal, now - 10);
	assert_int_equal(count_temps(dir), 3);
	assert_int_equal(state_recover(dir), 1);
	assert_int_equal(count_temps(dir), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.attempts, 3);
	assert_string_equal(back.order_url, "https://ca.example/order/2");
	state_finish(&back);

	/* Only a record older than state.json: removed, state.json kept. */
	assert_int_equal(state_save_temp(dir, "www", &st, older, sizeof(older)), 0);
	set_mtime(older, now - 1000);
	assert_int_equal(state_recover(dir), 0);
	assert_int_equal(count_temps(dir), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.attempts, 3);
	state_finish(&back);
	state_finish(&st);
}

static void
test_round_trip_empty(void **state)
{
	const char *dir = *state;
	struct state st;
	struct state back;

	/* NULL strings and false stay so; version -1 survives. */
	state_init(&st);
	assert_int_equal(state_save(dir, "www", &st), 0);
	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(state_load(dir, &back), 0);
	assert_empty(&back);
	state_finish(&back);
}

static void
test_save_writes_the_name(void **state)
{
	const char *dir = *state;
	char *sub = file_path(dir, "certs", "www", NULL);
	struct state st;
	struct stat sb;
	char *text;
	char *path;

	/* The folder is made when missing; the file is readable by all
	 * (nothing secret in it) and says whose it is. */
	state_init(&st);
	st.attempts = 2;
	assert_int_equal(state_save(sub, "www", &st), 0);
	text = tmpdir_read(sub, "state.json");
	assert_non_null(text);
	assert_non_null(strstr(text, "\"name\": \"www\""));
	assert_non_null(strstr(text, "\"attempts\": 2"));
	path = file_path(sub, "state.json", NULL);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	free(path);
	free(text);
	free(sub);
}

static void
test_save_fails_on_a_file(void **state)
{
	const char *dir = *state;
	char *file = tmpdir_write(dir, "plain", "", 0644);
	struct state st;

	state_init(&st);
	assert_int_equal(state_save(file, "www", &st), -1);
	free(file);
}

static void
test_missing_file_is_empty(void **state)
{
	const char *dir = *state;
	char *none = file_path(dir, "nowhere", NULL);
	struct state st;

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(state_load(dir, &st), 0);
	assert_empty(&st);
	/* No folder either. */
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(state_load(none, &st), 0);
	assert_empty(&st);
	free(none);
}

static void
test_file_without_version(void **state)
{
	const char *dir = *state;
	struct state st;

	/* A file from before the set number was kept: version unknown. */
	free(tmpdir_write(dir, "state.json", "{\"name\": \"www\", \"attempts\": 2}", 0644));
	assert_int_equal(state_load(dir, &st), 0);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(st.version, -1);
	state_finish(&st);
}

static void
test_hostile_files(void **state)
{
	static const char *const bad[] = {
	        "",
	        "not json",
	        "[]",
	        "\"www\"",
	        "{\"attempts\": 1",
	        "{\"attempts\": \"many\"}",
	        "{\"attempts\": 1.5}",
	        "{\"attempts\": -1}",
	        "{\"attempts\": 1000001}",
	        "{\"deploy_attempts\": -1}",
	        "{\"deploy_attempts\": 99999999}",
	        "{\"version\": -2}",
	        "{\"version\": 1000000001}",
	        "{\"not_after\": \"tomorrow\"}",
	        "{\"last_error\": 5}",
	        "{\"order_url\": [\"x\"]}",
	        "{\"ca\": {}}",
	        "{\"deploy_pending\": \"yes\"}",
	        "{\"deploy_error\": true}",
	        "{\"ari_id\": 1}",
	        "{\"ari_when\": null}",
	        /* Two values for one key: which one counts is not a guess
	         * worth making. */
	        "{\"attempts\": 1, \"attempts\": 2}",
	        "{\"last_error\": \"a\", \"attempts\": -5}",
	};
	const char *dir = *state;
	struct state st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(tmpdir_write(dir, "state.json", bad[i], 0644));
		memset(&st, 0x5a, sizeof(st));
		if (state_load(dir, &st) != -1) {
			fail_msg("state.json '%s' loaded", bad[i]);
		}
		assert_empty(&st);
	}
}

static void
test_oversized_file(void **state)
{
	const char *dir = *state;
	size_t n = 128 * 1024;
	char *text = malloc(n + 1);
	struct state st;

	/* A valid document too big to be one acmed wrote. */
	assert_non_null(text);
	memset(text, ' ', n);
	text[0] = '{';
	text[n - 1] = '}';
	text[n] = '\0';
	free(tmpdir_write(dir, "state.json", text, 0644));
	assert_int_equal(state_load(dir, &st), -1);
	assert_empty(&st);
	free(text);
}

static void
test_unreadable_file(void **state)
{
	const char *dir = *state;
	char *path = file_path(dir, "state.json", NULL);
	struct state st;

	/* A folder where the file should be. */
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(state_load(dir, &st), -1);
	assert_empty(&st);
	free(path);
}

static void
test_set(void **state)
{
	char *field = NULL;
	char value[] = "first";

	(void)state;
	assert_int_equal(state_set(&field, value), 0);
	assert_non_null(field);
	assert_ptr_not_equal(field, value);
	assert_string_equal(field, "first");
	/* A copy: changing the source changes nothing. */
	value[0] = 'F';
	assert_string_equal(field, "first");
	/* The old text is freed (valgrind and ASan say whether). */
	assert_int_equal(state_set(&field, "second"), 0);
	assert_string_equal(field, "second");
	/* Setting a field to itself keeps the text. */
	assert_int_equal(state_set(&field, field), 0);
	assert_string_equal(field, "second");
	assert_int_equal(state_set(&field, NULL), 0);
	assert_null(field);
	assert_int_equal(state_set(&field, NULL), 0);
	assert_null(field);
}

/* The fleet's part: what one node records reaches another, but never the
 * order, a deploy or a set number. */
static void
test_shared_round_trip(void **state)
{
	struct state a, b;
	char *text;

	(void)state;
	state_init(&a);
	state_init(&b);
	a.not_after = 1800000001;
	a.last_attempt = 1700000002;
	a.last_success = 1700000003;
	a.attempts = 4;
	a.next_try = 1700000005;
	a.last_error = strdup("www: the CA said no");
	a.order_url = strdup("https://ca.example/order/7");
	a.ca = strdup("https://ca.example/directory");
	a.deploy_pending = true;
	a.deploy_error = strdup("exit 3");
	a.version = 12;
	a.ari_id = strdup("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	a.ari_when = 1750000014;
	a.ari_next = 1700000015;
	text = state_shared_to_json(&a);
	assert_non_null(text);
	assert_null(strstr(text, "order"));
	assert_null(strstr(text, "deploy"));
	b.version = 3;
	assert_int_equal(state_shared_merge(&b, text, false), 1);
	assert_int_equal(b.not_after, a.not_after);
	assert_int_equal(b.last_attempt, a.last_attempt);
	assert_int_equal(b.last_success, a.last_success);
	assert_int_equal(b.attempts, 4);
	assert_int_equal(b.next_try, a.next_try);
	assert_string_equal(b.last_error, a.last_error);
	assert_string_equal(b.ca, a.ca);
	assert_string_equal(b.ari_id, a.ari_id);
	assert_int_equal(b.ari_when, a.ari_when);
	assert_int_equal(b.ari_next, a.ari_next);
	assert_null(b.order_url);
	assert_false(b.deploy_pending);
	assert_int_equal(b.version, 3);
	/* The same again is no news. */
	assert_int_equal(state_shared_merge(&b, text, false), 0);
	free(text);
	state_finish(&a);
	state_finish(&b);
}

static void
test_shared_older_ignored(void **state)
{
	struct state a, b;
	char *text;

	(void)state;
	state_init(&a);
	state_init(&b);
	a.last_attempt = 100;
	a.attempts = 2;
	text = state_shared_to_json(&a);
	assert_non_null(text);
	b.last_attempt = 200;
	b.attempts = 0;
	assert_int_equal(state_shared_merge(&b, text, false), 0);
	assert_int_equal(b.attempts, 0);
	/* A newer set's record is taken whatever its time. */
	assert_int_equal(state_shared_merge(&b, text, true), 1);
	assert_int_equal(b.attempts, 2);
	assert_int_equal(b.last_attempt, 100);
	free(text);
	state_finish(&a);
	state_finish(&b);
}

static void
test_shared_malformed(void **state)
{
	struct state b;

	(void)state;
	state_init(&b);
	b.attempts = 7;
	assert_int_equal(state_shared_merge(&b, "{", false), -1);
	assert_int_equal(state_shared_merge(&b, "{\"attempts\": -1, \"last_attempt\": 9}", false),
	                 -1);
	assert_int_equal(state_shared_merge(&b, "[]", false), -1);
	assert_int_equal(b.attempts, 7);
	state_finish(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_init_is_empty),
	        cmocka_unit_test_setup_teardown(test_round_trip_every_field, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_temp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_round_trip_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_writes_the_name, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_save_fails_on_a_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_without_version, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_oversized_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
	        cmocka_unit_test(test_set),
	        cmocka_unit_test(test_shared_round_trip),
	        cmocka_unit_test(test_shared_older_ignored),
	        cmocka_unit_test(test_shared_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
