/* Strict HTTP/1.x request-head parser; see http_request.h. */
#include "http_request.h"

#include <string.h>
#include <strings.h>

static int is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII allowed in a request target (no space, controls, DEL, '#', or non-ASCII). */
static int is_target_char(char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

static int is_field_char(char c)
{
	unsigned char u = (unsigned char)c;
	return u == '\t' || (u >= 0x20 && u != 0x7f);
}

/* Position of the first "\r\n\r\n", or -1. */
static long find_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return (long)i;
	return -1;
}

static int parse_request_line(const char *s, size_t n, struct ns_http_request *req)
{
	size_t i = 0;
	while (i < n && is_tchar(s[i]))
		i++;
	if (i == 0 || i >= sizeof req->method || i >= n || s[i] != ' ')
		return NS_HTTP_ERR_BAD;
	memcpy(req->method, s, i);
	req->method[i] = 0;
	size_t t = ++i;
	while (i < n && is_target_char(s[i]))
		i++;
	size_t tlen = i - t;
	if (tlen == 0 || s[t] != '/' || i >= n || s[i] != ' ')
		return NS_HTTP_ERR_BAD;
	if (tlen >= NS_HTTP_TARGET_MAX)
		return NS_HTTP_ERR_TOO_LARGE;
	const char *q = memchr(s + t, '?', tlen);
	size_t plen = q ? (size_t)(q - (s + t)) : tlen;
	memcpy(req->path, s + t, plen);
	req->path[plen] = 0;
	if (q) {
		req->has_query = 1;
		memcpy(req->query, q + 1, tlen - plen - 1);
		req->query[tlen - plen - 1] = 0;
	}
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 6] != '.')
		return NS_HTTP_ERR_BAD;
	if (s[i + 5] < '0' || s[i + 5] > '9' || s[i + 7] < '0' || s[i + 7] > '9')
		return NS_HTTP_ERR_BAD;
	if (s[i + 5] != '1' || (s[i + 7] != '0' && s[i + 7] != '1'))
		return NS_HTTP_ERR_VERSION;
	req->version_minor = s[i + 7] - '0';
	req->keep_alive = req->version_minor == 1;
	return 0;
}

/* Trims optional whitespace around a field value. */
static void trim_ows(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static int parse_content_length(const char *v, size_t n, struct ns_http_request *req, int *seen)
{
	if (n == 0 || n > 10)
		return n == 0 ? NS_HTTP_ERR_BAD : NS_HTTP_ERR_BODY;
	size_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return NS_HTTP_ERR_BAD;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	if (*seen && x != req->content_length)
		return NS_HTTP_ERR_BAD;
	*seen = 1;
	req->content_length = x;
	return x > NS_HTTP_MAX_BODY ? NS_HTTP_ERR_BODY : 0;
}

/* Connection: comma-separated tokens; "close" wins over "keep-alive". */
static void parse_connection(const char *v, size_t n, struct ns_http_request *req, int *closed)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		const char *tok = v + i;
		size_t tn = j - i;
		trim_ows(&tok, &tn);
		if (tn == 5 && strncasecmp(tok, "close", 5) == 0)
			*closed = 1;
		else if (tn == 10 && strncasecmp(tok, "keep-alive", 10) == 0)
			req->keep_alive = 1;
		i = j + 1;
	}
}

static int parse_header_line(const char *s, size_t n, struct ns_http_request *req, int *cl_seen,
                             int *closed)
{
	size_t i = 0;
	while (i < n && is_tchar(s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ':')
		return NS_HTTP_ERR_BAD; /* also rejects obs-fold and space before ':' */
	size_t name_len = i;
	const char *v = s + i + 1;
	size_t vn = n - i - 1;
	for (size_t k = 0; k < vn; k++)
		if (!is_field_char(v[k]))
			return NS_HTTP_ERR_BAD;
	trim_ows(&v, &vn);
	if (name_len == 14 && strncasecmp(s, "Content-Length", 14) == 0)
		return parse_content_length(v, vn, req, cl_seen);
	if (name_len == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0)
		return NS_HTTP_ERR_BAD;
	if (name_len == 4 && strncasecmp(s, "Host", 4) == 0) {
		if (req->has_host)
			return NS_HTTP_ERR_BAD;
		req->has_host = 1;
	}
	if (name_len == 10 && strncasecmp(s, "Connection", 10) == 0)
		parse_connection(v, vn, req, closed);
	return 0;
}

long ns_http_parse_request(const char *buf, size_t len, struct ns_http_request *req)
{
	memset(req, 0, sizeof *req);
	/* a request line is never empty: RFC 9112 allows ignoring one leading CRLF, we don't */
	long end = find_head_end(buf, len < NS_HTTP_MAX_HEAD ? len : NS_HTTP_MAX_HEAD);
	if (end < 0) {
		/* fail early on garbage: anything before the first CR must be a request line */
		for (size_t i = 0; i < len && i < NS_HTTP_MAX_HEAD; i++) {
			if (buf[i] == '\r' || buf[i] == '\n')
				break;
			if (!is_field_char(buf[i]) || buf[i] == '\t')
				return NS_HTTP_ERR_BAD;
		}
		return len >= NS_HTTP_MAX_HEAD ? NS_HTTP_ERR_TOO_LARGE : NS_HTTP_NEED_MORE;
	}
	size_t head_len = (size_t)end + 4;
	const char *line = buf;
	const char *stop = buf + end + 2; /* includes the last header's CRLF */
	int rc = 0, first = 1, cl_seen = 0, closed = 0, headers = 0;
	while (line < stop) {
		const char *cr = memchr(line, '\r', (size_t)(stop - line));
		if (!cr || cr[1] != '\n')
			return NS_HTTP_ERR_BAD;
		size_t n = (size_t)(cr - line);
		if (memchr(line, '\n', n))
			return NS_HTTP_ERR_BAD; /* a bare LF */
		if (first)
			rc = parse_request_line(line, n, req);
		else if (++headers > NS_HTTP_MAX_HEADERS)
			rc = NS_HTTP_ERR_TOO_LARGE;
		else
			rc = parse_header_line(line, n, req, &cl_seen, &closed);
		if (rc < 0)
			return rc;
		first = 0;
		line = cr + 2;
	}
	if (req->version_minor == 1 && !req->has_host)
		return NS_HTTP_ERR_BAD;
	if (closed)
		req->keep_alive = 0;
	req->head_len = head_len;
	if (len - head_len < req->content_length)
		return NS_HTTP_NEED_MORE;
	return (long)(head_len + req->content_length);
}

int ns_http_query_param(const char *query, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = query;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		if (klen == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen = eq ? plen - klen - 1 : 0;
			if (vlen >= cap)
				return -1;
			if (vlen)
				memcpy(out, eq + 1, vlen);
			out[vlen] = 0;
			return 1;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return 0;
}
