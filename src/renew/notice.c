#include "renew/notice.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[NOTICE__MAX] = {
        [NOTICE_RENEWAL_FAILED] = "renewal-failed",
        [NOTICE_EXPIRING] = "expiring",
        [NOTICE_RENEWED] = "renewed",
        [NOTICE_DEPLOY_FAILED] = "deploy-failed",
        [NOTICE_ARI_REPLACE_NOW] = "ari-replace-now",
        [NOTICE_TEST] = "test",
};

/* How a headline says it. */
static const char *const says[NOTICE__MAX] = {
        [NOTICE_RENEWAL_FAILED] = "renewal failed",
        [NOTICE_EXPIRING] = "expiring",
        [NOTICE_RENEWED] = "renewed",
        [NOTICE_DEPLOY_FAILED] = "deploy hook failed",
        [NOTICE_ARI_REPLACE_NOW] = "the CA asks to replace it now",
        [NOTICE_TEST] = "test notification",
};

const char *
notice_event_name(enum notice_event event)
{
	return event < NOTICE__MAX ? names[event] : "unknown";
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* t as RFC 3339 UTC into buf; "" for 0. */
static const char *
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	buf[0] = '\0';
	if (t != 0 && gmtime_r(&t, &tm) != NULL) {
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	return buf;
}

char *
notice_headline(const struct notice *n, char *buf, size_t len)
{
	const char *what = n->event < NOTICE__MAX ? says[n->event] : "?";

	if (n->message != NULL && n->message[0] != '\0') {
		snprintf(buf, len, "acmed on %s: %s: %s: %s", or_empty(n->host), or_empty(n->cert),
		         what, n->message);
	} else {
		snprintf(buf, len, "acmed on %s: %s: %s", or_empty(n->host), or_empty(n->cert),
		         what);
	}
	return buf;
}

char *
notice_json(const struct notice *n)
{
	char not_after[32];
	char when[32];
	json_t *o = json_pack(
	        "{s:s, s:s, s:s, s:s*, s:s*, s:I, s:s, s:s}", "event", notice_event_name(n->event),
	        "cert", or_empty(n->cert), "message", or_empty(n->message), "not_after",
	        n->not_after != 0 ? rfc3339(n->not_after, not_after, sizeof(not_after)) : NULL,
	        "ca", n->ca, "failures", (json_int_t)n->failures, "host", or_empty(n->host), "time",
	        rfc3339(n->when, when, sizeof(when)));
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return text;
}

char *
notice_slack(const struct notice *n)
{
	char line[2048];
	json_t *o = json_pack("{s:s}", "text", notice_headline(n, line, sizeof(line)));
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

/* s without CR and LF (each becomes a space): a header value that cannot
 * start another header. Into buf (len bytes); returns buf. */
static const char *
one_line(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s != NULL && s[i] != '\0' && i + 1 < len; i++) {
		buf[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
	}
	buf[i] = '\0';
	return buf;
}

char *
notice_email(const struct notice *n, const char *to, size_t *len)
{
	char subject[512];
	char cert[256];
	char rcpt[512];
	char line[2048];
	char not_after[32];
	char *text = NULL;
	int size;

	snprintf(subject, sizeof(subject), "acmed: %s: %s", one_line(n->cert, cert, sizeof(cert)),
	         n->event < NOTICE__MAX ? says[n->event] : "?");
	size = asprintf(&text,
	                "To: %s\n"
	                "Subject: %s\n"
	                "Auto-Submitted: auto-generated\n"
	                "Content-Type: text/plain; charset=utf-8\n"
	                "\n"
	                "%s\n"
	                "\n"
	                "Event: %s\n"
	                "Certificate: %s\n"
	                "Expires: %s\n"
	                "CA: %s\n"
	                "Failures in a row: %ld\n"
	                "Host: %s\n",
	                one_line(to, rcpt, sizeof(rcpt)), subject,
	                notice_headline(n, line, sizeof(line)), notice_event_name(n->event),
	                or_empty(n->cert),
	                n->not_after != 0 ? rfc3339(n->not_after, not_after, sizeof(not_after))
	                                  : "nothing installed",
	                n->ca != NULL ? n->ca : "-", n->failures, or_empty(n->host));
	if (size < 0) {
		return NULL;
	}
	*len = (size_t)size;
	return text;
}

static char *
env_var(const char *name, const char *value)
{
	char *s = NULL;

	return asprintf(&s, "%s=%s", name, or_empty(value)) < 0 ? NULL : s;
}

char **
notice_env(const struct notice *n)
{
	char not_after[32];
	char failures[32];
	char **env = calloc(8, sizeof(*env));
	bool ok = env != NULL;

	snprintf(failures, sizeof(failures), "%ld", n->failures);
	if (ok) {
		env[0] = env_var("ACMED_EVENT", notice_event_name(n->event));
		env[1] = env_var("ACMED_CERT_NAME", n->cert);
		env[2] = env_var("ACMED_MESSAGE", n->message);
		env[3] = env_var("ACMED_NOT_AFTER",
		                 rfc3339(n->not_after, not_after, sizeof(not_after)));
		env[4] = env_var("ACMED_CA", n->ca);
		env[5] = env_var("ACMED_FAILURES", failures);
		env[6] = env_var("ACMED_HOST", n->host);
		for (int i = 0; i < 7; i++) {
			ok = ok && env[i] != NULL;
		}
	}
	if (!ok) {
		notice_env_free(env);
		env = NULL;
	}
	return env;
}

void
notice_env_free(char **env)
{
	for (size_t i = 0; env != NULL && i < 7; i++) {
		free(env[i]);
	}
	free(env);
}
