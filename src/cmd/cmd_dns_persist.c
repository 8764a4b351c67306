/* acmed dns-persist NAME [--wildcard] [--until DATE]: the one TXT record
 * that lets the CA validate NAME by dns-persist-01
 * (draft-ietf-acme-dns-persist-01) with no DNS change per order: its owner
 * name, its value and a zone-file line. The issuer domain is the first of
 * the CA's (its directory's meta.caaIdentities, else caa-identity: the
 * choice the checks before an order make), the account URI the state folder's
 * account for this CA; nothing is registered, nothing is changed. */
#include "cmd/cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/ident.h"
#include "base/log.h"
#include "challenge/persist.h"
#include "renew/caa_check.h"

struct record {
	char name[IDENT_DNS_MAX + 3]; /* the name validated, without "*." */
	bool wildcard;
	bool has_until;
	int64_t until;
	char issuer[PERSIST_ISSUER_MAX + 1];
	const char *account; /* borrowed from the session */
	char owner[PERSIST_OWNER_MAX];
	char value[PERSIST_VALUE_MAX];
	char zone[PERSIST_ZONE_MAX];
};

/* The name and options, before the CA is asked anything. Returns a CLI
 * exit status. */
static int
read_args(struct cli *cli, struct record *r)
{
	const char *arg = cli->args[0];
	char ace[IDENT_DNS_MAX + 3];
	char why[256];
	char when[32];

	if (ident_type_of(arg) == IDENT_IP) {
		log_error("dns-persist: %s is an IP address: dns-persist-01 validates DNS names "
		          "only",
		          arg);
		return CLI_EXIT_USAGE;
	}
	if (ident_dns_name(arg, ace, sizeof(ace), why, sizeof(why)) < 0) {
		log_error("dns-persist: invalid name '%s': %s", arg, why);
		return CLI_EXIT_USAGE;
	}
	/* Section 5: *.NAME is validated at NAME's record, with
	 * policy=wildcard. */
	r->wildcard = cli->flags[CLI_OPT_WILDCARD] || strncmp(ace, "*.", 2) == 0;
	snprintf(r->name, sizeof(r->name), "%s", strncmp(ace, "*.", 2) == 0 ? ace + 2 : ace);
	if (cli->values[CLI_OPT_UNTIL] != NULL) {
		if (persist_parse_until(cli->values[CLI_OPT_UNTIL], &r->until) < 0) {
			log_error("dns-persist: --until %s: not a date: give YYYY-MM-DD, "
			          "YYYY-MM-DDTHH:MM:SSZ or UNIX seconds",
			          cli->values[CLI_OPT_UNTIL]);
			return CLI_EXIT_USAGE;
		}
		if (r->until <= (int64_t)time(NULL)) {
			log_error("dns-persist: --until %s (%s) has passed: the record would "
			          "authorise nothing",
			          cli->values[CLI_OPT_UNTIL],
			          persist_time_text(r->until, when, sizeof(when)));
			return CLI_EXIT_USAGE;
		}
		r->has_until = true;
	}
	return CLI_EXIT_OK;
}

/* The issuer domain name: the first of the CA's (caa_check_ca_ids: the
 * directory's meta.caaIdentities, else caa-identity). Returns a CLI exit
 * status. */
