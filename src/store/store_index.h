/* <state>/certs.index: what store_cert_inspect found in each certificate's
 * installed set and what state_load read from its state.json, each with
 * the identity of the files it came from (store_cert_identity,
 * state_identity). Parsing a set costs a millisecond or more (OpenSSL's
 * decoders for the certificate, the key and the chain), reading state.json
 * tens of microseconds; a few stat(2) calls tell whether they can have
 * changed. A daemon starting with 100,000 certificates, its hourly look at
 * them and `acmed status` read only what changed since they last looked.
 *
 * The file is a cache: written atomically by whoever holds an index (no
 * lock: of two writers, one's whole file stays), read back only as far as
 * it reads as this version wrote it. Jobs never use it: they read the
 * files themselves, under the certificate's lock, before they decide. */
#ifndef ACMED_STORE_INDEX_H
#define ACMED_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/state.h"
#include "store/store_cert.h"

struct store_index;

/* Reads state_dir's index (state_dir borrowed, kept for the index's life);
 * a missing, unreadable or foreign file gives an empty index. NULL only
 * when out of memory (logged). */
struct store_index *store_index_open(const char *state_dir);

/* store_cert_inspect and state_load for certs/<name> through the index:
 * what it recorded for the files that are the same, what they hold for
 * the others (recorded). An unreadable state.json reads as an empty state.
 * folder (may be NULL) gets the folder's identity
 * (store_cert_folder_identity) from before the files were read. Returns 0,
 * or -1 when out of memory or for a bad name (info and st then empty, as
 * store_cert_inspect and state_init leave them). Safe to call from several
 * threads at once for different names; the other functions are not. */
int store_index_read(struct store_index *ix, const char *name, struct store_cert_info *info,
                     struct state *st, uint64_t *folder);

/* store_index_read for the n names on every processor at once, what was
 * read kept for the next store_index_read of each name (once, without
 * looking at the files again): a daemon's start reads every certificate,
 * and a set never indexed costs tens of microseconds to parse. */
void store_index_preload(struct store_index *ix, const char *const *names, size_t n);

/* Keeps name's record, as when it was looked up, without looking at its
 * files: for a certificate known not to have changed. */
void store_index_keep(struct store_index *ix, const char *name);

/* Forgets name's record (a certificate removed from the state folder). */
void store_index_forget(struct store_index *ix, const char *name);

/* Forgets the records of every name not looked up (or kept) since the last
 * store_index_sweep (or since open): certificates no longer configured.
 * Returns how many were forgotten. */
size_t store_index_sweep(struct store_index *ix);

/* Writes the index when anything in it changed since it was read or last
 * saved; not when the state folder is not writable for this user (a
 * command run by another user than the daemon's). Returns 0, or -1 (a
 * cache that cannot be written is only slower next time; logged when the
 * write failed). */
int store_index_save(struct store_index *ix);

/* How many records the index holds. */
size_t store_index_count(const struct store_index *ix);

/* How many sets store_index_read parsed and how many state.json it read
 * from the files (not from the index) since the index was opened. */
void store_index_reads(const struct store_index *ix, size_t *sets, size_t *states);

void store_index_close(struct store_index *ix);

#endif
