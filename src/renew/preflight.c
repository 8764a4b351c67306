#include "renew/preflight.h"

#include "store/store_account.h"
#include "challenge/challenge.h"
#include "challenge/responders.h"
#include "challenge/select.h"
#include "io/hook.h"
#include "io/listener.h"
#include "base/log.h"
#include "base/file.h"
#include "base/ident.h"
#include "store/store.h"
#include "store/store_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* A new version's files are about this big: writing as much shows a full
 * file system even when statvfs rounds in its favour. */
#define PREFLIGHT_STATE_WRITE_BYTES (16 * 1024)
/* A token file is a few hundred bytes. */
#define PREFLIGHT_WEBROOT_WRITE_BYTES 1024
#define PREFLIGHT_MAX_LINE 1024
#define PREFLIGHT_MAX_TESTED 4 /* the state folder, accounts/, certs/NAME/ */
#define PREFLIGHT_TEMP_NAME ".acmed-preflight-XXXXXX"
#define PREFLIGHT_WELL_KNOWN ".well-known/acme-challenge" /* challenge_webroot.c */

struct run {
	struct preflight_memo *memo; /* or NULL */
	const char *cert_name; /* NULL: lines have no certificate prefix */
	preflight_report_fn report;
	void *arg;
	int problems;
	char *tested[PREFLIGHT_MAX_TESTED]; /* folders written to already */
	size_t n_tested;
};

/* One problem: "[cert_name: ]message". */
static void __attribute__((format(printf, 3, 4)))
problem(struct run *r, bool about_cert, const char *fmt, ...)
{
	char line[PREFLIGHT_MAX_LINE];
	size_t off = 0;
	va_list ap;

	line[0] = '\0';
	if (about_cert && r->cert_name != NULL) {
		snprintf(line, sizeof(line), "%s: ", r->cert_name);
		off = strlen(line);
	}
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	r->problems++;
	if (r->report != NULL) {
		r->report(line, r->arg);
	} else {
		log_error("%s", line);
	}
}

/* Cuts path to its parent folder in place ("/a/b" -> "/a", "/a" -> "/",
 * "a" -> "."). Returns -1 when path has none ("/", "."). */
static int
cut_to_parent(char *path)
{
	size_t len = strlen(path);
	int ret = -1;

	while (len > 1 && path[len - 1] == '/') {
		path[--len] = '\0';
	}
	if (strcmp(path, "/") == 0 || strcmp(path, ".") == 0) {
		goto out;
	}
	while (len > 0 && path[len - 1] != '/') {
		len--;
	}
	if (len == 0) {
		snprintf(path, 2, ".");
	} else {
		while (len > 1 && path[len - 1] == '/') {
			len--;
		}
		path[len] = '\0';
	}
	ret = 0;
out:
	return ret;
}

/* The folder that holds path or would hold it once created: path itself
 * when it exists, else its nearest existing parent. Returns 0 with a new
 * string in *found and its file system in *dev, or -1 with errno set
 * (ENOTDIR: a file where a folder should be) and the offending path in
 * *found (NULL when out of memory). */
static int
nearest_folder(const char *path, char **found, dev_t *dev)
{
	struct stat st;
	char *cur = strdup(path);
	int ret = -1;

	*found = NULL;
	if (cur == NULL) {
		errno = ENOMEM;
		goto out;
	}
	for (;;) {
		if (stat(cur, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				*dev = st.st_dev;
				ret = 0;
			} else {
				errno = ENOTDIR;
			}
			break;
		}
		/* ENOTDIR: a file among the parents, found on the way up. */
		if ((errno != ENOENT && errno != ENOTDIR) || cut_to_parent(cur) < 0) {
			break;
		}
	}
	*found = cur;
out:
	return ret;
}

/* Creates a temp file in dir, writes size bytes, fsyncs and removes it:
 * what an install does, so that a read-only or full file system shows
 * (fsync is where some report ENOSPC). Returns 0, or -1 with errno set. */
