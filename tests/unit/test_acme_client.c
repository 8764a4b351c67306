/* acme_client.c against a loopback TLS server forked by the test
 * (tls_server.h): canned ACME responses chosen by request path. Every request
 * the server receives is appended to a shared log file, one line each, which
 * the test reads back to count requests per path and to inspect the JWS
 * bodies. The response to the k-th request (0-based) carries Replay-Nonce
 * "nonce-k". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "acme/acme_client.h"
#include "acme/acme_client_test.h"
#include "io/http_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "base/b64.h"
#include "crypto/key.h"
#include "tls_server.h"

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define KID "https://127.0.0.1/acct/1"
#define MAX_RECORDS 64
#define MAX_RESULTS 8
#define ACME_URN "urn:ietf:params:acme:error:"

static char log_path[] = "/tmp/acmed-test-aclient-log-XXXXXX";
static EVP_PKEY *account_key;

/* Server ------------------------------------------------------------------- */

/* Copies a header value or body into dst as one log field: no line breaks,
 * no spaces either when no_spaces; "-" when empty. */
static void
field(char *dst, size_t dstlen, const char *src, size_t len, bool no_spaces)
{
	size_t i;

	if (len == 0) {
		snprintf(dst, dstlen, "-");
		return;
	}
	if (len >= dstlen) {
		_exit(1);
	}
	for (i = 0; i < len; i++) {
		char ch = src[i];

		if (ch == '\r' || ch == '\n' || (no_spaces && ch == ' ')) {
			ch = '_';
		}
		dst[i] = ch;
	}
	dst[len] = '\0';
}

/* Appends "method path content-type body" to the log under a lock. Returns
 * the request's index in the log and, in *nth, how many requests for the same
 * path came before it. */
static long
log_request(const char *method, const char *path, const char *ctype, size_t ctype_len,
            const char *body, size_t body_len, long *nth)
{
	static char old[256 * 1024];
	static char line[64 * 1024];
	static char ct[256];
	static char text[60 * 1024];
	size_t have = 0;
	long index = 0;
	char *p;
	int fd;
	int n;

	*nth = 0;
	fd = open(log_path, O_RDWR | O_APPEND);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		_exit(1);
	}
	for (;;) {
		ssize_t r = pread(fd, old + have, sizeof(old) - 1 - have, (off_t)have);

		if (r < 0) {
			_exit(1);
		}
		if (r == 0) {
			break;
		}
		have += (size_t)r;
	}
	old[have] = '\0';
	for (p = old; *p != '\0';) {
		char *eol = strchr(p, '\n');
		char m[16];
		char pa[256];

		if (eol == NULL) {
			_exit(1);
		}
		*eol = '\0';
		if (sscanf(p, "%15s %255s", m, pa) == 2 && strcmp(pa, path) == 0) {
			(*nth)++;
		}
		index++;
		p = eol + 1;
	}
	field(ct, sizeof(ct), ctype, ctype_len, true);
	field(text, sizeof(text), body, body_len, false);
	n = snprintf(line, sizeof(line), "%s %s %s %s\n", method, path, ct, text);
	if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n) {
		_exit(1);
	}
	flock(fd, LOCK_UN);
	close(fd);
	return index;
}

/* One response in one write (several small TLS records would meet delayed
 * ACKs); a negative nonce sends no Replay-Nonce. */
static void
answer(SSL *ssl, bool head, int status, const char *ctype, long nonce, const char *extra,
       const char *body)
{
	char ct[128] = "";
	char rn[64] = "";

	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s\r\n", ctype);
	}
	if (nonce >= 0) {
		snprintf(rn, sizeof(rn), "Replay-Nonce: nonce-%ld\r\n", nonce);
	}
	tls_server_putf(ssl, "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n\r\n%s", status, ct, rn,
	                extra, head ? (size_t)0 : strlen(body), head ? "" : body);
}

static void
answer_directory(SSL *ssl, int port, const char *variant)
{
	char base[64];
	char new_nonce[128];
	char new_order[128];
	char body[2048];

	snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);
	snprintf(new_nonce, sizeof(new_nonce), "\"newNonce\":\"%s/%s\",", base,
	         strcmp(variant, "nononce") == 0 ? "nonce-none" : "nonce");
	if (strcmp(variant, "noorder") == 0) {
		new_order[0] = '\0';
	} else if (strcmp(variant, "foreign") == 0) {
		snprintf(new_order, sizeof(new_order),
		         "\"newOrder\":\"https://localhost:%d/order-new\",", port);
	} else {
		snprintf(new_order, sizeof(new_order), "\"newOrder\":\"%s/order-new\",", base);
	}
	snprintf(body, sizeof(body),
	         "{%s\"newAccount\":\"%s/acct-new\",%s"
	         "\"revokeCert\":\"%s/revoke\",\"keyChange\":\"%s/key-change\","
	         "\"renewalInfo\":\"%s/ari\","
	         "\"meta\":{\"termsOfService\":\"%s/tos.pdf\","
	         "\"website\":\"https://ca.example/\","
	         "\"caaIdentities\":[\"ca.example\"],"
	         "\"externalAccountRequired\":true,"
	         "\"profiles\":{\"classic\":\"90 days\"}}}",
	         new_nonce, base, new_order, base, base, base, base);
	/* No Replay-Nonce: the first POST must go through newNonce. */
	answer(ssl, false, 200, "application/json", -1, "", body);
}

