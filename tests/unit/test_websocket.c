/* common/websocket: handshake parsing, frame path (detached connections), and real loopback
 * connections in one libev loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "membudget.h"
#include "shbuf.h"
#include "websocket.h"

/* ------------------------------------------------------------------ handshake pieces */

static const char RFC_KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char RFC_ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static void test_accept_key_rfc6455_example(void **state)
{
	(void)state;
	char accept[NS_WS_ACCEPT_LEN + 1];
	assert_int_equal(ns_ws_accept_key(RFC_KEY, strlen(RFC_KEY), accept), 0);
	assert_string_equal(accept, RFC_ACCEPT);
}

#define GOOD_REQUEST                                                                               \
	"GET /chat HTTP/1.1\r\n"                                                                   \
	"Host: server.example.com\r\n"                                                             \
	"Upgrade: websocket\r\n"                                                                   \
	"Connection: Upgrade\r\n"                                                                  \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                          \
	"Origin: http://example.com\r\n"                                                           \
	"Sec-WebSocket-Protocol: chat, superchat\r\n"                                              \
	"Sec-WebSocket-Version: 13\r\n"                                                            \
	"\r\n"

static void test_parse_request_rfc_example(void **state)
{
	(void)state;
	ns_ws_request req;
	const char *r = GOOD_REQUEST "\x81\x85";
	int n = ns_ws_parse_request(r, strlen(r), NULL, &req);
	assert_int_equal(n, (int)strlen(GOOD_REQUEST)); /* the frame bytes after the head are not eaten */
	assert_string_equal(req.path, "/chat");
	assert_string_equal(req.key, RFC_KEY);
}

/* what node's `ws` sends (lower-case values, extension offer, token lists) */
static void test_parse_request_token_lists(void **state)
{
	(void)state;
	ns_ws_request req;
	const char *r = "GET / HTTP/1.1\r\n"
	                "Sec-WebSocket-Version: 13\r\n"
	                "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
	                "Connection: keep-alive, Upgrade\r\n"
	                "Upgrade: WebSocket\r\n"
	                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	                "host:127.0.0.1:9000\r\n"
	                "\r\n";
	assert_int_equal(ns_ws_parse_request(r, strlen(r), NULL, &req), (int)strlen(r));
	assert_string_equal(req.path, "/");
}

static void test_parse_request_incomplete(void **state)
{
	(void)state;
	ns_ws_request req;
	const char *r = GOOD_REQUEST;
	for (size_t n = 0; n < strlen(r); n++)
		assert_int_equal(ns_ws_parse_request(r, n, NULL, &req), 0);
}

struct bad_case {
	const char *req;
	int err;
};

#define H_HOST "Host: a\r\n"
#define H_UPG "Upgrade: websocket\r\n"
#define H_CONN "Connection: Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER "Sec-WebSocket-Version: 13\r\n"
#define GET "GET / HTTP/1.1\r\n"

