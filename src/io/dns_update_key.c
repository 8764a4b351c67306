/* TSIG keys: BIND's key file read, messages signed and verified with ldns.
 * The secret stays here. */
#include "io/dns_update_key.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/file.h"

/* A key name is a domain name (RFC 8945 section 4.2): at most 255 octets. */
#define NAME_MAX_LEN 255
/* A token of the file: BIND's secrets are a few dozen characters. */
#define TOKEN_MAX 1024

struct dns_update_key {
	char name[NAME_MAX_LEN + 1];
	enum dns_update_key_alg alg;
	char *secret; /* base64, as the file gives it; wiped on destroy */
};

struct alg_entry {
	const char *name; /* as written in a key file */
	const char *ldns_name; /* what ldns_tsig.c's digest lookup knows */
};

static const struct alg_entry algs[DNS_UPDATE_KEY_ALG__MAX] = {
        [DNS_UPDATE_KEY_HMAC_SHA256] = {"hmac-sha256", "hmac-sha256."},
        [DNS_UPDATE_KEY_HMAC_SHA512] = {"hmac-sha512", "hmac-sha512."},
};

const char *
dns_update_key_alg_name(enum dns_update_key_alg alg)
{
	return (unsigned)alg < DNS_UPDATE_KEY_ALG__MAX ? algs[alg].name : "?";
}

static int
alg_lookup(const char *name)
{
	for (int i = 0; i < DNS_UPDATE_KEY_ALG__MAX; i++) {
		if (strcasecmp(name, algs[i].name) == 0) {
			return i;
		}
	}
	return -1;
}

/* Standard base64 with padding, as BIND writes secrets; at least one
 * byte. */
static bool
valid_base64(const char *s)
{
	size_t len = strlen(s), pad = 0;

	if (len == 0 || len % 4 != 0) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			pad++;
		} else if (pad > 0 ||
		           !(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/')) {
			return false;
		}
	}
	return pad <= 2 && len - pad > 1;
}

static bool
valid_name(const char *name)
{
	ldns_rdf *rdf = NULL;
	bool ok = false;

	if (name[0] == '\0' || strlen(name) > NAME_MAX_LEN) {
		goto out;
	}
	if (ldns_str2rdf_dname(&rdf, name) != LDNS_STATUS_OK) {
		goto out;
	}
	ok = ldns_rdf_size(rdf) > 1;
out:
	ldns_rdf_deep_free(rdf);
	return ok;
}

struct dns_update_key *
dns_update_key_create(const char *name, enum dns_update_key_alg alg, const char *secret)
{
	struct dns_update_key *key = NULL;
	size_t n;

	if (name == NULL || secret == NULL || (unsigned)alg >= DNS_UPDATE_KEY_ALG__MAX ||
	    !valid_name(name) || !valid_base64(secret)) {
		goto out;
	}
	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		goto out;
	}
	n = strlen(name);
	if (n > 1 && name[n - 1] == '.') {
		n--;
	}
	memcpy(key->name, name, n);
	key->alg = alg;
	key->secret = strdup(secret);
	if (key->secret == NULL) {
		dns_update_key_destroy(key);
		key = NULL;
	}
out:
	return key;
}

struct dns_update_key *
dns_update_key_dup(const struct dns_update_key *key)
{
	return key != NULL ? dns_update_key_create(key->name, key->alg, key->secret) : NULL;
}

void
dns_update_key_destroy(struct dns_update_key *key)
{
	if (key == NULL) {
		return;
	}
	if (key->secret != NULL) {
		OPENSSL_cleanse(key->secret, strlen(key->secret));
		free(key->secret);
	}
	free(key);
}

const char *
dns_update_key_name(const struct dns_update_key *key)
{
	return key->name;
}

enum dns_update_key_alg
dns_update_key_alg(const struct dns_update_key *key)
{
	return key->alg;
}

/* ---- the key file ---- */

enum token_type {
	TOKEN_WORD,
	TOKEN_STRING,
	TOKEN_OPEN,
	TOKEN_CLOSE,
	TOKEN_SEMICOLON,
	TOKEN_END,
	TOKEN__MAX,
};

struct lexer {
	const char *path;
	const char *p, *end;
	int line;
	char *err;
	size_t errlen;
};

struct token {
	enum token_type type;
	int line;
	char text[TOKEN_MAX + 1]; /* a word or a string's content */
};

/* Skips blanks and the three kinds of comments BIND takes. Returns 0, or
 * -1 on a comment that is not closed. */
