/* io/dns_update against a real BIND (Debian bind9): named started here as
 * a foreground process on a free port of 127.0.0.1 with a dynamic zone
 * a.example whose update-policy lets two tsig-keygen keys (hmac-sha256,
 * hmac-sha512) change the TXT records of _acme-challenge.a.example, and
 * stopped by PID. dig (bind9-dnsutils) looks at what BIND serves. Missing
 * named, tsig-keygen or dig skips (77): this is an integration test.
 *
 *     meson test -C build-dev dns_update_bind --print-errorlogs */
#include "io/dns_update.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "tmpdir.h"

#define NAME "_acme-challenge.a.example"
#define VALUE1 "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define VALUE2 "2rVzzPV2vr0QJzGqSL7y3MUdUVsVU5Ef3zMDEFN7Ssw"
#define WAIT_S 10

struct bind {
	char *dir;
	int port;
	pid_t pid;
	char address[32];
	struct ev_loop *loop;
	struct dns_update_key *key256, *key512, *wrong, *unknown;
	/* the last update's end */
	int calls;
	enum dns_update_result result;
	char message[600];
};

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool
have(const char *program)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", program);
	return system(cmd) == 0;
}

/* A port free on 127.0.0.1 for both UDP and TCP a moment ago. */
static int
free_port(void)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t len = sizeof(sin);
		int udp = socket(AF_INET, SOCK_DGRAM, 0), tcp = socket(AF_INET, SOCK_STREAM, 0);
		bool ok;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(udp, (struct sockaddr *)&sin, &len), 0);
		ok = bind(tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(udp);
		close(tcp);
		if (ok) {
			return ntohs(sin.sin_port);
		}
	}
	fail_msg("no port free for both UDP and TCP");
	return -1;
}

/* The lines program prints (at most len bytes), after a shell run. */
static void
capture(const char *command, char *out, size_t len)
{
	FILE *f = popen(command, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

/* The TXT values BIND serves for NAME, quotes removed, sorted, one a
 * line. */
static void
txt(struct bind *b, char *out, size_t len)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
	         "dig +short +time=2 +tries=1 @127.0.0.1 -p %d %s TXT | tr -d '\"' | LC_ALL=C "
	         "sort",
	         b->port, NAME);
	capture(cmd, out, len);
}

static struct dns_update_key *
keygen(struct bind *b, const char *alg, const char *name, const char *file)
{
	struct dns_update_key *key = NULL;
	char cmd[PATH_MAX + 128], warn[256], err[512];

	snprintf(cmd, sizeof(cmd), "umask 077; tsig-keygen -a %s %s >%s/%s", alg, name, b->dir,
	         file);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/%s", b->dir, file);
	if (dns_update_key_load(cmd, &key, warn, sizeof(warn), err, sizeof(err)) < 0) {
		fail_msg("%s", err);
	}
	assert_string_equal(warn, "");
	return key;
}

static void
write_config(struct bind *b)
{
	char text[2048];

	free(tmpdir_write(b->dir, "a.example.zone",
	                  "$TTL 60\n"
	                  "@\tIN SOA\tns1.a.example. hostmaster.a.example. 1 3600 600 86400 60\n"
	                  "@\tIN NS\tns1.a.example.\n"
	                  "ns1\tIN A\t127.0.0.1\n",
	                  0644));
	snprintf(text, sizeof(text),
	         "options {\n"
	         "\tdirectory \"%s\";\n"
	         "\tpid-file \"%s/named.pid\";\n"
	         "\tsession-keyfile \"%s/session.key\";\n"
	         "\tlisten-on port %d { 127.0.0.1; };\n"
	         "\tlisten-on-v6 { none; };\n"
	         "\trecursion no;\n"
	         "\tdnssec-validation no;\n"
	         "\tnotify no;\n"
	         "};\n"
	         "controls { };\n"
	         "include \"%s/k256.key\";\n"
	         "include \"%s/k512.key\";\n"
	         "zone \"a.example\" {\n"
	         "\ttype primary;\n"
	         "\tfile \"a.example.zone\";\n"
	         "\tupdate-policy {\n"
	         "\t\tgrant acmed name " NAME ". TXT;\n"
	         "\t\tgrant acmed512 name " NAME ". TXT;\n"
	         "\t};\n"
	         "};\n",
	         b->dir, b->dir, b->dir, b->port, b->dir, b->dir);
	free(tmpdir_write(b->dir, "named.conf", text, 0644));
}