static void test_parse_request_malformed(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "POST / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_METHOD },
		{ "GET / HTTP/1.0\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HTTP_VERSION },
		{ "GET /  HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HTTP_VERSION },
		{ "GET http://a/ HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_PATH },
		{ "GET\r\n" H_HOST "\r\n", NS_WS_E_BAD_START_LINE },
		{ " GET / HTTP/1.1\r\n" H_HOST "\r\n", NS_WS_E_BAD_START_LINE },
		{ GET H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_NO_HOST },
		{ GET H_HOST H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST H_CONN H_KEY H_VER "\r\n", NS_WS_E_NO_UPGRADE },
		{ GET H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER "\r\n", NS_WS_E_NO_UPGRADE },
		{ GET H_HOST H_UPG H_KEY H_VER "\r\n", NS_WS_E_NO_CONNECTION },
		{ GET H_HOST H_UPG "Connection: keep-alive\r\n" H_KEY H_VER "\r\n", NS_WS_E_NO_CONNECTION },
		{ GET H_HOST H_UPG H_CONN H_KEY "\r\n", NS_WS_E_BAD_WS_VERSION },
		{ GET H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n", NS_WS_E_BAD_WS_VERSION },
		{ GET H_HOST H_UPG H_CONN H_VER "\r\n", NS_WS_E_BAD_KEY },
		{ GET H_HOST H_UPG H_CONN H_VER "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
		  NS_WS_E_BAD_KEY },
		{ GET H_HOST H_UPG H_CONN H_VER "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXg=\r\n\r\n",
		  NS_WS_E_BAD_KEY }, /* 17 bytes */
		{ GET H_HOST H_UPG H_CONN H_VER "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n\r\n",
		  NS_WS_E_BAD_KEY },
		{ GET H_HOST H_UPG H_CONN H_VER H_KEY H_KEY "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST " folded\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "NoColon\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST ": empty name\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "Bad Name: x\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "X: a\nb\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "X: a\rb\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "X: a\x01\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BAD_HEADER },
		{ GET H_HOST "Content-Length: 5\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BODY },
		{ GET H_HOST "Transfer-Encoding: chunked\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", NS_WS_E_BODY },
		{ "\r\n\r\n", NS_WS_E_BAD_START_LINE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ns_ws_request req;
		int r = ns_ws_parse_request(cases[i].req, strlen(cases[i].req), NULL, &req);
		if (r != cases[i].err)
			fail_msg("case %zu: got %d (%s), want %d", i, r, ns_ws_strerror(r), cases[i].err);
	}
}

static void test_parse_request_nul_byte(void **state)
{
	(void)state;
	char r[] = GET H_HOST "X: a?b\r\n" H_UPG H_CONN H_KEY H_VER "\r\n";
	*strchr(r, '?') = '\0';
	ns_ws_request req;
	assert_int_equal(ns_ws_parse_request(r, sizeof r - 1, NULL, &req), NS_WS_E_BAD_HEADER);
}

static void test_parse_request_limits(void **state)
{
	(void)state;
	ns_ws_request req;
	ns_ws_limits lim = { .max_handshake_bytes = 256, .max_headers = 6 };
	/* no end of head within 256 bytes */
	char big[400];
	memset(big, 'a', sizeof big);
	memcpy(big, GET "X: ", strlen(GET "X: "));
	assert_int_equal(ns_ws_parse_request(big, 255, &lim, &req), 0);
	assert_int_equal(ns_ws_parse_request(big, 256, &lim, &req), NS_WS_E_TOO_LARGE);
	assert_int_equal(ns_ws_parse_request(big, sizeof big, &lim, &req), NS_WS_E_TOO_LARGE);
	/* 5 headers pass, 7 don't */
	const char *ok = GET H_HOST H_UPG H_CONN H_KEY H_VER "\r\n";
	assert_int_equal(ns_ws_parse_request(ok, strlen(ok), &lim, &req), (int)strlen(ok));
	const char *many = GET H_HOST H_UPG H_CONN H_KEY H_VER "A: 1\r\nB: 2\r\n\r\n";
	assert_int_equal(ns_ws_parse_request(many, strlen(many), &lim, &req), NS_WS_E_TOO_MANY_HEADERS);
	/* path length */
	char longpath[NS_WS_MAX_PATH + 200];
	int n = snprintf(longpath, sizeof longpath, "GET /%0*d HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n",
	                 NS_WS_MAX_PATH, 0);
	assert_int_equal(ns_ws_parse_request(longpath, (size_t)n, NULL, &req), NS_WS_E_BAD_PATH);
}

static void test_request_response_round_trip(void **state)
{
	(void)state;
	char buf[512], accept[NS_WS_ACCEPT_LEN + 1];
	ns_ws_request req;
	int n = ns_ws_build_request(buf, sizeof buf, "127.0.0.1", 9000, "/some/path?x=1", RFC_KEY);
	assert_true(n > 0);
	assert_int_equal(ns_ws_parse_request(buf, (size_t)n, NULL, &req), n);
	assert_string_equal(req.path, "/some/path?x=1");
	assert_string_equal(req.key, RFC_KEY);
	assert_int_equal(ns_ws_build_request(buf, 40, "127.0.0.1", 9000, "/", RFC_KEY), NS_WS_E_ARG);

	n = ns_ws_build_response(buf, sizeof buf, RFC_KEY);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_int_equal(ns_ws_accept_key(RFC_KEY, strlen(RFC_KEY), accept), 0);
	int status = -1;
	assert_int_equal(ns_ws_parse_response(buf, (size_t)n, NULL, accept, &status), n);
	assert_int_equal(status, 101);
	assert_int_equal(ns_ws_parse_response(buf, (size_t)n - 1, NULL, accept, &status), 0);
	accept[3] ^= 1;
	assert_int_equal(ns_ws_parse_response(buf, (size_t)n, NULL, accept, &status), NS_WS_E_BAD_ACCEPT);
}

static void test_parse_response_malformed(void **state)
{
	(void)state;
	const char *acc = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
	char buf[512];
	int status = 0;
	snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\n%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, &status), NS_WS_E_BAD_STATUS);
	assert_int_equal(status, 200);
	snprintf(buf, sizeof buf, "HTTP/1.0 101 x\r\n" H_UPG H_CONN "%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_BAD_HTTP_VERSION);
	snprintf(buf, sizeof buf, "HTTP/1.1 1O1 x\r\n" H_UPG H_CONN "%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_BAD_START_LINE);
	snprintf(buf, sizeof buf, "HTTP/1.1 101\r\n" H_UPG H_CONN "%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), (int)strlen(buf));
	snprintf(buf, sizeof buf, "HTTP/1.1 101 x\r\n" H_CONN "%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_NO_UPGRADE);
	snprintf(buf, sizeof buf, "HTTP/1.1 101 x\r\n" H_UPG "%s\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_NO_CONNECTION);
	snprintf(buf, sizeof buf, "HTTP/1.1 101 x\r\n" H_UPG H_CONN "\r\n");
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_BAD_ACCEPT);
	snprintf(buf, sizeof buf, "HTTP/1.1 101 x\r\n" H_UPG H_CONN "%s%s\r\n", acc, acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_BAD_HEADER);
	snprintf(buf, sizeof buf, "HTTP/1.1 101 x\r\n" H_UPG H_CONN "%sSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", acc);
	assert_int_equal(ns_ws_parse_response(buf, strlen(buf), NULL, RFC_ACCEPT, NULL), NS_WS_E_UNREQUESTED);
}

/* ------------------------------------------------------------------ detached frame path */

struct recorder {
	int messages, closes, pongs, opens, drains;
	enum ns_ws_msg_type last_type;
	uint8_t *last;
	size_t last_len;
	int close_code;
	char why[128];
	bool echo;
	bool close_after_echo; /* close (1008) right after echoing, inside the callback */
	struct ns_shbuf *share; /* sent with ns_ws_send_shared on every message, inside the callback */
	bool discard;           /* then ns_ws_close_discard(1008) at once */
	bool abort;             /* or ns_ws_abort */
	double hold;            /* ns_ws_hold_reads(hold) on every message */
	int hold_ends, messages_at_hold_end; /* on_hold_end */
	size_t refs_after;      /* share->refs after that */
	ns_ws_conn *conn; /* the last opened */
};

static void rec_open(ns_ws_conn *c, void *user)
{
	((struct recorder *)user)->opens++;
	((struct recorder *)user)->conn = c;
}

static void rec_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len, void *user)
{
	struct recorder *r = user;
	r->messages++;
	r->last_type = type;
	free(r->last);
	r->last = malloc(len ? len : 1);
	assert_non_null(r->last);
	memcpy(r->last, data, len);
	r->last_len = len;
	if (r->echo)
		assert_int_equal(ns_ws_send(c, type, data, len), 0);
	if (r->close_after_echo)
		assert_int_equal(ns_ws_close(c, 1008, "done"), 0);
	if (r->share)
		assert_int_equal(ns_ws_send_shared(c, NS_WS_BINARY, r->share), 0);
	if (r->discard)
		assert_int_equal(ns_ws_close_discard(c, 1008, "slow"), 0);
	if (r->share)
		r->refs_after = r->share->refs;
	if (r->abort)
		ns_ws_abort(c);
	if (r->hold > 0)
		ns_ws_hold_reads(c, r->hold);
}

static void rec_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	struct recorder *r = user;
	(void)c;
	r->closes++;
	r->close_code = code;
	snprintf(r->why, sizeof r->why, "%s", why);
}

static void rec_pong(ns_ws_conn *c, const uint8_t *data, size_t len, void *user)
{
	(void)c;
	(void)data;
	(void)len;
	((struct recorder *)user)->pongs++;
}

static void rec_drain(ns_ws_conn *c, void *user)
{
	(void)c;
	((struct recorder *)user)->drains++;
}

static void rec_hold_end(ns_ws_conn *c, void *user)
{
	struct recorder *r = user;
	(void)c;
	r->hold_ends++;
	r->messages_at_hold_end = r->messages;
}

static const ns_ws_callbacks rec_cb = {
	.on_open = rec_open,
	.on_message = rec_message,
	.on_close = rec_close,
	.on_pong = rec_pong,
	.on_drain = rec_drain,
	.on_hold_end = rec_hold_end,
};

static void rec_free(struct recorder *r)
{
	free(r->last);
	r->last = NULL;
}

/* client-encoded bytes of one message */
static uint8_t *client_frames(enum ns_ws_msg_type type, const uint8_t *msg, size_t len, size_t *out_len)
{
	struct recorder r = { 0 };
	ns_ws_conn *cl = ns_ws_detached_new(0, NULL, &rec_cb, &r);
	assert_non_null(cl);
	assert_int_equal(ns_ws_send(cl, type, msg, len), 0);
	const uint8_t *o = ns_ws_detached_output(cl, out_len);
	uint8_t *copy = malloc(*out_len);
	memcpy(copy, o, *out_len);
	ns_ws_detached_free(cl);
	return copy;
}

static void test_detached_client_to_server(void **state)
{
	(void)state;
	uint8_t msg[300];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7);
	size_t n;
	uint8_t *frames = client_frames(NS_WS_BINARY, msg, sizeof msg, &n);
	/* FIN|binary, MASK|126, len 300 BE, 4-byte mask, then the masked payload */
	assert_int_equal(n, 2 + 2 + 4 + sizeof msg);
	assert_int_equal(frames[0], 0x82);
	assert_int_equal(frames[1], 0x80 | 126);
	assert_int_equal(frames[2] << 8 | frames[3], 300);
	for (size_t i = 0; i < sizeof msg; i++)
		assert_int_equal(frames[8 + i] ^ frames[4 + i % 4], msg[i]);

	struct recorder r = { 0 };
	ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
	/* byte by byte: wslay must reassemble across reads */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ns_ws_feed(sv, frames + i, 1), 0);
	assert_int_equal(r.messages, 1);
	assert_int_equal(r.last_type, NS_WS_BINARY);
	assert_int_equal(r.last_len, sizeof msg);
	assert_memory_equal(r.last, msg, sizeof msg);
	free(frames);
	ns_ws_detached_free(sv);
	assert_int_equal(r.closes, 1);
	assert_int_equal(r.close_code, 1006);
	rec_free(&r);
}

/* ------------------------------------------------------------------ shared buffers */

static struct ns_shbuf *pattern_buf(size_t len, struct ns_membudget *b)
{
	uint8_t *d = malloc(len);
	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 13 + 5);
	return ns_shbuf_adopt(d, len, b);
}

/* One buffer to two connections: charged once, no copy held once written, and the peer gets
 * the message whole although wslay sends it in fragments. */
static void test_detached_send_shared(void **state)
{
	(void)state;
	struct ns_membudget bud;
	ns_membudget_init(&bud, 1u << 20);
	struct ns_shbuf *b = pattern_buf(10000, &bud);
	assert_int_equal(bud.used, 10000 + sizeof *b);
	struct recorder r1 = { 0 }, r2 = { 0 }, rc = { 0 };
	ns_ws_conn *s1 = ns_ws_detached_new(1, NULL, &rec_cb, &r1);
	ns_ws_conn *s2 = ns_ws_detached_new(1, NULL, &rec_cb, &r2);
	assert_int_equal(ns_ws_send_shared(s1, NS_WS_BINARY, b), 0);
	assert_int_equal(ns_ws_send_shared(s2, NS_WS_BINARY, b), 0);
	assert_int_equal(bud.used, 10000 + sizeof *b); /* charged once, whatever the fan-out */
	assert_int_equal(b->refs, 1);                  /* both written out: only ours is left */
	assert_int_equal(ns_ws_queued_bytes(s1), 0);
	size_t n1, n2;
	const uint8_t *o1 = ns_ws_detached_output(s1, &n1), *o2 = ns_ws_detached_output(s2, &n2);
	assert_true(n1 > 10000 && n1 < 10000 + 64);
	assert_int_equal(o1[0], 0x02); /* first fragment: binary, no FIN */
	assert_int_equal(n1, n2);
	assert_memory_equal(o1, o2, n1);
	ns_ws_conn *cl = ns_ws_detached_new(0, NULL, &rec_cb, &rc);
	assert_int_equal(ns_ws_feed(cl, o1, n1), 0);
	assert_int_equal(rc.messages, 1);
	assert_int_equal(rc.last_type, NS_WS_BINARY);
	assert_int_equal(rc.last_len, 10000);
	assert_memory_equal(rc.last, b->data, 10000);
	ns_shbuf_unref(b);
	assert_int_equal(bud.used, 0); /* the last reference gone: freed and uncharged */
	ns_ws_detached_free(cl);
	ns_ws_detached_free(s1);
	ns_ws_detached_free(s2);
	rec_free(&r1);
	rec_free(&r2);
	rec_free(&rc);
}

/* Queued and not written (inside a callback), then closed as a slow consumer: the reference
 * is released at once and the close frame is all that goes out. Ending a connection releases
 * what it still holds. */
static void test_detached_close_discard(void **state)
{
	(void)state;
	struct ns_membudget bud;
	ns_membudget_init(&bud, 1u << 20);
	struct ns_shbuf *b = pattern_buf(50000, &bud);
	struct recorder r = { .share = b, .discard = true };
	ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
	size_t n, n0;
	uint8_t *in = client_frames(NS_WS_TEXT, (const uint8_t *)"hi", 2, &n0);
	assert_int_equal(ns_ws_feed(sv, in, n0), 0);
	assert_int_equal(r.refs_after, 1);
	const uint8_t *o = ns_ws_detached_output(sv, &n);
	assert_true(n >= 4 && n < 64);
	assert_int_equal(o[0], 0x88);
	assert_int_equal(o[2] << 8 | o[3], 1008);
	assert_int_equal(b->refs, 1);
	ns_ws_detached_free(sv);

	struct recorder r2 = { .share = b, .abort = true };
	sv = ns_ws_detached_new(1, NULL, &rec_cb, &r2);
	assert_int_equal(ns_ws_feed(sv, in, n0), 1);
	assert_int_equal(r2.refs_after, 2); /* queued, not written yet */
	assert_int_equal(b->refs, 1);       /* the aborted connection let it go */
	assert_int_equal(r2.closes, 1);
	ns_ws_detached_free(sv);
	free(in);
	ns_shbuf_unref(b);
	assert_int_equal(bud.used, 0);
	rec_free(&r);
	rec_free(&r2);
}

static void test_detached_ping_pong_and_close(void **state)
{
	(void)state;
	struct recorder r = { 0 };
	ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
	/* masked ping "hi" with mask 01 02 03 04 */
	const uint8_t ping[] = { 0x89, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2 };
	assert_int_equal(ns_ws_feed(sv, ping, sizeof ping), 0);
	size_t n;
	const uint8_t *o = ns_ws_detached_output(sv, &n);
	const uint8_t pong[] = { 0x8a, 0x02, 'h', 'i' };
	assert_int_equal(n, sizeof pong);
	assert_memory_equal(o, pong, sizeof pong);
	ns_ws_detached_clear_output(sv);
	/* masked close 1000 */
	const uint8_t close[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };
	assert_int_equal(ns_ws_feed(sv, close, sizeof close), 1);
	o = ns_ws_detached_output(sv, &n);
	const uint8_t close_reply[] = { 0x88, 0x02, 0x03, 0xe8 };
	assert_int_equal(n, sizeof close_reply);
	assert_memory_equal(o, close_reply, sizeof close_reply);
	assert_int_equal(r.closes, 1);
	assert_int_equal(r.close_code, 1000);
	assert_string_equal(r.why, "closed by the peer");
	assert_int_equal(ns_ws_send(sv, NS_WS_TEXT, (const uint8_t *)"x", 1), NS_WS_E_STATE);
	ns_ws_detached_free(sv);
	assert_int_equal(r.closes, 1);
	rec_free(&r);
}

/* feeds bad bytes to a detached server, expects it to answer with a close frame carrying code */
static void expect_close_code(const uint8_t *in, size_t len, const ns_ws_limits *lim, int code,
                              bool bare_close)
{
	struct recorder r = { 0 };
	ns_ws_conn *sv = ns_ws_detached_new(1, lim, &rec_cb, &r);
	if (ns_ws_feed(sv, in, len) != 1)
		fail_msg("input %02x%02x: connection still open", in[0], in[1]);
	assert_int_equal(r.messages, 0);
	assert_int_equal(r.closes, 1);
	if (r.close_code != code)
		fail_msg("input %02x%02x: close code %d (%s), want %d", in[0], in[1], r.close_code, r.why, code);
	size_t n;
	const uint8_t *o = ns_ws_detached_output(sv, &n);
	assert_true(n >= 2);
	assert_int_equal(o[0], 0x88);
	if (bare_close) { /* wslay sends no status code when its frame-header parser gives up */
		assert_int_equal(n, 2);
		assert_int_equal(o[1], 0);
	} else {
		assert_int_equal(n, 4);
		assert_int_equal(o[2] << 8 | o[3], code);
	}
	ns_ws_detached_free(sv);
	rec_free(&r);
}

static void test_detached_bad_frames(void **state)
{
	(void)state;
	const uint8_t unmasked[] = { 0x82, 0x01, 'a' };
	expect_close_code(unmasked, sizeof unmasked, NULL, 1002, false);
	const uint8_t rsv1[] = { 0xc2, 0x81, 0, 0, 0, 0, 'a' };
	expect_close_code(rsv1, sizeof rsv1, NULL, 1002, false);
	const uint8_t bad_opcode[] = { 0x83, 0x81, 0, 0, 0, 0, 'a' };
	expect_close_code(bad_opcode, sizeof bad_opcode, NULL, 1002, false);
	const uint8_t long_ping[] = { 0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0 };
	expect_close_code(long_ping, sizeof long_ping, NULL, 1002, true);
	const uint8_t lone_continuation[] = { 0x80, 0x81, 0, 0, 0, 0, 'a' };
	expect_close_code(lone_continuation, sizeof lone_continuation, NULL, 1002, false);
	const uint8_t bad_utf8[] = { 0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28 };
	expect_close_code(bad_utf8, sizeof bad_utf8, NULL, 1007, false);
	const uint8_t bad_close_code[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed }; /* 1005 */
	expect_close_code(bad_close_code, sizeof bad_close_code, NULL, 1002, false);
	/* 2^63-1 length (wslay looks at the length once the first payload byte is there) */
	const uint8_t huge[] = { 0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1 };
	expect_close_code(huge, sizeof huge, NULL, 1009, false);
	/* limit 10: an 11-byte message, also when split over two fragments */
	ns_ws_limits lim = { .max_message_bytes = 10 };
	const uint8_t eleven[] = { 0x82, 0x80 | 11, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	expect_close_code(eleven, sizeof eleven, &lim, 1009, false);
	const uint8_t frag[] = { 0x02, 0x86, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0x80, 0x85, 0, 0, 0, 0, 1, 2, 3, 4, 5 };
	expect_close_code(frag, sizeof frag, &lim, 1009, false);
}

static void test_detached_fragmented_text(void **state)
{
	(void)state;
	struct recorder r = { 0 };
	ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
	/* "hé" split inside the UTF-8 sequence, with a ping in between */
	const uint8_t in[] = { 0x01, 0x82, 0, 0, 0, 0, 'h', 0xc3, 0x89, 0x80, 0, 0, 0, 0,
	                       0x80, 0x81, 0, 0, 0, 0, 0xa9 };
	assert_int_equal(ns_ws_feed(sv, in, sizeof in), 0);
	assert_int_equal(r.messages, 1);
	assert_int_equal(r.last_type, NS_WS_TEXT);
	assert_int_equal(r.last_len, 3);
	assert_memory_equal(r.last, "h\xc3\xa9", 3);
	size_t n;
	ns_ws_detached_output(sv, &n);
	assert_int_equal(n, 2); /* the empty pong */
	ns_ws_feed_eof(sv);
	assert_int_equal(r.closes, 1);
	assert_int_equal(r.close_code, 1006);
	ns_ws_detached_free(sv);
	rec_free(&r);
}

/* RFC 6455 §7.4: 1012-1014 are sendable (1013 = try again later), 1004-1006 and 1015 never */
static void test_close_codes_sendable(void **state)
{
	(void)state;
	static const uint16_t ok[] = { 1000, 1008, 1011, 1012, 1013, 1014, 3000, 4999 };
	static const uint16_t bad[] = { 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct recorder r = { 0 };
		ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
		assert_int_equal(ns_ws_close(sv, bad[i], "x"), NS_WS_E_ARG);
		ns_ws_detached_free(sv);
		rec_free(&r);
	}
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct recorder r = { 0 };
		ns_ws_conn *sv = ns_ws_detached_new(1, NULL, &rec_cb, &r);
		assert_int_equal(ns_ws_close(sv, ok[i], "later"), 0);
		size_t n;
		const uint8_t *o = ns_ws_detached_output(sv, &n);
		assert_int_equal(n, 2 + 2 + 5);
		assert_int_equal(o[0], 0x88);
		assert_int_equal((o[2] << 8) | o[3], ok[i]);
		ns_ws_detached_free(sv);
		rec_free(&r);
	}
}

/* An unfinished message is charged to the budget while it lasts, a complete one is not;
 * half a frame, a first fragment and pings between fragments each count correctly. */
static void test_budget_charges_partial_messages(void **state)
{
	(void)state;
	struct ns_membudget b;
	ns_membudget_init(&b, 1000);
	ns_ws_limits lim = { .budget = &b };
	struct recorder r = { 0 };
	ns_ws_conn *sv = ns_ws_detached_new(1, &lim, &rec_cb, &r);
	/* a binary frame of 10 bytes, 4 of them sent */
	const uint8_t half[] = { 0x82, 0x8a, 0, 0, 0, 0, 1, 2, 3, 4 };
	assert_int_equal(ns_ws_feed(sv, half, sizeof half), 0);
	assert_int_equal(b.used, 4);
	const uint8_t rest[] = { 5, 6, 7, 8, 9, 10 };
	assert_int_equal(ns_ws_feed(sv, rest, sizeof rest), 0);
	assert_int_equal(r.messages, 1);
	assert_int_equal(b.used, 0);
	/* a first fragment of 3 bytes, an empty ping (its pong goes straight out), then the end */
	const uint8_t frag1[] = { 0x02, 0x83, 0, 0, 0, 0, 'a', 'b', 'c', 0x89, 0x80, 0, 0, 0, 0 };
	assert_int_equal(ns_ws_feed(sv, frag1, sizeof frag1), 0);
	assert_int_equal(b.used, 3);
	assert_false(ns_membudget_may_read(&b, 3, 3 + 1000));
	assert_true(ns_membudget_may_read(&b, 3, 3));
	const uint8_t frag2[] = { 0x80, 0x81, 0, 0, 0, 0, 'd' };
	assert_int_equal(ns_ws_feed(sv, frag2, sizeof frag2), 0);
	assert_int_equal(r.messages, 2);
	assert_int_equal(r.last_len, 4);
	assert_int_equal(b.used, 0);
	assert_int_equal(ns_ws_feed(sv, half, sizeof half), 0);
	assert_int_equal(b.used, 4);
	ns_ws_detached_free(sv); /* an ended connection gives its charge back */
	assert_int_equal(b.used, 0);
	assert_int_equal(b.peak, 4);
	rec_free(&r);
}

/* Over the limit, an owner holding bytes may not read; one holding nothing may. */
static void test_membudget_rules(void **state)
{
	(void)state;
	struct ns_membudget b;
	size_t x = 0, y = 0;
	ns_membudget_init(&b, 100);
	ns_membudget_set(&b, &x, 60);
	ns_membudget_set(&b, &y, 30);
	assert_int_equal(b.used, 90);
	assert_true(ns_membudget_may_read(&b, x, x));
	ns_membudget_set(&b, &y, 45);
	assert_false(ns_membudget_may_read(&b, x, x));
	assert_false(ns_membudget_may_read(&b, y, y));
	assert_true(ns_membudget_may_read(&b, 0, 0));
	ns_membudget_set(&b, &x, 0);
	assert_true(ns_membudget_may_read(&b, y, y));
	assert_int_equal(b.peak, 105);
	assert_true(ns_membudget_may_read(NULL, 5, 5));
}

static void test_detached_queue_limit(void **state)
{
	(void)state;
	struct recorder r = { 0 };
	ns_ws_limits lim = { .max_queued_bytes = 100 };
	ns_ws_conn *cl = ns_ws_detached_new(0, &lim, &rec_cb, &r);
	uint8_t big[101] = { 0 };
	assert_int_equal(ns_ws_send(cl, NS_WS_BINARY, big, sizeof big), NS_WS_E_QUEUE_FULL);
	/* detached output never blocks: the queue drains at once and on_drain tells */
	assert_int_equal(ns_ws_send(cl, NS_WS_BINARY, big, 100), 0);
	assert_int_equal(ns_ws_queued_bytes(cl), 0);
	assert_int_equal(r.drains, 1);
	assert_int_equal(ns_ws_ping(cl, big, 126), NS_WS_E_ARG);
	assert_int_equal(ns_ws_close(cl, 1005, NULL), NS_WS_E_ARG);
	assert_int_equal(ns_ws_send(cl, 3, big, 1), NS_WS_E_ARG);
	ns_ws_detached_free(cl);
	rec_free(&r);
}

/* ------------------------------------------------------------------ loopback sockets */

struct loopback {
	struct ev_loop *loop;
	ns_ws_server *server;
	struct recorder srv, cli;
	ns_ws_conn *client;
};

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(bool *)w->data = true;
	ev_break(loop, EVBREAK_ONE);
}

/* runs the loop until *cond holds or seconds passed; returns whether cond held */
static bool run_until(struct ev_loop *loop, const int *cond, int want, double seconds)
{
	bool timed_out = false;
	ev_timer t;
	ev_timer_init(&t, timeout_cb, seconds, 0);
	t.data = &timed_out;
	ev_timer_start(loop, &t);
	while (*cond < want && !timed_out)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return *cond >= want;
}

static void loopback_start(struct loopback *lb, const ns_ws_limits *srv_lim)
{
	memset(lb, 0, sizeof *lb);
	lb->loop = ev_loop_new(EVFLAG_AUTO);
	lb->srv.echo = true;
	int err = 0;
	lb->server = ns_ws_server_listen(lb->loop, "127.0.0.1", 0, "/", srv_lim, &rec_cb, &lb->srv, &err);
	assert_non_null(lb->server);
	assert_true(ns_ws_server_port(lb->server) > 0);
}

static ns_ws_conn *loopback_connect(struct loopback *lb, const char *path, const ns_ws_limits *lim,
                                    struct recorder *r)
{
	char url[128];
	snprintf(url, sizeof url, "ws://127.0.0.1:%u%s", ns_ws_server_port(lb->server), path);
	int err = 0;
	ns_ws_conn *c = ns_ws_connect(lb->loop, url, lim, &rec_cb, r, &err);
	assert_non_null(c);
	return c;
}

static void loopback_stop(struct loopback *lb)
{
	ns_ws_server_free(lb->server);
	ev_loop_destroy(lb->loop);
	rec_free(&lb->srv);
	rec_free(&lb->cli);
}

static void test_loopback_echo(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	ns_ws_conn *c = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"x", 1), NS_WS_E_STATE);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	assert_int_equal(lb.srv.opens, 1);
	assert_int_equal(ns_ws_server_connections(lb.server), 1);
	assert_string_equal(ns_ws_path(c), "/");

	const char *text = "hello, mixnet \xe2\x9c\x93";
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)text, strlen(text)), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 1, 5));
	assert_int_equal(lb.cli.last_type, NS_WS_TEXT);
	assert_int_equal(lb.cli.last_len, strlen(text));
	assert_memory_equal(lb.cli.last, text, strlen(text));

	size_t big_len = 100 * 1024;
	uint8_t *big = malloc(big_len);
	ns_random(big, big_len);
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, big, big_len), 0);
	assert_true(ns_ws_queued_bytes(c) >= big_len);
	assert_true(run_until(lb.loop, &lb.cli.messages, 2, 5));
	assert_int_equal(lb.cli.last_type, NS_WS_BINARY);
	assert_int_equal(lb.cli.last_len, big_len);
	assert_memory_equal(lb.cli.last, big, big_len);
	assert_int_equal(ns_ws_queued_bytes(c), 0);
	free(big);

	assert_int_equal(ns_ws_ping(c, (const uint8_t *)"p", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.pongs, 1, 5));

	assert_int_equal(ns_ws_close(c, 1000, "bye"), 0);
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"x", 1), NS_WS_E_STATE);
	assert_true(run_until(lb.loop, &lb.cli.closes, 1, 5));
	assert_true(run_until(lb.loop, &lb.srv.closes, 1, 5));
	assert_int_equal(lb.cli.close_code, 1000);
	assert_string_equal(lb.cli.why, "close handshake completed");
	assert_int_equal(lb.srv.close_code, 1000);
	assert_string_equal(lb.srv.why, "closed by the peer");
	assert_int_equal(ns_ws_server_connections(lb.server), 0);
	loopback_stop(&lb);
}

