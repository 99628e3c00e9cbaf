/* The local proxy request parser: SOCKS5, SOCKS4, SOCKS4a, HTTP CONNECT, each fed whole, byte
 * by byte and split at every boundary; every refusal class; the reply bytes; Nym's address
 * text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proxy/socks_proto.h"

struct outcome {
	enum ns_socks_status status;
	enum ns_socks_refusal refusal;
	uint8_t reply[4096];
	size_t reply_len;
	size_t consumed;
	bool have_request;
	struct ns_socks_request req;
};

static void feed_piece(struct ns_socks_parser *p, const uint8_t *in, size_t n, struct outcome *o)
{
	struct ns_socks_step s = ns_socks_parser_feed(p, in, n);

	assert_true(s.consumed <= n);
	assert_true(s.reply_len <= NS_SOCKS_REPLY_MAX);
	assert_true(o->reply_len + s.reply_len <= sizeof o->reply);
	memcpy(o->reply + o->reply_len, s.reply, s.reply_len);
	o->reply_len += s.reply_len;
	o->consumed += s.consumed;
	o->status = s.status;
	o->refusal = s.refusal;
	if (s.status == NS_SOCKS_NEED_MORE)
		assert_int_equal(s.consumed, n);
}

/* Feeds in[0..len) in pieces that end at the offsets in cuts (ascending, last = len). */
static void run_cuts(const uint8_t *in, size_t len, unsigned opts, const size_t *cuts, size_t ncuts,
                     struct outcome *o)
{
	struct ns_socks_parser p;
	size_t from = 0;

	memset(o, 0, sizeof *o);
	assert_int_equal(cuts[ncuts - 1], len);
	ns_socks_parser_init(&p, opts);
	for (size_t i = 0; i < ncuts; i++) {
		feed_piece(&p, in + from, cuts[i] - from, o);
		from = cuts[i];
	}
	const struct ns_socks_request *r = ns_socks_parser_request(&p);
	o->have_request = r != NULL;
	if (r)
		o->req = *r;
	assert_int_equal(o->have_request, o->status == NS_SOCKS_DONE);
}

static void run_whole(const uint8_t *in, size_t len, unsigned opts, struct outcome *o)
{
	run_cuts(in, len, opts, &len, 1, o);
}

static void assert_same_outcome(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->refusal, b->refusal);
	assert_int_equal(a->reply_len, b->reply_len);
	assert_memory_equal(a->reply, b->reply, a->reply_len);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->have_request, b->have_request);
	if (a->have_request) {
		assert_int_equal(a->req.proto, b->req.proto);
		assert_int_equal(a->req.port, b->req.port);
		assert_int_equal(a->req.addr_len, b->req.addr_len);
		assert_memory_equal(a->req.addr, b->req.addr, a->req.addr_len);
		assert_string_equal(a->req.remote, b->req.remote);
	}
}

/* Whole, byte by byte, and in two pieces at every boundary: all the same. */
static void run_everywhere(const uint8_t *in, size_t len, unsigned opts, struct outcome *o)
{
	struct outcome other;
	size_t cuts[2];
	static size_t bytewise[16384];

	run_whole(in, len, opts, o);
	assert_true(len <= sizeof bytewise / sizeof bytewise[0]);
	for (size_t i = 0; i < len; i++)
		bytewise[i] = i + 1;
	run_cuts(in, len, opts, bytewise, len, &other);
	assert_same_outcome(o, &other);
	for (size_t k = 0; k <= len; k++) {
		cuts[0] = k;
		cuts[1] = len;
		run_cuts(in, len, opts, cuts, 2, &other);
		assert_same_outcome(o, &other);
	}
}

static void expect_done(const void *in, size_t len, unsigned opts, const char *remote,
                        const void *reply, size_t reply_len, size_t consumed, struct outcome *o)
{
	run_everywhere(in, len, opts, o);
	assert_int_equal(o->status, NS_SOCKS_DONE);
	assert_int_equal(o->refusal, NS_SOCKS_OK);
	assert_string_equal(o->req.remote, remote);
	assert_int_equal(o->req.remote_len, strlen(remote));
	assert_int_equal(o->reply_len, reply_len);
	assert_memory_equal(o->reply, reply, reply_len);
	assert_int_equal(o->consumed, consumed);
}

