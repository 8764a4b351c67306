/* What the tests of the built-in responders (test_challenge_standalone.c,
 * test_challenge_tlsalpn.c) share: the loop under a watchdog, a client of
 * each (HTTP on loopback, a TLS handshake as a validation server makes it,
 * from a child process), and a fake remote (challenge_remote) that answers
 * at once, later or never, and counts its lookups and cancels. */
#ifndef ACMED_TEST_CHALLENGE_CLIENT_H
#define ACMED_TEST_CHALLENGE_CLIENT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "challenge/challenge.h"

#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEY_AUTH TOKEN ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEY4X7kLxM"

/* Runs loop until *flag is true; fails the test after seconds. */
void client_run_until(struct ev_loop *loop, const bool *flag, double seconds);
/* Runs loop for seconds. */
void client_run_for(struct ev_loop *loop, double seconds);

/* Runs loop until *count reaches n (fails the test when it has not after
 * seconds): what a client's connection started is waited for, not a fixed
 * time that valgrind on a busy machine outlasts. */
void client_run_until_count(struct ev_loop *loop, const int *count, int n, double seconds);

/* A free TCP port on 127.0.0.1. */
int client_free_port(void);

/* An HTTP exchange on 127.0.0.1:port, answered while the loop runs. */
struct client_http {
	struct ev_io io;
	struct ev_loop *loop;
	int fd;
	char buf[16384];
	size_t len;
	bool eof;
};

/* Connects and sends "method path HTTP/1.1"; the response gathers in h. */
void client_http_start(struct ev_loop *loop, struct client_http *h, int port, const char *method,
                       const char *path);
/* Waits for the response's end and closes; returns h->buf. */
const char *client_http_finish(struct client_http *h);
/* Closes at once (the client gives up). */
void client_http_drop(struct client_http *h);

/* What a validation server saw of a tls-alpn-01 handshake. */
struct client_tls_seen {
	bool ok;
	char alpn[32];
	char san[128];
	bool critical;
	unsigned char ext[64];
	int ext_len;
};

struct client_tls {
	struct client_http pipe; /* the child's report */
	int pid;
};

/* Starts a handshake from a child process (the responder runs on this
 * process's loop): SNI sni, ALPN alpn (NULL: none). */
void client_tls_start(struct ev_loop *loop, struct client_tls *t, int port, const char *sni,
                      const char *alpn);
/* Waits for the child's report. */
void client_tls_finish(struct client_tls *t, struct client_tls_seen *seen);
/* Asserts the acmeIdentifier extension is SHA-256(key_auth), critical. */
void client_tls_assert_identifier(const struct client_tls_seen *seen, const char *key_auth);

/* --- the fake remote ----------------------------------------------------------- */

enum fake_mode {
	FAKE_IMMEDIATE, /* found before lookup returns */
	FAKE_DELAYED, /* found after delay seconds, from the loop */
	FAKE_NEVER, /* found only when fake_remote_answer is called */
	FAKE_REFUSE, /* lookup returns -1 */
};

struct fake_remote {
	struct ev_loop *loop;
	enum fake_mode mode;
	double delay;
	const char *key; /* the key it knows, and its value */
	const char *value;
	enum challenge_type type; /* of the last lookup */
	char last_key[256];
	int lookups, cancels, founds;
	bool found_flag; /* set by each found */
	struct challenge_lookup *waiting; /* the last one not answered */
	struct challenge_remote remote;
};

void fake_remote_init(struct fake_remote *fr, struct ev_loop *loop, enum fake_mode mode,
                      const char *key, const char *value);
/* Answers the waiting lookup now. */
void fake_remote_answer(struct fake_remote *fr);
/* Frees what is still waiting (no found). */
void fake_remote_finish(struct fake_remote *fr);

#endif