/* A message queued just before ns_ws_close reaches the peer before the close frame
 * (wslay alone would send the control frame first and the message never). */
static void test_loopback_close_after_queued_message(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	lb.srv.close_after_echo = true;
	ns_ws_conn *c = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"last words", 10), 0);
	assert_true(run_until(lb.loop, &lb.cli.closes, 1, 5));
	assert_int_equal(lb.cli.messages, 1);
	assert_int_equal(lb.cli.last_len, 10);
	assert_memory_equal(lb.cli.last, "last words", 10);
	assert_int_equal(lb.cli.close_code, 1008);
	loopback_stop(&lb);
}

static void test_loopback_oversize_rejected(void **state)
{
	(void)state;
	struct loopback lb;
	ns_ws_limits lim = { .max_message_bytes = 1000 };
	loopback_start(&lb, &lim);
	ns_ws_conn *c = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	uint8_t msg[1001] = { 0 };
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, msg, 1000), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 1, 5));
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, msg, 1001), 0);
	assert_true(run_until(lb.loop, &lb.cli.closes, 1, 5));
	assert_true(run_until(lb.loop, &lb.srv.closes, 1, 5));
	assert_int_equal(lb.srv.messages, 1);
	assert_int_equal(lb.cli.close_code, 1009);
	assert_int_equal(lb.srv.close_code, 1009);
	assert_string_equal(lb.srv.why, "message from the peer too big");
	loopback_stop(&lb);
}

