/* dns-01 through RFC 2136 dynamic updates signed with TSIG (issue #18):
 * the setter of the dns-01 flow (challenge_dns01.h) that adds and removes
 * the TXT record at the server of `dns-update` with the key of
 * `dns-update-key`, in the zone the SOA walk found (io/dns_update.h).
 * A server given by name is resolved through io/dns (the dns-resolver
 * servers, or resolv.conf's) before each update: a primary that moves is
 * followed, and a name that does not resolve fails the record before the
 * CA is asked to validate.
 *
 * Its probe (before newOrder, renew/job_checks.c) sends a real signed
 * update that deletes a TXT record of the target with a value no one set
 * ("acmed-probe-" and random hex): RFC 2136 section 3.4.2.4 makes the
 * deletion of an RR that is not there a no-op, so the server says NOERROR
 * when the key, the zone and its policy let the record be set, and its
 * RCODE or TSIG error otherwise, and the zone is left as it was. It goes
 * the way of a set (the name resolved first), only its end differs. */
#include "challenge/challenge_dns01.h"

#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "io/dns.h"
#include "io/dns_update.h"

#define DNSUPDATE_MESSAGE 512
/* "acmed-probe-" and 16 random hex digits */
#define DNSUPDATE_PROBE_VALUE 29

struct updater {
	struct ev_loop *loop;
	char *server; /* as configured */
	char *key_file; /* dns-update-key, for the messages */
	char host[DNS_UPDATE_HOST_MAX + 1]; /* the server's name, "" when an address */
	int port;
	struct dns *dns; /* resolves host */
	bool own_dns; /* dns made here (destroyed with the updater) */
	struct dns_update_key *key;
	struct list ops;
};

struct op {
	struct list_node node; /* in updater.ops */
	struct updater *up;
	struct dns_addrs_query *q; /* the server's name being resolved */
	struct dns_update *u;
	bool add;
	char *zone;
	char *name;
	char *value;
	challenge_done_fn done; /* a set's */
	challenge_probe_fn probe_done; /* a probe's (done NULL) */
	void *arg;
};

/* A probe is an op that ends with probe_done (its first member: the
 * handle and the op are one allocation). */
struct challenge_dns01_probe {
	struct op op;
};

static void
op_free(struct op *op)
{
	if (op == NULL) {
		return;
	}
	dns_addrs_cancel(op->q);
	dns_update_cancel(op->u);
	free(op->zone);
	free(op->name);
	free(op->value);
	free(op);
}

/* Ends op with the verdict and message: a set's done gets 0 (message
 * NULL) for OK, -1 otherwise. */
static void
op_end(struct op *op, enum challenge_probe_result v, const char *message)
{
	challenge_done_fn done = op->done;
	challenge_probe_fn probe_done = op->probe_done;
	void *done_arg = op->arg;

	list_unlink(&op->node);
	op->q = NULL;
	op->u = NULL;
	op_free(op);
	if (probe_done != NULL) {
		probe_done(v, message, done_arg);
	} else {
		done(v == CHALLENGE_PROBE_OK ? 0 : -1, v == CHALLENGE_PROBE_OK ? NULL : message,
		     done_arg);
	}
}

static void
on_update(enum dns_update_result result, const char *message, void *arg)
{
	struct op *op = arg;
	struct updater *up = op->up;
	char text[DNSUPDATE_MESSAGE + PATH_MAX + 64];
	enum challenge_probe_result v = CHALLENGE_PROBE_REFUSED;

	op->u = NULL;
	if (result == DNS_UPDATE_OK) {
		/* A probe's success is its caller's to tell. */
		if (op->probe_done == NULL) {
			log_info("%s", message);
		}
		v = CHALLENGE_PROBE_OK;
	} else if (result == DNS_UPDATE_NO_ANSWER) {
		v = CHALLENGE_PROBE_UNKNOWN;
	}
	if (op->probe_done != NULL && v == CHALLENGE_PROBE_REFUSED) {
		/* A TSIG error names no record: say which, and the key file
		 * to fix. */
		snprintf(text, sizeof(text), "%s (%s%s%s%sdns-update-key %s)", message,
		         result == DNS_UPDATE_TSIG ? op->name : "",
		         result == DNS_UPDATE_TSIG ? ", zone " : "",
		         result == DNS_UPDATE_TSIG ? op->zone : "",
		         result == DNS_UPDATE_TSIG ? "; " : "", up->key_file);
		message = text;
	}
	op_end(op, v, message);
}

/* Sends op's update to server ("IP:PORT", "[IPV6]:PORT"). Returns 0, or -1
 * with the reason in err. */
