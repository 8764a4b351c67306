#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "renew/policy.h"

#define DAY 86400L
#define NOW 2000000000L

static void
test_backoff_bounds(void **state)
{
	/* First failure: exactly the minimum. */
	assert_int_equal(policy_backoff(1, 0.0), 60);
	assert_int_equal(policy_backoff(1, 0.999), 60);
	/* Grows: the cap doubles per failure (full jitter inside it). */
	assert_int_equal(policy_backoff(2, 0.0), 60);
	assert_int_equal(policy_backoff(2, 0.5), 90);
	assert_int_equal(policy_backoff(3, 0.5), 150);
	assert_true(policy_backoff(5, 0.999) <= 960);
	assert_true(policy_backoff(5, 0.999) > 900);
	/* Capped at a day however many failures. */
	assert_true(policy_backoff(30, 0.999) <= 24 * 3600);
	assert_true(policy_backoff(30, 0.999) > 23 * 3600);
	assert_true(policy_backoff(1000000, 0.999) <= 24 * 3600);
	/* Out-of-range randomness is treated as 0. */
	assert_int_equal(policy_backoff(10, 1.5), 60);
	assert_int_equal(policy_backoff(10, -1), 60);
}

static void
test_renewal_time(void **state)
{
	time_t nb = 1000000;

	/* 90 days: a third left. */
	assert_int_equal(policy_renewal_time(nb, nb + 90 * 86400, 0), nb + 60 * 86400);
	/* Under 10 days: half left. */
	assert_int_equal(policy_renewal_time(nb, nb + 40, 0), nb + 20);
	assert_int_equal(policy_renewal_time(nb, nb + 6 * 86400, 0), nb + 3 * 86400);
	/* renew-before wins. */
	assert_int_equal(policy_renewal_time(nb, nb + 90 * 86400, 30 * 86400), nb + 60 * 86400);
	assert_int_equal(policy_renewal_time(nb, nb + 90 * 86400, 7 * 86400), nb + 83 * 86400);
	/* renew-before longer than the lifetime: the usual rule, not a storm. */
	assert_int_equal(policy_renewal_time(nb, nb + 40, 3600), nb + 20);
	assert_int_equal(policy_renewal_time(nb, nb + 40, 40), nb + 20);
	/* A certificate with a nonsense lifetime is due at its end. */
	assert_int_equal(policy_renewal_time(nb, nb - 5, 0), nb - 5);
}

static void
test_ari_time(void **state)
{
	time_t now = 1000000;

	/* A window in the past: at once. */
	assert_int_equal(policy_ari_time(now - 200, now - 100, now, 0.5), now);
	/* A window years away: inside it. */
	assert_int_equal(policy_ari_time(now + 100000000, now + 100086400, now, 0.5),
	                 now + 100043200);
	/* A window that began: never before now. */
	assert_int_equal(policy_ari_time(now - 100, now + 100, now, 0.0), now);
	assert_int_equal(policy_ari_time(now - 100, now + 100, now, 0.75), now + 50);
}

static void
test_ari_next(void **state)
{
	assert_int_equal(policy_ari_next(NOW, 0), NOW + 6 * 3600);
	assert_int_equal(policy_ari_next(NOW, NOW + 5), NOW + 60);
	assert_int_equal(policy_ari_next(NOW, NOW + 7200), NOW + 7200);
	assert_int_equal(policy_ari_next(NOW, NOW + 30 * DAY), NOW + DAY);
}

/* One installed certificate for example.com and www.example.com, issued at
 * nb for lifetime seconds, and the state acmed recorded about it. */
struct fixture {
	struct ident ids[2];
	struct store_cert_info info;
	struct state st;
	struct policy_input in;
	struct policy_decision d;
};

