/* The state folder's index of what the installed sets and state.json hold
 * (store/store_index.h): the same answers as reading the files, read again
 * only what changed (replaced, written in place, removed), kept across
 * opens, forgiving a file that does not read, and safe on threads. */
#include "store/store_index.h"

#include <fcntl.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/file.h"
#include "base/parallel.h"
#include "crypto/key.h"
#include "pki.h"
#include "tmpdir.h"

static const char *const names[] = {"example.com", "192.0.2.7", "www.example.com"};

struct fixture {
	struct pki ca;
	char *state_dir;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pki_init(&f->ca);
	f->state_dir = tmpdir_make("store-index");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

/* Sets the modification time of certs/<name>/ and of the files in it (through
 * their links) a day back: a change made right after (within the file
 * system's timestamp granularity) then shows in them. */
static void
backdate(struct fixture *f, const char *name)
{
	static const char *const files[] = {".",         "privkey.pem",   "cert.pem",
	                                    "chain.pem", "fullchain.pem", "state.json"};
	char *dir = store_cert_dir(f->state_dir, name);
	struct timespec t[2];

	t[0].tv_sec = t[1].tv_sec = time(NULL) - PKI_DAY;
	t[0].tv_nsec = t[1].tv_nsec = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = file_path(dir, files[i], NULL);

		utimensat(AT_FDCWD, path, t, 0);
		free(path);
	}
	free(dir);
}

static void
install(struct fixture *f, const char *name)
{
	EVP_PKEY *key = pki_key();

	pki_install(&f->ca, f->state_dir, name, key, names, 3, 90, NULL);
	EVP_PKEY_free(key);
	backdate(f, name);
}

/* A state with every field set, strings included. */
static void
record_state(struct fixture *f, const char *name, long attempts)
{
	char *dir = store_cert_dir(f->state_dir, name);
	struct state st;

	state_init(&st);
	st.not_after = 1900000001;
	st.last_attempt = 1800000002;
	st.last_success = 1800000003;
	st.attempts = attempts;
	st.next_try = 1800000005;
	st.last_error = strdup("urn:ietf:params:acme:error:rateLimited: slow down");
	st.order_url = strdup("https://ca.test/order/1");
	st.ca = strdup("https://ca.test/dir");
	st.deploy_pending = true;
	st.deploy_attempts = 6;
	st.deploy_next_try = 1800000007;
	st.deploy_error = strdup("deploy-hook: exit 3");
	st.version = 8;
	st.ari_id = strdup("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	st.ari_when = 1800000009;
	st.ari_next = 1800000010;
	assert_int_equal(state_save(dir, name, &st), 0);
	state_finish(&st);
	free(dir);
	backdate(f, name);
}

static void
assert_same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		assert_ptr_equal(a, b);
	} else {
		assert_string_equal(a, b);
	}
}

/* What the index gave is what the files hold. */
static void
assert_as_files(struct fixture *f, const char *name, const struct store_cert_info *info,
                const struct state *st)
{
	struct store_cert_info want;
	struct state want_st;
	char *dir = store_cert_dir(f->state_dir, name);

	assert_int_equal(store_cert_inspect(f->state_dir, name, &want), 0);
	assert_int_equal(info->present, want.present);
	assert_string_equal(info->problem, want.problem);
	assert_int_equal(info->not_before, want.not_before);
	assert_int_equal(info->not_after, want.not_after);
	assert_int_equal(info->version, want.version);
	assert_same_string(info->ari_id, want.ari_id);
	assert_string_equal(info->key_type, want.key_type);
	assert_same_string(info->issuer, want.issuer);
	if (want.present) {
		/* What `acmed status` shows of every certificate. */
		assert_string_equal(info->key_type, "ec-p256");
		assert_string_equal(info->issuer, "acmed test CA");
	}
	assert_int_equal(info->n_ids, want.n_ids);
	for (size_t i = 0; i < want.n_ids; i++) {
		assert_int_equal(info->ids[i].type, want.ids[i].type);
		assert_string_equal(info->ids[i].value, want.ids[i].value);
	}
	if (state_load(dir, &want_st) < 0) {
		state_init(&want_st);
	}
	assert_int_equal(st->not_after, want_st.not_after);
	assert_int_equal(st->last_attempt, want_st.last_attempt);
	assert_int_equal(st->last_success, want_st.last_success);
	assert_int_equal(st->attempts, want_st.attempts);
	assert_int_equal(st->next_try, want_st.next_try);
	assert_same_string(st->last_error, want_st.last_error);
	assert_same_string(st->order_url, want_st.order_url);
	assert_same_string(st->ca, want_st.ca);
	assert_int_equal(st->deploy_pending, want_st.deploy_pending);
	assert_int_equal(st->deploy_attempts, want_st.deploy_attempts);
	assert_int_equal(st->deploy_next_try, want_st.deploy_next_try);
	assert_same_string(st->deploy_error, want_st.deploy_error);
	assert_int_equal(st->version, want_st.version);
	assert_same_string(st->ari_id, want_st.ari_id);
	assert_int_equal(st->ari_when, want_st.ari_when);
	assert_int_equal(st->ari_next, want_st.ari_next);
	store_cert_info_finish(&want);
	state_finish(&want_st);
	free(dir);
}