static void expect_refused(const void *in, size_t len, unsigned opts, enum ns_socks_refusal why,
                           const void *reply, size_t reply_len)
{
	struct outcome o;

	run_everywhere(in, len, opts, &o);
	assert_int_equal(o.status, NS_SOCKS_REFUSED);
	assert_int_equal(o.refusal, why);
	assert_int_equal(o.reply_len, reply_len);
	if (reply_len)
		assert_memory_equal(o.reply, reply, reply_len);
}

/* the input is incomplete: NEED_MORE everywhere, and every byte taken */
static void expect_need_more(const void *in, size_t len)
{
	struct outcome o;

	run_everywhere(in, len, 0, &o);
	assert_int_equal(o.status, NS_SOCKS_NEED_MORE);
	assert_int_equal(o.consumed, len);
}

#define V5_OK "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00"
#define V4_OK "\x00\x5a\x00\x00\x7f\x00\x00\x01"
#define HTTP_OK "HTTP/1.1 200 Connection established\r\n\r\n"
#define S(lit) lit, sizeof(lit) - 1

/* ------------------------------------------------------------------ SOCKS5 ---- */

static void test_socks5_domain(void **state)
{
	struct outcome o;
	static const uint8_t req[] = "\x05\x01\x00"
	                             "\x05\x01\x00\x03\x0b" "example.com" "\x01\xbb"
	                             "GET / HTTP/1.1\r\n";

	(void)state;
	expect_done(req, sizeof req - 1, 0, "example.com:443", S("\x05\x00" V5_OK), 3 + 18, &o);
	assert_int_equal(o.req.proto, NS_SOCKS_PROTO_V5);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_DOMAIN);
	assert_int_equal(o.req.port, 443);
	assert_memory_equal(o.req.addr, "example.com", 11);
	/* the same through a parser that would refuse with full replies: success is unchanged */
	expect_done(req, sizeof req - 1, NS_SOCKS_FULL_ERRORS, "example.com:443",
	            S("\x05\x00" V5_OK), 21, &o);
}

static void test_socks5_ipv4_and_methods(void **state)
{
	struct outcome o;
	/* several methods offered, no-auth not first; RSV not checked */
	static const uint8_t req[] = "\x05\x03\x02\x01\x00" "\x05\x01\x7f\x01\x7f\x00\x00\x01\x00\x50";

	(void)state;
	expect_done(req, sizeof req - 1, 0, "127.0.0.1:80", S("\x05\x00" V5_OK), sizeof req - 1, &o);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_IPV4);
	assert_memory_equal(o.req.addr, "\x7f\x00\x00\x01", 4);
	static const uint8_t zero_port[] = "\x05\x01\x00\x05\x01\x00\x01\x0a\x00\x00\xff\x00\x00";
	expect_done(zero_port, sizeof zero_port - 1, 0, "10.0.0.255:0", S("\x05\x00" V5_OK),
	            sizeof zero_port - 1, &o);
	/* 255 methods, no-auth last */
	uint8_t many[2 + 255 + 10];
	many[0] = 5;
	many[1] = 255;
	memset(many + 2, 0x02, 254);
	many[2 + 254] = 0;
	memcpy(many + 257, "\x05\x01\x00\x01\x01\x02\x03\x04\xff\xff", 10);
	expect_done(many, sizeof many, 0, "1.2.3.4:65535", S("\x05\x00" V5_OK), sizeof many, &o);
}

