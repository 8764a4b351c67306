#include "conf/ca.h"

#include <stdlib.h>
#include <string.h>

#include "io/http.h"

struct ca_entry {
	const char *name;
	const char *url;
};

/* Sorted by name for bsearch. */
static const struct ca_entry cas[] = {
        {"buypass", "https://api.buypass.com/acme/directory"},
        {"buypass-staging", "https://api.test4.buypass.no/acme/directory"},
        {"google", "https://dv.acme-v02.api.pki.goog/directory"},
        {"google-staging", "https://dv.acme-v02.test-api.pki.goog/directory"},
        {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"},
        {"letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"},
        {"zerossl", "https://acme.zerossl.com/v2/DV90"},
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
ca_settings_url(const char *ca)
{
	return ca_directory_url(ca != NULL ? ca : CA_DEFAULT);
}

const char *
ca_short_names(void)
{
	return ca_names;
}
