/* acmed status's table (cmd_status.c): the lines of each row, read from
 * its JSON values, and a fleet's nodes. */
#include "cmd/status_table.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void
format_time(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* A heartbeat's time, to the second (one comes every 10 s). */
static void
format_seconds(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Fleet mode: the shared record's version, who ordered it, who holds its
 * lease now. */
static void
print_fleet_row(json_t *fleet, int w)
{
	json_int_t version = 0;
	const char *by = "";
	const char *lease = "";

	if (fleet == NULL || json_unpack(fleet, "{s:I, s:s, s:s}", "version", &version,
	                                 "ordered_by", &by, "lease", &lease) != 0) {
		return;
	}
	if (version == 0) {
		printf("%-*s fleet: nothing installed yet", w, "");
	} else {
		printf("%-*s fleet: version %lld, ordered by %s", w, "", (long long)version, by);
	}
	if (lease[0] != '\0') {
		printf("; %s is ordering it now", lease);
	}
	printf("\n");
}

static void
print_nodes(json_t *nodes)
{
	json_t *n;
	size_t i;

	if (nodes == NULL) {
		return;
	}
	printf("\n%-20s %-20s %-8s %s\n", "NODE", "LAST CONTACT (UTC)", "ORDERS", "ALIVE");
	json_array_foreach(nodes, i, n)
	{
		const char *name = "";
		json_int_t seen = 0, running = 0;
		int alive = 0;
		char when[32];

		json_unpack(n, "{s:s, s:I, s:I, s:b}", "node", &name, "seen", &seen, "running",
		            &running, "alive", &alive);
		format_seconds(seen, when, sizeof(when));
		printf("%-20s %-20s %-8lld %s\n", name, when, (long long)running,
		       alive ? "yes" : "no (no heartbeat for 30 s)");
	}
}

/* "/var/lib/acmed/certs/www/{cert,chain,fullchain,privkey}.pem" from the
 * row's paths: where its files are, or will be once it is issued. */
static void
print_files(json_t *row, int w)
{
	const char *cert =
	        json_string_value(json_object_get(json_object_get(row, "paths"), "cert"));
	const char *slash = cert != NULL ? strrchr(cert, '/') : NULL;
	bool installed = json_is_true(json_object_get(row, "installed"));

	if (slash != NULL) {
		printf("%-*s files%s: %.*s/{cert,chain,fullchain,privkey}.pem\n", w, "",
		       installed ? "" : " (once issued)", (int)(slash - cert), cert);
	}
}

/* The first lines: the folder, whose view, the columns. */
void
status_table_head(const char *state_dir, bool daemon_view, int w)
{
	printf("state folder: %s (%s)\n", state_dir != NULL ? state_dir : "?",
	       daemon_view ? "the running daemon's view" : "read from the files");
	printf("%-*s %-12s %5s %-17s %-17s %s\n", w, "CERT", "STATE", "DAYS", "NOT AFTER (UTC)",
	       "NEXT RENEWAL", "NAMES");
}

/* One certificate's lines of the table. */
void
status_table_row(json_t *c, int w)
{
	const char *name = "", *state = "", *key_type = NULL, *issuer = NULL;
	const char *error = NULL, *why = NULL, *problem = NULL, *ca = NULL, *fallback = NULL,
	           *warning = NULL;
	json_int_t not_after = 0, next = 0, attempts = 0;
	json_t *domains = NULL, *days = NULL, *d;
	char na[32], nx[32], dl[16], st[32];
	size_t k;

	json_unpack(c, "{s:s, s?o, s?I, s?I, s?I, s?s, s?s, s?s, s?o}", "cert", &name, "domains",
	            &domains, "not_after", &not_after, "next", &next, "attempts", &attempts,
	            "last_error", &error, "why", &why, "state", &state, "days_left", &days);
	/* null when unknown: each on its own. */
	key_type = json_string_value(json_object_get(c, "key_type"));
	issuer = json_string_value(json_object_get(c, "issuer"));
	problem = json_string_value(json_object_get(c, "problem"));
	ca = json_string_value(json_object_get(c, "ca"));
	fallback = json_string_value(json_object_get(c, "ca_fallback"));
	warning = json_string_value(json_object_get(c, "warning"));
	format_time(not_after, na, sizeof(na));
	format_time(next, nx, sizeof(nx));
	snprintf(dl, sizeof(dl), "%s", "-");
	if (json_is_integer(days)) {
		snprintf(dl, sizeof(dl), "%lld", (long long)json_integer_value(days));
	}
	/* A job for it queued or on its way (the daemon's, or a command's
	 * that holds its lock) says so, not what the files say it is owed. */
	if (json_is_true(json_object_get(c, "running"))) {
		state = "running";
	}
	snprintf(st, sizeof(st), "%s", state);
	if (attempts > 0) {
		snprintf(st, sizeof(st), "%s (%lld)", state, (long long)attempts);
	}
	printf("%-*s %-12s %5s %-17s %-17s", w, name, st, dl, na, nx);
	json_array_foreach(domains, k, d)
	{
		printf(" %s", json_string_value(d));
	}
	printf("\n");
	if (key_type != NULL || issuer != NULL) {
		printf("%-*s key %s, issued by %s\n", w, "", key_type != NULL ? key_type : "?",
		       issuer != NULL ? issuer : "?");
	}
	if (ca != NULL) {
		printf("%-*s from %s%s%s%s\n", w, "", ca, fallback != NULL ? " (failover: " : "",
		       fallback != NULL ? fallback : "", fallback != NULL ? ")" : "");
	}
	print_files(c, w);
	if (problem != NULL) {
		printf("%-*s problem: %s\n", w, "", problem);
	}
	if (warning != NULL) {
		printf("%-*s warning: %s\n", w, "", warning);
	}
	if (error != NULL && error[0] != '\0') {
		printf("%-*s last error: %s\n", w, "", error);
	}
	/* Why it is due or held, unless it is simply valid. */
	if (why != NULL && why[0] != '\0' && strncmp(why, "valid until", 11) != 0) {
		printf("%-*s %s\n", w, "", why);
	}
	print_fleet_row(json_object_get(c, "fleet"), w);
}

/* The table from the answer's values (a fleet's, its view added). */
void
status_table(json_t *answer)
{
	json_t *certs = json_object_get(answer, "certs");
	json_t *c;
	size_t i;
	int w = 20;

	json_array_foreach(certs, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "cert"));

		if (name != NULL && (int)strlen(name) > w) {
			w = strlen(name) < 256 ? (int)strlen(name) : 256;
		}
	}
	status_table_head(json_string_value(json_object_get(answer, "state_dir")),
	                  json_is_true(json_object_get(answer, "daemon")) &&
	                          json_is_true(json_object_get(answer, "ready")),
	                  w);
	json_array_foreach(certs, i, c)
	{
		status_table_row(c, w);
	}
	print_nodes(json_object_get(answer, "nodes"));
}
