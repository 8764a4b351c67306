/* Where the state folder and the control socket are by default, and which
 * certificates a state folder holds. */
#ifndef ACMED_STORE_H
#define ACMED_STORE_H

#include <stddef.h>

/* The default state directory: $STATE_DIRECTORY when systemd set it (one
 * folder), else ACMED_STATEDIR for root, else $XDG_STATE_HOME/acmed or
 * ~/.local/state/acmed. New string, or NULL. */
char *store_default_dir(void);

/* The default socket path: $RUNTIME_DIRECTORY/acmed.sock when systemd set
 * it, else ACMED_RUNDIR/acmed.sock for root, else
 * $XDG_RUNTIME_DIR/acmed.sock (or the state folder). New string or NULL. */
char *store_default_socket(void);

/* The certificates of state_dir: the names of the folders under certs/
 * (store_cert_dir: made by any command, configured or not), sorted. Returns 0 with a new
 * array in *names (store_list_free; NULL when there are none), or -1
 * when certs/ cannot be read (errno; none there is 0 and no names). */
int store_list_certs(const char *state_dir, char ***names, size_t *n);
void store_list_free(char **names, size_t n);

/* What store_list_dir keeps of the entry name of the folder open as dir,
 * whose type is type (readdir's d_type: DT_UNKNOWN when the file system
 * does not tell): a new string in *out (listed), or *out NULL (skipped).
 * Returns 0, or -1 (errno) to stop the listing. */
typedef int (*store_list_fn)(int dir, const char *name, unsigned char type, void *arg, char **out);

/* The strings keep makes of the entries of the folder dir, sorted. Returns
 * 0 with a new array in *list (store_list_free; NULL when empty), or -1
 * (errno; a missing folder is 0 and an empty list). */
int store_list_dir(const char *dir, store_list_fn keep, void *arg, char ***list, size_t *n);

/* Fleet mode: <state>/fleet.generation, the store's generation this
 * node's certificates were last compared with (cluster_generation). Read
 * into out ("" when there is none); written atomically. Return 0 or -1
 * (a write logged). */
int store_fleet_generation_read(const char *state_dir, char *out, size_t len);
int store_fleet_generation_write(const char *state_dir, const char *generation);

#endif
