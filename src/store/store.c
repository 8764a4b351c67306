#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
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
