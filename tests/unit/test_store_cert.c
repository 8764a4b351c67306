#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/state.h"
#include "base/file.h"
#include "crypto/key.h"
#include "store/store_cert.h"

static char *
read_all(const char *dir, const char *name)
{
	char *path = file_path(dir, name, NULL);
	char *text = file_read(path, 1 << 16, NULL);

	free(path);
	return text;
}

static struct store_cert_set
make_set(const char *key, const char *cert, const char *chain)
{
	struct store_cert_set set = {
	        .key_pem = key,
	        .key_len = strlen(key),
	        .cert_pem = cert,
	        .cert_len = strlen(cert),
	        .chain_pem = chain,
	        .chain_len = strlen(chain),
	};

	return set;
}

static void
test_install_twice(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	char *dir;
	char *text;
	struct stat st;
	struct store_cert_set one = make_set("KEY1\n", "CERT1\n", "CHAIN1\n");
	struct store_cert_set two = make_set("KEY2\n", "CERT2\n", "CHAIN2\n");
	struct store_cert_set three = make_set("KEY3\n", "CERT3\n", "");

	assert_non_null(root);
	assert_int_equal(store_cert_install(root, "www", &one), 0);
	dir = store_cert_dir(root, "www");
	text = read_all(dir, "fullchain.pem");
	assert_string_equal(text, "CERT1\nCHAIN1\n");
	free(text);
	text = read_all(dir, "privkey.pem");
	assert_string_equal(text, "KEY1\n");
	free(text);
	/* The key is 0600 behind the link. */
	assert_int_equal(stat(dir, &st), 0);
	{
		char *p = file_path(dir, "privkey.pem", NULL);

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
	}
	assert_int_equal(store_cert_install(root, "www", &two), 0);
	text = read_all(dir, "cert.pem");
	assert_string_equal(text, "CERT2\n");
	free(text);
	text = read_all(dir, "previous/cert.pem");
	assert_string_equal(text, "CERT1\n");
	free(text);
	/* A third set drops the first and keeps the second as previous. */
	assert_int_equal(store_cert_install(root, "www", &three), 0);
	text = read_all(dir, "previous/privkey.pem");
	assert_string_equal(text, "KEY2\n");
	free(text);
	text = read_all(dir, "chain.pem");
	assert_string_equal(text, "");
	free(text);
	text = read_all(dir, "v/1/cert.pem");
	assert_null(text);
	free(dir);
}

static void
test_install_refuses_bad_names(void **state)
{
	struct store_cert_set one = make_set("K\n", "C\n", "");

	assert_false(store_cert_name_ok("../x"));
	assert_false(store_cert_name_ok(".hidden"));
	assert_false(store_cert_name_ok(""));
	assert_false(store_cert_name_ok("a/b"));
	assert_true(store_cert_name_ok("_.example.com"));
	assert_int_equal(store_cert_install("/tmp", "../etc", &one), -1);
}

static void
test_install_failure_changes_nothing(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct store_cert_set one = make_set("KEY1\n", "CERT1\n", "CHAIN1\n");
	char *dir;
	char *v;
	char *text;
	FILE *f;

	assert_int_equal(store_cert_install(root, "www", &one), 0);
	dir = store_cert_dir(root, "www");
	/* A file where the next version's folder would go: the install
	 * fails and the current set stays. */
	v = file_path(dir, "v", "2", NULL);
	f = fopen(v, "w");
	assert_non_null(f);
	fclose(f);
	chmod(dir, 0755);
	{
		char *vroot = file_path(dir, "v", NULL);

		/* No room for a new version: the folder is read-only for
		 * non-root; as root, make v a file instead. */
		if (geteuid() == 0) {
			char *moved = file_path(dir, "v.saved", NULL);

			assert_int_equal(rename(vroot, moved), 0);
			f = fopen(vroot, "w");
			assert_non_null(f);
			fclose(f);
			assert_int_equal(store_cert_install(root, "www", &one), -1);
			unlink(vroot);
			assert_int_equal(rename(moved, vroot), 0);
			free(moved);
		}
		free(vroot);
	}
	text = read_all(dir, "cert.pem");
	assert_string_equal(text, "CERT1\n");
	free(text);
	free(v);
	free(dir);
}

/* A set without key_pem takes pending.key: linked in, not copied; when the
 * install fails, pending.key is where it was; once installed, the order's
 * end removes pending.key and the set keeps the key. */
