/* Which responder the settings ask for, and building it: the one place
 * that knows every variant (responders.h). */
#include "challenge/select.h"

#include "base/log.h"
#include "challenge/responders.h"
#include "io/listener.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHALLENGE_DEFAULT_LISTEN "[::]:80"
#define CHALLENGE_DEFAULT_TLS_LISTEN "[::]:443"
#define CHALLENGE_DEFAULT_HOOK_TIMEOUT 120L
/* "[" INET6_ADDRSTRLEN "]:65535" */
#define CHALLENGE_MAX_ADDRESS 64

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

enum challenge_responder
challenge_pick(const struct conf_settings *s, const char **why)
{
	enum challenge_responder r = CHALLENGE_RESPONDER_NONE;
	const char *unused;

	if (why == NULL) {
		why = &unused;
	}
	*why = NULL;
	switch (s->challenge) {
	case CONF_CHALLENGE_DNS01:
		if (is_set(s->dns_hook) && is_set(s->dns_update)) {
			*why = "dns-01: dns-hook and dns-update are both set: keep one of them";
		} else if (is_set(s->dns_hook)) {
			r = CHALLENGE_RESPONDER_DNS_HOOK;
		} else if (is_set(s->dns_update)) {
			r = CHALLENGE_RESPONDER_DNS_UPDATE;
		} else {
			*why = "dns-01 needs a hook or a server: set dns-hook (--dns-hook) or "
			       "dns-update";
		}
		break;
	case CONF_CHALLENGE_HTTP01:
		if (is_set(s->http_hook)) {
			r = CHALLENGE_RESPONDER_HTTP_HOOK;
		} else if (is_set(s->webroot)) {
			r = CHALLENGE_RESPONDER_WEBROOT;
		} else {
			r = CHALLENGE_RESPONDER_STANDALONE;
		}
		break;
	case CONF_CHALLENGE_TLSALPN01:
		r = CHALLENGE_RESPONDER_TLS_ALPN;
		break;
	case CONF_CHALLENGE_DNSPERSIST01:
		r = CHALLENGE_RESPONDER_DNS_PERSIST;
		break;
	default:
		*why = "unknown challenge type: set challenge to http-01, dns-01, tls-alpn-01 or "
		       "dns-persist-01";
		break;
	}
	return r;
}

static long
hook_timeout(const struct conf_settings *s)
{
	return s->hook_timeout > 0 ? s->hook_timeout : CHALLENGE_DEFAULT_HOOK_TIMEOUT;
}

static const char *
listen_address(const struct conf_settings *s)
{
	return is_set(s->http_listen) ? s->http_listen : CHALLENGE_DEFAULT_LISTEN;
}

static const char *
tls_listen_address(const struct conf_settings *s)
{
	return is_set(s->tls_listen) ? s->tls_listen : CHALLENGE_DEFAULT_TLS_LISTEN;
}

const char *
challenge_listen_address(const struct conf_settings *s, enum challenge_responder r)
{
	const char *address = NULL;

	if (r == CHALLENGE_RESPONDER_STANDALONE) {
		address = listen_address(s);
	} else if (r == CHALLENGE_RESPONDER_TLS_ALPN) {
		address = tls_listen_address(s);
	}
	return address;
}

/* A new string: the words joined by '\n' (which none of the settings can
 * hold), or NULL when out of memory. */
static char *
join(const char *const words[], size_t n)
{
	char *out = NULL;
	size_t len = 0;
	size_t off = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		len += strlen(words[i]) + 1;
	}
	out = malloc(len + 1);
	if (out == NULL) {
		goto out;
	}
	for (i = 0; i < n; i++) {
		size_t w = strlen(words[i]);

		memcpy(out + off, words[i], w);
		off += w;
		out[off++] = '\n';
	}
	out[off] = '\0';
out:
	return out;
}

