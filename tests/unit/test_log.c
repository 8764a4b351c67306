/* base/log.c through its header: levels, one line per message, the
 * prefixes, colour and the status line on a terminal only, the journal's
 * priorities, syslog, log_time and log_openssl; stderr captured. */
#include "base/log.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"

#define NAME "acmed-test"

static int
setup(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	unsetenv("NO_COLOR");
	return 0;
}

/* Back to what a command starts with, for the next test. */
static int
teardown(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	unsetenv("NO_COLOR");
	log_status_clear();
	log_init("acmed", LOG_LEVEL_INFO, false);
	return 0;
}

/* Runs first: nothing has called log_init yet. */
static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	assert_true(log_enabled(LOG_LEVEL_WARN));
	assert_true(log_enabled(LOG_LEVEL_INFO));
	assert_false(log_enabled(LOG_LEVEL_DEBUG));
}

static void
test_levels(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL_INFO, false);
	assert_false(log_is_tty());
	log_debug("not shown");
	log_info("info %d", 1);
	log_warn("warn %s", "two");
	log_error("error");
	assert_string_equal(capture_take(&c),
	                    NAME ": info 1\n" NAME ": warning: warn two\n" NAME ": error: error\n");

	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
	assert_false(log_enabled(LOG_LEVEL_WARN));
	log_warn("not shown");
	log_info("not shown");
	log_error("shown");
	assert_string_equal(capture_take(&c), NAME ": error: shown\n");

	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("d");
	assert_string_equal(capture_take(&c), NAME ": debug: d\n");

	/* Past the last level: everything. */
	log_set_level(LOG_LEVEL__MAX);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level((enum log_level)42);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	/* A level that is none writes nothing. */
	log_msg(LOG_LEVEL__MAX, "nothing");
	log_msg((enum log_level)42, "nothing");
	assert_string_equal(capture_take(&c), "");

	/* log_init sets the level too, and keeps the name when given none. */
	log_init(NULL, LOG_LEVEL_WARN, false);
	log_info("not shown");
	log_warn("w");
	assert_string_equal(capture_take(&c), NAME ": warning: w\n");
	capture_end(&c);
}

/* Whatever a server put in a message, it is one line. */
static void
test_one_line(void **state)
{
	struct capture c;
	char big[3000];
	const char *out;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL_INFO, false);
	log_error("www: %s", "line one\nline two\r\nthree\r");
	assert_string_equal(capture_take(&c), NAME ": error: www: line one line two  three \n");

	/* A long one is cut, still one line. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	log_info("%s", big);
	out = capture_take(&c);
	assert_int_equal(strlen(out), strlen(NAME ": ") + 2047 + 1);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	capture_end(&c);
}

/* The first error a callee logged is kept for its caller, whatever the
 * level shown; captures nest. */
static void
test_capture_first_error(void **state)
{
	struct log_capture outer;
	struct log_capture inner;
	struct capture c;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL__MAX, false);
	log_set_level(LOG_LEVEL_ERROR);
	log_error("before any capture");
	log_capture_begin(&outer);
	assert_string_equal(outer.first, "");
	log_warn("a warning is not kept");
	log_error("bind [::]:80: %s", "Address in use\nreally");
	log_error("the second is not kept");
	assert_string_equal(outer.first, "bind [::]:80: Address in use really");
	log_capture_begin(&inner);
	log_openssl("key: %s", "bad");
	log_capture_end(&inner);
	assert_string_equal(inner.first, "key: bad");
	assert_string_equal(outer.first, "bind [::]:80: Address in use really");
	log_capture_end(&outer);
	log_set_level(LOG_LEVEL__MAX);
	log_error("after");
	assert_string_equal(outer.first, "bind [::]:80: Address in use really");
	capture_take(&c);
	capture_end(&c);
}

/* A quiet capture keeps its first error and does not show it (its caller
 * says it in its own message); what follows is shown. */
