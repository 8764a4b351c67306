/* The fleet's part of a certificate job (renew/fleet.h) through its public
 * calls, as job.c makes them: two nodes, each with a state folder of its
 * own and its own handle on one shared store (fleet_fixture.h), a group on
 * the file backend and the same cases on Redis; their certificate sets
 * issued by a CA of the test and installed by install_chain. */
#include "renew/fleet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/file.h"
#include "crypto/key.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "fleet_fixture.h"
#include "pki.h"
#include "tmpdir.h"

/* --- the cases ------------------------------------------------------------------- */

/* Nothing in the store: nothing to take, nothing written anywhere. */
static void
test_sync_empty(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a;
	char *before = dump_store(w->fx), *after;

	job_begin(w, a);
	assert_int_equal(step(w, a, fleet_job_sync), FLEET_OK);
	assert_false(a->fj.changed);
	assert_false(a->fj.materialized);
	assert_int_equal(a->fj.remote_version, 0);
	assert_false(a->view.info.present);
	assert_int_equal(a->view.st.fleet_version, 0);
	assert_false(a->view.st.fleet_owed);
	assert_int_equal(a->view.st.last_attempt, 0);
	assert_null(a->view.st.order_url);
	assert_false(tmpdir_exists(a->state_dir, "certs"));
	after = dump_store(w->fx);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* The first set: the store's version 1, with a's leaf and key. */
static void
test_first_install(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a;
	struct result res = {0};
	long version = 0;
	char *serial = order_on(w, a, &version);
	char *cert = tmpdir_read(a->dir, "cert.pem");
	char *key = tmpdir_read(a->dir, "privkey.pem");

	assert_int_equal(version, 1);
	assert_int_equal(a->view.st.fleet_version, 1);
	assert_false(a->view.st.fleet_owed);
	record(w, &res);
	assert_int_equal(res.cert.version, 1);
	assert_string_equal(res.cert.node, "a");
	assert_non_null(cert);
	assert_non_null(key);
	assert_string_equal(res.cert.cert_pem, cert);
	assert_string_equal(res.cert.key_pem, key);
	assert_null(res.cert.order_url);
	/* What a's job saved says so too. */
	job_begin(w, a);
	assert_int_equal(a->view.st.fleet_version, 1);
	assert_false(a->view.st.fleet_owed);
	free(serial);
	free(cert);
	key_pem_free(key, strlen(key));
	result_reset(&res);
}

/* b, with an empty state folder, gets a's set: the same leaf and key, its
 * deploy owed; a second look changes nothing. */
static void
test_materialize(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	long version = 0;
	char *serial = order_on(w, a, &version);
	char *b_serial;
	EVP_PKEY *ka, *kb;
	struct store_cert_info info;

	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_true(b->fj.materialized);
	assert_true(b->fj.changed);
	assert_int_equal(b->fj.remote_version, 1);
	assert_true(b->view.info.present);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_false(b->view.st.fleet_owed);
	assert_true(b->view.st.deploy_pending);
	assert_string_equal(b->view.st.ca, CA_URL);
	b_serial = installed_serial(b);
	assert_non_null(b_serial);
	assert_string_equal(b_serial, serial);
	ka = installed_key(a);
	kb = installed_key(b);
	assert_int_equal(EVP_PKEY_eq(ka, kb), 1);
	assert_int_equal(store_cert_inspect(b->state_dir, NAME, &info), 0);
	assert_true(info.present);
	assert_string_equal(info.problem, "");
	store_cert_info_finish(&info);
	job_end(b, false);

	/* Again, from what b saved: nothing new. */
	job_begin(w, b);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_false(b->fj.changed);
	assert_false(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_int_equal(store_cert_version(b->state_dir, NAME), 1);
	free(serial);
	free(b_serial);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}

/* b's own order left by a run that died is dropped when the fleet's set
 * comes: its URL and its key. No deploy hook, no deploy owed. */
static void
test_materialize_drops_order(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	EVP_PKEY *pending = pki_key();
	long version = 0;
	char *serial = order_on(w, a, &version);

	b->deploy_hook = false;
	job_begin(w, b);
	assert_int_equal(file_mkdirs(b->dir, 0700), 0);
	assert_int_equal(store_cert_pending_save(b->state_dir, NAME, pending), 0);
	assert_int_equal(state_set(&b->view.st.order_url, "https://ca.test/order/1"), 0);
	job_end(b, false);

	job_begin(w, b);
	assert_string_equal(b->view.st.order_url, "https://ca.test/order/1");
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_true(b->fj.materialized);
	assert_false(b->view.st.deploy_pending);
	assert_null(b->view.st.order_url);
	assert_false(tmpdir_exists(b->dir, "pending.key"));
	EVP_PKEY_free(pending);
	free(serial);
}

/* One holder at a time: b waits while a holds it, then takes it. */
static void
test_lease(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	uint64_t token;

	job_begin(w, a);
	assert_int_equal(step(w, a, fleet_job_lease), FLEET_OK);
	assert_true(a->fj.token > 0);
	assert_true(ev_is_active(&a->fj.extend));
	token = a->fj.token;

	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_BUSY);
	assert_string_equal(b->fj.holder, "a");
	assert_int_equal(b->fj.token, 0);
	assert_false(ev_is_active(&b->fj.extend));
	assert_false(b->fj.changed);

	job_end(a, false);
	wait_released(w);
	b->fj.holder[0] = '\0';
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);
	assert_true(b->fj.token > token);
	job_end(b, false);
	wait_released(w);
}