static int
try_write(const char *dir, size_t size)
{
	static const char zeros[4096];
	char *path = file_path(dir, PREFLIGHT_TEMP_NAME, (char *)NULL);
	size_t chunk;
	bool created = false;
	int fd = -1;
	int err = 0;
	int ret = -1;

	if (path == NULL) {
		err = errno != 0 ? errno : ENOMEM;
		goto out;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	created = true;
	while (size > 0) {
		chunk = size < sizeof(zeros) ? size : sizeof(zeros);
		if (file_write_all(fd, zeros, chunk) < 0) {
			err = errno;
			goto out;
		}
		size -= chunk;
	}
	if (fsync(fd) < 0) {
		err = errno;
		goto out;
	}
	ret = close(fd);
	fd = -1;
	if (ret < 0) {
		err = errno;
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	if (created) {
		unlink(path);
	}
	free(path);
	if (ret < 0) {
		errno = err;
	}
	return ret;
}

/* What to do about a folder acmed cannot write in. */
static const char *
state_fix(int err)
{
	const char *fix;

	switch (err) {
	case ENOSPC:
	case EDQUOT:
		fix = "free some space, or set state-dir (--state-dir) to a folder on another "
		      "file system";
		break;
	case EROFS:
		fix = "mount it read-write, or set state-dir (--state-dir) to a writable folder";
		break;
	case ENOTDIR:
		fix = "move the file away, or set state-dir (--state-dir) to another folder";
		break;
	default:
		fix = "make it writable for acmed's user, or set state-dir (--state-dir) to a "
		      "writable folder";
		break;
	}
	return fix;
}

/* Whether dir was written to already in this run; else remembers it. */
static bool
seen(struct run *r, const char *dir)
{
	size_t i;

	for (i = 0; i < r->n_tested; i++) {
		if (strcmp(r->tested[i], dir) == 0) {
			return true;
		}
	}
	if (r->n_tested < PREFLIGHT_MAX_TESTED) {
		r->tested[r->n_tested] = strdup(dir);
		if (r->tested[r->n_tested] != NULL) {
			r->n_tested++;
		}
	}
	return false;
}

void
preflight_memo_finish(struct preflight_memo *memo)
{
	if (memo == NULL) {
		return;
	}
	for (size_t i = 0; i < memo->n_passed; i++) {
		free(memo->passed[i]);
	}
	memset(memo, 0, sizeof(*memo));
}

void
preflight_memo_copy(struct preflight_memo *dst, const struct preflight_memo *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n_passed; i++) {
		dst->passed[dst->n_passed] = strdup(src->passed[i]);
		if (dst->passed[dst->n_passed] != NULL) {
			dst->passed_at[dst->n_passed++] = src->passed_at[i];
		}
	}
	memcpy(dst->written, src->written, sizeof(dst->written));
	memcpy(dst->written_at, src->written_at, sizeof(dst->written_at));
	dst->n_written = src->n_written;
}

/* The monotonic clock's seconds: what the memo's times are. */
static time_t
memo_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		return 0;
	}
	return ts.tv_sec;
}

/* Whether a memo entry made at is still to be believed. */
static bool
memo_fresh(time_t at)
{
	return memo_now() - at < PREFLIGHT_MEMO_SECONDS;
}

/* The memo's key of a check: a new string, or NULL (no memo, out of
 * memory: the check runs as without one). */
static char *
memo_key(const struct run *r, const char *kind, const char *key, const char *value)
{
	size_t n;
	char *k;

	if (r->memo == NULL || value == NULL) {
		return NULL;
	}
	n = strlen(kind) + strlen(key) + strlen(value) + 3;
	k = malloc(n);
	if (k != NULL) {
		snprintf(k, n, "%s\n%s\n%s", kind, key, value);
	}
	return k;
}

/* Whether the check of key (memo_key, may be NULL) passed before. */
static bool
memo_passed(const struct run *r, const char *key)
{
	for (size_t i = 0; key != NULL && i < r->memo->n_passed; i++) {
		if (strcmp(r->memo->passed[i], key) == 0 && memo_fresh(r->memo->passed_at[i])) {
			return true;
		}
	}
	return false;
}

/* Remembers key (stolen) as passed when the check found no problem since
 * problems_before; frees it otherwise. */
