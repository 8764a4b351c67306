/* What the conf module's files share: conf_load.c (the file parser) and
 * conf.c (the key table) use conf_value.c and conf_value_cluster.c (one
 * key's value, checked and stored); not part of the conf API, which is
 * conf.h. */
#ifndef ACMED_CONF_INTERNAL_H
#define ACMED_CONF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* The bit of key in conf_settings.set. */
#define CONF_KEY_BIT(k) ((uint64_t)1 << (k))
/* conf_settings.set has a bit per key: a 65th key needs a wider set. */
_Static_assert(CONF_KEY__MAX <= 64, "conf_settings.set holds 64 keys");

/* The line on which each key was set in one scope (0: not set). */
struct conf_key_lines {
	int line[CONF_KEY__MAX];
};

/* Where conf_verify tells a problem: line (0: none) and a message without
 * the "file:line: " prefix, borrowed for the call. */
typedef void (*conf_verify_error_fn)(void *arg, int line, const char *msg);

/* What conf_verify reads (all borrowed): the file's scopes and the lines
 * of their keys, certs and cas parallel to conf->certs and conf->cas. */
struct conf_verify {
	const struct conf *conf;
	const struct conf_key_lines *global;
	const struct conf_key_lines *certs;
	const struct conf_key_lines *cas;
	conf_verify_error_fn error;
	void *arg;
};

/* The checks of conf_load that need a scope as a whole (conf_verify.c):
 * keys that need others (eab-kid, cluster-key-file), keys against the
 * challenge they end up with (webroot, dns-hook, ...), the dns-01 setter
 * (dns-hook or dns-update, one per scope), a section without domains, the
 * ca lists and [ca] sections. Each problem goes to v->error. */
void conf_verify(const struct conf_verify *v);

/* The key named name as written in the file ("account-key-type"). Returns 0
 * with the key in *key, or -1 when no key has that name (*key untouched). */
int conf_key_find(const char *name, enum conf_key *key);

/* Whether key may be set in where: false for a key conf_set refuses there
 * (global-only keys in a section, section-only keys before the first one)
 * and for an out-of-range key. */
bool conf_key_allowed(enum conf_key key, enum conf_where where);

/* How conf_resolve copies a key's field. */
enum conf_field_kind {
	CONF_FIELD_STRING,
	CONF_FIELD_BOOL,
	CONF_FIELD_LONG,
	CONF_FIELD_KEY_TYPE,
	CONF_FIELD_CHALLENGE,
	CONF_FIELD_LIST,
};

struct conf_key_spec;
/* Checks value and stores it in the key's field of s. Returns 0, or -1 with
 * a message (no file:line prefix) in err. */
typedef int (*conf_key_parse_fn)(struct conf_settings *s, const struct conf_key_spec *spec,
                                 const char *value, char *err, size_t errlen);
/* Checks one list item and writes its normal form to out. */
typedef int (*conf_item_parse_fn)(const struct conf_key_spec *spec, const char *item, size_t len,
                                  char *out, size_t outlen, char *err, size_t errlen);

/* One row of conf.c's key table. */
struct conf_key_spec {
	const char *name;
	unsigned where; /* bits 1u << CONF_WHERE_x (conf.c: WHERE_*) */
	enum conf_field_kind kind;
	conf_key_parse_fn parse;
	size_t off; /* the field in struct conf_settings */
	size_t off_n; /* CONF_FIELD_LIST: its count */
	long min;
	long max; /* numbers: the range; text: the longest; lists: most items */
	conf_item_parse_fn item; /* CONF_FIELD_LIST: one item */
};

/* Formats a message into err (nothing when err is NULL or errlen 0). */
void conf_value_fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The field at offset off in s. Borrowed. */
void *conf_value_field(struct conf_settings *s, size_t off);
const void *conf_value_const_field(const struct conf_settings *s, size_t off);

/* Replaces the key's string field with a copy of value. Returns 0 or -1 when
 * out of memory. */
int conf_value_set_string(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value);

/* Frees the first n strings of list and list; safe on NULL. */
void conf_value_list_free(char **list, size_t n);

/* The key parsers (conf_key_parse_fn). text: no control characters, at most
 * spec->max long; token: text without spaces; number and duration: from
 * spec->min to spec->max; renew_before: "auto" (0) or a duration of at least
 * spec->min; list: appends every comma or space separated item checked by
 * spec->item, all or nothing, at most spec->max in all. */
int conf_value_parse_text(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen);
/* dns-resolver, dns-propagation-servers: what dns_create takes (io/dns.h). */
int conf_value_parse_dns_resolver(struct conf_settings *s, const struct conf_key_spec *spec,
                                  const char *value, char *err, size_t errlen);
/* dns-update: "IP[:PORT]", "[IPV6]:PORT" or "NAME[:PORT]" as
 * dns_update_server_split takes it (io/dns_update.h); a name is resolved
 * when used (challenge_dnsupdate.c). */
