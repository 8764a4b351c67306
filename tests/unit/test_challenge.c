#include "challenge/challenge.h"
#include "challenge/select.h"
#include "challenge/responders.h"
#include "dns_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEY_AUTH TOKEN ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEY4X7kLxM"
#define TXT_NAME "_acme-challenge.example.org."
#define TXT_VALUE "GfYkV6pmHWFPa2Sx1p3a9H_zbUh2mGVQBNU0czzJMzo"

struct fixture {
	char dir[64];
	struct ev_loop *loop;
	struct dns_server dns; /* answers NXDOMAIN to everything: no CNAME */
	struct ev_timer watchdog;
	bool watchdog_fired;
};

struct result {
	int calls;
	int rc;
	char message[512];
	double at;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_done(int rc, const char *message, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	snprintf(r->message, sizeof(r->message), "%s", message != NULL ? message : "");
	r->at = now();
	ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
on_watchdog(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct fixture *f = w->data;

	f->watchdog_fired = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until something breaks it, or for at most seconds. */
static void
run_loop(struct fixture *f, double seconds)
{
	f->watchdog_fired = false;
	ev_now_update(f->loop);
	ev_timer_init(&f->watchdog, on_watchdog, seconds, 0.);
	f->watchdog.data = f;
	ev_timer_start(f->loop, &f->watchdog);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &f->watchdog);
}

/* Waits for one done. */
static void
wait_done(struct fixture *f, struct result *r)
{
	int before = r->calls;

	while (r->calls == before) {
		run_loop(f, 30.);
		assert_false(f->watchdog_fired);
	}
	assert_int_equal(r->calls, before + 1);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/acmed-test-challenge-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->loop = EV_DEFAULT;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dns_server_stop(&f->dns);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A dns-hook responder asking f->dns (started here) for CNAME records,
 * without the propagation check. */
static struct challenge *
dns01(struct fixture *f, const char *prog, long timeout_s, long wait_s)
{
	struct challenge_dns01_opts o = {.wait_s = wait_s};

	if (f->dns.loop == NULL) {
		dns_server_start(&f->dns, f->loop, NULL, 0);
	}
	o.resolvers = f->dns.addr;
	return challenge_dns01_create(f->loop, prog, timeout_s, &o);
}

static struct challenge_task
task(void)
{
	struct challenge_task t = {
	        .cert_name = "www",
	        .id_type = IDENT_DNS,
	        .identifier = "example.org",
	        .token = TOKEN,
	        .key_auth = KEY_AUTH,
	        .txt_name = TXT_NAME,
	        .txt_value = TXT_VALUE,
	};

	return t;
}

static char *
read_text(const char *path)
{
	char *buf = calloc(1, 65536);
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(buf);
	if (fp == NULL) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* ---- log capture ---- */

static int saved_stderr = -1;
static char capture_path[128];

static void
capture_begin(struct fixture *f)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "%s/stderr", f->dir);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* What was logged (new string). */
static char *
capture_end(void)
{
	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	saved_stderr = -1;
	return read_text(capture_path);
}

/* ---- webroot ---- */

static void
test_webroot_present_cleanup(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	struct stat st;
	char path[256];
	char *text;
	mode_t old;

	ch = challenge_webroot_create(f->loop, f->dir);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "webroot");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_HTTP01);

	/* A strict umask must not make the file unreadable for the server. */
	old = umask(077);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	umask(old);
	assert_int_equal(r.calls, 0); /* never from inside present */
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.message, "");

	snprintf(path, sizeof(path), "%s/.well-known", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", f->dir, TOKEN);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	text = read_text(path);
	assert_non_null(text);
	assert_string_equal(text, KEY_AUTH); /* exactly: no newline */
	free(text);

	/* Presenting again rewrites it. */
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);

	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 2);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* Already gone is fine. */
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	challenge_destroy(ch);
}

