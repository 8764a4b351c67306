/* The checks of a loaded configuration that look at a scope as a whole:
 * what one key needs of another, keys against the challenge the scope ends
 * up with, the dns-01 setter, the ca lists. conf_load (conf_load.c) calls
 * it once the file is read, with the line of every key. */
#include "conf/conf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf/ca.h"

static void fail(const struct conf_verify *v, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
fail(const struct conf_verify *v, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->error(v->arg, line, msg);
}

/* Whether the scope has a line for the key, valid or not: a key whose value
 * was wrong is reported once, not again as missing. */
static bool
given(const struct conf_key_lines *lines, enum conf_key key)
{
	return lines->line[key] != 0;
}

/* The keys only dns-01 uses: how its record is set. */
static const enum conf_key dns01_only[] = {
        CONF_KEY_DNS_HOOK,
        CONF_KEY_DNS_UPDATE,
        CONF_KEY_DNS_UPDATE_KEY,
};

/* Checks what one scope sets against the challenge it ends up with
 * (CONF_CHALLENGE__MAX when its challenge line is wrong). */
static void
check_scope(const struct conf_verify *v, const struct conf_settings *s,
            const struct conf_key_lines *lines, enum conf_challenge challenge)
{
	static const enum conf_key http_only[] = {CONF_KEY_HTTP_HOOK, CONF_KEY_WEBROOT};
	size_t i;

	for (i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++) {
		if ((s->set & CONF_KEY_BIT(http_only[i])) != 0 &&
		    challenge != CONF_CHALLENGE_HTTP01 && challenge != CONF_CHALLENGE__MAX) {
			fail(v, lines->line[http_only[i]],
			     "%s needs challenge = http-01 (challenge is %s)",
			     conf_key_name(http_only[i]), conf_challenge_name(challenge));
		}
	}
	if (given(lines, CONF_KEY_EAB_KID) && !given(lines, CONF_KEY_EAB_HMAC_KEY) &&
	    !given(lines, CONF_KEY_EAB_HMAC_KEY_FILE)) {
		fail(v, lines->line[CONF_KEY_EAB_KID],
		     "eab-kid needs eab-hmac-key (or eab-hmac-key-file)");
	}
	if (given(lines, CONF_KEY_EAB_HMAC_KEY) && !given(lines, CONF_KEY_EAB_KID)) {
		fail(v, lines->line[CONF_KEY_EAB_HMAC_KEY], "eab-hmac-key needs eab-kid");
	}
	if (given(lines, CONF_KEY_EAB_HMAC_KEY_FILE) && !given(lines, CONF_KEY_EAB_KID)) {
		fail(v, lines->line[CONF_KEY_EAB_HMAC_KEY_FILE], "eab-hmac-key-file needs eab-kid");
	}
	if (given(lines, CONF_KEY_STAGING_EAB_KID) != given(lines, CONF_KEY_STAGING_EAB_HMAC_KEY)) {
		fail(v,
		     given(lines, CONF_KEY_STAGING_EAB_KID)
		             ? lines->line[CONF_KEY_STAGING_EAB_KID]
		             : lines->line[CONF_KEY_STAGING_EAB_HMAC_KEY],
		     "staging-eab-kid and staging-eab-hmac-key go together");
	}
	if (given(lines, CONF_KEY_EAB_HMAC_KEY) && given(lines, CONF_KEY_EAB_HMAC_KEY_FILE)) {
		fail(v, lines->line[CONF_KEY_EAB_HMAC_KEY_FILE],
		     "eab-hmac-key-file: eab-hmac-key is set too (line %d): keep one",
		     lines->line[CONF_KEY_EAB_HMAC_KEY]);
	}
}

/* The challenge a scope ends up with, from its own line or the fallback;
 * CONF_CHALLENGE__MAX when its line is wrong. */
static enum conf_challenge
scope_challenge(const struct conf_settings *s, const struct conf_key_lines *lines,
                enum conf_challenge fallback)
{
	enum conf_challenge ret = fallback;

	if ((s->set & CONF_KEY_BIT(CONF_KEY_CHALLENGE)) != 0) {
		ret = s->challenge;
	} else if (given(lines, CONF_KEY_CHALLENGE)) {
		ret = CONF_CHALLENGE__MAX;
	}
	return ret;
}

/* dns-hook and dns-update in one scope: two ways of setting one record.
 * Said on the later of the two lines. (A section's one replaces the
 * global other: conf_resolve.) */
static void
check_dns_both(const struct conf_verify *v, const struct conf_key_lines *lines)
{
	int hook = lines->line[CONF_KEY_DNS_HOOK];
	int update = lines->line[CONF_KEY_DNS_UPDATE];

	if (hook == 0 || update == 0) {
		return;
	}
	fail(v, hook > update ? hook : update,
	     "%s: %s is set too (line %d): keep one of them (both would set the dns-01 record)",
	     hook > update ? "dns-hook" : "dns-update", hook > update ? "dns-update" : "dns-hook",
	     hook > update ? update : hook);
}

/* A [cert] section's dns-01 keys against its challenge, and its
 * dns-update-key against the dns-update it ends up with. */
static void
check_cert_dns(const struct conf_verify *v, const struct conf_key_lines *lines,
               enum conf_challenge challenge)
{
	bool flagged = false;

	for (size_t i = 0; i < sizeof(dns01_only) / sizeof(dns01_only[0]); i++) {
		if (given(lines, dns01_only[i]) && challenge != CONF_CHALLENGE_DNS01 &&
		    challenge != CONF_CHALLENGE__MAX) {
			fail(v, lines->line[dns01_only[i]],
			     "%s needs challenge = dns-01 (challenge is %s)",
			     conf_key_name(dns01_only[i]), conf_challenge_name(challenge));
			flagged = flagged || dns01_only[i] == CONF_KEY_DNS_UPDATE_KEY;
		}
	}
	if (flagged || !given(lines, CONF_KEY_DNS_UPDATE_KEY)) {
		return;
	}
	if (given(lines, CONF_KEY_DNS_HOOK) && !given(lines, CONF_KEY_DNS_UPDATE)) {
		fail(v, lines->line[CONF_KEY_DNS_UPDATE_KEY],
		     "dns-update-key needs dns-update, and this section's dns-hook (line %d) "
		     "replaces it: keep one of them",
		     lines->line[CONF_KEY_DNS_HOOK]);
	} else if (!given(lines, CONF_KEY_DNS_UPDATE) && !given(v->global, CONF_KEY_DNS_UPDATE)) {
		fail(v, lines->line[CONF_KEY_DNS_UPDATE_KEY],
		     "dns-update-key needs dns-update = SERVER (the primary server the key signs "
		     "updates for)");
	}
}

/* Whether a section does without the global key: its own value, or the
 * other setter (conf_resolve: dns-hook replaces dns-update, and the
 * reverse; with dns-hook, dns-update-key is not used). */
static bool
own_setter(const struct conf_key_lines *lines, enum conf_key key)
{
	if (key == CONF_KEY_DNS_HOOK) {
		return given(lines, CONF_KEY_DNS_HOOK) || given(lines, CONF_KEY_DNS_UPDATE);
	}
	return given(lines, key) || given(lines, CONF_KEY_DNS_HOOK);
}

/* The global dns-01 keys: a global key only some sections use is fine;
 * one that contradicts the global challenge and that no section takes
 * (with dns-01, without its own) is a mistake, as is a dns-update-key
 * that no dns-update goes with. */
static void
check_global_dns(const struct conf_verify *v, enum conf_challenge challenge)
{
	const struct conf *conf = v->conf;
	bool contradicts = given(v->global, CONF_KEY_CHALLENGE) &&
	                   challenge != CONF_CHALLENGE_DNS01 && challenge != CONF_CHALLENGE__MAX;
	bool update_somewhere = given(v->global, CONF_KEY_DNS_UPDATE);

	for (size_t i = 0; i < conf->n_certs; i++) {
		update_somewhere = update_somewhere || given(&v->certs[i], CONF_KEY_DNS_UPDATE);
	}
	for (size_t k = 0; k < sizeof(dns01_only) / sizeof(dns01_only[0]); k++) {
		enum conf_key key = dns01_only[k];
		bool taken = false;

		if (!given(v->global, key)) {
			continue;
		}
		for (size_t i = 0; i < conf->n_certs && !taken; i++) {
			taken = scope_challenge(&conf->certs[i].settings, &v->certs[i],
			                        challenge) == CONF_CHALLENGE_DNS01 &&
			        !own_setter(&v->certs[i], key);
		}
		if (contradicts && !taken) {
			fail(v, v->global->line[key],
			     "%s needs challenge = dns-01 (challenge is %s, and no [cert] section "
			     "with dns-01 uses it)",
			     conf_key_name(key), conf_challenge_name(challenge));
		} else if (key == CONF_KEY_DNS_UPDATE_KEY && !update_somewhere) {
			fail(v, v->global->line[key],
			     "dns-update-key needs dns-update = SERVER (the primary server the key "
			     "signs updates for)");
		}
	}
}

/* dns-01 needs the hook or RFC 2136 updates (lines; the global ones count
 * too); line: the scope's, for a missing one. */
static void
check_dns_setter(const struct conf_verify *v, const struct conf_key_lines *lines, int line)
{
	if (!given(lines, CONF_KEY_DNS_HOOK) && !given(v->global, CONF_KEY_DNS_HOOK) &&
	    !given(lines, CONF_KEY_DNS_UPDATE) && !given(v->global, CONF_KEY_DNS_UPDATE)) {
		fail(v, given(lines, CONF_KEY_CHALLENGE) ? lines->line[CONF_KEY_CHALLENGE] : line,
		     "challenge dns-01 needs dns-hook or dns-update: set dns-hook = PROGRAM "
		     "or dns-update = SERVER");
	}
}

static void
check_cert(const struct conf_verify *v, size_t i, enum conf_challenge global_challenge)
{
	const struct conf_cert *cert = &v->conf->certs[i];
	const struct conf_settings *s = &cert->settings;
	const struct conf_key_lines *lines = &v->certs[i];
	enum conf_challenge challenge;
	size_t j;

	if (!given(lines, CONF_KEY_DOMAINS)) {
		fail(v, cert->line, "[cert %s] has no domains: add domains = NAME ...", cert->name);
	}
	challenge = scope_challenge(s, lines, global_challenge);
	check_scope(v, s, lines, challenge);
	check_dns_both(v, lines);
	check_cert_dns(v, lines, challenge);
	if (challenge == CONF_CHALLENGE_DNS01) {
		check_dns_setter(v, lines, cert->line);
	}
	for (j = 0; j < s->n_domains; j++) {
		if (s->domains[j][0] == '*' && !conf_challenge_dns(challenge) &&
		    challenge != CONF_CHALLENGE__MAX) {
			fail(v, lines->line[CONF_KEY_DOMAINS],
			     "wildcard '%s' needs challenge = dns-01 or dns-persist-01",
			     s->domains[j]);
		}
	}
}

/* Each item of a scope's ca list names a [ca] section, a short name or a
 * URL. */
static void
check_ca_items(const struct conf_verify *v, const struct conf_settings *s,
               const struct conf_key_lines *lines)
{
	char item[CONF_CA_ITEM_MAX + 1];
	const char *p;
	size_t len;

	if ((s->set & CONF_KEY_BIT(CONF_KEY_CA)) == 0) {
		return;
	}
	for (p = s->ca + strspn(s->ca, " "); *p != '\0'; p += len, p += strspn(p, " ")) {
		len = strcspn(p, " ");
		if (len > CONF_CA_ITEM_MAX) {
			break;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (conf_find_ca(v->conf, item) == NULL && ca_directory_url(item) == NULL) {
			fail(v, lines->line[CONF_KEY_CA],
			     "ca: unknown CA '%s': no [ca %s] section, and not one of %s", item,
			     item, ca_short_names());
		}
	}
}

/* What every [ca NAME] section needs, and the ca lists that name them. */
static void
check_cas(const struct conf_verify *v)
{
	const struct conf *conf = v->conf;

	for (size_t i = 0; i < conf->n_cas; i++) {
		if (!given(&v->cas[i], CONF_KEY_URL)) {
			fail(v, conf->cas[i].line,
			     "[ca %s] has no url: add url = https://.../directory (or a short "
			     "name: "
			     "%s)",
			     conf->cas[i].name, ca_short_names());
		}
		check_scope(v, &conf->cas[i].settings, &v->cas[i], CONF_CHALLENGE__MAX);
	}
	check_ca_items(v, &conf->global, v->global);
	for (size_t i = 0; i < conf->n_certs; i++) {
		check_ca_items(v, &conf->certs[i].settings, &v->certs[i]);
	}
}

void
conf_verify(const struct conf_verify *v)
{
	const struct conf *conf = v->conf;
	enum conf_challenge global_challenge;

	global_challenge = scope_challenge(&conf->global, v->global, CONF_CHALLENGE_HTTP01);
	check_scope(v, &conf->global, v->global, global_challenge);
	check_dns_both(v, v->global);
	check_global_dns(v, global_challenge);
	/* Without sections, the global settings are what `acmed cert` uses. */
	if (conf->n_certs == 0 && global_challenge == CONF_CHALLENGE_DNS01) {
		check_dns_setter(v, v->global, v->global->line[CONF_KEY_CHALLENGE]);
	}
	if (given(v->global, CONF_KEY_CLUSTER) && !given(v->global, CONF_KEY_CLUSTER_KEY_FILE)) {
		fail(v, v->global->line[CONF_KEY_CLUSTER],
		     "cluster-key-file is required when cluster is set: acmed cluster-key new FILE "
		     "makes one");
	}
	for (size_t i = 0; i < conf->n_certs; i++) {
		check_cert(v, i, global_challenge);
	}
	check_cas(v);
}
