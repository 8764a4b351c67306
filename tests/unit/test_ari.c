/* renew/ari.c against a scripted CA (fake_ca.h): the renewalInfo GET, the
 * time picked in the window, Retry-After, the answers that are no window,
 * a CA without ARI, and a request whose asker went away. */
#include "renew/ari.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_ca.h"

#define ARI_BASE FAKE_CA "/renewal-info"
#define CERT_ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
#define ARI_URL ARI_BASE "/" CERT_ID
#define DAY (24 * 3600)

/* The fake's own directory, with renewalInfo or without. */
#define DIRECTORY(extra)                                                                  \
	"{\"newNonce\":\"" FAKE_CA_NONCE "\",\"newAccount\":\"" FAKE_CA_NEW_ACCOUNT "\"," \
	"\"newOrder\":\"" FAKE_CA_NEW_ORDER "\",\"revokeCert\":\"" FAKE_CA "/revoke\","   \
	"\"keyChange\":\"" FAKE_CA "/key-change\"" extra "}"

struct fixture {
	struct fake_ca ca;
	struct acme_client *client;
	char body[512]; /* the renewalInfo answer */
	/* what done saw */
	int calls;
	struct ari_answer answer;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_ca_init(&f->ca, CHALLENGE_TYPE_HTTP01);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	acme_client_destroy(f->client);
	fake_ca_finish(&f->ca);
	free(f);
	return 0;
}

/* The client of a CA whose directory is body. */
static void
connect_to(struct fixture *f, const char *body)
{
	struct fake_reply dir = {
	        .method = "GET",
	        .url = FAKE_CA_DIRECTORY,
	        .status = 200,
	        .body = body,
	};

	fake_ca_queue(&f->ca, &dir);
	f->client = fake_ca_client(&f->ca);
}

/* A new CA and no client, for a test that asks more than once. */
static void
restart(struct fixture *f)
{
	acme_client_destroy(f->client);
	f->client = NULL;
	fake_ca_finish(&f->ca);
	fake_ca_init(&f->ca, CHALLENGE_TYPE_HTTP01);
	f->calls = 0;
}

static void
connect_ari(struct fixture *f)
{
	connect_to(f, DIRECTORY(",\"renewalInfo\":\"" ARI_BASE "\""));
}

static void
on_answer(const struct ari_answer *a, void *arg)
{
	struct fixture *f = arg;

	f->calls++;
	f->answer = *a;
}

/* RFC 3339, as a CA writes it. */
static void
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}

/* Queues a window from start to end as the answer to the GET of ARI_URL;
 * returns it, for a Retry-After. */
static struct fake_reply *
queue_window(struct fixture *f, time_t start, time_t end)
{
	struct fake_reply r = {.method = "GET", .url = ARI_URL, .status = 200, .body = f->body};
	char a[32];
	char b[32];

	rfc3339(start, a, sizeof(a));
	rfc3339(end, b, sizeof(b));
	snprintf(f->body, sizeof(f->body),
	         "{\"suggestedWindow\":{\"start\":\"%s\",\"end\":\"%s\"}}", a, b);
	fake_ca_queue(&f->ca, &r);
	return &f->ca.replies[f->ca.n_replies - 1];
}

/* Asks for CERT_ID and runs the loop until the answer; between the clock
 * readings before and after. */
static void
ask(struct fixture *f, time_t *before, time_t *after)
{
	bool absent = true;
	bool done = false;
	struct ari_ask *a;

	*before = time(NULL);
	a = ari_ask(f->client, "www", CERT_ID, on_answer, f, &absent);
	assert_non_null(a);
	assert_false(absent);
	/* Never from inside the call. */
	assert_int_equal(f->calls, 0);
	while (!done) {
		ev_run(f->ca.loop, EVRUN_ONCE);
		done = f->calls > 0;
	}
	*after = time(NULL);
	assert_int_equal(f->calls, 1);
	/* One GET of <renewalInfo>/<cert id>, nothing signed. */
	assert_int_equal(fake_ca_count(&f->ca, "GET", ARI_URL), 1);
	assert_int_equal(fake_ca_count(&f->ca, "POST", ARI_URL), 0);
	assert_int_equal(f->ca.unmatched, 0);
	assert_true(f->answer.now >= *before && f->answer.now <= *after);
}

/* A window ahead: a time inside it, and the CA's Retry-After. */
static void
test_window(void **state)
{
	struct fixture *f = *state;
	time_t start = time(NULL) + 10 * DAY;
	time_t end = start + 2 * DAY;
	time_t before;
	time_t after;

	connect_ari(f);
	queue_window(f, start, end)->retry_after = "21600";
	ask(f, &before, &after);
	assert_true(f->answer.ok);
	assert_true(f->answer.when >= start && f->answer.when <= end);
	/* Absolute, by the client's clock (the fake's). */
	assert_int_equal(f->answer.retry_after, FAKE_CA_START_TIME + 21600);
}

