/* base/json_text: the JSON text of `acmed status`, split and passed on
 * without a tree (the daemon's answer, read by the command). Whatever
 * comes in:
 * - json_text_each walks it, recursively: objects and arrays again,
 *   strings decoded, every value span one whole value of the text;
 * - when Jansson (json_loadb, flags 0) takes it, and it is no deeper and
 *   has no longer names than json_text allows, the walk succeeds at every
 *   level, walks as many members as Jansson holds (distinct names for an
 *   object: Jansson keeps the last of duplicates), every name is one of
 *   Jansson's, and an array's strings decode as Jansson reads them;
 * - json_text_string of the input (cut at a NUL) is JSON that Jansson
 *   reads, and reads as the input when that is UTF-8. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json_text.h"
#include "fuzz.h"

/* Longest name json_text_each takes (see json_text.h). */
#define NAME_MAX_LEN 1023

struct walk {
	size_t members;
	json_t *names; /* of the level walked: an object with them as keys */
	/* The level as Jansson read it, or NULL (not JSON, or below an
	 * object with duplicate names: which of them Jansson kept is not
	 * compared). */
	const json_t *jansson;
	bool valid; /* Jansson took the text it is part of */
	bool names_only; /* the first pass over an object: count */
};

static int walk(const char *text, size_t len, const json_t *jansson, bool valid);

static int
member(const char *key, const char *value, size_t len, void *arg)
{
	struct walk *w = arg;
	const json_t *inner = NULL;
	char *out;
	ssize_t n;
	int rc = 0;

	w->members++;
	if (key != NULL) {
		FUZZ_CHECK(strlen(key) <= NAME_MAX_LEN);
		json_object_set_new_nocheck(w->names, key, json_null());
		FUZZ_CHECK(w->jansson == NULL || json_object_get(w->jansson, key) != NULL);
		inner = w->jansson != NULL ? json_object_get(w->jansson, key) : NULL;
	} else if (w->jansson != NULL) {
		inner = json_array_get(w->jansson, w->members - 1);
		FUZZ_CHECK(inner != NULL);
	}
	if (w->names_only) {
		return 0;
	}
	/* The span is one whole value, white space trimmed. */
	FUZZ_CHECK(len > 0 && json_text_value(value, len) == (ssize_t)len);
	if (value[0] == '{' || value[0] == '[') {
		rc = walk(value, len, inner, w->valid);
	} else if (value[0] == '"') {
		out = malloc(len + 1);
		FUZZ_CHECK(out != NULL);
		n = json_text_decode(value, len, out, len + 1);
		/* Escapes only shrink: \uXXXX is at most 3 bytes, a pair 4. */
		FUZZ_CHECK(n < (ssize_t)len - 1);
		FUZZ_CHECK(!w->valid || n >= 0);
		if (n >= 0) {
			FUZZ_CHECK(strlen(out) == (size_t)n);
		}
		if (inner != NULL) {
			FUZZ_CHECK(json_is_string(inner) &&
			           json_string_length(inner) == (size_t)n &&
			           memcmp(json_string_value(inner), out, (size_t)n) == 0);
		}
		free(out);
	}
	/* Malformed inner values stop the walk here, not crash it. */
	return rc == 0 ? 0 : 1;
}

/* Walks text, an object or array; jansson is what Jansson read for it
 * (see struct walk), valid whether Jansson took it. Returns what
 * json_text_each returned. */
static int
walk(const char *text, size_t len, const json_t *jansson, bool valid)
{
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.names = json_object();
	FUZZ_CHECK(w.names != NULL);
	w.jansson = jansson;
	w.valid = valid;
	if (json_is_object(jansson)) {
		w.names_only = true;
		FUZZ_CHECK(json_text_each(text, len, member, &w) == 0);
		FUZZ_CHECK(json_object_size(w.names) == json_object_size(jansson));
		if (w.members != json_object_size(jansson)) {
			w.jansson = NULL;
		}
		w.names_only = false;
		w.members = 0;
	}
	rc = json_text_each(text, len, member, &w);
	FUZZ_CHECK(!valid || rc == 0);
	if (json_is_array(w.jansson)) {
		FUZZ_CHECK(w.members == json_array_size(w.jansson));
	} else if (w.jansson != NULL) {
		FUZZ_CHECK(w.members == json_object_size(w.jansson));
	}
	json_decref(w.names);
	return rc;
}

/* Whether v is within what json_text walks: depth levels of objects and
 * arrays below it at most (json_text_value follows JSON_TEXT_DEPTH, the
 * walk one more), and no name longer than NAME_MAX_LEN. */
static bool
walkable(const json_t *v, size_t depth)
{
	const char *key;
	json_t *m;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v)) {
		return true;
	}
	if (depth == 0) {
		return false;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			if (!walkable(m, depth - 1)) {
				return false;
			}
		}
		return true;
	}
	json_object_foreach((json_t *)v, key, m)
	{
		if (strlen(key) > NAME_MAX_LEN || !walkable(m, depth - 1)) {
			return false;
		}
	}
	return true;
}

static void
check_string(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	json_t *utf8 = json_string(s);
	json_error_t err;
	struct buf b;
	json_t *v;
	char *text;
	size_t len = 0;

	buf_init(&b, 16 * size + 16);
	json_text_string(&b, s);
	text = buf_steal(&b, &len);
	FUZZ_CHECK(text != NULL);
	v = json_loadb(text, len, JSON_DECODE_ANY, &err);
	FUZZ_CHECK(v != NULL && json_is_string(v));
	if (utf8 != NULL) {
		FUZZ_CHECK(json_equal(v, utf8));
	}
	json_decref(v);
	json_decref(utf8);
	free(text);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_error_t err;
	json_t *root;
	char out[64];
	ssize_t n;

	fuzz_setup();
	n = json_text_value(text, size);
	FUZZ_CHECK(n == -1 || (n > 0 && (size_t)n <= size));
	n = json_text_decode(text, size, out, sizeof(out));
	FUZZ_CHECK(n == -1 || (n >= 0 && (size_t)n < sizeof(out) && out[n] == '\0'));
	/* Jansson 2.14 drops a NUL byte that follows a number or literal
	 * ("[0,1\0]" reads as [0,1]): RFC 8259 has no such text, and
	 * json_text rightly refuses it, so Jansson is no reference then. */
	root = memchr(data, '\0', size) == NULL ? json_loadb(text, size, 0, &err) : NULL;
	if (root != NULL && !walkable(root, JSON_TEXT_DEPTH + 1)) {
		json_decref(root);
		root = NULL;
	}
	walk(text, size, root, root != NULL);
	json_decref(root);
	check_string(data, size);
	return 0;
}
