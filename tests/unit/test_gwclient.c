/* common/gwclient: the session state machine over a fake transport, against a scripted
 * gateway built from the gateway-side functions of common/gateway/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "gwclient.h"

/* ------------------------------------------------------------------ fake transport */

#define MAX_SENT 64

struct sent {
	int binary;
	uint8_t *data;
	size_t len;
};

struct fake {
	struct ev_loop *loop;
	struct ns_gwc *c;
	struct ns_gwc_keys keys;
	/* transport */
	uintptr_t next_h;
	void *h;                 /* the live connection (NULL after close) */
	int connects, closes, pings, fail_connect, fail_send;
	struct sent sent[MAX_SENT];
	size_t nsent;
	/* gateway side */
	uint8_t gw_seed[32], gw_pk[32];
	struct ns_gw_key gw_key;
	/* client callbacks */
	uint8_t msg[4096];
	size_t msg_len;
	int messages, writable, registered_cb, sealed_dropped;
	uint64_t dropped_id;
};

static void *fk_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	(void)c;
	(void)url;
	struct fake *f = tctx;
	f->connects++;
	if (f->fail_connect)
		return NULL;
	f->h = (void *)++f->next_h;
	return f->h;
}

static int fk_send(void *tctx, void *h, int binary, const uint8_t *data, size_t len)
{
	struct fake *f = tctx;
	assert_ptr_equal(h, f->h);
	if (f->fail_send)
		return -1;
	assert_true(f->nsent < MAX_SENT);
	struct sent *s = &f->sent[f->nsent++];
	s->binary = binary;
	s->data = malloc(len + 1);
	memcpy(s->data, data, len);
	s->data[len] = 0;
	s->len = len;
	return 0;
}

static int fk_ping(void *tctx, void *h)
{
	(void)h;
	((struct fake *)tctx)->pings++;
	return 0;
}

static void fk_close(void *tctx, void *h, int graceful)
{
	(void)graceful;
	struct fake *f = tctx;
	assert_ptr_equal(h, f->h);
	f->closes++;
	f->h = NULL;
}

static const struct ns_gwc_transport fake_tr = { .connect = fk_connect, .send = fk_send,
	                                         .ping = fk_ping, .close = fk_close };

static void clear_sent(struct fake *f)
{
	for (size_t i = 0; i < f->nsent; i++)
		free(f->sent[i].data);
	f->nsent = 0;
}

static const struct sent *last_sent(struct fake *f)
{
	assert_true(f->nsent > 0);
	return &f->sent[f->nsent - 1];
}

/* ------------------------------------------------------------------ callbacks, ops */

static void cb_message(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user)
{
	(void)c;
	struct fake *f = user;
	assert_true(len <= sizeof f->msg);
	memcpy(f->msg, msg, len);
	f->msg_len = len;
	f->messages++;
}

static void cb_writable(struct ns_gwc *c, void *user)
{
	(void)c;
	((struct fake *)user)->writable++;
}

static void cb_registered(struct ns_gwc *c, void *user)
{
	(void)c;
	((struct fake *)user)->registered_cb++;
}

static void cb_sealed_dropped(struct ns_gwc *c, uint64_t id, void *user)
{
	(void)c;
	struct fake *f = user;
	f->sealed_dropped++;
	f->dropped_id = id;
}

static const struct ns_gwc_callbacks callbacks = { .on_message = cb_message,
	                                           .on_writable = cb_writable,
	                                           .on_registered = cb_registered,
	                                           .on_sealed_dropped = cb_sealed_dropped };

static struct ns_gwc_config base_config(void)
{
	struct ns_gwc_config cfg = { .url = "ws://127.0.0.1:1/", .response_timeout = 5,
		                     .ping_interval = 30, .ping_timeout = 30,
		                     .backoff_initial = 0.01, .backoff_max = 0.02 };
	return cfg;
}

static struct fake *fake_new(const struct ns_gwc_config *cfg, const struct ns_gwc_ops *ops)
{
	struct fake *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	ns_random(f->gw_seed, 32);
	uint8_t sk[64];
	ns_ed25519_from_seed(f->gw_pk, sk, f->gw_seed);
	ns_random(f->keys.identity_seed, 32);
	memcpy(f->keys.gateway_identity, f->gw_pk, 32);
	f->c = ns_gwc_new(f->loop, cfg, ops ? ops : ns_gwc_default_ops(), &f->keys, &fake_tr, f,
	                  &callbacks, f);
	assert_non_null(f->c);
	return f;
}

static void fake_free(struct fake *f)
{
	ns_gwc_free(f->c);
	ns_gwc_keys_clear(&f->keys);
	clear_sent(f);
	ev_loop_destroy(f->loop);
	free(f);
}

static void inject(struct fake *f, const char *text)
{
	ns_gwc_tr_message(f->c, f->h, 0, (const uint8_t *)text, strlen(text));
}

static void inject_bin(struct fake *f, const uint8_t *b, size_t n)
{
	ns_gwc_tr_message(f->c, f->h, 1, b, n);
}

static int state_is(struct fake *f, enum ns_gwc_state s)
{
	return ns_gwc_state(f->c) == s;
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until the state is s (or `seconds` passed). */
static void run_until_state(struct fake *f, enum ns_gwc_state s, double seconds)
{
	ev_tstamp end = ev_time() + seconds;
	while (!state_is(f, s) && ev_time() < end) {
		ev_timer t;
		ev_timer_init(&t, stop_cb, 0.005, 0.);
		ev_timer_start(f->loop, &t);
		ev_run(f->loop, 0);
		ev_timer_stop(f->loop, &t);
	}
}

static void run_for(struct fake *f, double seconds)
{
	ev_timer t;
	ev_timer_init(&t, stop_cb, seconds, 0.);
	ev_timer_start(f->loop, &t);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &t);
}

