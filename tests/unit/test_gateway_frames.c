/* Binary frames and the shared key: the real client's ack frame, forward requests of
 * both kinds, legacy frames, and every malformed frame. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"
#include "gateway/frames.h"
#include "gateway/shared_key.h"
#include "nymsphinx/params.h"
#include "unit/util.h"

/* gateway.frames[2] of tests/vectors/real-client-packets.json: the 21-byte ack push. */
static const char *KEY = "6051514a280a7aad9cdcfe9065c324919e65a5b98b069d1f48b03159f188e4dc";
static const char *NONCE = "b80d154d90f2e8a8c2bde3c3";
static const char *FRAME = "0101b80d154d90f2e8a8c2bde3c32746c5c99823cba5f5b7c1eb83f3cc174b695b0c2d63a0d6a304386044267fdac40b82f971";
static const char *PLAIN = "7edce0c3e07963321721bdf62b0ec573b210155bb3";

struct ack {
	struct ns_gw_key key;
	uint8_t nonce[12], frame[51], plain[21];
};

static void load(struct ack *a)
{
	memset(a, 0, sizeof *a);
	assert_int_equal(util_unhex(KEY, a->key.bytes, 32), 32);
	assert_int_equal(util_unhex(NONCE, a->nonce, 12), 12);
	assert_int_equal(util_unhex(FRAME, a->frame, 51), 51);
	assert_int_equal(util_unhex(PLAIN, a->plain, 21), 21);
}

static void test_vector_push(void **state)
{
	struct ack a;
	uint8_t out[64], kind;
	size_t n;
	(void)state;
	load(&a);
	assert_int_equal(ns_gw_frame_len(&a.key, 21), 51);
	assert_int_equal(ns_gw_pushed_message_encode_det(&a.key, a.plain, 21, a.nonce, out, sizeof out, &n), 0);
	assert_int_equal(n, 51);
	assert_memory_equal(out, a.frame, 51);
	assert_int_equal(ns_gw_pushed_message_decode(&a.key, a.frame, 51, out, sizeof out, &n), 0);
	assert_int_equal(n, 21);
	assert_memory_equal(out, a.plain, 21);
	assert_int_equal(ns_gw_frame_open(&a.key, a.frame, 51, &kind, out, sizeof out, &n), 0);
	assert_int_equal(kind, 1);
	/* a random nonce gives a different but valid frame */
	assert_int_equal(ns_gw_pushed_message_encode(&a.key, a.plain, 21, out, sizeof out, &n), 0);
	assert_memory_not_equal(out + 2, a.nonce, 12);
	assert_int_equal(ns_gw_pushed_message_decode(&a.key, out, n, out, sizeof out, &n), 0);
	assert_memory_equal(out, a.plain, 21);
}

