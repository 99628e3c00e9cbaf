/* The strict HTTP/1.x request parser used by nym-directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "http_request.h"

static long parse(const char *s, struct ns_http_request *r)
{
	return ns_http_parse_request(s, strlen(s), r);
}

/* What nym's reqwest-based client sends (gateway.md 4.2: Accept/Content-Type headers). */
static void test_nym_client_request(void **state)
{
	(void)state;
	const char *req = "GET /api/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0&output=bincode HTTP/1.1\r\n"
	                  "accept: application/bincode\r\ncontent-type: application/bincode\r\n"
	                  "host: 127.0.0.1:8000\r\n\r\n";
	struct ns_http_request r;
	assert_int_equal(parse(req, &r), (long)strlen(req));
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/api/v2/unstable/nym-nodes/skimmed/entry-gateways");
	assert_string_equal(r.query, "page=0&output=bincode");
	assert_int_equal(r.version_minor, 1);
	assert_true(r.keep_alive);
	char v[16];
	assert_int_equal(ns_http_query_param(r.query, "output", v, sizeof v), 1);
	assert_string_equal(v, "bincode");
	assert_int_equal(ns_http_query_param(r.query, "page", v, sizeof v), 1);
	assert_string_equal(v, "0");
	assert_int_equal(ns_http_query_param(r.query, "per_page", v, sizeof v), 0);
	assert_int_equal(ns_http_query_param(r.query, "output", v, 4), -1);
	assert_int_equal(ns_http_query_param("a&page&b=1", "page", v, sizeof v), 1);
	assert_string_equal(v, "");
}

static void test_incremental_and_pipelined(void **state)
{
	(void)state;
	const char *two = "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.0\r\n\r\n";
	struct ns_http_request r;
	size_t first = strlen("GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
	for (size_t n = 0; n < first; n++)
		assert_int_equal(ns_http_parse_request(two, n, &r), NS_HTTP_NEED_MORE);
	assert_int_equal(ns_http_parse_request(two, strlen(two), &r), (long)first);
	assert_int_equal(r.content_length, 3);
	assert_int_equal(r.head_len, first - 3);
	assert_int_equal(parse(two + first, &r), (long)strlen(two + first));
	assert_string_equal(r.path, "/b");
	assert_false(r.keep_alive); /* HTTP/1.0 default */
	assert_false(r.has_query);
}

static void test_connection_header(void **state)
{
	(void)state;
	struct ns_http_request r;
	assert_true(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n\r\n", &r) > 0);
	assert_false(r.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0);
	assert_true(r.keep_alive);
	assert_true(parse("GET /x? HTTP/1.1\r\nHost:x\r\nX-Empty:\r\n\r\n", &r) > 0);
	assert_true(r.has_query);
	assert_string_equal(r.query, "");
}

static void expect_err(const char *req, long code)
{
	struct ns_http_request r;
	long rc = parse(req, &r);
	if (rc != code)
		fail_msg("rc %ld, want %ld for: %s", rc, code, req);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_err("GARBAGE\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\n\r\n", NS_HTTP_ERR_BAD); /* no Host */
	expect_err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/2.0\r\nHost: x\r\n\r\n", NS_HTTP_ERR_VERSION);
	expect_err("GET / HTTP/1.2\r\nHost: x\r\n\r\n", NS_HTTP_ERR_VERSION);
	expect_err("GET / HTTP/1.x\r\nHost: x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost : x\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nBad\x01: y\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", NS_HTTP_ERR_BAD);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n", NS_HTTP_ERR_BODY);
	expect_err("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", NS_HTTP_ERR_BODY);
	expect_err("\x16\x03\x01\x02\x00\x01", NS_HTTP_ERR_BAD); /* a TLS ClientHello fails at once */
	expect_err("GET / HTTP/1.1\r\nHost: x\r\n", NS_HTTP_NEED_MORE);
	expect_err("", NS_HTTP_NEED_MORE);
	/* limits */
	static char big[NS_HTTP_MAX_HEAD + 64];
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "GET /", 5);
	expect_err(big, NS_HTTP_ERR_TOO_LARGE);
	char many[NS_HTTP_MAX_HEAD];
	size_t off = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < NS_HTTP_MAX_HEADERS + 1; i++)
		off += (size_t)snprintf(many + off, sizeof many - off, "X-%d: y\r\n", i);
	snprintf(many + off, sizeof many - off, "\r\n");
	expect_err(many, NS_HTTP_ERR_TOO_LARGE);
	char longpath[NS_HTTP_TARGET_MAX + 64];
	memset(longpath, 'p', sizeof longpath);
	memcpy(longpath, "GET /", 5);
	snprintf(longpath + NS_HTTP_TARGET_MAX + 8, 56, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_err(longpath, NS_HTTP_ERR_TOO_LARGE);
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nym_client_request),
		cmocka_unit_test(test_incremental_and_pipelined),
		cmocka_unit_test(test_connection_header),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
