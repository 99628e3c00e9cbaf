/* HTTP(S) GET for netd and `init` through libcurl (OpenSSL flavour), shaped for netd's
 * seccomp filter (docs/sandbox.md):
 *  - the CA certificates are read into memory once (nc_http_init, before the filter) and
 *    given to every transfer as CURLOPT_CAINFO_BLOB: no certificate file or directory is
 *    opened afterwards;
 *  - names are resolved here with getaddrinfo (glibc's files + dns back-ends, which the
 *    filter allows) and handed to curl as CURLOPT_RESOLVE entries, so curl's threaded
 *    resolver never starts a thread (no clone in the filter); IP literals need nothing;
 *  - every curl handle is made before the filter: the blocking path's easy handle (whose
 *    internal multi handle, with its wake-up socketpair, comes with the first transfer,
 *    netd's start-up fetch) and the non-blocking path's easy + multi handles on netd's
 *    libev loop (nc_http_async_init);
 *  - no redirects, no proxies from the environment, http/https only, bounded body and time.
 * The only blocking left on the loop is getaddrinfo for a host name (resolv.conf timeouts). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include "curl_dl.h"
#include "nymclient.h"
#include "safefile.h"

#define NC_HTTP_CONNECT_TIMEOUT_S 10L
#define NC_HTTP_TIMEOUT_S 30L
#define NC_HTTP_MAX_ADDRS 8
#define NC_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

static CURL *g_curl;
static char *g_ca;          /* PEM bundle in memory (NULL: none, https fails verification) */
static size_t g_ca_len;
static char g_ca_name[256];

struct body {
	char *buf;
	size_t len, cap;
	int too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
	struct body *b = user;
	size_t n = size * nmemb;
	if (n > NC_HTTP_MAX_BODY - b->len) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->buf, cap);
		if (!grown)
			return 0;
		b->buf = grown;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = 0;
	return n;
}

static char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = ns_sf_fopen_read(path, 0, NULL, 0); /* a regular file: never a FIFO */
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int bad = !buf || ferror(f) || n > max || n == 0;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int nc_http_init(char *err, size_t errcap)
{
	const char *ca = getenv(NC_CA_FILE_ENV);
	int forced = ca && *ca;
	if (!forced)
		ca = NC_DEFAULT_CA_FILE;
	snprintf(g_ca_name, sizeof g_ca_name, "%s", ca);
	g_ca = read_file(ca, 4u << 20, &g_ca_len);
	if (!g_ca && forced) {
		snprintf(err, errcap, "cannot read the CA file %s (%s)", ca, NC_CA_FILE_ENV);
		return -1;
	}
	if (nc_curl_load(err, errcap) < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(g_curl = curl_easy_init())) {
		snprintf(err, errcap, "libcurl initialisation failed");
		return -1;
	}
	nc_curl_record_pages();
	return 0;
}


static int is_ip_literal(const char *host)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* "host:port:addr,addr" (IPv6 in brackets) for CURLOPT_RESOLVE; "" for an IP literal. */
static int resolve_entry(const char *host, const char *port, char *out, size_t cap, char *err,
                         size_t errcap)
{
	out[0] = 0;
	if (is_ip_literal(host))
		return 0;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errcap, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	size_t at = (size_t)snprintf(out, cap, "%s:%s:", host, port);
	int n = 0;
	for (ai = res; ai && n < NC_HTTP_MAX_ADDRS && at < cap; ai = ai->ai_next) {
		char ip[INET6_ADDRSTRLEN];
		const void *a = ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
		                                         : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    !inet_ntop(ai->ai_family, a, ip, sizeof ip) || (n && strstr(out, ip)))
			continue;
		at += (size_t)snprintf(out + at, cap - at, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
		                       n ? "," : "", ip);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0 || at >= cap) {
		snprintf(err, errcap, "no usable address for %s", host);
		return -1;
	}
	return 0;
}

/* Scheme, host (without brackets) and port of url; http and https only. */
static int split_url(const char *url, char *host, size_t hcap, char *port, size_t pcap, char *err,
                     size_t errcap)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *p = NULL;
	int rc = -1;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		size_t hl = strlen(h);
		if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']')
			snprintf(host, hcap, "%.*s", (int)(hl - 2), h + 1);
		else
			snprintf(host, hcap, "%s", h);
		snprintf(port, pcap, "%s", p);
		rc = strcmp(scheme, "http") && strcmp(scheme, "https") ? -2 : 0;
	}
	if (rc == -1)
		snprintf(err, errcap, "not a URL");
	else if (rc == -2)
		snprintf(err, errcap, "not an http:// or https:// URL");
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc < 0 ? -1 : 0;
}

