/* test_fleet.c's fixture (fleet_fixture.h). */
#include "fleet_fixture.h"

#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "base/file.h"
#include "crypto/cert.h"
#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "renew/install.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "pki.h"
#include "tmpdir.h"

static const char *const names[] = {"example.com", "www.example.com"};

static const struct ident ids[] = {
        {IDENT_DNS, (char *)"example.com"},
        {IDENT_DNS, (char *)"www.example.com"},
};

/* --- the nodes' jobs ---------------------------------------------------------- */

void
on_fleet(enum fleet_result rc, void *arg)
{
	struct site *s = arg;

	s->calls++;
	s->rc = rc;
}

/* A job starts as job.c's: the view read from the state folder, a fresh
 * fleet context. */
void
job_begin(struct world *w, struct site *s)
{
	policy_view_finish(&s->view);
	policy_view_init(&s->view);
	assert_int_equal(policy_view_load(s->state_dir, NAME, &s->view), 0);
	fleet_job_init(&s->fj);
	s->fj.cluster = s->n->c;
	s->fj.loop = w->fx->loop;
	s->fj.state_dir = s->state_dir;
	s->fj.name = NAME;
	s->fj.dir = s->dir;
	s->fj.ids = ids;
	s->fj.n_ids = 2;
	s->fj.deploy_hook = s->deploy_hook;
	s->fj.ca_url = CA_URL;
	s->fj.view = &s->view;
}

/* And ends as job.c's: the view saved, the shared state put (attempted),
 * the lease let go. */
void
job_end(struct site *s, bool attempted)
{
	fleet_job_finish(&s->fj);
	s->view.st.version = s->view.info.version >= 0 ? s->view.info.version : 0;
	assert_int_equal(file_mkdirs(s->dir, 0700), 0);
	assert_int_equal(state_save(s->dir, NAME, &s->view.st), 0);
	fleet_job_end(&s->fj, attempted);
	assert_int_equal(s->fj.token, 0);
	assert_false(ev_is_active(&s->fj.extend));
}

/* One step (fleet_job_sync, _lease, _installed), awaited: answered once,
 * from the loop. */
enum fleet_result
step(struct world *w, struct site *s, fleet_step_fn fn)
{
	s->calls = 0;
	assert_int_equal(fn(&s->fj, on_fleet, s), 0);
	assert_int_equal(s->calls, 0);
	run_until(w->fx, &s->calls, 1, WAIT_S);
	assert_null(s->fj.call);
	return s->rc;
}

/* A new set on s as job_install makes it: a new key, a leaf for it from
 * the test's CA, install_chain, the view recording it. Its serial (free()). */
char *
install_new(struct world *w, struct site *s)
{
	time_t now = time(NULL);
	EVP_PKEY *key = pki_key();
	/* As a CA's: a later set is issued later (notBefore tells which of
	 * two sets is the newer). */
	time_t issued = now - PKI_DAY + w->issued++;
	X509 *leaf = pki_leaf(&w->ca, key, names, 2, issued, now + 89 * PKI_DAY);
	size_t len = 0;
	char *pem = pki_chain(&w->ca, leaf, &len);
	char *serial = cert_serial_hex(leaf);
	struct install_request req;
	struct store_cert_info info;
	char message[512] = "";

	memset(&req, 0, sizeof(req));
	req.state_dir = s->state_dir;
	req.name = NAME;
	req.dir = s->dir;
	req.key = key;
	req.ids = ids;
	req.n_ids = 2;
	assert_int_equal(install_chain(&req, pem, len, &info, message, sizeof(message)),
	                 INSTALL_DONE);
	store_cert_info_finish(&s->view.info);
	s->view.info = info;
	assert_int_equal(
	        policy_record_install(&s->view.st, now, &info, CA_URL, s->deploy_hook, false), 0);
	assert_non_null(serial);
	free(pem);
	X509_free(leaf);
	EVP_PKEY_free(key);
	return serial;
}

/* The serial of the set installed on s (free()), NULL when none. */
char *
installed_serial(const struct site *s)
{
	char *path = store_cert_path(s->state_dir, NAME, STORE_CERT_CERT);
	char err[256];
	X509 *x = cert_load(path, err, sizeof(err));
	char *serial = x != NULL ? cert_serial_hex(x) : NULL;

	X509_free(x);
	free(path);
	return serial;
}

EVP_PKEY *
installed_key(const struct site *s)
{
	EVP_PKEY *key = NULL;

	assert_int_equal(store_cert_key_load(s->state_dir, NAME, &key, NULL, 0), 1);
	return key;
}

/* The store's record of NAME, read by node a's handle. */
void
record(struct world *w, struct result *res)
{
	CALL(w->fx, res, cluster_cert_get(w->fx->a.c, NAME, on_cert, res));
	assert_int_equal(res->rc, CLUSTER_OK);
}

/* The same through s's handle: after s's fire-and-forget calls (one
 * connection answers in order). */
