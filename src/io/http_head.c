#include "io/http_head.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "io/listener.h"

bool
http_head_read(struct listener_conn *c, char *buf, size_t cap, size_t *len)
{
	size_t before = *len;

	if (!listener_conn_done(c, listener_conn_recv(c, buf, cap, len))) {
		return false;
	}
	if (http_head_complete(buf, before, *len)) {
		return true;
	}
	if (*len == cap) {
		*len = 0;
		return true;
	}
	return false;
}

bool
http_head_complete(const char *buf, size_t before, size_t len)
{
	/* The empty line can have begun up to three bytes before. */
	size_t from = before > 3 ? before - 3 : 0;

	return memmem(buf + from, len - from, "\r\n\r\n", 4) != NULL ||
	       memmem(buf + from, len - from, "\n\n", 2) != NULL;
}

/* The path of a request-target: absolute-form (RFC 9112 section 3.2.2) is
 * the path after the host. NULL when there is none. */
static const char *
target_path(const char *target, size_t *len)
{
	const char *path = target;

	if (*len > 7 && strncasecmp(target, "http://", 7) == 0) {
		path = memchr(target + 7, '/', *len - 7);
		if (path != NULL) {
			*len -= (size_t)(path - target);
		}
	}
	return path;
}

int
http_head_parse(const char *buf, size_t len, struct http_head_line *r)
{
	const char *end = memchr(buf, '\n', len);
	const char *target;
	const char *version;

	memset(r, 0, sizeof(*r));
	r->line = buf;
	if (end != NULL && end > buf && end[-1] == '\r') {
		end--;
	}
	r->line_len = end != NULL ? (size_t)(end - buf) : 0;
	target = end != NULL ? memchr(buf, ' ', (size_t)(end - buf)) : NULL;
	version = target != NULL ? memchr(target + 1, ' ', (size_t)(end - target - 1)) : NULL;
	if (version == NULL || (size_t)(end - version) < 8 ||
	    strncmp(version + 1, "HTTP/1.", 7) != 0) {
		return -1;
	}
	r->method = buf;
	r->method_len = (size_t)(target - buf);
	target++;
	r->path_len = (size_t)(version - target);
	r->path = target_path(target, &r->path_len);
	if (r->path == NULL) {
		r->path_len = 0;
	}
	return 0;
}

bool
http_head_method_is(const struct http_head_line *r, const char *name)
{
	size_t n = strlen(name);

	return r->method_len == n && strncmp(r->method, name, n) == 0;
}

void
http_head_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	if (len > dstlen - 1) {
		len = dstlen - 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[len] = '\0';
}

bool
http_head_linger(int fd, size_t *dropped, size_t max)
{
	char drop[1024];
	ssize_t n;

	do {
		n = recv(fd, drop, sizeof(drop), 0);
		if (n > 0) {
			*dropped += (size_t)n;
		}
	} while ((n > 0 && *dropped <= max) || (n < 0 && errno == EINTR));
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
