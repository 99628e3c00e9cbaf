/* libFuzzer: the gateway-client state machine (common/gwclient) driven by a scripted
 * transport. The input is a list of events: gateway text / binary messages from the input,
 * connection open / close, pongs, packets to send, and "the gateway answers correctly"
 * (a real gateway side from common/gateway/, so the fuzzer gets past the handshake).
 * Properties: no crash; every packet accepted is either confirmed, queued or in flight;
 * after an error the connection is gone and a reason is set; every forward frame the
 * client writes decodes under the gateway's key to the packet that was queued; a pushed
 * message sealed by the gateway reaches on_message unchanged. */
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "gwclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct ns_gwc *c;
	struct ns_gwc_keys keys;
	uintptr_t next_h;
	void *h;
	char *last_text;           /* last text the client sent */
	unsigned text_gen;         /* counts the texts the client sent */
	struct ns_gw_request req;  /* last_text parsed (the gateway's side), */
	unsigned req_gen;          /* for text number req_gen; 0: none */
	int req_ok;
	struct ns_gw_hs hs;        /* gateway side of a registration */
	int hs_step;
	struct ns_gw_key gw_key;
	int have_gw_key;
	uint8_t packet_fill;       /* fill byte of the packets queued (all the same) */
	const uint8_t *expect_msg; /* pushed message in flight */
	size_t expect_len;
	int got_msg;
};

static uint8_t gw_seed[32], gw_pk[32], client_seed[32];
static struct ev_loop *loop;

static void *f_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	(void)c;
	(void)url;
	struct fz *f = tctx;
	f->h = (void *)++f->next_h;
	f->hs_step = 0;
	return f->h;
}

static void check_forward(struct fz *f, const uint8_t *frame, size_t len)
{
	static uint8_t pt[NYM_PACKET_MAX_SIZE + 64];
	struct ns_gw_binary_request r;
	if (!f->have_gw_key)
		return;
	if (ns_gw_binary_request_decode(&f->gw_key, frame, len, pt, sizeof pt, &r) != 0 ||
	    r.packet.packet_len != NYM_PACKET_ACK_SIZE || r.packet.packet[0] != f->packet_fill ||
	    r.packet.packet[NYM_PACKET_ACK_SIZE - 1] != f->packet_fill)
		abort();
}

static int f_send(void *tctx, void *h, int binary, const uint8_t *d, size_t len)
{
	struct fz *f = tctx;
	if (h != f->h)
		abort(); /* writes only on the live connection */
	if (binary) {
		check_forward(f, d, len);
		return 0;
	}
	free(f->last_text);
	f->last_text = malloc(len + 1);
	if (!f->last_text)
		abort();
	memcpy(f->last_text, d, len);
	f->last_text[len] = 0;
	f->text_gen++;
	return 0;
}

static int f_ping(void *tctx, void *h)
{
	(void)tctx;
	(void)h;
	return 0;
}

static void f_close(void *tctx, void *h, int graceful)
{
	(void)graceful;
	struct fz *f = tctx;
	if (h != f->h)
		abort();
	f->h = NULL;
}

static const struct ns_gwc_transport tr = { .connect = f_connect, .send = f_send,
	                                    .ping = f_ping, .close = f_close };

static void on_message(struct ns_gwc *c, const uint8_t *m, size_t len, void *user)
{
	(void)c;
	struct fz *f = user;
	if (f->expect_msg && (len != f->expect_len || memcmp(m, f->expect_msg, len)))
		abort();
	f->got_msg++;
}

static const struct ns_gwc_callbacks cbs = { .on_message = on_message };

static void inject(struct fz *f, const char *text)
{
	ns_gwc_tr_message(f->c, f->h, 0, (const uint8_t *)text, strlen(text));
}

/* The last text the client sent, parsed as the gateway parses it: once per text, however
 * often the input asks for the answer (each parse of a handshake payload was half of this
 * target's time). */
static const struct ns_gw_request *last_request(struct fz *f)
{
	if (!f->last_text)
		return NULL;
	if (f->req_gen != f->text_gen) {
		if (f->req_ok)
			ns_gw_request_free(&f->req);
		f->req_ok = ns_gw_request_parse(f->last_text, strlen(f->last_text), &f->req, NULL) == 0;
		f->req_gen = f->text_gen;
	}
	return f->req_ok ? &f->req : NULL;
}

/* The gateway's correct answer to the last text the client sent. */
static void answer(struct fz *f)
{
	const struct ns_gw_request *rp = f->h ? last_request(f) : NULL;
	if (!rp)
		return;
	const struct ns_gw_request r = *rp;
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n = 0;
	char *text = NULL;
	size_t tl = 0;
	switch (r.type) {
	case NS_GW_REQ_SUPPORTED_PROTOCOL:
		inject(f, "{\"type\":\"supportedProtocol\",\"version\":5}");
		break;
	case NS_GW_REQ_HANDSHAKE_PAYLOAD:
		if (f->hs_step == 0) {
			ns_gw_hs_gateway_begin(&f->hs, gw_seed);
			if (ns_gw_hs_gateway_h2(&f->hs, r.data.data, r.data.len, out, sizeof out, &n) == 0) {
				f->hs_step = 1;
				if (ns_gw_hs_payload_encode(3, out, n, &text, &tl) == 0)
					inject(f, text);
			}
		} else if (f->hs_step == 1 &&
		           ns_gw_hs_gateway_h4(&f->hs, r.data.data, r.data.len, out, sizeof out, &n) ==
		                   0 &&
		           ns_gw_hs_key(&f->hs, &f->gw_key) == 0) {
			f->have_gw_key = 1;
			f->hs_step = 2;
			if (ns_gw_hs_payload_encode(3, out, n, &text, &tl) == 0)
				inject(f, text);
			inject(f, "{\"type\":\"register\",\"protocol_version\":3,\"status\":true}");
		}
		break;
	case NS_GW_REQ_AUTHENTICATE_V2:
	case NS_GW_REQ_AUTHENTICATE:
		inject(f, "{\"type\":\"authenticate\",\"protocol_version\":4,\"status\":true,"
		          "\"bandwidth_remaining\":1000}");
		break;
	case NS_GW_REQ_CLAIM_FREE_BANDWIDTH:
		inject(f, "{\"type\":\"bandwidth\",\"available_total\":68719476736}");
		break;
	default:
		break;
	}
	free(text);
}

