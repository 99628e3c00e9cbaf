/* Loop cover: content, is_cover, a cover packet through the network back to ourselves
 * (version 258, COVER_FRAG_ID ack), and the real client's cover bytes. */
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
#include "nymsphinx/cover.h"
#include "nymsphinx/e2e.h"
#include "nymsphinx/params.h"
#include "nymsphinx/preparer.h"
#include "nymsphinx/receiver.h"
#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"
#include "unit/util_nymnet.h"

static void test_content(void **state)
{
	uint8_t c[1611], want[19];

	(void)state;
	assert_int_equal(util_unhex("5468652063616b652069732061206c69652101", want, sizeof want), 19);
	assert_int_equal(nym_cover_content(c, sizeof c), 0);
	assert_memory_equal(c, want, 19);
	for (size_t i = 19; i < sizeof c; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(nym_cover_content(c, 18), -1);
	assert_int_equal(nym_cover_content(c, 19), 0);
	assert_int_equal(nym_cover_content(NULL, 100), -1);
}

static void test_is_cover(void **state)
{
	uint8_t buf[64];

	(void)state;
	assert_true(nym_is_cover((const uint8_t *)NYM_COVER_MESSAGE, 18));
	memcpy(buf, NYM_COVER_MESSAGE, 18);
	memset(buf + 18, 42, sizeof buf - 18);
	assert_true(nym_is_cover(buf, sizeof buf));
	assert_false(nym_is_cover(buf, 17));
	buf[17] = 42;
	assert_false(nym_is_cover(buf, sizeof buf));
	memset(buf, 42, sizeof buf);
	assert_false(nym_is_cover(buf, sizeof buf));
	assert_false(nym_is_cover(buf, 0));
	assert_false(nym_is_cover(NULL, 20));
}

static void cover_round_trip(uint16_t version)
{
	struct testnet net;
	struct testclient me;
	struct nym_preparer p;
	struct nym_prepared_fragment out;
	struct nym_receiver r = {0};
	struct nym_received rcv;
	uint8_t pt[2048], dest[32], hop[32], ackp[64], buf[2048];
	const uint8_t *ack_packet, *rest;
	size_t rest_len;
	int v;

	testnet_init(&net);
	testclient_init(&net, &me);
	memset(&p, 0, sizeof p);
	p.topology = &net.topo;
	p.self = me.addr;
	memcpy(p.ack_key, me.ack_key, 16);
	p.average_packet_delay_ns = 15000000;
	p.average_ack_delay_ns = 15000000;
	p.packet_size_tag = NYM_PACKET_REGULAR;
	assert_int_equal(nym_cover_build(&p, 200000000, version, NULL, &out), 0);
	assert_memory_equal(out.frag_id, "\0\0\0\0\0", 5);
	assert_int_equal(out.mix.packet_len, 2413);
	assert_int_equal(out.mix.key_rotation, 1);
	assert_int_equal(testnet_deliver(&net, out.mix.packet, out.mix.packet_len, out.mix.first_hop,
	                                 pt, sizeof pt, &v, dest), 2048);
	assert_int_equal(v, version);
	assert_memory_equal(dest, me.addr.identity, 32);
	assert_int_equal(nym_surb_ack_split(pt, sizeof pt, hop, &ack_packet, &rest, &rest_len), 0);
	assert_int_equal(testnet_deliver(&net, ack_packet, 386, hop, ackp, sizeof ackp, &v, dest), 21);
	assert_int_equal(v, version);
	memcpy(r.encryption_secret, me.enc_sk, 32);
	memcpy(r.ack_key, me.ack_key, 16);
	assert_int_equal(nym_receive(&r, ackp, 21, NULL, 0, &rcv), 0);
	assert_int_equal(rcv.kind, NYM_RECEIVED_ACK);
	assert_true(nym_frag_id_is_cover(&rcv.frag_id));
	assert_int_equal(nym_receive(&r, rest, rest_len, buf, sizeof buf, &rcv), 0);
	assert_int_equal(rcv.kind, NYM_RECEIVED_COVER);
	assert_int_equal(rcv.data_len, 1611);
	assert_true(nym_is_cover(rcv.data, rcv.data_len));
	nym_mix_packet_clear(&out.mix);
}

static void test_cover_258(void **state) { (void)state; cover_round_trip(258); }
static void test_cover_259(void **state) { (void)state; cover_round_trip(259); }

/* loop_cover_1 of the vectors: its to_client bytes decrypt to the cover content. */
static void test_real_cover(void **state)
{
	static const char ct_head[] = "dc140d4b5cb39e8dab7802d910a565f459f47df1ac5057cfd866459514e22805";
	uint8_t sk[32], e[32], pk[32], out[32 + 1611], content[1611], back[1611], digest[32];

	(void)state;
	assert_int_equal(util_unhex("b6a4f9754a8e17c42d000ee599181bdc0db1ba801c0d612aa76d87cd6c050689", sk, 32), 32);
	assert_int_equal(util_unhex("d7fb4c765687af575956e8b918a09593b816f7c74abe84741da4456d8121d537", e, 32), 32);
	ns_x25519_base(pk, sk);
	nym_cover_content(content, sizeof content);
	{
		/* nym_e2e_encrypt_with through the cover content gives the real E_pub */
		uint8_t want[32];
		assert_int_equal(nym_e2e_encrypt_with(e, pk, content, sizeof content, out), 0);
		assert_int_equal(util_unhex(ct_head, want, 32), 32);
		assert_memory_equal(out, want, 32);
		/* SHA-256 of the whole 1643 bytes the gateway pushed to the real client */
		assert_int_equal(util_unhex("5e15a6edd0beb2e44f080b3edcbe3cd57d653d8df25a03ebfe49d34869d73328",
		                            want, 32), 32);
		ns_sha256(digest, out, sizeof out);
		assert_memory_equal(digest, want, 32);
	}
	{
		struct nym_receiver r = {0};
		struct nym_received rcv;
		memcpy(r.encryption_secret, sk, 32);
		assert_int_equal(nym_receive(&r, out, sizeof out, back, sizeof back, &rcv), 0);
		assert_int_equal(rcv.kind, NYM_RECEIVED_COVER);
		assert_memory_equal(back, content, sizeof content);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_is_cover),
		cmocka_unit_test(test_cover_258),
		cmocka_unit_test(test_cover_259),
		cmocka_unit_test(test_real_cover),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
