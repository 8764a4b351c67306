/* One map from strings to things, for the modules that look a name up
 * among many (the daemon's certificates, the runner's jobs): a hash table
 * with open addressing, so a lookup is O(1) whether there are ten names or
 * a hundred thousand. Keys are borrowed: each is a string the thing holds
 * (its name), alive as long as the thing is in the map. */
#ifndef ACMED_STRMAP_H
#define ACMED_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	const char *key; /* NULL: empty */
	uint64_t hash;
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

/* An empty map (no allocation until the first put). */
void strmap_init(struct strmap *m);

/* Frees the table, not the keys or values. */
void strmap_finish(struct strmap *m);

/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Maps key (borrowed) to value (not NULL), replacing what it mapped to.
 * Returns 0, or -1 when out of memory (the map unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value);

/* Removes key; returns what it mapped to, or NULL. */
void *strmap_remove(struct strmap *m, const char *key);

#endif
