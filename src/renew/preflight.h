/* Preflight: what a certificate's settings need on this host, checked
 * before anything reaches the CA (an account registered, an EAB key used
 * up, an order placed), so that an issuance is never burned on a state
 * folder that cannot keep it, a deploy hook that cannot run or a port that
 * cannot be bound. Runs nothing and leaves nothing behind; needs no event
 * loop. */
#ifndef ACMED_PREFLIGHT_H
#define ACMED_PREFLIGHT_H

#include <stddef.h>

#include "acme/acme_parse.h"
#include "conf/conf.h"

/* The space and inodes a new certificate version needs in the state
 * folder, with room to spare (one version is about 10 KiB in 5 files). */
#define PREFLIGHT_MIN_FREE_BYTES (1024L * 1024L)
#define PREFLIGHT_MIN_FREE_INODES 64L

/* Bits of preflight_check's flags. */
enum preflight_flag {
	/* Do not bind http-listen or tls-listen: for a daemon whose responder
	 * already holds the port (a bind would fail on itself). A one-shot
	 * command must not set it: a port held by someone else (a web server,
	 * the daemon) is then refused before the order. */
	PREFLIGHT_NO_LISTEN = 1 << 0,
};

/* problem: one line, "subject: what failed: why: what to do", naming the
 * config key (and flag) to set; no trailing newline. Borrowed for the call. */
typedef void (*preflight_report_fn)(const char *problem, void *arg);

/* Checks everything s (resolved settings, borrowed) needs locally:
 *   - the state folder and, under it, accounts/ and certs/<cert_name>/:
 *     each exists or its nearest existing parent folder is where it would be
 *     created; that folder is writable (a temp file of a few KiB written,
 *     fsynced and removed, so that a read-only or full file system shows) and
 *     has PREFLIGHT_MIN_FREE_BYTES and PREFLIGHT_MIN_FREE_INODES free;
 *   - deploy-hook, and the dns-hook or http-hook the challenge uses: the
 *     program exists and is executable (as hook_run finds it);
 *   - webroot, when http-01 uses it: exists, and a file can be written
 *     where the token files go (.well-known/acme-challenge/, or the folder
 *     that would hold it);
 *   - http-listen / tls-listen, when acmed's own responder answers: the
 *     address can be bound (bound, then closed), unless PREFLIGHT_NO_LISTEN.
 * Creates no folder. state_dir: the state folder, or NULL for s->state_dir,
 * else the default (store_default_dir). cert_name: the certificate's name, or
 * NULL to check the state folder and the settings alone; lines about the
 * certificate (hooks, webroot, ports) start with "cert_name: ". report is
 * called once per problem, all of them (not only the first); NULL logs each
 * with log_error. Returns 0 when there is none, -1 otherwise (running out of
 * memory is reported as a problem). */
int preflight_check(const char *state_dir, const char *cert_name, const struct conf_settings *s,
                    unsigned flags, preflight_report_fn report, void *arg);

/* What preflight_check_memo found to work, kept across its calls, so that
 * many certificates with the same hooks, webroot and listen addresses have
 * each checked once, and a state folder write (fsync'd, its space checked)
 * is made once per file system: the folders of the other certificates on
 * it are checked with access(2). Only what passed is remembered: a problem
 * is found and said again for each certificate that has it. */
struct preflight_memo;

/* NULL when out of memory. */
struct preflight_memo *preflight_memo_create(void);

void preflight_memo_destroy(struct preflight_memo *memo);

/* preflight_check with memo (NULL: none, as preflight_check). A hook's
 * warning about shell operators is then said for the first certificate
 * only. */
int preflight_check_memo(struct preflight_memo *memo, const char *state_dir, const char *cert_name,
                         const struct conf_settings *s, unsigned flags, preflight_report_fn report,
                         void *arg);

/* draft-ietf-acme-profiles section 3: whether profile (NULL: none asked)
 * is one the CA's directory (NULL: unknown) lists; else the CA would refuse
 * the order or ignore the name. Returns 0, or -1 with err (len bytes):
 * "profile P: the CA does not offer it; it offers A, B" or "profile P: the
 * CA offers no profiles (remove the profile key)". */
int preflight_profile(const struct acme_directory *dir, const char *profile, char *err, size_t len);

#endif
