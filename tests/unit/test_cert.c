#include "crypto/cert.h"
#include "crypto/cert_chain.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pki.h"

#define DAY (24 * 60 * 60)

/* A small CA built once: root -> intermediate, and the keys leaves are
 * issued for. */
struct fixture {
	time_t now;
	EVP_PKEY *root_key;
	EVP_PKEY *int_key;
	EVP_PKEY *leaf_key;
	EVP_PKEY *other_key;
	X509 *root;
	X509 *intermediate;
	X509 *other_root; /* unrelated to the others */
	X509 *leaf; /* example.com, www.example.com for leaf_key */
};

/* A growing text, for assembling PEM inputs. */
struct text {
	char *data;
	size_t len;
};

/* A leaf for key issued by the fixture's intermediate, valid for 90 days. */
static X509 *
make_leaf(struct fixture *f, EVP_PKEY *key, const char *san)
{
	return pki_cert(key, "leaf", f->intermediate, f->int_key, san, f->now - DAY,
	                f->now + 90 * DAY, false);
}

static void
text_add(struct text *t, const char *s, size_t len)
{
	t->data = realloc(t->data, t->len + len + 1);
	assert_non_null(t->data);
	memcpy(t->data + t->len, s, len);
	t->len += len;
	t->data[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void
text_bio(struct text *t, BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	assert_true(len > 0);
	text_add(t, data, (size_t)len);
	BIO_free(bio);
}

static void
text_cert(struct text *t, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	text_bio(t, bio);
}

static void
text_finish(struct text *t)
{
	free(t->data);
	t->data = NULL;
	t->len = 0;
}

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->now = time(NULL);
	f->root_key = pki_key();
	f->int_key = pki_key();
	f->leaf_key = pki_key();
	f->other_key = pki_key();
	f->root = pki_cert(f->root_key, "test root", NULL, f->root_key, NULL, f->now - DAY,
	                   f->now + 3650 * DAY, true);
	f->intermediate = pki_cert(f->int_key, "test intermediate", f->root, f->root_key, NULL,
	                           f->now - DAY, f->now + 1000 * DAY, true);
	f->other_root = pki_cert(f->other_key, "other root", NULL, f->other_key, NULL, f->now - DAY,
	                         f->now + 3650 * DAY, true);
	f->leaf = make_leaf(f, f->leaf_key, "DNS:example.com,DNS:www.example.com");
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL) {
		X509_free(f->leaf);
		X509_free(f->other_root);
		X509_free(f->intermediate);
		X509_free(f->root);
		EVP_PKEY_free(f->other_key);
		EVP_PKEY_free(f->leaf_key);
		EVP_PKEY_free(f->int_key);
		EVP_PKEY_free(f->root_key);
		free(f);
	}
	return 0;
}

static const struct ident www_ids[] = {
        {IDENT_DNS, (char *)"example.com"},
        {IDENT_DNS, (char *)"www.example.com"},
};

/* Parses the PEM of n certificates and checks it against www_ids. Returns
 * what cert_chain_check() returns; err holds the reason. */
static int
check_certs(struct fixture *f, X509 *const *certs, size_t n, EVP_PKEY *key, char *err,
            size_t errlen)
{
	struct cert_chain chain;
	struct text t = {0};
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		text_cert(&t, certs[i]);
	}
	assert_int_equal(cert_chain_parse(t.data, t.len, &chain, err, errlen), 0);
	assert_int_equal(chain.n, n);
	rc = cert_chain_check(&chain, key, www_ids, 2, f->now, err, errlen);
	cert_chain_finish(&chain);
	text_finish(&t);
	return rc;
}

