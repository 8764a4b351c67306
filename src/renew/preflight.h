/* Preflight: what a certificate's settings need on this host, checked
 * before anything reaches the CA (an account registered, an EAB key used
 * up, an order placed), so that an issuance is never burned on a state
 * folder that cannot keep it, a deploy hook that cannot run or a port that
 * cannot be bound. Runs nothing and leaves nothing behind; needs no event
 * loop. */
#ifndef ACMED_PREFLIGHT_H
#define ACMED_PREFLIGHT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

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

#define PREFLIGHT_MEMO_DEVS 16
#define PREFLIGHT_MEMO_MAX 64
#define PREFLIGHT_MEMO_SECONDS 60

/* What checks in a row found to work in the last PREFLIGHT_MEMO_SECONDS:
 * the daemon's start over every certificate, a batch's jobs, a command and
 * its job. A hook, webroot or listen address that passed is not checked
 * again, and a state folder write (a test file fsynced, the space checked)
 * is made once per file system: the folders of the other certificates on it
 * are checked for access (faccessat) and space only. So a thousand
 * certificates do not write, sync and remove a thousand test files, or
 * three thousand. Only what passed is remembered: a problem is found and
 * said again for each certificate that has it. Zeroed before the first use;
 * preflight_memo_finish frees it. */
struct preflight_memo {
	char *passed[PREFLIGHT_MEMO_MAX]; /* "kind\nkey\nvalue" of checks that passed */
	time_t passed_at[PREFLIGHT_MEMO_MAX]; /* CLOCK_MONOTONIC seconds */
	size_t n_passed;
	dev_t written[PREFLIGHT_MEMO_DEVS]; /* file systems a state folder write passed on */
	time_t written_at[PREFLIGHT_MEMO_DEVS];
	size_t n_written;
};

void preflight_memo_finish(struct preflight_memo *memo);

/* dst (overwritten) becomes a copy of src; what cannot be copied (out of
 * memory) is left out, to be checked again. */
void preflight_memo_copy(struct preflight_memo *dst, const struct preflight_memo *src);

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
 * with log_error. memo: NULL, or what earlier checks found (see struct
 * preflight_memo), updated; a hook's warning about shell operators is then
 * said for the first certificate only. Returns 0 when there is none, -1
 * otherwise (running out of memory is reported as a problem). */
int preflight_check(const char *state_dir, const char *cert_name, const struct conf_settings *s,
                    unsigned flags, struct preflight_memo *memo, preflight_report_fn report,
                    void *arg);

/* draft-ietf-acme-profiles section 3: whether profile (NULL: none asked)
 * is one the CA's directory (NULL: unknown) lists; else the CA would refuse
 * the order or ignore the name. Returns 0, or -1 with err (len bytes):
 * "profile P: the CA does not offer it; it offers A, B" or "profile P: the
 * CA offers no profiles: drop --profile (or the profile key)". */
int preflight_profile(const struct acme_directory *dir, const char *profile, char *err, size_t len);

#endif