static void
test_install_takes_pending_key(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct store_cert_set set = make_set("unused\n", "CERT1\n", "CHAIN1\n");
	EVP_PKEY *key = key_generate(KEY_TYPE_EC_P256);
	char *dir;
	char *pending;
	char *text;
	char *blocker;
	struct stat st;

	assert_non_null(root);
	assert_non_null(key);
	set.key_pem = NULL;
	set.key_len = 0;
	/* No pending key: nothing to install. */
	assert_int_equal(store_cert_install(root, "www", &set), -1);
	dir = store_cert_dir(root, "www");
	text = read_all(dir, "current/cert.pem");
	assert_null(text);

	assert_int_equal(store_cert_pending_save(root, "www", key), 0);
	pending = read_all(dir, "pending.key");
	assert_non_null(pending);
	/* "current" is a folder with something in it: the switch fails after
	 * the key was linked into the new set. */
	blocker = file_path(dir, "current", "x", NULL);
	assert_int_equal(file_mkdirs(blocker, 0755), 0);
	assert_int_equal(store_cert_install(root, "www", &set), -1);
	text = read_all(dir, "pending.key");
	assert_non_null(text);
	assert_string_equal(text, pending);
	free(text);
	text = read_all(dir, "v/1/privkey.pem");
	assert_null(text);
	assert_int_equal(rmdir(blocker), 0);
	free(blocker);
	blocker = file_path(dir, "current", NULL);
	assert_int_equal(rmdir(blocker), 0);
	free(blocker);

	assert_int_equal(store_cert_install(root, "www", &set), 0);
	text = read_all(dir, "privkey.pem");
	assert_non_null(text);
	assert_string_equal(text, pending);
	free(text);
	text = read_all(dir, "fullchain.pem");
	assert_string_equal(text, "CERT1\nCHAIN1\n");
	free(text);
	/* Still there for a resume, until the order is forgotten. */
	text = read_all(dir, "pending.key");
	assert_string_equal(text, pending);
	free(text);
	store_cert_pending_remove(root, "www");
	text = read_all(dir, "pending.key");
	assert_null(text);
	text = read_all(dir, "privkey.pem");
	assert_string_equal(text, pending);
	free(text);
	{
		char *p = file_path(dir, "privkey.pem", NULL);

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
	}
	free(pending);
	free(dir);
	EVP_PKEY_free(key);
}

/* stat of dir/name (links followed): its mode bits, owner and group. */
static void
check_mode(const char *dir, const char *name, unsigned mode, long uid, long gid)
{
	char *p = file_path(dir, name, NULL);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	if ((st.st_mode & 07777) != mode) {
		fail_msg("%s: mode %04o, expected %04o", p, (unsigned)(st.st_mode & 07777), mode);
	}
	if (uid >= 0) {
		assert_int_equal(st.st_uid, uid);
	}
	if (gid >= 0) {
		assert_int_equal(st.st_gid, gid);
	}
	free(p);
}

/* combined.pem and cert.p12 in the set with the key's owner and mode, the
 * public files with theirs, the folders open whatever the umask; a set
 * without them removes their links, and an earlier set keeps its modes. */
