/* acmed status's table: what cmd_status.c prints without --json. For
 * cmd_status.c only. */
#ifndef ACMED_STATUS_TABLE_H
#define ACMED_STATUS_TABLE_H

#include <jansson.h>
#include <stdbool.h>

/* The first lines: the state folder, whose view (the daemon's or the
 * files'), the column titles; w is the CERT column's width. */
void status_table_head(const char *state_dir, bool daemon_view, int w);

/* One certificate's lines from its row c (borrowed; the members
 * acmed(8) lists under JSON OUTPUT, a fleet's "fleet" included). */
void status_table_row(json_t *c, int w);

/* The whole table from an answer's values (borrowed): the head, each row
 * of "certs", a fleet's "nodes". */
void status_table(json_t *answer);

#endif
