/* The websocket frame path (wslay behind common/websocket) on outside bytes: the input is fed to a
 * detached connection (server side, or client side when bit 6 of the second byte is set), in chunks
 * whose sizes come from the first byte, exactly as socket reads would deliver it. Checked:
 *  - every delivered message is within max_message_bytes, text is valid UTF-8;
 *  - every delivered message, encoded again by a detached peer, decodes to the same message
 *    (client -> server, or server -> client round trip);
 *  - on_close comes exactly once, with a code the API documents;
 *  - what it wrote back parses as frames on a detached peer, which sees no data message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct seen {
	size_t max;
	int messages, closes, code;
	enum ns_ws_msg_type type;
	uint8_t *copy;
	size_t len;
	bool round_trip; /* check each message by re-encoding it */
	bool is_server;
};

static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
		else return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

static void on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *msg, size_t len, void *user);
static void on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	struct seen *s = user;
	(void)c;
	CHECK(why && *why);
	s->closes++;
	s->code = code;
}

static const ns_ws_callbacks callbacks = { .on_message = on_message, .on_close = on_close };

/* a message the receiver (server side if to_server) got, sent again by a fresh sender of the other side */
static void round_trip(enum ns_ws_msg_type type, const uint8_t *msg, size_t len, size_t max, bool to_server)
{
	struct seen cs = { 0 }, ss = { .max = max };
	ns_ws_limits lim = { .max_message_bytes = max, .max_queued_bytes = max + 1 };
	ns_ws_conn *cl = ns_ws_detached_new(!to_server, &lim, &callbacks, &cs);
	ns_ws_conn *sv = ns_ws_detached_new(to_server, &lim, &callbacks, &ss);
	CHECK(cl && sv);
	CHECK(ns_ws_send(cl, type, msg, len) == 0);
	size_t n;
	const uint8_t *frames = ns_ws_detached_output(cl, &n);
	CHECK(ns_ws_feed(sv, frames, n) == 0);
	CHECK(ss.messages == 1 && ss.type == type && ss.len == len);
	CHECK(len == 0 || memcmp(ss.copy, msg, len) == 0);
	free(ss.copy);
	ns_ws_detached_free(cl);
	ns_ws_detached_free(sv);
}

static void on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *msg, size_t len, void *user)
{
	struct seen *s = user;
	(void)c;
	CHECK(type == NS_WS_TEXT || type == NS_WS_BINARY);
	CHECK(len <= s->max);
	if (type == NS_WS_TEXT)
		CHECK(utf8_valid(msg, len));
	s->messages++;
	s->type = type;
	free(s->copy);
	s->copy = malloc(len ? len : 1);
	CHECK(s->copy);
	memcpy(s->copy, msg, len);
	s->len = len;
	if (s->round_trip)
		round_trip(type, msg, len, s->max, s->is_server);
}

static bool documented_code(int code)
{
	return code == 1005 || code == 1006 || (code >= 1000 && code <= 1011 && code != 1004) ||
	       (code >= 3000 && code <= 4999);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		ns_crypto_init();
		init = 1;
	}
	if (size < 2)
		return 0;
	size_t chunk = (size_t)(data[0] & 0x3f) + 1;
	size_t max = data[1] & 0x80 ? 64 + (size_t)(data[1] & 0x3f) * 32 : 1u << 16;
	bool is_server = !(data[1] & 0x40);
	bool eof = data[0] & 0x40;
	data += 2;
	size -= 2;

	struct seen s = { .max = max, .round_trip = true, .is_server = is_server };
	ns_ws_limits lim = { .max_message_bytes = max };
	ns_ws_conn *sv = ns_ws_detached_new(is_server, &lim, &callbacks, &s);
	CHECK(sv);
	bool ended = false;
	for (size_t off = 0; off < size && !ended; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		uint8_t *piece = malloc(n); /* exact-size copy: ASan catches over-reads */
		memcpy(piece, data + off, n);
		ended = ns_ws_feed(sv, piece, n) == 1;
		free(piece);
	}
	if (eof && !ended)
		ns_ws_feed_eof(sv);
	CHECK(s.closes == (ended || eof ? 1 : 0));

	/* its answers (pongs, close) as seen by the peer */
	size_t out_len;
	const uint8_t *out = ns_ws_detached_output(sv, &out_len);
	struct seen cs = { .max = 1u << 16 };
	ns_ws_conn *cl = ns_ws_detached_new(!is_server, NULL, &callbacks, &cs);
	CHECK(cl);
	ns_ws_feed(cl, out, out_len);
	CHECK(cs.messages == 0); /* only control frames were sent */
	ns_ws_detached_free(cl);
	free(cs.copy);

	ns_ws_detached_free(sv);
	CHECK(s.closes == 1);
	CHECK(s.code == 0 || documented_code(s.code));
	free(s.copy);
	return 0;
}
