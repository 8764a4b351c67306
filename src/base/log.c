#include "base/log.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static const char *log_progname = "acmed";
static enum log_level log_level = LOG_LEVEL_INFO;
static bool log_syslog;
static bool log_colour;
static bool log_tty;
static bool log_journal;
static char log_status_line[256];
/* The innermost capture of this thread (log_capture_begin). */
static _Thread_local struct log_capture *log_captured;
static pthread_mutex_t log_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static log_error_fn log_hook;
static void *log_hook_arg;

static const struct {
	const char *label;
	const char *colour;
	int priority;
} levels[LOG_LEVEL__MAX] = {
        [LOG_LEVEL_ERROR] = {"error", "\033[31m", LOG_ERR},
        [LOG_LEVEL_WARN] = {"warning", "\033[33m", LOG_WARNING},
        [LOG_LEVEL_INFO] = {NULL, NULL, LOG_INFO},
        [LOG_LEVEL_DEBUG] = {"debug", "\033[2m", LOG_DEBUG},
};

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to the journal (systemd.exec(5)): stderr is the journal when
 * they match, not merely inherited by a child of such a service. */
static bool
stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev;
	unsigned long long ino;
	struct stat st;
	char end;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0) {
		return false;
	}
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, enum log_level level, bool use_syslog)
{
	if (progname != NULL) {
		log_progname = progname;
	}
	log_set_level(level);
	if (use_syslog && !log_syslog) {
		openlog(log_progname, LOG_PID, LOG_DAEMON);
	} else if (!use_syslog && log_syslog) {
		closelog();
	}
	log_syslog = use_syslog;
	log_tty = !use_syslog && isatty(STDERR_FILENO);
	log_journal = !use_syslog && stderr_is_journal();
	log_colour = log_tty && getenv("NO_COLOR") == NULL;
}

void
log_set_level(enum log_level level)
{
	if (level >= LOG_LEVEL__MAX) {
		level = LOG_LEVEL_DEBUG;
	}
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One message is one line, whatever a server put in it. */
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = ' ';
		}
	}
	if (level == LOG_LEVEL_ERROR) {
		pthread_mutex_lock(&log_hook_lock);
		if (log_hook != NULL) {
			log_hook(line, log_hook_arg);
		}
		pthread_mutex_unlock(&log_hook_lock);
	}
	if (log_syslog) {
		syslog(levels[level].priority, "%s", line);
		return;
	}
	if (log_status_line[0] != '\0') {
		fputs("\r\033[K", stderr);
	}
	if (log_journal) {
		/* The journal adds the name and PID; "<N>" is the line's
		 * syslog priority (sd-daemon(3)), for journalctl -p. */
		if (levels[level].label == NULL) {
			fprintf(stderr, "<%d>%s\n", levels[level].priority, line);
		} else {
			fprintf(stderr, "<%d>%s: %s\n", levels[level].priority, levels[level].label,
			        line);
		}
	} else if (levels[level].label == NULL) {
		fprintf(stderr, "%s: %s\n", log_progname, line);
	} else if (log_colour) {
		fprintf(stderr, "%s: %s%s\033[0m: %s\n", log_progname, levels[level].colour,
		        levels[level].label, line);
	} else {
		fprintf(stderr, "%s: %s: %s\n", log_progname, levels[level].label, line);
	}
	if (log_status_line[0] != '\0') {
		fputs(log_status_line, stderr);
		fflush(stderr);
	}
}

void
log_set_error_hook(log_error_fn fn, void *arg)
{
	pthread_mutex_lock(&log_hook_lock);
	log_hook = fn;
	log_hook_arg = arg;
	pthread_mutex_unlock(&log_hook_lock);
}

bool
log_is_tty(void)
{
	return log_tty;
}

void
log_status(const char *fmt, ...)
{
	va_list ap;

	if (!log_tty) {
		return;
	}
	if (log_status_line[0] != '\0') {
		fputs("\r\033[K", stderr);
	}
	va_start(ap, fmt);
	vsnprintf(log_status_line, sizeof(log_status_line), fmt, ap);
	va_end(ap);
	fputs(log_status_line, stderr);
	fflush(stderr);
}

void
log_status_clear(void)
{
	if (log_status_line[0] != '\0') {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	log_status_line[0] = '\0';
}

void
log_capture_begin(struct log_capture *c)
{
	c->first[0] = '\0';
	c->demote = false;
	c->quiet = false;
	c->outer = log_captured;
	log_captured = c;
}

void
log_capture_end(struct log_capture *c)
{
	if (log_captured == c) {
		log_captured = c->outer;
	}
}

static bool capture(enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Keeps an error line in the innermost capture, when it has none yet.
 * Returns whether this one was kept. */
static bool
capture(enum log_level level, const char *fmt, va_list ap)
{
	struct log_capture *c = log_captured;

	if (c == NULL || level != LOG_LEVEL_ERROR || c->first[0] != '\0') {
		return false;
	}
	vsnprintf(c->first, sizeof(c->first), fmt, ap);
	for (char *p = c->first; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = ' ';
		}
	}
	return true;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	bool kept;

	if (level < LOG_LEVEL__MAX && log_captured != NULL) {
		va_start(ap, fmt);
		kept = capture(level, fmt, ap);
		va_end(ap);
		if (kept && log_captured->quiet) {
			return;
		}
		if (level == LOG_LEVEL_ERROR && log_captured->demote) {
			level = LOG_LEVEL_WARN;
		}
	}
	if (level >= LOG_LEVEL__MAX || !log_enabled(level)) {
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_openssl(const char *fmt, ...)
{
	va_list ap;
	unsigned long code;
	char buf[256];
	enum log_level level = LOG_LEVEL_ERROR;
	bool kept = false;

	/* As log_msg: kept by a capture, which may say it itself (quiet:
	 * OpenSSL's own lines then only with -v) or make it a warning. */
	if (log_captured != NULL) {
		va_start(ap, fmt);
		kept = capture(LOG_LEVEL_ERROR, fmt, ap);
		va_end(ap);
		if (log_captured->demote) {
			level = LOG_LEVEL_WARN;
		}
	}
	if (kept && log_captured->quiet) {
		level = LOG_LEVEL_DEBUG;
	} else if (log_enabled(level)) {
		va_start(ap, fmt);
		log_vmsg(level, fmt, ap);
		va_end(ap);
	}
	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, buf, sizeof(buf));
		log_msg(level, "openssl: %s", buf);
	}
}

void
log_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		snprintf(buf, len, "@%lld", (long long)t);
	}
}
