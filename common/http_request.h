/* A strict HTTP/1.x request-head parser for the localnet's small read-only servers
 * (nym-directory). Origin-form targets only, CRLF line ends, no obs-fold, no
 * Transfer-Encoding, at most one Content-Length, Host required for HTTP/1.1. */
#ifndef NS_HTTP_REQUEST_H
#define NS_HTTP_REQUEST_H
#include <stddef.h>

#define NS_HTTP_MAX_HEAD 8192   /* request line + headers + blank line */
#define NS_HTTP_MAX_BODY 65536  /* a larger Content-Length is refused */
#define NS_HTTP_MAX_HEADERS 64
#define NS_HTTP_METHOD_MAX 16
#define NS_HTTP_TARGET_MAX 2048

enum ns_http_err {
	NS_HTTP_NEED_MORE = 0,      /* no complete request yet */
	NS_HTTP_ERR_BAD = -1,       /* malformed: answer 400 */
	NS_HTTP_ERR_TOO_LARGE = -2, /* head over NS_HTTP_MAX_HEAD: answer 431 */
	NS_HTTP_ERR_VERSION = -3,   /* not HTTP/1.0 or 1.1: answer 505 */
	NS_HTTP_ERR_BODY = -4,      /* Content-Length over NS_HTTP_MAX_BODY: answer 413 */
};

struct ns_http_request {
	char method[NS_HTTP_METHOD_MAX]; /* token, case-sensitive */
	char path[NS_HTTP_TARGET_MAX];   /* target up to '?', starts with '/' */
	char query[NS_HTTP_TARGET_MAX];  /* after '?', "" if none */
	int has_query;                   /* a '?' was present */
	int version_minor;               /* 0 or 1 */
	int keep_alive;                  /* from version and Connection */
	size_t head_len;                 /* bytes of the head, blank line included */
	size_t content_length;
	int has_host;
};

/* Parses the request at the start of buf. Returns the bytes the whole request takes
 * (head + body) when complete, NS_HTTP_NEED_MORE, or a negative ns_http_err. */
long ns_http_parse_request(const char *buf, size_t len, struct ns_http_request *req);

/* Looks up name in an application/x-www-form-urlencoded query (no decoding beyond exact
 * byte comparison; values are raw). Returns 1 and copies the value when found, 0 when
 * absent, -1 when the value does not fit. */
int ns_http_query_param(const char *query, const char *name, char *out, size_t cap);

#endif