/* Both from version 1: a installs version 2 while b, whose lease ran out,
 * installs its own; b's is owed (kept here, never over a's) and the next
 * sync puts a's in its place. */
static void
test_conflict(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	long version = 0;
	char *first = order_on(w, a, &version);
	char *second, *own, *now;

	sync_on(w, b);
	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);
	assert_int_equal(b->view.st.fleet_version, 1);
	/* b's lease runs out (a stall): a takes it and installs. */
	CALL(w->fx, &res, cluster_lease_release(b->n->c, NAME, b->fj.token, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	second = order_on(w, a, &version);
	assert_int_equal(version, 2);

	own = install_new(w, b);
	assert_int_equal(step(w, b, fleet_job_installed), FLEET_OK);
	assert_true(b->view.st.fleet_owed);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_true(b->fj.changed);
	now = installed_serial(b);
	assert_string_equal(now, own);
	free(now);
	record(w, &res);
	assert_int_equal(res.cert.version, 2);
	assert_string_equal(res.cert.node, "a");
	job_end(b, true);

	job_begin(w, b);
	assert_true(b->view.st.fleet_owed);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_true(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 2);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, second);
	free(now);
	free(first);
	free(second);
	free(own);
	result_reset(&res);
}

/* b holds the lease, yet a set made by a while the store was away comes
 * first (put without a lease): b's install finds the version moved on
 * (CONFLICT), is owed, and the next sync takes a's. */
static void
test_conflict_under_lease(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	long version = 0;
	char *first = order_on(w, a, &version);
	char *pushed, *own, *now;

	sync_on(w, b);
	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);

	pushed = make_owed(w, a);
	sync_on(w, a);
	assert_false(a->view.st.fleet_owed);
	assert_int_equal(a->view.st.fleet_version, 2);

	own = install_new(w, b);
	assert_int_equal(step(w, b, fleet_job_installed), FLEET_OK);
	assert_true(b->view.st.fleet_owed);
	assert_int_equal(b->view.st.fleet_version, 1);
	record(w, &res);
	assert_int_equal(res.cert.version, 2);
	assert_string_equal(res.cert.node, "a");
	job_end(b, true);
	wait_released(w);

	sync_on(w, b);
	assert_true(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 2);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, pushed);
	free(now);
	free(first);
	free(pushed);
	free(own);
	result_reset(&res);
}

/* An owed set whose push loses the race (the store moved on between the
 * read and the put): the sync reads again and takes the newer one. File
 * backend only: its calls do their work inside the call, so a's put lands
 * between b's read and b's put for sure. */