static const char bad_nonce[] =
        "{\"type\":\"" ACME_URN "badNonce\",\"detail\":\"stale nonce\",\"status\":400}";

/* The server's handler: logs the request, then answers it by path, index
 * being its place in the log and nth how many requests for the same path came
 * before it. The connection stays open. */
static bool
respond(SSL *ssl, const struct tls_server_request *req)
{
	const char *path = req->path;
	int port = req->port;
	bool head = strcmp(req->method, "HEAD") == 0;
	char loc[128];
	long index;
	long nth;

	index = log_request(req->method, path, req->content_type, req->content_type_len, req->body,
	                    req->body_len, &nth);
	snprintf(loc, sizeof(loc), "Location: https://127.0.0.1:%d/order/1\r\n", port);
	if (strcmp(path, "/dir-busy") == 0 && nth == 0) {
		answer(ssl, false, 503, "text/plain", -1, "Retry-After: 1\r\n", "busy");
	} else if (strncmp(path, "/dir", 4) == 0 && strcmp(path + 4, "-html") != 0) {
		answer_directory(ssl, port, path[4] == '-' ? path + 5 : "");
	} else if (strcmp(path, "/dir-html") == 0) {
		answer(ssl, false, 200, "text/html", -1, "", "<html><body>hello</body></html>");
	} else if (strcmp(path, "/nonce") == 0) {
		answer(ssl, head, 200, NULL, index, "Cache-Control: no-store\r\n", "");
	} else if (strcmp(path, "/nonce-none") == 0) {
		answer(ssl, head, 200, NULL, -1, "Cache-Control: no-store\r\n", "");
	} else if (strcmp(path, "/ok") == 0 || (strcmp(path, "/bad2") == 0 && nth >= 2)) {
		answer(ssl, head, 200, "application/json", index, loc, "{\"status\":\"valid\"}");
	} else if (strcmp(path, "/bad2") == 0 || strcmp(path, "/badforever") == 0) {
		answer(ssl, head, 400, "application/problem+json", index, "", bad_nonce);
	} else if (strcmp(path, "/forbidden") == 0) {
		answer(ssl, head, 403, "application/problem+json", index, "",
		       "{\"type\":\"" ACME_URN "unauthorized\","
		       "\"detail\":\"account is deactivated\",\"status\":403}");
	} else if (strcmp(path, "/html500") == 0) {
		answer(ssl, head, 500, "text/html", -1, "",
		       "<html><body>Internal Server Error</body></html>");
	} else if (strcmp(path, "/busy1") == 0 && nth == 0) {
		answer(ssl, head, 503, "application/problem+json", index, "Retry-After: 1\r\n",
		       "{\"type\":\"" ACME_URN "serverInternal\",\"detail\":\"busy\"}");
	} else if (strcmp(path, "/busy1") == 0) {
		answer(ssl, head, 200, "application/json", index, "", "{\"status\":\"valid\"}");
	} else if (strcmp(path, "/busyforever") == 0) {
		answer(ssl, head, 503, "application/problem+json", index, "Retry-After: 1\r\n",
		       "{\"type\":\"" ACME_URN "serverInternal\",\"detail\":\"busy\"}");
	} else if (strcmp(path, "/ratelimited") == 0) {
		answer(ssl, head, 429, "application/problem+json", index, "Retry-After: 3600\r\n",
		       "{\"type\":\"" ACME_URN "rateLimited\",\"detail\":\"slow down\"}");
	} else if (strcmp(path, "/retry") == 0) {
		answer(ssl, head, 200, "application/json", index, "Retry-After: 120\r\n",
		       "{\"status\":\"processing\"}");
	} else {
		answer(ssl, head, 404, "text/plain", index, "", "not found");
	}
	return true;
}

/* What the server logged ------------------------------------------------- */

struct record {
	const char *method;
	const char *path;
	const char *ctype;
	const char *body; /* "-" when empty */
};

/* Client side -------------------------------------------------------------- */

struct result {
	bool called;
	int rc; /* acme_client_start's ready */
	long status;
	char *url;
	char *body;
	char *content_type;
	char *location;
	char *message;
	time_t retry_after;
	bool has_problem;
	char *problem_type;
	char *problem_detail;
	long problem_status;
};

struct ctx {
	struct ev_loop *loop;
	struct http *http;
	struct acme_client *client;
	struct tls_server srv;
	struct ev_timer guard;
	bool timed_out;
	bool in_call;
	bool sync_call;
	int want;
	int calls;
	struct result res[MAX_RESULTS];
	char *log; /* the log file's text, split into records */
	struct record rec[MAX_RECORDS];
	size_t n_rec;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
result_free(struct result *r)
{
	free(r->url);
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->message);
	free(r->problem_type);
	free(r->problem_detail);
	memset(r, 0, sizeof(*r));
}