static void
test_chain_good(void **state)
{
	struct fixture *f = *state;
	struct ident ids[] = {
	        {IDENT_DNS, (char *)"WWW.example.com"},
	        {IDENT_DNS, (char *)"Example.COM"},
	};
	struct cert_chain chain;
	struct text t = {0};
	char err[256] = "";

	text_cert(&t, f->leaf);
	text_cert(&t, f->intermediate);
	text_cert(&t, f->root);
	assert_int_equal(cert_chain_parse(t.data, t.len, &chain, err, sizeof(err)), 0);
	assert_int_equal(chain.n, 3);
	assert_int_equal(X509_cmp(cert_chain_leaf(&chain), f->leaf), 0);
	assert_int_equal(X509_cmp(chain.certs[1], f->intermediate), 0);
	assert_int_equal(X509_cmp(chain.certs[2], f->root), 0);
	/* Names match as a set, without regard to order or case. */
	assert_int_equal(cert_chain_check(&chain, f->leaf_key, ids, 2, f->now, err, sizeof(err)),
	                 0);
	cert_chain_finish(&chain);
	assert_int_equal(chain.n, 0);
	cert_chain_finish(&chain);
	cert_chain_finish(NULL);
	text_finish(&t);
}

static void
test_chain_short(void **state)
{
	struct fixture *f = *state;
	X509 *two[] = {f->leaf, f->intermediate};
	char err[256] = "";

	/* What CAs send: leaf and intermediate; and a lone leaf is accepted. */
	assert_int_equal(check_certs(f, two, 2, f->leaf_key, err, sizeof(err)), 0);
	assert_int_equal(check_certs(f, two, 1, f->leaf_key, err, sizeof(err)), 0);
}

/* The issuers of consecutive chains are parsed once and shared; leaves are
 * never shared; a different issuer text is its own certificate; more
 * issuers than are kept all parse right. */
static void
test_chain_issuers_shared(void **state)
{
	struct fixture *f = *state;
	struct cert_chain one, two, three;
	struct text a = {0}, b = {0}, c = {0};
	X509 *leaf2 = make_leaf(f, f->leaf_key, "DNS:example.com,DNS:www.example.com");
	char err[256] = "";

	text_cert(&a, f->leaf);
	text_cert(&a, f->intermediate);
	text_cert(&a, f->root);
	text_cert(&b, leaf2);
	text_cert(&b, f->intermediate);
	text_cert(&b, f->root);
	assert_int_equal(cert_chain_parse(a.data, a.len, &one, err, sizeof(err)), 0);
	assert_int_equal(cert_chain_parse(b.data, b.len, &two, err, sizeof(err)), 0);
	assert_ptr_not_equal(cert_chain_leaf(&one), cert_chain_leaf(&two));
	assert_ptr_equal(one.certs[1], two.certs[1]);
	assert_ptr_equal(one.certs[2], two.certs[2]);
	assert_int_equal(X509_cmp(cert_chain_leaf(&two), leaf2), 0);
	assert_int_equal(X509_cmp(two.certs[1], f->intermediate), 0);
	assert_int_equal(cert_chain_check(&two, f->leaf_key, www_ids, 2, f->now, err, sizeof(err)),
	                 0);
	/* Five issuers in one chain: more than are kept. */
	text_cert(&c, f->leaf);
	text_cert(&c, f->other_root);
	text_cert(&c, f->intermediate);
	text_cert(&c, leaf2);
	text_cert(&c, f->root);
	text_cert(&c, f->other_root);
	assert_int_equal(cert_chain_parse(c.data, c.len, &three, err, sizeof(err)), 0);
	assert_int_equal(three.n, 6);
	assert_int_equal(X509_cmp(three.certs[1], f->other_root), 0);
	assert_int_equal(X509_cmp(three.certs[2], f->intermediate), 0);
	assert_int_equal(X509_cmp(three.certs[3], leaf2), 0);
	assert_int_equal(X509_cmp(three.certs[4], f->root), 0);
	assert_ptr_equal(three.certs[1], three.certs[5]);
	/* One chain freed: the other's shared certificates stay good. */
	cert_chain_finish(&one);
	assert_int_equal(X509_cmp(two.certs[1], f->intermediate), 0);
	cert_chain_finish(&two);
	cert_chain_finish(&three);
	X509_free(leaf2);
	text_finish(&a);
	text_finish(&b);
	text_finish(&c);
}