/* ------------------------------------------------------------------ scripted gateway */

static void expect_text(struct fake *f, const char *want)
{
	const struct sent *s = last_sent(f);
	assert_false(s->binary);
	assert_string_equal((const char *)s->data, want);
}

static void hs_payload_from_client(struct fake *f, uint8_t *out, size_t *len)
{
	const struct sent *s = last_sent(f);
	struct ns_gw_request r;
	assert_false(s->binary);
	assert_int_equal(ns_gw_request_parse((const char *)s->data, s->len, &r, NULL), 0);
	assert_int_equal(r.type, NS_GW_REQ_HANDSHAKE_PAYLOAD);
	assert_int_equal(r.protocol_version, 3);
	memcpy(out, r.data.data, r.data.len);
	*len = r.data.len;
	ns_gw_request_free(&r);
}

static void inject_hs(struct fake *f, const uint8_t *b, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(ns_gw_hs_payload_encode(3, b, n, &text, &len), 0);
	inject(f, text);
	free(text);
}

/* steps of the registration, for the malformed-input test */
enum reg_step { AT_PROTOCOL, AT_H2, AT_H4, AT_REGISTER, AT_CLAIM, AT_READY };

/* the gateway's H4 of the last drive_registration */
static uint8_t g_h4[NS_GW_HS_MAX_LEN];
static size_t g_h4_len;

/* Drives a new client up to `stop` (the gateway's answer for that step is not sent). */
static void drive_registration(struct fake *f, enum reg_step stop)
{
	struct ns_gw_hs hs;
	uint8_t b[NS_GW_HS_MAX_LEN], out[NS_GW_HS_MAX_LEN];
	size_t n = 0, on = 0;
	assert_int_equal(ns_gwc_start(f->c), 0);
	assert_true(state_is(f, NS_GWC_CONNECTING));
	ns_gwc_tr_open(f->c, f->h);
	assert_true(state_is(f, NS_GWC_PROTOCOL));
	expect_text(f, "{\"type\":\"supportedProtocol\"}");
	if (stop == AT_PROTOCOL)
		return;
	inject(f, "{\"type\":\"supportedProtocol\",\"version\":5}");
	assert_true(state_is(f, NS_GWC_REGISTERING));
	hs_payload_from_client(f, b, &n);
	assert_int_equal(n, NS_GW_H1_LEN); /* AES mode: salt included */
	if (stop == AT_H2)
		return;
	ns_gw_hs_gateway_begin(&hs, f->gw_seed);
	assert_int_equal(ns_gw_hs_gateway_h2(&hs, b, n, out, sizeof out, &on), 0);
	inject_hs(f, out, on);
	hs_payload_from_client(f, b, &n);
	assert_int_equal(n, NS_GW_H3_LEN);
	assert_int_equal(ns_gw_hs_gateway_h4(&hs, b, n, out, sizeof out, &on), 0);
	assert_int_equal(ns_gw_hs_key(&hs, &f->gw_key), 0);
	ns_gw_hs_clear(&hs);
	memcpy(g_h4, out, on);
	g_h4_len = on;
	if (stop == AT_H4)
		return;
	inject_hs(f, out, on);
	assert_true(f->keys.have_key);
	assert_memory_equal(f->keys.key.bytes, f->gw_key.bytes, 32);
	if (stop == AT_REGISTER)
		return;
	inject(f, "{\"type\":\"register\",\"protocol_version\":3,\"status\":true}");
	assert_int_equal(f->registered_cb, 1);
	assert_true(state_is(f, NS_GWC_CLAIMING));
	expect_text(f, "{\"type\":\"claimFreeTestnetBandwidth\"}");
	if (stop == AT_CLAIM)
		return;
	inject(f, "{\"type\":\"bandwidth\",\"available_total\":68719476736}");
	assert_true(state_is(f, NS_GWC_READY));
}

static uint8_t g_packet[NYM_PACKET_REGULAR_SIZE];

static struct nym_mix_packet test_packet(uint8_t fill)
{
	memset(g_packet, fill, sizeof g_packet);
	struct nym_mix_packet p = { .packet_type = NYM_PACKET_TYPE_MIX, .key_rotation = 1,
		                    .next_hop = { .ip_version = 4, .port = 1789,
		                                  .ip = { 127, 0, 0, 1 } },
		                    .packet = g_packet, .packet_len = sizeof g_packet };
	return p;
}

/* The binary frame the client sent as sent[i]: a ForwardSphinx(V2) with `fill` bytes. */
static void expect_forward(struct fake *f, size_t i, uint8_t kind, uint8_t fill)
{
	assert_true(i < f->nsent);
	const struct sent *s = &f->sent[i];
	assert_true(s->binary);
	static uint8_t pt[NYM_PACKET_MAX_SIZE + 64];
	struct ns_gw_binary_request r;
	assert_int_equal(ns_gw_binary_request_decode(&f->gw_key, s->data, s->len, pt, sizeof pt, &r),
	                 0);
	assert_int_equal(r.kind, kind);
	assert_int_equal(r.packet.packet_len, NYM_PACKET_REGULAR_SIZE);
	assert_int_equal(r.packet.packet[0], fill);
	assert_int_equal(r.packet.packet[NYM_PACKET_REGULAR_SIZE - 1], fill);
	assert_int_equal(r.packet.next_hop.port, 1789);
	assert_int_equal(r.packet.key_rotation, kind == 2 ? 1 : NYM_KEY_ROTATION_UNKNOWN);
}