static int raw_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, 0), (ssize_t)n);
}

/* a bad handshake and a bad frame on two connections; a third, good one keeps working */
static void test_loopback_bad_peers_dont_hurt_others(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	ns_ws_conn *good = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));

	int bad_hs = raw_connect(ns_ws_server_port(lb.server));
	raw_send(bad_hs, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	assert_true(run_until(lb.loop, &lb.srv.closes, 1, 5));
	assert_int_equal(lb.srv.close_code, 0);
	assert_string_equal(lb.srv.why, ns_ws_strerror(NS_WS_E_NO_UPGRADE));
	char answer[256] = { 0 };
	assert_true(recv(bad_hs, answer, sizeof answer - 1, 0) > 0);
	assert_memory_equal(answer, "HTTP/1.1 400 ", 13);
	close(bad_hs);

	int bad_frame = raw_connect(ns_ws_server_port(lb.server));
	char req[512];
	int n = ns_ws_build_request(req, sizeof req, "127.0.0.1", 1, "/", RFC_KEY);
	raw_send(bad_frame, req, (size_t)n);
	raw_send(bad_frame, "\x82\x01" "a", 3); /* unmasked client frame */
	/* the server sends close 1002, half-closes, and waits for us to close */
	int never = 0;
	run_until(lb.loop, &never, 1, 0.2);
	assert_int_equal(lb.srv.closes, 1);
	char buf[1024];
	ssize_t got = 0, r;
	while ((r = recv(bad_frame, buf + got, sizeof buf - 1 - (size_t)got, MSG_DONTWAIT)) > 0)
		got += r;
	assert_int_equal(r, 0); /* EOF: the server shut down its side */
	buf[got] = 0;
	raw_send(bad_frame, "more bytes after the close", 26); /* discarded, no RST */
	close(bad_frame);
	assert_true(run_until(lb.loop, &lb.srv.closes, 2, 5));
	assert_int_equal(lb.srv.close_code, 1002);
	char *end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_memory_equal(end + 4, "\x88\x02\x03\xea", 4); /* close 1002 */

	int wrong_path = raw_connect(ns_ws_server_port(lb.server));
	n = ns_ws_build_request(req, sizeof req, "127.0.0.1", 1, "/other", RFC_KEY);
	raw_send(wrong_path, req, (size_t)n);
	assert_true(run_until(lb.loop, &lb.srv.closes, 3, 5));
	assert_string_equal(lb.srv.why, ns_ws_strerror(NS_WS_E_BAD_PATH));
	memset(answer, 0, sizeof answer);
	assert_true(recv(wrong_path, answer, sizeof answer - 1, 0) > 0);
	assert_memory_equal(answer, "HTTP/1.1 404 ", 13);
	close(wrong_path);

	assert_int_equal(ns_ws_send(good, NS_WS_TEXT, (const uint8_t *)"still here", 10), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 1, 5));
	assert_memory_equal(lb.cli.last, "still here", 10);
	assert_int_equal(lb.cli.closes, 0);
	assert_int_equal(ns_ws_server_connections(lb.server), 1);
	ns_ws_abort(good);
	assert_int_equal(lb.cli.closes, 1);
	loopback_stop(&lb);
}