/* Reads name through ix, checks it against the files, and says how many
 * sets and state.json the read took from the files. */
static void
read_one(struct fixture *f, struct store_index *ix, const char *name, size_t *sets, size_t *states)
{
	struct store_cert_info info;
	struct state st;
	size_t sets0, states0;

	store_index_reads(ix, &sets0, &states0);
	assert_int_equal(store_index_read(ix, name, &info, &st, NULL), 0);
	assert_as_files(f, name, &info, &st);
	store_index_reads(ix, sets, states);
	*sets -= sets0;
	*states -= states0;
	store_cert_info_finish(&info);
	state_finish(&st);
}

static void
test_reads_once(void **state)
{
	struct fixture *f = *state;
	struct store_index *ix;
	size_t sets, states;

	install(f, "www");
	record_state(f, "www", 2);
	ix = store_index_open(f->state_dir);
	assert_non_null(ix);
	assert_int_equal(store_index_count(ix), 0);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(states, 1);
	/* Nothing changed: nothing read. */
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 0);
	assert_int_equal(states, 0);
	/* Nothing installed, no state.json: recorded as such. */
	read_one(f, ix, "none", &sets, &states);
	assert_int_equal(sets, 1);
	read_one(f, ix, "none", &sets, &states);
	assert_int_equal(sets, 0);
	assert_int_equal(states, 0);
	/* A first order under way: its state.json, nothing installed. */
	record_state(f, "first", 1);
	read_one(f, ix, "first", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(states, 1);
	assert_int_equal(store_index_count(ix), 3);
	assert_int_equal(store_index_save(ix), 0);
	store_index_close(ix);
	assert_true(tmpdir_exists(f->state_dir, "certs.index"));

	/* Another process: what the file holds, nothing read. The records
	 * were made without a record to compare with, their identities taken
	 * from the files as they were read: the same numbers a look at the
	 * files gives now (store_cert_identities_at). */
	ix = store_index_open(f->state_dir);
	assert_int_equal(store_index_count(ix), 3);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 0);
	assert_int_equal(states, 0);
	read_one(f, ix, "none", &sets, &states);
	assert_int_equal(sets, 0);
	read_one(f, ix, "first", &sets, &states);
	assert_int_equal(sets, 0);
	assert_int_equal(states, 0);
	/* Nothing new: the file is left as it is. */
	assert_int_equal(store_index_save(ix), 0);
	store_index_close(ix);
}

/* Writes text over the file at dir/name in place (through its links). */
static void
overwrite(const char *dir, const char *name, const char *text)
{
	char *path = file_path(dir, name, NULL);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	free(path);
}