/* Reads the server's log into c->rec. */
static void
load_records(struct ctx *c)
{
	FILE *f;
	long len;
	char *p;

	free(c->log);
	c->log = NULL;
	c->n_rec = 0;
	f = fopen(log_path, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	c->log = malloc((size_t)len + 1);
	assert_non_null(c->log);
	assert_int_equal(fread(c->log, 1, (size_t)len, f), (size_t)len);
	c->log[len] = '\0';
	fclose(f);
	for (p = c->log; *p != '\0';) {
		char *eol = strchr(p, '\n');
		struct record *r;
		char *s;

		assert_non_null(eol);
		assert_true(c->n_rec < MAX_RECORDS);
		*eol = '\0';
		r = &c->rec[c->n_rec++];
		r->method = p;
		s = strchr(p, ' ');
		assert_non_null(s);
		*s++ = '\0';
		r->path = s;
		s = strchr(s, ' ');
		assert_non_null(s);
		*s++ = '\0';
		r->ctype = s;
		s = strchr(s, ' ');
		assert_non_null(s);
		*s++ = '\0';
		r->body = s;
		p = eol + 1;
	}
}

static size_t
count(const struct ctx *c, const char *method, const char *path)
{
	size_t n = 0;
	size_t i;

	for (i = 0; i < c->n_rec; i++) {
		if (strcmp(c->rec[i].method, method) == 0 && strcmp(c->rec[i].path, path) == 0) {
			n++;
		}
	}
	return n;
}

static void
on_ready(int rc, const char *message, void *arg)
{
	struct ctx *c = arg;
	struct result *r;

	if (c->in_call) {
		c->sync_call = true;
	}
	if (c->calls >= MAX_RESULTS) {
		c->calls++;
		return;
	}
	r = &c->res[c->calls++];
	r->called = true;
	r->rc = rc;
	r->message = dup_or_null(message);
	if (c->calls == c->want) {
		ev_break(c->loop, EVBREAK_ALL);
	}
}

static void
on_reply(const struct acme_reply *reply, void *arg)
{
	struct ctx *c = arg;
	struct result *r;

	if (c->in_call) {
		c->sync_call = true;
	}
	if (c->calls >= MAX_RESULTS) {
		c->calls++;
		return;
	}
	r = &c->res[c->calls++];
	r->called = true;
	r->status = reply->status;
	r->url = dup_or_null(reply->url);
	r->body = dup_or_null(reply->body);
	r->content_type = dup_or_null(reply->content_type);
	r->location = dup_or_null(reply->location);
	r->message = dup_or_null(reply->message);
	r->retry_after = reply->retry_after;
	if (reply->problem != NULL) {
		r->has_problem = true;
		r->problem_type = dup_or_null(reply->problem->type);
		r->problem_detail = dup_or_null(reply->problem->detail);
		r->problem_status = reply->problem->status;
	}
	if (c->calls == c->want) {
		ev_break(c->loop, EVBREAK_ALL);
	}
}

static void
guard_cb(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct ctx *c = w->data;

	(void)revents;
	c->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until want callbacks came in all, or for at most limit
 * seconds. */
static void
run(struct ctx *c, int want, double limit)
{
	c->want = want;
	c->timed_out = false;
	ev_timer_set(&c->guard, limit, 0.);
	ev_timer_start(c->loop, &c->guard);
	ev_run(c->loop, 0);
	ev_timer_stop(c->loop, &c->guard);
}

static void
url_of(const struct ctx *c, const char *host, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "https://%s:%d%s", host, c->srv.port, path);
}

/* Starts a client on the directory at path; returns ready's rc. */
static int
start_client(struct ctx *c, const char *path)
{
	char url[128];
	int rc;
	int before = c->calls;

	url_of(c, "127.0.0.1", path, url, sizeof(url));
	c->client = acme_client_create(c->http, url);
	assert_non_null(c->client);
	assert_string_equal(acme_client_directory_url(c->client), url);
	assert_null(acme_client_directory(c->client));
	c->in_call = true;
	rc = acme_client_start(c->client, on_ready, c);
	c->in_call = false;
	assert_int_equal(rc, 0);
	run(c, before + 1, 10);
	assert_false(c->timed_out);
	assert_int_equal(c->calls, before + 1);
	return c->res[before].rc;
}

/* A signed POST to path on the server; waits for the reply. */
static struct result *
post_key(struct ctx *c, const char *path, EVP_PKEY *key, const char *kid, const char *payload)
{
	char url[128];
	int rc;
	int before = c->calls;

	url_of(c, "127.0.0.1", path, url, sizeof(url));
	c->in_call = true;
	rc = acme_client_post(c->client, url, key, kid, payload, on_reply, c);
	c->in_call = false;
	assert_int_equal(rc, 0);
	run(c, before + 1, 10);
	assert_false(c->timed_out);
	assert_int_equal(c->calls, before + 1);
	assert_string_equal(c->res[before].url, url);
	return &c->res[before];
}

static struct result *
post(struct ctx *c, const char *path, const char *payload)
{
	return post_key(c, path, account_key, KID, payload);
}

/* The protected header of a flattened JWS as the server received it, checked
 * for shape and signature. Returns a new reference. */
static json_t *
jws_open(const char *body, EVP_PKEY *key, char **payload)
{
	json_error_t jerr;
	json_t *jws;
	json_t *header;
	const char *prot;
	const char *pay;
	const char *sig;
	unsigned char *buf = NULL;
	unsigned char *raw = NULL;
	unsigned char *der = NULL;
	size_t len;
	size_t raw_len;
	char *input;
	ECDSA_SIG *es;
	EVP_MD_CTX *md;
	int der_len;

	jws = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(jws);
	assert_int_equal(json_object_size(jws), 3);
	prot = json_string_value(json_object_get(jws, "protected"));
	pay = json_string_value(json_object_get(jws, "payload"));
	sig = json_string_value(json_object_get(jws, "signature"));
	assert_non_null(prot);
	assert_non_null(pay);
	assert_non_null(sig);

	assert_int_equal(b64_decode(prot, strlen(prot), &buf, &len), 0);
	header = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(header);
	free(buf);
	assert_int_equal(b64_decode(pay, strlen(pay), &buf, &len), 0);
	*payload = (char *)buf;

	/* ES256 (RFC 7518 section 3.4): R || S over "protected.payload". */
	assert_int_equal(b64_decode(sig, strlen(sig), &raw, &raw_len), 0);
	assert_int_equal(raw_len, 64);
	es = ECDSA_SIG_new();
	assert_non_null(es);
	assert_int_equal(
	        ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL)), 1);
	der_len = i2d_ECDSA_SIG(es, &der);
	assert_true(der_len > 0);
	assert_true(asprintf(&input, "%s.%s", prot, pay) > 0);
	md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(
	        EVP_DigestVerify(md, der, (size_t)der_len, (unsigned char *)input, strlen(input)),
	        1);
	EVP_MD_CTX_free(md);
	free(input);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	free(raw);
	json_decref(jws);
	return header;
}

