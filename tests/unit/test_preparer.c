/* Preparer: route selection, delays, and message -> preparer -> 4-hop processing ->
 * gateway split -> receiver -> reassembly round trips (1 KB, 5 KB, 100 KB). */
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
#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"
#include "unit/util_nymnet.h"

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
	p->average_packet_delay_ns = 15000000;
	p->average_ack_delay_ns = 15000000;
	p->packet_size_tag = NYM_PACKET_REGULAR;
}

static void test_route_selection(void **state)
{
	struct nym_route r;
	int seen[NYM_MIX_LAYERS][NET_PER_LAYER] = {{0}};
	uint8_t unknown[32] = {0};

	(void)state;
	for (int n = 0; n < 200; n++) {
		assert_int_equal(nym_topology_random_route(&net.topo, net.gw.identity, &r), 0);
		assert_int_equal(r.n, 4);
		for (int l = 0; l < NYM_MIX_LAYERS; l++) {
			int hit = -1;
			for (int i = 0; i < NET_PER_LAYER; i++)
				if (memcmp(r.hop[l].address, net.mixes[l][i].address, 32) == 0 &&
				    memcmp(r.hop[l].pubkey, net.mixes[l][i].sphinx_key, 32) == 0)
					hit = i;
			assert_true(hit >= 0);
			assert_int_equal(r.node_id[l], net.mixes[l][hit].node_id);
			seen[l][hit]++;
		}
		assert_memory_equal(r.hop[3].pubkey, net.gw.sphinx_key, 32);
	}
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		for (int i = 0; i < NET_PER_LAYER; i++)
			assert_true(seen[l][i] > 50); /* both nodes of each layer are used */
	assert_int_equal(nym_topology_random_route(&net.topo, unknown, &r), -1);
	{
		struct nym_topology empty = net.topo;
		empty.layer_len[1] = 0;
		assert_int_equal(nym_topology_random_route(&empty, net.gw.identity, &r), -1);
	}
	assert_int_equal(nym_topology_key_rotation_byte(&net.topo), 1);
}

static void test_delay_sampling(void **state)
{
	uint64_t d[4], sum = 0;

	(void)state;
	for (int i = 0; i < 2000; i++)
		sum += nym_sample_exp_delay_ns(15000000);
	assert_in_range(sum / 2000, 13000000, 17000000);
	nym_sample_hop_delays(0, 4, d);
	for (int i = 0; i < 4; i++)
		assert_int_equal(d[i], 0);
}

/* Sends a Plain message from alice to bob in packets of the given size and checks
 * everything on the way. */