static void
memo_note(struct run *r, char *key, int problems_before)
{
	struct preflight_memo *m = r->memo;
	size_t i = 0;

	if (key != NULL && r->problems == problems_before) {
		/* The same check again (its entry had gone stale), or a stale
		 * one's place, or a new one. */
		while (i < m->n_passed && strcmp(m->passed[i], key) != 0 &&
		       memo_fresh(m->passed_at[i])) {
			i++;
		}
		if (i == m->n_passed && m->n_passed < PREFLIGHT_MEMO_MAX) {
			m->n_passed++;
		}
		if (i < m->n_passed) {
			free(m->passed[i]);
			m->passed[i] = key;
			m->passed_at[i] = memo_now();
			key = NULL;
		}
	}
	free(key);
}

/* Whether a state folder write passed on the file system dev. */
static bool
memo_written(const struct run *r, dev_t dev)
{
	for (size_t i = 0; r->memo != NULL && i < r->memo->n_written; i++) {
		if (r->memo->written[i] == dev && memo_fresh(r->memo->written_at[i])) {
			return true;
		}
	}
	return false;
}

/* Remembers that a state folder write passed on dev now. */
static void
note_written(struct preflight_memo *m, dev_t dev)
{
	size_t i = 0;

	while (i < m->n_written && m->written[i] != dev) {
		i++;
	}
	if (i == m->n_written) {
		if (m->n_written == PREFLIGHT_MEMO_DEVS) {
			return;
		}
		m->n_written++;
	}
	m->written[i] = dev;
	m->written_at[i] = memo_now();
}

static void
check_space(struct run *r, const char *path, const char *dir)
{
	struct statvfs vfs;
	unsigned long long bytes;

	if (statvfs(dir, &vfs) < 0) {
		problem(r, false, "state folder %s: statvfs %s: %s: %s", path, dir, strerror(errno),
		        state_fix(errno));
		return;
	}
	bytes = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	if (bytes < (unsigned long long)PREFLIGHT_MIN_FREE_BYTES) {
		problem(r, false,
		        "state folder %s: not enough space: %llu KiB free, a new certificate "
		        "needs %ld KiB: %s",
		        path, bytes / 1024, PREFLIGHT_MIN_FREE_BYTES / 1024, state_fix(ENOSPC));
	}
	/* f_files 0: a file system without an inode count (btrfs). */
	if (vfs.f_files != 0 && vfs.f_favail < (fsfilcnt_t)PREFLIGHT_MIN_FREE_INODES) {
		problem(r, false,
		        "state folder %s: not enough inodes: %llu free, a new certificate needs "
		        "%ld: %s",
		        path, (unsigned long long)vfs.f_favail, PREFLIGHT_MIN_FREE_INODES,
		        state_fix(ENOSPC));
	}
}

/* path: a folder under the state folder that an install writes in. */
/* remember: the memo keeps path once it passed (the folders every
 * certificate shares). */
static void
check_state_folder(struct run *r, const char *path, bool remember)
{
	char *dir = NULL;
	char *memo = path != NULL && remember ? memo_key(r, "folder", "", path) : NULL;
	dev_t dev = 0;
	int before = r->problems;
	int err;

	if (path == NULL) {
		problem(r, false, "state folder: out of memory");
		goto out;
	}
	/* The state folder and accounts/, checked again for each
	 * certificate. */
	if (memo_passed(r, memo)) {
		goto out;
	}
	if (nearest_folder(path, &dir, &dev) < 0) {
		err = errno;
		if (dir == NULL) {
			problem(r, false, "state folder %s: out of memory", path);
		} else if (seen(r, dir)) {
			/* Reported with the folder that found it first. */
		} else if (strcmp(dir, path) == 0) {
			problem(r, false, "state folder %s: %s: %s", path,
			        err == ENOTDIR ? "not a folder" : strerror(err), state_fix(err));
		} else {
			problem(r, false, "state folder %s: %s: %s: %s", path, dir,
			        err == ENOTDIR ? "not a folder" : strerror(err), state_fix(err));
		}
		goto out;
	}
	if (seen(r, dir)) {
		goto out;
	}
	/* A file system written to (fsync'd, its space checked) already: a
	 * full or read-only one showed then; a folder on it is writable when
	 * its permissions say so. */
	if (memo_written(r, dev) && faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0) {
		goto out;
	}
	if (try_write(dir, PREFLIGHT_STATE_WRITE_BYTES) < 0) {
		err = errno;
		if (strcmp(dir, path) == 0) {
			problem(r, false, "state folder %s: cannot write: %s: %s", path,
			        strerror(err), state_fix(err));
		} else {
			problem(r, false, "state folder %s: cannot create it in %s: %s: %s", path,
			        dir, strerror(err), state_fix(err));
		}
		goto out;
	}
	check_space(r, path, dir);
	if (r->memo != NULL && r->problems == before) {
		note_written(r->memo, dev);
	}
out:
	/* Only a folder that is there is remembered: one to be created is
	 * looked for again. */
	if (dir != NULL && strcmp(dir, path) == 0) {
		memo_note(r, memo, before);
		memo = NULL;
	}
	free(memo);
	free(dir);
}

