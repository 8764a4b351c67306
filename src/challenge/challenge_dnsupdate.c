/* dns-01 through RFC 2136 dynamic updates signed with TSIG (issue #18):
 * the setter of the dns-01 flow (challenge_dns01.h) that adds and removes
 * the TXT record at the server of `dns-update` with the key of
 * `dns-update-key`, in the zone the SOA walk found (io/dns_update.h).
 * A server given by name is resolved through io/dns (the dns-resolver
 * servers, or resolv.conf's) before each update: a primary that moves is
 * followed, and a name that does not resolve fails the record before the
 * CA is asked to validate. */
#include "challenge/challenge_dns01.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "io/dns.h"
#include "io/dns_update.h"

#define DNSUPDATE_MESSAGE 512

struct updater {
	struct ev_loop *loop;
	char *server; /* as configured */
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
	challenge_done_fn done;
	void *arg;
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

/* Ends op with rc and message (NULL on success). */
static void
op_end(struct op *op, int rc, const char *message)
{
	challenge_done_fn done = op->done;
	void *done_arg = op->arg;

	list_unlink(&op->node);
	op->q = NULL;
	op->u = NULL;
	op_free(op);
	done(rc, message, done_arg);
}

static void
on_update(enum dns_update_result result, const char *message, void *arg)
{
	struct op *op = arg;

	op->u = NULL;
	if (result == DNS_UPDATE_OK) {
		log_info("%s", message);
	}
	op_end(op, result == DNS_UPDATE_OK ? 0 : -1, result == DNS_UPDATE_OK ? NULL : message);
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
		op_end(op, -1, message);
		return;
	}
	/* The first address: A records come before AAAA (io/dns.h). */
	snprintf(server, sizeof(server), strchr(addrs->addr[0], ':') != NULL ? "[%s]:%d" : "%s:%d",
	         addrs->addr[0], up->port);
	log_debug("dns-update %s: %s", up->server, server);
	if (send_update(op, server, message, sizeof(message)) < 0) {
		op_end(op, -1, message);
	}
}

static int
update_set(void *ctx, bool add, const struct challenge_dns01_record *rec, challenge_done_fn done,
           void *arg)
{
	struct updater *up = ctx;
	struct op *op = calloc(1, sizeof(*op));
	char err[DNSUPDATE_MESSAGE];
	size_t len = strlen(rec->name);
	int ret = -1;

	if (op == NULL) {
		log_error("dns-update: out of memory");
		goto out;
	}
	op->up = up;
	op->add = add;
	op->done = done;
	op->arg = arg;
	/* io/dns_update takes the owner name without its final dot. */
	op->name = strndup(rec->name, len > 0 && rec->name[len - 1] == '.' ? len - 1 : len);
	op->zone = strdup(rec->zone);
	op->value = strdup(rec->value);
	if (op->name == NULL || op->zone == NULL || op->value == NULL) {
		log_error("dns-update: out of memory");
		goto out;
	}
	if (up->host[0] == '\0') {
		if (send_update(op, up->server, err, sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
	} else if (dns_resolve_addrs(up->dns, up->host, on_server_addrs, op, &op->q) < 0) {
		log_error("dns-update %s: its name cannot be resolved", up->server);
		goto out;
	}
	list_push(&up->ops, &op->node);
	op = NULL;
	ret = 0;
out:
	op_free(op);
	return ret;
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
	free(up);
}

static const struct challenge_dns01_setter update_setter = {
        .name = "dns-update",
        .needs_zone = true,
        .set = update_set,
        .destroy = update_destroy,
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
	if (up == NULL || (up->server = strdup(server)) == NULL) {
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