static void round_trip_sized(size_t len, int size_tag)
{
	struct nym_preparer ap;
	struct nym_prepared_fragment *pk = NULL;
	struct nym_receiver br;
	struct nym_reassembler *reasm = nym_reasm_new(NULL);
	struct nym_reasm_message done = {0};
	uint8_t *msg = malloc(len ? len : 1);
	size_t npk = 0, ppp = nym_msg_plaintext_per_packet(size_tag);
	size_t pt_size = nym_packet_plaintext_size(size_tag);
	uint8_t *pt = malloc(pt_size), *buf = malloc(pt_size);
	int complete = 0;

	assert_non_null(reasm);
	assert_non_null(msg);
	ns_random(msg, len);
	assert_non_null(pt);
	assert_non_null(buf);
	preparer_for(&ap, &alice);
	ap.packet_size_tag = size_tag;
	assert_int_equal(nym_prepare_message(&ap, NYM_MSG_PLAIN, msg, len, &bob.addr, NULL, 0, NULL, &pk, &npk), 0);
	assert_int_equal(npk, nym_msg_required_packets(len, ppp));

	memset(&br, 0, sizeof br);
	memcpy(br.encryption_secret, bob.enc_sk, 32);
	memcpy(br.ack_key, bob.ack_key, 16);
	/* deliver in reverse order */
	for (size_t j = npk; j-- > 0;) {
		struct nym_prepared_fragment *f = &pk[j];
		uint8_t dest[32], first_hop[32], ackp[64], fid[5];
		const uint8_t *ack_packet, *rest;
		size_t rest_len;
		struct nym_received rcv;
		int v, st;

		assert_int_equal(f->mix.packet_len, nym_packet_size_bytes(size_tag));
		assert_int_equal(f->mix.packet_size_tag, size_tag);
		assert_int_equal(f->mix.packet_type, 0);
		assert_int_equal(f->mix.key_rotation, 1);
		assert_true(f->total_delay_ns > 0);
		assert_int_equal(testnet_deliver(&net, f->mix.packet, f->mix.packet_len, f->mix.first_hop,
		                                 pt, pt_size, &v, dest), (long)pt_size);
		assert_int_equal(v, 259);
		assert_memory_equal(dest, bob.addr.identity, 32);
		assert_int_equal(nym_surb_ack_split(pt, pt_size, first_hop, &ack_packet, &rest, &rest_len), 0);
		/* the SURB-ack returns to alice with this fragment's identifier */
		assert_int_equal(testnet_deliver(&net, ack_packet, 386, first_hop, ackp, sizeof ackp, &v, dest), 21);
		assert_int_equal(v, 259);
		assert_memory_equal(dest, alice.addr.identity, 32);
		{
			struct nym_receiver ar = {0};
			memcpy(ar.ack_key, alice.ack_key, 16);
			assert_int_equal(nym_receive(&ar, ackp, 21, NULL, 0, &rcv), 0);
			assert_int_equal(rcv.kind, NYM_RECEIVED_ACK);
			nym_frag_id_encode(&rcv.frag_id, fid);
			assert_memory_equal(fid, f->frag_id, 5);
			assert_int_equal(rcv.frag_id.position, j + 1);
		}
		/* bob decrypts and reassembles */
		assert_int_equal(nym_receive(&br, rest, rest_len, buf, pt_size, &rcv), 0);
		assert_int_equal(rcv.kind, NYM_RECEIVED_FRAGMENT);
		assert_int_equal(rcv.via_reply, 0);
		assert_int_equal(rcv.data_len, ppp);
		st = nym_reasm_insert(reasm, rcv.data, rcv.data_len, 0, 0, &done);
		assert_true(st >= 0);
		assert_int_equal(st == NYM_REASM_COMPLETE, j == 0);
		complete |= st == NYM_REASM_COMPLETE;
	}
	assert_true(complete);
	{
		enum nym_message_type type;
		const uint8_t *inner;
		size_t inner_len;
		assert_int_equal(nym_msg_unpad(done.data, done.len, &type, &inner, &inner_len), 0);
		assert_int_equal(type, NYM_MSG_PLAIN);
		assert_int_equal(inner_len, len);
		assert_memory_equal(inner, msg, len);
	}
	free(done.data);
	nym_prepared_free(pk, npk);
	nym_reasm_free(reasm);
	free(msg);
	free(pt);
	free(buf);
}

static void round_trip(size_t len) { round_trip_sized(len, NYM_PACKET_REGULAR); }

static void test_round_trip_extended(void **state)
{
	(void)state;
	round_trip_sized(20000, NYM_PACKET_EXTENDED8);
	round_trip_sized(40000, NYM_PACKET_EXTENDED16);
	round_trip_sized(70000, NYM_PACKET_EXTENDED32);
}

static void test_round_trip_1k(void **state) { (void)state; round_trip(1024); }
static void test_round_trip_5k(void **state) { (void)state; round_trip(5 * 1024); }
static void test_round_trip_100k(void **state) { (void)state; round_trip(100 * 1024); }
static void test_round_trip_empty(void **state) { (void)state; round_trip(0); }