static void
fixture_init(struct fixture *f, time_t nb, long lifetime)
{
	memset(f, 0, sizeof(*f));
	f->ids[0].type = IDENT_DNS;
	f->ids[0].value = (char *)"example.com";
	f->ids[1].type = IDENT_DNS;
	f->ids[1].value = (char *)"www.example.com";
	f->info.present = true;
	f->info.not_before = nb;
	f->info.not_after = nb + lifetime;
	f->info.ids = f->ids;
	f->info.n_ids = 2;
	f->info.version = 1;
	f->st.last_success = nb;
	f->in.installed = &f->info;
	f->in.state = &f->st;
	f->in.want = f->ids;
	f->in.n_want = 2;
	f->in.ca = "https://ca.example/dir";
	f->in.now = NOW;
}

static void
decide(struct fixture *f)
{
	policy_decide(&f->in, &f->d);
}

static void
test_not_due_then_due(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - 10 * DAY, 90 * DAY);
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_NOT_DUE);
	assert_int_equal(f.d.when, NOW + 50 * DAY);
	assert_non_null(strstr(f.d.why, "valid until"));
	fixture_init(&f, NOW - 61 * DAY, 90 * DAY);
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_DUE);
	assert_int_equal(f.d.when, NOW);
}

static void
test_missing_and_broken(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - DAY, 90 * DAY);
	f.info.present = false;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_MISSING);
	/* A broken set is repaired at once, however fresh: no floor. */
	fixture_init(&f, NOW - 60, 90 * DAY);
	f.st.last_success = NOW - 60;
	strcpy(f.info.problem, "privkey.pem: missing");
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_BROKEN);
	assert_non_null(strstr(f.d.why, "privkey.pem: missing"));
	/* ... but a backoff after failures still holds it. */
	f.st.attempts = 2;
	f.st.next_try = NOW + 300;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_BACKOFF);
	assert_int_equal(f.d.when, NOW + 300);
	assert_non_null(strstr(f.d.why, "privkey.pem"));
	assert_non_null(strstr(f.d.why, "--force"));
}

static void
test_names_and_ca(void **state)
{
	struct fixture f;
	struct ident want[1] = {{IDENT_DNS, (char *)"EXAMPLE.com"}};
	struct ident same[2] = {{IDENT_DNS, (char *)"WWW.example.com"},
	                        {IDENT_DNS, (char *)"example.COM"}};

	fixture_init(&f, NOW - DAY, 90 * DAY);
	f.in.want = same;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	f.in.want = want;
	f.in.n_want = 1;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_NAMES);
	assert_non_null(strstr(f.d.why, "drops www.example.com"));
	fixture_init(&f, NOW - DAY, 90 * DAY);
	f.st.ca = (char *)"https://staging.example/dir";
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_OTHER_CA);
	/* Issued by a CA of the failover list: kept until due. */
	f.in.ca_list = "https://ca.example/dir https://staging.example/dir";
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	f.in.ca_list = "https://ca.example/dir https://other.example/dir";
	decide(&f);
	assert_int_equal(f.d.reason, POLICY_OTHER_CA);
	f.in.ca_list = NULL;
	/* Unknown (never recorded): not a reason. */
	f.st.ca = NULL;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
}

static void
test_backoff_and_force(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - 80 * DAY, 90 * DAY);
	f.st.attempts = 3;
	f.st.next_try = NOW + 3600;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_BACKOFF);
	assert_int_equal(f.d.when, NOW + 3600);
	f.in.force = true;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_FORCED);
	assert_non_null(strstr(f.d.why, "over the backoff"));
	/* A backoff that ran out holds nothing. */
	f.in.force = false;
	f.st.next_try = NOW - 1;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
}

/* --force on a certificate never issued: its first order, said so, not
 * "renewing" (operator trial of #18). */
static void
test_force_first_order(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, NOW - 80 * DAY, 90 * DAY);
	f.info.present = false;
	f.in.force = true;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_MISSING);
	assert_int_equal(f.d.when, NOW);
	assert_string_equal(f.d.why, "no certificate installed: first order");
	assert_null(strstr(f.d.why, "renewing"));
	f.st.attempts = 2;
	f.st.next_try = NOW + 600;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_string_equal(f.d.why,
	                    "no certificate installed: first order (--force), over the backoff "
	                    "after failures");
}

