/* The configuration file: "key = value" lines, "[cert NAME]" sections, '#'
 * comments. Keys before the first section are global defaults that a section
 * may override; command-line options override both (conf_set on a separate
 * struct conf_settings, merged by conf_resolve). */
#ifndef ACMED_CONF_H
#define ACMED_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"

enum conf_challenge {
	CONF_CHALLENGE_HTTP01,
	CONF_CHALLENGE_DNS01,
	CONF_CHALLENGE_TLSALPN01,
	CONF_CHALLENGE_DNSPERSIST01,
	CONF_CHALLENGE__MAX,
};

/* One bit per key in conf_settings.set. */
enum conf_key {
	CONF_KEY_ACCOUNT_KEY_TYPE,
	CONF_KEY_AGREE_TOS,
	CONF_KEY_CA,
	CONF_KEY_CA_FILE,
	CONF_KEY_CAA_CHECK,
	CONF_KEY_CAA_IDENTITY,
	CONF_KEY_CERT_GROUP,
	CONF_KEY_CERT_MODE,
	CONF_KEY_CERT_OWNER,
	CONF_KEY_CHAIN,
	CONF_KEY_CHALLENGE,
	CONF_KEY_CLUSTER,
	CONF_KEY_CLUSTER_KEY_FILE,
	CONF_KEY_CLUSTER_PASSWORD_FILE,
	CONF_KEY_CONCURRENCY,
	CONF_KEY_CONTROL_SOCKET,
	CONF_KEY_DEPLOY_HOOK,
	CONF_KEY_DNS_HOOK,
	CONF_KEY_DNS_PROPAGATION_SERVERS,
	CONF_KEY_DNS_PROPAGATION_TIMEOUT,
	CONF_KEY_DNS_RESOLVER,
	CONF_KEY_DNS_UPDATE,
	CONF_KEY_DNS_UPDATE_KEY,
	CONF_KEY_DNS_WAIT,
	CONF_KEY_DOMAINS,
	CONF_KEY_EAB_ALG,
	CONF_KEY_EAB_HMAC_KEY,
	CONF_KEY_EAB_HMAC_KEY_FILE,
	CONF_KEY_EAB_KID,
	CONF_KEY_EMAIL,
	CONF_KEY_HOOK_TIMEOUT,
	CONF_KEY_HTTP_HOOK,
	CONF_KEY_HTTP_LISTEN,
	CONF_KEY_KEY_GROUP,
	CONF_KEY_KEY_MODE,
	CONF_KEY_KEY_OWNER,
	CONF_KEY_KEY_TYPE,
	CONF_KEY_METRICS_FILE,
	CONF_KEY_METRICS_LISTEN,
	CONF_KEY_NEW_ORDER_CONCURRENCY,
	CONF_KEY_NODE_NAME,
	CONF_KEY_NOTIFY_EMAIL,
	CONF_KEY_NOTIFY_HOOK,
	CONF_KEY_NOTIFY_INTERVAL,
	CONF_KEY_NOTIFY_SENDMAIL,
	CONF_KEY_NOTIFY_WEBHOOK,
	CONF_KEY_NOTIFY_WEBHOOK_FORMAT,
	CONF_KEY_OUTPUT,
	CONF_KEY_PKCS12_PASSWORD_FILE,
	CONF_KEY_POST_HOOK,
	CONF_KEY_PRE_HOOK,
	CONF_KEY_PREFERRED_CHAIN,
	CONF_KEY_PROFILE,
	CONF_KEY_RENEW_BEFORE,
	CONF_KEY_REUSE_KEY,
	CONF_KEY_STAGING,
	CONF_KEY_STAGING_EAB_HMAC_KEY,
	CONF_KEY_STAGING_EAB_KID,
	CONF_KEY_STATE_DIR,
	CONF_KEY_TLS_LISTEN,
	CONF_KEY_URL,
	CONF_KEY_WARN_BEFORE,
	CONF_KEY_WEBROOT,
	CONF_KEY__MAX,
};

/* The files of an installed set (conf_settings.output bits): pem (privkey,
 * cert, chain, fullchain) is always among them, since the state folder's
 * layout and the renewal policy read those; combined.pem is the key then
 * the full chain; cert.p12 the key, leaf and chain as PKCS#12. */
