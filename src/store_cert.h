/* Installed certificates under <state>/certs/<name>/:
 *
 *   v/<n>/            one folder per issued set: privkey.pem (0600),
 *                     cert.pem, chain.pem, fullchain.pem
 *   current -> v/<n>  switched atomically (rename of a symlink), so the key
 *   previous -> v/<m> and the certificate change together
 *   privkey.pem cert.pem chain.pem fullchain.pem -> current/...
 *   state.json        see job.c
 *
 * A failed install leaves every installed file as it was. */
#ifndef ACMED_STORE_CERT_H
#define ACMED_STORE_CERT_H

#include <stddef.h>

struct store_cert_set {
	const char *key_pem;
	size_t key_len;
	const char *cert_pem; /* the leaf */
	size_t cert_len;
	const char *chain_pem; /* the issuers, may be empty */
	size_t chain_len;
};

/* Whether name is a sane certificate name ([A-Za-z0-9._-], 1..64, not
 * starting with '.'). */
int store_cert_name_ok(const char *name);

/* certs/<name> under state_dir. New string or NULL. */
char *store_cert_dir(const char *state_dir, const char *name);

/* Installs set as the new current one and keeps the old current as
 * previous; older sets are removed. Returns 0, or -1 (logged) with nothing
 * installed. */
int store_cert_install(const char *state_dir, const char *name, const struct store_cert_set *set);

#endif
