#include "renew/caa_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* A fake DNS: zones by name (any other name answers NODATA), queries kept
 * until the test delivers them, or answered inside query when sync. */
struct zone {
	const char *name;
	enum caa_answer_status status;
	const char *error;
	const char *issue; /* "0 issue VALUE" when set */
	const char *issuewild; /* "0 issuewild VALUE" when set */
};

struct fake_query {
	char name[256];
	caa_answer_fn answer;
	void *arg;
	bool live;
};

struct fake {
	const struct zone *zones;
	size_t n_zones;
	bool sync;
	const char *refuse; /* query returns -1 for this name */
	struct fake_query q[32];
	size_t n_q; /* asked, in order */
	size_t cancels;
	size_t in_query; /* inside query now */
};

struct outcome {
	int done;
	bool destroy; /* destroys the check inside done */
	struct caa_check *check;
};

static const char *const pebble[] = {"pebble.test"};

static const struct caa_request req = {
        .ca_ids = pebble,
        .n_ca_ids = 1,
        .account_uri = "https://pebble.test/acct/1",
        .method = "http-01",
};

static const struct zone *
zone_of(const struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->n_zones; i++) {
		if (strcmp(f->zones[i].name, name) == 0) {
			return &f->zones[i];
		}
	}
	return NULL;
}

/* Answers q from its zone, with records in a buffer scribbled over after
 * the call: the check must keep its own copy. */
static void
answer(struct fake *f, struct fake_query *q)
{
	const struct zone *z = zone_of(f, q->name);
	char tags[2][16], values[2][128];
	struct caa_record recs[2];
	struct caa_answer a = {.status = CAA_ANSWER_EMPTY, .records = recs};
	const char *v[2] = {z != NULL ? z->issue : NULL, z != NULL ? z->issuewild : NULL};

	q->live = false;
	if (z != NULL) {
		a.status = z->status;
		a.error = z->error;
	}
	for (int i = 0; i < 2; i++) {
		if (v[i] == NULL) {
			continue;
		}
		snprintf(tags[a.n_records], sizeof(tags[0]), "%s", i == 0 ? "issue" : "issuewild");
		snprintf(values[a.n_records], sizeof(values[0]), "%s", v[i]);
		recs[a.n_records] = (struct caa_record){
		        .tag = tags[a.n_records],
		        .tag_len = strlen(tags[a.n_records]),
		        .value = (const uint8_t *)values[a.n_records],
		        .value_len = strlen(values[a.n_records]),
		};
		a.n_records++;
	}
	q->answer(q->arg, &a);
	memset(tags, 'X', sizeof(tags));
	memset(values, 'X', sizeof(values));
}

static int
fake_query(void *ctx, const char *name, caa_answer_fn fn, void *arg, void **handle)
{
	struct fake *f = ctx;
	struct fake_query *q;

	assert_true(f->n_q < 32);
	if (f->refuse != NULL && strcmp(name, f->refuse) == 0) {
		return -1;
	}
	q = &f->q[f->n_q++];
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->answer = fn;
	q->arg = arg;
	q->live = true;
	*handle = q;
	if (f->sync) {
		f->in_query++;
		answer(f, q);
		f->in_query--;
	}
	return 0;
}

static void
fake_cancel(void *ctx, void *handle)
{
	struct fake *f = ctx;
	struct fake_query *q = handle;

	assert_true(q->live);
	q->live = false;
	f->cancels++;
}

static const struct caa_lookup_ops ops = {fake_query, fake_cancel};

/* Delivers the answer to the live query of name. */
static void
deliver(struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->n_q; i++) {
		if (f->q[i].live && strcmp(f->q[i].name, name) == 0) {
			answer(f, &f->q[i]);
			return;
		}
	}
	fail_msg("no live query of %s", name);
}

static void
deliver_all(struct fake *f)
{
	for (size_t i = 0; i < f->n_q; i++) {
		if (f->q[i].live) {
			answer(f, &f->q[i]);
		}
	}
}

static size_t
live(const struct fake *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_q; i++) {
		n += f->q[i].live;
	}
	return n;
}

static void
on_done(struct caa_check *check, void *arg)
{
	struct outcome *o = arg;

	assert_ptr_equal(check, o->check);
	o->done++;
	if (o->destroy) {
		caa_check_destroy(check);
		o->check = NULL;
	}
}

