#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

/* The table grows at three quarters full: probes stay short. */
#define STRMAP_MIN_CAP 16

/* FNV-1a, 64 bits: names are short and not chosen to collide (they come
 * from the configuration). */
static uint64_t
hash_of(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_finish(struct strmap *m)
{
	free(m->slots);
	strmap_init(m);
}

/* The slot of key, or the empty slot where it would go. */
static size_t
find(const struct strmap *m, const char *key, uint64_t hash)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)hash & mask;

	while (m->slots[i].key != NULL &&
	       (m->slots[i].hash != hash || strcmp(m->slots[i].key, key) != 0)) {
		i = (i + 1) & mask;
	}
	return i;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	size_t i;

	if (m->n == 0) {
		return NULL;
	}
	i = find(m, key, hash_of(key));
	return m->slots[i].key != NULL ? m->slots[i].value : NULL;
}

static int
grow(struct strmap *m)
{
	size_t cap = m->cap == 0 ? STRMAP_MIN_CAP : m->cap * 2;
	struct strmap_slot *old = m->slots;
	size_t old_cap = m->cap;
	struct strmap_slot *slots;

	if (cap < old_cap || cap > SIZE_MAX / sizeof(*slots)) {
		return -1;
	}
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL) {
		return -1;
	}
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].key != NULL) {
			m->slots[find(m, old[i].key, old[i].hash)] = old[i];
		}
	}
	free(old);
	return 0;
}

int
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t hash = hash_of(key);
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0) {
		return -1;
	}
	i = find(m, key, hash);
	if (m->slots[i].key == NULL) {
		m->n++;
	}
	m->slots[i].key = key;
	m->slots[i].hash = hash;
	m->slots[i].value = value;
	return 0;
}

void *
strmap_remove(struct strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i;
	size_t j;
	void *value;

	if (m->n == 0) {
		return NULL;
	}
	i = find(m, key, hash_of(key));
	if (m->slots[i].key == NULL) {
		return NULL;
	}
	value = m->slots[i].value;
	m->n--;
	/* Backward shift: every slot after i in its run that could sit at i
	 * moves there, so no lookup stops early at the hole. */
	for (j = (i + 1) & mask; m->slots[j].key != NULL; j = (j + 1) & mask) {
		size_t home = (size_t)m->slots[j].hash & mask;

		/* j's home is cyclically in (i, j]: it stays. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
			continue;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	return value;
}
