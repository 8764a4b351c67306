#include "conf/ca.h"

#include <stdlib.h>
#include <string.h>

#include "io/http.h"

struct ca_entry {
	const char *name;
	const char *url;
	/* The CA's test directory (acmed --dry-run), NULL when it has none;
	 * a staging entry names its own. */
	const char *staging;
};

#define LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"
#define GOOGLE_STAGING "https://dv.acme-v02.test-api.pki.goog/directory"
#define BUYPASS_STAGING "https://api.test4.buypass.no/acme/directory"

/* Sorted by name for bsearch. */
static const struct ca_entry cas[] = {
        {"buypass", "https://api.buypass.com/acme/directory", BUYPASS_STAGING},
        {"buypass-staging", BUYPASS_STAGING, BUYPASS_STAGING},
        {"google", "https://dv.acme-v02.api.pki.goog/directory", GOOGLE_STAGING},
        {"google-staging", GOOGLE_STAGING, GOOGLE_STAGING},
        {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory", LE_STAGING},
        {"letsencrypt-staging", LE_STAGING, LE_STAGING},
        /* ZeroSSL runs no test directory. */
        {"zerossl", "https://acme.zerossl.com/v2/DV90", NULL},
};

/* The names of cas[], in the same order. */
static const char ca_names[] = "buypass, buypass-staging, google, google-staging, letsencrypt, "
                               "letsencrypt-staging, zerossl";

static int
ca_cmp(const void *key, const void *elem)
{
	const struct ca_entry *ca = elem;

	return strcmp(key, ca->name);
}

const char *
ca_directory_url(const char *name)
{
	const struct ca_entry *ca;
	const char *ret = NULL;

	if (name == NULL) {
		goto out;
	}
	ca = bsearch(name, cas, sizeof(cas) / sizeof(cas[0]), sizeof(cas[0]), ca_cmp);
	if (ca != NULL) {
		ret = ca->url;
		goto out;
	}
	if (http_url_ok(name)) {
		ret = name;
	}
out:
	return ret;
}

const char *
ca_staging_url(const char *name)
{
	const struct ca_entry *ca = NULL;

	if (name == NULL) {
		goto out;
	}
	ca = bsearch(name, cas, sizeof(cas) / sizeof(cas[0]), sizeof(cas[0]), ca_cmp);
	/* A resolved setting holds the short name's directory URL. */
	for (size_t i = 0; ca == NULL && i < sizeof(cas) / sizeof(cas[0]); i++) {
		if (strcmp(cas[i].url, name) == 0) {
			ca = &cas[i];
		}
	}
out:
	return ca != NULL ? ca->staging : NULL;
}

const char *
ca_settings_url(const char *ca)
{
	return ca_directory_url(ca != NULL ? ca : CA_DEFAULT);
}

const char *
ca_short_names(void)
{
	return ca_names;
}