/* The nonce in the protected header of POST record i. New string. */
static char *
record_nonce(const struct ctx *c, size_t i)
{
	json_t *header;
	char *payload;
	char *nonce;

	assert_true(i < c->n_rec);
	assert_string_equal(c->rec[i].method, "POST");
	header = jws_open(c->rec[i].body, account_key, &payload);
	nonce = dup_or_null(json_string_value(json_object_get(header, "nonce")));
	assert_non_null(nonce);
	free(payload);
	json_decref(header);
	return nonce;
}

static void
assert_nonce(const struct ctx *c, size_t i, long issued_by)
{
	char want[32];
	char *got = record_nonce(c, i);

	snprintf(want, sizeof(want), "nonce-%ld", issued_by);
	assert_string_equal(got, want);
	free(got);
}

/* The current test's context; also keeps it reachable in server children. */
static struct ctx *current;

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct http_options opts;

	if (c == NULL || truncate(log_path, 0) < 0) {
		free(c);
		return -1;
	}
	c->loop = ev_default_loop(EVFLAG_AUTO);
	ev_init(&c->guard, guard_cb);
	c->guard.data = c;
	current = c;
	tls_server_start(&c->srv, respond);
	memset(&opts, 0, sizeof(opts));
	opts.ca_file = tls_server_ca_file();
	c->http = http_create(c->loop, &opts);
	if (c->http == NULL) {
		tls_server_stop(&c->srv);
		free(c);
		current = NULL;
		return -1;
	}
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	size_t i;

	http_destroy(c->http);
	acme_client_destroy(c->client);
	tls_server_stop(&c->srv);
	for (i = 0; i < MAX_RESULTS; i++) {
		result_free(&c->res[i]);
	}
	free(c->log);
	/* Whatever the test, no callback ran inside an acme_client call. */
	assert_false(c->sync_call);
	assert_ptr_equal(c, current);
	free(c);
	current = NULL;
	return 0;
}

/* Tests -------------------------------------------------------------------- */

static void
test_directory(void **state)
{
	struct ctx *c = *state;
	const struct acme_directory *d;
	char url[128];

	assert_int_equal(start_client(c, "/dir"), 0);
	assert_string_equal(c->res[0].message, "");
	d = acme_client_directory(c->client);
	assert_non_null(d);
	url_of(c, "127.0.0.1", "/nonce", url, sizeof(url));
	assert_string_equal(d->new_nonce, url);
	url_of(c, "127.0.0.1", "/acct-new", url, sizeof(url));
	assert_string_equal(d->new_account, url);
	url_of(c, "127.0.0.1", "/order-new", url, sizeof(url));
	assert_string_equal(d->new_order, url);
	url_of(c, "127.0.0.1", "/revoke", url, sizeof(url));
	assert_string_equal(d->revoke_cert, url);
	url_of(c, "127.0.0.1", "/key-change", url, sizeof(url));
	assert_string_equal(d->key_change, url);
	url_of(c, "127.0.0.1", "/ari", url, sizeof(url));
	assert_string_equal(d->renewal_info, url);
	url_of(c, "127.0.0.1", "/tos.pdf", url, sizeof(url));
	assert_string_equal(d->terms_of_service, url);
	assert_string_equal(d->website, "https://ca.example/");
	assert_true(d->external_account_required);
	assert_int_equal(d->n_caa_identities, 1);
	assert_string_equal(d->caa_identities[0], "ca.example");
	assert_int_equal(d->n_profiles, 1);
	assert_string_equal(d->profiles[0], "classic");
	/* The directory carried no Replay-Nonce. */
	assert_int_equal(acme_client_nonces(c->client), 0);
	load_records(c);
	assert_int_equal(c->n_rec, 1);
	assert_int_equal(count(c, "GET", "/dir"), 1);
}

