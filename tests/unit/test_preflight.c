#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "renew/preflight.h"

#define MAX_PROBLEMS 16

struct fixture {
	char dir[64];
	char mnt[PATH_MAX / 2]; /* a tmpfs mounted by the test, or "" */
	char *problems[MAX_PROBLEMS];
	size_t n;
	struct conf_settings s;
};

static void
on_problem(const char *problem, void *arg)
{
	struct fixture *f = arg;

	print_message("problem: %s\n", problem);
	assert_null(strchr(problem, '\n'));
	assert_true(f->n < MAX_PROBLEMS);
	f->problems[f->n] = strdup(problem);
	assert_non_null(f->problems[f->n]);
	f->n++;
}

static void
forget_problems(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->problems[i]);
		f->problems[i] = NULL;
	}
	f->n = 0;
}

/* The one problem containing every needle (NULL-terminated); fails unless
 * exactly one does. */
static const char *
problem_with(struct fixture *f, ...)
{
	const char *found = NULL;
	size_t hits = 0;

	for (size_t i = 0; i < f->n; i++) {
		const char *needle;
		bool all = true;
		va_list ap;

		va_start(ap, f);
		while ((needle = va_arg(ap, const char *)) != NULL) {
			all = all && strstr(f->problems[i], needle) != NULL;
		}
		va_end(ap);
		if (all) {
			found = f->problems[i];
			hits++;
		}
	}
	if (hits != 1) {
		fail_msg("%zu problems match, want 1", hits);
	}
	return found;
}

static char *
path_in(struct fixture *f, const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", f->dir, rel);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_preflight.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	/* A certificate that needs nothing but its state folder: webroot
	 * and hooks are set by the tests that check them. */
	f->s.challenge = CONF_CHALLENGE_DNS01;
	f->s.dns_hook = strdup("/bin/true");
	*state = f;
	return 0;
}

static void
remove_tree(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0) {
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		d = opendir(path);
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
				continue;
			}
			snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
			remove_tree(child);
		}
		if (d != NULL) {
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mnt[0] != '\0') {
		umount2(f->mnt, MNT_DETACH);
	}
	remove_tree(f->dir);
	forget_problems(f);
	conf_settings_finish(&f->s);
	free(f);
	return 0;
}

static int
check(struct fixture *f, const char *state_dir, const char *name, unsigned flags)
{
	forget_problems(f);
	return preflight_check(state_dir, name, &f->s, flags, NULL, on_problem, f);
}

/* A tmpfs of size bytes at dir/rel, read-only or not. Root only (tests run
 * as root in CI); false when the kernel refuses (a container without
 * CAP_SYS_ADMIN). */
static bool
mount_tmpfs(struct fixture *f, const char *rel, size_t size, bool ro)
{
	char opts[64];

	snprintf(f->mnt, sizeof(f->mnt), "%s/%s", f->dir, rel);
	assert_int_equal(mkdir(f->mnt, 0755), 0);
	snprintf(opts, sizeof(opts), "size=%zu", size);
	if (mount("tmpfs", f->mnt, "tmpfs", ro ? MS_RDONLY : 0, opts) < 0) {
		print_message("mount tmpfs on %s: %s\n", f->mnt, strerror(errno));
		f->mnt[0] = '\0';
		return false;
	}
	return true;
}

/* An unwritable folder at dir/rel: mode 0500 for a non-root user, a
 * read-only tmpfs for root (who writes through any mode). */
static bool
make_unwritable(struct fixture *f, const char *rel)
{
	if (geteuid() != 0) {
		assert_int_equal(mkdir(path_in(f, rel), 0500), 0);
		return true;
	}
	return mount_tmpfs(f, rel, 1024 * 1024, true);
}

static void
test_all_well(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);
	assert_int_equal(f->n, 0);
	/* The temp files are gone. */
	assert_int_equal(count_entries(path_in(f, "state")), 0);
}

static void
test_missing_state_is_not_created(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	/* Two levels missing: the nearest existing folder is written to. */
	assert_int_equal(check(f, path_in(f, "a/state"), "www", 0), 0);
	assert_int_equal(f->n, 0);
	assert_int_equal(stat(path_in(f, "a"), &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(f->dir), 0);
}

static void
test_state_is_a_file(void **state)
{
	struct fixture *f = *state;

	write_file(path_in(f, "state"), "", 0644);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	/* One line for the folder, not three (accounts/, certs/www/). */
	assert_int_equal(f->n, 1);
	problem_with(f, "state folder ", "/state: not a folder", "state-dir", NULL);
	/* The state folder is no certificate's: no "www: " prefix. */
	assert_true(strncmp(f->problems[0], "www: ", 5) != 0);
}

static void
test_certs_is_a_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	write_file(path_in(f, "state/certs"), "", 0644);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "/state/certs/www: ", "/state/certs: not a folder", NULL);
}