static void test_malformed_frames(void **state)
{
	struct ack a;
	uint8_t bad[64], out[64], kind;
	size_t n;
	(void)state;
	load(&a);
	for (size_t len = 0; len < 51; len++) {
		int rc = ns_gw_pushed_message_decode(&a.key, a.frame, len, out, sizeof out, &n);
		assert_int_equal(rc, len < 14 ? NS_GW_ETOO_SHORT : NS_GW_EAEAD);
	}
	for (size_t i = 0; i < 51; i++) { /* every bit of nonce and ciphertext is covered */
		memcpy(bad, a.frame, 51);
		bad[i] ^= 0x40;
		int rc = ns_gw_pushed_message_decode(&a.key, bad, 51, out, sizeof out, &n);
		assert_int_equal(rc, i == 0 ? NS_GW_EUNKNOWN_KIND : i == 1 ? NS_GW_EBAD_FLAG : NS_GW_EAEAD);
	}
	memcpy(bad, a.frame, 51);
	bad[1] = 0;
	assert_int_equal(ns_gw_frame_open(&a.key, bad, 51, &kind, out, sizeof out, &n), NS_GW_EPLAINTEXT_FRAME);
	bad[1] = 2;
	assert_int_equal(ns_gw_frame_open(&a.key, bad, 51, &kind, out, sizeof out, &n), NS_GW_EBAD_FLAG);
	memcpy(bad, a.frame, 51);
	bad[0] = 2; /* kind is not authenticated: a PushedMixMessage decoder still refuses it */
	assert_int_equal(ns_gw_pushed_message_decode(&a.key, bad, 51, out, sizeof out, &n), NS_GW_EUNKNOWN_KIND);
	assert_int_equal(ns_gw_frame_open(&a.key, bad, 51, &kind, out, sizeof out, &n), 0);
	assert_int_equal(kind, 2);
	/* output buffer too small */
	assert_int_equal(ns_gw_pushed_message_decode(&a.key, a.frame, 51, out, 20, &n), NS_GW_EARG);
	assert_int_equal(ns_gw_frame_seal_det(&a.key, 1, a.nonce, a.plain, 21, out, 50, &n), NS_GW_EARG);
	assert_int_equal(ns_gw_frame_seal_det(&a.key, 1, NULL, a.plain, 21, out, 64, &n), NS_GW_EMISSING_NONCE);
	/* empty plaintext: the shortest valid frame */
	assert_int_equal(ns_gw_frame_seal_det(&a.key, 1, a.nonce, NULL, 0, out, 64, &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(ns_gw_frame_open(&a.key, out, 30, &kind, bad, sizeof bad, &n), 0);
	assert_int_equal(n, 0);
}

static void make_packet(struct nym_mix_packet *p, uint8_t *bytes, int v6)
{
	memset(p, 0, sizeof *p);
	ns_random(bytes, NYM_PACKET_REGULAR_SIZE);
	p->packet_type = NYM_PACKET_TYPE_MIX;
	p->key_rotation = NYM_KEY_ROTATION_ODD;
	p->next_hop.ip_version = v6 ? 6 : 4;
	p->next_hop.port = 1789;
	p->next_hop.ip[0] = 127;
	p->next_hop.ip[3] = 1;
	p->packet = bytes;
	p->packet_len = NYM_PACKET_REGULAR_SIZE;
}

static void test_forward_requests(void **state)
{
	static uint8_t pkt[NYM_PACKET_REGULAR_SIZE], frame[4096], pt[4096];
	struct nym_mix_packet p;
	struct ns_gw_binary_request r;
	struct ns_gw_key key = {0};
	uint8_t nonce[12] = {7};
	size_t n;
	(void)state;
	ns_random(key.bytes, 32);
	for (int v6 = 0; v6 <= 1; v6++) {
		make_packet(&p, pkt, v6);
		/* kind 1: MixPacket v1, 1 + 7 + 2413 = 2421 plaintext bytes, 2451-byte frame */
		assert_int_equal(ns_gw_binary_request_encode_det(&key, 1, &p, nonce, frame, sizeof frame, &n), 0);
		assert_int_equal(n, v6 ? 2463 : 2451);
		assert_int_equal(frame[0], 1);
		assert_int_equal(frame[1], 1);
		assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), 0);
		assert_int_equal(r.kind, 1);
		assert_int_equal(r.packet.key_rotation, NYM_KEY_ROTATION_UNKNOWN);
		assert_int_equal(r.packet.next_hop.port, 1789);
		assert_int_equal(r.packet.next_hop.ip_version, v6 ? 6 : 4);
		assert_int_equal(r.packet.packet_len, NYM_PACKET_REGULAR_SIZE);
		assert_memory_equal(r.packet.packet, pkt, NYM_PACKET_REGULAR_SIZE);
		/* kind 2 carries the rotation byte */
		assert_int_equal(ns_gw_binary_request_encode(&key, 2, &p, frame, sizeof frame, &n), 0);
		assert_int_equal(n, v6 ? 2464 : 2452);
		assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), 0);
		assert_int_equal(r.kind, 2);
		assert_int_equal(r.packet.key_rotation, NYM_KEY_ROTATION_ODD);
		assert_memory_equal(r.packet.packet, pkt, NYM_PACKET_REGULAR_SIZE);
	}
	/* unknown kinds are refused before decryption, for encoding too */
	frame[0] = 3;
	assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), NS_GW_EUNKNOWN_KIND);
	assert_int_equal(ns_gw_binary_request_encode(&key, 3, &p, frame, sizeof frame, &n), NS_GW_EUNKNOWN_KIND);
	/* a kind-2 frame relabelled as kind 1 decrypts but is no MixPacket v1 of a valid size */
	assert_int_equal(ns_gw_binary_request_encode(&key, 2, &p, frame, sizeof frame, &n), 0);
	frame[0] = 1;
	assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), NS_GW_EMIX_PACKET);
	/* a sealed garbage plaintext */
	assert_int_equal(ns_gw_frame_seal_det(&key, 2, nonce, pkt, 100, frame, sizeof frame, &n), 0);
	assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), NS_GW_EMIX_PACKET);
	/* another session's key */
	assert_int_equal(ns_gw_binary_request_encode(&key, 2, &p, frame, sizeof frame, &n), 0);
	key.bytes[0] ^= 1;
	assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), NS_GW_EAEAD);
}