static void
test_directory_missing_new_order(void **state)
{
	struct ctx *c = *state;
	char want[256];

	assert_int_equal(start_client(c, "/dir-noorder"), -1);
	assert_null(acme_client_directory(c->client));
	snprintf(want, sizeof(want),
	         "https://127.0.0.1:%d/dir-noorder: not an ACME directory: ", c->srv.port);
	assert_true(strncmp(c->res[0].message, want, strlen(want)) == 0);
	assert_non_null(strstr(c->res[0].message, "newOrder"));
}

static void
test_directory_not_json(void **state)
{
	struct ctx *c = *state;
	char want[256];

	assert_int_equal(start_client(c, "/dir-html"), -1);
	assert_null(acme_client_directory(c->client));
	snprintf(want, sizeof(want),
	         "https://127.0.0.1:%d/dir-html: not an ACME directory: ", c->srv.port);
	assert_true(strncmp(c->res[0].message, want, strlen(want)) == 0);
}

/* A directory sending newOrder to another host is refused as a whole. */
static void
test_directory_foreign_host(void **state)
{
	struct ctx *c = *state;
	char url[128];

	assert_int_equal(start_client(c, "/dir-foreign"), -1);
	assert_null(acme_client_directory(c->client));
	assert_non_null(strstr(c->res[0].message, "the directory points to another host"));
	url_of(c, "localhost", "/order-new", url, sizeof(url));
	assert_non_null(strstr(c->res[0].message, url));
	/* And nothing can be posted without a directory. */
	url_of(c, "127.0.0.1", "/ok", url, sizeof(url));
	assert_int_equal(acme_client_post(c->client, url, account_key, KID, NULL, on_reply, c), -1);
}

static void
test_first_post_fetches_nonce(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	char url[128];

	assert_int_equal(start_client(c, "/dir"), 0);
	r = post(c, "/ok", "{}");
	assert_int_equal(r->status, 200);
	assert_false(r->has_problem);
	assert_string_equal(r->message, "");
	assert_string_equal(r->body, "{\"status\":\"valid\"}");
	assert_string_equal(r->content_type, "application/json");
	url_of(c, "127.0.0.1", "/order/1", url, sizeof(url));
	assert_string_equal(r->location, url);
	assert_int_equal(r->retry_after, 0);
	/* The nonce of the POST's response waits in the pool. */
	assert_int_equal(acme_client_nonces(c->client), 1);
	load_records(c);
	assert_int_equal(c->n_rec, 3);
	assert_string_equal(c->rec[1].method, "HEAD");
	assert_string_equal(c->rec[1].path, "/nonce");
	assert_string_equal(c->rec[2].method, "POST");
	assert_string_equal(c->rec[2].path, "/ok");
	assert_string_equal(c->rec[2].ctype, "application/jose+json");
	assert_nonce(c, 2, 1);
}

static void
test_next_post_reuses_nonce(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start_client(c, "/dir"), 0);
	assert_int_equal(post(c, "/ok", "{}")->status, 200);
	assert_int_equal(post(c, "/ok", NULL)->status, 200);
	load_records(c);
	assert_int_equal(count(c, "HEAD", "/nonce"), 1);
	assert_int_equal(count(c, "POST", "/ok"), 2);
	assert_int_equal(c->n_rec, 4);
	assert_nonce(c, 2, 1);
	/* The second POST's nonce came with the first POST's response. */
	assert_nonce(c, 3, 2);
	assert_int_equal(acme_client_nonces(c->client), 1);
}

/* Unsigned GETs and error responses feed the pool too; each nonce is used
 * once. */
