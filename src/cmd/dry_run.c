#include "cmd/dry_run.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "conf/ca.h"
#include "store/store_cert.h"

int
dry_run_init(struct dry_run *dr, const char *real_state_dir, bool json)
{
	int rc = -1;

	memset(dr, 0, sizeof(*dr));
	dr->real_state_dir = real_state_dir;
	dr->json = json;
	dr->rows = json_array();
	if (dr->rows == NULL) {
		log_error("out of memory");
		goto out;
	}
	/* Never under the real state folder: nothing of it may change, not
	 * even its folder's listing. */
	dr->state_dir = file_temp_dir("acmed-dry-run");
	if (dr->state_dir == NULL) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		dry_run_finish(dr);
	}
	return rc;
}

void
dry_run_finish(struct dry_run *dr)
{
	if (dr->state_dir != NULL && file_remove_tree(dr->state_dir) < 0) {
		log_warn("dry run: %s is left behind: remove it", dr->state_dir);
	}
	free(dr->state_dir);
	json_decref(dr->rows);
	memset(dr, 0, sizeof(*dr));
}

void
dry_run_announce(const struct dry_run *dr)
{
	/* The jobs' lines say "installed in" this folder. */
	log_info("--dry-run: nothing real is installed; the staging account and certificates "
	         "are kept in %s until the end",
	         dr->state_dir);
}

const char *
dry_run_staging_url(const char *name, const struct conf_settings *settings)
{
	const char *ca = settings->ca != NULL ? settings->ca : CA_DEFAULT;
	const char *url = settings->staging;

	if (url == NULL) {
		url = ca_staging_url(ca);
	}
	if (url == NULL) {
		log_error("%s: --dry-run: the CA %s has no known staging directory: set staging = "
		          "URL (its test directory) in acmed.conf",
		          name, ca);
	}
	return url;
}

/* Drops a string key from settings: as if never set. */
static void
unset(struct conf_settings *settings, char **field, enum conf_key key)
{
	free(*field);
	*field = NULL;
	settings->set &= ~((uint64_t)1 << key);
}