char *
challenge_key(const struct conf_settings *s)
{
	char timeout[32];
	char wait[32];
	char propagation[32];
	char address[CHALLENGE_MAX_ADDRESS];
	const char *listen;
	const char *servers;
	const char *name;
	const char *why;
	char *key = NULL;

	if (s == NULL) {
		goto out;
	}
	snprintf(timeout, sizeof(timeout), "%ld", hook_timeout(s));
	snprintf(wait, sizeof(wait), "%ld", s->dns_wait);
	snprintf(propagation, sizeof(propagation), "%ld", s->dns_propagation_timeout);
	servers = s->dns_propagation_servers != NULL ? s->dns_propagation_servers : "";
	switch (challenge_pick(s, &why)) {
	case CHALLENGE_RESPONDER_NONE:
	case CHALLENGE_RESPONDER__MAX:
		name = conf_challenge_name(s->challenge);
		key = join((const char *[]){"none", name != NULL ? name : "?"}, 2);
		break;
	case CHALLENGE_RESPONDER_DNS_HOOK:
		key = join((const char *[]){"dns-hook", s->dns_hook, timeout, wait, propagation,
		                            s->dns_resolver != NULL ? s->dns_resolver : "",
		                            servers},
		           7);
		break;
	case CHALLENGE_RESPONDER_DNS_UPDATE:
		key = join((const char *[]){"dns-update", s->dns_update,
		                            s->dns_update_key != NULL ? s->dns_update_key : "",
		                            wait, propagation,
		                            s->dns_resolver != NULL ? s->dns_resolver : "",
		                            servers},
		           7);
		break;
	case CHALLENGE_RESPONDER_HTTP_HOOK:
		key = join((const char *[]){"http-hook", s->http_hook, timeout}, 3);
		break;
	case CHALLENGE_RESPONDER_WEBROOT:
		key = join((const char *[]){"webroot", s->webroot}, 2);
		break;
	case CHALLENGE_RESPONDER_STANDALONE:
		listen = listener_address_name(listen_address(s), address, sizeof(address));
		key = join((const char *[]){"standalone", listen}, 2);
		break;
	case CHALLENGE_RESPONDER_TLS_ALPN:
		listen = listener_address_name(tls_listen_address(s), address, sizeof(address));
		key = join((const char *[]){"tls-alpn", listen}, 2);
		break;
	case CHALLENGE_RESPONDER_DNS_PERSIST:
		key = join((const char *[]){"dns-persist",
		                            s->dns_resolver != NULL ? s->dns_resolver : ""},
		           2);
		break;
	}
out:
	return key;
}

struct challenge *
challenge_create(struct ev_loop *loop, const struct conf_settings *s)
{
	return challenge_create_dns(loop, s, NULL);
}

struct challenge *
challenge_create_dns(struct ev_loop *loop, const struct conf_settings *s, struct dns *dns)
{
	struct challenge *ch = NULL;
	struct challenge_dns01_opts dns_opts;
	const char *why = NULL;
	char *key = NULL;
	int saved;

	if (s == NULL) {
		goto out;
	}
	dns_opts = (struct challenge_dns01_opts){
	        .dns = dns,
	        .resolvers = s->dns_resolver,
	        .propagation_s = s->dns_propagation_timeout,
	        .propagation_servers = s->dns_propagation_servers,
	        .wait_s = s->dns_wait,
	};
	key = challenge_key(s);
	if (key == NULL) {
		log_error("challenge: out of memory");
		goto out;
	}
	switch (challenge_pick(s, &why)) {
	case CHALLENGE_RESPONDER_NONE:
	case CHALLENGE_RESPONDER__MAX:
		log_error("%s", why != NULL ? why : "challenge: no responder");
		break;
	case CHALLENGE_RESPONDER_DNS_HOOK:
		ch = challenge_dns01_create(loop, s->dns_hook, hook_timeout(s), &dns_opts);
		break;
	case CHALLENGE_RESPONDER_DNS_UPDATE:
		ch = challenge_dnsupdate_create(loop, s->dns_update, s->dns_update_key, &dns_opts);
		break;
	case CHALLENGE_RESPONDER_HTTP_HOOK:
		ch = challenge_httphook_create(loop, s->http_hook, hook_timeout(s));
		break;
	case CHALLENGE_RESPONDER_WEBROOT:
		ch = challenge_webroot_create(loop, s->webroot);
		break;
	case CHALLENGE_RESPONDER_STANDALONE:
		ch = challenge_standalone_create(loop, listen_address(s));
		break;
	case CHALLENGE_RESPONDER_TLS_ALPN:
		ch = challenge_tlsalpn_create(loop, tls_listen_address(s));
		break;
	case CHALLENGE_RESPONDER_DNS_PERSIST:
		ch = challenge_persist_create(loop, &dns_opts);
		break;
	}
	if (ch != NULL) {
		ch->key = key;
		key = NULL;
	}
out:
	saved = errno; /* a built-in responder's bind */
	free(key);
	errno = saved;
	return ch;
}