static void check_invariants(struct fz *f, uint64_t accepted)
{
	struct ns_gwc_status st;
	ns_gwc_get_status(f->c, &st);
	if (st.sent_confirmed + st.queued + st.in_flight != accepted)
		abort();
	if (st.state == NS_GWC_BACKOFF || st.state == NS_GWC_FAILED) {
		if (f->h || st.last_error >= 0 || !st.last_error_text[0])
			abort();
	}
	if (st.state != NS_GWC_READY && st.in_flight)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		if (ns_crypto_init() < 0)
			abort();
		memset(gw_seed, 7, 32);
		memset(client_seed, 9, 32);
		uint8_t sk[64];
		ns_ed25519_from_seed(gw_pk, sk, gw_seed);
		loop = ev_loop_new(EVFLAG_AUTO);
		init = 1;
	}
	if (size < 1)
		return 0;
	static struct fz f;
	memset(&f, 0, sizeof f);
	memcpy(f.keys.identity_seed, client_seed, 32);
	memcpy(f.keys.gateway_identity, gw_pk, 32);
	struct ns_gwc_config cfg = { .url = "ws://127.0.0.1:1/", .max_queue = 8 };
	if (data[0] & 1) { /* already registered: both sides know the key */
		cfg.registered = 1;
		memset(f.gw_key.bytes, data[0], 32);
		f.have_gw_key = 1;
		f.keys.key = f.gw_key;
		f.keys.have_key = 1;
	}
	f.packet_fill = data[0];
	f.c = ns_gwc_new(loop, &cfg, ns_gwc_default_ops(), &f.keys, &tr, &f, &cbs, &f);
	if (!f.c)
		abort();
	ns_gwc_start(f.c);
	static uint8_t packet[NYM_PACKET_ACK_SIZE];
	memset(packet, f.packet_fill, sizeof packet);
	struct nym_mix_packet p = { .packet_type = 0, .key_rotation = 1,
		                    .next_hop = { .ip_version = 4, .port = 1, .ip = { 127, 0, 0, 1 } },
		                    .packet = packet, .packet_len = sizeof packet };
	uint64_t accepted = 0;
	size_t i = 1;
	while (i < size) {
		uint8_t op = data[i++] % 9;
		size_t len = i < size ? data[i++] : 0;
		if (len > size - i)
			len = size - i;
		const uint8_t *arg = data + i;
		switch (op) {
		case 0: /* text from the input */
		case 1: /* binary from the input */
			i += len;
			ns_gwc_tr_message(f.c, f.h, op, arg, len);
			break;
		case 2:
			ns_gwc_tr_open(f.c, f.h);
			break;
		case 3: /* the connection is gone (no close call follows for it) */
			ns_gwc_tr_closed(f.c, f.h, 1006, "fuzz");
			f.h = NULL;
			break;
		case 4:
			if (ns_gwc_send(f.c, &p) == 0)
				accepted++;
			break;
		case 5: /* the gateway confirms one packet */
			inject(&f, "{\"type\":\"send\",\"remaining_bandwidth\":68719476736}");
			break;
		case 6:
			answer(&f);
			break;
		case 7: /* a pushed message sealed by the gateway */
			i += len;
			if (f.have_gw_key) {
				static uint8_t frame[512];
				size_t n = 0;
				if (ns_gw_pushed_message_encode(&f.gw_key, arg, len, frame, sizeof frame, &n) ==
				    0) {
					int before = f.got_msg;
					struct ns_gwc_status st;
					ns_gwc_get_status(f.c, &st);
					f.expect_msg = arg;
					f.expect_len = len;
					ns_gwc_tr_message(f.c, f.h, 1, frame, n);
					f.expect_msg = NULL;
					/* delivered whenever a session with that key is being authenticated or up */
					if (f.h && (st.state == NS_GWC_READY || st.state == NS_GWC_CLAIMING) &&
					    f.got_msg != before + 1)
						abort();
				}
			}
			break;
		case 8: /* restart after a failure / stop */
			if (len & 1)
				ns_gwc_stop(f.c);
			else
				ns_gwc_start(f.c);
			break;
		}
		/* a backoff timer would reconnect: do it now */
		if (ns_gwc_state(f.c) == NS_GWC_BACKOFF && (op == 2 || op == 6)) {
			ns_gwc_stop(f.c);
			ns_gwc_start(f.c);
		}
		check_invariants(&f, accepted);
	}
	ns_gwc_free(f.c);
	ns_gwc_keys_clear(&f.keys);
	ns_gw_hs_clear(&f.hs);
	if (f.req_ok)
		ns_gw_request_free(&f.req);
	free(f.last_text);
	return 0;
}