static int
send_update(struct op *op, const char *server, char *err, size_t errlen)
{
	struct updater *up = op->up;

	return dns_update_send(up->loop, server, up->key, op->zone,
	                       op->add ? DNS_UPDATE_ADD : DNS_UPDATE_DEL, op->name, op->value, 0,
	                       on_update, op, &op->u, err, errlen);
}

static void
on_server_addrs(enum dns_status status, int rcode, const struct dns_addrs *addrs, void *arg)
{
	struct op *op = arg;
	struct updater *up = op->up;
	char message[DNSUPDATE_MESSAGE];
	char server[80];
	char rname[16];

	op->q = NULL;
	if (status != DNS_STATUS_OK || addrs->n == 0) {
		const char *why = "no address";

		if (status != DNS_STATUS_OK) {
			why = dns_status_name(status);
		} else if (rcode != DNS_RCODE_NOERROR) {
			why = dns_rcode_name(rcode, rname, sizeof(rname));
		}
		snprintf(
		        message, sizeof(message),
		        "dns-update %s: the server's name does not resolve (%s): set dns-update to "
		        "the primary server's name or address",
		        up->server, why);
		/* An answer that has no address refuses; resolvers that did
		 * not answer tell nothing of the name. */
		op_end(op,
		       status == DNS_STATUS_OK ? CHALLENGE_PROBE_REFUSED : CHALLENGE_PROBE_UNKNOWN,
		       message);
		return;
	}
	/* The first address: A records come before AAAA (io/dns.h). */
	snprintf(server, sizeof(server), strchr(addrs->addr[0], ':') != NULL ? "[%s]:%d" : "%s:%d",
	         addrs->addr[0], up->port);
	log_debug("dns-update %s: %s", up->server, server);
	if (send_update(op, server, message, sizeof(message)) < 0) {
		op_end(op, CHALLENGE_PROBE_UNKNOWN, message);
	}
}

/* Fills op (zeroed, its done set) for rec with value, and starts it: the
 * update sent, or the server's name resolved first. Returns 0 (op in
 * up->ops), or -1 (logged; op to free). */
static int
op_start(struct updater *up, struct op *op, bool add, const struct challenge_dns01_record *rec,
         const char *value)
{
	char err[DNSUPDATE_MESSAGE];
	size_t len = strlen(rec->name);

	op->up = up;
	op->add = add;
	/* io/dns_update takes the owner name without its final dot. */
	op->name = strndup(rec->name, len > 0 && rec->name[len - 1] == '.' ? len - 1 : len);
	op->zone = strdup(rec->zone);
	op->value = strdup(value);
	if (op->name == NULL || op->zone == NULL || op->value == NULL) {
		log_error("dns-update: out of memory");
		return -1;
	}
	if (up->host[0] == '\0') {
		if (send_update(op, up->server, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return -1;
		}
	} else if (dns_resolve_addrs(up->dns, up->host, on_server_addrs, op, &op->q) < 0) {
		log_error("dns-update %s: its name cannot be resolved", up->server);
		return -1;
	}
	list_push(&up->ops, &op->node);
	return 0;
}

static int
update_set(void *ctx, bool add, const struct challenge_dns01_record *rec, challenge_done_fn done,
           void *arg)
{
	struct op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		log_error("dns-update: out of memory");
		return -1;
	}
	op->done = done;
	op->arg = arg;
	if (op_start(ctx, op, add, rec, rec->value) < 0) {
		op_free(op);
		return -1;
	}
	return 0;
}

static int
update_probe(void *ctx, const struct challenge_dns01_record *rec, challenge_probe_fn done,
             void *arg, struct challenge_dns01_probe **handle)
{
	struct challenge_dns01_probe *p = calloc(1, sizeof(*p));
	unsigned char bytes[8];
	char value[DNSUPDATE_PROBE_VALUE + 1];
	int n = snprintf(value, sizeof(value), "acmed-probe-");

	if (p == NULL || RAND_bytes(bytes, sizeof(bytes)) != 1) {
		log_error("dns-update: probe: out of memory or no random bytes");
		free(p);
		return -1;
	}
	/* A value that cannot be in the zone: its deletion is a no-op. */
	for (size_t i = 0; i < sizeof(bytes); i++) {
		n += snprintf(value + n, sizeof(value) - (size_t)n, "%02x", bytes[i]);
	}
	p->op.probe_done = done;
	p->op.arg = arg;
	if (op_start(ctx, &p->op, false, rec, value) < 0) {
		op_free(&p->op);
		return -1;
	}
	*handle = p;
	return 0;
}