static struct caa_check *
start(struct fake *f, struct outcome *o, const char *const *names, size_t n)
{
	struct ident ids[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		ids[i].type = ident_type_of(names[i]);
		ids[i].value = (char *)names[i];
	}
	o->check = caa_check_start(EV_DEFAULT, &ops, f, &req, ids, n, on_done, o);
	assert_non_null(o->check);
	/* Never inside the start call. */
	assert_int_equal(o->done, 0);
	return o->check;
}

static void
assert_result(const struct caa_check *c, size_t i, enum caa_verdict v, const char *reason)
{
	const struct caa_result *r = caa_check_result(c, i);

	assert_int_equal(r->verdict, v);
	assert_string_equal(r->reason, reason);
}

static void
assert_asked(const struct fake *f, const char *const *names, size_t n)
{
	assert_int_equal(f->n_q, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(f->q[i].name, names[i]);
	}
}

static void
test_records_at_parent_only(void **state)
{
	const struct zone zones[] = {
	        {"b.example.com", CAA_ANSWER_NXDOMAIN, NULL, NULL, NULL},
	        {"example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", NULL},
	};
	struct fake f = {.zones = zones, .n_zones = 2};
	struct outcome o = {0};
	const char *name = "a.b.example.com";
	struct caa_check *c = start(&f, &o, &name, 1);

	(void)state;
	assert_asked(
	        &f, (const char *const[]){"a.b.example.com", "b.example.com", "example.com", "com"},
	        4);
	/* The parent's records wait for the levels below. */
	deliver(&f, "example.com");
	assert_int_equal(o.done, 0);
	deliver(&f, "a.b.example.com");
	assert_int_equal(o.done, 0);
	deliver(&f, "b.example.com");
	assert_int_equal(o.done, 1);
	/* The TLD is not needed any more. */
	assert_int_equal(f.cancels, 1);
	assert_int_equal(live(&f), 0);
	assert_result(c, 0, CAA_ALLOWED, "CAA of example.com: 0 issue \"pebble.test\" allows it");
	assert_int_equal(caa_check_verdict(c, NULL), CAA_ALLOWED);
	caa_check_destroy(c);
}

static void
test_name_overrides_parent(void **state)
{
	const struct zone zones[] = {
	        {"www.example.com", CAA_ANSWER_RECORDS, NULL, "letsencrypt.org", NULL},
	        {"example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", NULL},
	};
	struct fake f = {.zones = zones, .n_zones = 2};
	struct outcome o = {0};
	const char *name = "www.example.com";
	struct caa_check *c = start(&f, &o, &name, 1);
	size_t first = 9;
	char line[256];

	(void)state;
	deliver(&f, "www.example.com");
	assert_int_equal(o.done, 1);
	assert_int_equal(f.cancels, 2);
	assert_result(c, 0, CAA_FORBIDDEN,
	              "CAA of www.example.com: 0 issue \"letsencrypt.org\" does not name this CA "
	              "(pebble.test)");
	assert_int_equal(caa_check_verdict(c, &first), CAA_FORBIDDEN);
	assert_int_equal(first, 0);
	assert_string_equal(caa_check_summary(c, line, sizeof(line)),
	                    "www.example.com: CAA of www.example.com: 0 issue \"letsencrypt.org\" "
	                    "does not name this CA (pebble.test)");
	caa_check_destroy(c);
}

static void
test_none_anywhere(void **state)
{
	struct fake f = {0};
	struct outcome o = {0};
	const char *name = "a.example.com";
	struct caa_check *c = start(&f, &o, &name, 1);
	char line[128];

	(void)state;
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	assert_int_equal(f.cancels, 0);
	assert_result(c, 0, CAA_ALLOWED, "no CAA records at a.example.com or its parents");
	assert_string_equal(caa_check_summary(c, line, sizeof(line)), "CAA allows a.example.com");
	caa_check_destroy(c);
}