static void test_socks5_ipv6_nym_format(void **state)
{
	struct outcome o;
	uint8_t req[3 + 4 + 16 + 2];

	(void)state;
	memcpy(req, "\x05\x01\x00\x05\x01\x00\x04", 7);
	memcpy(req + 7, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
	memcpy(req + 23, "\x1f\x90", 2);
	expect_done(req, sizeof req, 0, "0:0:0:0:0:0:0:1:8080", S("\x05\x00" V5_OK), sizeof req, &o);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_IPV6);
	/* lowercase, unpadded, no "::", no brackets */
	memcpy(req + 7, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x0a\x0b\xff\xff\xAB\xCD", 16);
	memcpy(req + 23, "\x01\xbb", 2);
	expect_done(req, sizeof req, 0, "2001:db8:0:0:0:a0b:ffff:abcd:443", S("\x05\x00" V5_OK),
	            sizeof req, &o);
}

static void test_socks5_refusals(void **state)
{
	(void)state;
	/* greeting without 0x00: 05 FF, in both modes */
	expect_refused(S("\x05\x00"), 0, NS_SOCKS_NO_ACCEPTABLE_METHOD, S("\x05\xff"));
	expect_refused(S("\x05\x02\x02\x01"), 0, NS_SOCKS_NO_ACCEPTABLE_METHOD, S("\x05\xff"));
	expect_refused(S("\x05\x01\x02"), NS_SOCKS_FULL_ERRORS, NS_SOCKS_NO_ACCEPTABLE_METHOD,
	               S("\x05\xff"));
	/* BIND, UDP ASSOCIATE, unknown commands: Nym's 05 01; full: 05 07 + BND */
	for (uint8_t cmd = 0; cmd < 8; cmd++) {
		uint8_t req[] = {5, 1, 0, 5, cmd, 0, 1, 1, 2, 3, 4, 0, 80};

		if (cmd == 1)
			continue;
		expect_refused(req, sizeof req, 0, NS_SOCKS_COMMAND_UNSUPPORTED, S("\x05\x00\x05\x01"));
		expect_refused(req, sizeof req, NS_SOCKS_FULL_ERRORS, NS_SOCKS_COMMAND_UNSUPPORTED,
		               S("\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00"));
	}
	/* address types 0, 2, 5: 05 01 / 05 08 */
	expect_refused(S("\x05\x01\x00\x05\x01\x00\x02\x01"), 0, NS_SOCKS_ADDR_TYPE_UNSUPPORTED,
	               S("\x05\x00\x05\x01"));
	expect_refused(S("\x05\x01\x00\x05\x01\x00\x05"), NS_SOCKS_FULL_ERRORS,
	               NS_SOCKS_ADDR_TYPE_UNSUPPORTED,
	               S("\x05\x00\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00"));
	expect_refused(S("\x05\x01\x00\x05\x01\x00\x00"), 0, NS_SOCKS_ADDR_TYPE_UNSUPPORTED,
	               S("\x05\x00\x05\x01"));
	/* a request whose VER is not 5 */
	expect_refused(S("\x05\x01\x00\x04\x01\x00\x01"), 0, NS_SOCKS_BAD_VERSION,
	               S("\x05\x00\x05\x01"));
	/* empty domain; a NUL inside the domain */
	expect_refused(S("\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50"), 0, NS_SOCKS_BAD_DOMAIN,
	               S("\x05\x00\x05\x01"));
	expect_refused(S("\x05\x01\x00\x05\x01\x00\x03\x03" "a\x00" "b\x00\x50"), 0,
	               NS_SOCKS_BAD_DOMAIN, S("\x05\x00\x05\x01"));
}

static void test_socks5_incomplete(void **state)
{
	(void)state;
	expect_need_more(S("\x05"));
	expect_need_more(S("\x05\x02\x00"));
	expect_need_more(S("\x05\x01\x00\x05\x01\x00\x03\x05" "abcd"));
	expect_need_more(S("\x05\x01\x00\x05\x01\x00\x04" "0123456789abcde"));
	expect_need_more(S("\x05\x01\x00\x05\x01\x00\x01\x01\x02\x03\x04\x00"));
	/* the method choice goes out as soon as the greeting is complete */
	struct outcome o;
	run_whole((const uint8_t *)"\x05\x01\x00\x05", 4, 0, &o);
	assert_int_equal(o.status, NS_SOCKS_NEED_MORE);
	assert_int_equal(o.reply_len, 2);
	assert_memory_equal(o.reply, "\x05\x00", 2);
}

static void test_socks5_domain_limits_and_lossy_utf8(void **state)
{
	struct outcome o;
	uint8_t req[7 + 1 + 255 + 2];
	char want[1024];

	(void)state;
	memcpy(req, "\x05\x01\x00\x05\x01\x00\x03", 7);
	req[7] = 255;
	memset(req + 8, 'a', 255);
	memcpy(req + 263, "\x00\x16", 2);
	memset(want, 'a', 255);
	strcpy(want + 255, ":22");
	expect_done(req, sizeof req, 0, want, S("\x05\x00" V5_OK), sizeof req, &o);
	/* 255 bytes each an invalid UTF-8 byte: 255 replacement characters */
	memset(req + 8, 0xff, 255);
	for (int i = 0; i < 255; i++)
		memcpy(want + 3 * i, "\xef\xbf\xbd", 3);
	strcpy(want + 765, ":22");
	expect_done(req, sizeof req, 0, want, S("\x05\x00" V5_OK), sizeof req, &o);
	assert_int_equal(o.req.remote_len, 768);
}

static void expect_remote_domain(const char *domain, size_t n, const char *want)
{
	char out[NS_SOCKS_REMOTE_MAX];

	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_DOMAIN, (const uint8_t *)domain, n, 1, out,
	                                      sizeof out),
	                 strlen(want));
	assert_string_equal(out, want);
}

