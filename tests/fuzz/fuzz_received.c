/* The client's receive path on outside bytes. The first byte picks the mode:
 *  0: nym_receive with a fixed key set; what is accepted must be coherent: an ack
 *     re-encrypts (with the pushed IV) to the pushed bytes, a reply fragment re-encrypts
 *     to the pushed bytes, an e2e fragment decrypts the same way twice;
 *  1: the gateway's SURB-ack split of a final plaintext;
 *  2: the rest flips bytes (u16 LE offset, xor value) in a valid e2e push and a valid
 *     reply push, which must then be received or refused without harm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/e2e.h"
#include "nymsphinx/receiver.h"
#include "nymsphinx/replies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define PUSH_LEN (32 + 1611)

static struct nym_receiver rx;
static uint8_t surb_key[16], our_pk[32];
static uint8_t valid_e2e[PUSH_LEN], valid_reply[PUSH_LEN];

static int lookup(void *ctx, const uint8_t digest[32], uint8_t key[16])
{
	uint8_t d[32];
	(void)ctx;
	nym_surb_key_digest(surb_key, d);
	if (memcmp(d, digest, 32) != 0)
		return -1;
	memcpy(key, surb_key, 16);
	return 0;
}

static void setup(void)
{
	uint8_t e[32], frag[1611];
	struct nym_frag_header h = {.set_id = 99, .total = 3, .current = 2};

	CHECK(ns_crypto_init() == 0);
	memset(rx.encryption_secret, 0x11, 32);
	memset(rx.ack_key, 0x22, 16);
	memset(surb_key, 0x33, 16);
	memset(e, 0x44, 32);
	rx.surb_keys.lookup = lookup;
	ns_x25519_base(our_pk, rx.encryption_secret);
	memset(frag, 0x55, sizeof frag);
	CHECK(nym_frag_header_encode(&h, frag, sizeof frag) == 7);
	CHECK(nym_e2e_encrypt_with(e, our_pk, frag, sizeof frag, valid_e2e) == 0);
	CHECK(nym_reply_encrypt_fragment(surb_key, frag, sizeof frag, valid_reply) == 0);
}

static void check_received(const uint8_t *in, size_t len)
{
	static uint8_t buf[70000], again[70000];
	struct nym_received got;

	if (len > sizeof buf || nym_receive(&rx, in, len, buf, sizeof buf, &got) != 0)
		return;
	if (got.kind == NYM_RECEIVED_ACK) {
		uint8_t re[NYM_ACK_PAYLOAD_LEN], fid[5];
		CHECK(len == NYM_ACK_PAYLOAD_LEN);
		nym_frag_id_encode(&got.frag_id, fid);
		CHECK(memcmp(fid, got.raw_frag_id, 5) == 0);
		CHECK(nym_ack_payload_encrypt(rx.ack_key, in, got.raw_frag_id, re) == 0);
		CHECK(memcmp(re, in, len) == 0);
		return;
	}
	CHECK(got.kind == NYM_RECEIVED_FRAGMENT || got.kind == NYM_RECEIVED_COVER);
	CHECK(got.data == buf && got.data_len == len - 32);
	if (got.via_reply) {
		CHECK(nym_reply_encrypt_fragment(surb_key, buf, got.data_len, again) == 0);
		CHECK(memcmp(again, in, len) == 0);
	} else {
		CHECK(nym_e2e_decrypt(rx.encryption_secret, in, len, again) == 0);
		CHECK(memcmp(again, buf, got.data_len) == 0);
	}
	if (got.kind == NYM_RECEIVED_FRAGMENT) {
		struct nym_fragment f;
		CHECK(nym_fragment_decode(buf, got.data_len, &f) == NYM_CHUNK_OK);
	}
}

static void check_split(const uint8_t *in, size_t len)
{
	uint8_t hop[32];
	const uint8_t *ack, *rest;
	size_t rest_len;

	if (nym_surb_ack_split(in, len, hop, &ack, &rest, &rest_len) != 0) {
		CHECK(len < NYM_SURB_ACK_LEN || (in[0] != 4 && in[0] != 6));
		return;
	}
	CHECK(len >= NYM_SURB_ACK_LEN && (in[0] == 4 || in[0] == 6));
	CHECK(memcmp(hop, in, in[0] == 4 ? 7 : 19) == 0);
	CHECK(ack == in + NYM_ACK_ADDR_LEN && rest == in + NYM_SURB_ACK_LEN);
	CHECK(rest_len == len - NYM_SURB_ACK_LEN);
}

static void flipped(const uint8_t *in, size_t len)
{
	uint8_t e2e[PUSH_LEN], reply[PUSH_LEN];

	memcpy(e2e, valid_e2e, sizeof e2e);
	memcpy(reply, valid_reply, sizeof reply);
	for (size_t i = 0; i + 3 <= len; i += 3) {
		size_t off = (size_t)(in[i] | in[i + 1] << 8) % PUSH_LEN;
		e2e[off] ^= in[i + 2];
		reply[off] ^= in[i + 2];
	}
	check_received(e2e, sizeof e2e);
	check_received(reply, sizeof reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		setup();
		init = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: check_received(data + 1, size - 1); break;
	case 1: check_split(data + 1, size - 1); break;
	default: flipped(data + 1, size - 1); break;
	}
	return 0;
}
