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

/* ---- a small test network: 2 mixes per layer and 1 gateway on 127.0.0.1 ---- */
#define NET_PER_LAYER 2

struct testnet {
	struct nym_topo_node mixes[NYM_MIX_LAYERS][NET_PER_LAYER];
	struct nym_topo_node gw;
	uint8_t mix_sk[NYM_MIX_LAYERS][NET_PER_LAYER][32];
	uint8_t gw_sk[32];
	struct nym_topology topo;
};

struct testclient {
	struct nym_recipient addr;
	uint8_t enc_sk[32];
	uint8_t ack_key[NYM_ACK_KEY_LEN];
};

static void node_init(struct nym_topo_node *n, uint8_t sk[32], uint32_t id)
{
	struct nym_node_address a = {.ip_version = 4, .port = (uint16_t)(1789 + id), .ip = {127, 0, 0, 1}};
	uint8_t seed[32], edsk[64];

	n->node_id = id;
	ns_random(sk, 32);
	ns_x25519_base(n->sphinx_key, sk);
	ns_random(seed, sizeof seed);
	ns_ed25519_from_seed(n->identity, edsk, seed);
	assert_int_equal(nym_node_address_encode_padded(&a, n->address), 0);
}

static void testnet_init(struct testnet *t)
{
	uint32_t id = 1;

	memset(t, 0, sizeof *t);
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		for (int i = 0; i < NET_PER_LAYER; i++)
			node_init(&t->mixes[l][i], t->mix_sk[l][i], id++);
		t->topo.layer[l] = t->mixes[l];
		t->topo.layer_len[l] = NET_PER_LAYER;
	}
	node_init(&t->gw, t->gw_sk, id);
	t->topo.gateways = &t->gw;
	t->topo.n_gateways = 1;
	t->topo.key_rotation_id = 3;
}

static void testclient_init(const struct testnet *t, struct testclient *c)
{
	uint8_t seed[32], edsk[64];

	ns_random(seed, sizeof seed);
	ns_ed25519_from_seed(c->addr.identity, edsk, seed);
	ns_random(c->enc_sk, 32);
	ns_x25519_base(c->addr.encryption_key, c->enc_sk);
	memcpy(c->addr.gateway, t->gw.identity, 32);
	nym_ack_key_generate(c->ack_key);
}

static const uint8_t *testnet_secret(const struct testnet *t, const uint8_t addr[32])
{
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		for (int i = 0; i < NET_PER_LAYER; i++)
			if (memcmp(t->mixes[l][i].address, addr, 32) == 0)
				return t->mix_sk[l][i];
	return memcmp(t->gw.address, addr, 32) == 0 ? t->gw_sk : NULL;
}

/* Processes a packet hop by hop from first_hop to its final hop (which must be the
 * gateway, reached through one mix of each layer in order). Copies the recovered
 * plaintext to out; returns its length or -1. *version gets the header version. */
static long testnet_deliver(const struct testnet *t, const uint8_t *packet, size_t len,
                            const uint8_t first_hop[32], uint8_t *out, size_t cap, int *version,
                            uint8_t destination[32])
{
	struct sphinx_processed res;
	uint8_t next[32], *buf = malloc(len);
	long got = -1;

	assert_non_null(buf);
	memcpy(buf, packet, len);
	memcpy(next, first_hop, 32);
	for (int hop = 0; hop <= NYM_MIX_LAYERS; hop++) {
		const uint8_t *sk = testnet_secret(t, next);
		size_t off, mlen;
		if (sk == NULL || (hop < NYM_MIX_LAYERS && sk == t->gw_sk) ||
		    (hop == NYM_MIX_LAYERS && sk != t->gw_sk) ||
		    sphinx_process(sk, buf, len, buf, &res) != SPHINX_OK)
			break;
		if (res.flag == SPHINX_FLAG_FORWARD) {
			memcpy(next, res.next_address, 32);
			continue;
		}
		if (sphinx_recover_plaintext(buf + SPHINX_HEADER_LEN, len - SPHINX_HEADER_LEN, &off,
		                             &mlen) == SPHINX_OK && mlen <= cap) {
			memcpy(out, buf + SPHINX_HEADER_LEN + off, mlen);
			got = (long)mlen;
			if (version)
				*version = res.version;
			if (destination)
				memcpy(destination, res.destination, 32);
		}
		break;
	}
	free(buf);
	return got;
}

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