/* A first order stopped (a signal) left its URL in state.json: the row
 * says it is taken on, not that nothing began (operator trial of #18). */
static void
test_order_begun(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, NOW - 80 * DAY, 90 * DAY);
	f.info.present = false;
	f.st.order_url = (char *)"https://ca.test/order/1";
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.when, NOW);
	assert_string_equal(f.d.why, "no certificate installed (an order was begun at the CA: "
	                             "the next run takes it on, placing no other)");
	f.in.force = true;
	decide(&f);
	assert_string_equal(f.d.why,
	                    "no certificate installed: the order begun at the CA is taken on");
	/* A valid one whose forced renewal was stopped: not due, said so. */
	fixture_init(&f, NOW - DAY, 90 * DAY);
	f.st.order_url = (char *)"https://ca.test/order/2";
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_non_null(strstr(f.d.why, "an order begun was stopped (`acmed renew --force NAME` "
	                                "takes it on now); valid until "));
	f.st.order_url = NULL;
	decide(&f);
	assert_null(strstr(f.d.why, "order begun"));
}

/* A host clock 40 minutes ahead with 1-hour certificates: due the moment it
 * is installed; the floor makes it wait, never loop. */
/* A retry time further away than any backoff was recorded with a clock far
 * ahead: it must not hold a due certificate past its expiry. */
static void
test_retry_from_a_clock_ahead(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, NOW - 61 * DAY, 90 * DAY);
	f.st.attempts = 1;
	f.st.next_try = NOW + 365 * DAY;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_DUE);
	/* Within the longest backoff it holds. */
	f.st.next_try = NOW + POLICY_BACKOFF_MAX;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_BACKOFF);
	/* The same for a deploy hook's retry. */
	fixture_init(&f, NOW - 10 * DAY, 90 * DAY);
	f.in.deploy_hook = true;
	f.st.deploy_pending = true;
	f.st.deploy_attempts = 1;
	f.st.deploy_next_try = NOW + 365 * DAY;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_DEPLOY);
	/* Owed to a hook another configuration sets, none here: not this
	 * configuration's to run (it would fail for want of a command). */
	f.in.deploy_hook = false;
	decide(&f);
	assert_int_not_equal(f.d.action, POLICY_DEPLOY);
}

static void
test_clock_ahead_floor(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - 40 * 60, 3600);
	f.st.last_success = NOW;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_true(f.d.skewed);
	assert_int_equal(f.d.when, NOW + 900);
	/* Days ahead with 6-day certificates: an hour at most. */
	fixture_init(&f, NOW - 4 * DAY, 6 * DAY);
	f.st.last_success = NOW;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.when, NOW + POLICY_FLOOR_MAX);
	/* --force is not held by the floor. */
	f.in.force = true;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
}

static void
test_ari_window(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - 10 * DAY, 90 * DAY);
	f.in.ari_when = NOW - 5;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_ORDER);
	assert_int_equal(f.d.reason, POLICY_ARI);
	/* A window past expiry is ignored. */
	f.in.ari_when = NOW + 100 * DAY;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.when, NOW + 50 * DAY);
	/* A CA asking to renew what was just issued: the floor holds. */
	fixture_init(&f, NOW - 60, 90 * DAY);
	f.st.last_success = NOW - 60;
	f.in.ari_when = NOW - 1;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.when, NOW - 60 + POLICY_FLOOR_MAX);
}