static void
test_install_outputs_and_access(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct store_cert_set one = make_set("KEY1\n", "CERT1\n", "CHAIN1\n");
	struct store_cert_set two = make_set("unused\n", "CERT2\n", "CHAIN2\n");
	/* A group this process is in: chown to it needs no root. */
	struct store_cert_access key_access = {-1, (long)getgid(), 0640};
	struct store_cert_access cert_access = {(long)getuid(), (long)getgid(), 0444};
	static const unsigned char p12[] = {0x30, 0x82, 0x00, 0x01, 0x00};
	EVP_PKEY *key = key_generate(KEY_TYPE_EC_P256);
	mode_t old_umask;
	char *dir;
	char *text;
	struct stat st;

	(void)state;
	assert_non_null(root);
	assert_non_null(key);
	one.combined = "KEY1\nCERT1\nCHAIN1\n";
	one.combined_len = strlen(one.combined);
	one.pkcs12 = p12;
	one.pkcs12_len = sizeof(p12);
	one.key_access = &key_access;
	one.cert_access = &cert_access;
	old_umask = umask(077);
	assert_int_equal(store_cert_install(root, "www", &one), 0);
	umask(old_umask);
	dir = store_cert_dir(root, "www");
	text = read_all(dir, "combined.pem");
	assert_string_equal(text, "KEY1\nCERT1\nCHAIN1\n");
	free(text);
	{
		char *p = file_path(dir, "cert.p12", NULL);
		size_t len = 0;

		text = file_read(p, 1 << 16, &len);
		assert_int_equal(len, sizeof(p12));
		assert_memory_equal(text, p12, len);
		free(text);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		free(p);
	}
	check_mode(dir, "privkey.pem", 0640, -1, (long)getgid());
	check_mode(dir, "combined.pem", 0640, -1, (long)getgid());
	check_mode(dir, "cert.p12", 0640, -1, (long)getgid());
	check_mode(dir, "cert.pem", 0444, (long)getuid(), (long)getgid());
	check_mode(dir, "chain.pem", 0444, -1, -1);
	check_mode(dir, "fullchain.pem", 0444, -1, -1);
	check_mode(dir, ".", 0755, -1, -1);
	check_mode(dir, "v", 0755, -1, -1);
	check_mode(dir, "v/1", 0755, -1, -1);

	/* The next set from pending.key, nothing but pem: the linked key gets
	 * the mode asked for, the earlier set's key keeps 0640, and the
	 * links of what the new set lacks go. */
	assert_int_equal(store_cert_pending_save(root, "www", key), 0);
	two.key_pem = NULL;
	two.key_len = 0;
	key_access.mode = 0400;
	two.key_access = &key_access;
	assert_int_equal(store_cert_install(root, "www", &two), 0);
	check_mode(dir, "privkey.pem", 0400, -1, (long)getgid());
	check_mode(dir, "pending.key", 0400, -1, -1);
	check_mode(dir, "v/1/privkey.pem", 0640, -1, (long)getgid());
	check_mode(dir, "cert.pem", 0644, -1, -1);
	{
		char *p = file_path(dir, "combined.pem", NULL);

		assert_int_equal(lstat(p, &st), -1);
		free(p);
		p = file_path(dir, "cert.p12", NULL);
		assert_int_equal(lstat(p, &st), -1);
		free(p);
	}
	text = read_all(dir, "previous/combined.pem");
	assert_string_equal(text, "KEY1\nCERT1\nCHAIN1\n");
	free(text);
	free(dir);
	EVP_PKEY_free(key);
}

/* Sets dir/name's times a day back. */
static void
backdate(const char *dir, const char *name)
{
	char *path = file_path(dir, name, NULL);
	struct timespec t[2];

	t[0].tv_sec = t[1].tv_sec = time(NULL) - 86400;
	t[0].tv_nsec = t[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	free(path);
}

/* The identity of what store_cert_inspect reads, and of the folder alone:
 * a new set, a link removed, a file written in place, state.json written
 * (the folder, and so the set's). */
static void
test_identity(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct store_cert_set one = make_set("KEY1\n", "CERT1\n", "CHAIN1\n");
	struct store_cert_set two = make_set("KEY2\n", "CERT2\n", "CHAIN2\n");
	struct state st;
	uint64_t id, folder, again, folder_again;
	char *dir;
	char *path;
	FILE *fp;

	(void)state;
	assert_non_null(root);
	assert_int_equal(store_cert_identity(root, "../x", &folder), 0);
	assert_int_equal(folder, 0);
	assert_int_equal(store_cert_folder_identity(root, "../x"), 0);
	/* Nothing installed: a number all the same, until something is. */
	id = store_cert_identity(root, "www", &folder);
	assert_int_not_equal(id, 0);
	assert_int_equal(store_cert_identity(root, "www", NULL), id);
	assert_int_equal(store_cert_install(root, "www", &one), 0);
	dir = store_cert_dir(root, "www");
	backdate(dir, ".");
	backdate(dir, "privkey.pem");
	again = store_cert_identity(root, "www", &folder);
	assert_int_not_equal(again, id);
	id = again;
	assert_int_equal(folder, store_cert_folder_identity(root, "www"));
	assert_int_equal(store_cert_identity(root, "www", NULL), id);

	/* The key written in place through its link: the set's, not the
	 * folder's. */
	path = file_path(dir, "privkey.pem", NULL);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("KEY9\n", fp);
	fclose(fp);
	again = store_cert_identity(root, "www", &folder_again);
	assert_int_not_equal(again, id);
	assert_int_equal(folder_again, folder);
	id = again;

	/* state.json written: the folder's, and so the set's. */
	state_init(&st);
	assert_int_equal(state_save(dir, "www", &st), 0);
	again = store_cert_identity(root, "www", &folder_again);
	assert_int_not_equal(folder_again, folder);
	assert_int_not_equal(again, id);
	backdate(dir, ".");
	id = store_cert_identity(root, "www", &folder);

	/* A link removed. */
	free(path);
	path = file_path(dir, "chain.pem", NULL);
	assert_int_equal(unlink(path), 0);
	again = store_cert_identity(root, "www", &folder_again);
	assert_int_not_equal(again, id);
	assert_int_not_equal(folder_again, folder);
	backdate(dir, ".");
	id = store_cert_identity(root, "www", &folder);

	/* Another set. */
	assert_int_equal(store_cert_install(root, "www", &two), 0);
	assert_int_not_equal(store_cert_identity(root, "www", NULL), id);
	free(path);
	free(dir);
}

static void
test_state_round_trip(void **state)
{
	char tmpl[] = "/tmp/acmed-test-state.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct state st;
	struct state back;
	char *path;
	FILE *f;
	uint64_t id;

	memset(&st, 0, sizeof(st));
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.attempts, 0);
	id = state_identity(dir);
	assert_int_not_equal(id, 0);
	st.not_after = 1800000000;
	st.attempts = 3;
	st.next_try = 1700000000;
	st.last_error = strdup("www: boom");
	st.order_url = strdup("https://ca.example/order/1");
	assert_int_equal(state_save(dir, "www", &st), 0);
	/* Written: another identity; read: the same. */
	assert_int_not_equal(state_identity(dir), id);
	id = state_identity(dir);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(state_identity(dir), id);
	assert_int_equal(back.not_after, 1800000000);
	assert_int_equal(back.attempts, 3);
	assert_int_equal(back.next_try, 1700000000);
	assert_string_equal(back.last_error, "www: boom");
	assert_string_equal(back.order_url, "https://ca.example/order/1");
	state_finish(&back);
	state_finish(&st);
	/* A broken file is an error, with a zeroed state. */
	path = file_path(dir, "state.json", NULL);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"attempts\": \"many\"}", f);
	fclose(f);
	assert_int_equal(state_load(dir, &back), -1);
	assert_int_equal(back.attempts, 0);
	assert_null(back.last_error);
	free(path);
}