static void
test_webroot_symlink_replaced(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char target[256];
	char path[256];
	struct stat st;
	char *text;
	FILE *fp;

	snprintf(target, sizeof(target), "%s/precious", f->dir);
	fp = fopen(target, "w");
	assert_non_null(fp);
	fputs("keep me", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/.well-known", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", f->dir, TOKEN);
	assert_int_equal(symlink(target, path), 0);

	ch = challenge_webroot_create(f->loop, f->dir);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	text = read_text(target);
	assert_string_equal(text, "keep me");
	free(text);
	/* An existing folder is left as the admin made it. */
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	challenge_destroy(ch);
}

static void
test_webroot_bad_token(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	        "../../etc/passwd", "a/b", "", "tok en", ".", "..", "x\n"};
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char *log;
	size_t i;

	ch = challenge_webroot_create(f->loop, f->dir);
	assert_non_null(ch);
	capture_begin(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.token = bad[i];
		assert_int_equal(ch->ops->present(ch, &t, on_done, &r), -1);
		assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), -1);
	}
	t.token = NULL;
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), -1);
	log = capture_end();
	assert_non_null(strstr(log, "refusing a token that is not base64url"));
	free(log);
	run_loop(f, 0.1);
	assert_int_equal(r.calls, 0);
	challenge_destroy(ch);
}

static void
test_webroot_missing_folder(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char missing[256];

	snprintf(missing, sizeof(missing), "%s/nope/", f->dir);
	ch = challenge_webroot_create(f->loop, missing);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	snprintf(missing, sizeof(missing),
	         "webroot %s/nope: No such file or directory: set webroot to the folder your "
	         "web server serves",
	         f->dir);
	assert_string_equal(r.message, missing);
	challenge_destroy(ch);
}

static void
test_webroot_destroy_pending(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};

	ch = challenge_webroot_create(f->loop, f->dir);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	challenge_destroy(ch);
	run_loop(f, 0.1);
	assert_int_equal(r.calls, 0);
	challenge_destroy(NULL);
}

/* ---- standalone ---- */

/* A port nobody listens on right now. */
static int
free_port(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;
	int port;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	fd = socket(family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
	                         : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	close(fd);
	return port;
}

static bool
have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;

	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

/* A blocking connect to the loop's own listener: the kernel completes it
 * from the backlog. */
static int
connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

struct client {
	struct ev_io io;
	char buf[16384];
	size_t len;
	bool eof;
};

static void
on_client(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n = recv(w->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);

	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	c->eof = true;
	ev_io_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

/* Sends request and returns the whole response (new string). */
static char *
http_exchange(struct fixture *f, int family, int port, const char *request)
{
	struct client *c = calloc(1, sizeof(*c));
	char *response;
	int fd = connect_to(family, port);

	assert_non_null(c);
	assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL),
	                 (ssize_t)strlen(request));
	ev_io_init(&c->io, on_client, fd, EV_READ);
	c->io.data = c;
	ev_io_start(f->loop, &c->io);
	while (!c->eof) {
		run_loop(f, 10.);
		assert_false(f->watchdog_fired);
	}
	close(fd);
	response = strdup(c->buf);
	free(c);
	return response;
}

static char *
http_get(struct fixture *f, int family, int port, const char *method, const char *path)
{
	char request[512];

	snprintf(request, sizeof(request),
	         "%s %s HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n",
	         method, path);
	return http_exchange(f, family, port, request);
}

static void
assert_status(char *response, const char *status_line)
{
	assert_non_null(response);
	assert_int_equal(strncmp(response, status_line, strlen(status_line)), 0);
	free(response);
}