static void
test_capture_quiet(void **state)
{
	struct log_capture cap;
	struct capture c;
	const char *out;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL__MAX, false);
	log_set_level(LOG_LEVEL_INFO);
	log_capture_begin(&cap);
	cap.quiet = true;
	log_info("shown");
	log_error("bind 127.0.0.1:80: Address in use");
	log_error("the second is shown");
	log_capture_end(&cap);
	assert_string_equal(cap.first, "bind 127.0.0.1:80: Address in use");
	out = capture_take(&c);
	assert_non_null(strstr(out, "shown"));
	assert_non_null(strstr(out, "the second is shown"));
	assert_null(strstr(out, "Address in use"));
	capture_end(&c);
}

static void
test_time(void **state)
{
	char buf[LOG_TIME_LEN];
	char small[5];

	(void)state;
	log_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01 00:00:00 UTC");
	log_time(1700000000, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14 22:13:20 UTC");
	log_time(4102444799, buf, sizeof(buf));
	assert_string_equal(buf, "2099-12-31 23:59:59 UTC");
	/* No calendar time for it: the number. */
	log_time((time_t)LLONG_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "@9223372036854775807");
	/* Too small a buffer: cut, terminated. */
	log_time(1700000000, small, sizeof(small));
	assert_string_equal(small, "@170");
}

#define FIRST NAME ": error: key /k.pem: cannot read it\n"
#define QUEUED NAME ": error: openssl: error:"

/* The context, then OpenSSL's queue, emptied; errors show at every
 * level. */
static void
test_openssl(void **state)
{
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nnot base64\n"
	                           "-----END PRIVATE KEY-----\n";
	struct capture c;
	BIO *bio = BIO_new_mem_buf(junk, (int)sizeof(junk) - 1);
	EVP_PKEY *key;
	const char *out;
	const char *line;

	(void)state;
	assert_non_null(bio);
	ERR_clear_error();
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_null(key);
	assert_int_not_equal(ERR_peek_error(), 0);
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL_ERROR, false);
	log_openssl("key %s: cannot read it", "/k.pem");
	out = capture_take(&c);
	assert_int_equal(strncmp(out, FIRST, strlen(FIRST)), 0);
	/* Then each queued error, a line of its own. */
	line = out + strlen(FIRST);
	assert_true(*line != '\0');
	while (*line != '\0') {
		assert_int_equal(strncmp(line, QUEUED, strlen(QUEUED)), 0);
		assert_non_null(strchr(line, '\n'));
		line = strchr(line, '\n') + 1;
	}
	assert_int_equal(ERR_peek_error(), 0);
	/* Nothing queued: the context alone. */
	log_openssl("again");
	assert_string_equal(capture_take(&c), NAME ": error: again\n");
	capture_end(&c);
}

/* log_openssl under a quiet capture: kept, not said (its caller says it);
 * OpenSSL's own lines at debug level. Under a demoting one: warnings. */
static void
test_openssl_captured(void **state)
{
	struct log_capture cap;
	struct capture c;
	const char *out;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL_INFO, false);
	ERR_raise_data(ERR_LIB_PEM, PEM_R_NO_START_LINE, "test");
	log_capture_begin(&cap);
	cap.quiet = true;
	log_openssl("tls-alpn-01 %s: cannot set up TLS", "[::]:443");
	log_capture_end(&cap);
	assert_string_equal(cap.first, "tls-alpn-01 [::]:443: cannot set up TLS");
	assert_string_equal(capture_take(&c), "");
	assert_int_equal(ERR_peek_error(), 0);
	ERR_raise_data(ERR_LIB_PEM, PEM_R_NO_START_LINE, "test");
	log_capture_begin(&cap);
	cap.demote = true;
	log_openssl("not fatal");
	log_capture_end(&cap);
	out = capture_take(&c);
	print_message("%s", out);
	assert_int_equal(strncmp(out, NAME ": warning: not fatal\n",
	                         sizeof(NAME ": warning: not fatal\n") - 1),
	                 0);
	assert_non_null(strstr(out, NAME ": warning: openssl: error:"));
	assert_null(strstr(out, ": error: "));
	capture_end(&c);
}

/* On a terminal: colour (unless NO_COLOR), and the status line kept under
 * the messages. */