static void push_message(struct fake *f, const char *msg)
{
	uint8_t frame[512];
	size_t n = 0;
	assert_int_equal(ns_gw_pushed_message_encode(&f->gw_key, (const uint8_t *)msg, strlen(msg),
	                                             frame, sizeof frame, &n),
	                 0);
	inject_bin(f, frame, n);
}

/* Answers supportedProtocol with `version` and checks the authenticate request. */
static void expect_auth(struct fake *f, uint8_t version, int v2)
{
	expect_text(f, "{\"type\":\"supportedProtocol\"}");
	char text[64];
	snprintf(text, sizeof text, "{\"type\":\"supportedProtocol\",\"version\":%u}", version);
	inject(f, text);
	assert_true(state_is(f, NS_GWC_AUTHENTICATING));
	const struct sent *s = last_sent(f);
	struct ns_gw_request r;
	assert_int_equal(ns_gw_request_parse((const char *)s->data, s->len, &r, NULL), 0);
	if (v2) {
		assert_int_equal(r.type, NS_GW_REQ_AUTHENTICATE_V2);
		assert_int_equal(r.auth.protocol_version, 4);
		assert_int_equal(ns_gw_auth_v2_verify(&r.auth, &f->gw_key, (uint64_t)time(NULL), 0,
		                                      NS_GW_DEFAULT_TIMESTAMP_SKEW, NULL),
		                 0);
	} else {
		assert_int_equal(r.type, NS_GW_REQ_AUTHENTICATE);
		assert_int_equal(ns_gw_auth_v1_verify(&r, &f->gw_key), 0);
	}
	ns_gw_request_free(&r);
}

/* A client that already holds the key f->gw_key. */
static struct fake *registered_client(struct ns_gwc_config cfg)
{
	cfg.registered = 1;
	struct fake *f = fake_new(&cfg, NULL);
	ns_random(f->gw_key.bytes, 32);
	f->keys.key = f->gw_key;
	f->keys.have_key = 1;
	return f;
}

static void authenticate_to_ready(struct fake *f)
{
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 5, 1);
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,"
	          "\"bandwidth_remaining\":100000000000}");
	assert_true(state_is(f, NS_GWC_READY));
}

/* ------------------------------------------------------------------ tests */

static void test_register_send_receive(void **state)
{
	(void)state;
	struct ns_gwc_config cfg = base_config();
	struct fake *f = fake_new(&cfg, NULL);
	drive_registration(f, AT_READY);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.gateway_protocol, 5);
	assert_int_equal(st.negotiated_protocol, 3);
	assert_true(st.bandwidth == 68719476736LL);

	struct nym_mix_packet p = test_packet(0xab);
	size_t before = f->nsent;
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	assert_int_equal(f->nsent, before + 1);
	expect_forward(f, before, NS_GW_BIN_FORWARD_SPHINX, 0xab); /* negotiated 3: kind 1 */
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.in_flight, 1);
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":68719474323}");
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.sent_confirmed, 1);
	assert_true(st.bandwidth == 68719474323LL);

	push_message(f, "hello from the mixnet");
	assert_int_equal(f->messages, 1);
	assert_int_equal(f->msg_len, strlen("hello from the mixnet"));
	assert_memory_equal(f->msg, "hello from the mixnet", f->msg_len);
	fake_free(f);
}

static void test_reconnect_resends_unconfirmed(void **state)
{
	(void)state;
	struct fake *f = registered_client(base_config());
	authenticate_to_ready(f);
	struct nym_mix_packet p;
	for (uint8_t i = 1; i <= 3; i++) {
		p = test_packet(i);
		assert_int_equal(ns_gwc_send(f->c, &p), 0);
	}
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999997587}"); /* confirms #1 */
	ns_gwc_tr_closed(f->c, f->h, 1006, "gone");
	assert_true(state_is(f, NS_GWC_BACKOFF));
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, NS_GWC_E_CLOSED);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.resent, 2);
	/* queued during the outage */
	p = test_packet(4);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	run_until_state(f, NS_GWC_CONNECTING, 2);
	assert_true(state_is(f, NS_GWC_CONNECTING));
	assert_int_equal(f->connects, 2);
	clear_sent(f);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 5, 1);
	/* protocol 5 negotiated this time: frames go out as ForwardSphinxV2 */
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":5,\"status\":true,"
	          "\"bandwidth_remaining\":99999997587}");
	assert_true(state_is(f, NS_GWC_READY));
	assert_int_equal(f->nsent, 5); /* supportedProtocol, authenticateV2, 3 frames */
	expect_forward(f, 2, NS_GW_BIN_FORWARD_SPHINX_V2, 2);
	expect_forward(f, 3, NS_GW_BIN_FORWARD_SPHINX_V2, 3);
	expect_forward(f, 4, NS_GW_BIN_FORWARD_SPHINX_V2, 4);
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.reconnect_attempts, 1);
	assert_int_equal(st.failed_attempts, 0);
	fake_free(f);
}

static void test_auth_refused_is_final(void **state)
{
	(void)state;
	struct fake *f = registered_client(base_config());
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 5, 1);
	inject(f, "{\"type\":\"error\",\"message\":\"the client is not registered\"}");
	assert_true(state_is(f, NS_GWC_FAILED));
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, NS_GWC_E_AUTH_REFUSED);
	assert_string_equal(st.last_error_text, "the client is not registered");
	assert_int_equal(f->closes, 1);
	run_for(f, 0.1);
	assert_int_equal(f->connects, 1); /* no retry */
	/* v1 refusal: status false */
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 3, 0); /* gateway without authenticateV2: v1 */
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":3,\"status\":false,"
	          "\"bandwidth_remaining\":0}");
	assert_true(state_is(f, NS_GWC_FAILED));
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, NS_GWC_E_AUTH_REFUSED);
	fake_free(f);
}