static void test_loopback_timeouts_and_peer_loss(void **state)
{
	(void)state;
	struct loopback lb;
	ns_ws_limits lim = { .handshake_timeout = 0.2, .close_timeout = 0.2 };
	loopback_start(&lb, &lim);
	int silent = raw_connect(ns_ws_server_port(lb.server));
	assert_true(run_until(lb.loop, &lb.srv.closes, 1, 5));
	assert_int_equal(lb.srv.close_code, 0);
	assert_string_equal(lb.srv.why, "handshake timed out");
	close(silent);

	/* a request arriving in pieces: the loop must sleep in between, not spin */
	int slow = raw_connect(ns_ws_server_port(lb.server));
	char part[512];
	int plen = ns_ws_build_request(part, sizeof part, "127.0.0.1", 1, "/", RFC_KEY);
	raw_send(slow, part, 20);
	int never = 0;
	unsigned iterations = ev_iteration(lb.loop);
	run_until(lb.loop, &never, 1, 0.1);
	assert_true(ev_iteration(lb.loop) - iterations < 10);
	raw_send(slow, part + 20, (size_t)plen - 20);
	assert_true(run_until(lb.loop, &lb.srv.opens, 1, 5));
	close(slow);
	assert_true(run_until(lb.loop, &lb.srv.closes, 2, 5));
	assert_int_equal(lb.srv.close_code, 1006);

	/* a client whose peer vanishes without a close frame */
	int fd = raw_connect(ns_ws_server_port(lb.server));
	char req[512];
	int n = ns_ws_build_request(req, sizeof req, "127.0.0.1", 1, "/", RFC_KEY);
	raw_send(fd, req, (size_t)n);
	assert_true(run_until(lb.loop, &lb.srv.opens, 2, 5));
	close(fd);
	assert_true(run_until(lb.loop, &lb.srv.closes, 3, 5));
	assert_int_equal(lb.srv.close_code, 1006);

	/* our close frame is never answered */
	int mute = raw_connect(ns_ws_server_port(lb.server));
	raw_send(mute, req, (size_t)n);
	assert_true(run_until(lb.loop, &lb.srv.opens, 3, 5));
	assert_int_equal(ns_ws_close(lb.srv.conn, 4000, "going"), 0);
	assert_int_equal(ns_ws_close(lb.srv.conn, 4000, "again"), NS_WS_E_STATE);
	assert_true(run_until(lb.loop, &lb.srv.closes, 4, 5));
	assert_int_equal(lb.srv.close_code, 1006);
	assert_string_equal(lb.srv.why, "close handshake timed out");
	close(mute);

	/* connecting to a closed port */
	int err = 0;
	ns_ws_conn *c = ns_ws_connect(lb.loop, "ws://127.0.0.1:1/", NULL, &rec_cb, &lb.cli, &err);
	assert_non_null(c);
	assert_true(run_until(lb.loop, &lb.cli.closes, 1, 5));
	assert_int_equal(lb.cli.close_code, 0);
	assert_string_equal(lb.cli.why, "connect failed");
	loopback_stop(&lb);
}

