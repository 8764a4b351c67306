/* What conf_load.c (the file parser) needs from conf.c (the key table); not
 * part of the conf API, which is conf.h. */
#ifndef ACMED_CONF_INTERNAL_H
#define ACMED_CONF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/* The bit of key in conf_settings.set. */
#define CONF_KEY_BIT(k) ((uint64_t)1 << (k))

/* The key named name as written in the file ("account-key-type"). Returns 0
 * with the key in *key, or -1 when no key has that name (*key untouched). */
int conf_key_find(const char *name, enum conf_key *key);

/* Whether key may be set in where: false for a key conf_set refuses there
 * (global-only keys in a section, section-only keys before the first one)
 * and for an out-of-range key. */
bool conf_key_allowed(enum conf_key key, enum conf_where where);

#endif
