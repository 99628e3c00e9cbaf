/* SURB-acks: ack payload vector (spec §4.2) and the real client's ack, SURB-ack
 * construction routed through a test network, the gateway split, malformed input. */
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
#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"
#include "unit/util_nymnet.h"

static void hex(uint8_t *out, size_t len, const char *h)
{
	assert_int_equal(util_unhex(h, out, len), (long)len);
}

static void test_payload_vectors(void **state)
{
	uint8_t key[16], iv[16], fid[5], out[21], want[21], back[5];

	(void)state;
	/* model vector (spec §4.2) */
	memset(key, 0x05, 16);
	memset(iv, 0x06, 16);
	hex(fid, 5, "1234567801");
	hex(want, 21, "06060606060606060606060606060606a9bcc7ced8");
	assert_int_equal(nym_ack_payload_encrypt(key, iv, fid, out), 0);
	assert_memory_equal(out, want, 21);
	assert_int_equal(nym_ack_payload_decrypt(key, out, 21, back), 0);
	assert_memory_equal(back, fid, 5);
	/* the real client's ack of send_self_short (spec §4.3) */
	hex(key, 16, "2b4a1518bc7024ac34660c094f7e61d4");
	hex(out, 21, "7edce0c3e07963321721bdf62b0ec573b210155bb3");
	hex(want, 5, "3f4e757101");
	assert_int_equal(nym_ack_payload_decrypt(key, out, 21, back), 0);
	assert_memory_equal(back, want, 5);
	/* a random IV is drawn when none is given */
	assert_int_equal(nym_ack_payload_encrypt(key, NULL, fid, out), 0);
	assert_int_equal(nym_ack_payload_decrypt(key, out, 21, back), 0);
	assert_memory_equal(back, fid, 5);
}

static void test_payload_bad_lengths(void **state)
{
	uint8_t key[16] = {0}, in[64] = {0}, id[5];

	(void)state;
	for (size_t len = 0; len < sizeof in; len++)
		assert_int_equal(nym_ack_payload_decrypt(key, in, len, id), len == 21 ? 0 : -1);
	assert_int_equal(nym_ack_payload_decrypt(key, NULL, 21, id), -1);
	assert_int_equal(nym_ack_payload_encrypt(key, NULL, NULL, in), -1);
}

/* Build a SURB-ack, put it at the front of a plaintext, split it as a gateway does,
 * route the ack packet and decrypt what reaches the client. */
static void surb_ack_round_trip(uint16_t version)
{
	struct testnet net;
	struct testclient me;
	struct nym_route route;
	struct nym_surb_ack ack;
	struct nym_frag_id id = {0x1234567, 9}, got_id;
	uint8_t fid[5], back[5], pt[2048], first_hop[32], out[64], dest[32];
	const uint8_t *ack_packet, *rest;
	size_t rest_len;
	uint64_t delays[4] = {1000, 2000, 3000, 999999};
	struct nym_surb_ack_fixed fixed = {.delays_ns = delays};
	int v;

	testnet_init(&net);
	testclient_init(&net, &me);
	nym_frag_id_encode(&id, fid);
	assert_int_equal(nym_topology_random_route(&net.topo, me.addr.gateway, &route), 0);
	assert_int_equal(route.n, 4);
	assert_int_equal(nym_surb_ack_build(&route, me.addr.identity, version, me.ack_key, fid,
	                                    15000000, &fixed, &ack), 0);
	assert_int_equal(ack.expected_total_delay_ns, 6000); /* the last delay is not encoded */
	/* 19-byte zero-padded address of the route's first hop */
	assert_memory_equal(ack.bytes, route.hop[0].address, 7);
	for (int i = 7; i < 19; i++)
		assert_int_equal(ack.bytes[i], 0);

	ns_random(pt, sizeof pt);
	memcpy(pt, ack.bytes, NYM_SURB_ACK_LEN);
	assert_int_equal(nym_surb_ack_split(pt, sizeof pt, first_hop, &ack_packet, &rest, &rest_len), 0);
	assert_memory_equal(first_hop, route.hop[0].address, 32);
	assert_ptr_equal(rest, pt + 405);
	assert_int_equal(rest_len, 2048 - 405);
	assert_int_equal(testnet_deliver(&net, ack_packet, NYM_ACK_PACKET_LEN, first_hop, out,
	                                 sizeof out, &v, dest), 21);
	assert_int_equal(v, version);
	assert_memory_equal(dest, me.addr.identity, 32);
	assert_int_equal(nym_ack_payload_decrypt(me.ack_key, out, 21, back), 0);
	assert_memory_equal(back, fid, 5);
	assert_int_equal(nym_frag_id_decode(back, &got_id), 0);
	assert_int_equal(got_id.set_id, id.set_id);
	assert_int_equal(got_id.position, id.position);
}