static void test_loopback_backpressure(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	lb.srv.echo = false;
	ns_ws_limits lim = { .max_queued_bytes = 250000 };
	ns_ws_conn *c = loopback_connect(&lb, "/", &lim, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	uint8_t *blob = calloc(1, 100000);
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, blob, 100000), 0);
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, blob, 100000), 0);
	assert_int_equal(ns_ws_queued_bytes(c), 200000);
	assert_int_equal(ns_ws_send(c, NS_WS_BINARY, blob, 100000), NS_WS_E_QUEUE_FULL);
	assert_true(run_until(lb.loop, &lb.cli.drains, 1, 5));
	assert_int_equal(ns_ws_queued_bytes(c), 0);
	assert_true(run_until(lb.loop, &lb.srv.messages, 2, 5));
	free(blob);
	ns_ws_abort(c);
	assert_int_equal(lb.cli.closes, 1);
	assert_int_equal(lb.cli.close_code, 1006);
	assert_string_equal(lb.cli.why, "aborted");
	assert_true(run_until(lb.loop, &lb.srv.closes, 1, 5));
	assert_int_equal(lb.srv.close_code, 1006);
	loopback_stop(&lb);
}

/* ns_ws_hold_reads: what arrives during a hold is read when it ends, and on_hold_end comes
 * after the messages of that read; a hold called from a message callback lets the rest of that
 * read in, and a read that fills a whole pump ends the hold at once (a busy socket is never
 * held; the socket's SO_RCVLOWAT wakes the loop for it during the hold). */