static const char *const garbage[] = {
	"not json",
	"{}",
	"{\"type\":\"send\"}",
	"{\"type\":\"nonsense\",\"x\":1}",
	"{\"type\":\"supportedProtocol\",\"version\":\"5\"}",
	"{\"type\":\"handshakePayload\",\"protocol_version\":3,\"data\":[1,2,3]}",
	"{\"type\":\"register\",\"protocol_version\":3,\"status\":true}",
	"{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,\"bandwidth_remaining\":1}",
	"{\"type\":\"bandwidth\",\"available_total\":5}",
	"{\"type\":\"register\",\"protocol_version\":9,\"status\":true}",
	"{\"type\":\"error\",\"message\":\"no\"}",
	"{\"type\":\"typedError\",\"error\":\"ticket_replay\"}",
	"[1,2,3]",
	"",
};

/* After a bad message: an error state with a reason and the connection dropped. */
static void expect_error_state(struct fake *f)
{
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_true(st.state == NS_GWC_BACKOFF || st.state == NS_GWC_FAILED);
	assert_true(st.last_error < 0);
	assert_true(st.last_error_text[0] != 0);
	assert_null(f->h);
}

#define G_REGISTER  6 /* garbage[] entries that are valid at one step */
#define G_AUTH      7
#define G_BANDWIDTH 8

/* Every malformed or out-of-place gateway message, at every step: an error state, never a
 * crash. The one message that is valid at a step must move the session on instead. */
static void test_malformed_at_every_step(void **state)
{
	(void)state;
	static const uint8_t junk[] = { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9 };
	const size_t ng = sizeof garbage / sizeof garbage[0];
	for (int step = AT_PROTOCOL; step <= AT_READY; step++) {
		for (size_t g = 0; g <= ng; g++) {
			struct ns_gwc_config cfg = base_config();
			struct fake *f = fake_new(&cfg, NULL);
			drive_registration(f, (enum reg_step)step);
			if (g < ng)
				inject(f, garbage[g]);
			else
				inject_bin(f, junk, sizeof junk);
			if (step == AT_REGISTER && g == G_REGISTER)
				assert_true(state_is(f, NS_GWC_CLAIMING));
			else if (step == AT_CLAIM && g == G_BANDWIDTH)
				assert_true(state_is(f, NS_GWC_READY));
			else
				expect_error_state(f);
			fake_free(f);
		}
	}
	/* the same on the authentication path */
	for (size_t g = 0; g <= ng; g++) {
		struct fake *f = registered_client(base_config());
		assert_int_equal(ns_gwc_start(f->c), 0);
		ns_gwc_tr_open(f->c, f->h);
		expect_auth(f, 5, 1);
		if (g < ng)
			inject(f, garbage[g]);
		else
			inject_bin(f, junk, sizeof junk); /* a stored message that does not open */
		if (g == G_AUTH)
			assert_true(state_is(f, NS_GWC_CLAIMING)); /* bandwidth 1: claims */
		else
			expect_error_state(f);
		fake_free(f);
	}
}

static void test_specific_errors(void **state)
{
	(void)state;
	struct ns_gwc_status st;
	/* a gateway protocol newer than 5 */
	struct fake *f = fake_new(&(struct ns_gwc_config){ .url = "ws://127.0.0.1:1/" }, NULL);
	drive_registration(f, AT_REGISTER);
	inject(f, "{\"type\":\"register\",\"protocol_version\":6,\"status\":true}");
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_FAILED);
	assert_int_equal(st.last_error, NS_GWC_E_PROTOCOL);
	fake_free(f);
	/* a handshakeError */
	f = fake_new(&(struct ns_gwc_config){ .url = "ws://127.0.0.1:1/" }, NULL);
	drive_registration(f, AT_H2);
	inject(f, "{\"type\":\"handshakeError\",\"message\":\"duplicate connection\"}");
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_FAILED);
	assert_int_equal(st.last_error, NS_GWC_E_REGISTER_REFUSED);
	assert_string_equal(st.last_error_text, "duplicate connection");
	fake_free(f);
	/* an H2 signed by someone else than the directory's gateway */
	f = fake_new(&(struct ns_gwc_config){ .url = "ws://127.0.0.1:1/" }, NULL);
	drive_registration(f, AT_H2);
	{
		struct ns_gw_hs hs;
		uint8_t other[32], h1[NS_GW_HS_MAX_LEN], out[NS_GW_HS_MAX_LEN];
		size_t n = 0, on = 0;
		ns_random(other, 32);
		hs_payload_from_client(f, h1, &n);
		ns_gw_hs_gateway_begin(&hs, other);
		assert_int_equal(ns_gw_hs_gateway_h2(&hs, h1, n, out, sizeof out, &on), 0);
		ns_gw_hs_clear(&hs);
		inject_hs(f, out, on);
	}
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_FAILED);
	assert_int_equal(st.last_error, NS_GWC_E_REGISTER_REFUSED);
	assert_false(f->keys.have_key);
	fake_free(f);
	/* free claim refused */
	f = fake_new(&(struct ns_gwc_config){ .url = "ws://127.0.0.1:1/" }, NULL);
	drive_registration(f, AT_CLAIM);
	inject(f, "{\"type\":\"error\",\"message\":\"This gateway is only accepting coconut "
	          "credentials for bandwidth\"}");
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_FAILED);
	assert_int_equal(st.last_error, NS_GWC_E_BANDWIDTH);
	fake_free(f);
	/* a pushed frame that does not open: dropped connection, counted */
	f = registered_client(base_config());
	authenticate_to_ready(f);
	{
		uint8_t frame[128];
		size_t n = 0;
		struct ns_gw_key wrong;
		ns_random(wrong.bytes, 32);
		wrong.legacy = 0;
		assert_int_equal(ns_gw_pushed_message_encode(&wrong, (const uint8_t *)"x", 1, frame,
		                                             sizeof frame, &n),
		                 0);
		inject_bin(f, frame, n);
	}
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_BACKOFF);
	assert_int_equal(st.last_error, NS_GWC_E_BAD_FRAME);
	assert_int_equal(st.bad_frames, 1);
	assert_int_equal(f->messages, 0);
	fake_free(f);
}

