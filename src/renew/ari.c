#include "renew/ari.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "renew/policy.h"

struct ari_ask {
	char *name;
	ari_done_fn done; /* NULL once cancelled */
	void *arg;
};

static void
on_reply(const struct acme_reply *reply, void *arg)
{
	struct ari_ask *ask = arg;
	struct acme_renewal_info info;
	struct ari_answer a;
	char err[256];

	memset(&a, 0, sizeof(a));
	a.now = time(NULL);
	a.retry_after = reply->retry_after;
	if (ask->done == NULL) {
		goto out;
	}
	if (reply->problem != NULL) {
		log_debug("%s: renewalInfo: %s", ask->name, reply->message);
	} else if (acme_parse_renewal_info(reply->body, reply->body_len, &info, err, sizeof(err)) <
	           0) {
		log_warn("%s: %s: %s; keeping the usual schedule", ask->name, reply->url, err);
	} else {
		a.ok = true;
		a.when = policy_ari_time(info.start, info.end, a.now, policy_random());
		a.window_start = info.start;
		a.window_end = info.end;
		acme_parse_renewal_info_finish(&info);
	}
	ask->done(&a, ask->arg);
out:
	free(ask->name);
	free(ask);
}

struct ari_ask *
ari_ask(struct acme_client *client, const char *name, const char *cert_id, ari_done_fn done,
        void *arg, bool *absent)
{
	char *url = cert_id != NULL ? acme_client_ari_url(client, cert_id) : NULL;
	struct ari_ask *ask = NULL;

	*absent = url == NULL;
	if (url == NULL) {
		goto out;
	}
	ask = calloc(1, sizeof(*ask));
	if (ask == NULL || (ask->name = strdup(name)) == NULL) {
		free(ask);
		ask = NULL;
		goto out;
	}
	ask->done = done;
	ask->arg = arg;
	if (acme_client_get(client, url, on_reply, ask) < 0) {
		free(ask->name);
		free(ask);
		ask = NULL;
	}
out:
	free(url);
	return ask;
}

void
ari_cancel(struct ari_ask *ask)
{
	if (ask != NULL) {
		ask->done = NULL;
	}
}