static const char expected_200[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Content-Length: 87\r\n"
                                   "Connection: close\r\n"
                                   "\r\n";

static void
test_standalone_serves_tokens(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char listen[64];
	char *resp;
	int port = free_port(AF_INET);

	assert_int_equal(strlen(KEY_AUTH), 87);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "standalone");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_HTTP01);

	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 404 ");

	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);

	resp = http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN);
	assert_non_null(resp);
	assert_int_equal(strncmp(resp, expected_200, sizeof(expected_200) - 1), 0);
	assert_string_equal(resp + sizeof(expected_200) - 1, KEY_AUTH);
	free(resp);

	/* HTTP/1.0, absolute-form, bare newlines. */
	resp = http_exchange(f, AF_INET, port,
	                     "GET http://example.org/.well-known/acme-challenge/" TOKEN
	                     " HTTP/1.0\n\n");
	assert_int_equal(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_non_null(strstr(resp, "\r\n\r\n" KEY_AUTH));
	free(resp);

	resp = http_get(f, AF_INET, port, "HEAD", "/.well-known/acme-challenge/" TOKEN);
	assert_string_equal(resp, expected_200);
	free(resp);

	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/unknown"),
	              "HTTP/1.1 404 Not Found\r\n");
	assert_status(http_get(f, AF_INET, port, "GET", "/"), "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/"),
	              "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN "x"),
	              "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/../" TOKEN),
	              "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET, port, "GET", "/" TOKEN), "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET, port, "POST", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 404 ");
	assert_status(http_exchange(f, AF_INET, port, "garbage\r\n\r\n"), "HTTP/1.1 400 ");

	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 404 ");
	challenge_destroy(ch);
}

static void
test_standalone_shared_tokens(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char tokens[3000][16];
	char auths[3000][32];
	char path[128];
	char listen[64];
	char *resp;
	int port = free_port(AF_INET);
	int i;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	for (i = 0; i < 3000; i++) {
		/* Out of order, to exercise the sorted inserts. */
		snprintf(tokens[i], sizeof(tokens[i]), "t%d", (i * 7919) % 3000);
		snprintf(auths[i], sizeof(auths[i]), "t%d.thumb", (i * 7919) % 3000);
		t.token = tokens[i];
		t.key_auth = auths[i];
		assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	}
	while (r.calls < 3000) {
		run_loop(f, 10.);
		assert_false(f->watchdog_fired);
	}
	resp = http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/t1234");
	assert_non_null(strstr(resp, "\r\n\r\nt1234.thumb"));
	free(resp);

	/* The same token for two identifiers: served until both let go. */
	t.token = "t42";
	t.key_auth = "t42.thumb";
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", t.token);
	assert_status(http_get(f, AF_INET, port, "GET", path), "HTTP/1.1 200 ");
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_status(http_get(f, AF_INET, port, "GET", path), "HTTP/1.1 404 ");
	/* Withdrawing what is not there is fine. */
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/t2999"),
	              "HTTP/1.1 200 ");
	challenge_destroy(ch);
}

static void
test_standalone_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct challenge *first;
	char listen[64];
	char expected[256];
	char *log;
	int port = free_port(AF_INET);

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	first = challenge_standalone_create(f->loop, listen);
	assert_non_null(first);
	capture_begin(f);
	assert_null(challenge_standalone_create(f->loop, listen));
	log = capture_end();
	/* The reason and what to do about it, on one line. */
	snprintf(expected, sizeof(expected),
	         "http-listen %s: bind: Address already in use: another program (a web server, "
	         "or acmed run answering challenges) holds port %d: stop it, set http-listen to a "
	         "free port,",
	         listen, port);
	assert_non_null(strstr(log, expected));
	free(log);
	challenge_destroy(first);

	/* Free again once the first is gone. */
	first = challenge_standalone_create(f->loop, listen);
	assert_non_null(first);
	challenge_destroy(first);
}

static void
test_standalone_bad_listen(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"",        "0",      "65536",  "http",        "1.2.3:80",
	                                  "[::1]80", "[::1]:", "::1:80", "127.0.0.1:0", "[x]:80"};
	char *log;
	size_t i;

	capture_begin(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(challenge_standalone_create(f->loop, bad[i]));
	}
	log = capture_end();
	assert_non_null(strstr(log, "http-listen 65536: expected PORT, ADDR:PORT or [ADDR]:PORT"));
	free(log);
}