static void test_surb_ack_259(void **state) { (void)state; surb_ack_round_trip(259); }
static void test_surb_ack_258(void **state) { (void)state; surb_ack_round_trip(258); }

static void test_surb_ack_random_delays(void **state)
{
	struct testnet net;
	struct testclient me;
	struct nym_route route;
	struct nym_surb_ack ack;
	uint8_t fid[5] = {0};
	uint64_t sum = 0;

	(void)state;
	testnet_init(&net);
	testclient_init(&net, &me);
	assert_int_equal(nym_topology_random_route(&net.topo, me.addr.gateway, &route), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(nym_surb_ack_build(&route, me.addr.identity, 259, me.ack_key, fid,
		                                    15000000, NULL, &ack), 0);
		sum += ack.expected_total_delay_ns;
	}
	/* 3 hops of Exp(15 ms): mean 45 ms; 200 samples stay well inside 30..60 ms */
	assert_in_range(sum / 200, 30000000, 60000000);
	assert_int_equal(nym_surb_ack_build(&route, me.addr.identity, 259, me.ack_key, fid, 0, NULL,
	                                    &ack), 0);
	assert_int_equal(ack.expected_total_delay_ns, 0);
}

static void test_split_malformed(void **state)
{
	uint8_t pt[2048] = {0}, hop[32];
	const uint8_t *ap, *rest;
	size_t rl;

	(void)state;
	pt[0] = 4;
	assert_int_equal(nym_surb_ack_split(pt, 404, hop, &ap, &rest, &rl), -1);
	assert_int_equal(nym_surb_ack_split(pt, 405, hop, &ap, &rest, &rl), 0);
	assert_int_equal(rl, 0);
	assert_int_equal(nym_surb_ack_split(NULL, 2048, hop, &ap, &rest, &rl), -1);
	for (int t = 0; t < 256; t++) {
		pt[0] = (uint8_t)t;
		assert_int_equal(nym_surb_ack_split(pt, sizeof pt, hop, &ap, &rest, &rl),
		                 t == 4 || t == 6 ? 0 : -1);
	}
	/* IPv6: the whole 19 bytes are the address */
	memset(pt, 0xab, 19);
	pt[0] = 6;
	assert_int_equal(nym_surb_ack_split(pt, sizeof pt, hop, &ap, &rest, &rl), 0);
	assert_memory_equal(hop, pt, 19);
	for (int i = 19; i < 32; i++)
		assert_int_equal(hop[i], 0);
}

static void test_build_bad_args(void **state)
{
	struct nym_route route = {0};
	struct nym_surb_ack ack;
	uint8_t dest[32] = {0}, key[16] = {0}, fid[5] = {0};

	(void)state;
	assert_int_equal(nym_surb_ack_build(&route, dest, 259, key, fid, 0, NULL, &ack), -1);
	route.n = 4; /* first hop address type 0: invalid */
	assert_int_equal(nym_surb_ack_build(&route, dest, 259, key, fid, 0, NULL, &ack), -1);
	route.n = 6;
	assert_int_equal(nym_surb_ack_build(&route, dest, 259, key, fid, 0, NULL, &ack), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_vectors),
		cmocka_unit_test(test_payload_bad_lengths),
		cmocka_unit_test(test_surb_ack_259),
		cmocka_unit_test(test_surb_ack_258),
		cmocka_unit_test(test_surb_ack_random_delays),
		cmocka_unit_test(test_split_malformed),
		cmocka_unit_test(test_build_bad_args),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