enum conf_output {
	CONF_OUTPUT_PEM = 1 << 0,
	CONF_OUTPUT_COMBINED = 1 << 1,
	CONF_OUTPUT_PKCS12 = 1 << 2,
};

/* chain: which of the chains the CA offers is installed (RFC 8555 section
 * 7.4.2); preferred-chain goes first (acmed.conf(5)). */
enum conf_webhook_format {
	CONF_WEBHOOK_JSON, /* acmed's own object */
	CONF_WEBHOOK_SLACK, /* {"text": ...}: Slack, Mattermost, ntfy */
};

enum conf_chain {
	CONF_CHAIN_DEFAULT, /* the one the CA sends first */
	CONF_CHAIN_SHORTEST, /* the fewest certificates; a tie: the default */
};

/* The longest preferred-chain: a Common Name (RFC 5280 ub-common-name). */
#define CONF_PREFERRED_CHAIN_MAX 64

/* No owner or group given: the files keep the writer's (conf_settings
 * key_owner and the like). */
#define CONF_ID_UNSET (-1L)

struct conf_settings {
	uint64_t set; /* bit (1 << CONF_KEY_x) for every key given */
	/* As given: one to CONF_CA_LIST_MAX items, each a [ca NAME] section,
	 * a short name (ca.h) or a URL, the first preferred and the others
	 * tried in turn when it fails (failover). conf_resolve_at resolves it
	 * to the directory URL of the item it picks. */
	char *ca;
	/* Set by conf_resolve_at: the directory URLs of every item of ca,
	 * resolved, space separated, in order; NULL before. Not a key: a
	 * resolved setting carries it along (conf_resolve copies it). */
	char *ca_list;
	char *ca_file;
	char **emails; /* addresses without "mailto:" */
	size_t n_emails;
	bool agree_tos;
	enum key_type key_type; /* default ec-p256 */
	enum key_type account_key_type; /* default ec-p256 */
	long renew_before; /* seconds; 0 = auto */
	enum conf_challenge challenge; /* default http-01 */
	char *webroot;
	char *http_listen; /* "[ADDR]:PORT", "ADDR:PORT" or "PORT"; default "[::]:80" */
	char *tls_listen; /* the same, for tls-alpn-01; default "[::]:443" */
	char *http_hook;
	char *dns_hook;
	/* "IP[:PORT] ..." (io/dns.h), the servers of every DNS lookup; NULL:
	 * the system's (/etc/resolv.conf) */
	char *dns_resolver;
	/* Whether each name's CAA records are looked at before an order
	 * (renew/caa_check.h); default true. */
	bool caa_check;
	/* The CA's issuer domain names (RFC 8659 section 4.2), lower case, no
	 * trailing dot, for a CA whose directory lists no caaIdentities; at
	 * most CONF_CAA_IDENTITIES_MAX. */
	char **caa_identities;
	size_t n_caa_identities;
	/* RFC 2136 instead of dns_hook: the primary server "IP[:PORT]" and
	 * the TSIG key file (BIND's format); NULL: not set */
	char *dns_update;
	char *dns_update_key;
	/* "IP[:PORT] ..." (io/dns.h's list): the servers the propagation
	 * check asks (RD=0, AA required) instead of the zone's NS hosts;
	 * NULL: those found through the zone's NS records */
	char *dns_propagation_servers;
	/* seconds the propagation check waits at most for every
	 * authoritative server to serve the record; 0: no check; default 120 */
	long dns_propagation_timeout;
	char *deploy_hook; /* a command line split on spaces, run without a shell */
	/* Run once around the orders of a run (renew/batch_hooks.h), as
	 * deploy_hook is run: before the first, after the last. */
	char *pre_hook;
	char *post_hook;
	long hook_timeout; /* seconds; default 120 */
	long dns_wait; /* seconds; default 0 */
	bool reuse_key;
	char *profile; /* the CA's certificate profile (newOrder "profile"), or NULL */
	/* The chain whose topmost certificate is issued by (or is) this
	 * Common Name, among those the CA offers; NULL: no preference */
	char *preferred_chain;
	long chain; /* enum conf_chain; default CONF_CHAIN_DEFAULT */
	long concurrency; /* default 16 */
	/* The CA's: newOrder requests in flight at most (the job runner's
	 * gate); default 1. */
	long new_order_concurrency;
	long output; /* enum conf_output bits; default CONF_OUTPUT_PEM */
	char *pkcs12_password_file; /* NULL: an empty password */
	/* Who may read the files of a set: the key (and combined.pem,
	 * cert.p12, which hold it) and the public files. Owners and groups
	 * are resolved when the file is read (getpwnam, getgrnam: an unknown
	 * name is an error there), CONF_ID_UNSET by default; modes default to
	 * 0600 and 0644, a key-mode giving "other" any bit is refused. */
	long key_owner;
	long key_group;
	long key_mode;
	long cert_owner;
	long cert_group;
	long cert_mode;
	char **domains; /* [cert] only */
	size_t n_domains;
	char *eab_kid;
	char *eab_hmac_key; /* base64url */
	/* eab-hmac-key-file was given: eab_hmac_key is its content, read when
	 * the file was loaded (and eab-hmac-key counts as set). */
	bool eab_hmac_key_from_file;
	char *eab_alg; /* HS256 (default), HS384, HS512 */
	/* The staging directory of the CA given by URL, where --dry-run
	 * orders (a short name's is built in: ca_staging_url); NULL: none. */
	char *staging;
	/* The staging directory's own EAB (a dry run never sends the
	 * production one there), or NULL: none. */
	char *staging_eab_kid;
	char *staging_eab_hmac_key;
	char *url; /* [ca NAME] only: its directory (short name or URL) */
	char *state_dir; /* global only */
	char *control_socket; /* global only */
	/* Prometheus metrics (renew/metrics.h), global only: the daemon's
	 * listen address for GET /metrics, and the file `acmed renew`
	 * writes; NULL: none. */
	char *metrics_listen;
	char *metrics_file;
	/* Notifications (renew/notice.h), global only: the channels (NULL:
	 * not used), the webhook's body (enum conf_webhook_format), how
	 * often one event of one certificate is told at most (seconds,
	 * default a day), and when a certificate counts as expiring
	 * (seconds before its notAfter, default 7 days). */
	char *notify_hook;
	char *notify_webhook;
	long notify_webhook_format;
	char *notify_email;
	char *notify_sendmail; /* default /usr/sbin/sendmail */
	long notify_interval;
	long warn_before;
	/* The fleet, global only (acmed.conf(5)). cluster: the shared store,
	 * "redis://HOST[:PORT][/DB]" or "file:///ABSOLUTE/PATH" (its shape
	 * checked, not whether it answers), NULL without a fleet; conf_load
	 * refuses a file that sets it without cluster_key_file. */
	char *cluster;
	char *cluster_password_file; /* Redis AUTH: the file holding the password */
	char *cluster_key_file; /* the key every node shares (crypto/seal.h) */
	/* NULL when not set: conf_node_name gives the host name then. */
	char *node_name;
};

