/* Receiver: classifying and decrypting gateway pushes (acks, e2e fragments, replies,
 * cover) and rejecting malformed ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "crypto.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/cover.h"
#include "nymsphinx/e2e.h"
#include "nymsphinx/receiver.h"
#include "nymsphinx/replies.h"
#include "unit/util.h"

static uint8_t our_pk[32];
static struct nym_receiver rx;
static uint8_t known_key[16];

static int lookup(void *ctx, const uint8_t digest[32], uint8_t key[16])
{
	uint8_t d[32];
	(void)ctx;
	nym_surb_key_digest(known_key, d);
	if (memcmp(d, digest, 32) != 0)
		return -1;
	memcpy(key, known_key, 16);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&rx, 0, sizeof rx);
	ns_random(rx.encryption_secret, 32);
	ns_x25519_base(our_pk, rx.encryption_secret);
	nym_ack_key_generate(rx.ack_key);
	nym_surb_key_generate(known_key);
	rx.surb_keys.lookup = lookup;
	return 0;
}

static void make_fragment(uint8_t *frag, size_t len)
{
	struct nym_frag_header h = {.set_id = 1234, .total = 2, .current = 2};
	ns_random(frag, len);
	assert_int_equal(nym_frag_header_encode(&h, frag, len), 7);
}

static void test_real_ack(void **state)
{
	struct nym_receiver r = {0};
	struct nym_received got;
	uint8_t in[21];

	(void)state;
	assert_int_equal(util_unhex("2b4a1518bc7024ac34660c094f7e61d4", r.ack_key, 16), 16);
	assert_int_equal(util_unhex("7edce0c3e07963321721bdf62b0ec573b210155bb3", in, 21), 21);
	assert_int_equal(nym_receive(&r, in, sizeof in, NULL, 0, &got), 0);
	assert_int_equal(got.kind, NYM_RECEIVED_ACK);
	assert_int_equal(got.frag_id.set_id, 0x3f4e7571);
	assert_int_equal(got.frag_id.position, 1);
	assert_memory_equal(got.raw_frag_id, "\x3f\x4e\x75\x71\x01", 5);
}

static void test_ack_with_negative_set_id(void **state)
{
	struct nym_received got;
	uint8_t in[21], fid[5] = {0x80, 0, 0, 1, 1};

	(void)state;
	assert_int_equal(nym_ack_payload_encrypt(rx.ack_key, NULL, fid, in), 0);
	assert_int_equal(nym_receive(&rx, in, sizeof in, NULL, 0, &got), -1);
}

static void test_e2e_fragment(void **state)
{
	uint8_t frag[1611], in[32 + 1611], buf[1611];
	struct nym_received got;

	(void)state;
	make_fragment(frag, sizeof frag);
	assert_int_equal(nym_e2e_encrypt(our_pk, frag, sizeof frag, in), 0);
	assert_int_equal(nym_receive(&rx, in, sizeof in, buf, sizeof buf, &got), 0);
	assert_int_equal(got.kind, NYM_RECEIVED_FRAGMENT);
	assert_int_equal(got.via_reply, 0);
	assert_ptr_equal(got.data, buf);
	assert_int_equal(got.data_len, sizeof frag);
	assert_memory_equal(buf, frag, sizeof frag);
	/* output buffer too small */
	assert_int_equal(nym_receive(&rx, in, sizeof in, buf, sizeof buf - 1, &got), -1);
	assert_int_equal(nym_receive(&rx, in, sizeof in, NULL, sizeof buf, &got), -1);
}

static void test_reply_fragment(void **state)
{
	uint8_t frag[1611], in[32 + 1611], buf[1611];
	struct nym_received got;

	(void)state;
	make_fragment(frag, sizeof frag);
	assert_int_equal(nym_reply_encrypt_fragment(known_key, frag, sizeof frag, in), 0);
	assert_int_equal(nym_receive(&rx, in, sizeof in, buf, sizeof buf, &got), 0);
	assert_int_equal(got.kind, NYM_RECEIVED_FRAGMENT);
	assert_int_equal(got.via_reply, 1);
	assert_memory_equal(buf, frag, sizeof frag);
	/* an unknown key: taken as e2e, which does not give a valid fragment here */
	{
		uint8_t other[16];
		ns_random(other, sizeof other);
		assert_int_equal(nym_reply_encrypt_fragment(other, frag, sizeof frag, in), 0);
		if (nym_receive(&rx, in, sizeof in, buf, sizeof buf, &got) == 0)
			assert_int_equal(got.via_reply, 0);
	}
}

static void test_cover(void **state)
{
	uint8_t content[1611], in[32 + 1611], buf[1611];
	struct nym_received got;

	(void)state;
	nym_cover_content(content, sizeof content);
	assert_int_equal(nym_e2e_encrypt(our_pk, content, sizeof content, in), 0);
	assert_int_equal(nym_receive(&rx, in, sizeof in, buf, sizeof buf, &got), 0);
	assert_int_equal(got.kind, NYM_RECEIVED_COVER);
}

static void test_malformed(void **state)
{
	uint8_t in[64] = {0}, buf[64];
	uint8_t bad[40];
	struct nym_received got;

	(void)state;
	for (size_t len = 0; len < 32; len++)
		if (len != 21)
			assert_int_equal(nym_receive(&rx, in, len, buf, sizeof buf, &got), -1);
	/* 32 bytes: key only, empty fragment: no header */
	assert_int_equal(nym_receive(&rx, in, 32, buf, sizeof buf, &got), -1);
	/* a valid encryption of something that is not a fragment (no flag bit) */
	memset(bad, 0, sizeof bad);
	assert_int_equal(nym_e2e_encrypt(our_pk, bad, 8, in), 0);
	assert_int_equal(nym_receive(&rx, in, 40, buf, sizeof buf, &got), -1);
	assert_int_equal(nym_receive(NULL, in, 40, buf, sizeof buf, &got), -1);
	assert_int_equal(nym_receive(&rx, NULL, 40, buf, sizeof buf, &got), -1);
	assert_int_equal(nym_receive(&rx, in, 40, buf, sizeof buf, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_ack),
		cmocka_unit_test(test_ack_with_negative_set_id),
		cmocka_unit_test(test_e2e_fragment),
		cmocka_unit_test(test_reply_fragment),
		cmocka_unit_test(test_cover),
		cmocka_unit_test(test_malformed),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