/* A delete: every set, link, pending.key, state.json and the lock file
 * go; a file acmed did not make stops it, named. */
static void
test_remove(void **state)
{
	char tmpl[] = "/tmp/acmed-test-store-cert.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct store_cert_set one = make_set("KEY1\n", "CERT1\n", "CHAIN1\n");
	struct store_cert_set two = make_set("KEY2\n", "CERT2\n", "CHAIN2\n");
	struct store_lock *lock;
	char holder[STORE_LOCK_HOLDER_LEN];
	char why[512];
	char *dir;
	char *path;
	char *lock_path;
	struct stat sb;
	EVP_PKEY *key = key_generate(KEY_TYPE_EC_P256);

	(void)state;
	assert_non_null(root);
	assert_int_equal(store_cert_install(root, "www", &one), 0);
	/* A set with every output: their links go too. */
	two.combined = "KEY2\nCERT2\nCHAIN2\n";
	two.combined_len = strlen(two.combined);
	two.pkcs12 = (const unsigned char *)"\x30\x00";
	two.pkcs12_len = 2;
	assert_int_equal(store_cert_install(root, "www", &two), 0);
	assert_int_equal(store_cert_install(root, "other", &one), 0);
	assert_int_equal(store_cert_pending_save(root, "www", key), 0);
	dir = store_cert_dir(root, "www");
	path = file_path(dir, "state.json", NULL);
	assert_int_equal(file_write_atomic(path, "{}", 2, 0644), 0);
	free(path);
	lock = store_cert_lock(root, "www", holder);
	assert_non_null(lock);
	lock_path = store_cert_path(root, "www", STORE_CERT_LOCK);

	/* Something of the user's in the folder: named, the folder left. */
	path = file_path(dir, "notes.txt", NULL);
	assert_int_equal(file_write_atomic(path, "x", 1, 0644), 0);
	assert_int_equal(store_cert_remove(root, "www", why, sizeof(why)), -1);
	assert_non_null(strstr(why, dir));
	assert_int_equal(stat(dir, &sb), 0);
	unlink(path);
	free(path);

	assert_int_equal(store_cert_remove(root, "www", why, sizeof(why)), 0);
	assert_int_equal(stat(dir, &sb), -1);
	assert_int_equal(stat(lock_path, &sb), -1);
	store_lock_release(lock);
	/* The other certificate is untouched. */
	path = store_cert_path(root, "other", STORE_CERT_CERT);
	assert_int_equal(stat(path, &sb), 0);
	free(path);
	assert_int_equal(store_cert_remove(root, "../x", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a certificate name"));
	free(lock_path);
	free(dir);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_install_twice),
	        cmocka_unit_test(test_remove),
	        cmocka_unit_test(test_install_refuses_bad_names),
	        cmocka_unit_test(test_install_failure_changes_nothing),
	        cmocka_unit_test(test_install_takes_pending_key),
	        cmocka_unit_test(test_install_outputs_and_access),
	        cmocka_unit_test(test_identity),
	        cmocka_unit_test(test_state_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