struct conf_cert {
	char *name; /* the section's NAME */
	int line; /* line of the section header */
	struct conf_settings settings;
};

/* A [ca NAME] section: a CA's directory (url) and what goes with it there:
 * ca-file, the account (email, agree-tos, account-key-type, EAB), profile,
 * new-order-concurrency. Its keys sit between the global ones and a
 * [cert] section's when a certificate is ordered from it. */
struct conf_ca {
	char *name;
	int line;
	struct conf_settings settings;
};

/* The most caa-identity items. */
#define CONF_CAA_IDENTITIES_MAX 8

/* The most items in a ca list, and the longest item. */
#define CONF_CA_LIST_MAX 4
#define CONF_CA_ITEM_MAX 512

struct conf {
	char *path; /* NULL when no file was read */
	struct conf_settings global;
	struct conf_cert *certs;
	size_t n_certs;
	struct conf_ca *cas;
	size_t n_cas;
	char **errors; /* "file:line: message" for every problem found */
	size_t n_errors;
};

/* Zeroes conf. */
void conf_init(struct conf *conf);

/* Frees everything conf owns; safe on a zeroed or finished conf. */
void conf_finish(struct conf *conf);

void conf_settings_finish(struct conf_settings *s);

/* Parses the file at path into conf (which must be conf_init'ed) and
 * validates it as a whole. Every problem is appended to conf->errors; parsing
 * goes on after an error so that all of them are reported. Returns 0 when
 * there are none, -1 otherwise (an unreadable file is one error, with line 0
 * left out: "file: message"). */
