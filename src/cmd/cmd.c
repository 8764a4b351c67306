#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "io/ctl.h"
#include "store/store.h"

/* The control socket from the configuration, else the default. */
char *
cmd_socket_path(struct cli *cli, struct conf *conf)
{
	struct conf_settings st;
	char *path = NULL;

	if (conf_resolve(conf, NULL, &cli->settings, &st) < 0) {
		return NULL;
	}
	path = st.control_socket != NULL ? strdup(st.control_socket) : store_default_socket();
	conf_settings_finish(&st);
	return path;
}

int
cmd_print_json(json_t *value)
{
	if (value == NULL || json_dumpf(value, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
		return -1;
	}
	return putchar('\n') == EOF ? -1 : 0;
}

json_t *
cmd_status_row_json(const struct status_row *row)
{
	json_t *domains = json_array();

	for (size_t i = 0; domains != NULL && i < row->n_domains; i++) {
		json_array_append_new(domains, json_string(row->domains[i]));
	}
	return json_pack("{s:s, s:o*, s:I, s:I, s:I, s:s*, s:s, s:b}", "cert", row->cert, "domains",
	                 domains, "not_after", (json_int_t)row->not_after, "next",
	                 (json_int_t)row->next, "attempts", (json_int_t)row->attempts, "last_error",
	                 row->last_error, "why", row->why != NULL ? row->why : "", "running",
	                 row->running);
}