static void
test_pool_fed_by_every_response(void **state)
{
	struct ctx *c = *state;
	char url[128];
	char *first;
	char *second;
	int i;

	assert_int_equal(start_client(c, "/dir"), 0);
	url_of(c, "127.0.0.1", "/ok", url, sizeof(url));
	for (i = 1; i <= 2; i++) {
		int rc;

		c->in_call = true;
		rc = acme_client_get(c->client, url, on_reply, c);
		c->in_call = false;
		assert_int_equal(rc, 0);
		run(c, i + 1, 10);
		assert_int_equal(c->calls, i + 1);
		assert_int_equal(c->res[i].status, 200);
		assert_int_equal(acme_client_nonces(c->client), (size_t)i);
	}
	assert_int_equal(post(c, "/forbidden", NULL)->status, 403);
	assert_int_equal(acme_client_nonces(c->client), 2);
	assert_int_equal(post(c, "/ok", NULL)->status, 200);
	assert_int_equal(acme_client_nonces(c->client), 2);
	load_records(c);
	assert_int_equal(c->n_rec, 5);
	assert_int_equal(count(c, "HEAD", "/nonce"), 0);
	assert_int_equal(count(c, "GET", "/ok"), 2);
	/* Both from the pool (nonce-1, nonce-2 from the GETs, nonce-3 from the
	 * 403), never the same one twice. */
	first = record_nonce(c, 3);
	second = record_nonce(c, 4);
	assert_true(strcmp(first, "nonce-1") == 0 || strcmp(first, "nonce-2") == 0);
	assert_true(strcmp(second, "nonce-1") == 0 || strcmp(second, "nonce-2") == 0 ||
	            strcmp(second, "nonce-3") == 0);
	assert_string_not_equal(first, second);
	free(first);
	free(second);
}

static void
test_bad_nonce_twice(void **state)
{
	struct ctx *c = *state;
	struct result *r;

	assert_int_equal(start_client(c, "/dir"), 0);
	r = post(c, "/bad2", "{}");
	assert_int_equal(r->status, 200);
	assert_false(r->has_problem);
	assert_string_equal(r->message, "");
	assert_string_equal(r->body, "{\"status\":\"valid\"}");
	load_records(c);
	assert_int_equal(count(c, "HEAD", "/nonce"), 1);
	assert_int_equal(count(c, "POST", "/bad2"), 3);
	assert_int_equal(c->n_rec, 5);
	/* RFC 8555 section 6.5: each retry carries the nonce of the error. */
	assert_nonce(c, 2, 1);
	assert_nonce(c, 3, 2);
	assert_nonce(c, 4, 3);
}

static void
test_bad_nonce_forever(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	char want[256];
	size_t i;

	assert_int_equal(start_client(c, "/dir"), 0);
	r = post(c, "/badforever", "{}");
	assert_int_equal(r->status, 400);
	assert_true(r->has_problem);
	assert_string_equal(r->problem_type, ACME_URN "badNonce");
	assert_int_equal(r->problem_status, 400);
	snprintf(want, sizeof(want), "https://127.0.0.1:%d/badforever: 400: badNonce: stale nonce",
	         c->srv.port);
	assert_string_equal(r->message, want);
	load_records(c);
	assert_int_equal(count(c, "HEAD", "/nonce"), 1);
	assert_int_equal(count(c, "POST", "/badforever"), ACME_CLIENT_MAX_BAD_NONCE + 1);
	assert_int_equal(c->n_rec, 2 + ACME_CLIENT_MAX_BAD_NONCE + 1);
	for (i = 2; i < c->n_rec; i++) {
		assert_nonce(c, i, (long)i - 1);
	}
	/* The last error's nonce is kept for the next request. */
	assert_int_equal(acme_client_nonces(c->client), 1);
}

static void
test_problem_403(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	char want[256];

	assert_int_equal(start_client(c, "/dir"), 0);
	r = post(c, "/forbidden", "{}");
	assert_int_equal(r->status, 403);
	assert_true(r->has_problem);
	assert_string_equal(r->problem_type, ACME_URN "unauthorized");
	assert_string_equal(r->problem_detail, "account is deactivated");
	assert_int_equal(r->problem_status, 403);
	assert_string_equal(r->content_type, "application/problem+json");
	assert_int_equal(r->retry_after, 0);
	snprintf(want, sizeof(want),
	         "https://127.0.0.1:%d/forbidden: 403: unauthorized: account is deactivated",
	         c->srv.port);
	assert_string_equal(r->message, want);
	load_records(c);
	/* Not a badNonce: sent once. */
	assert_int_equal(count(c, "POST", "/forbidden"), 1);
}

static void
test_html_500(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	char want[256];

	time_t before;

	assert_int_equal(start_client(c, "/dir"), 0);
	before = time(NULL);
	r = post(c, "/html500", NULL);
	assert_int_equal(r->status, 500);
	assert_true(r->has_problem);
	assert_null(r->problem_type);
	assert_int_equal(r->problem_status, 500);
	assert_non_null(r->problem_detail);
	assert_non_null(strstr(r->problem_detail, "text/html"));
	snprintf(want, sizeof(want), "https://127.0.0.1:%d/html500: 500: ", c->srv.port);
	assert_true(strncmp(r->message, want, strlen(want)) == 0);
	assert_non_null(strstr(r->message, r->problem_detail));
	assert_string_equal(r->body, "<html><body>Internal Server Error</body></html>");
	/* No Replay-Nonce came back, and the ones used are spent. */
	assert_int_equal(acme_client_nonces(c->client), 0);
	/* A 500 is tried ACME_CLIENT_TRIES times, 1 s then 2 s apart. */
	assert_true(time(NULL) - before >= 3);
	load_records(c);
	assert_int_equal(count(c, "POST", "/html500"), ACME_CLIENT_TRIES);
	/* Each attempt signed with a fresh nonce from newNonce. */
	assert_int_equal(count(c, "HEAD", "/nonce"), ACME_CLIENT_TRIES);
}

