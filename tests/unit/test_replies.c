/* Anonymous replies: SURB keys, ReplySurb V1/V2, RepliableMessage and ReplyMessage
 * encode/parse (and their malformed forms), and a full SURB reply round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "nymsphinx/preparer.h"
#include "nymsphinx/receiver.h"
#include "nymsphinx/replies.h"
#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"
#include "unit/util_nymnet.h"

static void hex(uint8_t *out, size_t len, const char *h)
{
	assert_int_equal(util_unhex(h, out, len), (long)len);
}

static struct testnet net;
static struct testclient alice, bob;

static int setup(void **state)
{
	(void)state;
	testnet_init(&net);
	testclient_init(&net, &alice);
	testclient_init(&net, &bob);
	return 0;
}

static void preparer_for(struct nym_preparer *p, const struct testclient *c)
{
	memset(p, 0, sizeof *p);
	p->topology = &net.topo;
	p->self = c->addr;
	memcpy(p->ack_key, c->ack_key, sizeof p->ack_key);
	p->average_packet_delay_ns = 1000;
	p->average_ack_delay_ns = 1000;
	p->packet_size_tag = NYM_PACKET_REGULAR;
}

static void test_digest_vectors(void **state)
{
	uint8_t key[16], d[32], want[32];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	hex(want, 32, "a6a492965517a830cb75fdb713465aa465f2f098233896fea44c1d98268bf9e3");
	nym_surb_key_digest(key, d);
	assert_memory_equal(d, want, 32);
	memset(key, 0x07, 16);
	hex(want, 32, "591207b6b8ec343c2961e3eccdf4f0e97c6f06821672ec565f366d505399e6a4");
	nym_surb_key_digest(key, d);
	assert_memory_equal(d, want, 32);
	/* a real one: reply_surb_request's SURB key */
	hex(key, 16, "4f76b088a95299d178e58de33ccdfed5");
	hex(want, 32, "c789345faba41afa97b415c4e263e1e556be6cea15745ef1429e70fd95172e3f");
	nym_surb_key_digest(key, d);
	assert_memory_equal(d, want, 32);
}

static void make_surbs(int legacy, size_t n, struct nym_reply_surb *out)
{
	struct nym_preparer p;
	preparer_for(&p, &alice);
	assert_int_equal(nym_preparer_reply_surbs(&p, legacy, n, out), 0);
}

static void test_reply_surb_serialization(void **state)
{
	struct nym_reply_surb s[2], back;
	uint8_t buf[NYM_REPLY_SURB_MAX_LEN], buf2[NYM_REPLY_SURB_MAX_LEN];

	(void)state;
	make_surbs(0, 1, &s[0]);
	make_surbs(1, 1, &s[1]);
	assert_int_equal(nym_reply_surb_len(&s[0]), 460);
	assert_int_equal(nym_reply_surb_len(&s[1]), NYM_REPLY_SURB_V1_LEN);
	assert_int_equal(NYM_REPLY_SURB_V1_LEN, 1164);
	assert_int_equal(s[0].key_rotation, 1);
	for (int i = 0; i < 2; i++) {
		long n = nym_reply_surb_to_bytes(&s[i], buf, sizeof buf);
		assert_int_equal(n, (long)nym_reply_surb_len(&s[i]));
		assert_memory_equal(buf, s[i].key, 16);
		assert_memory_equal(buf + 16, s[i].surb.header, 348);
		assert_memory_equal(buf + 16 + 348, s[i].surb.first_hop, 32);
		assert_int_equal(nym_reply_surb_from_bytes(buf, (size_t)n, &back), 0);
		assert_int_equal(back.surb.material_len, i == 0 ? 16 : 192);
		assert_int_equal(back.surb.n_hops, 4);
		assert_int_equal(nym_reply_surb_to_bytes(&back, buf2, sizeof buf2), n);
		assert_memory_equal(buf, buf2, (size_t)n);
		/* too small a buffer */
		assert_true(nym_reply_surb_to_bytes(&s[i], buf, (size_t)n - 1) < 0);
		/* truncated / bad first hop */
		assert_true(nym_reply_surb_from_bytes(buf, (size_t)n - 1, &back) < 0);
		assert_true(nym_reply_surb_from_bytes(buf, 16, &back) < 0);
		assert_true(nym_reply_surb_from_bytes(buf, 0, &back) < 0);
		buf[16 + 348] = 9;
		assert_int_equal(nym_reply_surb_from_bytes(buf, (size_t)n, &back), NYM_REPLY_ERR_SURB);
	}
	assert_int_equal(nym_reply_surb_max_msg_len(NYM_PACKET_REGULAR), 1610);
	assert_int_equal(nym_reply_surb_max_msg_len(NYM_PACKET_ACK), 0);
}

