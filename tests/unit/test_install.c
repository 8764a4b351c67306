#include "renew/install.h"

#include <errno.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/file.h"
#include "crypto/cert.h"
#include "crypto/key.h"
#include "pki.h"
#include "tmpdir.h"

static const char *const names[] = {"example.com", "www.example.com"};

static const struct ident ids[] = {
        {IDENT_DNS, (char *)"example.com"},
        {IDENT_DNS, (char *)"www.example.com"},
};

struct fixture {
	struct pki ca;
	char *state_dir;
	char *dir; /* certs/www */
	EVP_PKEY *key; /* the order's */
	X509 *leaf; /* for key and names */
	char *pem; /* leaf then the CA */
	size_t pem_len;
	struct install_request req;
	struct store_cert_info info;
	char message[512];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	time_t now = time(NULL);

	if (f == NULL) {
		return -1;
	}
	pki_init(&f->ca);
	f->state_dir = tmpdir_make("install");
	f->dir = file_path(f->state_dir, "certs", "www", NULL);
	f->key = pki_key();
	f->leaf = pki_leaf(&f->ca, f->key, names, 2, now - PKI_DAY, now + 89 * PKI_DAY);
	f->pem = pki_chain(&f->ca, f->leaf, &f->pem_len);
	f->req.state_dir = f->state_dir;
	f->req.name = "www";
	f->req.dir = f->dir;
	f->req.key = f->key;
	f->req.ids = ids;
	f->req.n_ids = 2;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_cert_info_finish(&f->info);
	free(f->pem);
	X509_free(f->leaf);
	EVP_PKEY_free(f->key);
	tmpdir_remove(f->state_dir);
	free(f->state_dir);
	free(f->dir);
	pki_finish(&f->ca);
	free(f);
	return 0;
}

static enum install_result
install(struct fixture *f, const char *pem, size_t len)
{
	store_cert_info_finish(&f->info);
	f->message[0] = '\0';
	return install_chain(&f->req, pem, len, &f->info, f->message, sizeof(f->message));
}

/* Nothing under certs/www: no set, no version, no file. */
static void
assert_nothing_installed(const struct fixture *f)
{
	static const char *const files[] = {
	        "privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "current",
	};

	assert_int_equal(store_cert_version(f->state_dir, "www"), -1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_false(tmpdir_exists(f->dir, files[i]));
	}
}

static void
test_install_done(void **state)
{
	struct fixture *f = *state;
	struct store_cert_info back;
	time_t not_before = 0;
	time_t not_after = 0;
	char *leaf_pem = pki_pem(f->leaf, NULL);
	char *ca_pem = pki_pem(f->ca.cert, NULL);
	char *want_ari = cert_ari_id(f->leaf);
	char *text;
	char *full;
	EVP_PKEY *key;
	char *path;
	struct stat st;

	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	assert_int_equal(cert_validity(f->leaf, &not_before, &not_after), 0);
	/* info describes the new set. */
	assert_true(f->info.present);
	assert_string_equal(f->info.problem, "");
	assert_int_equal(f->info.not_before, not_before);
	assert_int_equal(f->info.not_after, not_after);
	assert_int_equal(f->info.version, 1);
	assert_int_equal(f->info.n_ids, 2);
	assert_true(ident_set_equal(f->info.ids, f->info.n_ids, ids, 2));
	assert_non_null(want_ari);
	assert_non_null(f->info.ari_id);
	assert_string_equal(f->info.ari_id, want_ari);
	/* The four files, as the CA sent them and with the order's key. */
	text = tmpdir_read(f->dir, "cert.pem");
	assert_non_null(text);
	assert_string_equal(text, leaf_pem);
	free(text);
	text = tmpdir_read(f->dir, "chain.pem");
	assert_non_null(text);
	assert_string_equal(text, ca_pem);
	free(text);
	full = tmpdir_read(f->dir, "fullchain.pem");
	assert_non_null(full);
	assert_int_equal(strlen(full), strlen(leaf_pem) + strlen(ca_pem));
	assert_memory_equal(full, leaf_pem, strlen(leaf_pem));
	assert_string_equal(full + strlen(leaf_pem), ca_pem);
	free(full);
	path = file_path(f->dir, "privkey.pem", NULL);
	key = key_load(path);
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_eq(key, f->key), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	EVP_PKEY_free(key);
	free(path);
	/* And the store reads back what info said. */
	memset(&back, 0, sizeof(back));
	assert_int_equal(store_cert_inspect(f->state_dir, "www", &back), 0);
	assert_true(back.present);
	assert_string_equal(back.problem, "");
	assert_int_equal(back.not_after, f->info.not_after);
	assert_int_equal(back.version, f->info.version);
	assert_string_equal(back.ari_id, f->info.ari_id);
	store_cert_info_finish(&back);
	free(want_ari);
	free(leaf_pem);
	free(ca_pem);
}

