/* keyd's reply side of the Sphinx work (keyd/keyd_prep.c and keyd_surbs.c,
 * compiled into this test) on the in-memory test network: Alice's keyd makes SURBs and
 * keeps their keys; Bob's keyd replies and asks for more SURBs through them; the packets
 * cross the nodes; Alice's keyd recognises the replies by digest, once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../keyd/keyd_prep.c"
#include "../keyd/keyd_surbs.c"
#include "nymsphinx/ack.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "unit/util_nymnet.h"

#define DAY_NS (24ull * 3600 * 1000000000ull)

static struct testnet net;
static struct testclient alice, bob;

static void feed_topology(struct nc_prep *p)
{
	size_t n = NYM_MIX_LAYERS * NET_PER_LAYER + 1;
	nc_prep_topo_begin(p, 7, net.topo.key_rotation_id, n);
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		for (int i = 0; i < NET_PER_LAYER; i++) {
			const struct nym_topo_node *m = &net.mixes[l][i];
			assert_int_equal(nc_prep_topo_node(p, 7, (unsigned)l + 1, m->node_id, m->identity,
			                                   m->sphinx_key, m->address), 0);
		}
	assert_int_equal(nc_prep_topo_node(p, 7, 4, net.gw.node_id, net.gw.identity,
	                                   net.gw.sphinx_key, net.gw.address), 0);
	assert_int_equal(nc_prep_topo_end(p, 7, n), 0);
	assert_int_equal(nc_prep_topology_nodes(p), n);
}

static struct nc_prep *prep_for(const struct testclient *c)
{
	struct nc_prep *p = nc_prep_new(c->addr.identity, c->enc_sk, c->ack_key, c->addr.gateway);
	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	(void)state;
	testnet_init(&net);
	testclient_init(&net, &alice);
	testclient_init(&net, &bob);
	return 0;
}

/* One regular-size fragment of a NymMessage of type with this inner. */
static size_t one_fragment(enum nym_message_type type, const uint8_t *inner, size_t len,
                           uint8_t *out)
{
	size_t ppp = nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR), plen = 0;
	struct nym_fragment_list list;
	uint8_t *padded = nym_msg_pad_alloc(type, inner, len, ppp, &plen);
	assert_non_null(padded);
	assert_int_equal(nym_split_into_fragments(padded, plen, ppp, &list), 0);
	assert_int_equal(list.count, 1);
	memcpy(out, list.frags[0], list.lens[0]);
	size_t n = list.lens[0];
	nym_fragment_list_free(&list);
	free(padded);
	return n;
}

static void id_of(const uint8_t *frag, size_t len, uint8_t id[5])
{
	struct nym_fragment f;
	assert_int_equal(nym_fragment_decode(frag, len, &f), 0);
	struct nym_frag_id fid = { f.header.set_id, f.header.current };
	nym_frag_id_encode(&fid, id);
}

/* Carries pkt across the net: returns what the gateway pushes to the SURB's owner and
 * checks the SURB-ack comes back to the sender with want_id. */
static size_t carry(struct nc_packet *pkt, const uint8_t owner[32], const uint8_t want_id[5],
                    uint8_t *pushed)
{
	uint8_t pt[2048], dest[32], first_hop[32], ackp[64], fid[5];
	const uint8_t *ack_packet, *rest;
	size_t rest_len;
	int v;
	assert_int_equal(testnet_deliver(&net, pkt->packet, pkt->len, pkt->first_hop, pt, sizeof pt,
	                                 &v, dest), 2048);
	assert_memory_equal(dest, owner, 32);
	assert_int_equal(nym_surb_ack_split(pt, sizeof pt, first_hop, &ack_packet, &rest, &rest_len), 0);
	assert_int_equal(testnet_deliver(&net, ack_packet, 386, first_hop, ackp, sizeof ackp, &v, dest), 21);
	assert_memory_equal(dest, bob.addr.identity, 32);
	assert_int_equal(nym_ack_payload_decrypt(bob.ack_key, ackp, 21, fid), 0);
	assert_memory_equal(fid, want_id, 5);
	memcpy(pushed, rest, rest_len);
	free(pkt->packet);
	pkt->packet = NULL;
	return rest_len;
}