static void
test_standalone_dual_stack(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char listen[64];
	int port;

	if (!have_ipv6()) {
		skip();
	}
	port = free_port(AF_INET6);
	snprintf(listen, sizeof(listen), "[::]:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 200 ");
	assert_status(http_get(f, AF_INET6, port, "GET", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 200 ");
	challenge_destroy(ch);

	/* "PORT" alone is the same. */
	snprintf(listen, sizeof(listen), "%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_status(http_get(f, AF_INET, port, "GET", "/"), "HTTP/1.1 404 ");
	assert_status(http_get(f, AF_INET6, port, "GET", "/"), "HTTP/1.1 404 ");
	challenge_destroy(ch);

	snprintf(listen, sizeof(listen), "[::1]:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_status(http_get(f, AF_INET6, port, "GET", "/"), "HTTP/1.1 404 ");
	challenge_destroy(ch);
}

/* How many of the n client sockets the server has closed. */
static int
count_closed(const int *fds, int n)
{
	int closed = 0;
	char c;
	int i;

	for (i = 0; i < n; i++) {
		if (recv(fds[i], &c, 1, MSG_DONTWAIT) == 0) {
			closed++;
		}
	}
	return closed;
}

/* Waits until the server has closed want of the n client sockets. */
static int
wait_closed(struct fixture *f, const int *fds, int n, int want)
{
	double start = now();
	int closed = 0;

	while (closed < want && now() - start < 10.) {
		run_loop(f, 0.1);
		closed = count_closed(fds, n);
	}
	run_loop(f, 0.2);
	return count_closed(fds, n);
}

/* 300 idle connections from one address: that address keeps its 64 newest,
 * the oldest make room; a validation from there is still answered while
 * they are held (before, the new connections were the ones closed: a flood
 * kept the CA out). */
static void
test_standalone_connection_cap(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char listen[64];
	int fds[300];
	int port = free_port(AF_INET);
	int i;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	for (i = 0; i < 300; i++) {
		fds[i] = connect_to(AF_INET, port);
	}
	assert_int_equal(wait_closed(f, fds, 300, 300 - 64), 300 - 64);
	assert_int_equal(count_closed(fds, 300 - 64), 300 - 64);
	assert_status(http_get(f, AF_INET, port, "GET", "/.well-known/acme-challenge/" TOKEN),
	              "HTTP/1.1 200 ");
	for (i = 0; i < 300; i++) {
		close(fds[i]);
	}
	challenge_destroy(ch);
}

/* An idle connection is closed after a few seconds. */
static void
test_standalone_idle_timeout(void **state)
{
	struct fixture *f = *state;
	struct challenge *ch;
	char listen[64];
	int port = free_port(AF_INET);
	int fd;
	double start;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	fd = connect_to(AF_INET, port);
	start = now();
	assert_int_equal(wait_closed(f, &fd, 1, 1), 1);
	assert_true(now() - start < 8.);
	close(fd);
	challenge_destroy(ch);
}

static void
test_standalone_head_too_big(void **state)
{
	struct fixture *f = *state;
	struct challenge *ch;
	char listen[64];
	char *request = malloc(6000);
	int port = free_port(AF_INET);

	assert_non_null(request);
	memset(request, 'a', 5999);
	request[5999] = '\0';
	memcpy(request, "GET /", 5);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_standalone_create(f->loop, listen);
	assert_non_null(ch);
	assert_status(http_exchange(f, AF_INET, port, request), "HTTP/1.1 400 ");
	free(request);
	challenge_destroy(ch);
}

/* ---- hooks ---- */

/* Writes an executable hook that appends its argv and environment to
 * <dir>/log; returns its path (static). */
static const char *
logging_hook(struct fixture *f, const char *name, const char *extra)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
	        "#!/bin/sh\n"
	        "{ for a; do printf '[%%s]' \"$a\"; done\n"
	        "  printf '\\nACTION=%%s CERT=%%s DOMAIN=%%s TOKEN=%%s KEY_AUTH=%%s RECORD=%%s "
	        "VALUE=%%s\\n' \"$ACMED_ACTION\" \"$ACMED_CERT_NAME\" \"$ACMED_DOMAIN\" "
	        "\"$ACMED_TOKEN\" \"$ACMED_KEY_AUTH\" \"$ACMED_RECORD\" \"$ACMED_VALUE\"\n"
	        "} >> '%s/log'\n"
	        "%s",
	        f->dir, extra);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static char *
hook_log(struct fixture *f)
{
	char path[128];
	char *text;

	snprintf(path, sizeof(path), "%s/log", f->dir);
	text = read_text(path);
	unlink(path);
	return text;
}

static void
test_httphook(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char prog[256];
	char *log;

	logging_hook(f, "http hook", "");
	/* The program path has a space: quoted for the split. */
	snprintf(prog, sizeof(prog), "'%s/http hook' --flag", f->dir);
	ch = challenge_httphook_create(f->loop, prog, 10);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "http-hook");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_HTTP01);

	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	log = hook_log(f);
	assert_string_equal(log, "[--flag][add][example.org][" TOKEN "][" KEY_AUTH "]\n"
	                         "ACTION=add CERT=www DOMAIN=example.org TOKEN=" TOKEN
	                         " KEY_AUTH=" KEY_AUTH " RECORD= VALUE=\n");
	free(log);

	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	log = hook_log(f);
	assert_string_equal(log, "[--flag][del][example.org][" TOKEN "][" KEY_AUTH "]\n"
	                         "ACTION=del CERT=www DOMAIN=example.org TOKEN=" TOKEN
	                         " KEY_AUTH=" KEY_AUTH " RECORD= VALUE=\n");
	free(log);
	challenge_destroy(ch);
}

static void
test_httphook_failure(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char expected[512];
	const char *prog =
	        logging_hook(f, "failing", "echo 'no such vhost  '\necho more\nexit 3\n");

	ch = challenge_httphook_create(f->loop, prog, 10);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	snprintf(expected, sizeof(expected), "http-hook %s add example.org: exit 3: no such vhost",
	         prog);
	assert_string_equal(r.message, expected);
	challenge_destroy(ch);

	capture_begin(f);
	assert_null(challenge_httphook_create(f->loop, "", 10));
	assert_null(challenge_httphook_create(f->loop, "'unbalanced", 10));
	free(capture_end());

	ch = challenge_httphook_create(f->loop, "/nonexistent/hook", 10);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.message, "http-hook /nonexistent/hook add example.org: cannot run: "
	                               "No such file or directory");
	challenge_destroy(ch);
}