static void
test_servfail(void **state)
{
	const struct zone fail_parent[] = {
	        {"example.com", CAA_ANSWER_FAILED, "SERVFAIL", NULL, NULL},
	};
	const struct zone fail_parent_records_below[] = {
	        {"example.com", CAA_ANSWER_FAILED, "SERVFAIL", NULL, NULL},
	        {"a.example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", NULL},
	};
	const struct zone fail_tld_records_above[] = {
	        {"com", CAA_ANSWER_FAILED, NULL, NULL, NULL},
	        {"example.com", CAA_ANSWER_RECORDS, NULL, ";", NULL},
	};
	const char *name = "a.example.com";
	struct outcome o = {0};
	struct fake f = {.zones = fail_parent, .n_zones = 1};
	struct caa_check *c = start(&f, &o, &name, 1);
	char line[128];

	(void)state;
	deliver(&f, "example.com");
	assert_int_equal(o.done, 0);
	deliver(&f, "a.example.com");
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_UNCHECKED, "could not check: CAA of example.com: SERVFAIL");
	assert_int_equal(caa_check_verdict(c, NULL), CAA_UNCHECKED);
	assert_string_equal(caa_check_summary(c, line, sizeof(line)),
	                    "a.example.com: could not check: CAA of example.com: SERVFAIL");
	caa_check_destroy(c);

	/* Records below the failure decide. */
	memset(&o, 0, sizeof(o));
	f = (struct fake){.zones = fail_parent_records_below, .n_zones = 2};
	c = start(&f, &o, &name, 1);
	deliver(&f, "example.com");
	deliver(&f, "a.example.com");
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_ALLOWED, "CAA of a.example.com: 0 issue \"pebble.test\" allows it");
	caa_check_destroy(c);

	/* A failure above the relevant set does not matter either. */
	memset(&o, 0, sizeof(o));
	f = (struct fake){.zones = fail_tld_records_above, .n_zones = 2};
	c = start(&f, &o, &name, 1);
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_FORBIDDEN, "CAA of example.com: 0 issue \";\" allows no CA");
	caa_check_destroy(c);
}

static void
test_wildcard(void **state)
{
	const struct zone zones[] = {
	        {"example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", ";"},
	};
	struct fake f = {.zones = zones, .n_zones = 1};
	struct outcome o = {0};
	const char *names[] = {"*.example.com", "example.com"};
	struct caa_check *c = start(&f, &o, names, 2);

	(void)state;
	/* Both climb from example.com, asked once. */
	assert_asked(&f, (const char *const[]){"example.com", "com"}, 2);
	deliver(&f, "example.com");
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_FORBIDDEN, "CAA of example.com: 0 issuewild \";\" allows no CA");
	assert_result(c, 1, CAA_ALLOWED, "CAA of example.com: 0 issue \"pebble.test\" allows it");
	assert_string_equal(caa_check_name(c, 0), "*.example.com");
	caa_check_destroy(c);
}

static void
test_several_names(void **state)
{
	const struct zone zones[] = {
	        {"example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", "other.ca"},
	        {"example.org", CAA_ANSWER_RECORDS, NULL, "letsencrypt.org", NULL},
	        {"b.example.net", CAA_ANSWER_RECORDS, NULL, "pebble.test; validationmethods=dns-01",
	         NULL},
	};
	struct fake f = {.zones = zones, .n_zones = 3};
	struct outcome o = {0};
	const char *names[] = {"www.example.com",  "example.com",   "192.0.2.1",
	                       "shop.example.org", "*.example.com", "b.example.net"};
	struct caa_check *c = start(&f, &o, names, 6);
	size_t first;
	char line[256];

	(void)state;
	/* Each name asked once, every level at once. */
	assert_asked(&f,
	             (const char *const[]){"www.example.com", "example.com", "com",
	                                   "shop.example.org", "example.org", "org",
	                                   "b.example.net", "example.net", "net"},
	             9);
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	assert_int_equal(caa_check_count(c), 6);
	assert_result(c, 0, CAA_ALLOWED, "CAA of example.com: 0 issue \"pebble.test\" allows it");
	assert_result(c, 1, CAA_ALLOWED, "CAA of example.com: 0 issue \"pebble.test\" allows it");
	assert_result(c, 2, CAA_ALLOWED, "not checked: an IP address (CAA is for domain names)");
	assert_result(c, 3, CAA_FORBIDDEN,
	              "CAA of example.org: 0 issue \"letsencrypt.org\" does not name this CA "
	              "(pebble.test)");
	assert_result(c, 4, CAA_FORBIDDEN,
	              "CAA of example.com: 0 issuewild \"other.ca\" does not name this CA "
	              "(pebble.test)");
	assert_result(c, 5, CAA_FORBIDDEN,
	              "CAA of b.example.net: 0 issue \"pebble.test; validationmethods=dns-01\": "
	              "validationmethods=dns-01 does not allow http-01");
	assert_int_equal(caa_check_verdict(c, &first), CAA_FORBIDDEN);
	assert_int_equal(first, 3);
	assert_string_equal(caa_check_summary(c, line, sizeof(line)),
	                    "shop.example.org: CAA of example.org: 0 issue \"letsencrypt.org\" "
	                    "does not name this CA (pebble.test) (and 2 more names)");
	caa_check_destroy(c);
}

