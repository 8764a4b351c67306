/* The job's record: state.json written as the job goes, and the order's
 * journal, which the group commit makes durable (store/store_sync.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "renew/job_internal.h"
#include "store/state.h"
#include "store/store_cert.h"
#include "store/store_sync.h"

/* The order is over, whatever its outcome: nothing to resume. */
void
job_forget_order(struct job *job)
{
	store_cert_pending_remove(job->sh->state_dir, job->name);
	job->pending_key = NULL;
	free(job->view.st.order_url);
	job->view.st.order_url = NULL;
	job->dirty = true;
}

/* The set the record speaks of: a higher one found later was switched to
 * by a job that did not live to record it. */
static void
record_version(struct job *job)
{
	job->view.st.version = job->view.info.version >= 0 ? job->view.info.version : 0;
}

/* A journal written and not in state.json's place yet is dropped: the
 * record about to be written holds all it held. */
static void
drop_journal(struct job *job)
{
	if (job->journal_temp == NULL) {
		return;
	}
	store_sync_cancel(job->sh->sync, job->journal_sync);
	job->journal_sync = NULL;
	unlink(job->journal_temp);
	free(job->journal_temp);
	job->journal_temp = NULL;
}

int
job_journal_write(struct job *job)
{
	char tmp[PATH_MAX];

	drop_journal(job);
	record_version(job);
	if (state_save_temp(job->dir, job->name, &job->view.st, tmp, sizeof(tmp)) < 0) {
		return -1;
	}
	job->journal_temp = strdup(tmp);
	if (job->journal_temp == NULL) {
		unlink(tmp);
		log_error("%s: out of memory", job->name);
		return -1;
	}
	job->dirty = false;
	return 0;
}

static void
journal_lost(const struct job *job, int err)
{
	log_warn("%s: %s: the order's journal: %s: the order would not be resumed after a power "
	         "loss",
	         job->name, job->dir, strerror(err));
}

/* A record written beside state.json (tmp), synced (err 0): renamed over
 * state.json, the folder not synced; not synced (err): removed. Returns 0,
 * or err or the rename's errno. */
static int
put_in_place(const struct job *job, const char *tmp, int err)
{
	char *path = file_path(job->dir, "state.json", NULL);

	if (err == 0 && path == NULL) {
		err = ENAMETOOLONG;
	} else if (err == 0 && rename(tmp, path) < 0) {
		err = errno;
	}
	if (err != 0) {
		unlink(tmp);
	}
	free(path);
	return err;
}

/* Once the group commit synced job->journal_temp (err: its errno, or 0):
 * renames it over state.json (the folder not synced). Returns 0 (also with
 * none), or -1 with errno set (err, or the rename's), the temp file removed
 * and the job's record due again (dirty). */
static int
journal_commit(struct job *job, int err)
{
	if (job->journal_temp == NULL) {
		return 0;
	}
	err = put_in_place(job, job->journal_temp, err);
	if (err != 0) {
		/* What it held is written with the job's last record. */
		job->dirty = true;
	}
	free(job->journal_temp);
	job->journal_temp = NULL;
	errno = err;
	return err != 0 ? -1 : 0;
}

void
job_journal_settle(struct job *job)
{
	char *key = store_cert_path(job->sh->state_dir, job->name, STORE_CERT_PENDING_KEY);
	int err = 0;

	store_sync_cancel(job->sh->sync, job->journal_sync);
	job->journal_sync = NULL;
	if (key == NULL) {
		err = ENOMEM;
	} else if (file_sync_path(key) < 0 || file_sync_path(job->journal_temp) < 0) {
		err = errno;
	}
	free(key);
	if (journal_commit(job, err) < 0 || file_sync_dir(job->dir) < 0) {
		journal_lost(job, errno);
	}
}

void
job_save(struct job *job)
{
	drop_journal(job);
	record_version(job);
	if (state_save(job->dir, job->name, &job->view.st) == 0) {
		job->dirty = false;
	}
}

/* pending.key and the record beside state.json, or (journal_temp NULL)
 * the folder, are on the disk, or err says why not. */
static void
on_journal_synced(int err, void *arg)
{
	struct job *job = arg;

	job->journal_sync = NULL;
	if (job->journal_temp != NULL) {
		/* pending.key and the record are on the disk: the record
		 * takes state.json's place, then the folder is synced. */
		if (journal_commit(job, err) < 0) {
			err = errno;
		} else {
			job->journal_sync =
			        store_sync_start(job->sh->sync, (const char *const *)&job->dir, 1,
			                         on_journal_synced, job);
			if (job->journal_sync == NULL && file_sync_dir(job->dir) < 0) {
				err = errno;
			}
		}
	}
	if (err != 0) {
		journal_lost(job, err);
	}
}

void
job_journal_sync(struct job *job)
{
	char *key = store_cert_path(job->sh->state_dir, job->name, STORE_CERT_PENDING_KEY);

	/* An earlier order's wait (a failover) may have begun its round
	 * before these writes: a new one covers both. */
	store_sync_cancel(job->sh->sync, job->journal_sync);
	job->journal_sync = NULL;
	if (key != NULL) {
		const char *paths[] = {key, job->journal_temp};

		job->journal_sync =
		        store_sync_start(job->sh->sync, paths, 2, on_journal_synced, job);
	}
	free(key);
	if (job->journal_sync == NULL) {
		/* Out of memory: synced here and now. */
		job_journal_settle(job);
	}
}

/* Puts the last record (tmp) in state.json's place once synced (err 0);
 * removes it otherwise (logged). */
static void
record_commit(struct job *job, const char *tmp, int err)
{
	err = put_in_place(job, tmp, err);
	if (err != 0) {
		log_error("%s: %s/state.json: write: %s", job->name, job->dir, strerror(err));
	} else {
		job->dirty = false;
	}
}

static void
on_record_synced(int err, void *arg)
{
	struct job *job = arg;

	job->record_sync = NULL;
	record_commit(job, job->record_temp, err);
	free(job->record_temp);
	job->record_temp = NULL;
	/* The last thing done with job here: recorded may free it. */
	job->recorded(job);
}

int
job_record_last(struct job *job, void (*recorded)(struct job *job))
{
	char tmp[PATH_MAX];
	const char *paths[] = {tmp};

	drop_journal(job);
	record_version(job);
	if (state_save_temp(job->dir, job->name, &job->view.st, tmp, sizeof(tmp)) < 0) {
		return -1;
	}
	job->record_temp = strdup(tmp);
	if (job->record_temp != NULL) {
		job->recorded = recorded;
		job->record_sync = store_sync_start(job->sh->sync, paths, 1, on_record_synced, job);
		if (job->record_sync != NULL) {
			return 0;
		}
		free(job->record_temp);
		job->record_temp = NULL;
	}
	/* Out of memory: synced here and now. */
	record_commit(job, tmp, file_sync_path(tmp) < 0 ? errno : 0);
	return -1;
}

void
job_record_settle(struct job *job)
{
	store_sync_cancel(job->sh->sync, job->record_sync);
	job->record_sync = NULL;
	if (job->record_temp != NULL) {
		record_commit(job, job->record_temp,
		              file_sync_path(job->record_temp) < 0 ? errno : 0);
		free(job->record_temp);
		job->record_temp = NULL;
	}
}