static void
test_owed_push_race(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	struct cluster_cert cc;
	long version = 0;
	char *first, *owed, *other, *now;

	if (w->fx->g->redis) {
		skip();
	}
	first = order_on(w, a, &version);
	sync_on(w, b);
	owed = make_owed(w, b);
	other = make_owed(w, a);

	job_begin(w, b);
	b->calls = 0;
	assert_int_equal(fleet_job_sync(&b->fj, on_fleet, b), 0); /* read: version 1 */
	cluster_cert_init(&cc);
	cc.cert_pem = tmpdir_read(a->dir, "cert.pem");
	cc.chain_pem = tmpdir_read(a->dir, "chain.pem");
	cc.key_pem = tmpdir_read(a->dir, "privkey.pem");
	CALL(w->fx, &res, cluster_cert_put(a->n->c, NAME, 0, 1, &cc, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(res.version, 2);
	run_until(w->fx, &b->calls, 1, WAIT_S);
	assert_int_equal(b->rc, FLEET_OK);
	assert_true(b->fj.synced_again);
	assert_true(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 2);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, other);
	free(now);
	job_end(b, false);
	cluster_cert_finish(&cc);
	free(first);
	free(owed);
	free(other);
	result_reset(&res);
}

/* A store that forgot (version 0 where the nodes had 1): the first node
 * to look puts its set there again, and renewals install into it. */
static void
test_store_forgot(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	long version = 0;
	char *first = order_on(w, a, &version);
	char *second, *now;

	sync_on(w, b);
	wipe_store(w);
	record(w, &res);
	assert_int_equal(res.cert.version, 0);
	result_reset(&res);

	sync_on(w, b);
	assert_true(b->fj.changed);
	assert_false(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_false(b->view.st.fleet_owed);
	record(w, &res);
	assert_int_equal(res.cert.version, 1);
	assert_string_equal(res.cert.node, "b");
	result_reset(&res);

	second = order_on(w, a, &version);
	assert_int_equal(version, 2);
	assert_false(a->view.st.fleet_owed);
	sync_on(w, b);
	assert_true(b->fj.materialized);
	now = installed_serial(b);
	assert_string_equal(now, second);
	free(now);
	free(first);
	free(second);
}

/* A wiped store seeded again by a node that missed the last renewal,
 * racing one that has it: a looks first (the store has nothing, its set
 * is owed), b's older set lands before a's put, and a puts its own on top
 * rather than install b's (no rollback, no deploy); b then takes a's. File
 * backend only (see test_owed_push_race). */
static void
test_store_older(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	struct cluster_cert cc;
	long version = 0;
	char *first, *second, *now, *cert;

	if (w->fx->g->redis) {
		skip();
	}
	first = order_on(w, a, &version);
	sync_on(w, b);
	second = order_on(w, a, &version);
	assert_int_equal(version, 2);
	wipe_store(w);

	job_begin(w, a);
	a->calls = 0;
	assert_int_equal(fleet_job_sync(&a->fj, on_fleet, a), 0); /* read: version 0 */
	cluster_cert_init(&cc);
	cc.cert_pem = tmpdir_read(b->dir, "cert.pem");
	cc.chain_pem = tmpdir_read(b->dir, "chain.pem");
	cc.key_pem = tmpdir_read(b->dir, "privkey.pem");
	CALL(w->fx, &res, cluster_cert_put(b->n->c, NAME, 0, 0, &cc, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	assert_int_equal(res.version, 1);
	result_reset(&res);
	run_until(w->fx, &a->calls, 1, WAIT_S);
	assert_int_equal(a->rc, FLEET_OK);
	assert_true(a->fj.synced_again);
	assert_false(a->fj.materialized);
	assert_int_equal(a->view.st.fleet_version, 2);
	assert_false(a->view.st.fleet_owed);
	now = installed_serial(a);
	assert_string_equal(now, second);
	free(now);
	job_end(a, false);
	record(w, &res);
	assert_int_equal(res.cert.version, 2);
	assert_string_equal(res.cert.node, "a");
	cert = tmpdir_read(a->dir, "cert.pem");
	assert_string_equal(res.cert.cert_pem, cert);
	free(cert);
	result_reset(&res);

	/* b takes the newer one. */
	sync_on(w, b);
	assert_true(b->fj.materialized);
	now = installed_serial(b);
	assert_string_equal(now, second);
	free(now);
	cluster_cert_finish(&cc);
	free(first);
	free(second);
}

/* Puts the set installed on s into the store as node s's, expecting
 * version expect; the new version. */
static long
put_set_of(struct world *w, struct site *s, long expect)
{
	struct result res = {0};
	struct cluster_cert cc;
	long version;

	cluster_cert_init(&cc);
	cc.cert_pem = tmpdir_read(s->dir, "cert.pem");
	cc.chain_pem = tmpdir_read(s->dir, "chain.pem");
	cc.key_pem = tmpdir_read(s->dir, "privkey.pem");
	CALL(w->fx, &res, cluster_cert_put(s->n->c, NAME, 0, expect, &cc, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	version = res.version;
	cluster_cert_finish(&cc);
	result_reset(&res);
	return version;
}

/* A wiped store set up again by another node, which renewed since: its
 * versions are lower than (or the same as) the one recorded here, its
 * certificate newer. The certificate decides: installed here (the store's
 * version is taken), not this node's older set put back over it. */
static void
test_store_newer_lower_version(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	long version = 0;
	char *first = order_on(w, a, &version);
	char *second, *third, *now;

	sync_on(w, b);
	second = order_on(w, a, &version);
	sync_on(w, b);
	assert_int_equal(b->view.st.fleet_version, 2);
	wipe_store(w);
	job_begin(w, a);
	third = install_new(w, a);
	job_end(a, false);
	assert_int_equal(put_set_of(w, a, 0), 1);

	sync_on(w, b);
	assert_true(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 1);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, third);
	free(now);

	/* The same set at another version: its version taken, nothing
	 * installed (no deploy). */
	assert_int_equal(put_set_of(w, a, 1), 2);
	sync_on(w, b);
	assert_false(b->fj.materialized);
	assert_true(b->fj.changed);
	assert_int_equal(b->view.st.fleet_version, 2);
	now = installed_serial(b);
	assert_string_equal(now, third);
	free(now);
	free(first);
	free(second);
	free(third);
}

/* An older set put back into a wiped store, at a higher version than the
 * one recorded here: this node's newer set goes on top, never the older
 * one installed over it. */
static void
test_store_older_higher_version(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	long version = 0;
	char *first = order_on(w, a, &version);
	char *second, *now, *cert;

	sync_on(w, b); /* b: first, version 1, as a has */
	second = order_on(w, b, &version);
	assert_int_equal(version, 2);
	wipe_store(w);
	/* a, which missed the renewal, puts first back, again and again. */
	assert_int_equal(put_set_of(w, a, 0), 1);
	assert_int_equal(put_set_of(w, a, 1), 2);
	assert_int_equal(put_set_of(w, a, 2), 3);

	sync_on(w, b);
	assert_false(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 4);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, second);
	free(now);
	record(w, &res);
	assert_int_equal(res.cert.version, 4);
	assert_string_equal(res.cert.node, "b");
	cert = tmpdir_read(b->dir, "cert.pem");
	assert_string_equal(res.cert.cert_pem, cert);
	free(cert);
	result_reset(&res);

	/* a takes it. */
	sync_on(w, a);
	assert_true(a->fj.materialized);
	now = installed_serial(a);
	assert_string_equal(now, second);
	free(now);
	free(first);
	free(second);
}

/* A node whose store went away while it installed: the set is owed, then
 * pushed by its next sync (a version more), and reaches the other node. */
static void
test_owed_push(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct result res = {0};
	long version = 0;
	char *first = order_on(w, a, &version);
	char *folder, *own, *now;
	struct cluster *down = open_down(w, true, &folder);

	sync_on(w, b);
	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);
	own = install_new(w, b);
	b->fj.cluster = down; /* gone while b ordered */
	assert_int_equal(step(w, b, fleet_job_installed), FLEET_OK);
	assert_true(b->view.st.fleet_owed);
	assert_int_equal(b->view.st.fleet_version, 1);
	b->fj.cluster = b->n->c; /* back for the end */
	job_end(b, true);
	wait_released(w);
	record(w, &res);
	assert_int_equal(res.cert.version, 1);
	result_reset(&res);

	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_true(b->fj.changed);
	assert_false(b->fj.materialized);
	assert_int_equal(b->view.st.fleet_version, 2);
	assert_false(b->view.st.fleet_owed);
	now = installed_serial(b);
	assert_string_equal(now, own);
	free(now);
	record(w, &res);
	assert_int_equal(res.cert.version, 2);
	assert_string_equal(res.cert.node, "b");
	job_end(b, false);

	sync_on(w, a);
	assert_true(a->fj.materialized);
	assert_int_equal(a->view.st.fleet_version, 2);
	now = installed_serial(a);
	assert_string_equal(now, own);
	free(now);
	cluster_destroy(down);
	free(first);
	free(own);
	result_reset(&res);
}

/* A node that died with an order in flight: once its lease ran out, the
 * next lease takes the order over with its key; the store's order follows
 * the new holder and goes with the install. */
static void
test_adopt_order(void **state)
{
	struct world *w = *state;
	struct site *b = &w->b;
	struct node dead = {0};
	struct result res = {0};
	EVP_PKEY *key = pki_key(), *back;
	size_t len = 0;
	char *pem = key_to_pem(key, &len);
	uint64_t token;
	char *serial;

	node_open(w->fx, &dead, "d", cluster_fixture_key_a);
	CALL(w->fx, &res, cluster_lease_take(dead.c, NAME, SHORT_MS, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	token = res.token;
	CALL(w->fx, &res,
	     cluster_order_put(dead.c, NAME, token, "https://ca.test/order/7", pem, on_done, &res));
	assert_int_equal(res.rc, CLUSTER_OK);
	cluster_destroy(dead.c);

	job_begin(w, b);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_null(b->view.st.order_url); /* not without the lease */
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_BUSY);
	assert_string_equal(b->fj.holder, "d");
	sleep_ms(w->fx, SHORT_MS + 100);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);
	assert_true(b->fj.token > token);
	assert_true(b->fj.changed);
	assert_non_null(b->view.st.order_url);
	assert_string_equal(b->view.st.order_url, "https://ca.test/order/7");
	back = store_cert_pending_load(b->state_dir, NAME);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, key), 1);
	EVP_PKEY_free(back);

	/* b's own order replaces it under b's lease; the install ends it. */
	fleet_job_order(&b->fj, "https://ca.test/order/8", pem);
	record_by(w, b, &res);
	assert_string_equal(res.cert.order_url, "https://ca.test/order/8");
	assert_string_equal(res.cert.order_node, "b");
	serial = install_new(w, b);
	assert_int_equal(step(w, b, fleet_job_installed), FLEET_OK);
	assert_int_equal(b->view.st.fleet_version, 1);
	record(w, &res);
	assert_null(res.cert.order_url);
	job_end(b, true);
	wait_released(w);
	free(serial);
	key_pem_free(pem, len);
	EVP_PKEY_free(key);
	result_reset(&res);
}

/* A failure a records under its lease reaches b's view at its next sync;
 * one recorded without the lease is a's alone. */
static void
test_shared_state(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	long version = 0;
	char *serial = order_on(w, a, &version);
	/* Later than the install (same second otherwise). */
	time_t when = time(NULL) + 10;
	time_t next_try;

	sync_on(w, b);
	job_begin(w, a);
	assert_int_equal(step(w, a, fleet_job_sync), FLEET_OK);
	assert_int_equal(step(w, a, fleet_job_lease), FLEET_OK);
	assert_int_equal(policy_record_attempt(&a->view.st, POLICY_ATTEMPT_FAILED, when, 0,
	                                       "www: the CA said no", 0.5),
	                 1);
	next_try = a->view.st.next_try;
	assert_true(next_try > when);
	job_end(a, true);
	wait_released(w);

	job_begin(w, b);
	assert_int_equal(b->view.st.attempts, 0);
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_OK);
	assert_true(b->fj.changed);
	assert_false(b->fj.materialized);
	assert_int_equal(b->view.st.attempts, 1);
	assert_int_equal(b->view.st.last_attempt, when);
	assert_int_equal(b->view.st.next_try, next_try);
	assert_string_equal(b->view.st.last_error, "www: the CA said no");
	assert_int_equal(b->view.st.fleet_version, 1);
	job_end(b, false);

	/* Without the lease: nothing put. */
	job_begin(w, a);
	assert_int_equal(policy_record_attempt(&a->view.st, POLICY_ATTEMPT_FAILED, when + 10, 0,
	                                       "www: again", 0.5),
	                 1);
	job_end(a, true);
	sync_on(w, b);
	assert_false(b->fj.changed);
	assert_int_equal(b->view.st.attempts, 1);
	free(serial);
}

