/* Key generation off the loop: RSA keys take up to seconds to make, so they
 * are made by a worker thread and handed back through an ev_async. EC keys
 * are fast and made at once. */
#ifndef ACMED_KEYGEN_H
#define ACMED_KEYGEN_H

#include <ev.h>
#include <openssl/evp.h>

#include "crypto/key.h"

struct keygen;

/* key: a new key the callee owns, or NULL when generation failed (logged). */
typedef void (*keygen_done_fn)(EVP_PKEY *key, void *arg);

/* New generator on loop. NULL (logged) on failure. */
struct keygen *keygen_create(struct ev_loop *loop);

/* Waits for the key being made, drops queued requests without calling them
 * back, and frees. */
void keygen_destroy(struct keygen *kg);

/* Makes a key of type; done is called once from the loop, never from inside
 * this call. Returns 0 or -1 (logged; done not called). */
int keygen_submit(struct keygen *kg, enum key_type type, keygen_done_fn done, void *arg);

#endif
