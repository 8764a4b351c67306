#include "io/http.h"
#include "io/http_test.h"

#include "base/buf.h"
#include "base/file.h"
#include "base/list.h"
#include "base/log.h"
#include "config.h"
#include "io/http_multi.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_USER_AGENT "acmed/" ACMED_VERSION
#define HTTP_LOW_SPEED_LIMIT 16L /* bytes per second */
#define HTTP_MAX_HEADER_VALUE 4096 /* longer header values are ignored */
#define HTTP_MAX_URL 2048
#define HTTP_DEFAULT_CONNECT_MS 10000L
#define HTTP_DEFAULT_TOTAL_MS 60000L
#define HTTP_DEFAULT_LOW_SPEED_S 20L

/* One request in flight. */
struct http_xfer {
	struct http *http;
	struct list_node node; /* in http->xfers */
	struct list_node wait_node; /* in http->waiting until started */
	bool started;
	CURL *easy;
	struct curl_slist *headers;
	http_done_fn done;
	void *arg;
	char *url;
	const char *method;
	char *body; /* capped at max_body + 1 (the NUL) */
	size_t body_len;
	size_t body_cap;
	bool too_big;
	bool headers_done; /* blank line seen: what follows are trailers */
	char *content_type;
	char *location;
	char *replay_nonce;
	char *retry_after;
	bool keep_links; /* HTTP_KEEP_LINKS */
	struct buf links;
	char errbuf[CURL_ERROR_SIZE];
	char error[CURL_ERROR_SIZE + 64];
};

struct http {
	struct ev_loop *loop;
	struct http_multi m;
	struct http_options opts;
	struct list xfers;
	size_t pending;
	size_t active; /* in the multi handle */
	struct list waiting; /* requests not started yet, oldest first */
	struct http_stats stats;
	/* Completion callbacks may destroy the client: while they run, the
	 * struct itself outlives http_destroy and is freed on the way out. */
	unsigned int busy;
	bool dead;
};

static bool http_curl_ready;

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Whether url is an absolute URL of scheme ("https://", "http://") with a
 * host and no whitespace or control characters; the host (without port
 * or brackets) into host (hostlen bytes). */
static bool
url_ok(const char *url, const char *scheme, char *host_out, size_t hostlen)
{
	size_t slen = strlen(scheme);
	const char *host;
	const char *end;
	const char *p;
	size_t len;
	bool ok = false;

	if (url == NULL) {
		goto out;
	}
	len = strnlen(url, HTTP_MAX_URL + 1);
	if (len > HTTP_MAX_URL || len < slen || strncasecmp(url, scheme, slen) != 0) {
		goto out;
	}
	/* Printable ASCII only: RFC 3986 has no raw spaces, controls or
	 * 8-bit bytes, and '\\' is read as '/' by some parsers but not others. */
	for (p = url; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (is_ctl(c) || c == ' ' || c >= 0x80 || c == '\\') {
			goto out;
		}
	}
	host = url + slen;
	end = host + strcspn(host, "/?#");
	/* userinfo@host:port: the host is what follows the last '@'. */
	for (p = host; p < end; p++) {
		if (*p == '@') {
			host = p + 1;
		}
	}
	if (host < end && *host == '[') {
		p = memchr(host, ']', (size_t)(end - host));
		if (p == NULL || p == host + 1) {
			goto out;
		}
		ok = p + 1 == end || p[1] == ':';
		snprintf(host_out, hostlen, "%.*s", (int)(p - host - 1), host + 1);
		goto out;
	}
	p = memchr(host, ':', (size_t)(end - host));
	if (p != NULL) {
		end = p;
	}
	ok = end > host;
	snprintf(host_out, hostlen, "%.*s", (int)(end - host), host);
out:
	return ok;
}

bool
http_url_ok(const char *url)
{
	char host[256];

	return url_ok(url, "https://", host, sizeof(host));
}

bool
http_url_loopback(const char *url)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[256];

	if (!url_ok(url, "http://", host, sizeof(host))) {
		return false;
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		return addr[0] == 127;
	}
	return inet_pton(AF_INET6, host, addr) == 1 &&
	       memcmp(addr, &in6addr_loopback, sizeof(struct in6_addr)) == 0;
}

/* Header values: trimmed, at most HTTP_MAX_HEADER_VALUE bytes and no control
 * characters inside, else the header is ignored (NULL). */