void
record_by(struct world *w, struct site *s, struct result *res)
{
	CALL(w->fx, res, cluster_cert_get(s->n->c, NAME, on_cert, res));
	assert_int_equal(res->rc, CLUSTER_OK);
}

/* Waits until nobody holds NAME's lease (a fire-and-forget release done;
 * on Redis, the calls before it on that connection too). */
void
wait_released(struct world *w)
{
	struct result res = {0};
	int i;

	for (i = 0; i < 200; i++) {
		CALL(w->fx, &res, cluster_lease_holder(w->fx->a.c, NAME, on_done, &res));
		assert_int_equal(res.rc, CLUSTER_OK);
		if (res.holder[0] == '\0') {
			break;
		}
		sleep_ms(w->fx, 10);
	}
	assert_string_equal(res.holder, "");
	result_reset(&res);
}

/* The job on s that orders: sync, lease, a new set, installed, end. Its
 * serial (free()); the store's version after it in *version. */
char *
order_on(struct world *w, struct site *s, long *version)
{
	char *serial;

	job_begin(w, s);
	assert_int_equal(step(w, s, fleet_job_sync), FLEET_OK);
	assert_int_equal(step(w, s, fleet_job_lease), FLEET_OK);
	assert_true(s->fj.token > 0);
	assert_true(ev_is_active(&s->fj.extend));
	serial = install_new(w, s);
	assert_int_equal(step(w, s, fleet_job_installed), FLEET_OK);
	*version = s->view.st.fleet_version;
	job_end(s, true);
	wait_released(w);
	return serial;
}

/* A job on s that only syncs (as one deciding nothing is due). */
void
sync_on(struct world *w, struct site *s)
{
	job_begin(w, s);
	assert_int_equal(step(w, s, fleet_job_sync), FLEET_OK);
	job_end(s, false);
}

/* A set made on s while the store was away (what fleet_job_installed
 * leaves after a DOWN, test_owed_push): installed, owed, its fleet
 * version the one it started from. Its serial (free()). */
char *
make_owed(struct world *w, struct site *s)
{
	char *serial;

	job_begin(w, s);
	serial = install_new(w, s);
	s->view.st.fleet_owed = true;
	job_end(s, false);
	return serial;
}

/* --- setup ---------------------------------------------------------------------- */

static void
site_init(struct site *s, struct node *n, const char *tag)
{
	s->n = n;
	s->state_dir = tmpdir_make(tag);
	s->dir = store_cert_dir(s->state_dir, NAME);
	assert_non_null(s->dir);
	s->deploy_hook = true;
	policy_view_init(&s->view);
	fleet_job_init(&s->fj);
}

static void
site_finish(struct site *s)
{
	fleet_job_finish(&s->fj);
	policy_view_finish(&s->view);
	tmpdir_remove(s->state_dir);
	free(s->state_dir);
	free(s->dir);
}

int
world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	void *fx = *state;

	assert_non_null(w);
	setup(&fx);
	w->fx = fx;
	pki_init(&w->ca);
	site_init(&w->a, &w->fx->a, "fleet-a");
	site_init(&w->b, &w->fx->b, "fleet-b");
	*state = w;
	return 0;
}

int
world_teardown(void **state)
{
	struct world *w = *state;
	void *fx = w->fx;

	site_finish(&w->a);
	site_finish(&w->b);
	pki_finish(&w->ca);
	teardown(&fx);
	*state = fx;
	free(w);
	return 0;
}

/* A cluster handle that never becomes ready: a Redis URL nothing listens
 * on, or a store folder made unusable behind its back. */
struct cluster *
open_down(struct world *w, bool redis, char **folder)
{
	struct cluster_config config;
	struct cluster *c;
	char url[600], err[256];

	*folder = NULL;
	if (redis) {
		snprintf(url, sizeof(url), "redis://127.0.0.1:%d", redis_server_free_port());
	} else {
		*folder = tmpdir_make("fleet-down");
		snprintf(url, sizeof(url), "file://%s/store", *folder);
	}
	memset(&config, 0, sizeof(config));
	config.url = url;
	config.node = "c";
	memcpy(config.key, cluster_fixture_key_a, CLUSTER_KEY_LEN);
	c = cluster_create(w->fx->loop, &config, err, sizeof(err));
	assert_non_null(c);
	if (!redis) {
		tmpdir_remove(strstr(url, "//") + 2);
		free(tmpdir_write(*folder, "store", "not a folder\n", 0600));
	}
	sleep_ms(w->fx, 200);
	assert_int_not_equal(cluster_state(c, NULL), CLUSTER_STATE_READY);
	assert_false(cluster_up(c));
	return c;
}

/* Empties the store behind the nodes' backs (a new or wiped one). */
void
wipe_store(struct world *w)
{
	char path[700];

	if (w->fx->g->redis) {
		freeReplyObject(redis_server_command(&w->fx->g->server, 0, "FLUSHALL"));
		return;
	}
	snprintf(path, sizeof(path), "%s/cert", w->fx->url + strlen("file://"));
	tmpdir_remove(path);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/versions", w->fx->url + strlen("file://"));
	tmpdir_remove(path);
}