static void
update_probe_cancel(void *ctx, struct challenge_dns01_probe *p)
{
	(void)ctx;
	if (p != NULL) {
		list_unlink(&p->op.node);
		op_free(&p->op);
	}
}

static void
update_destroy(void *ctx)
{
	struct updater *up = ctx;

	if (up == NULL) {
		return;
	}
	while (!list_empty(&up->ops)) {
		struct op *op = list_entry(list_first(&up->ops), struct op, node);

		list_unlink(&op->node);
		op_free(op);
	}
	if (up->own_dns) {
		dns_destroy(up->dns);
	}
	dns_update_key_destroy(up->key);
	free(up->server);
	free(up->key_file);
	free(up);
}

static const struct challenge_dns01_setter update_setter = {
        .name = "dns-update",
        .needs_zone = true,
        .set = update_set,
        .destroy = update_destroy,
        .probe = update_probe,
        .probe_cancel = update_probe_cancel,
};

/* The key files whose mode was warned about: once per file and process,
 * however many certificates name it and however often it is loaded
 * (`check`, each job's preflight, each responder). Past the table's size
 * a file is warned about each time. */
#define DNSUPDATE_WARNED_MAX 16
static char warned[DNSUPDATE_WARNED_MAX][PATH_MAX];
static size_t n_warned;
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether path's warning is yet to be given (and is now counted given). */
static bool
first_warning(const char *path)
{
	bool first = true;

	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; i < n_warned && first; i++) {
		first = strcmp(warned[i], path) != 0;
	}
	if (first && n_warned < DNSUPDATE_WARNED_MAX && strlen(path) < PATH_MAX) {
		snprintf(warned[n_warned++], PATH_MAX, "%s", path);
	}
	pthread_mutex_unlock(&warned_lock);
	return first;
}

/* Loads key_file into *key: 0, or -1 with the reason in err. */
static int
load_key(const char *key_file, struct dns_update_key **key, char *err, size_t errlen)
{
	char warn[DNSUPDATE_MESSAGE];
	char why[DNSUPDATE_MESSAGE];

	if (key_file == NULL || key_file[0] == '\0') {
		snprintf(err, errlen,
		         "dns-update: no key: set dns-update-key to a BIND key file "
		         "(tsig-keygen -a hmac-sha256 NAME > FILE)");
		return -1;
	}
	if (dns_update_key_load(key_file, key, warn, sizeof(warn), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "dns-update-key: %s", why);
		return -1;
	}
	if (warn[0] != '\0' && first_warning(key_file)) {
		log_warn("dns-update-key: %s", warn);
	}
	return 0;
}

int
challenge_dnsupdate_check(const char *key_file, char *err, size_t errlen)
{
	struct dns_update_key *key = NULL;
	int ret = load_key(key_file, &key, err, errlen);

	dns_update_key_destroy(key);
	return ret;
}

struct challenge *
challenge_dnsupdate_create(struct ev_loop *loop, const char *server, const char *key_file,
                           const struct challenge_dns01_opts *opts)
{
	struct updater *up = NULL;
	char host[DNS_UPDATE_HOST_MAX + 1];
	char err[DNSUPDATE_MESSAGE];
	char *dns_err = NULL;
	struct challenge *ch = NULL;
	bool is_name = false;
	int port = 0;

	if (server == NULL || dns_update_server_split(server, host, sizeof(host), &port, &is_name,
	                                              err, sizeof(err)) < 0) {
		/* err starts "dns-update SERVER: ". */
		log_error("%s: set dns-update to the primary server's IP[:PORT] or NAME[:PORT]",
		          server != NULL ? err : "dns-update: no server");
		goto out;
	}
	up = calloc(1, sizeof(*up));
	if (up == NULL || (up->server = strdup(server)) == NULL ||
	    (up->key_file = strdup(key_file != NULL ? key_file : "")) == NULL) {
		log_error("dns-update: out of memory");
		goto out;
	}
	up->loop = loop;
	up->port = port;
	list_init(&up->ops);
	if (is_name) {
		snprintf(up->host, sizeof(up->host), "%s", host);
		up->dns = opts->dns;
		if (up->dns == NULL) {
			up->dns = dns_create(loop, opts->resolvers, &dns_err);
			up->own_dns = up->dns != NULL;
		}
		if (up->dns == NULL) {
			log_error("%s", dns_err != NULL ? dns_err : "dns-resolver: out of memory");
			goto out;
		}
	}
	if (load_key(key_file, &up->key, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	ch = challenge_dns01_flow_create(loop, &update_setter, up, opts);
	up = NULL; /* stolen, even on failure */
out:
	free(dns_err);
	update_destroy(up);
	return ch;
}