static void test_repliable_all_tags(void **state)
{
	struct nym_reply_surb v2[3], v1[2];
	struct nym_repliable_msg m;
	uint8_t tag[16], *buf, data[] = "some data";
	size_t cap = 16 + 1 + 4 + 3 * NYM_REPLY_SURB_V1_LEN + sizeof data + 8;

	(void)state;
	make_surbs(0, 3, v2);
	make_surbs(1, 2, v1);
	ns_random(tag, sizeof tag);
	buf = malloc(cap);
	assert_non_null(buf);
	for (uint8_t t = 0; t <= 5; t++) {
		int v1tag = t <= 2;
		const struct nym_reply_surb *s = v1tag ? v1 : v2;
		size_t n = v1tag ? 2 : 3, want;
		long len = nym_repliable_encode(tag, t, s, n, data, sizeof data, buf, cap);
		want = 17 + 4 + n * nym_reply_surb_len(&s[0]) + (t == 0 || t == 3 ? sizeof data : 0);
		assert_int_equal(len, (long)want);
		assert_int_equal(nym_repliable_encoded_len(t, s, n, sizeof data), want);
		assert_memory_equal(buf, tag, 16);
		assert_int_equal(buf[16], t);
		if (v1tag) {
			assert_memory_equal(buf + 17, "\x00\x00\x00\x02", 4);
		} else {
			assert_memory_equal(buf + 17, "\x00\x03\x04\x01", 4); /* 3 SURBs, 4 hops, odd rotation */
		}
		assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), 0);
		assert_int_equal(m.content_tag, t);
		assert_int_equal(m.num_surbs, n);
		assert_int_equal(m.surb_hops, 4);
		assert_int_equal(m.key_rotation, v1tag ? 0 : 1);
		assert_int_equal(m.surb_len, v1tag ? 1164 : 460);
		if (t == 0 || t == 3) {
			assert_int_equal(m.data_len, sizeof data);
			assert_memory_equal(m.data, data, sizeof data);
		} else {
			assert_int_equal(m.data_len, 0);
		}
		for (size_t i = 0; i < n; i++) {
			struct nym_reply_surb got;
			assert_int_equal(nym_repliable_surb(&m, i, &got), 0);
			assert_memory_equal(got.key, s[i].key, 16);
			assert_memory_equal(got.surb.header, s[i].surb.header, 348);
		}
		assert_true(nym_repliable_surb(&m, n, &v2[0]) < 0);
	}
	/* no SURBs at all */
	assert_int_equal(nym_repliable_encode(tag, 3, NULL, 0, data, sizeof data, buf, cap), 17 + 4 + (long)sizeof data);
	assert_int_equal(nym_repliable_parse(buf, 17 + 4 + sizeof data, &m), 0);
	assert_int_equal(m.num_surbs, 0);
	/* mixed SURB sizes and small buffers are refused */
	{
		struct nym_reply_surb mix[2] = {v1[0], v2[0]};
		assert_true(nym_repliable_encode(tag, 4, mix, 2, NULL, 0, buf, cap) < 0);
		assert_true(nym_repliable_encode(tag, 4, v2, 3, NULL, 0, buf, 100) < 0);
		assert_true(nym_repliable_encode(tag, 6, v2, 3, NULL, 0, buf, cap) < 0);
		/* V1 tags carry V1 SURBs only, V2 tags V2 SURBs only */
		assert_true(nym_repliable_encode(tag, 1, v2, 3, NULL, 0, buf, cap) < 0);
		assert_true(nym_repliable_encode(tag, 4, v1, 2, NULL, 0, buf, cap) < 0);
	}
	free(buf);
}