/* command as a shell runs it: "sh -c 'COMMAND'", a single quote in it
 * written '"'"' (closed, a double-quoted quote, opened again), which both
 * sh and hook_split read back as the quote. Into buf (len bytes, cut short
 * when full); returns buf. */
static const char *
sh_form(const char *command, char *buf, size_t len)
{
	static const char quote[] = "'\"'\"'";
	size_t n = 0;
	int k = snprintf(buf, len, "sh -c '");

	n = k > 0 ? (size_t)k : 0;
	for (const char *p = command; *p != '\0' && n + sizeof(quote) + 1 < len; p++) {
		if (*p == '\'') {
			memcpy(buf + n, quote, sizeof(quote) - 1);
			n += sizeof(quote) - 1;
		} else {
			buf[n++] = *p;
		}
	}
	if (n + 1 < len) {
		buf[n++] = '\'';
	}
	buf[n < len ? n : len - 1] = '\0';
	return buf;
}

/* key: the config key holding command; flag: its command-line option. */
static void
check_program(struct run *r, const char *key, const char *flag, const char *command)
{
	char why[PREFLIGHT_MAX_LINE / 2];

	static const char *const shell[] = {"&&", "||", "|", ";", ">", ">>", "<", "2>", "&"};
	char **argv = NULL;
	char *memo = memo_key(r, "program", key, command);
	int before = r->problems;

	if (memo_passed(r, memo)) {
		goto out;
	}
	if (hook_check(command, why, sizeof(why)) < 0) {
		problem(r, true,
		        "%s: cannot run: %s: set %s (%s) to an installed program (an absolute "
		        "path, or a name on PATH)",
		        key, why, key, flag);
		goto out;
	}
	/* Hooks run without a shell: "systemctl reload nginx && cp ..." would
	 * call systemctl with "&&" and the rest as arguments. */
	argv = hook_split(command);
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]);
		bool op = strchr(argv[i], '`') != NULL || strstr(argv[i], "$(") != NULL ||
		          argv[i][0] == '$' || (n > 1 && argv[i][n - 1] == ';');

		for (size_t k = 0; !op && k < sizeof(shell) / sizeof(shell[0]); k++) {
			op = strcmp(argv[i], shell[k]) == 0;
		}
		if (op) {
			char form[PREFLIGHT_MAX_LINE];

			/* Said, not refused: a literal "&&" or "$(...)" may be
			 * what the program wants as an argument. */
			log_warn("%s%s%s: '%s' is passed to %s as an argument: hooks run without a "
			         "shell; for a shell command line, set %s = %s",
			         r->cert_name != NULL ? r->cert_name : "",
			         r->cert_name != NULL ? ": " : "", key, argv[i], argv[0], key,
			         sh_form(command, form, sizeof(form)));
			break;
		}
	}
	memo_note(r, memo, before);
	memo = NULL;
out:
	free(memo);
	hook_argv_free(argv);
}

