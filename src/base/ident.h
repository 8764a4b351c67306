/* Identifiers as certificates and ACME name them (RFC 8555 section 9.7.7,
 * RFC 8738): DNS names and IP addresses, their comparison as sets. */
#ifndef ACMED_IDENT_H
#define ACMED_IDENT_H

#include <stdbool.h>
#include <stddef.h>

enum ident_type {
	IDENT_UNKNOWN,
	IDENT_DNS,
	IDENT_IP,
	IDENT__MAX,
};

struct ident {
	enum ident_type type;
	char *value;
};

const char *ident_type_name(enum ident_type type);

/* The type of an identifier as a user writes it: IDENT_IP for an IPv4 or
 * IPv6 address (RFC 8738), else IDENT_DNS. */
enum ident_type ident_type_of(const char *value);

/* Whether a and b name the same thing: DNS names without regard to ASCII
 * case, IP addresses as bytes (so "::1" is "0:0::1"). */
bool ident_equal(const struct ident *a, const struct ident *b);

/* Whether id is one of the n of set. */
bool ident_in(const struct ident *id, const struct ident *set, size_t n);

/* The first of the na of a that is not among the nb of b, or NULL when b
 * holds them all. */
const struct ident *ident_first_missing(const struct ident *a, size_t na, const struct ident *b,
                                        size_t nb);

/* Appends to the text in buf (len bytes, kept terminated, cut short when
 * full) the values of the na of a that are not among the nb of b: the
 * first after lead, the others after ", " ("adds a.example, b.example").
 * Returns how many of a are missing from b. */
size_t ident_missing_text(const struct ident *a, size_t na, const struct ident *b, size_t nb,
                          const char *lead, char *buf, size_t len);

/* Whether a and b hold the same identifiers, in any order. */
bool ident_set_equal(const struct ident *a, size_t na, const struct ident *b, size_t nb);

/* The 4 or 16 bytes of an IPv4 or IPv6 address written as text, in addr
 * (16 bytes) and *len. Returns 0, or -1 when s is not an IP address. */
int ident_ip_bytes(const char *s, unsigned char addr[16], size_t *len);

/* The longest DNS name (RFC 1035: 255 bytes on the wire) and label. */
#define IDENT_DNS_MAX 253
#define IDENT_LABEL_MAX 63

/* The DNS name as ACME asks for it, from name as a user writes it: a host
 * name, or "*." and a host name for a wildcard. A name with non-ASCII
 * (UTF-8) labels is converted to its A-labels by IDNA2008 (RFC 5891, UTS
 * #46 non-transitional, libidn2): "bücher.example" is
 * "xn--bcher-kva.example". The result is lower case and checked as an LDH
 * host name (RFC 1123, RFC 5890). Writes it to out (len bytes). Returns 0,
 * or -1 with the reason in why (whylen bytes): a URL given where a name
 * belongs says so and names the host to give instead, as do a name with a
 * port ("a.example:8080") and one with a trailing dot ("a.example."). */
int ident_dns_name(const char *name, char *out, size_t len, char *why, size_t whylen);

/* name (an A-label name as ident_dns_name gives it) as a user reads it:
 * "xn--bcher-kva.example (bücher.example)" when it holds A-labels that
 * convert to Unicode, else name itself. Writes to out (len bytes, cut
 * short when full) and returns out. */
const char *ident_dns_display(const char *name, char *out, size_t len);

/* Whether name holds an A-label ("xn--", any case) that ident_dns_display
 * would show in Unicode. */
bool ident_dns_is_idn(const char *name);

/* A new array of the n identifiers named by values (each one's type as
 * ident_type_of says), or of copies of ids: *out holds n (values copied).
 * Returns 0, or -1 when out of memory (*out NULL). Free with
 * ident_list_free. */
int ident_list_make(char *const *values, size_t n, struct ident **out);
int ident_list_copy(const struct ident *ids, size_t n, struct ident **out);

/* Frees the n values and the array; safe on NULL. */
void ident_list_free(struct ident *ids, size_t n);

#endif