static void test_loopback_hold_reads(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	ns_ws_conn *c = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	lb.cli.hold = 2.0;
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"a", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 1, 5)); /* the echo; a hold starts */
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"b", 1), 0);
	assert_true(run_until(lb.loop, &lb.srv.messages, 2, 5)); /* echoed, but held */
	for (int i = 0; i < 20; i++)
		ev_run(lb.loop, EVRUN_NOWAIT);
	assert_int_equal(lb.cli.messages, 1);
	assert_true(ns_ws_holding(c));
	assert_int_equal(lb.cli.hold_ends, 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 2, 10)); /* the hold ended */
	assert_memory_equal(lb.cli.last, "b", 1);
	assert_int_equal(lb.cli.hold_ends, 1);
	assert_int_equal(lb.cli.messages_at_hold_end, 2); /* "b" came first */

	/* 80 KiB wait in the socket during a hold; when it ends, one pump reads 64 KiB (each
	 * message holding for 60 s), which ends that hold at once: the rest comes in too */
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"c", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 3, 5)); /* held for 2 s again */
	static uint8_t chunk[8192];
	memset(chunk, 0x5a, sizeof chunk);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ns_ws_send(c, NS_WS_BINARY, chunk, sizeof chunk), 0);
	assert_true(run_until(lb.loop, &lb.srv.messages, 3 + 10, 5));
	for (int i = 0; i < 1000 && ns_ws_queued_bytes(lb.srv.conn) > 0; i++) {
		ev_run(lb.loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(ns_ws_queued_bytes(lb.srv.conn), 0);
	assert_int_equal(lb.cli.messages, 3);
	lb.cli.hold = 60.0;
	assert_true(run_until(lb.loop, &lb.cli.messages, 3 + 10, 20));
	assert_int_equal(lb.cli.hold_ends, 3); /* the full pump ended the 60 s hold */
	ns_ws_abort(c);
	loopback_stop(&lb);
}

/* A hold asked for by the read at a hold's end (chained) that catches nothing: the next hold
 * end starts no hold, so what comes next is read at once (the peer sends in bursts). */
static void test_loopback_hold_chain_skip(void **state)
{
	(void)state;
	struct loopback lb;
	loopback_start(&lb, NULL);
	ns_ws_conn *c = loopback_connect(&lb, "/", NULL, &lb.cli);
	assert_true(run_until(lb.loop, &lb.cli.opens, 1, 5));
	lb.cli.hold = 2.0;
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"a", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 1, 5)); /* a hold starts */
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"b", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 2, 10)); /* read at its end: chained */
	assert_true(ns_ws_holding(c));
	assert_true(run_until(lb.loop, &lb.cli.hold_ends, 2, 10)); /* caught nothing */
	assert_false(ns_ws_holding(c));
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"c", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 3, 5)); /* read at once, a hold starts */
	assert_true(ns_ws_holding(c));
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"d", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 4, 10)); /* read at its end */
	assert_int_equal(lb.cli.messages_at_hold_end, 4);
	assert_false(ns_ws_holding(c)); /* and that read started none */
	assert_int_equal(ns_ws_send(c, NS_WS_TEXT, (const uint8_t *)"e", 1), 0);
	assert_true(run_until(lb.loop, &lb.cli.messages, 5, 5));
	assert_true(ns_ws_holding(c)); /* a frame while no hold runs still starts one */
	ns_ws_abort(c);
	loopback_stop(&lb);
}

