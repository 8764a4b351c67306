/* A TSIG key (RFC 8945) for dynamic updates (io/dns_update.h): read from a
 * BIND key file, and the only place its secret is held and used (signing a
 * message, verifying a reply). The secret never appears in a message or a
 * log line, and is wiped when the key is destroyed.
 *
 * The key file is what `tsig-keygen -a hmac-sha256 NAME` or
 * `ddns-confgen -q -k NAME` writes, one key statement:
 *
 *     key "acmed" {
 *             algorithm hmac-sha256;
 *             secret "BASE64";
 *     };
 *
 * with BIND's comments (#, //, C-style) anywhere between tokens, the name
 * and the values quoted or not. Algorithms: hmac-sha256 and hmac-sha512
 * (RFC 8945 section 6 makes HMAC-SHA256 mandatory; MD5 and SHA-1 are
 * refused). */
#ifndef ACMED_DNS_UPDATE_KEY_H
#define ACMED_DNS_UPDATE_KEY_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum dns_update_key_alg {
	DNS_UPDATE_KEY_HMAC_SHA256,
	DNS_UPDATE_KEY_HMAC_SHA512,
	DNS_UPDATE_KEY_ALG__MAX,
};

/* The largest key file read (a key file is a few hundred bytes). */
#define DNS_UPDATE_KEY_FILE_MAX 65536

/* RFC 8945 section 10: 300 s is the recommended fudge. */
#define DNS_UPDATE_KEY_FUDGE 300

struct dns_update_key;

/* Reads the key file at path. On success stores a new key in *key
 * (dns_update_key_destroy) and returns 0; warn (warnlen bytes) gets a
 * one-line warning for the caller to log ("PATH: readable by others than
 * its owner (mode 0644): chmod 600 PATH"), or "" when there is none. On
 * failure returns -1 with a one-line reason in err naming the file, and
 * the line for a syntax error ("PATH:3: algorithm hmac-md5 is not
 * supported: ..."); *key is left NULL. Neither text ever holds the
 * secret. Does not log. */
int dns_update_key_load(const char *path, struct dns_update_key **key, char *warn, size_t warnlen,
                        char *err, size_t errlen);

/* A key from its parts: name (a domain name, e.g. "acmed"), alg, and
 * secret in base64 (RFC 4648 section 4, padded). For callers that hold
 * a key another way, and tests. Returns a new key, or NULL when a part
 * is not valid or out of memory. */
struct dns_update_key *dns_update_key_create(const char *name, enum dns_update_key_alg alg,
                                             const char *secret);

/* A copy of key (a new key), or NULL when out of memory. */
struct dns_update_key *dns_update_key_dup(const struct dns_update_key *key);

/* Wipes the secret and frees key. Safe on NULL. */
void dns_update_key_destroy(struct dns_update_key *key);

/* The key's name as the file gives it, without a final dot ("acmed");
 * borrowed. */
const char *dns_update_key_name(const struct dns_update_key *key);

enum dns_update_key_alg dns_update_key_alg(const struct dns_update_key *key);

/* "hmac-sha256", "hmac-sha512"; "?" for an unknown value. */
const char *dns_update_key_alg_name(enum dns_update_key_alg alg);

/* Adds a TSIG RR signed with key to pkt (ldns_pkt_tsig_sign: the time now,
 * fudge DNS_UPDATE_KEY_FUDGE). request_mac is NULL for a request, or the
 * request's MAC when pkt is its reply (RFC 8945 section 4.3.1).
 * Returns 0, or -1 (pkt unsigned) when ldns fails. */
int dns_update_key_sign(const struct dns_update_key *key, ldns_pkt *pkt,
                        const ldns_rdf *request_mac);

/* Checks the TSIG of pkt, parsed from wire (len bytes; the MAC covers the
 * bytes as they came): signed by key (its name and algorithm), the MAC
 * right (with request_mac for a reply, NULL for a request: RFC 8945
 * section 4.3), and its time within its fudge of now (section 5.4.3).
 * Returns 0, or -1 with why (whylen bytes) saying which failed ("the
 * reply is not signed", "the reply is signed with another key", "the
 * reply's MAC does not verify", "the reply was signed 400 s away from
 * this host's clock"). pkt is unchanged. */
int dns_update_key_verify(const struct dns_update_key *key, ldns_pkt *pkt, const uint8_t *wire,
                          size_t len, const ldns_rdf *request_mac, time_t now, char *why,
                          size_t whylen);

#endif
