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