static int
skip_space(struct lexer *lx)
{
	int rc = -1;

	while (lx->p < lx->end) {
		char c = *lx->p;
		char next = lx->p + 1 < lx->end ? lx->p[1] : '\0';

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)c)) {
			lx->p++;
		} else if (c == '#' || (c == '/' && next == '/')) {
			while (lx->p < lx->end && *lx->p != '\n') {
				lx->p++;
			}
		} else if (c == '/' && next == '*') {
			int start = lx->line;

			lx->p += 2;
			while (lx->p < lx->end &&
			       !(*lx->p == '*' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
				lx->line += *lx->p == '\n';
				lx->p++;
			}
			if (lx->p >= lx->end) {
				snprintf(lx->err, lx->errlen, "%s:%d: a /* comment is not closed",
				         lx->path, start);
				goto out;
			}
			lx->p += 2;
		} else {
			break;
		}
	}
	rc = 0;
out:
	return rc;
}

/* A quoted string's content: a backslash keeps the next character. */
static int
lex_string(struct lexer *lx, struct token *t)
{
	size_t n = 0;
	int rc = -1;

	lx->p++;
	while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
		if (*lx->p == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
		}
		if (n == TOKEN_MAX) {
			snprintf(lx->err, lx->errlen, "%s:%d: a string is too long", lx->path,
			         t->line);
			goto out;
		}
		t->text[n++] = *lx->p++;
	}
	if (lx->p >= lx->end || *lx->p != '"') {
		snprintf(lx->err, lx->errlen, "%s:%d: a string is not closed by \"", lx->path,
		         t->line);
		goto out;
	}
	lx->p++;
	t->text[n] = '\0';
	t->type = TOKEN_STRING;
	rc = 0;
out:
	return rc;
}

static int
next_token(struct lexer *lx, struct token *t)
{
	static const char punct[] = "{};";
	size_t n = 0;
	int rc = -1;

	if (skip_space(lx) < 0) {
		goto out;
	}
	t->line = lx->line;
	t->text[0] = '\0';
	if (lx->p >= lx->end) {
		t->type = TOKEN_END;
		rc = 0;
		goto out;
	}
	if (*lx->p == '"') {
		rc = lex_string(lx, t);
		goto out;
	}
	if (strchr(punct, *lx->p) != NULL) {
		t->type = *lx->p == '{'   ? TOKEN_OPEN
		          : *lx->p == '}' ? TOKEN_CLOSE
		                          : TOKEN_SEMICOLON;
		lx->p++;
		rc = 0;
		goto out;
	}
	while (lx->p < lx->end && !isspace((unsigned char)*lx->p) && *lx->p != '"' &&
	       *lx->p != '#' && strchr(punct, *lx->p) == NULL) {
		if (n == TOKEN_MAX || *lx->p == '\0') {
			snprintf(lx->err, lx->errlen, "%s:%d: %s", lx->path, t->line,
			         n == TOKEN_MAX ? "a word is too long" : "a NUL byte");
			goto out;
		}
		t->text[n++] = *lx->p++;
	}
	t->text[n] = '\0';
	t->type = TOKEN_WORD;
	rc = 0;
out:
	return rc;
}

/* Whether text may be shown in a message: an algorithm name has a '-',
 * which base64 never has, so a secret written where the algorithm goes is
 * not shown. */
static bool
showable(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n > 40 || strchr(text, '-') == NULL) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)text[i]) && text[i] != '-' && text[i] != '.') {
			return false;
		}
	}
	return true;
}

/* The next token, which must be of type want (a value: a word or a
 * string). what names it in the message. */
static int
expect(struct lexer *lx, struct token *t, enum token_type want, const char *what)
{
	int rc = -1;

	if (next_token(lx, t) < 0) {
		goto out;
	}
	if (t->type == want || (want == TOKEN_STRING && t->type == TOKEN_WORD)) {
		rc = 0;
		goto out;
	}
	snprintf(lx->err, lx->errlen, "%s:%d: %s expected%s", lx->path, t->line, what,
	         t->type == TOKEN_END ? " before the end of the file" : "");
out:
	return rc;
}

struct parsed {
	char name[NAME_MAX_LEN + 1];
	int alg; /* -1 until given */
	char *secret; /* NULL until given */
};

