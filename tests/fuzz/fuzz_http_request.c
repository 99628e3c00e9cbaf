/* libFuzzer: the HTTP/1.x request parser.
 * Properties: a complete request never claims more bytes than given, no strict prefix of it
 * parses as complete, and its canonical re-serialisation parses to the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct ns_http_request *a, const struct ns_http_request *b)
{
	if (strcmp(a->method, b->method) || strcmp(a->path, b->path) || strcmp(a->query, b->query) ||
	    a->has_query != b->has_query || a->version_minor != b->version_minor ||
	    a->keep_alive != b->keep_alive || a->content_length != b->content_length)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_http_request req;
	long rc = ns_http_parse_request((const char *)data, size, &req);
	if (rc <= 0) {
		if (rc < NS_HTTP_ERR_BODY)
			abort();
		return 0;
	}
	if ((size_t)rc > size || req.head_len > (size_t)rc || req.path[0] != '/' || !req.method[0] ||
	    req.head_len + req.content_length != (size_t)rc)
		abort();
	struct ns_http_request tmp;
	if (ns_http_parse_request((const char *)data, (size_t)rc - 1, &tmp) > 0)
		abort();
	if (ns_http_parse_request((const char *)data, req.head_len - 1, &tmp) > 0)
		abort();

	static char canon[NS_HTTP_MAX_HEAD + NS_HTTP_MAX_BODY];
	int n = snprintf(canon, NS_HTTP_MAX_HEAD, "%s %s%s%s HTTP/1.%d\r\nHost: h\r\nConnection: %s\r\n"
	                 "Content-Length: %zu\r\n\r\n", req.method, req.path, req.has_query ? "?" : "",
	                 req.query, req.version_minor, req.keep_alive ? "keep-alive" : "close",
	                 req.content_length);
	if (n > 0 && n < NS_HTTP_MAX_HEAD) {
		memset(canon + n, 'b', req.content_length);
		struct ns_http_request again;
		long rc2 = ns_http_parse_request(canon, (size_t)n + req.content_length, &again);
		if (rc2 != (long)((size_t)n + req.content_length))
			abort();
		check_same(&req, &again);
	}
	char v[32];
	ns_http_query_param(req.query, "page", v, sizeof v);
	ns_http_query_param(req.query, "output", v, sizeof v);
	return 0;
}
