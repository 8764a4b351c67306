#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "store/store_cert.h"
#include "config.h"

char *
store_default_dir(void)
{
	const char *xdg;
	const char *home;
	const char *systemd = getenv("STATE_DIRECTORY");
	char *ret = NULL;

	/* systemd's StateDirectory= (the service runs as its own user). */
	if (systemd != NULL && systemd[0] == '/' && strchr(systemd, ':') == NULL) {
		ret = strdup(systemd);
		goto out;
	}
	if (geteuid() == 0) {
		ret = strdup(ACMED_STATEDIR);
		goto out;
	}
	/* XDG Base Directory: a relative $XDG_STATE_HOME is to be ignored. */
	xdg = getenv("XDG_STATE_HOME");
	if (xdg != NULL && xdg[0] == '/') {
		ret = file_path(xdg, "acmed", (char *)NULL);
		goto out;
	}
	home = getenv("HOME");
	if (home != NULL && home[0] != '\0') {
		ret = file_path(home, ".local/state/acmed", (char *)NULL);
	}
out:
	return ret;
}

char *
store_default_socket(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *systemd = getenv("RUNTIME_DIRECTORY");
	char *dir;
	char *path;

	/* systemd's RuntimeDirectory= (the service runs as its own user). */
	if (systemd != NULL && systemd[0] == '/' && strchr(systemd, ':') == NULL) {
		return file_path(systemd, "acmed.sock", NULL);
	}
	if (geteuid() == 0) {
		return strdup(ACMED_RUNDIR "/acmed.sock");
	}
	if (xdg != NULL && xdg[0] == '/') {
		return file_path(xdg, "acmed.sock", NULL);
	}
	dir = store_default_dir();
	path = dir != NULL ? file_path(dir, "acmed.sock", NULL) : NULL;
	free(dir);
	return path;
}

#define FLEET_GENERATION_NAME "fleet.generation"

int
store_fleet_generation_read(const char *state_dir, char *out, size_t len)
{
	char *path = file_path(state_dir, FLEET_GENERATION_NAME, NULL);
	size_t n = 0;
	char *text = path != NULL ? file_read(path, 256, &n) : NULL;

	if (len > 0) {
		out[0] = '\0';
	}
	if (text != NULL && len > 0) {
		text[strcspn(text, "\r\n")] = '\0';
		snprintf(out, len, "%s", text);
	}
	free(text);
	free(path);
	return path != NULL ? 0 : -1;
}

int
store_fleet_generation_write(const char *state_dir, const char *generation)
{
	char *path = file_path(state_dir, FLEET_GENERATION_NAME, NULL);
	char line[128];
	int rc = -1;

	snprintf(line, sizeof(line), "%s\n", generation);
	if (path != NULL && file_write_atomic(path, line, strlen(line), 0644) == 0) {
		rc = 0;
	} else {
		log_error("%s: cannot record the fleet store's generation",
		          path != NULL ? path : state_dir);
	}
	free(path);
	return rc;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
store_list_dir(const char *dir, store_list_fn keep, void *arg, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **list = NULL;
	size_t count = 0, cap = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (d == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char *item = NULL;

		if (keep(dirfd(d), de->d_name, de->d_type, arg, &item) < 0) {
			goto out;
		}
		if (item == NULL) {
			continue;
		}
		if (count == cap) {
			char **grown = realloc(list, (cap * 2 + 16) * sizeof(*list));

			if (grown == NULL) {
				free(item);
				errno = ENOMEM;
				goto out;
			}
			list = grown;
			cap = cap * 2 + 16;
		}
		list[count++] = item;
	}
	if (count > 0) {
		qsort(list, count, sizeof(*list), compare_names);
	}
	*out = list;
	*n = count;
	list = NULL;
	rc = 0;
out:
	store_list_free(list, count);
	if (d != NULL) {
		closedir(d);
	}
	return rc;
}

/* Only what store_cert_dir can name: no temp or dot names. */
static int
keep_cert(int dir, const char *name, unsigned char type, void *arg, char **out)
{
	struct stat sb;

	(void)arg;
	*out = NULL;
	/* A stat(2) only where the folder's entry does not tell: 100,000
	 * certificates are listed by every status. */
	if (!store_cert_name_ok(name) || (type != DT_DIR && type != DT_UNKNOWN) ||
	    (type == DT_UNKNOWN &&
	     (fstatat(dir, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)))) {
		return 0;
	}
	*out = strdup(name);
	return *out != NULL ? 0 : -1;
}

int
store_list_certs(const char *state_dir, char ***names, size_t *n)
{
	char *root = file_path(state_dir, "certs", NULL);
	int rc = -1;

	*names = NULL;
	*n = 0;
	if (root != NULL) {
		rc = store_list_dir(root, keep_cert, NULL, names, n);
	}
	free(root);
	return rc;
}

void
store_list_free(char **names, size_t n)
{
	for (size_t i = 0; names != NULL && i < n; i++) {
		free(names[i]);
	}
	free(names);
}