static int
parse_algorithm(struct lexer *lx, struct token *t, struct parsed *k)
{
	int rc = -1;

	if (expect(lx, t, TOKEN_STRING, "an algorithm name") < 0) {
		goto out;
	}
	if (k->alg >= 0) {
		snprintf(lx->err, lx->errlen, "%s:%d: a second algorithm", lx->path, t->line);
		goto out;
	}
	k->alg = alg_lookup(t->text);
	if (k->alg < 0) {
		snprintf(lx->err, lx->errlen,
		         "%s:%d: algorithm %s is not supported: use hmac-sha256 or hmac-sha512 "
		         "(tsig-keygen -a hmac-sha256 NAME)",
		         lx->path, t->line, showable(t->text) ? t->text : "(not shown)");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int
parse_secret(struct lexer *lx, struct token *t, struct parsed *k)
{
	int rc = -1;

	if (expect(lx, t, TOKEN_STRING, "the secret") < 0) {
		goto out;
	}
	if (k->secret != NULL) {
		snprintf(lx->err, lx->errlen, "%s:%d: a second secret", lx->path, t->line);
		goto out;
	}
	if (!valid_base64(t->text)) {
		snprintf(lx->err, lx->errlen, "%s:%d: the secret is not base64", lx->path, t->line);
		goto out;
	}
	k->secret = strdup(t->text);
	if (k->secret == NULL) {
		snprintf(lx->err, lx->errlen, "%s: out of memory", lx->path);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* key NAME { algorithm ALG; secret "BASE64"; }; and nothing else. */
static int
parse_key(struct lexer *lx, struct token *t, struct parsed *k)
{
	int rc = -1;

	if (next_token(lx, t) < 0) {
		goto out;
	}
	if (t->type != TOKEN_WORD || strcasecmp(t->text, "key") != 0) {
		snprintf(lx->err, lx->errlen,
		         "%s:%d: %s: the file must hold one key statement, key \"NAME\" { ... }; "
		         "as tsig-keygen writes it",
		         lx->path, t->line,
		         t->type == TOKEN_END ? "no key" : "not a key statement");
		goto out;
	}
	if (expect(lx, t, TOKEN_STRING, "the key's name") < 0) {
		goto out;
	}
	if (!valid_name(t->text)) {
		snprintf(lx->err, lx->errlen, "%s:%d: the key's name is not a domain name",
		         lx->path, t->line);
		goto out;
	}
	memcpy(k->name, t->text, strlen(t->text) + 1); /* valid_name: at most 255 */
	if (expect(lx, t, TOKEN_OPEN, "{") < 0) {
		goto out;
	}
	for (;;) {
		int step;

		if (next_token(lx, t) < 0) {
			goto out;
		}
		if (t->type == TOKEN_CLOSE) {
			break;
		}
		if (t->type == TOKEN_WORD && strcasecmp(t->text, "algorithm") == 0) {
			step = parse_algorithm(lx, t, k);
		} else if (t->type == TOKEN_WORD && strcasecmp(t->text, "secret") == 0) {
			step = parse_secret(lx, t, k);
		} else {
			snprintf(lx->err, lx->errlen,
			         "%s:%d: a key holds only algorithm and secret%s", lx->path,
			         t->line,
			         t->type == TOKEN_END ? ": } expected before the end of the file"
			                              : "");
			step = -1;
		}
		if (step < 0 || expect(lx, t, TOKEN_SEMICOLON, "; after the value") < 0) {
			goto out;
		}
	}
	if (expect(lx, t, TOKEN_SEMICOLON, "; after }") < 0) {
		goto out;
	}
	if (k->alg < 0 || k->secret == NULL) {
		snprintf(lx->err, lx->errlen, "%s:%d: key \"%s\" has no %s", lx->path, t->line,
		         k->name, k->alg < 0 ? "algorithm" : "secret");
		goto out;
	}
	if (next_token(lx, t) < 0) {
		goto out;
	}
	if (t->type != TOKEN_END) {
		snprintf(lx->err, lx->errlen,
		         "%s:%d: more after the key: the file must hold one key statement",
		         lx->path, t->line);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* A key file others can read lets them change the zone. */
static void
check_mode(const char *path, char *warn, size_t warnlen)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		snprintf(warn, warnlen,
		         "%s: readable by others than its owner (mode %04o): chmod 600 %s", path,
		         (unsigned)(st.st_mode & 07777), path);
	}
}

int
dns_update_key_load(const char *path, struct dns_update_key **key, char *warn, size_t warnlen,
                    char *err, size_t errlen)
{
	struct parsed k = {.alg = -1};
	struct lexer lx = {.path = path, .line = 1, .err = err, .errlen = errlen};
	struct token *t = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	*key = NULL;
	warn[0] = '\0';
	err[0] = '\0';
	text = file_read(path, DNS_UPDATE_KEY_FILE_MAX, &len);
	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		         errno == EFBIG ? "too large for a key file" : strerror(errno));
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	lx.p = text;
	lx.end = text + len;
	if (parse_key(&lx, t, &k) < 0) {
		goto out;
	}
	*key = dns_update_key_create(k.name, (enum dns_update_key_alg)k.alg, k.secret);
	if (*key == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	check_mode(path, warn, warnlen);
	rc = 0;
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	if (t != NULL) {
		OPENSSL_cleanse(t, sizeof(*t));
		free(t);
	}
	if (k.secret != NULL) {
		OPENSSL_cleanse(k.secret, strlen(k.secret));
		free(k.secret);
	}
	return rc;
}

/* ---- signing and verifying ---- */

int
dns_update_key_sign(const struct dns_update_key *key, ldns_pkt *pkt, const ldns_rdf *request_mac)
{
	ldns_status s = ldns_pkt_tsig_sign(pkt, key->name, key->secret, DNS_UPDATE_KEY_FUDGE,
	                                   algs[key->alg].ldns_name, request_mac);

	return s == LDNS_STATUS_OK && ldns_pkt_tsig(pkt) != NULL ? 0 : -1;
}

/* Whether the TSIG RR names this key and algorithm (RFC 8945 section
 * 5.3.2: a reply is signed with the request's key). */
static bool
same_key(const struct dns_update_key *key, const ldns_rr *tsig)
{
	ldns_rdf *name = ldns_dname_new_frm_str(key->name);
	ldns_rdf *alg = ldns_dname_new_frm_str(algs[key->alg].ldns_name);
	bool same = name != NULL && alg != NULL && ldns_rr_owner(tsig) != NULL &&
	            ldns_dname_compare(name, ldns_rr_owner(tsig)) == 0 &&
	            ldns_rr_rdf(tsig, 0) != NULL &&
	            ldns_rdf_get_type(ldns_rr_rdf(tsig, 0)) == LDNS_RDF_TYPE_DNAME &&
	            ldns_dname_compare(alg, ldns_rr_rdf(tsig, 0)) == 0;

	ldns_rdf_deep_free(name);
	ldns_rdf_deep_free(alg);
	return same;
}

/* Seconds since the epoch in a TSIG's 48-bit Time Signed. */
static int64_t
time_signed(const ldns_rr *tsig)
{
	const ldns_rdf *rdf = ldns_rr_rdf(tsig, 1);
	int64_t t = 0;

	if (rdf == NULL || ldns_rdf_size(rdf) != 6) {
		return -1;
	}
	for (size_t i = 0; i < 6; i++) {
		t = (t << 8) | ldns_rdf_data(rdf)[i];
	}
	return t;
}

int
dns_update_key_verify(const struct dns_update_key *key, ldns_pkt *pkt, const uint8_t *wire,
                      size_t len, const ldns_rdf *request_mac, time_t now, char *why, size_t whylen)
{
	ldns_rr *tsig = ldns_pkt_tsig(pkt);
	uint16_t id = ldns_pkt_id(pkt);
	int64_t signed_at, fudge, off;
	bool ok;
	int rc = -1;

	if (tsig == NULL || ldns_rr_rd_count(tsig) < 7) {
		snprintf(why, whylen, "the reply is not signed");
		goto out;
	}
	if (!same_key(key, tsig)) {
		snprintf(why, whylen, "the reply is signed with another key");
		goto out;
	}
	ok = ldns_pkt_tsig_verify(pkt, wire, len, key->name, key->secret, request_mac);
	/* ldns 1.8 leaves the TSIG detached and the ID changed when it cannot
	 * compute the MAC: put them back so that pkt is as it came. */
	if (ldns_pkt_tsig(pkt) == NULL) {
		ldns_pkt_set_tsig(pkt, tsig);
		ldns_pkt_set_id(pkt, id);
	}
	if (!ok) {
		snprintf(why, whylen, "the reply's MAC does not verify with key \"%s\"", key->name);
		goto out;
	}
	signed_at = time_signed(tsig);
	fudge = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2));
	off = signed_at - (int64_t)now;
	if (signed_at < 0 || off > fudge || -off > fudge) {
		snprintf(why, whylen, "the reply was signed %lld s away from this host's clock",
		         (long long)(off < 0 ? -off : off));
		goto out;
	}
	rc = 0;
out:
	return rc;
}