/* A job ended with a call in flight: its callback never comes (the
 * context freed at once: ASan sees any late use), and a lease it was
 * taking is let go, not left held for FLEET_LEASE_MS. */
static void
test_finish_in_flight(void **state)
{
	struct world *w = *state;
	struct site *b = &w->b;
	struct fleet_job *fj;
	fleet_step_fn fns[] = {fleet_job_sync, fleet_job_lease};
	size_t i;

	job_begin(w, b);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		fj = malloc(sizeof(*fj));
		assert_non_null(fj);
		*fj = b->fj;
		b->calls = 0;
		assert_int_equal(fns[i](fj, on_fleet, b), 0);
		assert_non_null(fj->call);
		fleet_job_finish(fj);
		assert_null(fj->call);
		fleet_job_end(fj, false);
		free(fj);
		sleep_ms(w->fx, 100);
		assert_int_equal(b->calls, 0);
	}
	wait_released(w);
	/* Anyone may take it now. */
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_OK);
	job_end(b, false);
}

/* A store that cannot be reached: DOWN with a message, for the sync and
 * for the lease; nothing changed here. */
static void
test_store_down(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a;
	int redis;

	for (redis = 0; redis <= 1; redis++) {
		char *folder;
		struct cluster *down = open_down(w, redis, &folder);

		job_begin(w, a);
		a->fj.cluster = down;
		assert_int_equal(step(w, a, fleet_job_sync), FLEET_DOWN);
		assert_non_null(strstr(a->fj.message, "cannot be reached"));
		assert_false(a->fj.changed);
		assert_false(a->view.info.present);
		assert_int_equal(a->view.st.fleet_version, 0);
		assert_int_equal(step(w, a, fleet_job_lease), FLEET_DOWN);
		assert_int_equal(a->fj.token, 0);
		assert_false(ev_is_active(&a->fj.extend));
		assert_false(a->fj.changed);
		assert_false(tmpdir_exists(a->state_dir, "certs"));
		fleet_job_finish(&a->fj);
		fleet_job_end(&a->fj, true);
		cluster_destroy(down);
		tmpdir_remove(folder);
		free(folder);
	}
}