static void
test_state_unwritable(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX];

	if (!make_unwritable(f, "ro")) {
		fail_msg("cannot make an unwritable folder as root: run where mount is allowed");
	}
	snprintf(dir, sizeof(dir), "%s", path_in(f, "ro"));
	assert_int_equal(check(f, dir, "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "state folder ", "/ro: cannot write: ", "state-dir (--state-dir)", NULL);

	/* Missing under it: where it would be created is what fails. */
	snprintf(dir, sizeof(dir), "%s", path_in(f, "ro/state"));
	assert_int_equal(check(f, dir, NULL, 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "/ro/state: cannot create it in ", "/ro: ", NULL);
}

static void
test_state_full(void **state)
{
	struct fixture *f = *state;
	char fill[PATH_MAX];
	char block[4096] = {0};
	FILE *fp;

	if (geteuid() != 0) {
		/* Reported as SKIPPED, with the reason: CI runs as root. */
		print_message("not root: cannot mount a small tmpfs to fill\n");
		skip();
	}
	if (!mount_tmpfs(f, "full", 64 * 1024, false)) {
		fail_msg("cannot mount a tmpfs as root");
	}
	snprintf(fill, sizeof(fill), "%s/fill", f->mnt);
	fp = fopen(fill, "w");
	assert_non_null(fp);
	while (fwrite(block, 1, sizeof(block), fp) == sizeof(block) && fflush(fp) == 0) {
	}
	fclose(fp);
	assert_int_equal(check(f, f->mnt, "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "/full: cannot write: No space left on device: free some space", NULL);
	assert_int_equal(count_entries(f->mnt), 1);

	/* Room for the test file, not for a new version: statvfs says so. */
	assert_int_equal(unlink(fill), 0);
	assert_int_equal(check(f, f->mnt, "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "/full: not enough space: ", "KiB free, a new certificate needs 1024 KiB",
	             NULL);
	assert_int_equal(count_entries(f->mnt), 0);
}

/* The memo: a file system proven writable is remembered (one entry per
 * file system, refreshed when old); a folder on it made read-only since is
 * still refused, and so is one on another file system. */
static void
test_memo(void **state)
{
	struct fixture *f = *state;
	struct preflight_memo memo;
	struct stat st;
	time_t old;

	if (geteuid() != 0) {
		print_message("not root: cannot mount a tmpfs to remount read-only\n");
		skip();
	}
	memset(&memo, 0, sizeof(memo));
	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	assert_int_equal(
	        preflight_check(path_in(f, "state"), "www", &f->s, 0, &memo, on_problem, f), 0);
	assert_int_equal(stat(path_in(f, "state"), &st), 0);
	assert_int_equal(memo.n_written, 1);
	assert_true(memo.written[0] == st.st_dev);
	/* Old: proven again, and the time is new. */
	memo.written_at[0] -= PREFLIGHT_MEMO_SECONDS + 1;
	old = memo.written_at[0];
	assert_int_equal(preflight_check(path_in(f, "state"), "b", &f->s, 0, &memo, on_problem, f),
	                 0);
	assert_int_equal(memo.n_written, 1);
	assert_true(memo.written_at[0] > old + PREFLIGHT_MEMO_SECONDS);
	/* A certificate's folder on a file system of its own. */
	assert_int_equal(mkdir(path_in(f, "state/certs"), 0755), 0);
	if (!mount_tmpfs(f, "state/certs/www", 1024 * 1024, false)) {
		fail_msg("cannot mount a tmpfs as root");
	}
	assert_int_equal(
	        preflight_check(path_in(f, "state"), "www", &f->s, 0, &memo, on_problem, f), 0);
	assert_int_equal(memo.n_written, 2);
	assert_int_equal(mount("tmpfs", f->mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
	forget_problems(f);
	assert_int_equal(
	        preflight_check(path_in(f, "state"), "www", &f->s, 0, &memo, on_problem, f), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "/certs/www: cannot write: Read-only file system", NULL);
	preflight_memo_finish(&memo);
}

static void
test_deploy_hook(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	write_file(path_in(f, "deploy"), "#!/bin/sh\nexit 0\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s --reload", path_in(f, "deploy"));
	f->s.deploy_hook = strdup(cmd);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);

	/* Not executable. */
	assert_int_equal(chmod(path_in(f, "deploy"), 0644), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "www: deploy-hook: cannot run: ", "/deploy: not executable",
	             "set deploy-hook (--deploy-hook)", NULL);

	/* Missing. */
	assert_int_equal(unlink(path_in(f, "deploy")), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "www: deploy-hook: ", "/deploy: No such file or directory", NULL);

	/* A folder. */
	assert_int_equal(mkdir(path_in(f, "deploy"), 0755), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "/deploy: a folder, not a program", NULL);

	/* Unbalanced quotes. */
	free(f->s.deploy_hook);
	f->s.deploy_hook = strdup("'reload");
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "deploy-hook: ", "unbalanced quotes", NULL);
}

static void
test_hook_on_path(void **state)
{
	struct fixture *f = *state;
	char *saved = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
	char path[PATH_MAX];

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	assert_int_equal(mkdir(path_in(f, "bin1"), 0755), 0);
	assert_int_equal(mkdir(path_in(f, "bin2"), 0755), 0);
	/* As execvpe: one it may not run is passed over for the next. */
	write_file(path_in(f, "bin1/acmed-test-hook"), "#!/bin/sh\n", 0644);
	write_file(path_in(f, "bin2/acmed-test-hook"), "#!/bin/sh\n", 0755);
	snprintf(path, sizeof(path), "%s/bin1:%s/bin2", f->dir, f->dir);
	setenv("PATH", path, 1);
	free(f->s.dns_hook);
	f->s.dns_hook = strdup("acmed-test-hook --zone example.com");
	assert_int_equal(check(f, path_in(f, "state"), "api", 0), 0);

	assert_int_equal(unlink(path_in(f, "bin2/acmed-test-hook")), 0);
	assert_int_equal(check(f, path_in(f, "state"), "api", 0), -1);
	problem_with(f, "api: dns-hook: cannot run: ", "/bin1/acmed-test-hook: not executable",
	             NULL);

	free(f->s.dns_hook);
	f->s.dns_hook = strdup("acmed-no-such-hook");
	assert_int_equal(check(f, path_in(f, "state"), "api", 0), -1);
	problem_with(f, "api: dns-hook: cannot run: acmed-no-such-hook: not found on PATH ", path,
	             "set dns-hook (--dns-hook)", NULL);

	/* The http-hook, when http-01 uses it. */
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.http_hook = strdup("acmed-no-such-http-hook");
	assert_int_equal(check(f, path_in(f, "state"), "api", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "api: http-hook: ", "set http-hook (--http-hook)", NULL);

	if (saved != NULL) {
		setenv("PATH", saved, 1);
	} else {
		unsetenv("PATH");
	}
	free(saved);
}

static void
test_webroot(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.webroot = strdup(path_in(f, "www"));
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "www: webroot ", "/www: missing: ", "set webroot (--webroot)", NULL);

	/* There: nothing is created in it (.well-known comes with the first
	 * token). */
	assert_int_equal(mkdir(path_in(f, "www"), 0755), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);
	assert_int_equal(count_entries(path_in(f, "www")), 0);

	/* .well-known/acme-challenge there: written in, left empty. */
	assert_int_equal(mkdir(path_in(f, "www/.well-known"), 0755), 0);
	assert_int_equal(mkdir(path_in(f, "www/.well-known/acme-challenge"), 0755), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);
	assert_int_equal(count_entries(path_in(f, "www/.well-known/acme-challenge")), 0);

	/* A file where the folder should be. */
	assert_int_equal(rmdir(path_in(f, "www/.well-known/acme-challenge")), 0);
	write_file(path_in(f, "www/.well-known/acme-challenge"), "", 0644);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "www: webroot ", "/acme-challenge: not a folder", NULL);
}

/* What would throw an issuance away after the CA issued: a missing
 * pkcs12-password-file, an IP address with dns-01. */
static void
test_outputs_and_ip(void **state)
{
	struct fixture *f = *state;
	char *domains[] = {(char *)"www.example", (char *)"192.0.2.7"};

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	f->s.output = CONF_OUTPUT_PEM | CONF_OUTPUT_PKCS12;
	f->s.pkcs12_password_file = strdup(path_in(f, "pass"));
	free(f->s.webroot);
	f->s.webroot = strdup(path_in(f, "state"));
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "www: pkcs12-password-file ", "/pass: No such file or directory", NULL);
	write_file(path_in(f, "pass"), "secret\n", 0600);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);

	f->s.domains = domains;
	f->s.n_domains = 2;
	f->s.challenge = CONF_CHALLENGE_DNS01;
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "www: 192.0.2.7: an IP address cannot be validated with dns-01", NULL);
	f->s.domains = NULL;
	f->s.n_domains = 0;
}

static void
test_webroot_unwritable(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	if (!make_unwritable(f, "www")) {
		fail_msg("cannot make an unwritable folder as root: run where mount is allowed");
	}
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.webroot = strdup(path_in(f, "www"));
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "www: webroot ", ": cannot write in ", "set webroot (--webroot)", NULL);
}

