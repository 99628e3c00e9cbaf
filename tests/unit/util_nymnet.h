/* A small in-memory test network for unit tests: 2 mixes per layer and 1 gateway
 * on 127.0.0.1, with their secrets, and a helper that routes a packet through it. */
#ifndef NS_TEST_UTIL_NYMNET_H
#define NS_TEST_UTIL_NYMNET_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "nymsphinx/topology.h"

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

void testnet_init(struct testnet *t);
void testclient_init(const struct testnet *t, struct testclient *c);
const uint8_t *testnet_secret(const struct testnet *t, const uint8_t addr[32]);
/* Processes a packet hop by hop from first_hop to its final hop (which must be the
 * gateway, reached through one mix of each layer in order). Copies the recovered
 * plaintext to out; returns its length or -1. *version gets the header version. */
long testnet_deliver(const struct testnet *t, const uint8_t *packet, size_t len,
                     const uint8_t first_hop[32], uint8_t *out, size_t cap, int *version,
                     uint8_t destination[32]);

#endif