int conf_value_parse_dns_update(struct conf_settings *s, const struct conf_key_spec *spec,
                                const char *value, char *err, size_t errlen);
int conf_value_parse_token(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen);
int conf_value_parse_bool(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen);
int conf_value_parse_ca(struct conf_settings *s, const struct conf_key_spec *spec,
                        const char *value, char *err, size_t errlen);
/* staging: an https URL (http_url_ok), never a short name. */
int conf_value_parse_staging(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
/* ca: one to spec->max items (space or comma separated), each an https
 * URL, a short name or the shape of a [ca NAME] section's name. */
int conf_value_parse_ca_list(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
int conf_value_parse_challenge(struct conf_settings *s, const struct conf_key_spec *spec,
                               const char *value, char *err, size_t errlen);
/* chain: "default" or "shortest" (enum conf_chain). */
int conf_value_parse_chain(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen);
int conf_value_parse_number(struct conf_settings *s, const struct conf_key_spec *spec,
                            const char *value, char *err, size_t errlen);
int conf_value_parse_duration(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen);
int conf_value_parse_renew_before(struct conf_settings *s, const struct conf_key_spec *spec,
                                  const char *value, char *err, size_t errlen);
int conf_value_parse_key_type(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen);
int conf_value_parse_eab_alg(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
int conf_value_parse_eab_key(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
/* eab-hmac-key-file: the file's content (a trailing newline dropped) is
 * checked as eab-hmac-key and stored there; the key's own field says it
 * came from a file. */
int conf_value_parse_eab_key_file(struct conf_settings *s, const struct conf_key_spec *spec,
                                  const char *value, char *err, size_t errlen);
int conf_value_parse_listen(struct conf_settings *s, const struct conf_key_spec *spec,
                            const char *value, char *err, size_t errlen);
int conf_value_parse_list(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen);
/* cluster: "redis://HOST[:PORT][/DB]" or "file:///ABSOLUTE/PATH";
 * node_name: what conf_value_is_node_name accepts. */
int conf_value_parse_cluster(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
int conf_value_parse_node_name(struct conf_settings *s, const struct conf_key_spec *spec,
                               const char *value, char *err, size_t errlen);

/* conf_value_output.c. output: "pem", "combined", "pkcs12", space or comma
 * separated (pem always added); owner, group: a user or group name
 * (getpwnam, getgrnam) or a number; mode: octal, 0 to 0777, readable by
 * the owner; key-mode gives other no bit, cert-mode lets other write
 * nothing (spec->name tells the two apart). */
int conf_value_parse_output(struct conf_settings *s, const struct conf_key_spec *spec,
                            const char *value, char *err, size_t errlen);
int conf_value_parse_owner(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen);
int conf_value_parse_group(struct conf_settings *s, const struct conf_key_spec *spec,
                           const char *value, char *err, size_t errlen);
int conf_value_parse_mode(struct conf_settings *s, const struct conf_key_spec *spec,
                          const char *value, char *err, size_t errlen);

/* Whether name is 1 to CONF_NODE_NAME_MAX characters of [A-Za-z0-9._-]. */
bool conf_value_is_node_name(const char *name);

/* The list item parsers (conf_item_parse_fn). domain: a host name (lower
 * cased, "*." allowed) or an IP address (in its canonical text); email: an
 * address, "mailto:" dropped. */
int conf_value_parse_domain(const struct conf_key_spec *spec, const char *item, size_t len,
                            char *out, size_t outlen, char *err, size_t errlen);
int conf_value_parse_email(const struct conf_key_spec *spec, const char *item, size_t len,
                           char *out, size_t outlen, char *err, size_t errlen);
/* caa-identity (conf_value_ca.c): an issuer-domain-name of RFC 8659 section
 * 4.2, LDH labels, lower cased, a trailing dot dropped. */
int conf_value_parse_caa_identity(const struct conf_key_spec *spec, const char *item, size_t len,
                                  char *out, size_t outlen, char *err, size_t errlen);

/* The notification keys (conf_value_notify.c): notify-email one address
 * (as email's, "mailto:" dropped); notify-webhook an https URL, or http to
 * a loopback address; notify-webhook-format json or slack; a file's
 * absolute path (metrics-file: cron and systemd run in other folders). */
int conf_value_parse_notify_email(struct conf_settings *s, const struct conf_key_spec *spec,
                                  const char *value, char *err, size_t errlen);
int conf_value_parse_webhook(struct conf_settings *s, const struct conf_key_spec *spec,
                             const char *value, char *err, size_t errlen);
int conf_value_parse_abs_path(struct conf_settings *s, const struct conf_key_spec *spec,
                              const char *value, char *err, size_t errlen);
int conf_value_parse_webhook_format(struct conf_settings *s, const struct conf_key_spec *spec,
                                    const char *value, char *err, size_t errlen);

#endif