static void
test_install_again(void **state)
{
	struct fixture *f = *state;

	/* A new order (not resumed) with the same certificate is a new set. */
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	assert_int_equal(f->info.version, 2);
	assert_int_equal(store_cert_version(f->state_dir, "www"), 2);
	assert_true(tmpdir_exists(f->dir, "previous"));
}

/* Refused: the message names the certificate and says so, and nothing is
 * installed. */
static void
assert_refused(struct fixture *f, const char *pem, size_t len)
{
	assert_int_equal(install(f, pem, len), INSTALL_REFUSED);
	print_message("message: %s\n", f->message);
	assert_true(strncmp(f->message, "www: ", 5) == 0);
	assert_non_null(strstr(f->message, "nothing installed"));
	assert_null(strchr(f->message, '\n'));
	assert_false(f->info.present);
	assert_null(f->info.ids);
	assert_int_equal(f->info.version, -1);
	assert_nothing_installed(f);
}

/* A leaf for key and n of the names, valid from not_before to not_after,
 * is refused. */
static void
assert_leaf_refused(struct fixture *f, EVP_PKEY *key, const char *const *leaf_names, size_t n,
                    time_t not_before, time_t not_after)
{
	X509 *leaf = pki_leaf(&f->ca, key, leaf_names, n, not_before, not_after);
	size_t len = 0;
	char *pem = pki_chain(&f->ca, leaf, &len);

	assert_refused(f, pem, len);
	free(pem);
	X509_free(leaf);
}

static void
test_other_names_refused(void **state)
{
	static const char *const other[] = {"example.com", "evil.example"};
	struct fixture *f = *state;
	time_t now = time(NULL);

	assert_leaf_refused(f, f->key, other, 2, now - PKI_DAY, now + 89 * PKI_DAY);
	/* Fewer names than ordered. */
	assert_leaf_refused(f, f->key, names, 1, now - PKI_DAY, now + 89 * PKI_DAY);
}

static void
test_other_key_refused(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other = pki_key();
	time_t now = time(NULL);

	assert_leaf_refused(f, other, names, 2, now - PKI_DAY, now + 89 * PKI_DAY);
	EVP_PKEY_free(other);
}

static void
test_expired_refused(void **state)
{
	struct fixture *f = *state;
	time_t now = time(NULL);

	assert_leaf_refused(f, f->key, names, 2, now - 90 * PKI_DAY, now - PKI_DAY);
}

static void
test_garbage_refused(void **state)
{
	struct fixture *f = *state;
	static const char junk[] = "<html>502 Bad Gateway</html>\n";

	assert_refused(f, junk, sizeof(junk) - 1);
	assert_refused(f, "", 0);
}

static void
test_refused_keeps_installed(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other = pki_key();
	time_t now = time(NULL);
	X509 *leaf = pki_leaf(&f->ca, other, names, 2, now - PKI_DAY, now + 89 * PKI_DAY);
	size_t len = 0;
	char *pem = pki_chain(&f->ca, leaf, &len);
	char *before;
	char *after;

	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	before = tmpdir_read(f->dir, "cert.pem");
	assert_int_equal(install(f, pem, len), INSTALL_REFUSED);
	after = tmpdir_read(f->dir, "cert.pem");
	assert_non_null(after);
	assert_string_equal(after, before);
	assert_int_equal(store_cert_version(f->state_dir, "www"), 1);
	free(before);
	free(after);
	free(pem);
	X509_free(leaf);
	EVP_PKEY_free(other);
}

static void
test_resumed_same(void **state)
{
	struct fixture *f = *state;

	/* A run that installed the set and died before its record resumes
	 * the order and gets the same certificate: nothing to switch. */
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	f->req.resumed = true;
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_SAME);
	assert_int_equal(store_cert_version(f->state_dir, "www"), 1);
	assert_false(tmpdir_exists(f->dir, "previous"));
}

static void
test_resumed_new(void **state)
{
	struct fixture *f = *state;

	/* Resumed, but nothing of it installed yet: installed. */
	f->req.resumed = true;
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);
	assert_int_equal(f->info.version, 1);
}

/* output = pem combined pkcs12 with a password file: combined.pem is the
 * key then the full chain, cert.p12 opens with the file's first line, both
 * with the key's mode; the public files with cert-mode. */