static void
check_webroot(struct run *r, const char *webroot)
{
	struct stat st;
	const char *why = NULL;
	char *target = NULL;
	char *dir = NULL;
	char *memo = memo_key(r, "webroot", "", webroot);
	dev_t dev;
	int before = r->problems;
	int err;

	if (memo_passed(r, memo)) {
		goto out;
	}
	if (stat(webroot, &st) < 0) {
		why = errno == ENOENT ? "missing" : strerror(errno);
	} else if (!S_ISDIR(st.st_mode)) {
		why = "not a folder";
	}
	if (why != NULL) {
		problem(r, true,
		        "webroot %s: %s: create it (the folder your web server serves for "
		        "/.well-known/acme-challenge/), or set webroot (--webroot)",
		        webroot, why);
		goto out;
	}
	target = file_path(webroot, PREFLIGHT_WELL_KNOWN, (char *)NULL);
	if (target == NULL) {
		problem(r, true, "webroot %s: out of memory", webroot);
		goto out;
	}
	/* Where the token files go, or the folder that would hold the missing
	 * .well-known/acme-challenge. */
	if (nearest_folder(target, &dir, &dev) < 0) {
		err = errno;
		problem(r, true, "webroot %s: %s: %s: move it away, or set webroot (--webroot)",
		        webroot, dir != NULL ? dir : target,
		        err == ENOTDIR ? "not a folder" : strerror(err));
		goto out;
	}
	if (try_write(dir, PREFLIGHT_WEBROOT_WRITE_BYTES) < 0) {
		problem(r, true,
		        "webroot %s: cannot write in %s: %s: make it writable for acmed's user, or "
		        "set webroot (--webroot)",
		        webroot, dir, strerror(errno));
	}
	memo_note(r, memo, before);
	memo = NULL;
out:
	free(memo);
	free(target);
	free(dir);
}

static void
check_listen(struct run *r, const char *key, const char *address)
{
	char err[PREFLIGHT_MAX_LINE / 2];
	char *memo = memo_key(r, "listen", key, address);
	int before = r->problems;
	int fd;

	if (memo_passed(r, memo)) {
		free(memo);
		return;
	}
	fd = listener_open_err(key, address, err, sizeof(err));
	if (fd < 0) {
		problem(r, true, "%s", err);
	} else {
		close(fd);
	}
	memo_note(r, memo, before);
}

static void
check_challenge(struct run *r, const struct conf_settings *s, unsigned flags)
{
	const char *why = NULL;
	char why_key[PREFLIGHT_MAX_LINE / 2];
	enum challenge_responder resp = challenge_pick(s, &why);

	switch (resp) {
	case CHALLENGE_RESPONDER_NONE:
	case CHALLENGE_RESPONDER__MAX:
		problem(r, true, "%s", why != NULL ? why : "no challenge responder");
		break;
	case CHALLENGE_RESPONDER_DNS_HOOK:
		check_program(r, "dns-hook", "--dns-hook", s->dns_hook);
		break;
	case CHALLENGE_RESPONDER_DNS_UPDATE:
		if (challenge_dnsupdate_check(s->dns_update_key, why_key, sizeof(why_key)) < 0) {
			problem(r, true, "%s", why_key);
		}
		break;
	case CHALLENGE_RESPONDER_HTTP_HOOK:
		check_program(r, "http-hook", "--http-hook", s->http_hook);
		break;
	case CHALLENGE_RESPONDER_WEBROOT:
		check_webroot(r, s->webroot);
		break;
	case CHALLENGE_RESPONDER_STANDALONE:
		if ((flags & PREFLIGHT_NO_LISTEN) == 0) {
			check_listen(r, "http-listen", challenge_listen_address(s, resp));
		}
		break;
	case CHALLENGE_RESPONDER_TLS_ALPN:
		if ((flags & PREFLIGHT_NO_LISTEN) == 0) {
			check_listen(r, "tls-listen", challenge_listen_address(s, resp));
		}
		break;
	case CHALLENGE_RESPONDER_DNS_PERSIST:
		/* Nothing local: the record is looked at when an order needs it. */
		break;
	}
}