static void
test_deploy_retry(void **state)
{
	struct fixture f;

	fixture_init(&f, NOW - DAY, 90 * DAY);
	f.in.deploy_hook = true;
	f.st.version = f.info.version; /* the set recorded is the one installed */
	assert_int_equal(policy_record_installed(&f.st, NOW - 100, f.info.not_after, f.in.ca, true),
	                 0);
	assert_true(f.st.deploy_pending);
	assert_int_equal(policy_record_deployed(&f.st, NOW - 100, false, "exit status 1", 0.0), 0);
	assert_int_equal(f.st.deploy_attempts, 1);
	assert_int_equal(f.st.deploy_next_try, NOW - 100 + POLICY_BACKOFF_MIN);
	f.in.now = NOW - 50;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_DEPLOY_RETRY);
	assert_int_equal(f.d.when, NOW - 40);
	f.in.now = NOW - 30;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_DEPLOY);
	assert_non_null(strstr(f.d.why, "deploy hook failed 1 time"));
	assert_int_equal(policy_record_deployed(&f.st, NOW, true, NULL, 0.0), 0);
	assert_false(f.st.deploy_pending);
	assert_null(f.st.deploy_error);
	f.in.now = NOW;
	decide(&f);
	assert_int_equal(f.d.action, POLICY_WAIT);
	assert_int_equal(f.d.reason, POLICY_NOT_DUE);
	free(f.st.ca);
	free(f.st.last_error);
}

/* An order that failed at the CA is forgotten; one whose install failed
 * here is kept (to be downloaded again), both with a backoff; a local
 * failure before the CA records no backoff. */
static void
test_record_attempt_order(void **state)
{
	struct state st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(state_set(&st.order_url, "https://ca/order/1"), 0);
	assert_int_equal(
	        policy_record_attempt(&st, POLICY_ATTEMPT_INSTALL_FAILED, NOW, 0, "no space", 0.0),
	        1);
	assert_string_equal(st.order_url, "https://ca/order/1");
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.next_try, NOW + 60);
	assert_string_equal(st.last_error, "no space");
	assert_int_equal(policy_record_attempt(&st, POLICY_ATTEMPT_LOCAL, NOW, 0, "port", 0.0), 1);
	assert_string_equal(st.order_url, "https://ca/order/1");
	assert_int_equal(st.attempts, 1);
	assert_int_equal(policy_record_attempt(&st, POLICY_ATTEMPT_FAILED, NOW, 0, "invalid", 0.0),
	                 1);
	assert_null(st.order_url);
	assert_int_equal(st.attempts, 2);
	state_finish(&st);
}

static void
test_record_failure(void **state)
{
	struct state st;

	memset(&st, 0, sizeof(st));
	assert_int_equal(policy_record_failure(&st, NOW, 0, "boom", 0.0), 0);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.next_try, NOW + 60);
	assert_string_equal(st.last_error, "boom");
	/* The CA's Retry-After is a floor ... */
	assert_int_equal(policy_record_failure(&st, NOW, NOW + 7200, "slow down", 0.0), 0);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(st.next_try, NOW + 7200);
	/* ... within the cap. */
	assert_int_equal(policy_record_failure(&st, NOW, NOW + 30 * DAY, "later", 0.0), 0);
	assert_int_equal(st.next_try, NOW + 60);
	assert_int_equal(policy_record_installed(&st, NOW, NOW + DAY, "https://ca/dir", false), 0);
	assert_int_equal(st.attempts, 0);
	assert_int_equal(st.next_try, 0);
	assert_null(st.last_error);
	assert_string_equal(st.ca, "https://ca/dir");
	assert_false(st.deploy_pending);
	state_finish(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_backoff_bounds),
	        cmocka_unit_test(test_renewal_time),
	        cmocka_unit_test(test_ari_time),
	        cmocka_unit_test(test_ari_next),
	        cmocka_unit_test(test_not_due_then_due),
	        cmocka_unit_test(test_missing_and_broken),
	        cmocka_unit_test(test_names_and_ca),
	        cmocka_unit_test(test_backoff_and_force),
	        cmocka_unit_test(test_force_first_order),
	        cmocka_unit_test(test_order_begun),
	        cmocka_unit_test(test_retry_from_a_clock_ahead),
	        cmocka_unit_test(test_clock_ahead_floor),
	        cmocka_unit_test(test_ari_window),
	        cmocka_unit_test(test_deploy_retry),
	        cmocka_unit_test(test_record_failure),
	        cmocka_unit_test(test_record_attempt_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