/* 503 with Retry-After: 1, then 200: waited for, and a success. */
static void
test_busy_once(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	time_t before;

	assert_int_equal(start_client(c, "/dir"), 0);
	before = time(NULL);
	r = post(c, "/busy1", "{}");
	assert_int_equal(r->status, 200);
	assert_false(r->has_problem);
	assert_string_equal(r->message, "");
	assert_true(time(NULL) - before >= 1);
	load_records(c);
	assert_int_equal(count(c, "POST", "/busy1"), 2);
	/* The second attempt used the nonce the 503 carried. */
	assert_nonce(c, 3, 2);
}

/* 503 forever: ACME_CLIENT_TRIES attempts, then the CA's problem. */
static void
test_busy_forever(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	char want[256];

	assert_int_equal(start_client(c, "/dir"), 0);
	r = post(c, "/busyforever", NULL);
	assert_int_equal(r->status, 503);
	assert_true(r->has_problem);
	assert_string_equal(r->problem_type, ACME_URN "serverInternal");
	snprintf(want, sizeof(want),
	         "https://127.0.0.1:%d/busyforever: 503: serverInternal: busy (the CA asks to "
	         "retry after ",
	         c->srv.port);
	assert_true(strncmp(r->message, want, strlen(want)) == 0);
	load_records(c);
	assert_int_equal(count(c, "POST", "/busyforever"), ACME_CLIENT_TRIES);
}

/* 429 with an hour's Retry-After: not waited for; the reply says when. */
static void
test_rate_limited(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	time_t before;
	struct tm tm;
	char stamp[32];
	char want[256];

	assert_int_equal(start_client(c, "/dir"), 0);
	before = time(NULL);
	r = post(c, "/ratelimited", "{}");
	assert_int_equal(r->status, 429);
	assert_true(r->has_problem);
	assert_string_equal(r->problem_type, ACME_URN "rateLimited");
	assert_true(r->retry_after >= before + 3600);
	assert_true(r->retry_after <= time(NULL) + 3600);
	assert_non_null(gmtime_r(&r->retry_after, &tm));
	assert_true(strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
	snprintf(want, sizeof(want),
	         "https://127.0.0.1:%d/ratelimited: 429: rateLimited: slow down (the CA asks to "
	         "retry after %s)",
	         c->srv.port, stamp);
	assert_string_equal(r->message, want);
	assert_true(time(NULL) - before < 2);
	load_records(c);
	assert_int_equal(count(c, "POST", "/ratelimited"), 1);
}

/* A directory answering 503 once with Retry-After: 1 is fetched again. */
static void
test_directory_busy(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start_client(c, "/dir-busy"), 0);
	assert_non_null(acme_client_directory(c->client));
	load_records(c);
	assert_int_equal(count(c, "GET", "/dir-busy"), 2);
}

static void
test_retry_after(void **state)
{
	struct ctx *c = *state;
	struct result *r;
	time_t before;
	time_t after;

	assert_int_equal(start_client(c, "/dir"), 0);
	before = time(NULL);
	r = post(c, "/retry", NULL);
	after = time(NULL);
	assert_int_equal(r->status, 200);
	assert_false(r->has_problem);
	assert_true(r->retry_after >= before + 120);
	assert_true(r->retry_after <= after + 120);
}

