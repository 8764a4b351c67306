/* Installing what the CA issued: the chain is checked against the order's
 * key and names, then switched in with the key as the certificate's new set
 * (store_cert_stage, a sync, store_cert_switch). Calls nothing back: the
 * job decides what follows from the result, and syncs between the steps.
 * The caller holds the certificate's lock. */
#ifndef ACMED_INSTALL_H
#define ACMED_INSTALL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ident.h"
#include "conf/conf.h"
#include "store/store_cert.h"

enum install_result {
	INSTALL_DONE, /* the new set is the installed one */
	INSTALL_STAGED, /* install_stage: written, to be synced and switched */
	INSTALL_SWITCHED, /* install_switch: current, to be synced and settled */
	INSTALL_SAME, /* a resumed order's certificate, already installed */
	INSTALL_REFUSED, /* the CA's chain failed its checks: nothing changed */
	INSTALL_FAILED, /* could not be installed here (a full disk): nothing
	                 * changed; the message says why */
	INSTALL__MAX,
};

/* What a set holds besides the PEM files and who may read it: from the
 * settings output, pkcs12-password-file, key-owner and the like. */
struct install_output {
	long formats; /* enum conf_output bits */
	const char *pkcs12_password_file; /* borrowed; NULL: an empty password */
	struct store_cert_access key_access; /* the key, combined.pem, cert.p12 */
	struct store_cert_access cert_access; /* cert, chain, fullchain */
};

/* out from resolved settings s (pkcs12_password_file borrowed from s). */
void install_output_from(const struct conf_settings *s, struct install_output *out);

/* The longest pkcs12-password-file read. */
#define INSTALL_PASSWORD_MAX 1024

struct install_request {
	const char *state_dir;
	const char *name;
	const char *dir; /* certs/<name>, for the log */
	EVP_PKEY *key; /* the order's key */
	/* key is the one in pending.key (store_cert_pending_save): linked into
	 * the set, not encoded and written again */
	bool key_pending;
	const struct ident *ids; /* the order's names */
	size_t n_ids;
	long renew_before; /* seconds, 0: auto (for the clock-skew warning) */
	bool resumed; /* from an order an earlier run left */
	const struct install_output *output; /* NULL: pem only, 0600 and 0644 */
};

/* Checks pem (pem_len bytes, the CA's chain, leaf first) and installs it,
 * each file fsynced on the caller's thread. On INSTALL_DONE, info
 * (store_cert_info_finish) describes the new set as store_cert_inspect
 * would, without reading it back. On INSTALL_FAILED, message (len bytes)
 * says why in one line, naming the certificate. */
enum install_result install_chain(const struct install_request *req, const char *pem,
                                  size_t pem_len, struct store_cert_info *info, char *message,
                                  size_t len);

/* The same in three steps around two group syncs (store/store_sync.h):
 * install_stage checks and writes the new set, unsynced (INSTALL_STAGED:
 * st->set.paths to sync; any other result as install_chain's, st holding
 * nothing); once that sync ended with sync_err (0 or an errno),
 * install_switch makes it current (INSTALL_SWITCHED: st->set.dir to sync;
 * or INSTALL_FAILED, the set removed, the one before still current); once
 * that sync ended, install_settle prunes the older sets and says it is
 * installed (INSTALL_DONE, info filled; INSTALL_FAILED when the folder
 * could not be synced). st is finished by a failure or install_settle, or
 * by install_staged_finish when the job ends in between. */
struct install_staged {
	struct store_cert_staged set;
	struct store_cert_info info; /* the new set, once switched to */
};

enum install_result install_stage(const struct install_request *req, const char *pem,
                                  size_t pem_len, struct install_staged *st, char *message,
                                  size_t len);
enum install_result install_switch(const struct install_request *req, struct install_staged *st,
                                   int sync_err, char *message, size_t len);
enum install_result install_settle(const struct install_request *req, struct install_staged *st,
                                   int sync_err, struct store_cert_info *info, char *message,
                                   size_t len);
void install_staged_finish(struct install_staged *st);

#endif