/* A listening socket on 127.0.0.1; its port in *port. */
static int
hold_port(int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_port_in_use(void **state)
{
	struct fixture *f = *state;
	char listen_at[64];
	char want[64];
	int port;
	int fd = hold_port(&port);

	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "holds port %d", port);
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.http_listen = strdup(listen_at);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 1);
	problem_with(f, "www: http-listen 127.0.0.1:", ": bind: Address already in use", want,
	             NULL);
	/* The daemon holding its own responder skips the bind. */
	assert_int_equal(check(f, path_in(f, "state"), "www", PREFLIGHT_NO_LISTEN), 0);

	f->s.challenge = CONF_CHALLENGE_TLSALPN01;
	f->s.tls_listen = strdup(listen_at);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	problem_with(f, "www: tls-listen 127.0.0.1:", "Address already in use", "set tls-listen",
	             NULL);

	/* Free again: bound and closed, not kept. */
	close(fd);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), 0);
}

/* The lowest port an unprivileged user may bind (Linux sysctl). */
static long
unprivileged_port_start(void)
{
	long start = 1024;
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");

	if (fp != NULL) {
		if (fscanf(fp, "%ld", &start) != 1) {
			start = 1024;
		}
		fclose(fp);
	}
	return start;
}

static void
test_port_needs_privilege(void **state)
{
	struct fixture *f = *state;
	char buf[1024] = "";
	int pipefd[2];
	int status;
	size_t len;
	ssize_t n;
	pid_t pid;

	if (unprivileged_port_start() <= 1) {
		print_message("ip_unprivileged_port_start lets anyone bind port 1\n");
		skip();
	}
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Root binds anything: drop to nobody, whose state folder is
		 * /tmp (writable by all). */
		int rc;

		close(pipefd[0]);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0)) {
			_exit(3);
		}
		f->s.challenge = CONF_CHALLENGE_HTTP01;
		f->s.http_listen = strdup("127.0.0.1:1");
		forget_problems(f);
		rc = preflight_check("/tmp", NULL, &f->s, 0, NULL, on_problem, f);
		for (size_t i = 0; i < f->n; i++) {
			if (write(pipefd[1], f->problems[i], strlen(f->problems[i])) < 0 ||
			    write(pipefd[1], "\n", 1) < 0) {
				_exit(4);
			}
		}
		_exit(rc == -1 ? 0 : 2);
	}
	close(pipefd[1]);
	/* Read to the end: the child writes in pieces, and a pipe closed
	 * early would kill it with SIGPIPE. */
	len = 0;
	while (len < sizeof(buf) - 1 &&
	       (n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			assert_int_equal(errno, EINTR);
			continue;
		}
		len += (size_t)n;
	}
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(len > 0);
	buf[len] = '\0';
	print_message("child: %s", buf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(buf, "http-listen 127.0.0.1:1: bind: Permission denied: port 1 "
	                            "needs root or CAP_NET_BIND_SERVICE"));
	assert_non_null(strstr(buf, "set http-listen to a port above 1023"));
}

