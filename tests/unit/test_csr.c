#include "crypto/csr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>

struct fixture {
	EVP_PKEY *ec;
	EVP_PKEY *rsa;
};

/* What a CSR says, decoded. */
struct decoded {
	X509_REQ *req;
	GENERAL_NAMES *names;
	int san_critical;
	char cn[256]; /* "" when the subject has no CN */
	int subject_entries;
};

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (f->ec == NULL || f->rsa == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL) {
		EVP_PKEY_free(f->ec);
		EVP_PKEY_free(f->rsa);
		free(f);
	}
	return 0;
}

/* Creates the CSR, decodes it and checks what every CSR must be: DER with
 * nothing after it, signed by key with SHA-256, for key's public key, with
 * one subjectAltName extension. */
static void
create_decoded(EVP_PKEY *key, const struct ident *ids, size_t n, struct decoded *d)
{
	STACK_OF(X509_EXTENSION) * exts;
	X509_EXTENSION *ext;
	X509_NAME *subject;
	const unsigned char *p;
	unsigned char *der;
	size_t len = 0;
	int i, expected_sig;
	unsigned char *spki = NULL;
	unsigned char *want = NULL;
	int spki_len, want_len;

	memset(d, 0, sizeof(*d));
	der = csr_create(key, ids, n, &len);
	assert_non_null(der);
	assert_true(len > 0);
	p = der;
	d->req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(d->req);
	assert_ptr_equal(p, der + len);
	free(der);

	assert_int_equal(X509_REQ_verify(d->req, key), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(d->req), key), 1);
	/* The SubjectPublicKeyInfo, byte for byte as OpenSSL encodes the key
	 * (csr.c writes an EC key's itself). */
	spki_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(d->req), &spki);
	want_len = i2d_PUBKEY(key, &want);
	assert_true(spki_len > 0);
	assert_int_equal(spki_len, want_len);
	assert_memory_equal(spki, want, (size_t)want_len);
	OPENSSL_free(spki);
	OPENSSL_free(want);
	assert_int_equal(X509_REQ_get_version(d->req), 0);
	expected_sig = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ? NID_ecdsa_with_SHA256
	                                                        : NID_sha256WithRSAEncryption;
	assert_int_equal(X509_REQ_get_signature_nid(d->req), expected_sig);

	exts = X509_REQ_get_extensions(d->req);
	assert_non_null(exts);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	ext = sk_X509_EXTENSION_value(exts, 0);
	assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(ext)), NID_subject_alt_name);
	d->san_critical = X509_EXTENSION_get_critical(ext);
	d->names = X509V3_EXT_d2i(ext);
	assert_non_null(d->names);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	subject = X509_REQ_get_subject_name(d->req);
	d->subject_entries = X509_NAME_entry_count(subject);
	i = X509_NAME_get_text_by_NID(subject, NID_commonName, d->cn, sizeof(d->cn));
	if (i < 0) {
		d->cn[0] = '\0';
	}
}

static void
decoded_finish(struct decoded *d)
{
	GENERAL_NAMES_free(d->names);
	X509_REQ_free(d->req);
}

/* Whether SAN entry i is the identifier. */
static void
assert_name(const struct decoded *d, int i, const struct ident *id)
{
	const GENERAL_NAME *gn = sk_GENERAL_NAME_value(d->names, i);
	unsigned char addr[sizeof(struct in6_addr)];
	size_t addrlen;

	assert_non_null(gn);
	if (id->type == IDENT_DNS) {
		assert_int_equal(gn->type, GEN_DNS);
		assert_int_equal(ASN1_STRING_length(gn->d.dNSName), strlen(id->value));
		assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), id->value,
		                    strlen(id->value));
	} else {
		assert_int_equal(gn->type, GEN_IPADD);
		if (inet_pton(AF_INET, id->value, addr) == 1) {
			addrlen = 4;
		} else {
			assert_int_equal(inet_pton(AF_INET6, id->value, addr), 1);
			addrlen = 16;
		}
		assert_int_equal(ASN1_STRING_length(gn->d.iPAddress), addrlen);
		assert_memory_equal(ASN1_STRING_get0_data(gn->d.iPAddress), addr, addrlen);
	}
}

