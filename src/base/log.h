/* Logging: levels, one sink (stderr for commands, syslog for the daemon). */
#ifndef ACMED_LOG_H
#define ACMED_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL__MAX,
};

/* Sets the program name shown on stderr, the level, and whether messages go
 * to syslog instead of stderr. Safe to call again to change any of them. */
void log_init(const char *progname, enum log_level level, bool use_syslog);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Whether a message at this level would be written. */
bool log_enabled(enum log_level level);

/* Writes one line (a trailing newline is added). Never pass keys, HMACs or JWS
 * bodies. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like log_msg at LOG_LEVEL_ERROR, followed by OpenSSL's whole error queue
 * (which is emptied). */
void log_openssl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Also hands every error line (as written, without the program name and
 * level) to fn with arg, until called again (fn NULL: no more). fn runs
 * under a lock of its own, possibly on another thread: it must not log. For
 * output that reports errors itself (cert --json). */
typedef void (*log_error_fn)(const char *line, void *arg);
void log_set_error_hook(log_error_fn fn, void *arg);

/* Whether messages go to a terminal (stderr is a TTY and not syslog). */
bool log_is_tty(void);

/* t as "2026-12-02 08:13:52 UTC" into buf (at least LOG_TIME_LEN bytes), the
 * way every message writes a time. */
#define LOG_TIME_LEN 32
void log_time(time_t t, char *buf, size_t len);

/* A status line kept under the messages on a terminal: redrawn after each
 * message, replaced by the next call, removed by log_status_clear. Ignored
 * when not on a terminal. */
void log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_status_clear(void);

/* The first error a callee logged, kept for a caller that must store a
 * self-contained reason (state.json's last error is shown later by
 * `acmed status`, where the log is not). Between log_capture_begin and
 * log_capture_end on one thread, the first LOG_LEVEL_ERROR line (whatever
 * the level shown) is copied into c->first ("" when none). Captures nest:
 * the innermost one gets it. */
struct log_capture {
	char first[512];
	struct log_capture *outer;
	/* Set by the caller after log_capture_begin: error lines are shown
	 * as warnings (the caller says later whether it was an error: a CA
	 * away that another of the list stands in for). */
	bool demote;
	/* Set by the caller after log_capture_begin: the first error line is
	 * kept and not shown, because the caller shows it in a message of
	 * its own (a job's failure); later lines are shown. */
	bool quiet;
};

void log_capture_begin(struct log_capture *c);
void log_capture_end(struct log_capture *c);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