static void test_repliable_malformed(void **state)
{
	struct nym_reply_surb v2[2], v1[1];
	struct nym_repliable_msg m;
	uint8_t tag[16] = {0}, buf[4096], data[5] = "hello";
	long len;

	(void)state;
	make_surbs(0, 2, v2);
	make_surbs(1, 1, v1);
	/* every truncation of a DataV2 message: short ones fail, longer ones just lose data */
	len = nym_repliable_encode(tag, 3, v2, 2, data, sizeof data, buf, sizeof buf);
	assert_true(len > 0);
	for (long l = 0; l < len; l++) {
		int rc = nym_repliable_parse(buf, (size_t)l, &m);
		if (l < 17 + 4 + 2 * 460)
			assert_true(rc < 0);
		else
			assert_int_equal(m.data_len, (size_t)l - (17 + 4 + 2 * 460));
	}
	assert_int_equal(nym_repliable_parse(buf, 17, &m), NYM_REPLY_ERR_SHORT); /* empty content */
	/* unknown tags */
	for (int t = 6; t < 256; t++) {
		buf[16] = (uint8_t)t;
		assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), NYM_REPLY_ERR_TAG);
	}
	buf[16] = 3;
	/* key rotation 3 */
	buf[20] = 3;
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), NYM_REPLY_ERR_ROTATION);
	buf[20] = 1;
	/* more SURBs than bytes */
	buf[17] = 0xff;
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), NYM_REPLY_ERR_SHORT);
	buf[17] = 0;
	/* a hop count that does not match the SURBs: mis-framed, rejected */
	buf[19] = 5;
	assert_true(nym_repliable_parse(buf, (size_t)len, &m) < 0);
	buf[19] = 0; /* 0 hops: 396-byte "SURBs" without materials */
	assert_true(nym_repliable_parse(buf, (size_t)len, &m) < 0);
	buf[19] = 4;
	/* a SURB whose first hop is not a node address */
	buf[21 + 16 + 348] = 0x07;
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), NYM_REPLY_ERR_SURB);
	buf[21 + 16 + 348] = 0x04;
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), 0);

	/* V1: a count of 2^32 - 1 must not overflow the length check */
	len = nym_repliable_encode(tag, 1, v1, 1, NULL, 0, buf, sizeof buf);
	assert_int_equal(len, 17 + 4 + 1164);
	memset(buf + 17, 0xff, 4);
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), NYM_REPLY_ERR_SHORT);
	memcpy(buf + 17, "\x00\x00\x00\x01", 4);
	assert_int_equal(nym_repliable_parse(buf, (size_t)len - 1, &m), NYM_REPLY_ERR_SHORT);
	assert_int_equal(nym_repliable_parse(buf, (size_t)len, &m), 0);
	/* trailing bytes after AdditionalSurbs are tolerated (Nym only warns) */
	buf[len] = 0xaa;
	assert_int_equal(nym_repliable_parse(buf, (size_t)len + 1, &m), 0);
	assert_int_equal(nym_repliable_parse(NULL, 10, &m), NYM_REPLY_ERR_ARG);
}

static void test_reply_message(void **state)
{
	struct nym_reply_msg m, got;
	uint8_t buf[256], rbytes[96];
	long len;

	(void)state;
	memset(&m, 0, sizeof m);
	m.content_tag = NYM_REPLY_DATA;
	m.data = (const uint8_t *)"reply via surb";
	m.data_len = 14;
	len = nym_reply_msg_encode(&m, buf, sizeof buf);
	assert_int_equal(len, 15);
	assert_memory_equal(buf, "\x00reply via surb", 15);
	assert_int_equal(nym_reply_msg_parse(buf, (size_t)len, &got), 0);
	assert_int_equal(got.data_len, 14);
	assert_memory_equal(got.data, "reply via surb", 14);
	assert_int_equal(nym_reply_msg_parse(buf, 1, &got), NYM_REPLY_ERR_SHORT); /* no data */
	assert_int_equal(nym_reply_msg_parse(buf, 0, &got), NYM_REPLY_ERR_SHORT);
	assert_true(nym_reply_msg_encode(&m, buf, 14) < 0);

	nym_recipient_to_bytes(&alice.addr, rbytes);
	memset(&m, 0, sizeof m);
	m.content_tag = NYM_REPLY_SURB_REQUEST;
	memcpy(m.recipient, rbytes, 96);
	m.amount = 10;
	len = nym_reply_msg_encode(&m, buf, sizeof buf);
	assert_int_equal(len, 101);
	assert_int_equal(buf[0], 1);
	assert_memory_equal(buf + 1, rbytes, 96);
	assert_memory_equal(buf + 97, "\x00\x00\x00\x0a", 4);
	assert_int_equal(nym_reply_msg_parse(buf, 101, &got), 0);
	assert_int_equal(got.amount, 10);
	assert_memory_equal(got.recipient, rbytes, 96);
	assert_int_equal(nym_reply_msg_parse(buf, 100, &got), NYM_REPLY_ERR_SHORT);
	buf[101] = 0;
	assert_int_equal(nym_reply_msg_parse(buf, 102, &got), NYM_REPLY_ERR_SHORT);
	/* an identity key that is not a curve point (y = 2 is not on ed25519) */
	memset(buf + 1, 0, 32);
	buf[1] = 2;
	assert_int_equal(nym_reply_msg_parse(buf, 101, &got), NYM_REPLY_ERR_RECIPIENT);
	for (int t = 2; t < 256; t++) {
		buf[0] = (uint8_t)t;
		assert_int_equal(nym_reply_msg_parse(buf, 101, &got), NYM_REPLY_ERR_TAG);
	}
}