static void test_remote_text(void **state)
{
	char out[NS_SOCKS_REMOTE_MAX];

	(void)state;
	/* lossy UTF-8: each maximal ill-formed subpart becomes one U+FFFD */
	expect_remote_domain("caf\xc3\xa9", 5, "caf\xc3\xa9:1");
	expect_remote_domain("\xe2\x82" "a", 3, "\xef\xbf\xbd" "a:1");
	expect_remote_domain("a\xe2\x82", 3, "a\xef\xbf\xbd:1");
	expect_remote_domain("\xf0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd:1");
	expect_remote_domain("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd:1");
	expect_remote_domain("\xf4\x90\x80\x80", 4,
	                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd:1");
	expect_remote_domain("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80:1");
	expect_remote_domain("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd:1");
	expect_remote_domain("\xe0\xa0\x80", 3, "\xe0\xa0\x80:1");
	expect_remote_domain("\xe0\x9f\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd:1");
	expect_remote_domain("", 0, ":1");
	/* IPv4 and IPv6 */
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV4, (const uint8_t *)"\x00\x00\x00\x00",
	                                      4, 65535, out, sizeof out), 13);
	assert_string_equal(out, "0.0.0.0:65535");
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV6,
	                                      (const uint8_t *)"\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x10",
	                                      16, 80, out, sizeof out), 22);
	assert_string_equal(out, "fe80:0:0:0:0:0:0:10:80");
	/* wrong lengths, too small a buffer */
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV4, (const uint8_t *)"abc", 3, 1, out,
	                                      sizeof out), 0);
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV6, (const uint8_t *)"abc", 3, 1, out,
	                                      sizeof out), 0);
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV4, (const uint8_t *)"\1\2\3\4", 4, 80,
	                                      out, 10), 0);
	assert_int_equal(ns_socks_remote_text(NS_SOCKS_ADDR_IPV4, (const uint8_t *)"\1\2\3\4", 4, 80,
	                                      out, 11), 10);
	assert_int_equal(ns_socks_remote_text(7, (const uint8_t *)"\1\2\3\4", 4, 80, out, sizeof out),
	                 0);
}

/* ------------------------------------------------------------------ SOCKS4 ---- */

static void test_socks4(void **state)
{
	struct outcome o;

	(void)state;
	expect_done(S("\x04\x01\x00\x50\x7f\x00\x00\x01" "alice\x00" "data"), 0, "127.0.0.1:80",
	            S(V4_OK), 14, &o);
	assert_int_equal(o.req.proto, NS_SOCKS_PROTO_V4);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_IPV4);
	/* empty USERID; 0.0.0.0 is not SOCKS4a */
	expect_done(S("\x04\x01\x1f\x90\x00\x00\x00\x00\x00"), 0, "0.0.0.0:8080", S(V4_OK), 9, &o);
	assert_int_equal(o.req.proto, NS_SOCKS_PROTO_V4);
	/* SOCKS4a: 0.0.0.x, x != 0, then the domain */
	expect_done(S("\x04\x01\x01\xbb\x00\x00\x00\x07" "bob\x00" "example.com\x00"), 0,
	            "example.com:443", S(V4_OK), 24, &o);
	assert_int_equal(o.req.proto, NS_SOCKS_PROTO_V4A);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_DOMAIN);
	/* 0.0.1.1 is not SOCKS4a either */
	expect_done(S("\x04\x01\x00\x50\x00\x00\x01\x01\x00"), 0, "0.0.1.1:80", S(V4_OK), 9, &o);
}

