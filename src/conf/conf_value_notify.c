/* The values of the notification keys (conf_internal.h). */
#include "conf/conf_internal.h"

#include <stdio.h>
#include <string.h>

#include "io/http.h"

int
conf_value_parse_notify_email(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen)
{
	char addr[512];

	/* One address: a list would need its commas checked as one. */
	if (strchr(value, ',') != NULL || strchr(value, ' ') != NULL) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': expected one address",
		                spec->name, value);
		return -1;
	}
	if (conf_value_parse_email(spec, value, strlen(value), addr, sizeof(addr), err, errlen) <
	    0) {
		return -1;
	}
	return conf_value_set_string(s, spec, strncmp(addr, "mailto:", 7) == 0 ? addr + 7 : addr);
}

int
conf_value_parse_webhook(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	/* Plain http would carry the message in clear over the network;
	 * on loopback it reaches a local relay only. */
	if (!http_url_ok(value) && !http_url_loopback(value)) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': expected an https:// URL (or http:// to "
		                "127.0.0.1 or [::1])",
		                spec->name, value);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

int
conf_value_parse_webhook_format(struct conf_settings *s, const struct conf_key_spec *spec,
                                const char *value, char *err, size_t errlen)
{
	long *dst = conf_value_field(s, spec->off);

	if (strcmp(value, "json") == 0) {
		*dst = CONF_WEBHOOK_JSON;
	} else if (strcmp(value, "slack") == 0) {
		*dst = CONF_WEBHOOK_SLACK;
	} else {
		conf_value_fail(err, errlen, "%s: invalid value '%s': expected json or slack",
		                spec->name, value);
		return -1;
	}
	return 0;
}

int
conf_value_parse_abs_path(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (value[0] != '/' || value[n - 1] == '/') {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': expected a file's absolute path (a timer "
		                "or service runs in another folder)",
		                spec->name, value);
		return -1;
	}
	/* Then what every text key must be (its length, no control
	 * character). */
	return conf_value_parse_text(s, spec, value, err, errlen);
}