static void
test_chain_whitespace(void **state)
{
	struct fixture *f = *state;
	struct cert_chain chain;
	struct text pem = {0}, t = {0};
	char err[256] = "";
	size_t i;

	text_cert(&pem, f->leaf);
	/* CRLF line endings, blank lines around and between, no final newline. */
	text_str(&t, "\r\n  \n\t");
	for (i = 0; i < pem.len; i++) {
		if (pem.data[i] == '\n') {
			text_str(&t, "\r\n");
		} else {
			text_add(&t, &pem.data[i], 1);
		}
	}
	text_str(&t, "\n\n");
	text_finish(&pem);
	text_cert(&pem, f->intermediate);
	text_add(&t, pem.data, pem.len - 1);
	assert_int_equal(cert_chain_parse(t.data, t.len, &chain, err, sizeof(err)), 0);
	assert_int_equal(chain.n, 2);
	cert_chain_finish(&chain);
	text_finish(&pem);
	text_finish(&t);
}

static void
expect_parse_error(const struct text *t, const char *reason)
{
	struct cert_chain chain;
	char err[256] = "";

	assert_int_equal(cert_chain_parse(t->data, t->len, &chain, err, sizeof(err)), -1);
	assert_int_equal(chain.n, 0);
	if (strstr(err, reason) == NULL) {
		fail_msg("error '%s' does not contain '%s'", err, reason);
	}
}

static void
test_chain_other_blocks(void **state)
{
	struct fixture *f = *state;
	struct text t = {0};
	BIO *bio;

	text_cert(&t, f->leaf);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, f->leaf_key, NULL, NULL, 0, NULL, NULL), 1);
	text_bio(&t, bio);
	expect_parse_error(&t, "unexpected PEM block 'PRIVATE KEY'");
	text_finish(&t);

	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509_AUX(bio, f->leaf), 1);
	text_bio(&t, bio);
	expect_parse_error(&t, "unexpected PEM block 'TRUSTED CERTIFICATE'");
	text_finish(&t);

	text_cert(&t, f->leaf);
	text_str(&t, "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n");
	expect_parse_error(&t, "unexpected PEM block 'X509 CRL'");
	text_finish(&t);
}

static void
test_chain_garbage(void **state)
{
	struct fixture *f = *state;
	static const char *const junk[] = {
	        "hello\n", "# comment\n", "-----END CERTIFICATE-----\n", "-----BEGIN -----\n", "\0",
	};
	struct text t = {0};
	size_t i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		/* Between, before and after the certificates. */
		text_cert(&t, f->leaf);
		text_add(&t, junk[i], strlen(junk[i]) > 0 ? strlen(junk[i]) : 1);
		text_cert(&t, f->intermediate);
		expect_parse_error(&t, "unexpected text");
		text_finish(&t);
		text_add(&t, junk[i], strlen(junk[i]) > 0 ? strlen(junk[i]) : 1);
		text_cert(&t, f->leaf);
		expect_parse_error(&t, "unexpected text at byte 0");
		text_finish(&t);
		text_cert(&t, f->leaf);
		text_add(&t, junk[i], strlen(junk[i]) > 0 ? strlen(junk[i]) : 1);
		expect_parse_error(&t, "unexpected text");
		text_finish(&t);
	}
	text_cert(&t, f->leaf);
	t.data[t.len - 1] = 'x';
	expect_parse_error(&t, "unexpected text");
	text_finish(&t);
}

