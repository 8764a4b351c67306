/* What the daemon answers on its control socket (daemon.h): status row by
 * row, its jobs, renew --now, whether it watches a certificate (delete),
 * an account reload. */
#include "cmd/daemon.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/json_text.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "renew/status.h"
#include "store/cluster.h"

static void
add_job(const struct job *job, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:I}", "cert", job_name(job), "state",
	                                     job_state(job), "since", (json_int_t)job_since(job)));
}

/* The most a status answer takes: what a client reads (io/ctl.c); about
 * 350 bytes a certificate, so some 700,000. */
#define STATUS_TEXT_MAX (256 * 1024 * 1024)

/* What add_row writes with. */
struct status_text {
	struct buf text;
	const char *state_dir;
	time_t now;
};

/* A status row's text after a comma (none before the first): the whole
 * row but its files' paths, so that `acmed status` passes it on without
 * reading the files. */
static void
add_row(const struct status_row *row, void *arg)
{
	struct status_text *t = arg;

	json_text_next(&t->text);
	/* Without "paths": the command adds them (status_paths_write). */
	status_row_write(&t->text, row, NULL, true, t->now);
}

/* {"ready": ..., "certs": [rows]}, written row by row: 100,000 rows as one
 * tree of JSON values would hold ten times the memory of their text. */
static char *
status_text(struct daemon *d)
{
	struct status_text t = {.state_dir = d->state_dir, .now = time(NULL)};
	const char *head =
	        d->ready ? "{\"ready\":true,\"certs\":[" : "{\"ready\":false,\"certs\":[";

	buf_init(&t.text, STATUS_TEXT_MAX);
	buf_add(&t.text, head, strlen(head));
	if (d->schedule != NULL && !t.text.failed) {
		schedule_each(d->schedule, add_row, &t);
	}
	buf_add(&t.text, "]}", 2);
	if (t.text.failed) {
		buf_finish(&t.text);
		log_error("status: out of memory, or an answer past %d MiB",
		          STATUS_TEXT_MAX / (1024 * 1024));
		return ctl_reply_json(json_pack("{s:s}", "error", "out of memory"));
	}
	return buf_steal(&t.text, NULL);
}

/* The answer to every request but status. */
static json_t *
answer(struct daemon *d, const char *cmd, const char *cert)
{
	json_t *list = json_array();

	if (strcmp(cmd, "jobs") == 0) {
		if (d->runner != NULL) {
			job_runner_each(d->runner, add_job, list);
		}
		return json_pack(
		        "{s:I, s:I, s:o}", "active",
		        (json_int_t)(d->runner != NULL ? job_runner_active(d->runner) : 0),
		        "pending",
		        (json_int_t)(d->runner != NULL ? job_runner_waiting(d->runner) : 0), "jobs",
		        list);
	}
	json_decref(list);
	/* Sent by acmed account rollover, update and deactivate once done. */
	if (strcmp(cmd, "account-reload") == 0) {
		int rc = daemon_reload_account(d, "acmed account");

		if (rc == ACME_ACCOUNT_BUSY) {
			return json_pack("{s:s}", "error",
			                 "the account is locked by another process");
		}
		if (rc < 0) {
			return json_pack("{s:s}", "error",
			                 "the account files are not usable (see the daemon's log)");
		}
		return json_pack("{s:b, s:b}", "ok", 1, "changed", rc == 1);
	}
	/* Asked by acmed delete: a certificate this daemon renews is not
	 * taken from under it. */
	if (strcmp(cmd, "watches") == 0 && cert != NULL) {
		struct conf_settings s;

		return json_pack("{s:b}", "watched",
		                 d->schedule != NULL ? schedule_settings(d->schedule, cert, &s) == 0
		                                     : conf_find_cert(&d->conf, cert) != NULL);
	}
	if (strcmp(cmd, "renew") == 0 && cert != NULL) {
		/* A name the configuration does not hold is the asker's
		 * mistake (exit 2), whether or not the CA answers yet: until
		 * the schedule holds the certificates, the sections do. */
		if (d->schedule == NULL && conf_find_cert(&d->conf, cert) == NULL) {
			return json_pack("{s:s, s:b}", "error", "no such certificate", "unknown",
			                 1);
		}
		if (d->schedule == NULL) {
			return json_pack(
			        "{s:s}", "error",
			        "the daemon is not connected to its CA yet; it renews what "
			        "is due once it is (see its log)");
		}
		if (schedule_renew_now(d->schedule, cert) < 0) {
			return json_pack("{s:s, s:b}", "error", "no such certificate", "unknown",
			                 1);
		}
		if (d->fleet.cluster != NULL &&
		    cluster_state(d->fleet.cluster, NULL) != CLUSTER_STATE_READY) {
			/* Asked of this node only: it orders once the store is
			 * back (a restart meanwhile forgets it). */
			return json_pack(
			        "{s:b, s:s}", "ok", 1, "waits",
			        cluster_state(d->fleet.cluster, NULL) == CLUSTER_STATE_BAD_KEY
			                ? "the fleet's store is held by another cluster "
			                  "key (see the daemon's log): the renewal waits for "
			                  "it (asked of this node only)"
			                : "the fleet's store cannot be reached: the renewal "
			                  "waits for it (asked of this node only; ask again "
			                  "if it restarts meanwhile)");
		}
		return json_pack("{s:b}", "ok", 1);
	}
	return json_pack("{s:s}", "error", "unknown command");
}

char *
daemon_on_request(json_t *request, void *arg)
{
	struct daemon *d = arg;
	const char *cmd = NULL;
	const char *cert = NULL;
	const char *listening = NULL;

	if (json_unpack(request, "{s:s, s?s, s?s}", "cmd", &cmd, "cert", &cert, "listening",
	                &listening) != 0) {
		return ctl_reply_json(json_pack("{s:s}", "error", "no \"cmd\""));
	}
	if (strcmp(cmd, "status") == 0) {
		return status_text(d);
	}
	/* A command hands a certificate over only when the port in its way
	 * is this daemon's: one held by another program fails here too. */
	if (listening != NULL &&
	    !(d->responders != NULL && responders_listen_on(d->responders, listening)) &&
	    !(d->runner != NULL && job_runner_listens(d->runner, listening))) {
		return ctl_reply_json(json_pack(
		        "{s:s, s:b}", "error", "the daemon does not listen there", "elsewhere", 1));
	}
	return ctl_reply_json(answer(d, cmd, cert));
}
