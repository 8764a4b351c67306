#include "io/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

int
notify_send(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t addr_len;
	char msg[512];
	va_list ap;
	size_t n;
	int fd;
	int rc = -1;

	if (path == NULL || (path[0] != '/' && path[0] != '@')) {
		return 0;
	}
	n = strlen(path);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (n >= sizeof(addr.sun_path)) {
		return -1;
	}
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@') {
		/* An abstract socket: the name starts with a NUL. */
		addr.sun_path[0] = '\0';
	}
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) >= 0) {
		rc = 0;
	}
	close(fd);
	return rc;
}

/* A whole decimal number, digits only (strtoull alone takes a sign and
 * leading spaces). Returns 0, or -1 when s is anything else or too large
 * for *out. */
static int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end = NULL;
	int rc = -1;

	if (s[0] < '0' || s[0] > '9') {
		goto out;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max) {
		goto out;
	}
	*out = v;
	rc = 0;
out:
	return rc;
}

int
notify_watchdog_usec(uint64_t *usec)
{
	const char *us = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long u = 0;
	unsigned long long p = 0;
	int rc = 0;

	if (us == NULL) {
		goto out;
	}
	/* systemd never asks for a beat every 0 microseconds: a 0 is as
	 * broken as garbage. */
	if (parse_u64(us, UINT64_MAX, &u) < 0 || u == 0) {
		log_warn("WATCHDOG_USEC=%.32s: not a positive number of microseconds; no watchdog",
		         us);
		rc = -1;
		goto out;
	}
	if (pid != NULL && (parse_u64(pid, INT32_MAX, &p) < 0 || p == 0)) {
		log_warn("WATCHDOG_PID=%.32s: not a process ID; no watchdog", pid);
		rc = -1;
		goto out;
	}
	/* The variables are inherited: a hook run by the daemon sees them
	 * too, and is not the process systemd watches. */
	if (pid != NULL && (pid_t)p != getpid()) {
		goto out;
	}
	*usec = u;
	rc = 1;
out:
	return rc;
}