static void
test_install_outputs(void **state)
{
	struct fixture *f = *state;
	struct install_output out;
	char *pass = file_path(f->state_dir, "p12.pass", NULL);
	size_t key_len = 0;
	char *key_pem = key_to_pem(f->key, &key_len);
	char *full = file_path(f->dir, "fullchain.pem", NULL);
	char *full_pem;
	char *text;
	char *path;
	size_t len = 0;
	const unsigned char *p;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *cas = NULL;
	struct stat st;

	memset(&out, 0, sizeof(out));
	out.formats = CONF_OUTPUT_PEM | CONF_OUTPUT_COMBINED | CONF_OUTPUT_PKCS12;
	out.pkcs12_password_file = pass;
	out.key_access = (struct store_cert_access){-1, -1, 0640};
	out.cert_access = (struct store_cert_access){-1, -1, 0644};
	f->req.output = &out;
	assert_int_equal(file_write_atomic(pass, "s3cret\n", 7, 0600), 0);
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_DONE);

	full_pem = tmpdir_read(f->dir, "fullchain.pem");
	text = tmpdir_read(f->dir, "combined.pem");
	assert_non_null(text);
	assert_int_equal(strlen(text), key_len + strlen(full_pem));
	assert_memory_equal(text, key_pem, key_len);
	assert_string_equal(text + key_len, full_pem);
	free(text);
	path = file_path(f->dir, "combined.pem", NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(path);
	path = file_path(f->dir, "privkey.pem", NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(path);

	path = file_path(f->dir, "cert.p12", NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	text = file_read(path, 1 << 16, &len);
	assert_non_null(text);
	p = (const unsigned char *)text;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	assert_non_null(p12);
	assert_int_equal(PKCS12_parse(p12, "s3cret", &key, &cert, &cas), 1);
	assert_int_equal(EVP_PKEY_eq(key, f->key), 1);
	assert_int_equal(X509_cmp(cert, f->leaf), 0);
	assert_int_equal(sk_X509_num(cas), 1);
	sk_X509_pop_free(cas, X509_free);
	X509_free(cert);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
	free(text);
	free(path);
	free(full_pem);
	free(full);
	key_pem_free(key_pem, key_len);
	free(pass);
}

/* An unreadable pkcs12-password-file fails the install, naming it, and
 * changes nothing. */
static void
test_install_password_missing(void **state)
{
	struct fixture *f = *state;
	struct install_output out;

	memset(&out, 0, sizeof(out));
	out.formats = CONF_OUTPUT_PEM | CONF_OUTPUT_PKCS12;
	out.pkcs12_password_file = "/nonexistent/acmed-p12.pass";
	out.key_access = (struct store_cert_access){-1, -1, 0600};
	out.cert_access = (struct store_cert_access){-1, -1, 0644};
	f->req.output = &out;
	assert_int_equal(install(f, f->pem, f->pem_len), INSTALL_FAILED);
	assert_string_equal(
	        f->message,
	        "www: pkcs12-password-file /nonexistent/acmed-p12.pass: No such file or "
	        "directory; nothing installed, the previous certificate stays");
	assert_nothing_installed(f);
}

/* The three steps a job takes around its group syncs: nothing current
 * before the switch, a set the job drops is removed, a failed sync
 * installs nothing, and the set is current once switched. */
static void
test_install_steps(void **state)
{
	struct fixture *f = *state;
	struct install_staged st;
	bool folder_last;

	assert_int_equal(
	        install_stage(&f->req, f->pem, f->pem_len, &st, f->message, sizeof(f->message)),
	        INSTALL_STAGED);
	/* cert, chain, fullchain, the key, then the set's folder. */
	assert_int_equal(st.set.n_paths, 5);
	folder_last = strcmp(st.set.paths[4], st.set.vdir) == 0;
	assert_true(folder_last);
	assert_nothing_installed(f);
	install_staged_finish(&st);
	assert_false(tmpdir_exists(f->dir, "v/1"));
	assert_nothing_installed(f);

	/* A sync that failed: the set is removed, nothing switched. */
	assert_int_equal(
	        install_stage(&f->req, f->pem, f->pem_len, &st, f->message, sizeof(f->message)),
	        INSTALL_STAGED);
	assert_int_equal(install_switch(&f->req, &st, EIO, f->message, sizeof(f->message)),
	                 INSTALL_FAILED);
	assert_non_null(strstr(f->message, "Input/output error"));
	assert_nothing_installed(f);

	assert_int_equal(
	        install_stage(&f->req, f->pem, f->pem_len, &st, f->message, sizeof(f->message)),
	        INSTALL_STAGED);
	assert_int_equal(install_switch(&f->req, &st, 0, f->message, sizeof(f->message)),
	                 INSTALL_SWITCHED);
	assert_int_equal(store_cert_version(f->state_dir, "www"), st.set.next);
	assert_true(tmpdir_exists(f->dir, "cert.pem"));
	assert_int_equal(install_settle(&f->req, &st, 0, &f->info, f->message, sizeof(f->message)),
	                 INSTALL_DONE);
	assert_int_equal(f->info.version, store_cert_version(f->state_dir, "www"));
	assert_true(f->info.present);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_install_done, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_install_again, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_names_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_key_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expired_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused_keeps_installed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resumed_same, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_resumed_new, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_install_outputs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_install_password_missing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_install_steps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
