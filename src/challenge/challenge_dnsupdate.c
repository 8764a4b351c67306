/* dns-01 through RFC 2136 dynamic updates signed with TSIG (issue #18):
 * the setter of the dns-01 flow (challenge_dns01.h) that adds and removes
 * the TXT record at the server of `dns-update` with the key of
 * `dns-update-key`, in the zone the SOA walk found (io/dns_update.h). */
#include "challenge/challenge_dns01.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/log.h"
#include "io/dns_update.h"

#define DNSUPDATE_MESSAGE 512

struct updater {
	struct ev_loop *loop;
	char *server;
	struct dns_update_key *key;
	struct list ops;
};

struct op {
	struct list_node node; /* in updater.ops */
	struct dns_update *u;
	challenge_done_fn done;
	void *arg;
};

static void
on_update(enum dns_update_result result, const char *message, void *arg)
{
	struct op *op = arg;
	challenge_done_fn done = op->done;
	void *done_arg = op->arg;

	list_unlink(&op->node);
	free(op);
	if (result == DNS_UPDATE_OK) {
		log_info("%s", message);
	}
	done(result == DNS_UPDATE_OK ? 0 : -1, result == DNS_UPDATE_OK ? NULL : message, done_arg);
}

static int
update_set(void *ctx, bool add, const struct challenge_dns01_record *rec, challenge_done_fn done,
           void *arg)
{
	struct updater *up = ctx;
	struct op *op = calloc(1, sizeof(*op));
	char err[DNSUPDATE_MESSAGE];
	char *name = NULL;
	size_t len = strlen(rec->name);
	int ret = -1;

	/* io/dns_update takes the owner name without its final dot. */
	name = strndup(rec->name, len > 0 && rec->name[len - 1] == '.' ? len - 1 : len);
	if (op == NULL || name == NULL) {
		log_error("dns-update: out of memory");
		goto out;
	}
	op->done = done;
	op->arg = arg;
	if (dns_update_send(up->loop, up->server, up->key, rec->zone,
	                    add ? DNS_UPDATE_ADD : DNS_UPDATE_DEL, name, rec->value, 0, on_update,
	                    op, &op->u, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	list_push(&up->ops, &op->node);
	op = NULL;
	ret = 0;
out:
	free(op);
	free(name);
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
		dns_update_cancel(op->u);
		free(op);
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
	if (warn[0] != '\0') {
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
	struct sockaddr_storage ss;
	socklen_t sslen;
	char spelled[80];
	char err[DNSUPDATE_MESSAGE];
	struct challenge *ch = NULL;

	if (server == NULL || dns_update_server_parse(server, &ss, &sslen, spelled, sizeof(spelled),
	                                              err, sizeof(err)) < 0) {
		log_error("dns-update: %s: set dns-update to the primary server's IP[:PORT]",
		          server != NULL ? err : "no server");
		goto out;
	}
	up = calloc(1, sizeof(*up));
	if (up == NULL || (up->server = strdup(server)) == NULL) {
		log_error("dns-update: out of memory");
		goto out;
	}
	up->loop = loop;
	list_init(&up->ops);
	if (load_key(key_file, &up->key, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	ch = challenge_dns01_flow_create(loop, &update_setter, up, opts);
	up = NULL; /* stolen, even on failure */
out:
	update_destroy(up);
	return ch;
}
