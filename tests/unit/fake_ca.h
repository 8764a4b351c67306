/* A scripted CA behind acme_client's transport seam (struct acme_transport):
 * no network, replies queued per method and URL, every request recorded
 * (JWS protected header and payload decoded), a fake wall clock, and the
 * waits acme/ asks for recorded and cut to nothing. For the unit tests of
 * acme_order and acme_account_reg. */
#ifndef ACMED_TEST_FAKE_CA_H
#define ACMED_TEST_FAKE_CA_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acme/acme_client.h"
#include "challenge/challenge.h"

#define FAKE_CA "https://ca.test"
#define FAKE_CA_DIRECTORY FAKE_CA "/dir"
#define FAKE_CA_NONCE FAKE_CA "/nonce"
#define FAKE_CA_NEW_ACCOUNT FAKE_CA "/new-account"
#define FAKE_CA_NEW_ORDER FAKE_CA "/new-order"
#define FAKE_CA_START_TIME 1700000000

/* A reply to queue; NULL members are left out (nonce NULL: a fresh one). */
struct fake_reply {
	const char *method;
	const char *url;
	long status;
	const char *content_type; /* NULL: application/json with a body */
	const char *location;
	const char *retry_after;
	const char *nonce;
	const char *body;
	const char *links; /* Link header values, given to a request that keeps them */
};

/* What the client sent, in order. */
struct fake_request {
	char *method;
	char *url;
	json_t *protected; /* a POST's JWS protected header, else NULL */
	json_t *payload; /* a POST's payload; NULL for POST-as-GET */
	time_t at; /* the fake clock */
	unsigned flags; /* enum http_flags */
};

#define FAKE_CA_MAX 64

/* A challenge responder that records what it is asked: present answers
 * present_rc (message "fake: cannot present"), cleanup answers 0. */
struct fake_responder {
	struct challenge ch;
	int present_rc;
	int presented;
	int cleaned;
	char token[256]; /* the last presented */
	char key_auth[512];
	char identifier[256];
	char txt_name[300];
	char txt_value[64];
};

struct fake_ca {
	struct ev_loop *loop;
	time_t now;
	bool external_account_required;
	bool terms; /* the directory names terms of service */
	bool hold_timers; /* record the waits but never start them */
	struct fake_reply replies[FAKE_CA_MAX];
	bool used[FAKE_CA_MAX];
	size_t n_replies;
	struct fake_request requests[FAKE_CA_MAX];
	size_t n_requests;
	size_t unmatched; /* requests nothing was queued for */
	double delays[FAKE_CA_MAX]; /* what acme_client_timer_start was asked */
	size_t n_delays;
	int nonce_serial;
	struct fake_delivery *deliveries; /* replies not delivered yet */
	struct fake_responder responder; /* http-01 unless a test says */
};

extern const struct acme_transport fake_ca_transport;

/* Sets ca up on a new loop of its own (ca->loop), freed by fake_ca_finish
 * after what runs on it; ca->responder answers type. */
void fake_ca_init(struct fake_ca *ca, enum challenge_type type);
void fake_ca_finish(struct fake_ca *ca);

/* Queues a reply for the next request of r->method to r->url not answered
 * yet (strings borrowed; they must outlive the exchange). */
void fake_ca_queue(struct fake_ca *ca, const struct fake_reply *r);

/* The same for a POST's reply with status and a JSON body; returns the
 * queued reply, for a test to add a nonce or Retry-After to. */
struct fake_reply *fake_ca_json(struct fake_ca *ca, const char *url, long status, const char *body);

/* The same for a problem document (application/problem+json). */
struct fake_reply *fake_ca_problem(struct fake_ca *ca, const char *url, long status,
                                   const char *body);

/* A client of the fake CA with its directory fetched. */
struct acme_client *fake_ca_client(struct fake_ca *ca);

/* How many requests of method went to url. */
size_t fake_ca_count(const struct fake_ca *ca, const char *method, const char *url);

/* The n-th (from 0) request of method to url, or NULL. */
const struct fake_request *fake_ca_find(const struct fake_ca *ca, const char *method,
                                        const char *url, size_t n);

/* Runs the loop until *flag is set (fails the test after many rounds). */
void fake_ca_run_until(struct fake_ca *ca, const bool *flag);

#endif