static char *
header_value(const char *v, size_t n)
{
	char *copy = NULL;
	size_t i;

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 &&
	       (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n')) {
		n--;
	}
	if (n > HTTP_MAX_HEADER_VALUE) {
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (is_ctl((unsigned char)v[i]) && v[i] != '\t') {
			goto out;
		}
	}
	copy = malloc(n + 1);
	if (copy == NULL) {
		goto out;
	}
	memcpy(copy, v, n);
	copy[n] = '\0';
out:
	return copy;
}

static void
xfer_reset_response(struct http_xfer *x)
{
	free(x->content_type);
	free(x->location);
	free(x->replay_nonce);
	free(x->retry_after);
	x->content_type = NULL;
	x->location = NULL;
	x->replay_nonce = NULL;
	x->retry_after = NULL;
	buf_finish(&x->links);
	buf_init(&x->links, HTTP_MAX_LINKS);
	x->body_len = 0;
	x->headers_done = false;
}

/* Appends one Link value to the others, ", " between them: what does not
 * fit in HTTP_MAX_LINKS (or is not a valid value) is dropped, the links
 * before it stay. */
static void
keep_link(struct http_xfer *x, const char *v, size_t n)
{
	char *value = header_value(v, n);
	size_t len;

	if (value == NULL) {
		goto out;
	}
	len = strlen(value);
	if (len == 0 || x->links.len + len + 2 >= HTTP_MAX_LINKS) {
		goto out;
	}
	if (x->links.len > 0) {
		buf_add(&x->links, ", ", 2);
	}
	buf_add(&x->links, value, len);
out:
	free(value);
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
	        {"content-type", offsetof(struct http_xfer, content_type)},
	        {"location", offsetof(struct http_xfer, location)},
	        {"replay-nonce", offsetof(struct http_xfer, replay_nonce)},
	        {"retry-after", offsetof(struct http_xfer, retry_after)},
	};
	struct http_xfer *x = userp;
	size_t n = size * nitems;
	const char *colon;
	size_t name_len;
	size_t i;

	/* A status line starts a new response (after 1xx, or a retry on a new
	 * connection): nothing from the previous one may leak into this one. */
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		xfer_reset_response(x);
		goto out;
	}
	if (n == 0 || buf[0] == '\r' || buf[0] == '\n') {
		x->headers_done = true;
		goto out;
	}
	/* Trailers and obsolete line folding are not ours to interpret. */
	if (x->headers_done || buf[0] == ' ' || buf[0] == '\t') {
		goto out;
	}
	colon = memchr(buf, ':', n);
	if (colon == NULL) {
		goto out;
	}
	name_len = (size_t)(colon - buf);
	if (x->keep_links && name_len == 4 && strncasecmp(buf, "link", 4) == 0) {
		keep_link(x, colon + 1, n - name_len - 1);
		goto out;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char **slot = (char **)(void *)((char *)x + fields[i].offset);

		if (strlen(fields[i].name) != name_len ||
		    strncasecmp(buf, fields[i].name, name_len) != 0) {
			continue;
		}
		/* The first one wins: a repeated header cannot make us
		 * allocate more. */
		if (*slot == NULL) {
			*slot = header_value(colon + 1, n - name_len - 1);
		}
		break;
	}
out:
	return n;
}

static size_t
write_cb(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct http_xfer *x = userp;
	size_t max = x->http->opts.max_body;
	size_t n = size * nmemb;
	size_t ret = 0;

	/* Counted as it arrives, whatever Content-Length promised. */
	if (n > max - x->body_len) {
		x->too_big = true;
		goto out;
	}
	if (x->body_len + n + 1 > x->body_cap) {
		size_t cap = x->body_cap < 4096 ? 4096 : x->body_cap * 2;
		char *p;

		if (cap < x->body_len + n + 1) {
			cap = x->body_len + n + 1;
		}
		if (cap > max + 1) {
			cap = max + 1;
		}
		p = realloc(x->body, cap);
		if (p == NULL) {
			goto out;
		}
		x->body = p;
		x->body_cap = cap;
	}
	memcpy(x->body + x->body_len, buf, n);
	x->body_len += n;
	x->body[x->body_len] = '\0';
	ret = n;
out:
	return ret;
}