static void test_connect_bad_urls(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static const char *bad[] = {
		"http://127.0.0.1:80/", "ws://127.0.0.1:0/", "ws://127.0.0.1:65536/", "ws://127.0.0.1:/",
		"ws://[::1/", "ws://127.0.0.1:9x/", "ws:///", "ws://127.0.0.1/a b", "ws://user@127.0.0.1/",
		"ws://exa mple:80/", "ws://-gw.example/", "ws://gw..example/", "ws://gw_1.example/",
		"ws://[127.0.0.1]/", "ws://[]/", "ws://127.0.0.1?x", "wss://", "WS://127.0.0.1/",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = 0;
		assert_null(ns_ws_connect(loop, bad[i], NULL, &rec_cb, NULL, &err));
		if (err != NS_WS_E_URL)
			fail_msg("%s: got %d", bad[i], err);
	}
	int err = 0; /* wss:// without a TLS context: refused, never sent as plain ws:// */
	assert_null(ns_ws_connect(loop, "wss://127.0.0.1:9/", NULL, &rec_cb, NULL, &err));
	assert_int_equal(err, NS_WS_E_TLS);
	ev_loop_destroy(loop);
}

static void test_parse_url_parts(void **state)
{
	(void)state;
	ns_ws_url u;
	assert_int_equal(ns_ws_parse_url("wss://gw1.example.net:9001", &u), 0);
	assert_string_equal(u.host, "gw1.example.net");
	assert_int_equal(u.port, 9001);
	assert_true(u.tls);
	assert_string_equal(u.path, "/");
	assert_int_equal(ns_ws_parse_url("wss://localhost/", &u), 0);
	assert_int_equal(u.port, 443);
	assert_int_equal(ns_ws_parse_url("ws://[::1]:9000/x/y", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_false(u.tls);
	assert_int_equal(u.port, 9000);
	assert_string_equal(u.path, "/x/y");
	assert_int_equal(ns_ws_parse_url("ws://127.0.0.1", &u), 0);
	assert_int_equal(u.port, 80);
	char longname[300];
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "ws://", 5);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(ns_ws_parse_url(longname, &u), NS_WS_E_URL); /* label > 63, name > 253 */
	assert_int_equal(ns_ws_parse_url("ws://a.b.c:", &u), NS_WS_E_URL);
	assert_int_equal(ns_ws_parse_url("wss://[::1]x/", &u), NS_WS_E_URL);
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key_rfc6455_example),
		cmocka_unit_test(test_parse_request_rfc_example),
		cmocka_unit_test(test_parse_request_token_lists),
		cmocka_unit_test(test_parse_request_incomplete),
		cmocka_unit_test(test_parse_request_malformed),
		cmocka_unit_test(test_parse_request_nul_byte),
		cmocka_unit_test(test_parse_request_limits),
		cmocka_unit_test(test_request_response_round_trip),
		cmocka_unit_test(test_parse_response_malformed),
		cmocka_unit_test(test_detached_client_to_server),
		cmocka_unit_test(test_detached_ping_pong_and_close),
		cmocka_unit_test(test_detached_bad_frames),
		cmocka_unit_test(test_detached_fragmented_text),
		cmocka_unit_test(test_detached_queue_limit),
		cmocka_unit_test(test_loopback_echo),
		cmocka_unit_test(test_loopback_close_after_queued_message),
		cmocka_unit_test(test_loopback_oversize_rejected),
		cmocka_unit_test(test_loopback_bad_peers_dont_hurt_others),
		cmocka_unit_test(test_loopback_hold_reads),
		cmocka_unit_test(test_loopback_hold_chain_skip),
		cmocka_unit_test(test_loopback_timeouts_and_peer_loss),
		cmocka_unit_test(test_loopback_backpressure),
		cmocka_unit_test(test_connect_bad_urls),
		cmocka_unit_test(test_parse_url_parts),
		cmocka_unit_test(test_close_codes_sendable),
		cmocka_unit_test(test_budget_charges_partial_messages),
		cmocka_unit_test(test_membudget_rules),
		cmocka_unit_test(test_detached_send_shared),
		cmocka_unit_test(test_detached_close_discard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
