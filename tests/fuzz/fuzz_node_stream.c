/* The node's handling of an inbound stream beyond the framing decoder (fuzz_framing covers
 * that): every decoded frame goes through ns_keyring_process (key choice by rotation,
 * sphinx processing, replay set) and, for forward hops, ns_hop_filter_check.
 * Input: byte 0 = mode. Mode even: the rest is a NymCodec stream processed with the first
 * hop key of the real-client vectors (seed: the vectors' first packet as a version-8 frame).
 * Properties: a frame that processes once is a replay the second time; a frame that fails
 * keeps failing the same way and leaves the replay set unchanged; a forward hop accepted by
 * the filter names a loopback topology address that re-encodes to the header's bytes.
 * Mode odd: the next 32 bytes are a next-hop address for the filter alone (same property). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "node/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* hops[0].node_x25519_private_hex of packets[0] in tests/vectors/real-client-packets.json */
static const char KEY_HEX[] = "0064df4c29f627642042451f3619f3ecec5585d28d666ba7fccdf5deb9ca3342";

static struct ns_keyring kr;
static struct ns_hop_filter *filter;
static uint8_t out[NYM_PACKET_MAX_SIZE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uint8_t key[32];
	if (ns_crypto_init() != 0)
		abort();
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(KEY_HEX + 2 * i, "%2x", &v);
		key[i] = (uint8_t)v;
	}
	if (ns_keyring_init(&kr, key, 3, 1u << 16) != 0)
		abort();
	static struct ns_topo_node nodes[3];
	strcpy(nodes[0].mix_host, "127.0.0.1:1790");  /* the vector's second hop */
	strcpy(nodes[1].mix_host, "[::1]:1789");
	strcpy(nodes[2].mix_host, "192.0.2.1:1789");  /* not loopback: never accepted */
	struct ns_topo topo = { .nodes = nodes, .n_nodes = 3 };
	filter = ns_hop_filter_from_topo(&topo);
	if (!filter || ns_hop_filter_len(filter) != 2)
		abort();
	return 0;
}

static void check_filter(const uint8_t addr[32])
{
	struct nym_node_address to;
	uint8_t re[32];
	if (ns_hop_filter_check(filter, addr, &to) != 0)
		return;
	if (!ns_node_address_is_loopback(&to) || nym_node_address_encode_padded(&to, re) != 0)
		abort();
	size_t n = nym_node_address_len(&to);
	if (memcmp(re, addr, n) != 0)
		abort();
}

static void process_frame(const struct nym_frame *f)
{
	struct sphinx_processed res;
	size_t before = ns_replay_set_count(kr.key[0].replay);
	int rc = ns_keyring_process(&kr, f, out, &res);
	if (rc == SPHINX_FLAG_FORWARD)
		check_filter(res.next_address);
	int again = ns_keyring_process(&kr, f, out, &res);
	if (rc == SPHINX_FLAG_FORWARD || rc == SPHINX_FLAG_FINAL) {
		if (again != NS_NODE_ERR_REPLAY || ns_replay_set_count(kr.key[0].replay) != before + 1)
			abort();
	} else if (rc != NS_NODE_ERR_REPLAY) {
		if (again != rc || ns_replay_set_count(kr.key[0].replay) != before)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		uint8_t addr[32] = { 0 };
		memcpy(addr, data + 1, size - 1 < 32 ? size - 1 : 32);
		check_filter(addr);
		return 0;
	}
	ns_replay_set_reset(kr.key[0].replay);
	struct nym_frame_decoder d;
	if (nym_frame_decoder_init(&d) != 0)
		abort();
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	int frames = 0;
	while (len && frames < 8) {
		size_t used = 0;
		struct nym_frame f;
		int rc = nym_frame_decoder_push(&d, p, len, &used, &f);
		if (rc < 0)
			break;
		if (used == 0 || used > len)
			abort();
		p += used;
		len -= used;
		if (rc == 1) {
			process_frame(&f);
			frames++;
		}
	}
	nym_frame_decoder_free(&d);
	return 0;
}