static void
test_chain_malformed(void **state)
{
	struct fixture *f = *state;
	struct text pem = {0}, t = {0};
	char *p;

	text_cert(&pem, f->leaf);

	/* Truncated. */
	text_add(&t, pem.data, pem.len / 2);
	expect_parse_error(&t, "certificate 1 has no END CERTIFICATE line");
	text_finish(&t);

	/* A BEGIN inside a block. */
	text_add(&t, pem.data, pem.len / 2);
	text_str(&t, "\n");
	text_add(&t, pem.data, pem.len);
	expect_parse_error(&t, "certificate 1 has no END CERTIFICATE line");
	text_finish(&t);

	/* Bad base64 in the second certificate. */
	text_add(&t, pem.data, pem.len);
	text_add(&t, pem.data, pem.len);
	p = strchr(t.data + pem.len, '\n');
	p[5] = '*';
	expect_parse_error(&t, "certificate 2 is not a valid certificate");
	text_finish(&t);

	/* Valid base64 of something else. */
	text_str(&t, "-----BEGIN CERTIFICATE-----\naGVsbG8K\n-----END CERTIFICATE-----\n");
	expect_parse_error(&t, "certificate 1 is not a valid certificate");
	text_finish(&t);

	/* RFC 1421 headers, which would make OpenSSL ask for a password. */
	p = strchr(pem.data, '\n');
	text_add(&t, pem.data, (size_t)(p + 1 - pem.data));
	text_str(&t, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
	             "00112233445566778899AABBCCDDEEFF\n\n");
	text_str(&t, p + 1);
	expect_parse_error(&t, "certificate 1 is not a valid certificate");
	text_finish(&t);

	text_finish(&pem);
}