/* The time is picked at random inside the window: many answers spread. */
static void
test_window_spread(void **state)
{
	struct fixture *f = *state;
	time_t start = time(NULL) + 10 * DAY;
	time_t end = start + 2 * DAY;
	time_t first = 0;
	bool differs = false;
	time_t before;
	time_t after;

	for (int i = 0; i < 8; i++) {
		restart(f);
		connect_ari(f);
		queue_window(f, start, end);
		ask(f, &before, &after);
		assert_true(f->answer.ok);
		assert_true(f->answer.when >= start && f->answer.when <= end);
		assert_int_equal(f->answer.retry_after, 0);
		if (i == 0) {
			first = f->answer.when;
		}
		differs = differs || f->answer.when != first;
	}
	assert_true(differs);
}

/* RFC 9773 section 4.2: a window in the past means renew now. */
static void
test_window_over(void **state)
{
	struct fixture *f = *state;
	time_t end = time(NULL) - DAY;
	time_t before;
	time_t after;

	connect_ari(f);
	queue_window(f, end - 2 * DAY, end);
	ask(f, &before, &after);
	assert_true(f->answer.ok);
	assert_int_equal(f->answer.when, f->answer.now);
}

/* A window already open: not before now. */
static void
test_window_open(void **state)
{
	struct fixture *f = *state;
	time_t now = time(NULL);
	time_t before;
	time_t after;

	connect_ari(f);
	queue_window(f, now - 30 * DAY, now + 60);
	ask(f, &before, &after);
	assert_true(f->answer.ok);
	assert_true(f->answer.when >= f->answer.now && f->answer.when <= now + 60);
}

/* The CA's problem: no window, its Retry-After kept all the same. */
static void
test_problem(void **state)
{
	struct fixture *f = *state;
	struct fake_reply r = {
	        .method = "GET",
	        .url = ARI_URL,
	        .status = 404,
	        .content_type = "application/problem+json",
	        .retry_after = "3600",
	        .body = "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"unknown "
	                "certificate\"}",
	};
	time_t before;
	time_t after;

	connect_ari(f);
	fake_ca_queue(&f->ca, &r);
	ask(f, &before, &after);
	assert_false(f->answer.ok);
	assert_int_equal(f->answer.when, 0);
	assert_int_equal(f->answer.retry_after, FAKE_CA_START_TIME + 3600);
}

/* Bodies that are no window: each answered ok false, once. */
static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	static const char *const bodies[] = {
	        "not json",
	        "{}",
	        "{\"suggestedWindow\":{\"start\":\"2030-01-02T00:00:00Z\"}}",
	        "{\"suggestedWindow\":{\"start\":\"yesterday\",\"end\":\"2030-01-02T00:00:00Z\"}}",
	        /* RFC 9773 section 4.2: an end not after the start */
	        ("{\"suggestedWindow\":{\"start\":\"2030-01-02T00:00:00Z\","
	         "\"end\":\"2030-01-01T00:00:00Z\"}}"),
	};
	time_t before;
	time_t after;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct fake_reply r = {
		        .method = "GET", .url = ARI_URL, .status = 200, .body = bodies[i]};

		restart(f);
		connect_ari(f);
		fake_ca_queue(&f->ca, &r);
		ask(f, &before, &after);
		assert_false(f->answer.ok);
		assert_int_equal(f->answer.when, 0);
		assert_int_equal(f->answer.retry_after, 0);
	}
}

/* A CA without renewalInfo: nothing asked, absent said. */
static void
test_absent(void **state)
{
	struct fixture *f = *state;
	bool absent = false;

	connect_to(f, DIRECTORY(""));
	assert_null(ari_ask(f->client, "www", CERT_ID, on_answer, f, &absent));
	assert_true(absent);
	assert_int_equal(ev_run(f->ca.loop, EVRUN_NOWAIT), 0);
	assert_int_equal(f->calls, 0);
	assert_int_equal(f->ca.n_requests, 1); /* the directory */
}

/* The asker is gone before the answer: done is not called, and the
 * request is freed when the answer comes (valgrind sees no leak). */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct ari_ask *a;
	bool absent = true;

	connect_ari(f);
	queue_window(f, time(NULL) + DAY, time(NULL) + 2 * DAY);
	a = ari_ask(f->client, "www", CERT_ID, on_answer, f, &absent);
	assert_non_null(a);
	ari_cancel(a);
	for (int i = 0; i < 100 && f->ca.deliveries != NULL; i++) {
		ev_run(f->ca.loop, EVRUN_ONCE);
	}
	assert_null(f->ca.deliveries);
	assert_int_equal(fake_ca_count(&f->ca, "GET", ARI_URL), 1);
	assert_int_equal(f->calls, 0);
	ari_cancel(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_window_spread, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_window_over, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_window_open, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_problem, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