/* One transfer: its options, lists and collected body. */
struct xfer {
	CURL *easy;
	struct body b;
	struct curl_slist *headers, *resolve;
	char curl_err[CURL_ERROR_SIZE];
	char url[CLIENTCONF_URL_MAX + 128];
};

static void set_options(struct xfer *x)
{
	CURL *c = x->easy;
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect would need a new name */
	curl_easy_setopt(c, CURLOPT_PROXY, "");         /* ignore *_proxy in the environment */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, NC_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NC_HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)NC_HTTP_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_RESOLVE, x->resolve);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "nymsuite-nym-client");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (g_ca) {
		struct curl_blob blob = { .data = g_ca, .len = g_ca_len, .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
}

/* 2xx, a non-empty body, and JSON (or no content type): Nym decodes by Content-Type. */
static int check_response(CURL *c, const struct body *b, char *err, size_t errcap)
{
	long status = 0;
	char *type = NULL;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	if (status < 200 || status > 299) {
		snprintf(err, errcap, "HTTP status %ld", status);
		return -1;
	}
	if (b->len == 0) {
		snprintf(err, errcap, "empty body");
		return -1;
	}
	if (type && strncmp(type, "application/json", 16) != 0 && strstr(type, "bincode")) {
		snprintf(err, errcap, "unexpected content type %s", type);
		return -1;
	}
	return 0;
}

/* The easy handle must not keep pointers to what is freed here. */
static void xfer_release(struct xfer *x)
{
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(x->easy, CURLOPT_RESOLVE, NULL);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->resolve);
	x->headers = x->resolve = NULL;
	free(x->b.buf);
	memset(&x->b, 0, sizeof x->b);
}

static int xfer_prepare(struct xfer *x, const char *url, char *err, size_t errcap)
{
	char host[256], port[16], entry[1024];
	if (!x->easy) {
		snprintf(err, errcap, "HTTP not initialised");
		return -1;
	}
	if (strlen(url) >= sizeof x->url) {
		snprintf(err, errcap, "URL too long");
		return -1;
	}
	if (split_url(url, host, sizeof host, port, sizeof port, err, errcap) < 0 ||
	    resolve_entry(host, port, entry, sizeof entry, err, errcap) < 0)
		return -1;
	snprintf(x->url, sizeof x->url, "%s", url);
	x->curl_err[0] = 0;
	x->headers = curl_slist_append(NULL, "Accept: application/json");
	struct curl_slist *h2 = x->headers ? curl_slist_append(x->headers, "Content-Type: application/json") : NULL;
	x->resolve = entry[0] ? curl_slist_append(NULL, entry) : NULL;
	if (!h2 || (entry[0] && !x->resolve)) {
		snprintf(err, errcap, "out of memory");
		xfer_release(x);
		return -1;
	}
	set_options(x);
	return 0;
}

/* The body (NULL on failure, reason in err); the caller frees it. */
static char *xfer_finish(struct xfer *x, CURLcode rc, size_t *len, char *err, size_t errcap)
{
	int bad = 1;
	if (rc != CURLE_OK) {
		if (x->b.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			snprintf(err, errcap, "body larger than %u bytes", (unsigned)NC_HTTP_MAX_BODY);
		else
			snprintf(err, errcap, "%s", x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc));
	} else {
		bad = check_response(x->easy, &x->b, err, errcap) < 0;
	}
	char *body = bad ? NULL : x->b.buf;
	*len = bad ? 0 : x->b.len;
	if (body)
		x->b.buf = NULL;
	xfer_release(x);
	return body;
}

static struct xfer g_sync;

char *nc_http_get(const char *url, size_t *len, char *err, size_t errcap)
{
	g_sync.easy = g_curl;
	if (xfer_prepare(&g_sync, url, err, errcap) < 0)
		return NULL;
	return xfer_finish(&g_sync, curl_easy_perform(g_curl), len, err, errcap);
}

/* ---- non-blocking transfers on a libev loop (curl's multi socket interface) */

struct sock_watch {
	ev_io io;
	curl_socket_t fd;
	struct sock_watch *next;
};

static struct {
	struct ev_loop *loop;
	CURLM *multi;
	struct xfer x;
	ev_timer timer;
	struct sock_watch *socks;
	int busy;
	nc_http_cb cb;
	void *ctx;
} g_async;