static void test_timeouts_and_keepalive(void **state)
{
	(void)state;
	struct ns_gwc_config cfg = base_config();
	cfg.response_timeout = 0.05;
	struct fake *f = fake_new(&cfg, NULL);
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	run_until_state(f, NS_GWC_BACKOFF, 1);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_BACKOFF);
	assert_int_equal(st.last_error, NS_GWC_E_TIMEOUT);
	fake_free(f);

	/* keepalive: a ping after ping_interval of silence, a pong keeps it alive, silence
	 * after the next ping ends the connection */
	cfg = base_config();
	cfg.ping_interval = 0.05;
	cfg.ping_timeout = 0.05;
	f = registered_client(cfg);
	authenticate_to_ready(f);
	run_for(f, 0.07);
	assert_int_equal(f->pings, 1);
	ns_gwc_tr_pong(f->c, f->h);
	run_for(f, 0.03);
	assert_true(state_is(f, NS_GWC_READY));
	run_until_state(f, NS_GWC_BACKOFF, 1);
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_BACKOFF);
	assert_int_equal(st.last_error, NS_GWC_E_TIMEOUT);
	assert_int_equal(f->pings, 2);
	fake_free(f);

	/* an unconfirmed frame times out too */
	cfg = base_config();
	cfg.response_timeout = 0.05;
	f = registered_client(cfg);
	authenticate_to_ready(f);
	struct nym_mix_packet p = test_packet(7);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	run_until_state(f, NS_GWC_BACKOFF, 1);
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, NS_GWC_E_TIMEOUT);
	assert_int_equal(st.queued, 1);
	fake_free(f);
}

static void test_backoff_and_give_up(void **state)
{
	(void)state;
	struct ns_gwc_config cfg = base_config();
	cfg.max_attempts = 4;
	struct fake *f = fake_new(&cfg, NULL);
	f->fail_connect = 1;
	assert_int_equal(ns_gwc_start(f->c), 0);
	run_until_state(f, NS_GWC_FAILED, 2);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.state, NS_GWC_FAILED);
	assert_int_equal(st.last_error, NS_GWC_E_GAVE_UP);
	assert_int_equal(f->connects, 4);
	assert_non_null(strstr(st.last_error_text, "could not connect"));
	/* start again: works once the gateway is back */
	f->fail_connect = 0;
	assert_int_equal(ns_gwc_start(f->c), 0);
	assert_true(state_is(f, NS_GWC_CONNECTING));
	fake_free(f);
}

static void test_queue_bound_and_writable(void **state)
{
	(void)state;
	struct ns_gwc_config cfg = base_config();
	cfg.max_queue = 4;
	struct fake *f = registered_client(cfg);
	struct nym_mix_packet p = test_packet(1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ns_gwc_send(f->c, &p), 0); /* queued before any connection */
	assert_int_equal(ns_gwc_send(f->c, &p), NS_GWC_E_QUEUE_FULL);
	authenticate_to_ready(f);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.in_flight, 4);
	assert_int_equal(ns_gwc_send(f->c, &p), NS_GWC_E_QUEUE_FULL);
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999997587}");
	assert_int_equal(f->writable, 0);
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999995174}");
	assert_int_equal(f->writable, 1);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	fake_free(f);
}

static void test_bandwidth_claims(void **state)
{
	(void)state;
	struct fake *f = registered_client(base_config());
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 5, 1);
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,"
	          "\"bandwidth_remaining\":40002000}");
	assert_true(state_is(f, NS_GWC_READY)); /* above the threshold: no claim */
	struct nym_mix_packet p = test_packet(5);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	/* out of bandwidth: the packet is kept, bandwidth claimed, then sent again */
	inject(f, "{\"type\":\"typedError\",\"error\":{\"out_of_bandwidth\":{\"required\":2413,"
	          "\"available\":0}}}");
	expect_text(f, "{\"type\":\"claimFreeTestnetBandwidth\"}");
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.queued, 1);
	size_t before = f->nsent;
	inject(f, "{\"type\":\"bandwidth\",\"available_total\":68719476736}");
	assert_int_equal(f->nsent, before + 1);
	expect_forward(f, before, NS_GW_BIN_FORWARD_SPHINX, 5);
	fake_free(f);
}

static void test_typed_error_shape(void **state)
{
	(void)state;
	/* checks the typedError text used above parses (so that test means something) */
	struct ns_gw_response r;
	const char *t = "{\"type\":\"typedError\",\"error\":{\"out_of_bandwidth\":{"
	                "\"required\":2413,\"available\":0}}}";
	assert_int_equal(ns_gw_response_parse(t, strlen(t), &r, NULL), 0);
	assert_int_equal(r.type, NS_GW_RESP_TYPED_ERROR);
	assert_int_equal(r.typed_error, NS_GW_TYPED_OUT_OF_BANDWIDTH);
	ns_gw_response_free(&r);
}

/* ---- asynchronous ops: results delivered later, stale ones ignored ---- */

struct pending_op {
	int used;
	uint64_t id;
	int kind; /* 1 auth, 2 seal */
	int v2;
	uint8_t protocol, skind;
	uint8_t pt[NYM_PACKET_MAX_SIZE + 64];
	size_t len;
};
static struct pending_op g_op;