static void
check_names(const struct decoded *d, const struct ident *ids, size_t n)
{
	size_t i;

	assert_int_equal(sk_GENERAL_NAME_num(d->names), n);
	for (i = 0; i < n; i++) {
		assert_name(d, (int)i, &ids[i]);
	}
}

static const struct ident mixed[] = {
        {IDENT_DNS, (char *)"example.com"},
        {IDENT_DNS, (char *)"*.example.com"},
        {IDENT_IP, (char *)"192.0.2.1"},
        {IDENT_IP, (char *)"2001:db8::1"},
};

static void
test_csr_ec(void **state)
{
	struct fixture *f = *state;
	struct decoded d;

	create_decoded(f->ec, mixed, 4, &d);
	check_names(&d, mixed, 4);
	assert_string_equal(d.cn, "example.com");
	assert_int_equal(d.subject_entries, 1);
	assert_int_equal(d.san_critical, 0);
	decoded_finish(&d);
}

/* P-384: the curve is the key's, not a fixed one. */
static void
test_csr_ec_p384(void **state)
{
	struct decoded d;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	(void)state;
	assert_non_null(key);
	create_decoded(key, mixed, 4, &d);
	check_names(&d, mixed, 4);
	decoded_finish(&d);
	EVP_PKEY_free(key);
}

static void
test_csr_rsa(void **state)
{
	struct fixture *f = *state;
	struct decoded d;

	create_decoded(f->rsa, mixed, 4, &d);
	check_names(&d, mixed, 4);
	assert_string_equal(d.cn, "example.com");
	decoded_finish(&d);
}

static void
test_csr_ip_only(void **state)
{
	struct fixture *f = *state;
	const struct ident ids[] = {
	        {IDENT_IP, (char *)"127.0.0.1"},
	        {IDENT_IP, (char *)"::1"},
	};
	struct decoded d;

	create_decoded(f->ec, ids, 2, &d);
	check_names(&d, ids, 2);
	/* IP addresses never go in the CN; with an empty subject the SAN is
	 * critical (RFC 5280 section 4.2.1.6). */
	assert_int_equal(d.subject_entries, 0);
	assert_int_equal(d.san_critical, 1);
	decoded_finish(&d);
}

static void
test_csr_cn(void **state)
{
	struct fixture *f = *state;
	char long_name[71], max_name[65];
	struct ident ids[2] = {
	        {IDENT_DNS, long_name},
	        {IDENT_DNS, (char *)"short.example"},
	};
	struct ident ip_first[2] = {
	        {IDENT_IP, (char *)"192.0.2.7"},
	        {IDENT_DNS, (char *)"second.example"},
	};
	struct decoded d;

	/* 70 characters: too long for a CN, and no other name takes its
	 * place. */
	memset(long_name, 'a', sizeof(long_name) - 1);
	memcpy(long_name + sizeof(long_name) - 9, ".example", 9);
	assert_int_equal(strlen(long_name), 70);
	create_decoded(f->ec, ids, 2, &d);
	check_names(&d, ids, 2);
	assert_int_equal(d.subject_entries, 0);
	assert_int_equal(d.san_critical, 1);
	decoded_finish(&d);

	/* 64 characters fit. */
	memset(max_name, 'b', sizeof(max_name) - 1);
	memcpy(max_name + sizeof(max_name) - 9, ".example", 9);
	assert_int_equal(strlen(max_name), 64);
	ids[0].value = max_name;
	create_decoded(f->ec, ids, 2, &d);
	check_names(&d, ids, 2);
	assert_string_equal(d.cn, max_name);
	decoded_finish(&d);

	/* The first dns identifier, even after an IP. */
	create_decoded(f->ec, ip_first, 2, &d);
	check_names(&d, ip_first, 2);
	assert_string_equal(d.cn, "second.example");
	assert_int_equal(d.subject_entries, 1);
	decoded_finish(&d);
}