static void
xfer_free(struct http_xfer *x)
{
	if (x != NULL) {
		if (x->easy != NULL) {
			curl_easy_cleanup(x->easy);
		}
		curl_slist_free_all(x->headers);
		xfer_reset_response(x);
		free(x->body);
		free(x->url);
		free(x);
	}
}

static void
xfer_unlink(struct http_xfer *x)
{
	list_unlink(&x->node);
	list_unlink(&x->wait_node);
	x->http->pending--;
}

static void xfer_finish(struct http_xfer *x, CURLcode result);

/* Hands waiting requests to curl while fewer than HTTP_MAX_ACTIVE run. A
 * CA is one host and HTTP/2 multiplexes up to 100 streams on a connection:
 * staying under that keeps every request on one connection, where a burst
 * past it would make curl open a connection per extra request. Waiting
 * requests are not yet subject to the transfer timeouts. */
static void
start_waiting(struct http *http)
{
	while (!list_empty(&http->waiting) && http->active < HTTP_MAX_ACTIVE && !http->dead) {
		struct http_xfer *x =
		        list_entry(list_first(&http->waiting), struct http_xfer, wait_node);
		CURLMcode rc;

		list_unlink(&x->wait_node);
		rc = curl_multi_add_handle(http->m.multi, x->easy);
		x->started = true;
		http->active++;
		if (rc != CURLM_OK) {
			snprintf(x->errbuf, sizeof(x->errbuf), "curl_multi_add_handle: %s",
			         curl_multi_strerror(rc));
			xfer_finish(x, CURLE_FAILED_INIT);
		}
	}
}

static void
xfer_finish(struct http_xfer *x, CURLcode result)
{
	struct http *http = x->http;
	struct http_response resp;
	long connects = 0;

	memset(&resp, 0, sizeof(resp));
	resp.url = x->url;
	if (result == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	} else if (x->too_big || result == CURLE_FILESIZE_EXCEEDED) {
		snprintf(x->error, sizeof(x->error), "response body larger than %zu bytes",
		         http->opts.max_body);
	} else if (x->errbuf[0] != '\0') {
		snprintf(x->error, sizeof(x->error), "%s", x->errbuf);
	} else {
		snprintf(x->error, sizeof(x->error), "%s", curl_easy_strerror(result));
	}
	if (resp.status == 0) {
		resp.error = x->error[0] != '\0' ? x->error : curl_easy_strerror(result);
	}
	resp.body = x->body != NULL ? x->body : "";
	resp.body_len = x->body != NULL ? x->body_len : 0;
	resp.content_type = x->content_type;
	resp.location = x->location;
	resp.replay_nonce = x->replay_nonce;
	resp.retry_after = x->retry_after;
	if (x->links.len > 0 && !x->links.failed) {
		resp.links = x->links.data;
	}

	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
	if (connects > 0) {
		http->stats.connections += (unsigned long)connects;
	}
	http->stats.requests++;

	/* Out of the multi before the callback, which may start requests or
	 * destroy the client. */
	curl_multi_remove_handle(http->m.multi, x->easy);
	xfer_unlink(x);
	http->active--;
	start_waiting(http);
	if (resp.status != 0) {
		log_debug("http: %s %s: %ld, %zu bytes", x->method, x->url, resp.status,
		          resp.body_len);
	} else {
		log_debug("http: %s %s: %s", x->method, x->url, resp.error);
	}
	x->done(&resp, x->arg);
	xfer_free(x);
}

static void
teardown(struct http *http)
{
	while (!list_empty(&http->xfers)) {
		struct http_xfer *x = list_entry(list_first(&http->xfers), struct http_xfer, node);

		if (x->started) {
			curl_multi_remove_handle(http->m.multi, x->easy);
		}
		xfer_unlink(x);
		xfer_free(x);
	}
	http->active = 0;
	http_multi_finish(&http->m);
}

/* After each action of the multi handle: the transfers that ended. */
static void
check_multi_info(void *arg)
{
	struct http *http = arg;
	CURLMsg *msg;
	int left;

	http->busy++;
	while (!http->dead) {
		char *priv = NULL;

		msg = curl_multi_info_read(http->m.multi, &left);
		if (msg == NULL) {
			break;
		}
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		xfer_finish((struct http_xfer *)(void *)priv, msg->data.result);
	}
	http->busy--;
	if (http->dead && http->busy == 0) {
		free(http);
	}
}

/* A CA bundle larger than this is no bundle (the system's is 0.2 MB). */
#define HTTP_CA_FILE_MAX (16L * 1024 * 1024)