static void test_fixed_inputs_are_deterministic(void **state)
{
	struct nym_preparer ap;
	struct nym_prepared_fragment a, b;
	struct nym_route route, ack_route;
	uint8_t frag[1611], e[32], x[32], ax[32], iv[16], pad[68], apad[68];
	uint64_t delays[4] = {1, 2, 3, 4}, adelays[4] = {5, 6, 7, 8};
	struct nym_prepare_fixed fixed = {0};
	struct nym_frag_header h = {.set_id = 77, .total = 1, .current = 1};

	(void)state;
	preparer_for(&ap, &alice);
	memset(frag, 0xab, sizeof frag);
	assert_int_equal(nym_frag_header_encode(&h, frag, sizeof frag), 7);
	ns_random(e, 32);
	ns_random(x, 32);
	ns_random(ax, 32);
	ns_random(iv, 16);
	memset(pad, 1, sizeof pad);
	memset(apad, 2, sizeof apad);
	assert_int_equal(nym_topology_random_route(&net.topo, bob.addr.gateway, &route), 0);
	assert_int_equal(nym_topology_random_route(&net.topo, alice.addr.gateway, &ack_route), 0);
	fixed.route = &route;
	fixed.ack_route = &ack_route;
	fixed.ephemeral_secret = e;
	fixed.initial_secret = x;
	fixed.final_padding = pad;
	fixed.delays_ns = delays;
	fixed.ack.iv = iv;
	fixed.ack.initial_secret = ax;
	fixed.ack.final_padding = apad;
	fixed.ack.delays_ns = adelays;
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, &bob.addr, &fixed, &a), 0);
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, &bob.addr, &fixed, &b), 0);
	assert_memory_equal(a.mix.packet, b.mix.packet, a.mix.packet_len);
	assert_int_equal(a.total_delay_ns, 1 + 2 + 3 + 5 + 6 + 7);
	assert_memory_equal(a.frag_id, "\x00\x00\x00\x4d\x01", 5);
	assert_memory_equal(a.mix.first_hop, route.hop[0].address, 32);
	nym_mix_packet_clear(&a.mix);
	nym_mix_packet_clear(&b.mix);
}

static void test_bad_fragments(void **state)
{
	struct nym_preparer ap;
	struct nym_prepared_fragment out;
	uint8_t frag[1611] = {0}, big[1700] = {0};
	struct nym_frag_header h = {.set_id = 77, .total = 1, .current = 1};
	struct nym_topology no_gw;

	(void)state;
	preparer_for(&ap, &alice);
	/* no flag bit: not a fragment */
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, &bob.addr, NULL, &out), -1);
	assert_int_equal(nym_frag_header_encode(&h, frag, sizeof frag), 7);
	assert_int_equal(nym_frag_header_encode(&h, big, sizeof big), 7);
	/* more than a packet can carry */
	assert_int_equal(nym_prepare_fragment(&ap, big, sizeof big, &bob.addr, NULL, &out), -1);
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, NULL, NULL, &out), -1);
	/* the recipient's gateway is not in the topology */
	no_gw = net.topo;
	no_gw.n_gateways = 0;
	ap.topology = &no_gw;
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, &bob.addr, NULL, &out), -1);
	assert_null(out.mix.packet);
	ap.topology = &net.topo;
	assert_int_equal(nym_prepare_fragment(&ap, frag, sizeof frag, &bob.addr, NULL, &out), 0);
	nym_mix_packet_clear(&out.mix);
	ap.packet_size_tag = NYM_PACKET_ACK;
	{
		struct nym_prepared_fragment *pk = NULL;
		size_t n = 0;
		assert_int_equal(nym_prepare_message(&ap, NYM_MSG_PLAIN, frag, 10, &bob.addr, NULL, 0, NULL, &pk, &n), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_selection),
		cmocka_unit_test(test_delay_sampling),
		cmocka_unit_test(test_round_trip_1k),
		cmocka_unit_test(test_round_trip_5k),
		cmocka_unit_test(test_round_trip_100k),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_round_trip_extended),
		cmocka_unit_test(test_fixed_inputs_are_deterministic),
		cmocka_unit_test(test_bad_fragments),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
