/* Installed certificates under <state>/certs/<name>/:
 *
 *   v/<n>/            one folder per issued set: privkey.pem (0600),
 *                     cert.pem, chain.pem, fullchain.pem (0644), and when
 *                     asked for, combined.pem and cert.p12 (as the key)
 *   current -> v/<n>  switched atomically (rename of a symlink), so the key
 *   previous -> v/<m> and the certificate change together
 *   privkey.pem cert.pem chain.pem fullchain.pem -> current/...
 *   combined.pem cert.p12 -> current/...  while the current set has them
 *   state.json        see state.h
 *   pending.key       the key of an order in flight (see job.c)
 *
 * and <state>/locks/cert.<name>, its lock (store_lock.h), held for a whole
 * order, install and deploy.
 *
 * Only this module and state.c spell these names. A failed install leaves
 * every installed file as it was. */
#ifndef ACMED_STORE_CERT_H
#define ACMED_STORE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "base/ident.h"
#include "store/store_lock.h"

enum store_cert_file {
	STORE_CERT_PRIVKEY,
	STORE_CERT_CERT,
	STORE_CERT_CHAIN,
	STORE_CERT_FULLCHAIN,
	STORE_CERT_PENDING_KEY,
	STORE_CERT_LOCK,
	STORE_CERT_COMBINED, /* the key then the full chain, when asked for */
	STORE_CERT_PKCS12, /* cert.p12, when asked for */
	STORE_CERT_FILE__MAX,
};

/* Who may read some files of a set: owner and group (-1: the writer's),
 * mode. With an owner or group, the certificate's folders (certs/<name>,
 * its v/ and v/<n>) are opened to 0755 so that they can reach the files;
 * the state folder above is the operator's. */
struct store_cert_access {
	long uid;
	long gid;
	unsigned mode;
};

struct store_cert_set {
	/* NULL: the key is the one store_cert_pending_save kept (pending.key),
	 * linked into the set rather than written again */
	const char *key_pem;
	size_t key_len;
	const char *cert_pem; /* the leaf */
	size_t cert_len;
	const char *chain_pem; /* the issuers, may be empty */
	size_t chain_len;
	/* NULL when not asked for: combined.pem and cert.p12, which hold the
	 * key and are written as it is */
	const char *combined;
	size_t combined_len;
	const unsigned char *pkcs12;
	size_t pkcs12_len;
	/* NULL: the writer's, 0600 for the key and 0644 for the rest. The
	 * key's is set on the file, pending.key linked in too (the same
	 * file); an earlier set's key keeps its own. */
	const struct store_cert_access *key_access;
	const struct store_cert_access *cert_access;
};

/* Whether name is a sane certificate name ([A-Za-z0-9._-], 1..64, not
 * starting with '.'). */
int store_cert_name_ok(const char *name);

/* certs/<name> under state_dir. New string or NULL. */
char *store_cert_dir(const char *state_dir, const char *name);

/* The path of one of its files (the top-level name for the installed four).
 * New string, or NULL for a bad name or a path too long. */
char *store_cert_path(const char *state_dir, const char *name, enum store_cert_file file);

/* Takes the certificate's lock without waiting, creating locks/ when
 * needed: see store_lock_try (holder, errno EWOULDBLOCK when taken). */
struct store_lock *store_cert_lock(const char *state_dir, const char *name, char *holder);

/* The n of the v/<n> current points at, or -1 when nothing is installed:
 * changes with every install. */
long store_cert_version(const char *state_dir, const char *name);

/* When the installed set was switched to (the current link's change time,
 * to the nanosecond), 0 when none. */
double store_cert_installed_at(const char *state_dir, const char *name);

/* What is installed, as the renewal policy needs it. store_index.c keeps
 * it on disk: a field added here is added there too. */
struct store_cert_info {
	bool present; /* a readable cert.pem */
	char problem[256]; /* "" or what is wrong with the installed set */
	time_t not_before;
	time_t not_after;
	struct ident *ids; /* its names; owned */
	size_t n_ids;
	char *ari_id; /* RFC 9773 certificate ID, or NULL; owned */
	char key_type[16]; /* of the leaf's key (key_type_name), "" when another */
	char *issuer; /* cert_issuer_name of the leaf, or NULL; owned */
	long version; /* the v/<n> current points at, -1 if none */
};

/* Reads the installed set of certs/<name>: cert.pem's dates, names and ARI
 * ID; and whether the set is whole: every file present, privkey.pem the key
 * of cert.pem, chain.pem readable, fullchain.pem cert.pem then chain.pem
 * (info->problem says what is not). Returns 0 (also when nothing is
 * installed: present false), or -1 when out of memory. Not logged. Free with
 * store_cert_info_finish. */
int store_cert_inspect(const char *state_dir, const char *name, struct store_cert_info *info);

void store_cert_info_finish(struct store_cert_info *info);

/* The same for the certificate's folder open as dirfd (O_DIRECTORY): a
 * start that reads 100,000 opens each folder once for its identities, its
 * set and its state.json (store_index). */
int store_cert_inspect_at(int dirfd, struct store_cert_info *info);

/* store_cert_inspect_at that also gives the identities of what it read:
 * *id what store_cert_identities_at would give for the files read (taken
 * from the descriptors read, so exactly theirs, with no stat before), 0
 * when some file could not be read (a set with nothing or not all
 * installed: the caller keeps no record of it); *folder (may be NULL)
 * the folder's. */
int store_cert_inspect_ident_at(int dirfd, struct store_cert_info *info, uint64_t *id,
                                uint64_t *folder);

