/* What acmed tells an operator when something happens to a certificate
 * (issue #17's notifications): the events, and the texts each channel
 * sends (notifier.c sends them). Pure: no I/O. */
#ifndef ACMED_NOTICE_H
#define ACMED_NOTICE_H

#include <stddef.h>
#include <time.h>

enum notice_event {
	NOTICE_RENEWAL_FAILED, /* the first failure, again in the last warn-before */
	NOTICE_EXPIRING, /* inside warn-before of its notAfter, not renewed */
	NOTICE_RENEWED, /* a new certificate installed */
	NOTICE_DEPLOY_FAILED, /* installed, but its deploy hook failed */
	NOTICE_ARI_REPLACE_NOW, /* the CA's window has passed: renew at once */
	NOTICE_TEST, /* acmed notify-test */
	NOTICE__MAX,
};

struct notice {
	enum notice_event event;
	const char *cert;
	const char *message; /* one line: what happened */
	time_t not_after; /* of what is installed, 0 when none */
	const char *ca; /* the CA's directory URL, or NULL */
	long failures; /* failed attempts in a row */
	const char *host; /* the node it happened on */
	time_t when;
};

/* "renewal-failed", "expiring", "renewed", "deploy-failed",
 * "ari-replace-now", "test". */
const char *notice_event_name(enum notice_event event);

/* The one line a person reads first: "acmed on HOST: www: renewal failed:
 * MESSAGE". Into buf (len bytes); returns buf. */
char *notice_headline(const struct notice *n, char *buf, size_t len);

/* The webhook bodies: acmed's JSON object ({"event", "cert", "message",
 * "not_after" (RFC 3339, or null), "ca", "failures", "host", "time"}) or
 * Slack's {"text": headline}. New strings, NULL when out of memory. */
char *notice_json(const struct notice *n);
char *notice_slack(const struct notice *n);

/* The e-mail for sendmail -t: To, Subject (naming the certificate and the
 * event), headers for an automatic message, then the text. Header values
 * hold no line breaks whatever the notice says. New string (*len bytes),
 * NULL when out of memory. */
char *notice_email(const struct notice *n, const char *to, size_t *len);

/* The notify-hook's environment: ACMED_EVENT, ACMED_CERT_NAME,
 * ACMED_MESSAGE, ACMED_NOT_AFTER (RFC 3339, "" when none), ACMED_CA,
 * ACMED_FAILURES, ACMED_HOST. NULL-terminated "NAME=value" strings
 * (notice_env_free), NULL when out of memory. */
char **notice_env(const struct notice *n);
void notice_env_free(char **env);

#endif