static void
test_dns01(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	const char *prog = logging_hook(f, "dns", "");
	double start;
	char *log;

	t.identifier = "example.org"; /* a wildcard's, without "*." */
	t.wildcard = true;
	ch = dns01(f, prog, 10, 1);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "dns-hook");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_DNS01);

	start = now();
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.at - start >= 1.);
	assert_true(r.at - start < 5.);
	log = hook_log(f);
	assert_string_equal(log, "[add][" TXT_NAME "][" TXT_VALUE "]\n"
	                         "ACTION=add CERT=www DOMAIN=example.org TOKEN= KEY_AUTH= "
	                         "RECORD=" TXT_NAME " VALUE=" TXT_VALUE "\n");
	free(log);

	/* No wait after a del. */
	start = now();
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.at - start < 0.9);
	log = hook_log(f);
	assert_string_equal(log, "[del][" TXT_NAME "][" TXT_VALUE "]\n"
	                         "ACTION=del CERT=www DOMAIN=example.org TOKEN= KEY_AUTH= "
	                         "RECORD=" TXT_NAME " VALUE=" TXT_VALUE "\n");
	free(log);

	/* Destroyed while waiting: done is never called. */
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	run_loop(f, 0.3);
	assert_int_equal(r.calls, 2);
	challenge_destroy(ch);
	run_loop(f, 1.2);
	assert_int_equal(r.calls, 2);
	free(hook_log(f));
}