static void test_reply_payload(void **state)
{
	uint8_t key[16], frag[100], out[132], back[100], digest[32];
	struct nym_reply_surb s;
	uint8_t pt[2048], *pkt = malloc(2413), hop[32];

	(void)state;
	ns_random(key, 16);
	ns_random(frag, sizeof frag);
	assert_int_equal(nym_reply_encrypt_fragment(key, frag, sizeof frag, out), 0);
	nym_surb_key_digest(key, digest);
	assert_memory_equal(out, digest, 32);
	assert_memory_not_equal(out + 32, frag, sizeof frag);
	assert_int_equal(nym_reply_decrypt(key, out + 32, sizeof frag, back), 0);
	assert_memory_equal(back, frag, sizeof frag);
	/* apply_surb wants exactly the plaintext size */
	make_surbs(0, 1, &s);
	assert_non_null(pkt);
	memset(pt, 0, sizeof pt);
	assert_int_equal(nym_reply_surb_apply(&s, pt, 2047, NYM_PACKET_REGULAR, pkt, hop), NYM_REPLY_ERR_ARG);
	assert_int_equal(nym_reply_surb_apply(&s, pt, 2048, 99, pkt, hop), NYM_REPLY_ERR_ARG);
	assert_int_equal(nym_reply_surb_apply(&s, pt, 2048, NYM_PACKET_REGULAR, pkt, hop), 0);
	assert_memory_equal(pkt, s.surb.header, 348);
	assert_memory_equal(hop, s.surb.first_hop, 32);
	free(pkt);
}

/* Alice's stored SURB keys. */
struct key_store {
	uint8_t key[8][16];
	int used[8];
	size_t n;
};

static int store_lookup(void *ctx, const uint8_t digest[32], uint8_t key[16])
{
	struct key_store *st = ctx;
	uint8_t d[32];
	for (size_t i = 0; i < st->n; i++) {
		nym_surb_key_digest(st->key[i], d);
		if (!st->used[i] && memcmp(d, digest, 32) == 0) {
			memcpy(key, st->key[i], 16);
			st->used[i] = 1; /* single use */
			return 0;
		}
	}
	return -1;
}

/* Alice sends Bob a repliable message with SURBs; Bob replies through them; the packets
 * cross the 4 nodes; Alice decrypts with her stored keys and reassembles the reply. */