static void
test_changes_read_again(void **state)
{
	struct fixture *f = *state;
	struct store_index *ix;
	char *dir;
	char *key_pem;
	char *text;
	size_t len, sets, states;
	EVP_PKEY *other = pki_key();
	struct store_cert_info info;
	struct state st;

	install(f, "www");
	record_state(f, "www", 1);
	dir = store_cert_dir(f->state_dir, "www");
	ix = store_index_open(f->state_dir);
	read_one(f, ix, "www", &sets, &states);

	/* A command's attempt recorded: state.json, and the set with it (its
	 * folder changed, which is all that shows a link replaced). */
	record_state(f, "www", 2);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(states, 1);

	/* state.json edited in place, the folder as it was. */
	text = tmpdir_read(dir, "state.json");
	assert_non_null(strstr(text, "\"attempts\": 2"));
	*strstr(text, "\"attempts\": 2") = '\0';
	overwrite(dir, "state.json", text);
	free(text);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 0);
	assert_int_equal(states, 1);
	assert_int_equal(store_index_read(ix, "www", &info, &st, NULL), 0);
	/* Not JSON any more: as good as none. */
	assert_int_equal(st.attempts, 0);
	assert_int_equal(st.version, -1);
	store_cert_info_finish(&info);
	state_finish(&st);

	/* A new set installed. */
	install(f, "www");
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 1);

	/* The key replaced in place through its link: the set is broken. */
	key_pem = key_to_pem(other, &len);
	overwrite(dir, "privkey.pem", key_pem);
	key_pem_free(key_pem, len);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(states, 0);
	assert_int_equal(store_index_read(ix, "www", &info, &st, NULL), 0);
	assert_string_equal(info.problem, "privkey.pem is not the key of cert.pem");
	store_cert_info_finish(&info);
	state_finish(&st);

	/* A link removed. */
	text = file_path(dir, "chain.pem", NULL);
	assert_int_equal(unlink(text), 0);
	free(text);
	read_one(f, ix, "www", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(store_index_read(ix, "www", &info, &st, NULL), 0);
	assert_string_equal(info.problem, "chain.pem: missing");
	store_cert_info_finish(&info);
	state_finish(&st);

	store_index_close(ix);
	EVP_PKEY_free(other);
	free(dir);
}

static void
test_sweep_forgets(void **state)
{
	struct fixture *f = *state;
	struct store_index *ix;
	size_t sets, states;

	install(f, "a");
	install(f, "b");
	ix = store_index_open(f->state_dir);
	read_one(f, ix, "a", &sets, &states);
	read_one(f, ix, "b", &sets, &states);
	assert_int_equal(store_index_sweep(ix), 0);
	/* b no longer configured: only a looked up, b kept from its look. */
	read_one(f, ix, "a", &sets, &states);
	store_index_keep(ix, "a");
	assert_int_equal(store_index_sweep(ix), 1);
	assert_int_equal(store_index_count(ix), 1);
	/* Kept without a look: stays. */
	store_index_keep(ix, "a");
	assert_int_equal(store_index_sweep(ix), 0);
	/* A certificate deleted: forgotten at once (and nothing for one
	 * the index never held). */
	store_index_forget(ix, "a");
	store_index_forget(ix, "nosuch");
	assert_int_equal(store_index_count(ix), 0);
	read_one(f, ix, "a", &sets, &states);
	assert_int_equal(sets, 1);
	assert_int_equal(store_index_save(ix), 0);
	store_index_close(ix);
	ix = store_index_open(f->state_dir);
	assert_int_equal(store_index_count(ix), 1);
	read_one(f, ix, "b", &sets, &states);
	assert_int_equal(sets, 1);
	store_index_close(ix);
}

/* A file that is not the index, or is cut short: what reads stays, the
 * rest is read from the certificates' files, and the save writes it whole. */
