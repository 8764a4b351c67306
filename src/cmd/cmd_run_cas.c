/* The CAs of the daemon's certificates (daemon.h): which, each once, and
 * what a reload must keep of them. */
#include "cmd/daemon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "conf/ca.h"

/* Whether url is global's CA or one of list's n. */
static bool
ca_listed(const struct conf_settings *global, const struct conf_settings *list, size_t n,
          const char *url)
{
	bool ret = cmd_same(ca_settings_url(global->ca), url);

	for (size_t i = 0; i < n && !ret; i++) {
		ret = cmd_same(ca_settings_url(list[i].ca), url);
	}
	return ret;
}

/* The CAs of cert's list (the global one's when cert is NULL) that are
 * not global's first nor in *out yet, appended to *out. Returns 0 or -1
 * (logged). */
static int
add_cas_of(const struct conf *conf, const struct conf_cert *cert, const struct cli *cli,
           const struct conf_settings *global, struct conf_settings **out, size_t *n)
{
	struct conf_settings st;
	struct conf_settings *grown;
	int rc;

	for (size_t i = 0; (rc = conf_resolve_at(conf, cert, &cli->settings, i, &st)) == 0; i++) {
		const char *url = ca_settings_url(st.ca);

		if (url == NULL) {
			log_error("ca: '%s' is neither a [ca NAME] section, an https URL nor one "
			          "of %s",
			          st.ca, ca_short_names());
			conf_settings_finish(&st);
			return -1;
		}
		if (ca_listed(global, *out, *n, url)) {
			conf_settings_finish(&st);
			continue;
		}
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (grown == NULL) {
			conf_settings_finish(&st);
			break;
		}
		*out = grown;
		(*out)[(*n)++] = st;
	}
	if (rc < 0 || rc == 0) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

/* Every CA the certificates of conf may order from besides global's
 * first: from the global list and from each section that sets ca. */
int
daemon_collect_cas(const struct conf *conf, const struct cli *cli,
                   const struct conf_settings *global, struct conf_settings **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (add_cas_of(conf, NULL, cli, global, out, n) < 0) {
		return -1;
	}
	for (size_t i = 0; i < conf->n_certs; i++) {
		if ((conf->certs[i].settings.set & ((uint64_t)1 << CONF_KEY_CA)) != 0 &&
		    add_cas_of(conf, &conf->certs[i], cli, global, out, n) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
url_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The daemon's CAs as one string (sorted directory URLs, each with its
 * ca-file): what a reload must keep. NULL when out of memory. */
char *
daemon_cas_signature(const struct conf_settings *global, const struct conf_settings *list, size_t n)
{
	const char **urls = calloc(n + 1, sizeof(*urls));
	struct buf b;
	char *ret = NULL;

	buf_init(&b, 1024 * 1024);
	if (urls == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		urls[i] = ca_settings_url(list[i].ca);
	}
	qsort(urls, n, sizeof(*urls), url_cmp);
	buf_add(&b, ca_settings_url(global->ca), strlen(ca_settings_url(global->ca)));
	if (global->ca_file != NULL) {
		buf_add(&b, global->ca_file, strlen(global->ca_file));
	}
	for (size_t i = 0; i < n; i++) {
		buf_add(&b, " ", 1);
		buf_add(&b, urls[i], strlen(urls[i]));
		for (size_t k = 0; k < n; k++) {
			if (list[k].ca_file != NULL &&
			    strcmp(ca_settings_url(list[k].ca), urls[i]) == 0) {
				buf_add(&b, list[k].ca_file, strlen(list[k].ca_file));
			}
		}
	}
	buf_add(&b, "", 1);
	if (!b.failed) {
		ret = strdup(b.data);
	}
out:
	buf_finish(&b);
	free(urls);
	return ret;
}