static void
test_terminal(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c, true);
	log_init(NAME, LOG_LEVEL_INFO, false);
	assert_true(log_is_tty());
	log_info("plain");
	log_warn("w");
	log_error("e");
	assert_string_equal(capture_take(&c),
	                    NAME ": plain\n" NAME ": \033[33mwarning\033[0m: w\n" NAME
	                         ": \033[31merror\033[0m: e\n");

	log_status("%d/%d done", 3, 10);
	assert_string_equal(capture_take(&c), "3/10 done");
	/* A message goes above it: the line cleared, the message, the line
	 * again. */
	log_info("between");
	assert_string_equal(capture_take(&c), "\r\033[K" NAME ": between\n3/10 done");
	log_status("4/10 done");
	assert_string_equal(capture_take(&c), "\r\033[K4/10 done");
	log_status_clear();
	assert_string_equal(capture_take(&c), "\r\033[K");
	log_status_clear();
	log_info("after");
	assert_string_equal(capture_take(&c), NAME ": after\n");

	setenv("NO_COLOR", "1", 1);
	log_init(NAME, LOG_LEVEL_INFO, false);
	assert_true(log_is_tty());
	log_warn("w");
	assert_string_equal(capture_take(&c), NAME ": warning: w\n");
	capture_end(&c);
}

/* Not on a terminal: no status line, no colour. */
static void
test_not_terminal(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c, false);
	log_init(NAME, LOG_LEVEL_INFO, false);
	assert_false(log_is_tty());
	log_status("1/2 done");
	log_warn("w");
	log_status_clear();
	assert_string_equal(capture_take(&c), NAME ": warning: w\n");
	capture_end(&c);
}

/* stderr is the journal when JOURNAL_STREAM names it: each line starts
 * with its syslog priority (sd-daemon(3)), without the program name. */
static void
test_journal(void **state)
{
	struct capture c;
	struct stat st;
	char value[64];

	(void)state;
	capture_begin(&c, false);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", value, 1);
	log_init(NAME, LOG_LEVEL_DEBUG, false);
	log_error("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	assert_string_equal(capture_take(&c), "<3>error: e\n<4>warning: w\n<6>i\n<7>debug: d\n");

	/* Another stream's (a child of such a service), or no sense. */
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", value, 1);
	log_init(NAME, LOG_LEVEL_INFO, false);
	log_info("i");
	setenv("JOURNAL_STREAM", "12", 1);
	log_init(NAME, LOG_LEVEL_INFO, false);
	log_info("j");
	snprintf(value, sizeof(value), "%llu:%llux", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", value, 1);
	log_init(NAME, LOG_LEVEL_INFO, false);
	log_info("k");
	assert_string_equal(capture_take(&c), NAME ": i\n" NAME ": j\n" NAME ": k\n");
	capture_end(&c);
}

/* The daemon's sink: nothing on stderr, and no terminal even on one. */
static void
test_syslog(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c, true);
	log_init(NAME, LOG_LEVEL_INFO, true);
	assert_false(log_is_tty());
	log_error("to syslog");
	log_status("no status");
	assert_string_equal(capture_take(&c), "");
	/* And back. */
	log_init(NAME, LOG_LEVEL_INFO, false);
	assert_true(log_is_tty());
	log_info("to stderr");
	assert_string_equal(capture_take(&c), NAME ": to stderr\n");
	capture_end(&c);
}

static void
collect(const char *line, void *arg)
{
	char *buf = arg;

	strncat(buf, line, 255 - strlen(buf));
	strncat(buf, "|", 255 - strlen(buf));
}

/* Errors reach the hook (one line each), other levels do not. */
static void
test_error_hook(void **state)
{
	char seen[256] = "";

	(void)state;
	log_init(NAME, LOG_LEVEL_ERROR, false);
	log_set_error_hook(collect, seen);
	log_info("not this");
	log_warn("nor this");
	log_error("bad %s", "value");
	log_error("two\nlines");
	log_set_error_hook(NULL, NULL);
	log_error("after");
	assert_string_equal(seen, "bad value|two lines|");
	log_init(NAME, LOG_LEVEL_INFO, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
	        cmocka_unit_test(test_time),
	        cmocka_unit_test_setup_teardown(test_capture_first_error, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_capture_quiet, setup, teardown),
	        cmocka_unit_test(test_error_hook),
	        cmocka_unit_test_setup_teardown(test_openssl, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_openssl_captured, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_terminal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_terminal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_syslog, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
