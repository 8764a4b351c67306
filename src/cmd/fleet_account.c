#include "cmd/fleet.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme_account.h"
#include "base/file.h"
#include "base/log.h"
#include "cmd/fleet_wait.h"
#include "store/store_account.h"

#define ACCOUNT_MAX (64 * 1024)
/* How long a node waits for the account another one registers. */
#define ACCOUNT_WAIT_TRIES 60
#define FLEET_ACCOUNT_LEASE_MS 60000L

/* --- the account --------------------------------------------------------------- */

static char *
account_path(const char *state_dir, const char *ca_url, enum store_account_file file)
{
	char *host = acme_account_ca_dir(ca_url);
	char *path = host != NULL ? store_account_path(state_dir, host, file) : NULL;

	free(host);
	return path;
}

/* This node's account files set aside (account.*.local) before the fleet's
 * are written over them. */
static void
set_aside(const char *state_dir, const char *ca_url)
{
	char *key = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
	char *json = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON);
	char *key_local = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY_LOCAL);
	char *json_local = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON_LOCAL);

	if (key != NULL && key_local != NULL && rename(key, key_local) == 0) {
		log_warn("this node's account key differs from the fleet's: set aside as %s",
		         key_local);
	}
	if (json != NULL && json_local != NULL) {
		(void)rename(json, json_local);
	}
	free(key);
	free(json);
	free(key_local);
	free(json_local);
}

/* Writes the fleet's account here. Returns 1 when the files changed, 0
 * when they were the same, -1 on failure (logged). */