/* file_identity of certs/<name>/ itself: another number once a file was
 * added to, removed from or renamed in it (state.json written, a set
 * installed, a link replaced or removed). 0 for a bad name. */
uint64_t store_cert_folder_identity(const char *state_dir, const char *name);

/* The same, certs/ open as certs (store_cert_open_certs): one path
 * component looked up instead of the whole path, for a look at every
 * certificate. */
uint64_t store_cert_folder_identity_at(int certs, const char *name);

/* state_dir's certs/ folder opened (O_DIRECTORY, O_CLOEXEC): a
 * descriptor, or -1 (errno). */
int store_cert_open_certs(const char *state_dir);

/* A number for the files store_cert_inspect reads: while it stays the same,
 * inspecting again finds the same. The folder's identity (see above: the
 * four links and current are its entries) with the file_identity of each
 * of the set's files through current/. folder (may be NULL) gets the
 * folder's own. 0 for a bad name. */
uint64_t store_cert_identity(const char *state_dir, const char *name, uint64_t *folder);

/* The same, with *state (may be NULL) the identity of certs/<name>/state.json
 * (state_identity's) and *folder the folder's, all read from one
 * descriptor of the folder. */
uint64_t store_cert_identities(const char *state_dir, const char *name, uint64_t *folder,
                               uint64_t *state);

/* The same from the certificate's folder open as dirfd. */
uint64_t store_cert_identities_at(int dirfd, uint64_t *folder, uint64_t *state);

/* The key of an order in flight (pending.key), kept so that a restart
 * resumes the order: saved (0600, atomically, its folder not synced: its
 * name lasts with the next state_save of the same certificate, which
 * records the order it belongs to, or with the install, whose set links
 * the file in a synced folder; 0 or -1 logged), loaded (a new
 * key, or NULL when there is none or it is unreadable, logged then), and
 * removed once the order is over (nothing when there is none). */
int store_cert_pending_save(const char *state_dir, const char *name, EVP_PKEY *key);
/* The same with file_write_atomic_flags's flags: FILE_NO_SYNC for a
 * caller that syncs it (and its folder) with others, store_sync.h. */
int store_cert_pending_save_flags(const char *state_dir, const char *name, EVP_PKEY *key,
                                  unsigned flags);
EVP_PKEY *store_cert_pending_load(const char *state_dir, const char *name);
void store_cert_pending_remove(const char *state_dir, const char *name);

/* The installed key (privkey.pem), for reuse-key. Returns 1 with *key set,
 * 0 when none is installed, -1 when it cannot be read (logged); path (len
 * bytes, may be NULL) gets the file's path for messages. */
int store_cert_key_load(const char *state_dir, const char *name, EVP_PKEY **key, char *path,
                        size_t len);

/* The installed cert.pem as bytes (free()), its length in *len; NULL when
 * none or unreadable. */
char *store_cert_read_leaf(const char *state_dir, const char *name, size_t *len);

/* Removes certs/<name> whole: the installed sets, the links, pending.key,
 * state.json and its lock file. The caller holds the certificate's lock.
 * Files it does not know are left, and so is the folder then. Returns 0,
 * or -1 with why (len bytes) naming what could not be removed. */
int store_cert_remove(const char *state_dir, const char *name, char *why, size_t len);

/* Installs set as the new current one and keeps the old current as
 * previous; older sets are removed (never current, previous or a newer
 * one). The caller holds the certificate's lock. Returns 0, or -1 (logged)
 * with nothing installed. */
int store_cert_install(const char *state_dir, const char *name, const struct store_cert_set *set);

/* The same in two steps, for a caller that makes the new set durable
 * together with other certificates' (store/store_sync.h) instead of
 * fsyncing its files one by one on the loop (store_cert_install.c). */
#define STORE_CERT_STAGED_PATHS 8
struct store_cert_staged {
	char *dir; /* certs/<name> */
	char *vdir; /* its new v/<n>, written; NULL once switched or removed */
	long current; /* the set current pointed at, -1 none */
	long next; /* n */
	bool combined; /* the set has combined.pem */
	bool pkcs12; /* and cert.p12 */
	/* What must be durable before the switch: the files written into
	 * vdir (not fsynced), vdir last. */
	char *paths[STORE_CERT_STAGED_PATHS];
	size_t n_paths;
};

/* Writes set into a new v/<n> of certs/<name>, nothing fsynced, nothing
 * pointing at it yet. Returns 0, or -1 (logged) with nothing left. */
int store_cert_stage(const char *state_dir, const char *name, const struct store_cert_set *set,
                     struct store_cert_staged *staged);

/* fsync of each of staged->paths, on the caller's thread: 0, or -1
 * (logged). */
int store_cert_staged_sync(const struct store_cert_staged *staged);

/* Once staged->paths are durable: makes the new set current (the links
 * previous, current and the top-level names, as store_cert_install), the
 * folder not synced. Returns 0, then the caller makes staged->dir durable
 * and calls store_cert_settle (or store_cert_staged_finish when that sync
 * fails); or -1 (logged) with staged finished: the set removed when
 * current did not point at it yet. */
int store_cert_switch(struct store_cert_staged *staged);

/* Once the switch is durable: the sets older than the new one and the
 * old current (now previous) are removed, leftovers of crashes too, and
 * staged is finished. */
void store_cert_settle(struct store_cert_staged *staged);

/* Removes a staged set that will not be switched to (safe after the
 * switch too) and frees what staged holds. */
void store_cert_staged_finish(struct store_cert_staged *staged);

#endif