static int async_auth(void *ctx, struct ns_gwc *c, uint64_t id, int v2, uint8_t protocol)
{
	(void)ctx;
	(void)c;
	g_op = (struct pending_op){ .used = 1, .id = id, .kind = 1, .v2 = v2, .protocol = protocol };
	return 0;
}

static int async_seal(void *ctx, struct ns_gwc *c, uint64_t id, uint8_t kind, const uint8_t *pt,
                      size_t len)
{
	(void)ctx;
	(void)c;
	g_op.used = 1;
	g_op.id = id;
	g_op.kind = 2;
	g_op.skind = kind;
	memcpy(g_op.pt, pt, len);
	g_op.len = len;
	return 0;
}

/* Runs the pending op with the default implementation and delivers its result. */
static void complete_op(struct fake *f)
{
	assert_true(g_op.used);
	g_op.used = 0;
	if (g_op.kind == 1)
		ns_gwc_default_ops()->auth_request(&f->keys, f->c, g_op.id, g_op.v2, g_op.protocol);
	else
		ns_gwc_default_ops()->seal(&f->keys, f->c, g_op.id, g_op.skind, g_op.pt, g_op.len);
}

static void test_async_ops(void **state)
{
	(void)state;
	struct ns_gwc_ops ops = *ns_gwc_default_ops();
	ops.auth_request = async_auth;
	ops.seal = async_seal;
	struct ns_gwc_config cfg = base_config();
	cfg.registered = 1;
	struct fake *f = fake_new(&cfg, &ops);
	ns_random(f->gw_key.bytes, 32);
	f->keys.key = f->gw_key;
	f->keys.have_key = 1;
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	inject(f, "{\"type\":\"supportedProtocol\",\"version\":5}");
	assert_true(state_is(f, NS_GWC_AUTHENTICATING));
	size_t before = f->nsent;
	assert_int_equal(f->nsent, before); /* nothing until keyd answers */
	complete_op(f);
	assert_int_equal(f->nsent, before + 1);
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,"
	          "\"bandwidth_remaining\":100000000000}");
	assert_true(state_is(f, NS_GWC_READY));
	struct nym_mix_packet p = test_packet(9);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	before = f->nsent;
	/* the connection drops while the seal is pending: its late result is ignored */
	uint64_t stale = g_op.id;
	ns_gwc_tr_closed(f->c, f->h, 1006, "gone");
	complete_op(f);
	assert_int_equal(f->nsent, before);
	ns_gwc_op_done(f->c, stale, 0, (const uint8_t *)"x", 1);
	assert_int_equal(f->nsent, before);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.queued, 2);
	/* back: both packets go out one seal at a time, in order */
	run_until_state(f, NS_GWC_CONNECTING, 2);
	ns_gwc_tr_open(f->c, f->h);
	inject(f, "{\"type\":\"supportedProtocol\",\"version\":5}");
	complete_op(f);
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,"
	          "\"bandwidth_remaining\":100000000000}");
	before = f->nsent;
	complete_op(f);
	assert_int_equal(f->nsent, before + 1);
	complete_op(f);
	assert_int_equal(f->nsent, before + 2);
	expect_forward(f, before + 1, NS_GW_BIN_FORWARD_SPHINX, 9);
	assert_false(g_op.used);
	fake_free(f);
}

/* ---- hs_finish answering late: the `register` answer (and a pushed message) that arrive
 * before it are held, not refused ---- */

static uint64_t g_finish_id;
static uint8_t g_finish_h4[NS_GW_HS_MAX_LEN];
static size_t g_finish_len;

static int deferred_hs_finish(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h4,
                              size_t len)
{
	(void)ctx;
	(void)c;
	assert_true(len <= sizeof g_finish_h4);
	g_finish_id = id;
	memcpy(g_finish_h4, h4, len);
	g_finish_len = len;
	return 0;
}

static void test_register_answer_before_finish(void **state)
{
	(void)state;
	struct ns_gwc_ops ops = *ns_gwc_default_ops();
	ops.hs_finish = deferred_hs_finish;
	struct ns_gwc_config cfg = base_config();
	struct fake *f = fake_new(&cfg, &ops);
	g_finish_id = 0;
	drive_registration(f, AT_H4);
	inject_hs(f, g_h4, g_h4_len);
	assert_true(g_finish_id != 0);
	assert_false(f->keys.have_key);
	/* the gateway does not wait for our key store */
	inject(f, "{\"type\":\"register\",\"protocol_version\":3,\"status\":true}");
	push_message(f, "stored for you");
	assert_true(state_is(f, NS_GWC_REGISTERING));
	assert_int_equal(f->registered_cb, 0);
	assert_int_equal(f->messages, 0);
	size_t before = f->nsent;
	/* keyd answers: the held answer and message are handled in order */
	assert_int_equal(ns_gwc_default_ops()->hs_finish(&f->keys, f->c, g_finish_id, g_finish_h4,
	                                                  g_finish_len),
	                 0);
	assert_true(f->keys.have_key);
	assert_memory_equal(f->keys.key.bytes, f->gw_key.bytes, 32);
	assert_int_equal(f->registered_cb, 1);
	assert_true(state_is(f, NS_GWC_CLAIMING));
	assert_int_equal(f->nsent, before + 1);
	expect_text(f, "{\"type\":\"claimFreeTestnetBandwidth\"}");
	assert_int_equal(f->messages, 1);
	assert_memory_equal(f->msg, "stored for you", f->msg_len);
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, 0);
	fake_free(f);

	/* a refusal still ends it; a lost connection forgets what was held */
	f = fake_new(&cfg, &ops);
	drive_registration(f, AT_H4);
	inject_hs(f, g_h4, g_h4_len);
	inject(f, "{\"type\":\"register\",\"protocol_version\":3,\"status\":false}");
	assert_true(state_is(f, NS_GWC_REGISTERING));
	ns_gwc_default_ops()->hs_finish(&f->keys, f->c, g_finish_id, g_finish_h4, g_finish_len);
	assert_true(state_is(f, NS_GWC_FAILED));
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.last_error, NS_GWC_E_REGISTER_REFUSED);
	fake_free(f);

	f = fake_new(&cfg, &ops);
	drive_registration(f, AT_H4);
	inject_hs(f, g_h4, g_h4_len);
	inject(f, "{\"type\":\"register\",\"protocol_version\":3,\"status\":true}");
	ns_gwc_tr_closed(f->c, f->h, 1006, "gone");
	assert_true(state_is(f, NS_GWC_BACKOFF));
	ns_gwc_op_done(f->c, g_finish_id, 0, NULL, 0); /* late: ignored */
	assert_int_equal(f->registered_cb, 0);
	assert_true(state_is(f, NS_GWC_BACKOFF));
	fake_free(f);
}

