#include "io/notify.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