static int
issuer_of(struct session *s, const struct conf_settings *settings, struct record *r)
{
	const char *from = NULL;
	char why[256];
	size_t n = 0;
	char *const *ids =
	        caa_check_ca_ids(acme_client_directory(s->acme), settings->caa_identities,
	                         settings->n_caa_identities, &n, &from);

	if (n == 0) {
		/* The draft's section 2: the issuer domain names may come from
		 * caaIdentities; a CA that lists none has to be told. */
		log_error("dns-persist: %s names no issuer domain (its directory has no "
		          "meta.caaIdentities): set caa-identity = DOMAIN, the issuer domain the "
		          "CA discloses for dns-persist-01",
		          acme_client_directory_url(s->acme));
		return CLI_EXIT_USAGE;
	}
	if (persist_issuer_normalize(ids[0], r->issuer, sizeof(r->issuer), why, sizeof(why)) < 0) {
		log_error("dns-persist: %s: %s%s: %s", acme_client_directory_url(s->acme), from,
		          strcmp(from, "caa-identity") == 0 ? "" : "[0]", why);
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

/* The state folder's account for this CA, registering none. Returns a CLI
 * exit status. */
static int
account_of(struct session *s, const struct conf_settings *settings, struct record *r)
{
	enum session_result rc = session_account_existing(s, settings);

	/* Only its URL is read: the lock goes at once. */
	session_account_unlock(s);
	if (rc == SESSION_NO_ACCOUNT) {
		log_error("dns-persist: no account for %s under %s: the record names one: create "
		          "it with 'acmed account register --agree-tos'",
		          acme_client_directory_url(s->acme), s->state_dir);
		return CLI_EXIT_USAGE;
	}
	if (rc != SESSION_OK) {
		return cmd_exit(rc);
	}
	if (s->acct.status == ACME_STATUS_DEACTIVATED) {
		log_error("dns-persist: the account %s is deactivated: a record naming it "
		          "authorises nothing",
		          s->acct.url);
		return CLI_EXIT_FAILURE;
	}
	r->account = s->acct.url;
	return CLI_EXIT_OK;
}

static int
build(struct record *r)
{
	struct persist_spec spec = {
	        .issuer = r->issuer,
	        .account_uri = r->account,
	        .wildcard = r->wildcard,
	        .has_until = r->has_until,
	        .until = r->until,
	};
	char why[256];

	if (persist_value(&spec, r->value, sizeof(r->value), why, sizeof(why)) < 0 ||
	    persist_owner_name(r->name, r->owner, sizeof(r->owner)) < 0 ||
	    persist_zone_line(r->owner, r->value, r->zone, sizeof(r->zone)) < 0) {
		log_error("dns-persist: %s: cannot write the record: %s", r->name,
		          why[0] != '\0' ? why : "too long");
		return -1;
	}
	return 0;
}

static void
print_text(json_t *v)
{
	json_t *until = json_object_get(v, "persist_until_text");

	printf("name:  %s\n", json_string_value(json_object_get(v, "owner")));
	printf("type:  TXT\n");
	printf("value: %s\n", json_string_value(json_object_get(v, "value")));
	printf("zone:  %s\n", json_string_value(json_object_get(v, "zone_line")));
	printf("scope: %s%s\n", json_string_value(json_object_get(v, "name")),
	       json_is_true(json_object_get(v, "wildcard")) ? ", its subdomains and wildcards"
	                                                    : " only");
	if (until != NULL) {
		printf("until: %s\n", json_string_value(until));
	}
}

static int
print_record(const struct cli *cli, const struct record *r, const char *directory)
{
	char when[32];
	json_t *v;
	int rc = CLI_EXIT_FAILURE;

	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", r->name, "owner",
	              r->owner, "value", r->value, "zone_line", r->zone, "issuer", r->issuer,
	              "account", r->account, "directory", directory, "wildcard", r->wildcard);
	if (v == NULL) {
		log_error("dns-persist: out of memory");
		goto out;
	}
	if (r->has_until &&
	    (json_object_set_new(v, "persist_until", json_integer((json_int_t)r->until)) < 0 ||
	     json_object_set_new(v, "persist_until_text",
	                         json_string(persist_time_text(r->until, when, sizeof(when)))) <
	             0)) {
		log_error("dns-persist: out of memory");
		goto out;
	}
	rc = cmd_print(cli, v, print_text);
	if (rc == CLI_EXIT_OK && fflush(stdout) != 0) {
		rc = CLI_EXIT_FAILURE;
	}
out:
	json_decref(v);
	return rc;
}

static int
run(struct cli *cli)
{
	struct conf conf;
	struct conf_settings settings;
	struct session s;
	struct record r;
	int rc;

	memset(&conf, 0, sizeof(conf));
	memset(&settings, 0, sizeof(settings));
	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	rc = read_args(cli, &r);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = cmd_session(cli, &conf, &settings, &s);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = issuer_of(&s, &settings, &r);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	rc = account_of(&s, &settings, &r);
	if (rc != CLI_EXIT_OK) {
		goto out;
	}
	if (build(&r) < 0) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	rc = print_record(cli, &r, acme_client_directory_url(s.acme));
out:
	session_finish(&s);
	conf_settings_finish(&settings);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT_CA,    CLI_OPT_CA_FILE,  CLI_OPT_JSON, CLI_OPT_STATE_DIR,
        CLI_OPT_UNTIL, CLI_OPT_WILDCARD, CLI_OPT__MAX,
};

const struct cli_command cmd_dns_persist = {
        .name = "dns-persist",
        .args = "NAME",
        .summary = "Print the TXT record that lets the CA validate NAME by dns-persist-01.",
        .options = options,
        .min_args = 1,
        .max_args = 1,
        .run = run,
};