/* Another host name for the same server: refused before anything is sent. */
static void
test_other_host_refused(void **state)
{
	struct ctx *c = *state;
	char url[128];

	assert_int_equal(start_client(c, "/dir"), 0);
	url_of(c, "localhost", "/x", url, sizeof(url));
	assert_int_equal(acme_client_post(c->client, url, account_key, KID, "{}", on_reply, c), -1);
	assert_int_equal(acme_client_get(c->client, url, on_reply, c), -1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d@localhost:%d/x", c->srv.port, c->srv.port);
	assert_int_equal(acme_client_post(c->client, url, account_key, KID, "{}", on_reply, c), -1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d.localhost/x", c->srv.port);
	assert_int_equal(acme_client_post(c->client, url, account_key, KID, "{}", on_reply, c), -1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", c->srv.port);
	assert_int_equal(acme_client_post(c->client, url, account_key, KID, "{}", on_reply, c), -1);
	assert_int_equal(http_pending(c->http), 0);
	run(c, 2, 0.3);
	assert_int_equal(c->calls, 1);
	load_records(c);
	assert_int_equal(c->n_rec, 1);
	assert_int_equal(count(c, "HEAD", "/nonce"), 0);
}

static void
test_jws_body(void **state)
{
	struct ctx *c = *state;
	json_t *header;
	json_t *jwk;
	char *payload;
	char url[128];

	assert_int_equal(start_client(c, "/dir"), 0);
	url_of(c, "127.0.0.1", "/ok", url, sizeof(url));
	/* By kid, with a payload. */
	assert_int_equal(post(c, "/ok", "{\"termsOfServiceAgreed\":true}")->status, 200);
	/* By jwk, POST-as-GET. */
	assert_int_equal(post_key(c, "/ok", account_key, NULL, NULL)->status, 200);
	load_records(c);
	assert_int_equal(c->n_rec, 4);
	assert_string_equal(c->rec[2].ctype, "application/jose+json");
	assert_string_equal(c->rec[3].ctype, "application/jose+json");

	header = jws_open(c->rec[2].body, account_key, &payload);
	assert_string_equal(payload, "{\"termsOfServiceAgreed\":true}");
	free(payload);
	assert_int_equal(json_object_size(header), 4);
	assert_string_equal(json_string_value(json_object_get(header, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(header, "kid")), KID);
	assert_null(json_object_get(header, "jwk"));
	assert_string_equal(json_string_value(json_object_get(header, "nonce")), "nonce-1");
	assert_string_equal(json_string_value(json_object_get(header, "url")), url);
	json_decref(header);

	header = jws_open(c->rec[3].body, account_key, &payload);
	assert_string_equal(payload, "");
	free(payload);
	assert_int_equal(json_object_size(header), 4);
	assert_string_equal(json_string_value(json_object_get(header, "alg")), "ES256");
	assert_null(json_object_get(header, "kid"));
	jwk = json_object_get(header, "jwk");
	assert_true(json_is_object(jwk));
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_null(json_object_get(jwk, "d"));
	assert_string_equal(json_string_value(json_object_get(header, "nonce")), "nonce-2");
	assert_string_equal(json_string_value(json_object_get(header, "url")), url);
	json_decref(header);
}

/* newNonce answering without a usable Replay-Nonce fails the request. */
static void
test_new_nonce_without_nonce(void **state)
{
	struct ctx *c = *state;
	struct result *r;

	assert_int_equal(start_client(c, "/dir-nononce"), 0);
	r = post(c, "/ok", "{}");
	assert_int_equal(r->status, 0);
	assert_true(r->has_problem);
	assert_non_null(strstr(r->message, "newNonce: 200: no usable Replay-Nonce header"));
	load_records(c);
	assert_int_equal(count(c, "HEAD", "/nonce-none"), 1);
	assert_int_equal(count(c, "POST", "/ok"), 0);
}

/* A key jws_sign cannot use, with the pool empty: newNonce, then done is
 * called with the failure. */
static void
test_unsignable_key_empty_pool(void **state)
{
	struct ctx *c = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct result *r;

	assert_non_null(ed);
	assert_int_equal(start_client(c, "/dir"), 0);
	r = post_key(c, "/ok", ed, KID, "{}");
	EVP_PKEY_free(ed);
	assert_int_equal(r->status, 0);
	assert_true(r->has_problem);
	load_records(c);
	assert_int_equal(count(c, "POST", "/ok"), 0);
}

/* The same with a nonce in the pool: the contract is still "returns -1, or
 * done is called exactly once". */
static void
test_unsignable_key_pooled_nonce(void **state)
{
	struct ctx *c = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char url[128];
	int rc;

	assert_non_null(ed);
	assert_int_equal(start_client(c, "/dir"), 0);
	assert_int_equal(post(c, "/ok", "{}")->status, 200);
	assert_int_equal(acme_client_nonces(c->client), 1);
	url_of(c, "127.0.0.1", "/ok", url, sizeof(url));
	c->in_call = true;
	rc = acme_client_post(c->client, url, ed, KID, "{}", on_reply, c);
	c->in_call = false;
	run(c, 3, 1.0);
	EVP_PKEY_free(ed);
	if (rc == 0) {
		if (c->calls != 3) {
			fail_msg("acme_client_post returned 0 but done was never called");
		}
		assert_int_equal(c->res[2].status, 0);
		assert_true(c->res[2].has_problem);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(c->calls, 2);
	}
	load_records(c);
	assert_int_equal(count(c, "POST", "/ok"), 1);
}

static void
test_null_safe(void **state)
{
	(void)state;
	acme_client_destroy(NULL);
}

static int
group_setup(void **state)
{
	int fd;

	(void)state;
	fd = mkstemp(log_path);
	if (fd < 0) {
		return -1;
	}
	close(fd);
	account_key = key_generate(KEY_TYPE_EC_P256);
	if (account_key == NULL) {
		return -1;
	}
	return tls_server_init();
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(account_key);
	tls_server_finish();
	unlink(log_path);
	ev_loop_destroy(ev_default_loop(0));
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_null_safe),
	        cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_missing_new_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_not_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_foreign_host, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_busy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_busy_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_busy_forever, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_first_post_fetches_nonce, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_next_post_reuses_nonce, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pool_fed_by_every_response, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_nonce_twice, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_nonce_forever, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_problem_403, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_html_500, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_host_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_jws_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_new_nonce_without_nonce, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unsignable_key_empty_pool, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unsignable_key_pooled_nonce, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