static void
test_dns01_failures(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	char expected[512];
	const char *prog;
	double start;
	char *log;

	prog = logging_hook(f, "slow", "echo 'calling the DNS API'\nsleep 30\n");
	ch = dns01(f, prog, 1, 0);
	assert_non_null(ch);
	start = now();
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_true(now() - start < 4.);
	assert_int_equal(r.rc, -1);
	snprintf(expected, sizeof(expected),
	         "dns-hook %s add " TXT_NAME ": killed after 1 s timeout: calling the DNS API",
	         prog);
	assert_string_equal(r.message, expected);
	challenge_destroy(ch);

	prog = logging_hook(f, "exit2", "exit 2\n");
	ch = dns01(f, prog, 10, 5);
	assert_non_null(ch);
	start = now();
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_true(now() - start < 4.); /* no dns-wait after a failure */
	assert_int_equal(r.rc, -1);
	snprintf(expected, sizeof(expected), "dns-hook %s add " TXT_NAME ": exit 2", prog);
	assert_string_equal(r.message, expected);

	/* Records that are not what acmed builds never reach the hook. */
	capture_begin(f);
	t.txt_name = "x; rm -rf /";
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), -1);
	t.txt_name = TXT_NAME;
	t.txt_value = "not base64url!";
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), -1);
	log = capture_end();
	assert_non_null(strstr(log, "refusing a record"));
	free(log);
	challenge_destroy(ch);
	free(hook_log(f));
}

/* ---- selection ---- */

/* ---- tls-alpn-01 ---- */

/* What a validation server saw: the handshake's outcome, the protocol
 * agreed, the certificate's subjectAltName and acmeIdentifier extension. */
struct tls_seen {
	bool ok;
	char alpn[32];
	char san[128];
	bool critical;
	unsigned char ext[64];
	int ext_len;
};

/* A TLS handshake as a validation server makes it (RFC 8737 section 3),
 * from a child process, since the responder runs on this process's loop. */