/* A handle with another cluster key: FAILED, and nothing read or written. */
static void
test_wrong_key(void **state)
{
	struct world *w = *state;
	struct site *a = &w->a, *b = &w->b;
	struct node other = {0};
	long version = 0;
	char *serial = order_on(w, a, &version);
	char *before = dump_store(w->fx), *after;

	node_open_bad(w->fx, &other, "c", cluster_fixture_key_b);
	job_begin(w, b);
	b->fj.cluster = other.c;
	assert_int_equal(step(w, b, fleet_job_sync), FLEET_FAILED);
	assert_string_not_equal(b->fj.message, "");
	assert_false(b->fj.changed);
	assert_false(b->view.info.present);
	assert_int_equal(step(w, b, fleet_job_lease), FLEET_FAILED);
	assert_int_equal(b->fj.token, 0);
	fleet_job_finish(&b->fj);
	after = dump_store(w->fx);
	assert_string_equal(before, after);
	cluster_destroy(other.c);
	free(before);
	free(after);
	free(serial);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_sync_empty),
	        T(test_first_install),
	        T(test_materialize),
	        T(test_materialize_drops_order),
	        T(test_lease),
	        T(test_conflict),
	        T(test_conflict_under_lease),
	        T(test_owed_push),
	        T(test_owed_push_race),
	        T(test_store_forgot),
	        T(test_store_older),
	        T(test_store_newer_lower_version),
	        T(test_store_older_higher_version),
	        T(test_adopt_order),
	        T(test_shared_state),
	        T(test_finish_in_flight),
	        T(test_store_down),
	        T(test_wrong_key),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("file", tests, group_setup_file, group_teardown);
	failed += cmocka_run_group_tests_name("redis", tests, group_setup_redis, group_teardown);
	return failed;
}