static void
print_log(struct bind *b)
{
	char *log = tmpdir_read(b->dir, "named.log");
	char *save = NULL;

	print_error("named's log:\n");
	/* A line at a time: cmocka cuts long messages. */
	for (char *line = log != NULL ? strtok_r(log, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		print_error("%s\n", line);
	}
	free(log);
}

/* Whether named said it is running: it answers queries for a zone before
 * it takes updates to it (SERVFAIL until then). */
static bool
running(struct bind *b)
{
	char *log = tmpdir_read(b->dir, "named.log");
	bool yes = log != NULL && strstr(log, " running\n") != NULL;

	free(log);
	return yes;
}

static void
start_named(struct bind *b)
{
	char conf[PATH_MAX], log[PATH_MAX], cmd[128], out[256];
	int status;

	snprintf(conf, sizeof(conf), "%s/named.conf", b->dir);
	snprintf(log, sizeof(log), "%s/named.log", b->dir);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execlp("named", "named", "-g", "-4", "-c", conf, (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "dig +short +time=1 +tries=1 @127.0.0.1 -p %d a.example SOA",
	         b->port);
	for (int i = 0; i < WAIT_S * 10; i++) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->pid = 0;
			print_log(b);
			fail_msg("named exited (status %d) before answering", status);
		}
		capture(cmd, out, sizeof(out));
		if (out[0] != '\0' && running(b)) {
			return;
		}
		sleep_ms(100);
	}
	print_log(b);
	fail_msg("named did not answer on port %d within %d s", b->port, WAIT_S);
}

static void
stop_named(struct bind *b)
{
	int status;

	if (b->pid <= 0) {
		return;
	}
	kill(b->pid, SIGTERM);
	for (int i = 0; i < WAIT_S * 100; i++) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(b->pid, SIGKILL);
	waitpid(b->pid, &status, 0);
	b->pid = 0;
}