static void
tls_handshake(struct fixture *f, int port, const char *sni, const char *alpn, struct tls_seen *seen)
{
	int fds[2];
	pid_t pid;
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tls_seen out = {0};
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
		SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
		int fd = connect_to(AF_INET, port);
		unsigned char protos[32];

		close(fds[0]);
		if (ssl == NULL) {
			_exit(1);
		}
		SSL_set_fd(ssl, fd);
		if (sni != NULL) {
			SSL_set_tlsext_host_name(ssl, sni);
		}
		if (alpn != NULL) {
			protos[0] = (unsigned char)strlen(alpn);
			memcpy(protos + 1, alpn, strlen(alpn));
			SSL_set_alpn_protos(ssl, protos, (unsigned)strlen(alpn) + 1);
		}
		if (SSL_connect(ssl) == 1) {
			const unsigned char *p = NULL;
			unsigned int n = 0;
			X509 *cert = SSL_get1_peer_certificate(ssl);
			ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
			int i = cert != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
			GENERAL_NAMES *names =
			        cert != NULL
			                ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL)
			                : NULL;

			out.ok = true;
			SSL_get0_alpn_selected(ssl, &p, &n);
			snprintf(out.alpn, sizeof(out.alpn), "%.*s", (int)n, (const char *)p);
			if (i >= 0) {
				X509_EXTENSION *ext = X509_get_ext(cert, i);
				ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);

				out.critical = X509_EXTENSION_get_critical(ext) == 1;
				out.ext_len = ASN1_STRING_length(v);
				if (out.ext_len > 0 && out.ext_len <= (int)sizeof(out.ext)) {
					memcpy(out.ext, ASN1_STRING_get0_data(v),
					       (size_t)out.ext_len);
				}
			}
			for (int k = 0; names != NULL && k < sk_GENERAL_NAME_num(names); k++) {
				const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
				size_t used = strlen(out.san);

				if (gn->type == GEN_DNS) {
					snprintf(
					        out.san + used, sizeof(out.san) - used, "DNS:%s;",
					        (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
				} else if (gn->type == GEN_IPADD) {
					snprintf(out.san + used, sizeof(out.san) - used, "IP:%d;",
					         ASN1_STRING_length(gn->d.iPAddress));
				}
			}
			GENERAL_NAMES_free(names);
			ASN1_OBJECT_free(oid);
			X509_free(cert);
		}
		if (write(fds[1], &out, sizeof(out)) != (ssize_t)sizeof(out)) {
			_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	/* The loop serves the handshake until the child's answer arrives. */
	ev_io_init(&c->io, on_client, fds[0], EV_READ);
	c->io.data = c;
	ev_io_start(f->loop, &c->io);
	while (!c->eof) {
		run_loop(f, 10.);
		assert_false(f->watchdog_fired);
	}
	close(fds[0]);
	/* (The default loop reaps children itself.) A child that failed
	 * wrote nothing. */
	assert_int_equal(c->len, sizeof(*seen));
	memcpy(seen, c->buf, sizeof(*seen));
	free(c);
}

/* The extension's value as RFC 8737 section 3 wants it: the DER OCTET
 * STRING of SHA-256(key authorization). */
static void
assert_acme_identifier(const struct tls_seen *seen, const char *key_auth)
{
	unsigned char want[34] = {0x04, 0x20};
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(key_auth, strlen(key_auth), want + 2, &len, EVP_sha256(), NULL),
	                 1);
	assert_true(seen->critical);
	assert_int_equal(seen->ext_len, sizeof(want));
	assert_memory_equal(seen->ext, want, sizeof(want));
}