enum cli_exit
dry_run_settings(const struct dry_run *dr, const char *name, struct conf_settings *settings)
{
	/* Borrowed from settings' staging or ca.c's table, neither of which
	 * setting ca frees. */
	const char *url = dry_run_staging_url(name, settings);
	char err[256];
	enum cli_exit rc = CLI_EXIT_USAGE;

	if (url == NULL) {
		goto out;
	}
	rc = CLI_EXIT_FAILURE;
	if (conf_set(settings, CONF_WHERE_CLI, "ca", url, err, sizeof(err)) < 0 ||
	    conf_set(settings, CONF_WHERE_CLI, "state-dir", dr->state_dir, err, sizeof(err)) < 0) {
		log_error("%s: --dry-run: %s", name, err);
		goto out;
	}
	/* Nothing real is installed, so nothing is to be deployed; and the
	 * fleet's store holds real certificates only. */
	unset(settings, &settings->deploy_hook, CONF_KEY_DEPLOY_HOOK);
	unset(settings, &settings->cluster, CONF_KEY_CLUSTER);
	/* The production CA's EAB is not the staging one's: staging gets its
	 * own (staging-eab-*), or none. */
	if (settings->staging_eab_kid != NULL && settings->staging_eab_hmac_key != NULL) {
		if (conf_set(settings, CONF_WHERE_CLI, "eab-kid", settings->staging_eab_kid, err,
		             sizeof(err)) < 0 ||
		    conf_set(settings, CONF_WHERE_CLI, "eab-hmac-key",
		             settings->staging_eab_hmac_key, err, sizeof(err)) < 0) {
			log_error("%s: --dry-run: %s", name, err);
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
	} else {
		unset(settings, &settings->eab_kid, CONF_KEY_EAB_KID);
		unset(settings, &settings->eab_hmac_key, CONF_KEY_EAB_HMAC_KEY);
	}
	/* The staging directory alone: a failover must not reach the real
	 * CAs of the certificate's list. */
	free(settings->ca_list);
	settings->ca_list = NULL;
	rc = CLI_EXIT_OK;
out:
	return rc;
}

int
dry_run_more(const struct dry_run *dr, const char *name, struct conf_settings *settings,
             struct conf_settings *more, size_t n_more)
{
	size_t kept = 0;
	size_t len = strlen(settings->ca) + 1;
	char *list = NULL;

	for (size_t i = 0; i < n_more; i++) {
		struct log_capture cap;
		enum cli_exit rc;

		log_capture_begin(&cap);
		cap.demote = true;
		rc = dry_run_settings(dr, name, &more[i]);
		log_capture_end(&cap);
		if (rc != CLI_EXIT_OK) {
			log_info(
			        "%s: --dry-run: %s left out of its failover (no staging directory)",
			        name, more[i].ca != NULL ? more[i].ca : "a CA");
			conf_settings_finish(&more[i]);
			continue;
		}
		if (kept != i) {
			more[kept] = more[i];
			memset(&more[i], 0, sizeof(more[i]));
		}
		len += strlen(more[kept].ca) + 1;
		kept++;
	}
	list = malloc(len);
	if (list == NULL) {
		log_error("out of memory");
		return -1;
	}
	size_t off = (size_t)snprintf(list, len, "%s", settings->ca);

	for (size_t i = 0; i < kept; i++) {
		off += (size_t)snprintf(list + off, len - off, " %s", more[i].ca);
	}
	free(settings->ca_list);
	settings->ca_list = list;
	return (int)kept;
}

/* Counts certificate name's result and prints its line, or keeps its row
 * (json). message: the failure's, or ""; ca: the staging it was ordered
 * from, NULL: dr's. */
static void
add(struct dry_run *dr, const char *name, enum job_result result, const char *message,
    const char *ca)
{
	const char *url = ca != NULL ? ca : dr->ca_url != NULL ? dr->ca_url : "";
	json_t *row;

	dr->counts[result]++;
	row = json_pack("{s:s, s:s, s:s, s:b}", "cert", name, "result", job_result_name(result),
	                "ca", url, "dry_run", 1);
	if (row != NULL && result == JOB_FAILED) {
		json_object_set_new(row, "error", json_string(message));
	}
	if (row == NULL || json_array_append_new(dr->rows, row) < 0) {
		log_error("out of memory");
	}
	if (dr->json) {
		goto out;
	}
	switch (result) {
	case JOB_ISSUED:
	case JOB_RENEWED:
		printf("%s: would be %s by %s\n", name, job_result_name(result), url);
		break;
	case JOB_FAILED:
		printf("%s: failed at %s: %s\n", name, url, message);
		break;
	default:
		printf("%s: %s at %s\n", name, job_result_name(result), url);
		break;
	}
	fflush(stdout);
out:
	return;
}

/* The job's message without the certificate's name before it. */
static const char *
own_message(const struct job_outcome *o)
{
	size_t len = strlen(o->name);
	const char *m = o->message != NULL ? o->message : "";

	if (strncmp(m, o->name, len) == 0 && strncmp(m + len, ": ", 2) == 0) {
		m += len + 2;
	}
	return m[0] != '\0' ? m : "failed";
}

void
dry_run_on_done(const struct job_outcome *outcome, void *arg)
{
	struct dry_run *dr = arg;
	enum job_result result = outcome->result;
	struct store_cert_info info;

	/* The private folder was empty: every order there is an issue. What
	 * a real run does is told by the real folder. */
	if (result == JOB_ISSUED || result == JOB_RENEWED) {
		memset(&info, 0, sizeof(info));
		result = store_cert_inspect(dr->real_state_dir, outcome->name, &info) == 0 &&
		                         info.present
		                 ? JOB_RENEWED
		                 : JOB_ISSUED;
		store_cert_info_finish(&info);
	} else if (result == JOB_DEFERRED) {
		result = JOB_FAILED;
	}
	/* Its CA: the staging it ended at (a failover moves it). */
	add(dr, outcome->name, result, own_message(outcome), outcome->ca_url);
}

void
dry_run_not_run(struct dry_run *dr, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dry_run_row(dr, names[i]) == NULL) {
			add(dr, names[i], JOB_FAILED,
			    "not ordered: no staging account (see the errors above)", NULL);
		}
	}
}

json_t *
dry_run_row(const struct dry_run *dr, const char *name)
{
	size_t i;
	json_t *row;
	json_t *ret = NULL;

	json_array_foreach(dr->rows, i, row)
	{
		const char *cert = json_string_value(json_object_get(row, "cert"));

		if (cert != NULL && strcmp(cert, name) == 0) {
			ret = row;
			break;
		}
	}
	return ret;
}