static int
check_memo(struct fixture *f, struct preflight_memo *memo, const char *state_dir, const char *name,
           unsigned flags)
{
	forget_problems(f);
	return preflight_check(state_dir, name, &f->s, flags, memo, on_problem, f);
}

/* A memo checks what many certificates share once: a hook, a port, the
 * state folder. What failed is not remembered: each certificate with the
 * problem says it. */
static void
test_memo_shared(void **state)
{
	struct fixture *f = *state;
	struct preflight_memo memo_store;
	struct preflight_memo *memo = &memo_store;
	char listen_at[64];
	char certs[PATH_MAX];
	int port;
	int fd;

	memset(memo, 0, sizeof(*memo));
	assert_int_equal(mkdir(path_in(f, "state"), 0700), 0);
	assert_int_equal(mkdir(path_in(f, "state/certs"), 0755), 0);
	assert_int_equal(mkdir(path_in(f, "state/certs/b"), 0755), 0);
	write_file(path_in(f, "deploy"), "#!/bin/sh\nexit 0\n", 0755);
	f->s.deploy_hook = strdup(path_in(f, "deploy"));
	fd = hold_port(&port);
	close(fd);
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.http_listen = strdup(listen_at);
	assert_int_equal(check_memo(f, memo, path_in(f, "state"), "a", 0), 0);
	assert_int_equal(check_memo(f, memo, path_in(f, "state"), "b", 0), 0);

	/* The hook gone and the port taken since: the memo says they
	 * passed; a check without it finds both. */
	assert_int_equal(unlink(path_in(f, "deploy")), 0);
	fd = hold_port(&port);
	free(f->s.http_listen);
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	f->s.http_listen = strdup(listen_at);
	assert_int_equal(check_memo(f, memo, path_in(f, "state"), "c", 0), -1);
	/* The port is another one: checked, and taken. */
	assert_int_equal(f->n, 1);
	problem_with(f, "c: http-listen 127.0.0.1:", "Address already in use", NULL);
	assert_int_equal(check(f, path_in(f, "state"), "c", 0), -1);
	assert_int_equal(f->n, 2);
	problem_with(f, "c: deploy-hook: ", "No such file or directory", NULL);
	close(fd);

	/* A failure is said for each certificate. */
	free(f->s.deploy_hook);
	f->s.deploy_hook = strdup(path_in(f, "missing"));
	assert_int_equal(check_memo(f, memo, path_in(f, "state"), "d", PREFLIGHT_NO_LISTEN), -1);
	problem_with(f, "d: deploy-hook: ", "/missing: No such file or directory", NULL);
	assert_int_equal(check_memo(f, memo, path_in(f, "state"), "e", PREFLIGHT_NO_LISTEN), -1);
	problem_with(f, "e: deploy-hook: ", "/missing: No such file or directory", NULL);
	free(f->s.deploy_hook);
	f->s.deploy_hook = NULL;

	/* A certificate folder on another file system is written to; one
	 * that is not writable says so. */
	snprintf(certs, sizeof(certs), "%s", path_in(f, "state/certs/ro"));
	if (make_unwritable(f, "state/certs/ro")) {
		assert_int_equal(
		        check_memo(f, memo, path_in(f, "state"), "ro", PREFLIGHT_NO_LISTEN), -1);
		assert_int_equal(f->n, 1);
		problem_with(f, "state folder ", "/certs/ro: cannot write: ", NULL);
	}
	/* The state folder itself passed once: not written to again. */
	assert_int_equal(count_entries(path_in(f, "state")), 1);
	preflight_memo_finish(memo);
	preflight_memo_finish(NULL);
}