static void test_socks4_limits(void **state)
{
	static uint8_t req[8 + NS_SOCKS4_USERID_MAX + 2 + NS_SOCKS_DOMAIN_MAX + 2];
	struct outcome o;
	char want[NS_SOCKS_DOMAIN_MAX + 8];

	(void)state;
	memcpy(req, "\x04\x01\x00\x50\x0a\x00\x00\x01", 8);
	memset(req + 8, 'u', NS_SOCKS4_USERID_MAX);
	req[8 + NS_SOCKS4_USERID_MAX] = 0;
	expect_done(req, 8 + NS_SOCKS4_USERID_MAX + 1, 0, "10.0.0.1:80", S(V4_OK),
	            8 + NS_SOCKS4_USERID_MAX + 1, &o);
	req[8 + NS_SOCKS4_USERID_MAX] = 'u';
	expect_refused(req, 8 + NS_SOCKS4_USERID_MAX + 1, 0, NS_SOCKS_USERID_TOO_LONG,
	               S("\x04\x5b"));
	/* SOCKS4a domain: 255 fits, 256 is refused, empty is refused */
	memcpy(req, "\x04\x01\x00\x50\x00\x00\x00\x01\x00", 9);
	memset(req + 9, 'd', NS_SOCKS_DOMAIN_MAX);
	req[9 + NS_SOCKS_DOMAIN_MAX] = 0;
	memset(want, 'd', NS_SOCKS_DOMAIN_MAX);
	strcpy(want + NS_SOCKS_DOMAIN_MAX, ":80");
	expect_done(req, 10 + NS_SOCKS_DOMAIN_MAX, 0, want, S(V4_OK), 10 + NS_SOCKS_DOMAIN_MAX, &o);
	req[9 + NS_SOCKS_DOMAIN_MAX] = 'd';
	expect_refused(req, 10 + NS_SOCKS_DOMAIN_MAX, 0, NS_SOCKS_DOMAIN_TOO_LONG, S("\x04\x5b"));
	expect_refused(S("\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00"), 0, NS_SOCKS_BAD_DOMAIN,
	               S("\x04\x5b"));
	expect_refused(S("\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00"), NS_SOCKS_FULL_ERRORS,
	               NS_SOCKS_BAD_DOMAIN, S("\x00\x5b\x00\x00\x00\x00\x00\x00"));
}

static void test_socks4_refusals_and_incomplete(void **state)
{
	(void)state;
	/* BIND and anything but CONNECT: Nym's 04 5B (version 4, not 0), or the full 8 bytes */
	expect_refused(S("\x04\x02\x00\x50\x7f\x00\x00\x01\x00"), 0, NS_SOCKS_COMMAND_UNSUPPORTED,
	               S("\x04\x5b"));
	expect_refused(S("\x04\x00"), 0, NS_SOCKS_COMMAND_UNSUPPORTED, S("\x04\x5b"));
	expect_refused(S("\x04\x03\x00"), NS_SOCKS_FULL_ERRORS, NS_SOCKS_COMMAND_UNSUPPORTED,
	               S("\x00\x5b\x00\x00\x00\x00\x00\x00"));
	expect_need_more(S("\x04"));
	expect_need_more(S("\x04\x01\x00\x50\x7f\x00\x00"));
	expect_need_more(S("\x04\x01\x00\x50\x7f\x00\x00\x01" "user"));
	expect_need_more(S("\x04\x01\x00\x50\x00\x00\x00\x01" "user\x00" "exam"));
}

/* ------------------------------------------------------------ HTTP CONNECT ---- */

static void test_http_connect(void **state)
{
	struct outcome o;
	static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
	                          "Proxy-Connection: keep-alive\r\n\r\n\x16\x03\x01";

	(void)state;
	expect_done(S(req), 0, "example.com:443", S(HTTP_OK), sizeof req - 1 - 3, &o);
	assert_int_equal(o.req.proto, NS_SOCKS_PROTO_HTTP_CONNECT);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_DOMAIN);
	/* LF-only line ends, HTTP/1.0, no headers */
	expect_done(S("CONNECT a-b.c_d~e:80 HTTP/1.0\n\n"), 0, "a-b.c_d~e:80", S(HTTP_OK), 31, &o);
	/* an IPv4 literal; a bracketed IPv6 literal in Nym's format */
	expect_done(S("CONNECT 127.0.0.1:8080 HTTP/1.1\r\n\r\n"), 0, "127.0.0.1:8080", S(HTTP_OK), 35,
	            &o);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_IPV4);
	expect_done(S("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"), 0,
	            "0:0:0:0:0:0:0:1:443", S(HTTP_OK), 47, &o);
	assert_int_equal(o.req.addr_type, NS_SOCKS_ADDR_IPV6);
	expect_done(S("CONNECT [2001:DB8::A:1]:8443 HTTP/1.1\r\n\r\n"), 0, "2001:db8:0:0:0:0:a:1:8443",
	            S(HTTP_OK), 41, &o);
	/* the port with leading zeros */
	expect_done(S("CONNECT h:00080 HTTP/1.1\r\n\r\n"), 0, "h:80", S(HTTP_OK), 28, &o);
}