static void test_make_reply_receive(void **state)
{
	(void)state;
	struct nc_prep *a = prep_for(&alice), *b = prep_for(&bob);
	struct nc_rkeys *keys = nc_rkeys_new(100, DAY_NS);
	static uint8_t list[4 + 32 * NYM_REPLY_SURB_MAX_LEN], frag[2048], pushed[2048], buf[2048];
	size_t count = 0, each = 0;
	assert_non_null(keys);
	nc_prep_set_reply_keys(a, keys);
	/* no topology: no SURBs */
	assert_true(nc_prep_make_surbs(a, keys, 3, nc_mono_ns(), list, sizeof list) < 0);
	feed_topology(a);
	feed_topology(b);
	long n = nc_prep_make_surbs(a, keys, 3, nc_mono_ns(), list, sizeof list);
	assert_int_equal(n, 4 + 3 * 460);
	assert_int_equal(nc_surb_list_parse(list, (size_t)n, 32, &count, &each), 0);
	assert_int_equal(count, 3);
	assert_int_equal(each, 460);
	assert_int_equal(nc_rkeys_count(keys), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(nc_prep_surb_check(list + 4 + i * each, each), 0);
	assert_int_equal(nc_prep_surb_check(list + 4, each - 1), -1);
	/* no room */
	assert_true(nc_prep_make_surbs(a, keys, 40, nc_mono_ns(), list, 4 + 39 * 460) < 0);
	assert_int_equal(nc_rkeys_count(keys), 3);
	n = nc_prep_make_surbs(a, keys, 3, nc_mono_ns(), list, sizeof list);
	assert_int_equal(nc_rkeys_count(keys), 6);

	/* Bob replies through the first SURB */
	uint8_t inner[6] = { NYM_REPLY_DATA, 'h', 'e', 'l', 'l', 'o' };
	size_t flen = one_fragment(NYM_MSG_REPLY, inner, sizeof inner, frag);
	struct nc_packet pkt;
	assert_int_equal(nc_prep_reply(b, frag, flen, list + 4, each, NYM_KEY_ROTATION_UNKNOWN, &pkt), 0);
	assert_int_equal(pkt.key_rotation, NYM_KEY_ROTATION_UNKNOWN);
	assert_true(pkt.total_delay_ns > 0);
	uint8_t want[5];
	id_of(frag, flen, want);
	size_t plen = carry(&pkt, alice.addr.identity, want, pushed);

	/* Alice: a reply, once */
	uint8_t fid[5];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(nc_prep_receive(a, pushed, plen, buf, sizeof buf, fid, &out, &out_len), 3);
	assert_int_equal(out_len, flen);
	assert_memory_equal(out, frag, flen);
	assert_int_equal(nc_rkeys_count(keys), 5);
	assert_true(nc_prep_receive(a, pushed, plen, buf, sizeof buf, fid, &out, &out_len) != 3);

	/* a SURB that does not parse, a fragment that fits no packet */
	uint8_t bad[460];
	memcpy(bad, list + 4 + each, each);
	bad[16 + 348] = 9;
	assert_int_equal(nc_prep_reply(b, frag, flen, bad, each, 0, &pkt), -1);
	static uint8_t huge[40000];
	assert_int_equal(nc_prep_reply(b, huge, sizeof huge, list + 4 + each, each, 0, &pkt), -1);

	nc_prep_set_reply_keys(a, NULL);
	nc_rkeys_free(keys);
	nc_prep_free(a);
	nc_prep_free(b);
}

static void test_surb_request(void **state)
{
	(void)state;
	struct nc_prep *a = prep_for(&alice), *b = prep_for(&bob);
	struct nc_rkeys *keys = nc_rkeys_new(100, DAY_NS);
	static uint8_t list[4 + 32 * NYM_REPLY_SURB_MAX_LEN], pushed[2048], buf[2048];
	struct nc_packet pkt;
	uint8_t fid[5], got_id[5];
	nc_prep_set_reply_keys(a, keys);
	feed_topology(a);
	long n = nc_prep_make_surbs(a, keys, 1, nc_mono_ns(), list, sizeof list);
	assert_int_equal(n, 4 + 460);
	/* Bob has no topology yet */
	assert_int_equal(nc_prep_surb_request(b, list + 4, 460, 0, 42, &pkt, fid), -1);
	feed_topology(b);
	assert_int_equal(nc_prep_surb_request(b, list + 4, 460, 0, 42, &pkt, fid), 0);
	size_t plen = carry(&pkt, alice.addr.identity, fid, pushed);
	const uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(nc_prep_receive(a, pushed, plen, buf, sizeof buf, got_id, &out, &out_len), 3);

	struct nym_fragment f;
	assert_int_equal(nym_fragment_decode(out, out_len, &f), 0);
	assert_int_equal(f.header.total, 1);
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;
	struct nym_reply_msg rm;
	assert_int_equal(nym_msg_unpad(f.payload, f.payload_len, &type, &inner, &inner_len), 0);
	assert_int_equal(type, NYM_MSG_REPLY);
	assert_int_equal(nym_reply_msg_parse(inner, inner_len, &rm), 0);
	assert_int_equal(rm.content_tag, NYM_REPLY_SURB_REQUEST);
	assert_int_equal(rm.amount, 42);
	uint8_t bob_addr[96];
	nc_prep_self(b, bob_addr);
	assert_memory_equal(rm.recipient, bob_addr, 96);
	assert_int_equal(nc_rkeys_count(keys), 0);

	nc_prep_set_reply_keys(a, NULL);
	nc_rkeys_free(keys);
	nc_prep_free(a);
	nc_prep_free(b);
}

/* A plain message still comes out as origin "message" with reply keys installed. */
static void test_plain_still_plain(void **state)
{
	(void)state;
	struct nc_prep *a = prep_for(&alice), *b = prep_for(&bob);
	struct nc_rkeys *keys = nc_rkeys_new(10, DAY_NS);
	static uint8_t frag[2048], buf[2048];
	uint8_t pt[2048], dest[32], first_hop[32], fid[5], to[96];
	const uint8_t *ack_packet, *rest, *out;
	size_t rest_len, out_len;
	int v;
	nc_prep_set_reply_keys(a, keys);
	feed_topology(b);
	uint8_t hi[2] = { 'h', 'i' };
	size_t flen = one_fragment(NYM_MSG_PLAIN, hi, 2, frag);
	struct nc_packet pkt;
	nc_prep_self(a, to);
	assert_int_equal(nc_prep_fragment(b, frag, flen, to, NYM_PACKET_REGULAR, &pkt), 0);
	assert_int_equal(testnet_deliver(&net, pkt.packet, pkt.len, pkt.first_hop, pt, sizeof pt, &v,
	                                 dest), 2048);
	free(pkt.packet);
	assert_int_equal(nym_surb_ack_split(pt, sizeof pt, first_hop, &ack_packet, &rest, &rest_len), 0);
	assert_int_equal(nc_prep_receive(a, rest, rest_len, buf, sizeof buf, fid, &out, &out_len), 2);
	assert_memory_equal(out, frag, flen);
	nc_prep_set_reply_keys(a, NULL);
	nc_rkeys_free(keys);
	nc_prep_free(a);
	nc_prep_free(b);
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_reply_receive),
		cmocka_unit_test(test_surb_request),
		cmocka_unit_test(test_plain_still_plain),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