int
http_ca_file_check(const char *path, char *why, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char fix[] = "set ca-file (--ca-file) to the PEM file of the CA's root "
	                          "certificate";
	size_t n = 0;
	char *pem = file_read(path, HTTP_CA_FILE_MAX, &n);

	if (pem == NULL) {
		snprintf(why, len, "ca-file %s: cannot read it: %s: %s", path,
		         errno == EFBIG ? "larger than 16 MB" : strerror(errno), fix);
		return -1;
	}
	if (memmem(pem, n, begin, sizeof(begin) - 1) == NULL) {
		free(pem);
		snprintf(why, len, "ca-file %s: no PEM certificate in it (%s): %s", path, begin,
		         fix);
		return -1;
	}
	free(pem);
	return 0;
}

struct http *
http_create(struct ev_loop *loop, const struct http_options *opts)
{
	struct http *http = NULL;
	struct http *ret = NULL;
	CURLcode cc;
	char why[PATH_MAX + 256];

	if (opts != NULL && opts->ca_file != NULL &&
	    http_ca_file_check(opts->ca_file, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return NULL;
	}
	if (!http_curl_ready) {
		cc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (cc != CURLE_OK) {
			log_error("http: curl_global_init: %s", curl_easy_strerror(cc));
			goto out;
		}
		http_curl_ready = true;
	}
	http = calloc(1, sizeof(*http));
	if (http == NULL) {
		log_error("http: out of memory");
		goto out;
	}
	http->loop = loop;
	if (opts != NULL) {
		http->opts = *opts;
	}
	if (http->opts.connect_timeout_ms <= 0) {
		http->opts.connect_timeout_ms = HTTP_DEFAULT_CONNECT_MS;
	}
	if (http->opts.total_timeout_ms <= 0) {
		http->opts.total_timeout_ms = HTTP_DEFAULT_TOTAL_MS;
	}
	if (http->opts.low_speed_time_s <= 0) {
		http->opts.low_speed_time_s = HTTP_DEFAULT_LOW_SPEED_S;
	}
	if (http->opts.max_body == 0) {
		http->opts.max_body = HTTP_MAX_BODY;
	}
	/* Keeps the buffer arithmetic in write_cb clear of overflow. */
	if (http->opts.max_body > SIZE_MAX / 2) {
		http->opts.max_body = SIZE_MAX / 2;
	}
	list_init(&http->xfers);
	list_init(&http->waiting);
	if (http_multi_init(&http->m, loop, check_multi_info, http) < 0) {
		goto out;
	}
	ret = http;
	http = NULL;
out:
	http_destroy(http);
	return ret;
}

void
http_destroy(struct http *http)
{
	if (http != NULL && !http->dead) {
		teardown(http);
		http->dead = true;
		if (http->busy == 0) {
			free(http);
		}
	}
}

static int
xfer_setup(struct http_xfer *x, const char *content_type, const char *body, size_t len)
{
	const struct http_options *o = &x->http->opts;
	CURL *e = x->easy;
	CURLcode cc = CURLE_OK;
	char line[HTTP_MAX_HEADER_VALUE + 32];
	struct curl_slist *l;
	int ret = -1;

/* Every option must take; the first that does not ends the setup. */
#define SET(opt, val)                                                                 \
	do {                                                                          \
		cc = curl_easy_setopt(e, opt, val);                                   \
		if (cc != CURLE_OK) {                                                 \
			log_error("http: %s: curl_easy_setopt(%s): %s", x->url, #opt, \
			          curl_easy_strerror(cc));                            \
			goto out;                                                     \
		}                                                                     \
	} while (0)

	SET(CURLOPT_URL, x->url);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	/* Plain http only where the client allows it, to loopback (checked
	 * in http_request_with); redirects are not followed either way. */
	SET(CURLOPT_PROTOCOLS_STR, o->loopback_http ? "http,https" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
	SET(CURLOPT_LOW_SPEED_LIMIT, HTTP_LOW_SPEED_LIMIT);
	SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SET(CURLOPT_PIPEWAIT, 1L);
	SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
	/* Fails early on a Content-Length above the cap; write_cb enforces it
	 * on what actually arrives. No CURLOPT_ACCEPT_ENCODING: a compressed
	 * body could inflate far past the cap. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	if (o->ca_file != NULL) {
		SET(CURLOPT_CAINFO, o->ca_file);
	}
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);

	if (strcmp(x->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(x->method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		SET(CURLOPT_COPYPOSTFIELDS, body != NULL ? body : "");
		/* An empty value removes curl's form-urlencoded default. */
		snprintf(line, sizeof(line), "Content-Type: %s",
		         content_type != NULL ? content_type : "");
		l = curl_slist_append(x->headers, line);
		if (l == NULL) {
			goto out;
		}
		x->headers = l;
		/* Small JWS bodies: no round trip waiting for 100 Continue. */
		l = curl_slist_append(x->headers, "Expect:");
		if (l == NULL) {
			goto out;
		}
		x->headers = l;
		SET(CURLOPT_HTTPHEADER, x->headers);
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
#undef SET
	ret = 0;
out:
	return ret;
}

static bool
content_type_ok(const char *s)
{
	bool ok = false;
	size_t n;

	if (s == NULL) {
		ok = true;
		goto out;
	}
	n = strnlen(s, HTTP_MAX_HEADER_VALUE + 1);
	if (n > HTTP_MAX_HEADER_VALUE) {
		goto out;
	}
	for (; *s != '\0'; s++) {
		if (is_ctl((unsigned char)*s)) {
			goto out;
		}
	}
	ok = true;
out:
	return ok;
}

int
http_request(struct http *http, const char *method, const char *url, const char *content_type,
             const char *body, size_t len, http_done_fn done, void *arg)
{
	return http_request_with(http, 0, method, url, content_type, body, len, done, arg);
}

int
http_request_with(struct http *http, unsigned flags, const char *method, const char *url,
                  const char *content_type, const char *body, size_t len, http_done_fn done,
                  void *arg)
{
	static const char *const methods[] = {"GET", "HEAD", "POST"};
	struct http_xfer *x = NULL;
	CURLMcode rc;
	size_t i;
	int ret = -1;

	if (http == NULL || http->dead || method == NULL || done == NULL) {
		log_error("http: request: invalid arguments");
		goto out;
	}
	if (!http_url_ok(url) && !(http->opts.loopback_http && http_url_loopback(url))) {
		log_error("http: %s: not an https URL", url != NULL ? url : "(null)");
		goto out;
	}
	if (!content_type_ok(content_type)) {
		log_error("http: %s: invalid content type", url);
		goto out;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		log_error("http: out of memory");
		goto out;
	}
	x->http = http;
	list_node_init(&x->node);
	list_node_init(&x->wait_node);
	x->done = done;
	x->arg = arg;
	x->keep_links = (flags & HTTP_KEEP_LINKS) != 0;
	buf_init(&x->links, HTTP_MAX_LINKS);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(method, methods[i]) == 0) {
			x->method = methods[i];
		}
	}
	if (x->method == NULL) {
		log_error("http: %s: unsupported method %s", url, method);
		goto out;
	}
	x->url = strdup(url);
	x->easy = curl_easy_init();
	if (x->url == NULL || x->easy == NULL) {
		log_error("http: %s: out of memory", url);
		goto out;
	}
	if (xfer_setup(x, content_type, body, len) < 0) {
		goto out;
	}
	/* Started at once when there is room: curl_multi_add_handle only
	 * schedules (curl asks for a zero timeout, which multi_timer_cb hands
	 * to the loop), so done is never called from here. */
	if (http->active < HTTP_MAX_ACTIVE && list_empty(&http->waiting)) {
		rc = curl_multi_add_handle(http->m.multi, x->easy);
		if (rc != CURLM_OK) {
			log_error("http: %s: curl_multi_add_handle: %s", url,
			          curl_multi_strerror(rc));
			goto out;
		}
		x->started = true;
		http->active++;
	} else {
		list_append(&http->waiting, &x->wait_node);
	}
	list_push(&http->xfers, &x->node);
	http->pending++;
	x = NULL;
	ret = 0;
out:
	xfer_free(x);
	return ret;
}

struct ev_loop *
http_loop(const struct http *http)
{
	return http->loop;
}

size_t
http_pending(const struct http *http)
{
	return http != NULL ? http->pending : 0;
}

void
http_get_stats(const struct http *http, struct http_stats *stats)
{
	if (stats != NULL) {
		memset(stats, 0, sizeof(*stats));
		if (http != NULL) {
			*stats = http->stats;
		}
	}
}