#define R400 "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define R405 "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n" \
             "Connection: close\r\n\r\n"
#define R431 "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n" \
             "Connection: close\r\n\r\n"
#define R505 "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n" \
             "Connection: close\r\n\r\n"

static void http_bad(const char *req)
{
	expect_refused(req, strlen(req), 0, NS_HTTP_MALFORMED, S(R400));
}

static void test_http_refusals(void **state)
{
	struct outcome o;

	(void)state;
	/* other methods: 405 as soon as the method ends */
	expect_refused(S("GET http://example.com/ HTTP/1.1\r\n\r\n"), 0, NS_HTTP_METHOD_NOT_ALLOWED,
	               S(R405));
	run_whole((const uint8_t *)"GET http://x/", 13, 0, &o);
	assert_int_equal(o.status, NS_SOCKS_REFUSED);
	assert_int_equal(o.consumed, 4);
	expect_refused(S("CONNECTX a:1 HTTP/1.1\r\n\r\n"), 0, NS_HTTP_METHOD_NOT_ALLOWED, S(R405));
	expect_refused(S("CONNEC a:1 HTTP/1.1\r\n\r\n"), 0, NS_HTTP_METHOD_NOT_ALLOWED, S(R405));
	/* the method is case-sensitive; a lowercase first byte is not HTTP at all */
	expect_refused(S("Connect a:1 HTTP/1.1\r\n\r\n"), 0, NS_HTTP_METHOD_NOT_ALLOWED, S(R405));
	expect_refused(S("connect a:1 HTTP/1.1\r\n\r\n"), 0, NS_SOCKS_BAD_FIRST_BYTE, NULL, 0);
	/* versions */
	expect_refused(S("CONNECT a:1 HTTP/2.0\r\n\r\n"), 0, NS_HTTP_VERSION_UNSUPPORTED, S(R505));
	expect_refused(S("CONNECT a:1 HTTP/1.2\r\n"), 0, NS_HTTP_VERSION_UNSUPPORTED, S(R505));
	http_bad("CONNECT a:1 HTTP/1.1x\r\n\r\n");
	http_bad("CONNECT a:1 http/1.1\r\n\r\n");
	http_bad("CONNECT a:1\r\n\r\n");
	/* malformed request lines and targets */
	http_bad("CON\x01NECT a:1 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT\r\n\r\n");
	http_bad("CONNECT  a:1 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:1  HTTP/1.1\r\n\r\n");
	http_bad("CONNECT example.com HTTP/1.1\r\n\r\n");
	http_bad("CONNECT example.com: HTTP/1.1\r\n\r\n");
	http_bad("CONNECT :443 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:0 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:65536 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:123456 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:+80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:8x HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a%41:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT user@a:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a/b:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT ::1:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [::1:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [::1]80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [::1] HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [zz::1]:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [1.2.3.4]:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT [fe80::1%eth0]:80 HTTP/1.1\r\n\r\n");
	http_bad("CONNECT a:80\tHTTP/1.1\r\n\r\n");
	http_bad("CONNECT a\x80:80 HTTP/1.1\r\n\r\n");
	/* control bytes in a header */
	http_bad("CONNECT a:80 HTTP/1.1\r\nX: \x01\r\n\r\n");
	http_bad("CONNECT a:80 HTTP/1.1\r\nX: \x7f\r\n\r\n");
	/* a host over 255 bytes; a request line over the line limit */
	char line[NS_HTTP_CONNECT_LINE_MAX + 64];
	snprintf(line, sizeof line, "CONNECT %0256d:80 HTTP/1.1\r\n\r\n", 0);
	http_bad(line);
	memset(line, 'a', sizeof line - 1);
	memcpy(line, "CONNECT ", 8);
	line[sizeof line - 1] = 0;
	http_bad(line);
}

