/* The values of the CA keys (conf_internal.h): ca and url (a short name,
 * a URL, a [ca] section's name), staging, and the external account
 * binding (eab-alg, eab-hmac-key, eab-hmac-key-file). */
#include "conf/conf_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "base/file.h"
#include "conf/ca.h"
#include "io/http.h"

static const char *const eab_algs[] = {"HS256", "HS384", "HS512"};

static int
eab_alg_cmp(const void *key, const void *elem)
{
	const char *const *alg = elem;

	return strcmp(key, *alg);
}

int
conf_value_parse_ca(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                    char *err, size_t errlen)
{
	if (ca_directory_url(value) == NULL) {
		conf_value_fail(err, errlen,
		                "%s: unknown CA '%s': expected an https URL or one of %s",
		                spec->name, value, ca_short_names());
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

/* Whether item could name a [ca NAME] section (conf_load checks that one
 * does). */
static bool
ca_section_shaped(const char *item)
{
	size_t len = strlen(item);

	return len > 0 && len <= 64 && isalnum((unsigned char)item[0]) &&
	       strspn(item, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	               len;
}

int
conf_value_parse_ca_list(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	char items[CONF_CA_LIST_MAX][CONF_CA_ITEM_MAX + 1];
	char joined[CONF_CA_LIST_MAX * (CONF_CA_ITEM_MAX + 1)];
	size_t n = 0;
	size_t off = 0;
	size_t len;
	int ret = -1;

	for (const char *p = value + strspn(value, " \t,"); *p != '\0';
	     p += len, p += strspn(p, " \t,")) {
		len = strcspn(p, " \t,");
		if (n == (size_t)spec->max) {
			conf_value_fail(err, errlen, "%s: at most %ld CAs", spec->name, spec->max);
			goto out;
		}
		if (len > CONF_CA_ITEM_MAX) {
			conf_value_fail(err, errlen, "%s: '%.40s...' is too long", spec->name, p);
			goto out;
		}
		memcpy(items[n], p, len);
		items[n][len] = '\0';
		if (ca_directory_url(items[n]) == NULL && !ca_section_shaped(items[n])) {
			conf_value_fail(err, errlen,
			                "%s: unknown CA '%s': expected the name of a [ca NAME] "
			                "section, an https URL or one of %s",
			                spec->name, items[n], ca_short_names());
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(items[i], items[n]) == 0) {
				conf_value_fail(err, errlen, "%s: '%s' is listed twice", spec->name,
				                items[n]);
				goto out;
			}
		}
		off += (size_t)snprintf(joined + off, sizeof(joined) - off, "%s%s",
		                        off > 0 ? " " : "", items[n]);
		n++;
	}
	if (n == 0) {
		conf_value_fail(err, errlen, "%s: missing value", spec->name);
		goto out;
	}
	ret = conf_value_set_string(s, spec, joined);
out:
	return ret;
}

int
conf_value_parse_staging(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	/* A short name's directory (letsencrypt-staging) or a URL. */
	const char *url = ca_directory_url(value);

	if (url == NULL) {
		conf_value_fail(
		        err, errlen,
		        "%s: invalid value '%s': expected the https URL of the CA's staging "
		        "directory or one of %s",
		        spec->name, value, ca_short_names());
		return -1;
	}
	return conf_value_set_string(s, spec, url);
}

int
conf_value_parse_eab_alg(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	if (bsearch(value, eab_algs, sizeof(eab_algs) / sizeof(eab_algs[0]), sizeof(eab_algs[0]),
	            eab_alg_cmp) == NULL) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': expected HS256, HS384 or HS512",
		                spec->name, value);
		return -1;
	}
	return conf_value_set_string(s, spec, value);
}

int
conf_value_parse_eab_key(struct conf_settings *s, const struct conf_key_spec *spec,
                         const char *value, char *err, size_t errlen)
{
	unsigned char *key = NULL;
	size_t keylen = 0;
	int ret = -1;

	/* The value is a secret: never echo it. */
	if (b64_decode(value, strlen(value), &key, &keylen) < 0 || keylen == 0) {
		conf_value_fail(err, errlen,
		                "%s: invalid value: expected base64url without padding",
		                spec->name);
		goto out;
	}
	ret = conf_value_set_string(s, spec, value);
out:
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	return ret;
}

int
conf_value_parse_eab_key_file(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen)
{
	struct conf_key_spec key = *spec;
	size_t len = 0;
	char *text = file_read(value, 4096, &len);
	int ret = -1;

	if (text == NULL) {
		conf_value_fail(err, errlen, "%s: %s: %s", spec->name, value, strerror(errno));
		goto out;
	}
	while (len > 0 &&
	       (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
		text[--len] = '\0';
	}
	key.off = offsetof(struct conf_settings, eab_hmac_key);
	if (conf_value_parse_eab_key(s, &key, text, err, errlen) < 0) {
		goto out;
	}
	s->eab_hmac_key_from_file = true;
	s->set |= CONF_KEY_BIT(CONF_KEY_EAB_HMAC_KEY);
	ret = 0;
out:
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	return ret;
}

int
conf_value_parse_caa_identity(const struct conf_key_spec *spec, const char *item, size_t len,
                              char *out, size_t outlen, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t label = 0;

	/* "pebble.test." is how a zone file writes it; CAA values never
	 * carry the dot (RFC 8659 section 4.2). */
	if (len > 1 && item[len - 1] == '.') {
		len--;
	}
	if (len == 0 || len > 253 || len >= outlen) {
		why = "not 1 to 253 characters";
		goto out;
	}
	for (size_t i = 0; i <= len && why == NULL; i++) {
		char c = i < len ? item[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || item[i - 1] == '-') {
				why = "a label empty, longer than 63 or ending in '-'";
			}
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
			out[i] = (char)tolower((unsigned char)c);
			label++;
		} else {
			why = "letters, digits and '-' between the dots only (RFC 8659 4.2)";
		}
		if (i < len && c == '.') {
			out[i] = '.';
		}
	}
	if (why == NULL) {
		out[len] = '\0';
	}
out:
	if (why != NULL) {
		conf_value_fail(err, errlen, "%s: invalid issuer domain '%.*s': %s", spec->name,
		                (int)len, item, why);
	}
	return why != NULL ? -1 : 0;
}