static void surb_round_trip(int legacy, size_t reply_len)
{
	struct nym_reply_surb surbs[3], bob_surbs[3];
	struct key_store store = {0};
	struct nym_repliable_msg rm;
	struct nym_preparer bp;
	struct nym_prepared_fragment *pk = NULL;
	struct nym_receiver ar;
	struct nym_reasm_message done = {0};
	struct nym_reassembler *reasm = nym_reasm_new(NULL);
	uint8_t tag[16], *msg = malloc(8192), *reply = malloc(reply_len + 1);
	size_t npk = 0, used = 0;
	long mlen;
	int complete = 0;

	assert_non_null(reasm);
	assert_non_null(msg);
	assert_non_null(reply);
	make_surbs(legacy, 3, surbs);
	for (int i = 0; i < 3; i++)
		memcpy(store.key[store.n++], surbs[i].key, 16);
	ns_random(tag, sizeof tag);
	mlen = nym_repliable_encode(tag, legacy ? NYM_REPLIABLE_DATA_V1 : NYM_REPLIABLE_DATA_V2, surbs, 3,
	                            (const uint8_t *)"hi", 2, msg, 8192);
	assert_true(mlen > 0);

	/* Bob's side: parse, take the SURBs, reply */
	assert_int_equal(nym_repliable_parse(msg, (size_t)mlen, &rm), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(nym_repliable_surb(&rm, i, &bob_surbs[i]), 0);
	reply[0] = NYM_REPLY_DATA;
	ns_random(reply + 1, reply_len);
	preparer_for(&bp, &bob);
	assert_int_equal(nym_prepare_message(&bp, NYM_MSG_REPLY, reply, reply_len + 1, NULL,
	                                     bob_surbs, 3, &used, &pk, &npk), 0);
	assert_int_equal(used, npk);
	assert_true(npk >= 1);

	memset(&ar, 0, sizeof ar);
	memcpy(ar.encryption_secret, alice.enc_sk, 32);
	memcpy(ar.ack_key, alice.ack_key, 16);
	ar.surb_keys.lookup = store_lookup;
	ar.surb_keys.ctx = &store;
	for (size_t i = 0; i < npk; i++) {
		uint8_t pt[2048], dest[32], first_hop[32], ackp[64], buf[2048], fid[5];
		const uint8_t *ack_packet, *rest;
		size_t rest_len;
		struct nym_received rcv;
		int v, st;
		assert_int_equal(pk[i].mix.key_rotation, legacy ? 0 : 1);
		assert_int_equal(testnet_deliver(&net, pk[i].mix.packet, pk[i].mix.packet_len,
		                                 pk[i].mix.first_hop, pt, sizeof pt, &v, dest), 2048);
		assert_int_equal(v, legacy ? 258 : 259);
		assert_memory_equal(dest, alice.addr.identity, 32);
		/* the gateway splits off Bob's SURB-ack; it goes back to Bob */
		assert_int_equal(nym_surb_ack_split(pt, sizeof pt, first_hop, &ack_packet, &rest, &rest_len), 0);
		assert_int_equal(testnet_deliver(&net, ack_packet, 386, first_hop, ackp, sizeof ackp, &v, dest), 21);
		assert_int_equal(v, 259);
		assert_memory_equal(dest, bob.addr.identity, 32);
		assert_int_equal(nym_ack_payload_decrypt(bob.ack_key, ackp, 21, fid), 0);
		assert_memory_equal(fid, pk[i].frag_id, 5);
		/* Alice receives the rest */
		assert_int_equal(nym_receive(&ar, rest, rest_len, buf, sizeof buf, &rcv), 0);
		assert_int_equal(rcv.kind, NYM_RECEIVED_FRAGMENT);
		assert_int_equal(rcv.via_reply, 1);
		st = nym_reasm_insert(reasm, rcv.data, rcv.data_len, 0, 0, &done);
		assert_true(st >= 0);
		complete = st == NYM_REASM_COMPLETE;
	}
	assert_true(complete);
	{
		enum nym_message_type type;
		const uint8_t *inner;
		size_t inner_len;
		struct nym_reply_msg got;
		assert_int_equal(nym_msg_unpad(done.data, done.len, &type, &inner, &inner_len), 0);
		assert_int_equal(type, NYM_MSG_REPLY);
		assert_int_equal(nym_reply_msg_parse(inner, inner_len, &got), 0);
		assert_int_equal(got.data_len, reply_len);
		assert_memory_equal(got.data, reply + 1, reply_len);
	}
	/* each SURB key was used once */
	for (size_t i = 0; i < npk; i++)
		assert_int_equal(store.used[i], 1);
	free(done.data);
	nym_prepared_free(pk, npk);
	nym_reasm_free(reasm);
	free(msg);
	free(reply);
}

static void test_surb_round_trip_v2(void **state) { (void)state; surb_round_trip(0, 100); }
static void test_surb_round_trip_v1(void **state) { (void)state; surb_round_trip(1, 100); }
static void test_surb_round_trip_3_fragments(void **state) { (void)state; surb_round_trip(0, 4000); }

static void test_reply_needs_enough_surbs(void **state)
{
	struct nym_reply_surb s[1];
	struct nym_preparer bp;
	struct nym_prepared_fragment *pk = NULL;
	size_t npk = 0, used = 0;
	static uint8_t big[4000];

	(void)state;
	make_surbs(0, 1, s);
	preparer_for(&bp, &bob);
	assert_int_equal(nym_prepare_message(&bp, NYM_MSG_REPLY, big, sizeof big, NULL, s, 1, &used,
	                                     &pk, &npk), -1);
	assert_null(pk);
	assert_int_equal(npk, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vectors),
		cmocka_unit_test(test_reply_surb_serialization),
		cmocka_unit_test(test_repliable_all_tags),
		cmocka_unit_test(test_repliable_malformed),
		cmocka_unit_test(test_reply_message),
		cmocka_unit_test(test_reply_payload),
		cmocka_unit_test(test_surb_round_trip_v2),
		cmocka_unit_test(test_surb_round_trip_v1),
		cmocka_unit_test(test_surb_round_trip_3_fragments),
		cmocka_unit_test(test_reply_needs_enough_surbs),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