int conf_load(struct conf *conf, const char *path);

/* Sets one key in s from its text value, validated. where is
 * CONF_WHERE_GLOBAL, CONF_WHERE_CERT or CONF_WHERE_CLI (global-only and
 * section-only keys are refused elsewhere). "email" and "domains" accept
 * several values (comma or space separated) and append. Returns 0, or -1 with
 * a message (no file:line prefix) in err. */
enum conf_where {
	CONF_WHERE_GLOBAL,
	CONF_WHERE_CERT,
	CONF_WHERE_CLI,
	CONF_WHERE_CA,
};
int conf_set(struct conf_settings *s, enum conf_where where, const char *key, const char *value,
             char *err, size_t errlen);

/* The effective settings for a certificate section (cert may be NULL for the
 * global settings alone): defaults, then conf->global, then cert->settings,
 * then cli (may be NULL). out receives copies it owns (conf_settings_finish).
 * Returns 0 or -1 when out of memory. */
int conf_resolve(const struct conf *conf, const struct conf_cert *cert,
                 const struct conf_settings *cli, struct conf_settings *out);

/* conf_resolve for the index-th CA (from 0) of the certificate's ca list:
 * defaults, conf->global, the [ca] section that item names (if any),
 * cert->settings, cli; then out->ca is that item's directory URL (an item
 * naming no section and no short name is left as it is: session_ca_url
 * refuses it) and out->ca_list every item's. The first CA gets the
 * profile of the certificate (or the global one), else its section's; the
 * others their section's only: a profile is a CA's. Returns 0, 1 when the
 * list has no such item (out zeroed), or -1 when out of memory. */
int conf_resolve_at(const struct conf *conf, const struct conf_cert *cert,
                    const struct conf_settings *cli, size_t index, struct conf_settings *out);

/* The [ca NAME] section named name, or NULL. Borrowed. */
const struct conf_ca *conf_find_ca(const struct conf *conf, const char *name);

/* Whether url is among the space separated URLs of list (a resolved
 * ca_list); false for NULL. */
bool conf_ca_list_has(const char *list, const char *url);

/* The section whose NAME is name, else the one whose first domain is name;
 * NULL when none. Borrowed. */
const struct conf_cert *conf_find_cert(const struct conf *conf, const char *name);

/* Whether a and b hold the same value for every key but except
 * (CONF_KEY__MAX: none), and set the same ones. */
bool conf_settings_equal(const struct conf_settings *a, const struct conf_settings *b,
                         enum conf_key except);

/* The longest node-name. */
#define CONF_NODE_NAME_MAX 64

/* This node's name in a fleet: s->node_name when set (borrowed), else the
 * host name (gethostname(2)) copied into buf when it is a valid node-name
 * (1 to CONF_NODE_NAME_MAX of [A-Za-z0-9._-]); NULL when neither (the
 * user must then set node-name). Never resolved into the settings: only a
 * fleet asks, once. */
const char *conf_node_name(const struct conf_settings *s, char buf[CONF_NODE_NAME_MAX + 1]);

/* "http-01", "dns-01", "tls-alpn-01", "dns-persist-01". */
const char *conf_challenge_name(enum conf_challenge c);

/* Whether c is validated through DNS (dns-01, dns-persist-01): the
 * challenges a wildcard can use, and an IP address cannot. */
bool conf_challenge_dns(enum conf_challenge c);

/* The key's name as written in the file ("account-key-type"). */
const char *conf_key_name(enum conf_key key);

/* Parses a duration: a number of seconds or a number followed by s, m, h or
 * d. Returns 0 or -1. */
int conf_parse_duration(const char *s, long *seconds);

#endif