static void
test_bad_files(void **state)
{
	struct fixture *f = *state;
	struct store_index *ix;
	char *path = file_path(f->state_dir, "certs.index", NULL);
	char *text;
	size_t len, sets, states;
	char name[8];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		install(f, name);
	}
	free(tmpdir_write(f->state_dir, "certs.index", "not an index\n", 0644));
	ix = store_index_open(f->state_dir);
	assert_int_equal(store_index_count(ix), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		read_one(f, ix, name, &sets, &states);
	}
	assert_int_equal(store_index_save(ix), 0);
	store_index_close(ix);

	/* Cut in the middle of its third record. */
	text = file_read(path, 1 << 20, &len);
	assert_non_null(text);
	assert_int_equal(file_write_atomic(path, text, len * 1 / 2, 0644), 0);
	ix = store_index_open(f->state_dir);
	assert_in_range(store_index_count(ix), 1, 4);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		read_one(f, ix, name, &sets, &states);
	}
	assert_int_equal(store_index_count(ix), 5);
	store_index_close(ix);

	/* Garbage after the first line. */
	memset(text + 30, 0xff, len - 30);
	assert_int_equal(file_write_atomic(path, text, len, 0644), 0);
	ix = store_index_open(f->state_dir);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		read_one(f, ix, name, &sets, &states);
	}
	store_index_close(ix);
	free(text);
	free(path);
}

#define MANY 192

struct many {
	struct store_index *ix;
	int failed;
};

static void
read_many(size_t i, void *arg)
{
	struct many *m = arg;
	struct store_cert_info info;
	struct state st;
	char name[16];

	snprintf(name, sizeof(name), "m%zu", i);
	if (store_index_read(m->ix, name, &info, &st, NULL) < 0 || !info.present ||
	    info.n_ids != 3 || st.attempts != (long)i) {
		__atomic_add_fetch(&m->failed, 1, __ATOMIC_SEQ_CST);
	}
	store_cert_info_finish(&info);
	state_finish(&st);
}

/* Names read from several threads at once (three batches of
 * parallel_for): each one's own answer, each read once. */
static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct many m = {0};
	char name[16];
	size_t sets, states;

	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		install(f, name);
		record_state(f, name, i);
	}
	m.ix = store_index_open(f->state_dir);
	parallel_for(MANY, 4, read_many, &m);
	assert_int_equal(m.failed, 0);
	assert_int_equal(store_index_count(m.ix), MANY);
	store_index_reads(m.ix, &sets, &states);
	assert_int_equal(sets, MANY);
	assert_int_equal(states, MANY);
	/* Again: all from the index. */
	parallel_for(MANY, 4, read_many, &m);
	assert_int_equal(m.failed, 0);
	store_index_reads(m.ix, &sets, &states);
	assert_int_equal(sets, MANY);
	assert_int_equal(states, MANY);
	store_index_close(m.ix);
}

/* A start's preload reads every set once on several threads; each
 * name's next read takes what it found without reading again, with the
 * folder identity from before; the read after that looks at the files. */
static void
test_preload(void **state)
{
	struct fixture *f = *state;
	const char *list[MANY];
	char names_buf[MANY][16];
	struct store_index *ix;
	struct store_cert_info info;
	struct state st;
	uint64_t folder;
	size_t sets, states;

	for (int i = 0; i < MANY; i++) {
		snprintf(names_buf[i], sizeof(names_buf[i]), "p%d", i);
		list[i] = names_buf[i];
		install(f, list[i]);
		record_state(f, list[i], i);
	}
	ix = store_index_open(f->state_dir);
	store_index_preload(ix, list, MANY);
	store_index_reads(ix, &sets, &states);
	assert_int_equal(sets, MANY);
	assert_int_equal(states, MANY);
	for (int i = 0; i < MANY; i++) {
		folder = 0;
		assert_int_equal(store_index_read(ix, list[i], &info, &st, &folder), 0);
		assert_as_files(f, list[i], &info, &st);
		assert_int_equal(folder, store_cert_folder_identity(f->state_dir, list[i]));
		store_cert_info_finish(&info);
		state_finish(&st);
	}
	store_index_reads(ix, &sets, &states);
	assert_int_equal(sets, MANY);
	assert_int_equal(states, MANY);
	/* Taken once: a state.json written since is read by the next look. */
	record_state(f, list[0], 99);
	read_one(f, ix, list[0], &sets, &states);
	assert_int_equal(states, 1);
	store_index_close(ix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_reads_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_changes_read_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_sweep_forgets, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_preload, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
