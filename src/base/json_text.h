/* JSON as text, without a tree of values: the status of 100,000
 * certificates is written row by row and passed from the daemon to the
 * screen without being parsed into objects (RFC 8259 is the grammar).
 * Jansson stays the way to read JSON whose values are used; this is for
 * what is only written, or only split and passed on. */
#ifndef ACMED_JSON_TEXT_H
#define ACMED_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

/* How deep json_text_value follows objects and arrays. */
#define JSON_TEXT_DEPTH 64

/* Writers: each appends to b (a failure sticks in b, see buf.h).
 * json_text_key writes a member's name and its colon, preceded by a comma
 * unless it is the first in its object (b ends with '{'); json_text_next
 * writes the comma between array elements the same way (unless b ends
 * with '['). Strings are escaped as RFC 8259 section 7 says; bytes that
 * are not UTF-8 become U+FFFD, so that the text is always JSON. */
void json_text_key(struct buf *b, const char *key);
void json_text_next(struct buf *b);
void json_text_string(struct buf *b, const char *s); /* NULL: null */
void json_text_int(struct buf *b, long long v);
void json_text_bool(struct buf *b, bool v);
void json_text_null(struct buf *b);

/* The length of the JSON value at the start of text (len bytes, leading
 * white space counted): a string to its closing quote (escapes
 * followed), an object or array to its closing bracket (nesting followed,
 * up to JSON_TEXT_DEPTH levels), a number or literal to the next
 * delimiter. Not a validator: a scalar's spelling is not checked, nor
 * commas and colons inside objects and arrays (json_text_each checks
 * those of the level it walks). Returns the length, or -1 when text does
 * not begin with one whole value. */
ssize_t json_text_value(const char *text, size_t len);

/* Walks the members of the object, or the elements of the array, whose
 * text is text (len bytes): fn(key, value, value_len, arg) for each, key
 * the member's decoded name (NULL for an array's elements, borrowed for
 * the call), value its text without surrounding white space. Stops at the
 * first nonzero fn returns. Returns 0 when every member was walked, what
 * fn returned when it stopped, or -1 when text is not one object or array
 * (a name longer than 1023 bytes counts as malformed). */
typedef int (*json_text_fn)(const char *key, const char *value, size_t len, void *arg);
int json_text_each(const char *text, size_t len, json_text_fn fn, void *arg);

/* The string whose JSON text is text (len bytes, quotes included),
 * decoded into out (size bytes, NUL-terminated): escapes undone, \u
 * escapes (surrogate pairs joined) as UTF-8. Returns its length, or -1
 * when text is not one string or it does not fit. A string holding U+0000
 * is refused (it could not be a C string). */
ssize_t json_text_decode(const char *text, size_t len, char *out, size_t size);

#endif