/* ---- pre-sealed frames: sent as is, resent unchanged after a reconnection ---- */

static size_t seal_test_frame(struct fake *f, uint8_t kind, uint8_t fill, uint8_t *out, size_t cap)
{
	struct nym_mix_packet p = test_packet(fill);
	if (kind == NS_GW_BIN_FORWARD_SPHINX)
		p.key_rotation = NYM_KEY_ROTATION_UNKNOWN;
	size_t n = 0;
	assert_int_equal(ns_gw_binary_request_encode(&f->gw_key, kind, &p, out, cap, &n), 0);
	return n;
}

static void expect_frame(struct fake *f, size_t i, const uint8_t *frame, size_t len)
{
	assert_true(i < f->nsent);
	assert_true(f->sent[i].binary);
	assert_int_equal(f->sent[i].len, len);
	assert_memory_equal(f->sent[i].data, frame, len);
}

static void test_sealed_frames(void **state)
{
	(void)state;
	static uint8_t fr[3][NYM_PACKET_MAX_SIZE + 128];
	size_t n[3];
	struct ns_gwc_ops ops = *ns_gwc_default_ops();
	ops.seal = NULL; /* the key holder seals: no seal op needed */
	struct ns_gwc_config cfg = base_config();
	cfg.registered = 1;
	struct fake *f = fake_new(&cfg, &ops);
	ns_random(f->gw_key.bytes, 32);
	f->keys.key = f->gw_key;
	f->keys.have_key = 1;
	assert_int_equal(ns_gwc_forward_kind(f->c), 0);
	struct nym_mix_packet p = test_packet(1);
	assert_int_equal(ns_gwc_send(f->c, &p), NS_GWC_E_ARG);
	assert_int_equal(ns_gwc_send_sealed(f->c, 3, fr[0], 10, 1), NS_GWC_E_ARG);
	assert_int_equal(ns_gwc_send_sealed(f->c, 1, NULL, 10, 1), NS_GWC_E_ARG);
	assert_int_equal(ns_gwc_send_sealed(f->c, 1, fr[0], 0, 1), NS_GWC_E_ARG);
	authenticate_to_ready(f); /* negotiated 4 */
	assert_int_equal(ns_gwc_forward_kind(f->c), NS_GW_BIN_FORWARD_SPHINX);
	n[0] = seal_test_frame(f, 1, 0x11, fr[0], sizeof fr[0]);
	n[1] = seal_test_frame(f, 1, 0x22, fr[1], sizeof fr[1]);
	n[2] = seal_test_frame(f, 2, 0x33, fr[2], sizeof fr[2]);
	size_t before = f->nsent;
	assert_int_equal(ns_gwc_send_sealed(f->c, 1, fr[0], n[0], 100), 0);
	assert_int_equal(ns_gwc_send_sealed(f->c, 1, fr[1], n[1], 101), 0);
	assert_int_equal(f->nsent, before + 2);
	expect_frame(f, before, fr[0], n[0]);
	expect_forward(f, before + 1, NS_GW_BIN_FORWARD_SPHINX, 0x22);
	/* kind 2 does not fit a session at protocol 4: dropped, reported by id */
	assert_int_equal(ns_gwc_send_sealed(f->c, 2, fr[2], n[2], 102), 0);
	assert_int_equal(f->nsent, before + 2);
	assert_int_equal(f->sealed_dropped, 1);
	assert_true(f->dropped_id == 102);
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999997587}"); /* confirms #1 */
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.sent_confirmed, 1);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(st.sealed_dropped, 1);
	/* reconnect at protocol 5: the unconfirmed frame goes out again byte for byte, and a
	 * kind 2 frame now fits */
	ns_gwc_tr_closed(f->c, f->h, 1006, "gone");
	assert_int_equal(ns_gwc_send_sealed(f->c, 2, fr[2], n[2], 103), 0);
	run_until_state(f, NS_GWC_CONNECTING, 2);
	clear_sent(f);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 5, 1);
	inject(f, "{\"type\":\"authenticate\",\"protocol_version\":5,\"status\":true,"
	          "\"bandwidth_remaining\":99999997587}");
	assert_true(state_is(f, NS_GWC_READY));
	assert_int_equal(ns_gwc_forward_kind(f->c), NS_GW_BIN_FORWARD_SPHINX_V2);
	assert_int_equal(f->nsent, 4);
	expect_frame(f, 2, fr[1], n[1]);
	expect_frame(f, 3, fr[2], n[2]);
	expect_forward(f, 3, NS_GW_BIN_FORWARD_SPHINX_V2, 0x33);
	assert_int_equal(f->sealed_dropped, 1);
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999995000}");
	inject(f, "{\"type\":\"send\",\"remaining_bandwidth\":99999993000}");
	ns_gwc_get_status(f->c, &st);
	assert_int_equal(st.sent_confirmed, 3);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.resent, 1);
	fake_free(f);
}