static void
test_every_problem(void **state)
{
	struct fixture *f = *state;

	write_file(path_in(f, "state"), "", 0644);
	f->s.deploy_hook = strdup(path_in(f, "no-deploy"));
	f->s.challenge = CONF_CHALLENGE_HTTP01;
	f->s.webroot = strdup(path_in(f, "no-webroot"));
	assert_int_equal(check(f, path_in(f, "state"), "www", 0), -1);
	assert_int_equal(f->n, 3);
	problem_with(f, "state folder ", NULL);
	problem_with(f, "www: deploy-hook: ", NULL);
	problem_with(f, "www: webroot ", NULL);
}

static void
test_state_dir_from_settings(void **state)
{
	struct fixture *f = *state;

	write_file(path_in(f, "state"), "", 0644);
	f->s.state_dir = strdup(path_in(f, "state"));
	assert_int_equal(check(f, NULL, NULL, 0), -1);
	problem_with(f, "/state: not a folder", NULL);
	/* The argument wins over the setting. */
	assert_int_equal(mkdir(path_in(f, "other"), 0700), 0);
	assert_int_equal(check(f, path_in(f, "other"), NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_all_well, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_state_is_not_created, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_is_a_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_certs_is_a_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_unwritable, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_full, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_memo, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deploy_hook, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hook_on_path, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_unwritable, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_outputs_and_ip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_port_needs_privilege, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_memo_shared, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_every_problem, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_dir_from_settings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