static void
test_unchecked_below_forbidden(void **state)
{
	const struct zone zones[] = {
	        {"a.example.com", CAA_ANSWER_FAILED, "timeout", NULL, NULL},
	        {"example.org", CAA_ANSWER_RECORDS, NULL, ";", NULL},
	};
	struct fake f = {.zones = zones, .n_zones = 2};
	struct outcome o = {0};
	const char *names[] = {"a.example.com", "b.example.com", "example.org"};
	struct caa_check *c = start(&f, &o, names, 3);
	size_t first;
	char line[256];

	(void)state;
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	/* Forbidden counts before unchecked, whatever the order. */
	assert_int_equal(caa_check_verdict(c, &first), CAA_FORBIDDEN);
	assert_int_equal(first, 2);
	assert_string_equal(caa_check_summary(c, line, sizeof(line)),
	                    "example.org: CAA of example.org: 0 issue \";\" allows no CA");
	caa_check_destroy(c);
}

static void
test_spelling(void **state)
{
	struct fake f = {0};
	struct outcome o = {0};
	const char *names[] = {"WWW.Example.COM.", "a..example.com", ""};
	struct caa_check *c = start(&f, &o, names, 3);

	(void)state;
	assert_asked(&f, (const char *const[]){"www.example.com", "example.com", "com"}, 3);
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_ALLOWED, "no CAA records at www.example.com or its parents");
	assert_result(c, 1, CAA_UNCHECKED, "could not check: not a DNS name");
	assert_result(c, 2, CAA_UNCHECKED, "could not check: not a DNS name");
	assert_string_equal(caa_check_name(c, 0), "WWW.Example.COM.");
	caa_check_destroy(c);
}

static void
test_cancel(void **state)
{
	struct fake f = {0};
	struct outcome o = {0};
	const char *names[] = {"a.example.com", "b.example.org"};
	struct caa_check *c = start(&f, &o, names, 2);

	(void)state;
	assert_int_equal(live(&f), 6);
	deliver(&f, "a.example.com");
	caa_check_destroy(c);
	assert_int_equal(f.cancels, 5);
	assert_int_equal(live(&f), 0);
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(o.done, 0);

	caa_check_destroy(NULL);
}

static void
test_answers_inside_start(void **state)
{
	const struct zone zones[] = {
	        {"example.com", CAA_ANSWER_RECORDS, NULL, "pebble.test", NULL},
	};
	struct fake f = {.zones = zones, .n_zones = 1, .sync = true};
	struct outcome o = {0};
	const char *name = "a.example.com";
	struct caa_check *c = start(&f, &o, &name, 1);

	(void)state;
	/* com was never asked: a.example.com and example.com decided it. */
	assert_asked(&f, (const char *const[]){"a.example.com", "example.com"}, 2);
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_ALLOWED, "CAA of example.com: 0 issue \"pebble.test\" allows it");
	caa_check_destroy(c);

	/* Destroyed before the loop runs: done never comes. */
	memset(&o, 0, sizeof(o));
	f.n_q = 0;
	c = start(&f, &o, &name, 1);
	caa_check_destroy(c);
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(o.done, 0);
}

static void
test_addresses_only(void **state)
{
	struct fake f = {0};
	struct outcome o = {0};
	const char *names[] = {"192.0.2.1", "2001:db8::1"};
	struct caa_check *c = start(&f, &o, names, 2);
	char line[128];

	(void)state;
	assert_int_equal(f.n_q, 0);
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(o.done, 1);
	assert_result(c, 1, CAA_ALLOWED, "not checked: an IP address (CAA is for domain names)");
	assert_string_equal(caa_check_summary(c, line, sizeof(line)), "CAA allows every name");
	caa_check_destroy(c);
}

