/* What store_cert.c, store_cert_write.c, store_cert_install.c and
 * store_cert_remove.c share: the names of a certificate folder's files,
 * the sweeps of its sets and leftovers, and the writing of a new set's
 * files. Only those include it. */
#ifndef ACMED_STORE_CERT_INTERNAL_H
#define ACMED_STORE_CERT_INTERNAL_H

#include "store/store_cert.h"

/* Above every set number: v/<n> stays below it. */
#define STORE_CERT_MAX_VERSION 1000000000L

/* The name of file in the folder (and in a set's): "cert.pem". Borrowed,
 * static. */
const char *store_cert_file_name(enum store_cert_file file);

/* The highest n of dir's v/<n>, or -1 when it has none. With prune, the
 * sets below newest but keep1 and keep2 are removed (never one above
 * newest: another writer's in progress). */
long store_cert_scan_versions(const char *dir, long newest, long keep1, long keep2, int prune);

/* Removes the temp files and links a writer killed midway left in dir.
 * The caller holds the certificate's lock. */
void store_cert_remove_leftovers(const char *dir);

/* store_cert_write.c: writes set's files into vdir (new, empty, nothing
 * points at it yet; dir its certificate's folder, vroot dir/v) with the
 * owner, group and mode set asks for, none fsynced: their paths and
 * vdir's are added to staged->paths. With an owner or group asked for, dir, vroot and vdir are
 * opened to 0755 first. Returns 0 or -1 (logged); the caller removes vdir
 * then. */
int store_cert_write_set(const char *dir, const char *vroot, const char *vdir,
                         const struct store_cert_set *set, struct store_cert_staged *staged);

/* The set number a link of dir (current, previous) points at, -1 none. */
long store_cert_link_version(const char *dir, const char *name);

/* Removes the set folder vdir and the files of a set in it. */
void store_cert_remove_version(const char *vdir);

/* Makes the top-level names of dir point into current/ (store_cert.c):
 * combined.pem and cert.p12 when the set has them. */
int store_cert_ensure_links(const char *dir, bool combined, bool pkcs12);

#endif