static void test_api_misuse(void **state)
{
	(void)state;
	struct ns_gwc_config cfg = base_config();
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	assert_null(ns_gwc_new(loop, &cfg, NULL, NULL, &fake_tr, NULL, NULL, NULL));
	struct ns_gwc_config nourl = { 0 };
	assert_null(ns_gwc_new(loop, &nourl, ns_gwc_default_ops(), NULL, &fake_tr, NULL, NULL, NULL));
	ev_loop_destroy(loop);
	struct fake *f = fake_new(&cfg, NULL);
	assert_int_equal(ns_gwc_send(f->c, NULL), NS_GWC_E_ARG);
	assert_int_equal(ns_gwc_start(f->c), 0);
	assert_int_equal(ns_gwc_start(f->c), NS_GWC_E_STATE);
	/* events for another connection are ignored */
	ns_gwc_tr_message(f->c, (void *)0x999, 0, (const uint8_t *)"x", 1);
	ns_gwc_tr_closed(f->c, (void *)0x999, 1000, "");
	assert_true(state_is(f, NS_GWC_CONNECTING));
	ns_gwc_stop(f->c);
	assert_true(state_is(f, NS_GWC_STOPPED));
	assert_null(f->h);
	assert_string_equal(ns_gwc_state_name(NS_GWC_READY), "ready");
	assert_string_equal(ns_gwc_strerror(NS_GWC_E_AUTH_REFUSED), "authentication refused");
	fake_free(f);
}

/* A gateway older than protocol 3: legacy key handshake (no salt, payload protocol 1),
 * then v1 authentication on the next connection, frames under the legacy key. */
static void test_old_gateway_legacy_key(void **state)
{
	(void)state;
	struct fake *f = fake_new(&(struct ns_gwc_config){ .url = "ws://127.0.0.1:1/",
	                                                   .backoff_initial = 0.01 },
	                          NULL);
	assert_int_equal(ns_gwc_start(f->c), 0);
	ns_gwc_tr_open(f->c, f->h);
	inject(f, "{\"type\":\"supportedProtocol\",\"version\":2}");
	const struct sent *s = last_sent(f);
	struct ns_gw_request r;
	assert_int_equal(ns_gw_request_parse((const char *)s->data, s->len, &r, NULL), 0);
	assert_int_equal(r.type, NS_GW_REQ_HANDSHAKE_PAYLOAD);
	assert_int_equal(r.protocol_version, 1);
	assert_int_equal(r.data.len, NS_GW_H1_LEGACY_LEN);
	struct ns_gw_hs hs;
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t on = 0;
	ns_gw_hs_gateway_begin(&hs, f->gw_seed);
	assert_int_equal(ns_gw_hs_gateway_h2(&hs, r.data.data, r.data.len, out, sizeof out, &on), 0);
	ns_gw_request_free(&r);
	char *text = NULL;
	size_t tl = 0;
	assert_int_equal(ns_gw_hs_payload_encode(1, out, on, &text, &tl), 0);
	inject(f, text);
	free(text);
	s = last_sent(f);
	assert_int_equal(ns_gw_request_parse((const char *)s->data, s->len, &r, NULL), 0);
	assert_int_equal(r.protocol_version, 1);
	assert_int_equal(ns_gw_hs_gateway_h4(&hs, r.data.data, r.data.len, out, sizeof out, &on), 0);
	ns_gw_request_free(&r);
	assert_int_equal(ns_gw_hs_key(&hs, &f->gw_key), 0);
	ns_gw_hs_clear(&hs);
	assert_int_equal(ns_gw_hs_payload_encode(1, out, on, &text, &tl), 0);
	inject(f, text);
	free(text);
	assert_true(f->keys.key.legacy);
	inject(f, "{\"type\":\"register\",\"protocol_version\":1,\"status\":true}");
	inject(f, "{\"type\":\"bandwidth\",\"available_total\":68719476736}");
	assert_true(state_is(f, NS_GWC_READY));
	struct nym_mix_packet p = test_packet(3);
	size_t before = f->nsent;
	assert_int_equal(ns_gwc_send(f->c, &p), 0);
	expect_forward(f, before, NS_GW_BIN_FORWARD_SPHINX, 3);
	/* lost: the next connection authenticates with v1 */
	ns_gwc_tr_closed(f->c, f->h, 1006, "gone");
	run_until_state(f, NS_GWC_CONNECTING, 2);
	ns_gwc_tr_open(f->c, f->h);
	expect_auth(f, 2, 0);
	fake_free(f);
}

int main(void)
{
	if (ns_crypto_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_send_receive),
		cmocka_unit_test(test_reconnect_resends_unconfirmed),
		cmocka_unit_test(test_auth_refused_is_final),
		cmocka_unit_test(test_malformed_at_every_step),
		cmocka_unit_test(test_specific_errors),
		cmocka_unit_test(test_timeouts_and_keepalive),
		cmocka_unit_test(test_backoff_and_give_up),
		cmocka_unit_test(test_queue_bound_and_writable),
		cmocka_unit_test(test_bandwidth_claims),
		cmocka_unit_test(test_typed_error_shape),
		cmocka_unit_test(test_async_ops),
		cmocka_unit_test(test_register_answer_before_finish),
		cmocka_unit_test(test_sealed_frames),
		cmocka_unit_test(test_api_misuse),
		cmocka_unit_test(test_old_gateway_legacy_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
