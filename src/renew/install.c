#include "renew/install.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/bundle.h"
#include "crypto/cert_chain.h"
#include "crypto/key.h"
#include "renew/policy.h"

void
install_output_from(const struct conf_settings *s, struct install_output *out)
{
	memset(out, 0, sizeof(*out));
	out->formats = s->output;
	out->pkcs12_password_file = s->pkcs12_password_file;
	out->key_access.uid = s->key_owner;
	out->key_access.gid = s->key_group;
	out->key_access.mode = (unsigned)s->key_mode;
	out->cert_access.uid = s->cert_owner;
	out->cert_access.gid = s->cert_group;
	out->cert_access.mode = (unsigned)s->cert_mode;
}

/* What differs from what a set gets without settings: NULL when nothing
 * does, so that the usual install costs no more calls. */
static const struct store_cert_access *
access_of(const struct store_cert_access *a, unsigned def)
{
	return a->uid >= 0 || a->gid >= 0 || a->mode != def ? a : NULL;
}

/* The password in pkcs12-password-file: its first line (a trailing newline
 * is not part of it). New string (bundle_free, with *len), or NULL with
 * the reason in message. */
static char *
read_password(const struct install_request *req, size_t *len, char *message, size_t msglen)
{
	const char *path = req->output->pkcs12_password_file;
	char *text;

	if (path == NULL) {
		text = calloc(1, 1);
		*len = 1;
		if (text == NULL) {
			snprintf(message, msglen, "%s: out of memory", req->name);
		}
		return text;
	}
	text = file_read(path, INSTALL_PASSWORD_MAX, len);
	if (text == NULL) {
		snprintf(message, msglen,
		         "%s: pkcs12-password-file %s: %s; nothing installed, the previous "
		         "certificate stays",
		         req->name, path,
		         errno == EFBIG ? "longer than 1024 bytes" : strerror(errno));
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

/* combined.pem and cert.p12 into set when asked for (bundle_free both).
 * 0, or -1 with message set. */
static int
make_bundles(const struct install_request *req, struct cert_chain *chain,
             struct store_cert_set *set, char *message, size_t len)
{
	size_t full_len = set->cert_len + set->chain_len;
	char *full = NULL;
	char *password = NULL;
	size_t password_len = 0;
	int rc = -1;

	if ((req->output->formats & CONF_OUTPUT_COMBINED) != 0) {
		full = malloc(full_len + 1);
		if (full == NULL) {
			snprintf(message, len, "%s: out of memory", req->name);
			goto out;
		}
		memcpy(full, set->cert_pem, set->cert_len);
		memcpy(full + set->cert_len, set->chain_pem, set->chain_len);
		set->combined = bundle_combined(req->key, full, full_len, &set->combined_len);
		if (set->combined == NULL) {
			snprintf(message, len, "%s: combined.pem cannot be made (see above)",
			         req->name);
			goto out;
		}
	}
	if ((req->output->formats & CONF_OUTPUT_PKCS12) != 0) {
		password = read_password(req, &password_len, message, len);
		if (password == NULL) {
			goto out;
		}
		set->pkcs12 = bundle_pkcs12(req->key, chain, req->name, password, &set->pkcs12_len);
		if (set->pkcs12 == NULL) {
			snprintf(message, len, "%s: cert.p12 cannot be made (see above)",
			         req->name);
			goto out;
		}
	}
	rc = 0;
out:
	bundle_free(password, password_len);
	free(full);
	return rc;
}

/* A host clock off from the CA's shows in what it issues: say so, once per
 * install; the policy's floor keeps it from ordering in a loop. */
static void
warn_skew(const struct install_request *req, time_t not_before, time_t not_after)
{
	time_t now = time(NULL);
	char date[LOG_TIME_LEN];

	log_time(not_before, date, sizeof(date));
	if (not_before > now + 300) {
		log_warn("%s: the certificate is valid only from %s, %ld s from now: is the host "
		         "clock behind? (check NTP)",
		         req->name, date, (long)(not_before - now));
	}
	if (policy_renewal_time(not_before, not_after, req->renew_before) <= now) {
		log_warn("%s: due again the moment it was installed (valid from %s): is the host "
		         "clock ahead, or renew-before longer than the CA's lifetime? the next "
		         "order waits at least %ld s",
		         req->name, date, policy_floor(not_before, not_after));
	}
}

/* Whether leaf (PEM) is the installed cert.pem, byte for byte. */
static bool
same_as_installed(const struct install_request *req, const char *leaf, size_t leaf_len)
{
	size_t len = 0;
	char *have = store_cert_read_leaf(req->state_dir, req->name, &len);
	bool same = have != NULL && len == leaf_len && memcmp(have, leaf, len) == 0;

	free(have);
	return same;
}

/* The new set's info from what is being installed as set version. 0 or
 * -1 (memory). */
static int
describe(const struct install_request *req, const struct cert_brief *leaf, long version,
         struct store_cert_info *info)
{
	enum key_type kt;

	memset(info, 0, sizeof(*info));
	info->present = true;
	cert_brief_times(leaf, &info->not_before, &info->not_after);
	info->ari_id = cert_brief_ari_id(leaf);
	info->issuer = cert_brief_issuer_name(leaf);
	if (cert_brief_key_type(leaf, &kt) == 0) {
		snprintf(info->key_type, sizeof(info->key_type), "%s", key_type_name(kt));
	}
	info->version = version;
	if (ident_list_copy(req->ids, req->n_ids, &info->ids) < 0) {
		return -1;
	}
	info->n_ids = req->n_ids;
	return 0;
}

/* What a failed install leaves: the set installed before, if any. */
static const char *
what_stays(const struct install_request *req)
{
	return store_cert_version(req->state_dir, req->name) >= 0 ? "the previous one stays"
	                                                          : "nothing is installed";
}

/* "cannot install" in message, with the first error the store logged. */
static void
cannot_install(const struct install_request *req, const struct log_capture *cap, char *message,
               size_t len)
{
	/* Kept in state.json: the reason, not a pointer to the log. */
	snprintf(message, len, "%s: cannot install the certificate: %.400s; %s", req->name,
	         cap->first[0] != '\0' ? cap->first : "write failed", what_stays(req));
}

void
install_staged_finish(struct install_staged *st)
{
	store_cert_staged_finish(&st->set);
	store_cert_info_finish(&st->info);
}

enum install_result
install_stage(const struct install_request *req, const char *pem, size_t pem_len,
              struct install_staged *st, char *message, size_t len)
{
	enum install_result result = INSTALL_FAILED;
	struct cert_chain chain;
	struct store_cert_set set;
	char err[512];
	char *key_pem = NULL;
	char *leaf = NULL;
	char *rest = NULL;
	struct log_capture cap;
	int stored;

	memset(&chain, 0, sizeof(chain));
	memset(&set, 0, sizeof(set));
	memset(st, 0, sizeof(*st));
	st->info.version = -1;
	if (cert_chain_parse(pem, pem_len, &chain, err, sizeof(err)) < 0 ||
	    cert_chain_check(&chain, req->key, req->ids, req->n_ids, time(NULL), err, sizeof(err)) <
	            0) {
		snprintf(message, len,
		         "%s: the CA's certificate was refused, nothing installed: %s", req->name,
		         err);
		result = INSTALL_REFUSED;
		goto out;
	}
	if (!req->key_pending) {
		key_pem = key_to_pem(req->key, &set.key_len);
	}
	leaf = cert_chain_pem(&chain, 0, 1, &set.cert_len);
	if (leaf != NULL && req->resumed && same_as_installed(req, leaf, set.cert_len)) {
		/* A resumed order whose certificate was installed just before
		 * a crash: nothing to switch, no deploy hook to run again. */
		result = INSTALL_SAME;
		goto out;
	}
	rest = cert_chain_pem(&chain, 1, chain.n, &set.chain_len);
	if ((key_pem == NULL && !req->key_pending) || leaf == NULL || rest == NULL) {
		snprintf(message, len, "%s: out of memory", req->name);
		goto out;
	}
	set.key_pem = key_pem;
	set.cert_pem = leaf;
	set.chain_pem = rest;
	if (req->output != NULL) {
		set.key_access = access_of(&req->output->key_access, 0600);
		set.cert_access = access_of(&req->output->cert_access, 0644);
		if (make_bundles(req, &chain, &set, message, len) < 0) {
			goto out;
		}
	}
	log_capture_begin(&cap);
	stored = store_cert_stage(req->state_dir, req->name, &set, &st->set);
	log_capture_end(&cap);
	if (stored < 0) {
		cannot_install(req, &cap, message, len);
		goto out;
	}
	if (describe(req, chain.leaf, st->set.next, &st->info) < 0) {
		snprintf(message, len, "%s: out of memory", req->name);
		install_staged_finish(st);
		goto out;
	}
	result = INSTALL_STAGED;
out:
	if (key_pem != NULL) {
		key_pem_free(key_pem, set.key_len);
	}
	bundle_free((char *)set.combined, set.combined_len);
	bundle_free((unsigned char *)set.pkcs12, set.pkcs12_len);
	free(leaf);
	free(rest);
	cert_chain_finish(&chain);
	return result;
}

enum install_result
install_switch(const struct install_request *req, struct install_staged *st, int sync_err,
               char *message, size_t len)
{
	struct log_capture cap;
	int stored;

	if (sync_err != 0) {
		snprintf(message, len, "%s: cannot install the certificate: %s: fsync: %s; %s",
		         req->name, st->set.vdir, strerror(sync_err), what_stays(req));
		install_staged_finish(st);
		return INSTALL_FAILED;
	}
	log_capture_begin(&cap);
	stored = store_cert_switch(&st->set);
	log_capture_end(&cap);
	if (stored < 0) {
		cannot_install(req, &cap, message, len);
		install_staged_finish(st);
		return INSTALL_FAILED;
	}
	return INSTALL_SWITCHED;
}

enum install_result
install_settle(const struct install_request *req, struct install_staged *st, int sync_err,
               struct store_cert_info *info, char *message, size_t len)
{
	char date[LOG_TIME_LEN];

	memset(info, 0, sizeof(*info));
	info->version = -1;
	if (sync_err != 0) {
		/* As a failed write: the switch may not outlast a power loss. */
		snprintf(message, len, "%s: cannot install the certificate: %s: fsync: %s",
		         req->name, st->set.dir, strerror(sync_err));
		install_staged_finish(st);
		return INSTALL_FAILED;
	}
	store_cert_settle(&st->set);
	*info = st->info;
	memset(&st->info, 0, sizeof(st->info));
	log_time(info->not_after, date, sizeof(date));
	log_info("%s: installed in %s, valid until %s", req->name, req->dir, date);
	warn_skew(req, info->not_before, info->not_after);
	return INSTALL_DONE;
}

enum install_result
install_chain(const struct install_request *req, const char *pem, size_t pem_len,
              struct store_cert_info *info, char *message, size_t len)
{
	struct install_staged st;
	enum install_result result = install_stage(req, pem, pem_len, &st, message, len);
	struct log_capture cap;
	int err = 0;

	memset(info, 0, sizeof(*info));
	info->version = -1;
	if (result != INSTALL_STAGED) {
		return result;
	}
	log_capture_begin(&cap);
	if (store_cert_staged_sync(&st.set) < 0) {
		err = -1;
	}
	log_capture_end(&cap);
	if (err < 0) {
		cannot_install(req, &cap, message, len);
		install_staged_finish(&st);
		return INSTALL_FAILED;
	}
	result = install_switch(req, &st, 0, message, len);
	if (result != INSTALL_SWITCHED) {
		return result;
	}
	return install_settle(req, &st, file_sync_dir(st.set.dir) < 0 ? errno : 0, info, message,
	                      len);
}