static void drop_watch(struct sock_watch *w)
{
	for (struct sock_watch **p = &g_async.socks; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	ev_io_stop(g_async.loop, &w->io);
	free(w);
}

static void check_done(void);

static void on_socket_event(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	struct sock_watch *w = (struct sock_watch *)io;
	int running, action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
	                      (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(g_async.multi, w->fd, action, &running);
	check_done();
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *user, void *socketp)
{
	(void)e, (void)user;
	struct sock_watch *w = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (w)
			drop_watch(w);
		return 0;
	}
	if (!w) {
		if (!(w = calloc(1, sizeof *w)))
			return -1;
		w->fd = s;
		ev_init(&w->io, on_socket_event);
		w->next = g_async.socks;
		g_async.socks = w;
		curl_multi_assign(g_async.multi, s, w);
	}
	ev_io_stop(g_async.loop, &w->io);
	ev_io_set(&w->io, s, (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(g_async.loop, &w->io);
	return 0;
}

static void on_curl_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop, (void)t, (void)revents;
	int running;
	curl_multi_socket_action(g_async.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int on_curl_timer(CURLM *m, long ms, void *user)
{
	(void)m, (void)user;
	ev_timer_stop(g_async.loop, &g_async.timer);
	if (ms >= 0) {
		ev_timer_set(&g_async.timer, (double)ms / 1000.0, 0.);
		ev_timer_start(g_async.loop, &g_async.timer);
	}
	return 0;
}

static void check_done(void)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(g_async.multi, &left))) {
		if (m->msg != CURLMSG_DONE || m->easy_handle != g_async.x.easy)
			continue;
		CURLcode rc = m->data.result;
		curl_multi_remove_handle(g_async.multi, g_async.x.easy);
		char err[256] = "", url[sizeof g_async.x.url];
		size_t len = 0;
		snprintf(url, sizeof url, "%s", g_async.x.url);
		char *body = xfer_finish(&g_async.x, rc, &len, err, sizeof err);
		g_async.busy = 0;
		g_async.cb(g_async.ctx, url, body, len, err); /* may start the next transfer */
		free(body);
	}
}

int nc_http_async_init(struct ev_loop *loop, char *err, size_t errcap)
{
	g_async.loop = loop;
	g_async.multi = curl_multi_init();
	g_async.x.easy = curl_easy_init();
	if (!g_async.multi || !g_async.x.easy) {
		snprintf(err, errcap, "libcurl multi initialisation failed");
		return -1;
	}
	curl_multi_setopt(g_async.multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(g_async.multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	ev_init(&g_async.timer, on_curl_timeout);
	return 0;
}

int nc_http_get_async(const char *url, nc_http_cb cb, void *ctx, char *err, size_t errcap)
{
	if (g_async.busy) {
		snprintf(err, errcap, "a transfer is running");
		return -1;
	}
	if (!g_async.multi) {
		snprintf(err, errcap, "HTTP not initialised");
		return -1;
	}
	if (xfer_prepare(&g_async.x, url, err, errcap) < 0)
		return -1;
	g_async.cb = cb;
	g_async.ctx = ctx;
	if (curl_multi_add_handle(g_async.multi, g_async.x.easy) != CURLM_OK) {
		xfer_release(&g_async.x);
		snprintf(err, errcap, "cannot start the transfer");
		return -1;
	}
	g_async.busy = 1;
	return 0;
}

static void async_cleanup(void)
{
	if (g_async.multi && g_async.busy)
		curl_multi_remove_handle(g_async.multi, g_async.x.easy);
	if (g_async.x.easy)
		xfer_release(&g_async.x);
	while (g_async.socks)
		drop_watch(g_async.socks);
	if (g_async.loop)
		ev_timer_stop(g_async.loop, &g_async.timer);
	if (g_async.x.easy)
		curl_easy_cleanup(g_async.x.easy);
	if (g_async.multi)
		curl_multi_cleanup(g_async.multi);
	memset(&g_async, 0, sizeof g_async);
}

void nc_http_cleanup(void)
{
	async_cleanup();
	if (g_curl)
		curl_easy_cleanup(g_curl);
	g_curl = NULL;
	free(g_ca);
	g_ca = NULL;
	curl_global_cleanup();
}

const char *nc_http_ca_name(void)
{
	return g_ca ? g_ca_name : "none";
}