static void
test_lookup_refused(void **state)
{
	struct fake f = {.refuse = "example.com"};
	struct outcome o = {0};
	const char *name = "a.example.com";
	struct caa_check *c = start(&f, &o, &name, 1);

	(void)state;
	deliver(&f, "a.example.com");
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_UNCHECKED,
	              "could not check: CAA of example.com: the lookup could not start");
	assert_int_equal(f.cancels, 1);
	caa_check_destroy(c);
}

static void
test_destroy_inside_done(void **state)
{
	struct fake f = {0};
	struct outcome o = {.destroy = true};
	const char *names[] = {"a.example.com", "a.example.com"};

	(void)state;
	start(&f, &o, names, 2);
	/* Two identifiers, one query each level. */
	assert_int_equal(f.n_q, 3);
	deliver_all(&f);
	assert_int_equal(o.done, 1);
	assert_null(o.check);

	memset(&o, 0, sizeof(o));
	o.destroy = true;
	start(&f, &o, (const char *const[]){"192.0.2.7"}, 1);
	ev_run(EV_DEFAULT, 0);
	assert_int_equal(o.done, 1);
	assert_null(o.check);
}

static void
test_bad_answers(void **state)
{
	struct fake f = {0};
	struct outcome o = {0};
	const char *name = "example.com";
	struct caa_check *c = start(&f, &o, &name, 1);
	struct caa_record many[300];
	struct caa_answer a = {.status = CAA_ANSWER_RECORDS, .records = many, .n_records = 300};

	(void)state;
	for (size_t i = 0; i < 300; i++) {
		many[i] = (struct caa_record){.tag = "issue",
		                              .tag_len = 5,
		                              .value = (const uint8_t *)";",
		                              .value_len = 1};
	}
	/* Past what acmed reads: a failure, not a truncated set. */
	f.q[0].live = false;
	f.q[0].answer(f.q[0].arg, &a);
	assert_int_equal(o.done, 1);
	assert_result(c, 0, CAA_UNCHECKED,
	              "could not check: CAA of example.com: 300 CAA records, more than acmed "
	              "reads");
	/* An answer after the end is ignored. */
	f.q[0].answer(f.q[0].arg, &a);
	assert_int_equal(o.done, 1);
	caa_check_destroy(c);
	assert_string_equal(caa_answer_status_name(CAA_ANSWER_NXDOMAIN), "nxdomain");
	assert_string_equal(caa_answer_status_name(CAA_ANSWER__MAX), "?");
	assert_null(caa_check_start(EV_DEFAULT, &ops, &f, &req, NULL, 0, on_done, &o));
}

/* The CA's identities: the directory's caaIdentities win, caa-identity
 * stands in for a directory that lists none, nothing without either. */
static void
test_ca_ids(void **state)
{
	char *listed[] = {(char *)"ca.example", (char *)"ca2.example"};
	char *conf[] = {(char *)"given.example"};
	struct acme_directory dir;
	const char *from = NULL;
	size_t n = 9;

	(void)state;
	memset(&dir, 0, sizeof(dir));
	assert_ptr_equal(caa_check_ca_ids(&dir, conf, 1, &n, &from), conf);
	assert_int_equal(n, 1);
	assert_string_equal(from, "caa-identity");
	assert_ptr_equal(caa_check_ca_ids(NULL, conf, 1, &n, NULL), conf);
	dir.caa_identities = listed;
	dir.n_caa_identities = 2;
	assert_ptr_equal(caa_check_ca_ids(&dir, conf, 1, &n, &from), listed);
	assert_int_equal(n, 2);
	assert_string_equal(from, "meta.caaIdentities");
	dir.n_caa_identities = 0;
	assert_null(caa_check_ca_ids(&dir, NULL, 0, &n, &from));
	assert_int_equal(n, 0);
	assert_null(from);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ca_ids),
	        cmocka_unit_test(test_records_at_parent_only),
	        cmocka_unit_test(test_name_overrides_parent),
	        cmocka_unit_test(test_none_anywhere),
	        cmocka_unit_test(test_servfail),
	        cmocka_unit_test(test_wildcard),
	        cmocka_unit_test(test_several_names),
	        cmocka_unit_test(test_unchecked_below_forbidden),
	        cmocka_unit_test(test_spelling),
	        cmocka_unit_test(test_cancel),
	        cmocka_unit_test(test_answers_inside_start),
	        cmocka_unit_test(test_addresses_only),
	        cmocka_unit_test(test_lookup_refused),
	        cmocka_unit_test(test_destroy_inside_done),
	        cmocka_unit_test(test_bad_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
