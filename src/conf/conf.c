#include "conf/conf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/ca.h"
#include "conf/conf_internal.h"

#define CONF_DOMAINS_MAX 1000
#define CONF_EMAILS_MAX 100
#define CONF_COMMAND_MAX 4095
#define CONF_PROFILE_MAX 64

#define WHERE_GLOBAL (1u << CONF_WHERE_GLOBAL)
#define WHERE_CERT (1u << CONF_WHERE_CERT)
#define WHERE_CLI (1u << CONF_WHERE_CLI)
#define WHERE_CA (1u << CONF_WHERE_CA)
#define WHERE_ANY (WHERE_GLOBAL | WHERE_CERT | WHERE_CLI)
/* A key of the CA and its account: a [ca NAME] section may set it too. */
#define WHERE_ANY_CA (WHERE_ANY | WHERE_CA)

#define OFF(field) offsetof(struct conf_settings, field)
#define KEY(k, n, w, kind, fn, field, lo, hi) \
	[CONF_KEY_##k] = {n, w, kind, fn, OFF(field), 0, lo, hi, NULL}
#define LIST(k, n, w, field, count, most, fn) \
	[CONF_KEY_##k] = {                    \
	        n, w, CONF_FIELD_LIST, conf_value_parse_list, OFF(field), OFF(count), 0, most, fn}

/* Sorted by name (bsearch) and indexed by enum conf_key: the enum is in the
 * same order. */
static const struct conf_key_spec keys[CONF_KEY__MAX] = {
        KEY(ACCOUNT_KEY_TYPE, "account-key-type", WHERE_ANY_CA, CONF_FIELD_KEY_TYPE,
            conf_value_parse_key_type, account_key_type, 0, 0),
        KEY(AGREE_TOS, "agree-tos", WHERE_ANY_CA, CONF_FIELD_BOOL, conf_value_parse_bool, agree_tos,
            0, 0),
        KEY(CA, "ca", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_ca_list, ca, 0,
            CONF_CA_LIST_MAX),
        KEY(CA_FILE, "ca-file", WHERE_ANY_CA, CONF_FIELD_STRING, conf_value_parse_text, ca_file, 0,
            PATH_MAX - 1),
        KEY(CAA_CHECK, "caa-check", WHERE_ANY, CONF_FIELD_BOOL, conf_value_parse_bool, caa_check, 0,
            0),
        LIST(CAA_IDENTITY, "caa-identity", WHERE_ANY_CA, caa_identities, n_caa_identities,
             CONF_CAA_IDENTITIES_MAX, conf_value_parse_caa_identity),
        KEY(CERT_GROUP, "cert-group", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_group,
            cert_group, 0, 0),
        KEY(CERT_MODE, "cert-mode", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_mode, cert_mode, 0,
            0),
        KEY(CERT_OWNER, "cert-owner", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_owner,
            cert_owner, 0, 0),
        KEY(CHAIN, "chain", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_chain, chain, 0, 0),
        KEY(CHALLENGE, "challenge", WHERE_ANY, CONF_FIELD_CHALLENGE, conf_value_parse_challenge,
            challenge, 0, 0),
        KEY(CLUSTER, "cluster", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_cluster, cluster, 0, PATH_MAX - 1),
        KEY(CLUSTER_KEY_FILE, "cluster-key-file", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_text, cluster_key_file, 0, PATH_MAX - 1),
        KEY(CLUSTER_PASSWORD_FILE, "cluster-password-file", WHERE_GLOBAL | WHERE_CLI,
            CONF_FIELD_STRING, conf_value_parse_text, cluster_password_file, 0, PATH_MAX - 1),
        KEY(CONCURRENCY, "concurrency", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_LONG,
            conf_value_parse_number, concurrency, 1, 1024),
        KEY(CONTROL_SOCKET, "control-socket", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_text, control_socket, 0,
            sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1),
        KEY(DEPLOY_HOOK, "deploy-hook", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_text,
            deploy_hook, 0, CONF_COMMAND_MAX),
        KEY(DNS_HOOK, "dns-hook", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_text, dns_hook, 0,
            CONF_COMMAND_MAX),
        KEY(DNS_PROPAGATION_SERVERS, "dns-propagation-servers", WHERE_ANY, CONF_FIELD_STRING,
            conf_value_parse_dns_resolver, dns_propagation_servers, 0, 0),
        KEY(DNS_PROPAGATION_TIMEOUT, "dns-propagation-timeout", WHERE_ANY, CONF_FIELD_LONG,
            conf_value_parse_duration, dns_propagation_timeout, 0, 86400),
        KEY(DNS_RESOLVER, "dns-resolver", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_dns_resolver, dns_resolver, 0, 0),
        KEY(DNS_UPDATE, "dns-update", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_dns_update,
            dns_update, 0, 0),
        KEY(DNS_UPDATE_KEY, "dns-update-key", WHERE_ANY, CONF_FIELD_STRING,
            conf_value_parse_abs_path, dns_update_key, 0, PATH_MAX - 1),
        KEY(DNS_WAIT, "dns-wait", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_duration, dns_wait,
            0, LONG_MAX),
        LIST(DOMAINS, "domains", WHERE_CERT | WHERE_CLI, domains, n_domains, CONF_DOMAINS_MAX,
             conf_value_parse_domain),
        KEY(EAB_ALG, "eab-alg", WHERE_ANY_CA, CONF_FIELD_STRING, conf_value_parse_eab_alg, eab_alg,
            0, 0),
        KEY(EAB_HMAC_KEY, "eab-hmac-key", WHERE_ANY_CA, CONF_FIELD_STRING, conf_value_parse_eab_key,
            eab_hmac_key, 0, 0),
        KEY(EAB_HMAC_KEY_FILE, "eab-hmac-key-file", WHERE_ANY_CA, CONF_FIELD_BOOL,
            conf_value_parse_eab_key_file, eab_hmac_key_from_file, 0, 0),
        KEY(EAB_KID, "eab-kid", WHERE_ANY_CA, CONF_FIELD_STRING, conf_value_parse_token, eab_kid, 0,
            CONF_COMMAND_MAX),
        LIST(EMAIL, "email", WHERE_ANY_CA, emails, n_emails, CONF_EMAILS_MAX,
             conf_value_parse_email),
        KEY(HOOK_TIMEOUT, "hook-timeout", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_duration,
            hook_timeout, 1, 3600),
        KEY(HTTP_HOOK, "http-hook", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_text, http_hook,
            0, CONF_COMMAND_MAX),
        KEY(HTTP_LISTEN, "http-listen", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_listen,
            http_listen, 0, 0),
        KEY(KEY_GROUP, "key-group", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_group, key_group,
            0, 0),
        KEY(KEY_MODE, "key-mode", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_mode, key_mode, 0,
            0),
        KEY(KEY_OWNER, "key-owner", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_owner, key_owner,
            0, 0),
        KEY(KEY_TYPE, "key-type", WHERE_ANY, CONF_FIELD_KEY_TYPE, conf_value_parse_key_type,
            key_type, 0, 0),
        KEY(METRICS_FILE, "metrics-file", WHERE_GLOBAL, CONF_FIELD_STRING,
            conf_value_parse_abs_path, metrics_file, 0, PATH_MAX - 1),
        KEY(METRICS_LISTEN, "metrics-listen", WHERE_GLOBAL, CONF_FIELD_STRING,
            conf_value_parse_listen, metrics_listen, 0, 0),
        KEY(NEW_ORDER_CONCURRENCY, "new-order-concurrency", WHERE_GLOBAL | WHERE_CLI | WHERE_CA,
            CONF_FIELD_LONG, conf_value_parse_number, new_order_concurrency, 1, 1024),
        KEY(NODE_NAME, "node-name", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_node_name, node_name, 1, CONF_NODE_NAME_MAX),
        KEY(NOTIFY_EMAIL, "notify-email", WHERE_GLOBAL, CONF_FIELD_STRING,
            conf_value_parse_notify_email, notify_email, 0, 0),
        KEY(NOTIFY_HOOK, "notify-hook", WHERE_GLOBAL, CONF_FIELD_STRING, conf_value_parse_text,
            notify_hook, 0, CONF_COMMAND_MAX),
        KEY(NOTIFY_INTERVAL, "notify-interval", WHERE_GLOBAL, CONF_FIELD_LONG,
            conf_value_parse_duration, notify_interval, 60, 365L * 86400),
        KEY(NOTIFY_SENDMAIL, "notify-sendmail", WHERE_GLOBAL, CONF_FIELD_STRING,
            conf_value_parse_text, notify_sendmail, 0, PATH_MAX - 1),
        KEY(NOTIFY_WEBHOOK, "notify-webhook", WHERE_GLOBAL, CONF_FIELD_STRING,
            conf_value_parse_webhook, notify_webhook, 0, 0),
        KEY(NOTIFY_WEBHOOK_FORMAT, "notify-webhook-format", WHERE_GLOBAL, CONF_FIELD_LONG,
            conf_value_parse_webhook_format, notify_webhook_format, 0, 0),
        KEY(OUTPUT, "output", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_output, output, 0, 0),
        KEY(PKCS12_PASSWORD_FILE, "pkcs12-password-file", WHERE_ANY, CONF_FIELD_STRING,
            conf_value_parse_text, pkcs12_password_file, 0, PATH_MAX - 1),
        KEY(POST_HOOK, "post-hook", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_text, post_hook, 0, CONF_COMMAND_MAX),
        KEY(PRE_HOOK, "pre-hook", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_text, pre_hook, 0, CONF_COMMAND_MAX),
        KEY(PREFERRED_CHAIN, "preferred-chain", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_text,
            preferred_chain, 0, CONF_PREFERRED_CHAIN_MAX),
        KEY(PROFILE, "profile", WHERE_ANY_CA, CONF_FIELD_STRING, conf_value_parse_token, profile, 0,
            CONF_PROFILE_MAX),
        KEY(RENEW_BEFORE, "renew-before", WHERE_ANY, CONF_FIELD_LONG, conf_value_parse_renew_before,
            renew_before, 3600, LONG_MAX),
        KEY(REUSE_KEY, "reuse-key", WHERE_ANY, CONF_FIELD_BOOL, conf_value_parse_bool, reuse_key, 0,
            0),
        KEY(STAGING, "staging", WHERE_GLOBAL | WHERE_CERT | WHERE_CA, CONF_FIELD_STRING,
            conf_value_parse_staging, staging, 0, 0),
        KEY(STAGING_EAB_HMAC_KEY, "staging-eab-hmac-key", WHERE_GLOBAL | WHERE_CERT | WHERE_CA,
            CONF_FIELD_STRING, conf_value_parse_eab_key, staging_eab_hmac_key, 0, 0),
        KEY(STAGING_EAB_KID, "staging-eab-kid", WHERE_GLOBAL | WHERE_CERT | WHERE_CA,
            CONF_FIELD_STRING, conf_value_parse_token, staging_eab_kid, 0, CONF_COMMAND_MAX),
        KEY(STATE_DIR, "state-dir", WHERE_GLOBAL | WHERE_CLI, CONF_FIELD_STRING,
            conf_value_parse_text, state_dir, 0, PATH_MAX - 1),
        KEY(TLS_LISTEN, "tls-listen", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_listen,
            tls_listen, 0, 0),
        KEY(URL, "url", WHERE_CA, CONF_FIELD_STRING, conf_value_parse_ca, url, 0, 0),
        KEY(WARN_BEFORE, "warn-before", WHERE_GLOBAL, CONF_FIELD_LONG, conf_value_parse_duration,
            warn_before, 3600, 365L * 86400),
        KEY(WEBROOT, "webroot", WHERE_ANY, CONF_FIELD_STRING, conf_value_parse_text, webroot, 0,
            PATH_MAX - 1),
};

static int
key_cmp(const void *key, const void *elem)
{
	const struct conf_key_spec *spec = elem;

	return strcmp(key, spec->name);
}

static const struct conf_key_spec *
find_key(const char *name)
{
	return bsearch(name, keys, CONF_KEY__MAX, sizeof(keys[0]), key_cmp);
}

int
conf_set(struct conf_settings *s, enum conf_where where, const char *key, const char *value,
         char *err, size_t errlen)
{
	const struct conf_key_spec *spec;
	int ret = -1;

	spec = find_key(key);
	if (spec == NULL) {
		conf_value_fail(err, errlen, "unknown key '%s'", key);
		goto out;
	}
	if ((spec->where & (1u << where)) == 0) {
		if (where == CONF_WHERE_CA) {
			conf_value_fail(
			        err, errlen,
			        "%s: not a key of a [ca NAME] section (it takes url, staging, "
			        "ca-file, caa-identity, email, agree-tos, account-key-type, "
			        "eab-kid, "
			        "eab-hmac-key, eab-hmac-key-file, eab-alg, profile, "
			        "staging-eab-kid, "
			        "staging-eab-hmac-key, "
			        "new-order-concurrency)",
			        spec->name);
		} else if (spec->where == WHERE_CA) {
			conf_value_fail(err, errlen, "%s: only valid in a [ca NAME] section",
			                spec->name);
		} else if ((spec->where & WHERE_CERT) == 0) {
			conf_value_fail(err, errlen,
			                "%s: only valid before the first [cert NAME] section",
			                spec->name);
		} else {
			conf_value_fail(err, errlen, "%s: only valid in a [cert NAME] section",
			                spec->name);
		}
		goto out;
	}
	if (*value == '\0') {
		conf_value_fail(err, errlen, "%s: missing value", spec->name);
		goto out;
	}
	if (spec->parse(s, spec, value, err, errlen) < 0) {
		goto out;
	}
	s->set |= CONF_KEY_BIT(spec - keys);
	ret = 0;
out:
	return ret;
}

void
conf_settings_finish(struct conf_settings *s)
{
	int k;

	if (s == NULL) {
		goto out;
	}
	for (k = 0; k < CONF_KEY__MAX; k++) {
		if (keys[k].kind == CONF_FIELD_STRING) {
			free(*(char **)conf_value_field(s, keys[k].off));
		} else if (keys[k].kind == CONF_FIELD_LIST) {
			conf_value_list_free(*(char ***)conf_value_field(s, keys[k].off),
			                     *(size_t *)conf_value_field(s, keys[k].off_n));
		}
	}
	free(s->ca_list);
	memset(s, 0, sizeof(*s));
out:
	return;
}

void
conf_init(struct conf *conf)
{
	memset(conf, 0, sizeof(*conf));
}

void
conf_finish(struct conf *conf)
{
	size_t i;

	if (conf == NULL) {
		goto out;
	}
	free(conf->path);
	conf_settings_finish(&conf->global);
	for (i = 0; i < conf->n_certs; i++) {
		free(conf->certs[i].name);
		conf_settings_finish(&conf->certs[i].settings);
	}
	free(conf->certs);
	for (i = 0; i < conf->n_cas; i++) {
		free(conf->cas[i].name);
		conf_settings_finish(&conf->cas[i].settings);
	}
	free(conf->cas);
	conf_value_list_free(conf->errors, conf->n_errors);
	memset(conf, 0, sizeof(*conf));
out:
	return;
}

/* Copies key k of src over out, deeply. */
static int
copy_key(struct conf_settings *out, const struct conf_settings *src, int k)
{
	const struct conf_key_spec *spec = &keys[k];
	char *const *from_list;
	size_t n;
	char **list = NULL;
	size_t i = 0;
	int ret = -1;

	switch (spec->kind) {
	case CONF_FIELD_STRING:
		ret = conf_value_set_string(out, spec,
		                            *(char *const *)conf_value_const_field(src, spec->off));
		break;
	case CONF_FIELD_BOOL:
		*(bool *)conf_value_field(out, spec->off) =
		        *(const bool *)conf_value_const_field(src, spec->off);
		ret = 0;
		break;
	case CONF_FIELD_LONG:
		*(long *)conf_value_field(out, spec->off) =
		        *(const long *)conf_value_const_field(src, spec->off);
		ret = 0;
		break;
	case CONF_FIELD_KEY_TYPE:
		*(enum key_type *)conf_value_field(out, spec->off) =
		        *(const enum key_type *)conf_value_const_field(src, spec->off);
		ret = 0;
		break;
	case CONF_FIELD_CHALLENGE:
		*(enum conf_challenge *)conf_value_field(out, spec->off) =
		        *(const enum conf_challenge *)conf_value_const_field(src, spec->off);
		ret = 0;
		break;
	case CONF_FIELD_LIST:
		from_list = *(char *const *const *)conf_value_const_field(src, spec->off);
		n = *(const size_t *)conf_value_const_field(src, spec->off_n);
		list = calloc(n + 1, sizeof(*list));
		if (list == NULL) {
			goto out;
		}
		for (i = 0; i < n; i++) {
			list[i] = strdup(from_list[i]);
			if (list[i] == NULL) {
				goto out;
			}
		}
		conf_value_list_free(*(char ***)conf_value_field(out, spec->off),
		                     *(size_t *)conf_value_field(out, spec->off_n));
		*(char ***)conf_value_field(out, spec->off) = list;
		*(size_t *)conf_value_field(out, spec->off_n) = n;
		list = NULL;
		ret = 0;
		break;
	}
out:
	conf_value_list_free(list, i);
	return ret;
}

/* The keys that say how a challenge is answered, and those each replaces:
 * a layer (a [cert] section, the command line) that names one way drops
 * the other ways the layers below it named, so that `--dns-hook` replaces
 * a configured dns-update, `--webroot` an http-hook (dns-update-key stays:
 * it means nothing without dns-update, and a later dns-update uses it). Two
 * ways in one layer: conf_verify refuses them in the file, cli_parse on
 * the command line. */
static const struct {
	enum conf_key key;
	uint64_t replaces;
} method_keys[] = {
        {CONF_KEY_DNS_HOOK, CONF_KEY_BIT(CONF_KEY_DNS_UPDATE)},
        {CONF_KEY_DNS_UPDATE, CONF_KEY_BIT(CONF_KEY_DNS_HOOK)},
        {CONF_KEY_HTTP_HOOK, CONF_KEY_BIT(CONF_KEY_WEBROOT)},
        {CONF_KEY_WEBROOT, CONF_KEY_BIT(CONF_KEY_HTTP_HOOK)},
};

/* Drops from out the keys that a layer setting the keys of set replaces
 * (method_keys), unless that layer sets them too. */
static void
drop_replaced(struct conf_settings *out, uint64_t set)
{
	uint64_t drop = 0;

	for (size_t i = 0; i < sizeof(method_keys) / sizeof(method_keys[0]); i++) {
		if ((set & CONF_KEY_BIT(method_keys[i].key)) != 0) {
			drop |= method_keys[i].replaces;
		}
	}
	drop &= ~set;
	for (int k = 0; k < CONF_KEY__MAX; k++) {
		char **field;

		if ((drop & CONF_KEY_BIT(k)) == 0 || keys[k].kind != CONF_FIELD_STRING) {
			continue;
		}
		field = conf_value_field(out, keys[k].off);
		free(*field);
		*field = NULL;
		out->set &= ~CONF_KEY_BIT(k);
	}
}

/* The defaults, then each layer's keys (NULL layers skipped), then the
 * ca_list the topmost layer carries. */
static int
resolve_layers(const struct conf_settings *const *layers, size_t n, struct conf_settings *out)
{
	const char *ca_list = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->key_type = KEY_TYPE_EC_P256;
	out->account_key_type = KEY_TYPE_EC_P256;
	out->challenge = CONF_CHALLENGE_HTTP01;
	out->hook_timeout = 120;
	out->notify_interval = 86400;
	out->warn_before = 7 * 86400;
	out->dns_wait = 0;
	out->caa_check = true;
	out->dns_propagation_timeout = 120;
	out->concurrency = 16;
	out->new_order_concurrency = 1;
	out->renew_before = 0;
	out->output = CONF_OUTPUT_PEM;
	out->key_owner = CONF_ID_UNSET;
	out->key_group = CONF_ID_UNSET;
	out->key_mode = 0600;
	out->cert_owner = CONF_ID_UNSET;
	out->cert_group = CONF_ID_UNSET;
	out->cert_mode = 0644;
	for (size_t l = 0; l < n; l++) {
		if (layers[l] == NULL) {
			continue;
		}
		drop_replaced(out, layers[l]->set);
		for (int k = 0; k < CONF_KEY__MAX; k++) {
			if ((layers[l]->set & CONF_KEY_BIT(k)) == 0) {
				continue;
			}
			if (copy_key(out, layers[l], k) < 0) {
				goto out;
			}
		}
		out->set |= layers[l]->set;
		if (layers[l]->ca_list != NULL) {
			ca_list = layers[l]->ca_list;
		}
	}
	if (ca_list != NULL && (out->ca_list = strdup(ca_list)) == NULL) {
		goto out;
	}
	if (out->eab_alg == NULL) {
		out->eab_alg = strdup("HS256");
		if (out->eab_alg == NULL) {
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0) {
		conf_settings_finish(out);
	}
	return ret;
}

int
conf_resolve(const struct conf *conf, const struct conf_cert *cert, const struct conf_settings *cli,
             struct conf_settings *out)
{
	return conf_resolve_at(conf, cert, cli, 0, out) == 0 ? 0 : -1;
}

/* The index-th space separated item of list, copied into buf; false when
 * there is none. */
static bool
ca_item(const char *list, size_t index, char *buf, size_t size)
{
	size_t len = 0;

	for (size_t i = 0;; i++) {
		list += strspn(list, " \t,");
		len = strcspn(list, " \t,");
		if (len == 0) {
			return false;
		}
		if (i == index) {
			break;
		}
		list += len;
	}
	if (len >= size) {
		return false;
	}
	memcpy(buf, list, len);
	buf[len] = '\0';
	return true;
}

/* The directory URL an item of a ca list names: its section's url, else
 * the short name's, else the item itself (session_ca_url says what is
 * wrong with it). */
static const char *
ca_item_url(const struct conf *conf, const char *item)
{
	const struct conf_ca *sec = conf != NULL ? conf_find_ca(conf, item) : NULL;
	const char *url;

	if (sec != NULL && sec->settings.url != NULL) {
		item = sec->settings.url;
	}
	url = ca_directory_url(item);
	return url != NULL ? url : item;
}

/* out->ca_list: the URL of every item of list. */
static int
set_ca_list(const struct conf *conf, const char *list, struct conf_settings *out)
{
	char item[CONF_CA_ITEM_MAX + 1];
	size_t len = 0;
	size_t off = 0;
	char *text = NULL;
	int ret = -1;

	for (size_t i = 0; ca_item(list, i, item, sizeof(item)); i++) {
		len += strlen(ca_item_url(conf, item)) + 1;
	}
	text = malloc(len + 1);
	if (text == NULL) {
		goto out;
	}
	text[0] = '\0';
	for (size_t i = 0; ca_item(list, i, item, sizeof(item)); i++) {
		const char *url = ca_item_url(conf, item);

		off += (size_t)snprintf(text + off, len + 1 - off, "%s%s", off > 0 ? " " : "", url);
	}
	free(out->ca_list);
	out->ca_list = text;
	text = NULL;
	ret = 0;
out:
	free(text);
	return ret;
}

int
conf_resolve_at(const struct conf *conf, const struct conf_cert *cert,
                const struct conf_settings *cli, size_t index, struct conf_settings *out)
{
	const struct conf_settings *layers[4];
	const struct conf_settings *own[3];
	const struct conf_ca *sec = NULL;
	const char *list = CA_DEFAULT;
	char item[CONF_CA_ITEM_MAX + 1];
	bool resolved = false;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	own[0] = conf != NULL ? &conf->global : NULL;
	own[1] = cert != NULL ? &cert->settings : NULL;
	own[2] = cli;
	for (size_t l = 0; l < 3; l++) {
		if (own[l] != NULL && (own[l]->set & CONF_KEY_BIT(CONF_KEY_CA)) != 0) {
			list = own[l]->ca;
			resolved = own[l]->ca_list != NULL;
		}
	}
	if (!ca_item(list, index, item, sizeof(item))) {
		ret = 1;
		goto out;
	}
	sec = conf != NULL ? conf_find_ca(conf, item) : NULL;
	layers[0] = own[0];
	layers[1] = sec != NULL ? &sec->settings : NULL;
	layers[2] = own[1];
	layers[3] = own[2];
	if (resolve_layers(layers, 4, out) < 0) {
		goto out;
	}
	/* Settings resolved before (a job's copy) keep their CA; without a ca
	 * anywhere it stays unset (session_ca_url: the default). */
	if (resolved || (out->set & CONF_KEY_BIT(CONF_KEY_CA)) == 0) {
		ret = 0;
		goto out;
	}
	if (conf_value_set_string(out, &keys[CONF_KEY_CA], ca_item_url(conf, item)) < 0 ||
	    set_ca_list(conf, list, out) < 0) {
		goto out;
	}
	out->set |= CONF_KEY_BIT(CONF_KEY_CA);
	/* A profile is a CA's: another CA may not know the certificate's. */
	if (index > 0) {
		free(out->profile);
		out->profile = NULL;
		out->set &= ~CONF_KEY_BIT(CONF_KEY_PROFILE);
		if (sec != NULL && sec->settings.profile != NULL &&
		    conf_value_set_string(out, &keys[CONF_KEY_PROFILE], sec->settings.profile) <
		            0) {
			goto out;
		}
		if (out->profile != NULL) {
			out->set |= CONF_KEY_BIT(CONF_KEY_PROFILE);
		}
	}
	ret = 0;
out:
	if (ret != 0) {
		conf_settings_finish(out);
	}
	return ret;
}

const struct conf_ca *
conf_find_ca(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->n_cas; i++) {
		if (strcmp(conf->cas[i].name, name) == 0) {
			return &conf->cas[i];
		}
	}
	return NULL;
}

bool
conf_ca_list_has(const char *list, const char *url)
{
	char item[CONF_CA_ITEM_MAX + 1];

	for (size_t i = 0; list != NULL && url != NULL && ca_item(list, i, item, sizeof(item));
	     i++) {
		if (strcmp(item, url) == 0) {
			return true;
		}
	}
	return false;
}

const struct conf_cert *
conf_find_cert(const struct conf *conf, const char *name)
{
	size_t i;
	const struct conf_cert *ret = NULL;

	for (i = 0; i < conf->n_certs; i++) {
		if (strcmp(conf->certs[i].name, name) == 0) {
			ret = &conf->certs[i];
			goto out;
		}
	}
	for (i = 0; i < conf->n_certs; i++) {
		if (conf->certs[i].settings.n_domains > 0 &&
		    strcmp(conf->certs[i].settings.domains[0], name) == 0) {
			ret = &conf->certs[i];
			goto out;
		}
	}
out:
	return ret;
}

const char *
conf_key_name(enum conf_key key)
{
	const char *ret = NULL;

	if ((unsigned)key < CONF_KEY__MAX) {
		ret = keys[key].name;
	}
	return ret;
}

int
conf_key_find(const char *name, enum conf_key *key)
{
	const struct conf_key_spec *spec;
	int ret = -1;

	spec = find_key(name);
	if (spec == NULL) {
		goto out;
	}
	*key = (enum conf_key)(spec - keys);
	ret = 0;
out:
	return ret;
}

bool
conf_key_allowed(enum conf_key key, enum conf_where where)
{
	bool ret = false;

	if ((unsigned)key < CONF_KEY__MAX) {
		ret = (keys[key].where & (1u << where)) != 0;
	}
	return ret;
}

const char *
conf_node_name(const struct conf_settings *s, char buf[CONF_NODE_NAME_MAX + 1])
{
	/* Room for any host name (POSIX: at most 255 bytes). */
	char host[256];
	const char *ret = NULL;

	if (s != NULL && s->node_name != NULL) {
		ret = s->node_name;
		goto out;
	}
	if (gethostname(host, sizeof(host)) < 0) {
		goto out;
	}
	host[sizeof(host) - 1] = '\0';
	if (conf_value_is_node_name(host)) {
		memcpy(buf, host, strlen(host) + 1);
		ret = buf;
	}
out:
	return ret;
}

/* Whether two strings are both NULL or equal. */
static bool
same_string(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
conf_settings_equal(const struct conf_settings *a, const struct conf_settings *b,
                    enum conf_key except)
{
	uint64_t mask = ~(uint64_t)0;

	if ((unsigned)except < CONF_KEY__MAX) {
		mask &= ~CONF_KEY_BIT(except);
	}
	if ((a->set & mask) != (b->set & mask) ||
	    (except != CONF_KEY_CA && !same_string(a->ca_list, b->ca_list))) {
		return false;
	}
	for (int k = 0; k < CONF_KEY__MAX; k++) {
		const struct conf_key_spec *spec = &keys[k];
		const void *x = conf_value_const_field(a, spec->off);
		const void *y = conf_value_const_field(b, spec->off);
		bool same = true;

		if (k == (int)except) {
			continue;
		}
		switch (spec->kind) {
		case CONF_FIELD_STRING:
			same = same_string(*(char *const *)x, *(char *const *)y);
			break;
		case CONF_FIELD_BOOL:
			same = *(const bool *)x == *(const bool *)y;
			break;
		case CONF_FIELD_LONG:
			same = *(const long *)x == *(const long *)y;
			break;
		case CONF_FIELD_KEY_TYPE:
			same = *(const enum key_type *)x == *(const enum key_type *)y;
			break;
		case CONF_FIELD_CHALLENGE:
			same = *(const enum conf_challenge *)x == *(const enum conf_challenge *)y;
			break;
		case CONF_FIELD_LIST: {
			size_t n = *(const size_t *)conf_value_const_field(a, spec->off_n);

			same = n == *(const size_t *)conf_value_const_field(b, spec->off_n);
			for (size_t i = 0; same && i < n; i++) {
				same = same_string((*(char *const *const *)x)[i],
				                   (*(char *const *const *)y)[i]);
			}
			break;
		}
		}
		if (!same) {
			return false;
		}
	}
	return true;
}