static void test_http_head_limit(void **state)
{
	static char req[NS_HTTP_CONNECT_HEAD_MAX + 64];
	struct outcome o;
	size_t start = (size_t)snprintf(req, sizeof req, "CONNECT a:80 HTTP/1.1\r\nX: ");
	size_t fill;

	(void)state;
	/* exactly the limit: accepted */
	fill = NS_HTTP_CONNECT_HEAD_MAX - start - 4;
	memset(req + start, 'x', fill);
	memcpy(req + start + fill, "\r\n\r\n", 4);
	expect_done(req, NS_HTTP_CONNECT_HEAD_MAX, 0, "a:80", S(HTTP_OK), NS_HTTP_CONNECT_HEAD_MAX, &o);
	/* one byte more: 431 */
	memset(req + start, 'x', fill + 1);
	memcpy(req + start + fill + 1, "\r\n\r\n", 4);
	expect_refused(req, NS_HTTP_CONNECT_HEAD_MAX + 1, 0, NS_HTTP_HEAD_TOO_LARGE, S(R431));
	/* no blank line ever: refused at the limit, not buffered */
	memset(req + start, 'x', sizeof req - start);
	expect_refused(req, sizeof req, 0, NS_HTTP_HEAD_TOO_LARGE, S(R431));
	expect_need_more(S("CONNECT a:80 HTTP/1.1\r\nHost: a\r\n"));
	expect_need_more(S("CONNECT a:80 HTTP/1.1\r\n\r"));
	expect_need_more(S("CONNECT a:80 HTTP/1.1"));
}

/* ------------------------------------------------------- first byte, after ---- */

static void test_first_byte_and_after_end(void **state)
{
	struct ns_socks_parser p;
	struct ns_socks_step s;

	(void)state;
	for (unsigned b = 0; b < 256; b++) {
		uint8_t in = (uint8_t)b;

		if (b == 4 || b == 5 || (b >= 'A' && b <= 'Z'))
			continue;
		expect_refused(&in, 1, 0, NS_SOCKS_BAD_FIRST_BYTE, NULL, 0);
	}
	/* empty feeds change nothing */
	ns_socks_parser_init(&p, 0);
	s = ns_socks_parser_feed(&p, NULL, 0);
	assert_int_equal(s.status, NS_SOCKS_NEED_MORE);
	assert_int_equal(s.consumed, 0);
	assert_null(ns_socks_parser_request(&p));
	/* after DONE: nothing more is taken or answered */
	s = ns_socks_parser_feed(&p, (const uint8_t *)"\x04\x01\x00\x50\x01\x02\x03\x04\x00", 9);
	assert_int_equal(s.status, NS_SOCKS_DONE);
	assert_non_null(ns_socks_parser_request(&p));
	s = ns_socks_parser_feed(&p, (const uint8_t *)"more", 4);
	assert_int_equal(s.status, NS_SOCKS_DONE);
	assert_int_equal(s.consumed, 0);
	assert_int_equal(s.reply_len, 0);
	/* after REFUSED likewise */
	ns_socks_parser_init(&p, 0);
	s = ns_socks_parser_feed(&p, (const uint8_t *)"\x05\x00", 2);
	assert_int_equal(s.status, NS_SOCKS_REFUSED);
	s = ns_socks_parser_feed(&p, (const uint8_t *)"\x05\x01\x00", 3);
	assert_int_equal(s.status, NS_SOCKS_REFUSED);
	assert_int_equal(s.refusal, NS_SOCKS_NO_ACCEPTABLE_METHOD);
	assert_int_equal(s.consumed, 0);
	assert_int_equal(s.reply_len, 0);
	assert_null(ns_socks_parser_request(&p));
}

/* ------------------------------------------------------------------ replies ---- */