static void test_legacy_frames(void **state)
{
	static uint8_t pkt[NYM_PACKET_REGULAR_SIZE], frame[4096], pt[4096];
	struct nym_mix_packet p;
	struct ns_gw_binary_request r;
	struct ns_gw_key key = {0};
	uint8_t kind;
	size_t n;
	(void)state;
	key.legacy = 1;
	ns_random(key.bytes, 32);
	make_packet(&p, pkt, 0);
	assert_int_equal(ns_gw_binary_request_encode(&key, 1, &p, frame, sizeof frame, &n), 0);
	assert_int_equal(n, 32 + 2421); /* HMAC || CTR ciphertext, no kind/flag/nonce */
	assert_int_equal(ns_gw_binary_request_decode(&key, frame, n, pt, sizeof pt, &r), 0);
	assert_int_equal(r.kind, 1);
	assert_memory_equal(r.packet.packet, pkt, NYM_PACKET_REGULAR_SIZE);
	assert_int_equal(ns_gw_binary_request_encode(&key, 2, &p, frame, sizeof frame, &n), NS_GW_EARG);
	/* zero IV: the same plaintext always gives the same frame */
	assert_int_equal(ns_gw_frame_seal(&key, 1, pkt, 10, frame, sizeof frame, &n), 0);
	assert_int_equal(ns_gw_frame_seal(&key, 1, pkt, 10, pt, sizeof pt, &n), 0);
	assert_memory_equal(frame, pt, n);
	frame[40] ^= 1;
	assert_int_equal(ns_gw_frame_open(&key, frame, n, &kind, pt, sizeof pt, &n), NS_GW_EMAC);
	assert_int_equal(ns_gw_frame_open(&key, frame, 31, &kind, pt, sizeof pt, &n), NS_GW_ETOO_SHORT);
}

static void test_shared_key_rules(void **state)
{
	struct ns_gw_key aes = {0}, legacy = {0}, up, up2;
	uint8_t pt[32] = {1, 2, 3}, ct[80], back[80], iv[16] = {9}, salt[16] = {4}, digest[32];
	size_t n, m;
	(void)state;
	ns_random(aes.bytes, 32);
	legacy.legacy = 1;
	ns_random(legacy.bytes, 32);
	assert_int_equal(ns_gw_key_nonce_len(&aes), 12);
	assert_int_equal(ns_gw_key_nonce_len(&legacy), 16);
	assert_int_equal(ns_gw_key_encrypt(&aes, NULL, 0, pt, 32, ct, sizeof ct, &n), NS_GW_EMISSING_NONCE);
	assert_int_equal(ns_gw_key_encrypt(&aes, iv, 16, pt, 32, ct, sizeof ct, &n), NS_GW_EMALFORMED_NONCE);
	assert_int_equal(ns_gw_key_encrypt(&legacy, iv, 12, pt, 32, ct, sizeof ct, &n), NS_GW_EMALFORMED_NONCE);
	/* legacy: NULL and empty IV are the zero IV */
	assert_int_equal(ns_gw_key_encrypt_naive(&legacy, NULL, 0, pt, 32, ct, sizeof ct, &n), 0);
	assert_int_equal(n, 32);
	memset(iv, 0, 16);
	assert_int_equal(ns_gw_key_encrypt_naive(&legacy, iv, 16, pt, 32, back, sizeof back, &m), 0);
	assert_memory_equal(ct, back, 32);
	assert_int_equal(ns_gw_key_encrypt(&legacy, iv, 16, pt, 32, ct, sizeof ct, &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(ns_gw_key_decrypt(&legacy, NULL, 0, ct, n, back, sizeof back, &m), 0);
	assert_memory_equal(back, pt, 32);
	ct[0] ^= 1;
	assert_int_equal(ns_gw_key_decrypt(&legacy, NULL, 0, ct, n, back, sizeof back, &m), NS_GW_EMAC);
	assert_int_equal(ns_gw_key_decrypt(&aes, iv, 12, ct, 15, back, sizeof back, &m), NS_GW_EAEAD);
	/* key upgrade */
	assert_int_equal(ns_gw_key_upgrade(&aes, salt, 16, &up), NS_GW_ENOT_LEGACY);
	assert_int_equal(ns_gw_key_upgrade(&legacy, salt, 16, &up), 0);
	assert_int_equal(up.legacy, 0);
	ns_gw_key_digest(&up, digest);
	assert_int_equal(ns_gw_key_upgrade_verify(&legacy, salt, 16, digest, 32, &up2), 0);
	assert_memory_equal(&up, &up2, sizeof up);
	digest[31] ^= 1;
	assert_int_equal(ns_gw_key_upgrade_verify(&legacy, salt, 16, digest, 32, &up2), NS_GW_EKEY_DIGEST);
	assert_int_equal(ns_gw_key_upgrade_verify(&legacy, salt, 16, digest, 31, &up2), NS_GW_EKEY_DIGEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_push),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_forward_requests),
		cmocka_unit_test(test_legacy_frames),
		cmocka_unit_test(test_shared_key_rules),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