static int
write_account(const char *state_dir, const char *ca_url, const char *key_pem, const char *json)
{
	char *key_path = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
	char *json_path = account_path(state_dir, ca_url, STORE_ACCOUNT_JSON);
	char *dir = account_path(state_dir, ca_url, STORE_ACCOUNT_DIR);
	size_t len = 0;
	char *have = key_path != NULL ? file_read(key_path, ACCOUNT_MAX, &len) : NULL;
	int rc = -1;

	if (key_path == NULL || json_path == NULL || dir == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (have != NULL && strcmp(have, key_pem) == 0) {
		rc = 0;
		goto out;
	}
	if (have != NULL) {
		set_aside(state_dir, ca_url);
	}
	/* The key first: a crash between leaves a key whose account is
	 * looked up again (acme_account_open), never a URL without it. */
	if (file_mkdirs(dir, 0700) < 0 ||
	    file_write_atomic(key_path, key_pem, strlen(key_pem), 0600) < 0 ||
	    file_write_atomic(json_path, json, strlen(json), 0600) < 0) {
		log_error("cannot write the fleet's account into %s", dir);
		goto out;
	}
	log_info("the fleet's account installed in %s", dir);
	rc = 1;
out:
	if (have != NULL) {
		OPENSSL_cleanse(have, len);
	}
	free(have);
	free(key_path);
	free(json_path);
	free(dir);
	return rc;
}

/* The fleet's account for ca_url into w8 (waited for). Returns 0 when the
 * store answered. */
static int
get_account(struct cmd_fleet *f, const char *ca_url, struct fleet_wait *w8)
{
	char *host = acme_account_ca_dir(ca_url);
	int rc = -1;

	memset(w8, 0, sizeof(*w8));
	if (host != NULL && cluster_account_get(f->cluster, host, fleet_wait_on_account, w8) == 0) {
		fleet_wait_run(f->loop, w8, fleet_wait_done, w8, FLEET_CONNECT_WAIT);
		rc = w8->done && w8->r.rc == CLUSTER_OK ? 0 : -1;
		if (w8->done && w8->r.rc != CLUSTER_OK) {
			log_warn("cluster: the fleet's account: %s", w8->r.message);
		}
		if (!w8->done) {
			/* Its answer must not reach a struct that is gone. */
			fleet_wait_run(f->loop, w8, fleet_wait_done, w8, 60.0);
		}
	}
	free(host);
	return rc;
}

/* The lease on registering the fleet's account (a name no certificate
 * can have): held by the node that registers it, until it is stored. */
static void
account_lease_name(const char *ca_url, char *out, size_t len)
{
	char *host = acme_account_ca_dir(ca_url);

	snprintf(out, len, ".account.%s", host != NULL ? host : "");
	free(host);
}

static enum cluster_result
take_account_lease(struct cmd_fleet *f, const char *ca_url)
{
	struct fleet_wait w8;
	char name[300];

	memset(&w8, 0, sizeof(w8));
	account_lease_name(ca_url, name, sizeof(name));
	if (cluster_lease_take(f->cluster, name, FLEET_ACCOUNT_LEASE_MS, fleet_wait_on_reply, &w8) <
	    0) {
		return CLUSTER_ERROR;
	}
	fleet_wait_run(f->loop, &w8, fleet_wait_done, &w8, 60.0);
	if (w8.r.rc == CLUSTER_OK) {
		f->account_token = w8.r.token;
	}
	return w8.r.rc;
}

int
cmd_fleet_account_pull(struct cmd_fleet *f, const char *state_dir, const char *ca_url)
{
	struct fleet_wait w8;

	if (f->cluster == NULL) {
		return 0;
	}
	if (cluster_state(f->cluster, NULL) != CLUSTER_STATE_READY) {
		char *key = account_path(state_dir, ca_url, STORE_ACCOUNT_KEY);
		bool have = key != NULL && access(key, F_OK) == 0;

		free(key);
		if (!have) {
			bool bad = cluster_state(f->cluster, NULL) == CLUSTER_STATE_BAD_KEY;

			log_error("cluster: %s %s and this node has no account for %s yet: it "
			          "takes the fleet's once the store can be used (a node registers "
			          "none on its own)",
			          cluster_name(f->cluster),
			          bad ? "was set up with another cluster key" : "cannot be reached",
			          ca_url);
			return -1;
		}
		/* This node's own: compared with the fleet's once it is back. */
		return 0;
	}
	if (get_account(f, ca_url, &w8) == 0 && w8.key_pem == NULL &&
	    take_account_lease(f, ca_url) == CLUSTER_BUSY) {
		/* Another node registers the fleet's account right now: that
		 * one, rather than one account per node. */
		log_info("cluster: waiting for the account another node registers");
		for (int i = 0;
		     i < ACCOUNT_WAIT_TRIES && w8.r.rc == CLUSTER_OK && w8.key_pem == NULL; i++) {
			fleet_wait_sleep(f->loop, 0.5);
			fleet_wait_finish(&w8);
			(void)get_account(f, ca_url, &w8);
		}
	}
	if (w8.key_pem != NULL && w8.json != NULL) {
		(void)write_account(state_dir, ca_url, w8.key_pem, w8.json);
	}
	fleet_wait_finish(&w8);
	return 0;
}

void
cmd_fleet_account_push(struct cmd_fleet *f, struct acme_account_handle *acct, const char *state_dir,
                       const char *ca_url)
{
	struct fleet_wait w8;
	char *key_pem = NULL;
	char *json = NULL;
	size_t key_len = 0, json_len = 0;
	char *host = acme_account_ca_dir(ca_url);

	memset(&w8, 0, sizeof(w8));
	if (f->cluster == NULL || host == NULL ||
	    cluster_state(f->cluster, NULL) != CLUSTER_STATE_READY) {
		goto out;
	}
	key_pem = file_read(acct->key_path, ACCOUNT_MAX, &key_len);
	json = file_read(acct->json_path, ACCOUNT_MAX, &json_len);
	if (key_pem == NULL || json == NULL ||
	    cluster_account_put(f->cluster, host, key_pem, json, fleet_wait_on_reply, &w8) < 0) {
		goto out;
	}
	fleet_wait_run(f->loop, &w8, fleet_wait_done, &w8, 60.0);
	if (w8.r.rc == CLUSTER_OK) {
		log_info("cluster: this node's account is the fleet's");
	} else if (w8.r.rc == CLUSTER_CONFLICT) {
		/* Another node registered at the same time: its account wins. */
		fleet_wait_finish(&w8);
		if (get_account(f, ca_url, &w8) == 0 && w8.key_pem != NULL && w8.json != NULL &&
		    write_account(state_dir, ca_url, w8.key_pem, w8.json) == 1) {
			acme_account_reload(acct);
		}
	}
out:
	if (f->account_token != 0) {
		char name[300];

		account_lease_name(ca_url, name, sizeof(name));
		cluster_lease_release(f->cluster, name, f->account_token, NULL, NULL);
		f->account_token = 0;
	}
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, key_len);
	}
	fleet_wait_finish(&w8);
	free(key_pem);
	free(json);
	free(host);
}