static void test_replies(void **state)
{
	uint8_t out[NS_SOCKS_REPLY_MAX];

	(void)state;
	assert_int_equal(ns_socks_reply_success(NS_SOCKS_PROTO_V5, out), 10);
	assert_memory_equal(out, V5_OK, 10);
	assert_int_equal(ns_socks_reply_success(NS_SOCKS_PROTO_V4, out), 8);
	assert_memory_equal(out, V4_OK, 8);
	assert_int_equal(ns_socks_reply_success(NS_SOCKS_PROTO_V4A, out), 8);
	assert_memory_equal(out, V4_OK, 8);
	assert_int_equal(ns_socks_reply_success(NS_SOCKS_PROTO_HTTP_CONNECT, out), strlen(HTTP_OK));
	assert_memory_equal(out, HTTP_OK, strlen(HTTP_OK));
	assert_int_equal(ns_socks_reply_success(NS_SOCKS_PROTO_UNKNOWN, out), 0);

	assert_int_equal(ns_socks_reply_failure(NS_SOCKS_PROTO_V5, 0x01, false, out), 2);
	assert_memory_equal(out, "\x05\x01", 2);
	assert_int_equal(ns_socks_reply_failure(NS_SOCKS_PROTO_V5, 0x04, true, out), 10);
	assert_memory_equal(out, "\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	assert_int_equal(ns_socks_reply_failure(NS_SOCKS_PROTO_V4, 0x01, false, out), 2);
	assert_memory_equal(out, "\x04\x5b", 2);
	assert_int_equal(ns_socks_reply_failure(NS_SOCKS_PROTO_V4A, 0x05, true, out), 8);
	assert_memory_equal(out, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	assert_int_equal(ns_socks_reply_failure(NS_SOCKS_PROTO_UNKNOWN, 0x01, true, out), 0);

	static const struct {
		uint8_t code;
		const char *status;
	} http[] = {{1, "502 Bad Gateway"}, {2, "403 Forbidden"}, {3, "502 Bad Gateway"},
	            {4, "502 Bad Gateway"}, {5, "502 Bad Gateway"}, {6, "504 Gateway Timeout"},
	            {7, "405 Method Not Allowed"}, {8, "400 Bad Request"}};
	for (size_t i = 0; i < sizeof http / sizeof http[0]; i++) {
		char want[64];
		size_t n = ns_socks_reply_failure(NS_SOCKS_PROTO_HTTP_CONNECT, http[i].code, false, out);

		snprintf(want, sizeof want, "HTTP/1.1 %s\r\n", http[i].status);
		assert_true(n > strlen(want));
		assert_memory_equal(out, want, strlen(want));
		assert_memory_equal(out + n - 4, "\r\n\r\n", 4);
	}

	/* Nym's rule: Host before Network before ttl, else general failure */
	assert_int_equal(ns_socks5_code_for_error_text("Host unreachable"), 0x04);
	assert_int_equal(ns_socks5_code_for_error_text("Network is unreachable"), 0x03);
	assert_int_equal(ns_socks5_code_for_error_text("Network says: no Host"), 0x04);
	assert_int_equal(ns_socks5_code_for_error_text("the ttl expired"), 0x06);
	assert_int_equal(ns_socks5_code_for_error_text("TTL expired"), 0x01);
	assert_int_equal(ns_socks5_code_for_error_text("host unreachable"), 0x01);
	assert_int_equal(ns_socks5_code_for_error_text("Domain \"a:1\" failed filter check"), 0x01);
	assert_int_equal(ns_socks5_code_for_error_text(""), 0x01);

	for (int r = NS_SOCKS_OK; r <= NS_HTTP_HEAD_TOO_LARGE; r++)
		assert_string_not_equal(ns_socks_refusal_text((enum ns_socks_refusal)r), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socks5_domain),
		cmocka_unit_test(test_socks5_ipv4_and_methods),
		cmocka_unit_test(test_socks5_ipv6_nym_format),
		cmocka_unit_test(test_socks5_refusals),
		cmocka_unit_test(test_socks5_incomplete),
		cmocka_unit_test(test_socks5_domain_limits_and_lossy_utf8),
		cmocka_unit_test(test_remote_text),
		cmocka_unit_test(test_socks4),
		cmocka_unit_test(test_socks4_limits),
		cmocka_unit_test(test_socks4_refusals_and_incomplete),
		cmocka_unit_test(test_http_connect),
		cmocka_unit_test(test_http_refusals),
		cmocka_unit_test(test_http_head_limit),
		cmocka_unit_test(test_first_byte_and_after_end),
		cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