static int
setup(void **state)
{
	struct bind *b = calloc(1, sizeof(*b));
	char path[4096];

	/* named and tsig-keygen live in /usr/sbin. */
	snprintf(path, sizeof(path), "%s:/usr/sbin",
	         getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	if (!have("named") || !have("tsig-keygen") || !have("dig")) {
		print_message("SKIP: named, tsig-keygen or dig is missing (Debian: bind9 "
		              "bind9-dnsutils)\n");
		exit(77);
	}
	log_init("acmed", LOG_LEVEL_ERROR, false);
	b->dir = tmpdir_make("bind");
	b->port = free_port();
	snprintf(b->address, sizeof(b->address), "127.0.0.1:%d", b->port);
	b->key256 = keygen(b, "hmac-sha256", "acmed", "k256.key");
	b->key512 = keygen(b, "hmac-sha512", "acmed512", "k512.key");
	/* The same name with another secret, and a name BIND does not know. */
	b->wrong = keygen(b, "hmac-sha256", "acmed", "wrong.key");
	b->unknown = keygen(b, "hmac-sha256", "stranger", "unknown.key");
	write_config(b);
	start_named(b);
	b->loop = ev_loop_new(EVFLAG_AUTO);
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	struct bind *b = *state;

	stop_named(b);
	ev_loop_destroy(b->loop);
	dns_update_key_destroy(b->key256);
	dns_update_key_destroy(b->key512);
	dns_update_key_destroy(b->wrong);
	dns_update_key_destroy(b->unknown);
	tmpdir_remove(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

static void
on_done(enum dns_update_result result, const char *message, void *arg)
{
	struct bind *b = arg;

	b->calls++;
	b->result = result;
	snprintf(b->message, sizeof(b->message), "%s", message);
	ev_break(b->loop, EVBREAK_ALL);
}

static void
on_stop(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* One update; its result, its message in b->message. */
static enum dns_update_result
update(struct bind *b, const struct dns_update_key *key, const char *zone, enum dns_update_op op,
       const char *name, const char *value)
{
	struct dns_update *u = NULL;
	struct ev_timer stop;
	char err[256];

	b->calls = 0;
	if (dns_update_send(b->loop, b->address, key, zone, op, name, value, 0, on_done, b, &u, err,
	                    sizeof(err)) < 0) {
		fail_msg("%s", err);
	}
	ev_timer_init(&stop, on_stop, 30, 0.0);
	ev_timer_start(b->loop, &stop);
	ev_run(b->loop, 0);
	ev_timer_stop(b->loop, &stop);
	assert_int_equal(b->calls, 1);
	print_message("%s\n", b->message);
	if (b->result == DNS_UPDATE_RCODE && strstr(b->message, "SERVFAIL") != NULL) {
		print_log(b);
	}
	return b->result;
}

static void
test_add_delete(void **state)
{
	struct bind *b = *state;
	char out[512];

	assert_int_equal(update(b, b->key256, "a.example", DNS_UPDATE_ADD, NAME, VALUE1),
	                 DNS_UPDATE_OK);
	txt(b, out, sizeof(out));
	assert_string_equal(out, VALUE1 "\n");
	/* The other key, the other algorithm: a second value beside it. */
	assert_int_equal(update(b, b->key512, "a.example.", DNS_UPDATE_ADD, NAME ".", VALUE2),
	                 DNS_UPDATE_OK);
	txt(b, out, sizeof(out));
	assert_string_equal(out, VALUE2 "\n" VALUE1 "\n");
	/* Deleting one RR leaves the other (RFC 2136 2.5.4). */
	assert_int_equal(update(b, b->key256, "a.example", DNS_UPDATE_DEL, NAME, VALUE1),
	                 DNS_UPDATE_OK);
	txt(b, out, sizeof(out));
	assert_string_equal(out, VALUE2 "\n");
	assert_int_equal(update(b, b->key256, "a.example", DNS_UPDATE_DEL, NAME, VALUE2),
	                 DNS_UPDATE_OK);
	txt(b, out, sizeof(out));
	assert_string_equal(out, "");
	/* Deleting what is not there is no error. */
	assert_int_equal(update(b, b->key256, "a.example", DNS_UPDATE_DEL, NAME, VALUE2),
	                 DNS_UPDATE_OK);
}

static void
test_refusals(void **state)
{
	struct bind *b = *state;
	char out[512], want[256];

	assert_int_equal(update(b, b->wrong, "a.example", DNS_UPDATE_ADD, NAME, VALUE1),
	                 DNS_UPDATE_TSIG);
	snprintf(want, sizeof(want), "dns-update %s: TSIG BADSIG (key \"acmed\")", b->address);
	assert_non_null(strstr(b->message, want));

	assert_int_equal(update(b, b->unknown, "a.example", DNS_UPDATE_ADD, NAME, VALUE1),
	                 DNS_UPDATE_TSIG);
	snprintf(want, sizeof(want), "dns-update %s: TSIG BADKEY (key \"stranger\")", b->address);
	assert_non_null(strstr(b->message, want));

	/* The policy grants _acme-challenge only. */
	assert_int_equal(update(b, b->key256, "a.example", DNS_UPDATE_ADD, "www.a.example", VALUE1),
	                 DNS_UPDATE_RCODE);
	snprintf(want, sizeof(want), "dns-update %s: REFUSED for www.a.example (zone a.example)",
	         b->address);
	assert_non_null(strstr(b->message, want));

	/* A zone BIND does not serve. */
	assert_int_equal(update(b, b->key256, "b.example", DNS_UPDATE_ADD,
	                        "_acme-challenge.b.example", VALUE1),
	                 DNS_UPDATE_RCODE);
	snprintf(want, sizeof(want), "dns-update %s: NOTAUTH for _acme-challenge.b.example",
	         b->address);
	assert_non_null(strstr(b->message, want));
	txt(b, out, sizeof(out));
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_add_delete),
	        cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