static void
test_csr_invalid(void **state)
{
	struct fixture *f = *state;
	const struct ident bad_ip[] = {
	        {IDENT_DNS, (char *)"example.com"},
	        {IDENT_IP, (char *)"192.0.2"},
	};
	const struct ident unknown[] = {
	        {IDENT_UNKNOWN, (char *)"example.com"},
	};
	const struct ident no_value[] = {
	        {IDENT_DNS, NULL},
	};
	const struct ident empty[] = {
	        {IDENT_DNS, (char *)""},
	};
	size_t len = 0;

	assert_null(csr_create(NULL, mixed, 4, &len));
	assert_null(csr_create(f->ec, mixed, 0, &len));
	assert_null(csr_create(f->ec, NULL, 1, &len));
	assert_null(csr_create(f->ec, mixed, 4, NULL));
	assert_null(csr_create(f->ec, bad_ip, 2, &len));
	assert_null(csr_create(f->ec, unknown, 1, &len));
	assert_null(csr_create(f->ec, no_value, 1, &len));
	assert_null(csr_create(f->ec, empty, 1, &len));
}

/* What csr_create makes reads back: the names, the key, the same DER. */
static void
test_parse_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	unsigned char *der = csr_create(f->ec, mixed, 4, &len);
	unsigned char *back = NULL;
	size_t back_len = 0;
	struct ident *ids = NULL;
	size_t n = 0;
	EVP_PKEY *pub = NULL;
	char err[256] = "";
	BIO *bio = BIO_new(BIO_s_mem());
	X509_REQ *req;
	const unsigned char *p;
	char *pem;
	long pem_len;

	assert_non_null(der);
	assert_int_equal(csr_parse(der, len, &back, &back_len, &ids, &n, &pub, err, sizeof(err)),
	                 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, der, len);
	assert_true(ident_set_equal(ids, n, mixed, 4));
	assert_int_equal(EVP_PKEY_eq(pub, f->ec), 1);
	ident_list_free(ids, n);
	EVP_PKEY_free(pub);
	free(back);

	/* The same as PEM, as openssl req writes it. */
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(csr_parse((const unsigned char *)pem, (size_t)pem_len, &back, &back_len,
	                           &ids, &n, &pub, err, sizeof(err)),
	                 0);
	assert_memory_equal(back, der, len);
	assert_int_equal(n, 4);
	ident_list_free(ids, n);
	EVP_PKEY_free(pub);
	free(back);

	/* A byte of the signature changed. */
	der[len - 1] ^= 0x01;
	assert_int_equal(csr_parse(der, len, &back, &back_len, &ids, &n, &pub, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "its signature does not verify with its own key");
	assert_null(back);
	assert_null(ids);
	assert_null(pub);
	/* Not a CSR at all, and trailing bytes after one. */
	assert_int_equal(csr_parse((const unsigned char *)"hello", 5, &back, &back_len, &ids, &n,
	                           &pub, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "not a certificate signing request (PEM or DER)");
	X509_REQ_free(req);
	BIO_free(bio);
	free(der);
}

/* No subjectAltName: the subject's CN is the name. */
static void
test_parse_cn_only(void **state)
{
	struct fixture *f = *state;
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	unsigned char *back = NULL;
	size_t back_len = 0;
	struct ident *ids = NULL;
	size_t n = 0;
	EVP_PKEY *pub = NULL;
	char err[256] = "";
	int len;

	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"only.example", -1, -1,
	                                            0),
	                 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, f->ec), 1);
	assert_true(X509_REQ_sign(req, f->ec, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	assert_int_equal(
	        csr_parse(der, (size_t)len, &back, &back_len, &ids, &n, &pub, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0].type, IDENT_DNS);
	assert_string_equal(ids[0].value, "only.example");
	ident_list_free(ids, n);
	EVP_PKEY_free(pub);
	free(back);
	OPENSSL_free(der);
	der = NULL;

	/* Nor a CN: nothing to order for. */
	X509_NAME_free(name);
	name = X509_NAME_new();
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_true(X509_REQ_sign(req, f->ec, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_int_equal(
	        csr_parse(der, (size_t)len, &back, &back_len, &ids, &n, &pub, err, sizeof(err)),
	        -1);
	assert_string_equal(err, "it names nothing: no subjectAltName and no subject CN");
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_csr_ec),           cmocka_unit_test(test_csr_ec_p384),
	        cmocka_unit_test(test_csr_rsa),          cmocka_unit_test(test_csr_ip_only),
	        cmocka_unit_test(test_csr_cn),           cmocka_unit_test(test_csr_invalid),
	        cmocka_unit_test(test_parse_round_trip), cmocka_unit_test(test_parse_cn_only),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