/* What the install needs besides the state folder: a readable
 * pkcs12-password-file when cert.p12 is made (found missing only after
 * the CA issued, it would throw the issuance away). */
static void
check_outputs(struct run *r, const struct conf_settings *s)
{
	int fd;

	if ((s->output & CONF_OUTPUT_PKCS12) == 0 || s->pkcs12_password_file == NULL) {
		return;
	}
	fd = open(s->pkcs12_password_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		problem(r, true, "pkcs12-password-file %s: %s (output = pkcs12 reads it)",
		        s->pkcs12_password_file, strerror(errno));
		return;
	}
	close(fd);
}

/* IP address identifiers (RFC 8738) are validated by http-01 and
 * tls-alpn-01 only: a CA offers no dns-01 or dns-persist-01 for them. */
static void
check_ip_challenge(struct run *r, const struct conf_settings *s)
{
	if (!conf_challenge_dns(s->challenge)) {
		return;
	}
	for (size_t i = 0; i < s->n_domains; i++) {
		if (ident_type_of(s->domains[i]) == IDENT_IP) {
			problem(r, true,
			        "%s: an IP address cannot be validated with %s (RFC 8738: "
			        "http-01 or tls-alpn-01): put it in a certificate of its own",
			        s->domains[i], conf_challenge_name(s->challenge));
		}
	}
}

int
preflight_check(const char *state_dir, const char *cert_name, const struct conf_settings *s,
                unsigned flags, struct preflight_memo *memo, preflight_report_fn report, void *arg)
{
	struct run r = {.memo = memo, .cert_name = cert_name, .report = report, .arg = arg};
	char *dir = NULL;
	char *path = NULL;
	size_t i;

	if (s == NULL) {
		problem(&r, true, "no settings to check");
		goto out;
	}
	if (state_dir == NULL) {
		state_dir = s->state_dir;
	}
	if (state_dir == NULL) {
		dir = store_default_dir();
		state_dir = dir;
	}
	if (state_dir == NULL) {
		problem(&r, false, "state folder: none: set state-dir (--state-dir)");
	} else {
		check_state_folder(&r, state_dir, true);
		path = store_account_path(state_dir, NULL, STORE_ACCOUNT_ROOT);
		check_state_folder(&r, path, true);
		free(path);
		if (cert_name != NULL) {
			path = store_cert_dir(state_dir, cert_name);
			check_state_folder(&r, path, false);
			free(path);
		}
	}
	if (s->deploy_hook != NULL && s->deploy_hook[0] != '\0') {
		check_program(&r, "deploy-hook", "--deploy-hook", s->deploy_hook);
	}
	if (s->pre_hook != NULL && s->pre_hook[0] != '\0') {
		check_program(&r, "pre-hook", "--pre-hook", s->pre_hook);
	}
	if (s->post_hook != NULL && s->post_hook[0] != '\0') {
		check_program(&r, "post-hook", "--post-hook", s->post_hook);
	}
	check_outputs(&r, s);
	check_ip_challenge(&r, s);
	check_challenge(&r, s, flags);
out:
	for (i = 0; i < r.n_tested; i++) {
		free(r.tested[i]);
	}
	free(dir);
	return r.problems == 0 ? 0 : -1;
}

int
preflight_profile(const struct acme_directory *dir, const char *profile, char *err, size_t len)
{
	char offered[512] = "";
	size_t used = 0;

	if (profile == NULL) {
		return 0;
	}
	for (size_t i = 0; dir != NULL && i < dir->n_profiles; i++) {
		if (strcmp(dir->profiles[i], profile) == 0) {
			return 0;
		}
		if (used < sizeof(offered)) {
			int n = snprintf(offered + used, sizeof(offered) - used, "%s%s",
			                 used > 0 ? ", " : "", dir->profiles[i]);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (dir == NULL || dir->n_profiles == 0) {
		snprintf(err, len,
		         "profile %s: the CA offers no profiles: drop --profile (or the profile "
		         "key)",
		         profile);
	} else {
		snprintf(err, len, "profile %s: the CA does not offer it; it offers %s", profile,
		         offered);
	}
	return -1;
}
