/* The file backend's folder (store/cluster_dir.h): entry names that stay
 * inside it, JSON entries, expiry, the sweep. */
#include "store/cluster_dir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tmpdir.h"

static const char *const subs[] = {"lease", "http"};

struct fixture {
	char *tmp;
	struct cluster_dir d;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char path[PATH_MAX];
	char err[256];

	assert_non_null(fx);
	fx->tmp = tmpdir_make("cluster-dir");
	snprintf(path, sizeof(path), "%s/store/deep", fx->tmp);
	assert_int_equal(cluster_dir_open(&fx->d, path, subs, 2, err, sizeof(err)), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	cluster_dir_close(&fx->d);
	tmpdir_remove(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

static void
test_open(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	char path[PATH_MAX];
	char err[256];

	assert_true(fx->d.lock_fd >= 0);
	snprintf(path, sizeof(path), "%s/store/deep/lease", fx->tmp);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(tmpdir_exists(fx->tmp, "store/deep/lock"));
	assert_int_equal(cluster_dir_lock(&fx->d, err, sizeof(err)), 0);
	cluster_dir_unlock(&fx->d);
}

/* Every name stays one file inside its subfolder. */
static void
test_names(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], want[PATH_MAX];

	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", "www.example.org"), 0);
	snprintf(want, sizeof(want), "%s/store/deep/lease/www.example.org", fx->tmp);
	assert_string_equal(path, want);
	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", "../x/.y"), 0);
	snprintf(want, sizeof(want), "%s/store/deep/lease/%%2E.%%2Fx%%2F.y", fx->tmp);
	assert_string_equal(path, want);
	assert_int_equal(cluster_dir_path(&fx->d, path, "http", ".."), 0);
	assert_non_null(strstr(path, "/http/%2E."));
	assert_int_equal(cluster_dir_path(&fx->d, path, NULL, "versions"), 0);
	snprintf(want, sizeof(want), "%s/store/deep/versions", fx->tmp);
	assert_string_equal(path, want);
	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", ""), -1);
	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", NULL), -1);
}

static void
test_entries(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], err[256];
	json_t *o = NULL;

	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", "www"), 0);
	assert_int_equal(cluster_dir_load(path, false, &o, err, sizeof(err)), 0);
	assert_null(o);
	o = json_pack("{s:s, s:I}", "node", "a", "until",
	              (json_int_t)(cluster_dir_now_ms() + 60000));
	assert_int_equal(cluster_dir_save(path, o, err, sizeof(err)), 0);
	json_decref(o);
	assert_int_equal(cluster_dir_load(path, true, &o, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(o, "node")), "a");
	json_decref(o);

	/* Expired: absent to a live read, there to a plain one. */
	o = json_pack("{s:s, s:I}", "node", "a", "until", (json_int_t)(cluster_dir_now_ms() - 1));
	assert_int_equal(cluster_dir_save(path, o, err, sizeof(err)), 0);
	json_decref(o);
	assert_int_equal(cluster_dir_load(path, true, &o, err, sizeof(err)), 0);
	assert_null(o);
	assert_int_equal(cluster_dir_load(path, false, &o, err, sizeof(err)), 0);
	assert_non_null(o);
	json_decref(o);

	assert_int_equal(cluster_dir_drop(path, err, sizeof(err)), 0);
	assert_int_equal(cluster_dir_drop(path, err, sizeof(err)), 0);
	assert_false(tmpdir_exists(fx->tmp, "store/deep/lease/www"));

	/* Not ours: an error naming the file, not a crash. */
	free(tmpdir_write(fx->tmp, "store/deep/lease/bad", "[1,2]", 0600));
	assert_int_equal(cluster_dir_path(&fx->d, path, "lease", "bad"), 0);
	assert_int_equal(cluster_dir_load(path, false, &o, err, sizeof(err)), -1);
	assert_null(o);
	assert_non_null(strstr(err, "not a JSON object"));
}

static void
test_sweep(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], err[256];
	json_t *live = json_pack("{s:I}", "until", (json_int_t)(cluster_dir_now_ms() + 60000));
	json_t *dead = json_pack("{s:I}", "until", (json_int_t)(cluster_dir_now_ms() - 1));

	assert_int_equal(cluster_dir_path(&fx->d, path, "http", "live"), 0);
	assert_int_equal(cluster_dir_save(path, live, err, sizeof(err)), 0);
	assert_int_equal(cluster_dir_path(&fx->d, path, "http", "dead"), 0);
	assert_int_equal(cluster_dir_save(path, dead, err, sizeof(err)), 0);
	free(tmpdir_write(fx->tmp, "store/deep/http/broken", "{", 0600));
	cluster_dir_sweep(&fx->d, "http");
	assert_true(tmpdir_exists(fx->tmp, "store/deep/http/live"));
	assert_false(tmpdir_exists(fx->tmp, "store/deep/http/dead"));
	assert_true(tmpdir_exists(fx->tmp, "store/deep/http/broken"));
	json_decref(live);
	json_decref(dead);
}

static void
test_open_fails(void **state)
{
	struct cluster_dir d = {0};
	char *tmp = tmpdir_make("cluster-dir");
	char path[PATH_MAX], err[256];

	(void)state;
	free(tmpdir_write(tmp, "file", "", 0600));
	snprintf(path, sizeof(path), "%s/file/store", tmp);
	assert_int_equal(cluster_dir_open(&d, path, subs, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot make the store's folder"));
	cluster_dir_close(&d);
	cluster_dir_close(&d);
	tmpdir_remove(tmp);
	free(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	        cmocka_unit_test(test_open_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