static void
test_tlsalpn(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge_task ip = task();
	struct challenge *ch;
	struct result r = {0};
	struct tls_seen seen;
	char listen[64];
	int port = free_port(AF_INET);

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_tlsalpn_create(f->loop, listen);
	assert_non_null(ch);

	/* Nothing presented: no certificate for the name. */
	tls_handshake(f, port, "example.org", "acme-tls/1", &seen);
	assert_false(seen.ok);

	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	assert_int_equal(r.calls, 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);

	tls_handshake(f, port, "example.org", "acme-tls/1", &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.alpn, "acme-tls/1");
	assert_string_equal(seen.san, "DNS:example.org;");
	assert_acme_identifier(&seen, KEY_AUTH);
	/* SNI is case-insensitive. */
	tls_handshake(f, port, "EXAMPLE.org", "acme-tls/1", &seen);
	assert_true(seen.ok);

	/* Only a validation server is answered: ALPN acme-tls/1 and a name
	 * being validated. */
	tls_handshake(f, port, "example.org", NULL, &seen);
	assert_false(seen.ok);
	tls_handshake(f, port, "example.org", "http/1.1", &seen);
	assert_false(seen.ok);
	tls_handshake(f, port, "other.example", "acme-tls/1", &seen);
	assert_false(seen.ok);
	tls_handshake(f, port, NULL, "acme-tls/1", &seen);
	assert_false(seen.ok);

	/* An IP address: asked for by its reverse-DNS name (RFC 8738). */
	ip.id_type = IDENT_IP;
	ip.identifier = "192.0.2.7";
	ip.key_auth = TOKEN ".another";
	assert_int_equal(ch->ops->present(ch, &ip, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	tls_handshake(f, port, "7.2.0.192.in-addr.arpa", "acme-tls/1", &seen);
	assert_true(seen.ok);
	assert_string_equal(seen.san, "IP:4;");
	assert_acme_identifier(&seen, TOKEN ".another");

	/* Withdrawn: gone. */
	assert_int_equal(ch->ops->cleanup(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	assert_int_equal(r.rc, 0);
	tls_handshake(f, port, "example.org", "acme-tls/1", &seen);
	assert_false(seen.ok);
	tls_handshake(f, port, "7.2.0.192.in-addr.arpa", "acme-tls/1", &seen);
	assert_true(seen.ok);
	challenge_destroy(ch);
}

/* A flood of idle connections does not keep a validation out. */
static void
test_tlsalpn_flood(void **state)
{
	struct fixture *f = *state;
	struct challenge_task t = task();
	struct challenge *ch;
	struct result r = {0};
	struct tls_seen seen;
	char listen[64];
	int fds[300];
	int port = free_port(AF_INET);
	int i;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ch = challenge_tlsalpn_create(f->loop, listen);
	assert_non_null(ch);
	assert_int_equal(ch->ops->present(ch, &t, on_done, &r), 0);
	wait_done(f, &r);
	for (i = 0; i < 300; i++) {
		fds[i] = connect_to(AF_INET, port);
	}
	assert_int_equal(wait_closed(f, fds, 300, 300 - 64), 300 - 64);
	tls_handshake(f, port, "example.org", "acme-tls/1", &seen);
	assert_true(seen.ok);
	for (i = 0; i < 300; i++) {
		close(fds[i]);
	}
	challenge_destroy(ch);
}

static void
test_tlsalpn_port_in_use(void **state)
{
	struct fixture *f = *state;
	char address[64];
	char *log;
	int port = free_port(AF_INET);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	snprintf(address, sizeof(address), "127.0.0.1:%d", port);
	capture_begin(f);
	assert_null(challenge_tlsalpn_create(f->loop, address));
	log = capture_end();
	assert_non_null(strstr(log, "tls-listen 127.0.0.1:"));
	assert_non_null(strstr(log, ": bind: Address already in use"));
	free(log);
	close(fd);
}

static void
test_create_selection(void **state)
{
	struct fixture *f = *state;
	struct conf_settings s;
	struct challenge *ch;
	char listen[64];
	char dns_hook[] = "/bin/true";
	char http_hook[] = "/bin/true";
	char *log;

	memset(&s, 0, sizeof(s));
	s.hook_timeout = 120;

	s.challenge = CONF_CHALLENGE_DNS01;
	capture_begin(f);
	assert_null(challenge_create(f->loop, &s));
	log = capture_end();
	assert_non_null(strstr(log, "dns-01 needs a hook or a server: set dns-hook (--dns-hook) or "
	                            "dns-update\n"));
	free(log);

	s.challenge = CONF_CHALLENGE_TLSALPN01;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port(AF_INET));
	s.tls_listen = listen;
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "tls-alpn");
	assert_int_equal(ch->ops->type, CHALLENGE_TYPE_TLSALPN01);
	challenge_destroy(ch);
	s.tls_listen = NULL;

	s.challenge = CONF_CHALLENGE_DNS01;
	s.dns_hook = dns_hook;
	s.webroot = f->dir; /* not for dns-01 */
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "dns-hook");
	assert_non_null(ch->key);
	challenge_destroy(ch);

	s.challenge = CONF_CHALLENGE_HTTP01;
	s.http_hook = http_hook;
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "http-hook");
	challenge_destroy(ch);

	s.http_hook = NULL;
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "webroot");
	challenge_destroy(ch);

	s.webroot = NULL;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port(AF_INET));
	s.http_listen = listen;
	ch = challenge_create(f->loop, &s);
	assert_non_null(ch);
	assert_string_equal(ch->ops->name, "standalone");
	challenge_destroy(ch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_webroot_present_cleanup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_symlink_replaced, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_bad_token, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_missing_folder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_webroot_destroy_pending, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_serves_tokens, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_shared_tokens, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_port_in_use, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_bad_listen, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_dual_stack, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_connection_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_idle_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_standalone_head_too_big, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tlsalpn, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tlsalpn_flood, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tlsalpn_port_in_use, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_httphook, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_httphook_failure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dns01, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dns01_failures, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_create_selection, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