static void
test_chain_empty(void **state)
{
	struct text t = {0};
	struct cert_chain chain;
	char err[256] = "";

	assert_int_equal(cert_chain_parse(NULL, 0, &chain, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: no certificate");
	assert_int_equal(cert_chain_parse("", 0, &chain, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: no certificate");
	text_str(&t, " \r\n\n\t");
	expect_parse_error(&t, "chain: no certificate");
	text_finish(&t);
	/* err may be omitted. */
	assert_int_equal(cert_chain_parse("", 0, &chain, NULL, 0), -1);
}

static void
test_chain_count(void **state)
{
	struct fixture *f = *state;
	struct cert_chain chain;
	struct text t = {0};
	char err[256] = "";
	int i;

	for (i = 0; i < CERT_MAX_CHAIN; i++) {
		text_cert(&t, f->leaf);
	}
	assert_int_equal(cert_chain_parse(t.data, t.len, &chain, err, sizeof(err)), 0);
	assert_int_equal(chain.n, CERT_MAX_CHAIN);
	cert_chain_finish(&chain);
	text_cert(&t, f->leaf);
	expect_parse_error(&t, "chain: more than 16 certificates");
	text_finish(&t);
}

static void
test_check_key(void **state)
{
	struct fixture *f = *state;
	X509 *other = make_leaf(f, f->other_key, "DNS:example.com,DNS:www.example.com");
	X509 *chain[] = {other, f->intermediate};
	char err[256] = "";

	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate key does not match the order's key");
	/* The same chain is fine for the key it was issued for. */
	assert_int_equal(check_certs(f, chain, 2, f->other_key, err, sizeof(err)), 0);
	X509_free(other);
}

static void
test_check_names(void **state)
{
	struct fixture *f = *state;
	X509 *missing = make_leaf(f, f->leaf_key, "DNS:example.com");
	X509 *extra = make_leaf(f, f->leaf_key,
	                        "DNS:example.com,DNS:www.example.com,DNS:mail.example.com");
	X509 *none = make_leaf(f, f->leaf_key, NULL);
	X509 *with_email =
	        make_leaf(f, f->leaf_key, "DNS:example.com,DNS:www.example.com,email:a@b.example");
	X509 *chain[2] = {NULL, f->intermediate};
	char err[256] = "";

	chain[0] = missing;
	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate lacks name 'www.example.com'");
	chain[0] = extra;
	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate has unrequested name 'mail.example.com'");
	chain[0] = none;
	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate lacks name 'example.com'");
	/* Only dNSName and iPAddress are identifiers. */
	chain[0] = with_email;
	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), 0);
	X509_free(with_email);
	X509_free(none);
	X509_free(extra);
	X509_free(missing);
}

static void
test_check_expired(void **state)
{
	struct fixture *f = *state;
	/* 2030-01-02 03:04:05 UTC */
	const time_t end = 1893553445;
	X509 *expired = pki_cert(f->leaf_key, "leaf", f->intermediate, f->int_key,
	                         "DNS:example.com,DNS:www.example.com", f->now - 10 * DAY,
	                         f->now - DAY, false);
	X509 *dated = pki_cert(f->leaf_key, "leaf", f->intermediate, f->int_key,
	                       "DNS:example.com,DNS:www.example.com", end - 90 * DAY, end, false);
	X509 *chain[2] = {expired, f->intermediate};
	struct cert_chain parsed;
	struct text t = {0};
	char err[256] = "";

	assert_int_equal(check_certs(f, chain, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "certificate expired on "));

	text_cert(&t, dated);
	assert_int_equal(cert_chain_parse(t.data, t.len, &parsed, err, sizeof(err)), 0);
	assert_int_equal(
	        cert_chain_check(&parsed, f->leaf_key, www_ids, 2, end - 1, err, sizeof(err)), 0);
	assert_int_equal(cert_chain_check(&parsed, f->leaf_key, www_ids, 2, end, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "certificate expired on 2030-01-02 03:04:05 UTC");
	cert_chain_finish(&parsed);
	text_finish(&t);
	X509_free(dated);
	X509_free(expired);
}

static void
test_check_order(void **state)
{
	struct fixture *f = *state;
	X509 *self = pki_cert(f->leaf_key, "leaf", NULL, f->leaf_key,
	                      "DNS:example.com,DNS:www.example.com", f->now - DAY,
	                      f->now + 90 * DAY, false);
	/* The intermediate's key under another name: the signature verifies,
	 * the names do not chain. */
	X509 *renamed = pki_cert(f->int_key, "renamed intermediate", f->root, f->root_key, NULL,
	                         f->now - DAY, f->now + 1000 * DAY, true);
	/* The intermediate's name on another key: the names chain, the
	 * signature does not verify. */
	X509 *impostor = pki_cert(f->other_key, "test intermediate", f->root, f->root_key, NULL,
	                          f->now - DAY, f->now + 1000 * DAY, true);
	X509 *signature[] = {f->leaf, impostor, f->root};
	X509 *swapped[] = {f->leaf, f->root, f->intermediate};
	X509 *unrelated[] = {f->leaf, f->intermediate, f->other_root};
	X509 *self_signed[] = {self, f->other_root};
	X509 *names[] = {f->leaf, renamed};
	X509 *inverted[] = {f->intermediate, f->leaf};
	char err[256] = "";

	assert_int_equal(check_certs(f, swapped, 3, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: certificate 1 is not signed by certificate 2");
	assert_int_equal(check_certs(f, unrelated, 3, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: certificate 2 is not signed by certificate 3");
	assert_int_equal(check_certs(f, self_signed, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: certificate 1 is not signed by certificate 2");
	assert_int_equal(check_certs(f, names, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: certificate 1 is not signed by certificate 2");
	assert_int_equal(check_certs(f, signature, 3, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "chain: certificate 1 is not signed by certificate 2");
	/* Leaf last: the first certificate is not the order's. */
	assert_int_equal(check_certs(f, inverted, 2, f->leaf_key, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate key does not match the order's key");
	X509_free(impostor);
	X509_free(renamed);
	X509_free(self);
}

static void
test_check_ip(void **state)
{
	struct fixture *f = *state;
	X509 *leaf = make_leaf(f, f->leaf_key, "IP:127.0.0.1,IP:::1,DNS:localhost");
	const struct ident ids[] = {
	        {IDENT_IP, (char *)"0:0:0:0:0:0:0:1"},
	        {IDENT_DNS, (char *)"LocalHost"},
	        {IDENT_IP, (char *)"127.0.0.1"},
	};
	const struct ident v4_only[] = {
	        {IDENT_IP, (char *)"127.0.0.1"},
	        {IDENT_DNS, (char *)"localhost"},
	};
	const struct ident wrong[] = {
	        {IDENT_IP, (char *)"::1"},
	        {IDENT_DNS, (char *)"localhost"},
	        {IDENT_IP, (char *)"127.0.0.2"},
	};
	const struct ident as_dns[] = {
	        {IDENT_DNS, (char *)"::1"},
	        {IDENT_DNS, (char *)"localhost"},
	        {IDENT_DNS, (char *)"127.0.0.1"},
	};
	struct cert_chain chain;
	struct text t = {0};
	char err[256] = "";

	text_cert(&t, leaf);
	text_cert(&t, f->intermediate);
	assert_int_equal(cert_chain_parse(t.data, t.len, &chain, err, sizeof(err)), 0);
	assert_int_equal(cert_chain_check(&chain, f->leaf_key, ids, 3, f->now, err, sizeof(err)),
	                 0);
	assert_int_equal(
	        cert_chain_check(&chain, f->leaf_key, v4_only, 2, f->now, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate has unrequested name '::1'");
	assert_int_equal(cert_chain_check(&chain, f->leaf_key, wrong, 3, f->now, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "certificate lacks name '127.0.0.2'");
	assert_int_equal(cert_chain_check(&chain, f->leaf_key, as_dns, 3, f->now, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "certificate lacks name '::1'");
	cert_chain_finish(&chain);
	text_finish(&t);
	X509_free(leaf);
}

static void
test_ids(void **state)
{
	struct fixture *f = *state;
	X509 *leaf = make_leaf(f, f->leaf_key,
	                       "DNS:a.example,email:x@a.example,IP:192.0.2.1,"
	                       "IP:2001:DB8:0:0:0:0:0:1,DNS:*.b.example");
	struct ident *ids = NULL;
	size_t n = 99;

	assert_int_equal(cert_ids(leaf, &ids, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ids[0].type, IDENT_DNS);
	assert_string_equal(ids[0].value, "a.example");
	assert_int_equal(ids[1].type, IDENT_IP);
	assert_string_equal(ids[1].value, "192.0.2.1");
	assert_int_equal(ids[2].type, IDENT_IP);
	assert_string_equal(ids[2].value, "2001:db8::1");
	assert_int_equal(ids[3].type, IDENT_DNS);
	assert_string_equal(ids[3].value, "*.b.example");
	ident_list_free(ids, n);

	/* No subjectAltName: no names. */
	assert_int_equal(cert_ids(f->root, &ids, &n), 0);
	assert_int_equal(n, 0);
	ident_list_free(ids, n);
	ident_list_free(NULL, 0);
	X509_free(leaf);
}

/* A self-signed certificate with the given AKI keyIdentifier (none when
 * NULL) and serial (hex). */
static X509 *
make_ari_cert(EVP_PKEY *key, const unsigned char *keyid, size_t keyid_len, const char *serial)
{
	AUTHORITY_KEYID *akid;
	BIGNUM *bn = NULL;
	const unsigned char *p;
	unsigned char *der = NULL;
	X509 *x = X509_new(), *copy;
	int len;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"ari", -1, -1, 0),
	                 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), DAY));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (keyid != NULL) {
		akid = AUTHORITY_KEYID_new();
		assert_non_null(akid);
		akid->keyid = ASN1_OCTET_STRING_new();
		assert_non_null(akid->keyid);
		assert_int_equal(ASN1_OCTET_STRING_set(akid->keyid, keyid, (int)keyid_len), 1);
		assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
		                                   X509V3_ADD_DEFAULT),
		                 1);
		AUTHORITY_KEYID_free(akid);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	/* As a CA would send it: decoded afresh. */
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	p = der;
	copy = d2i_X509(NULL, &p, len);
	assert_non_null(copy);
	OPENSSL_free(der);
	X509_free(x);
	return copy;
}

static void
test_ari_id(void **state)
{
	struct fixture *f = *state;
	/* RFC 9773 section 4.1. */
	static const unsigned char keyid[] = {
	        0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
	        0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4,
	};
	X509 *x;
	char *id;

	x = make_ari_cert(f->leaf_key, keyid, sizeof(keyid), "0087654321");
	id = cert_ari_id(x);
	assert_non_null(id);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	X509_free(x);

	/* High bit clear: no leading zero byte. */
	x = make_ari_cert(f->leaf_key, keyid, sizeof(keyid), "1234");
	id = cert_ari_id(x);
	assert_non_null(id);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ");
	free(id);
	X509_free(x);

	x = make_ari_cert(f->leaf_key, NULL, 0, "01");
	assert_null(cert_ari_id(x));
	X509_free(x);
	assert_null(cert_ari_id(NULL));

	/* The CA helper's certificates carry an AKI. */
	id = cert_ari_id(f->leaf);
	assert_non_null(id);
	assert_non_null(strchr(id, '.'));
	free(id);
}

static void
test_serial_hex(void **state)
{
	struct fixture *f = *state;
	X509 *x;
	char *hex;

	x = make_ari_cert(f->leaf_key, NULL, 0, "0087654321");
	hex = cert_serial_hex(x);
	assert_non_null(hex);
	assert_string_equal(hex, "87654321");
	free(hex);
	X509_free(x);

	x = make_ari_cert(f->leaf_key, NULL, 0, "0ABC");
	hex = cert_serial_hex(x);
	assert_non_null(hex);
	assert_string_equal(hex, "abc");
	free(hex);
	X509_free(x);

	x = make_ari_cert(f->leaf_key, NULL, 0, "FA4B9C3D2E1F00112233445566778899AABBCCDD");
	hex = cert_serial_hex(x);
	assert_non_null(hex);
	assert_string_equal(hex, "fa4b9c3d2e1f00112233445566778899aabbccdd");
	free(hex);
	X509_free(x);
	assert_null(cert_serial_hex(NULL));
}

static void
test_validity(void **state)
{
	struct fixture *f = *state;
	const time_t start = 1893456000, end = 1893553445;
	X509 *x = pki_cert(f->leaf_key, "leaf", f->intermediate, f->int_key, "DNS:example.com",
	                   start, end, false);
	time_t nb = 0, na = 0;

	assert_int_equal(cert_validity(x, &nb, &na), 0);
	assert_int_equal(nb, start);
	assert_int_equal(na, end);
	assert_int_equal(cert_validity(NULL, &nb, &na), -1);
	X509_free(x);
}

static void
test_load(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], err[256] = "";
	const char *tmp = getenv("TMPDIR");
	struct text t = {0};
	BIO *bio;
	FILE *fp;
	X509 *x;
	int fd;

	if (tmp == NULL || tmp[0] == '\0') {
		tmp = "/tmp";
	}
	assert_true(snprintf(path, sizeof(path), "%s/test_cert.XXXXXX", tmp) < (int)sizeof(path));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	/* A key first: the first certificate is what counts. */
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, f->leaf_key, NULL, NULL, 0, NULL, NULL), 1);
	text_bio(&t, bio);
	text_cert(&t, f->leaf);
	text_cert(&t, f->intermediate);
	assert_int_equal(fwrite(t.data, 1, t.len, fp), t.len);
	assert_int_equal(fclose(fp), 0);
	text_finish(&t);

	x = cert_load(path, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, f->leaf), 0);
	X509_free(x);

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs("not a certificate\n", fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_null(cert_load(path, err, sizeof(err)));
	assert_string_equal(err, "no PEM certificate");

	assert_int_equal(unlink(path), 0);
	assert_null(cert_load(path, err, sizeof(err)));
	assert_string_equal(err, strerror(ENOENT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_chain_good),
	        cmocka_unit_test(test_chain_short),
	        cmocka_unit_test(test_chain_issuers_shared),
	        cmocka_unit_test(test_chain_whitespace),
	        cmocka_unit_test(test_chain_other_blocks),
	        cmocka_unit_test(test_chain_garbage),
	        cmocka_unit_test(test_chain_malformed),
	        cmocka_unit_test(test_chain_empty),
	        cmocka_unit_test(test_chain_count),
	        cmocka_unit_test(test_check_key),
	        cmocka_unit_test(test_check_names),
	        cmocka_unit_test(test_check_expired),
	        cmocka_unit_test(test_check_order),
	        cmocka_unit_test(test_check_ip),
	        cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_ari_id),
	        cmocka_unit_test(test_serial_hex),
	        cmocka_unit_test(test_validity),
	        cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
