/* A minimal in-memory network topology and Nym's route selection
 * (nym topology lib.rs random_route_to_egress: one node uniformly from each of
 * mix layers 1, 2, 3, then the egress gateway). Filling it from JSON is elsewhere.
 * The caller owns every array; nothing here allocates. */
#ifndef NS_NYM_TOPOLOGY_H
#define NS_NYM_TOPOLOGY_H
#include <stddef.h>
#include <stdint.h>

#include "sphinx/sphinx.h"

#define NYM_MIX_LAYERS    3
#define NYM_ROUTE_MAX     (NYM_MIX_LAYERS + 1)

struct nym_topo_node {
	uint32_t node_id;
	uint8_t identity[32];                      /* ed25519 identity key */
	uint8_t sphinx_key[32];                    /* x25519 sphinx key */
	uint8_t address[SPHINX_NODE_ADDR_LEN];     /* NymNodeRoutingAddress, zero padded */
};

struct nym_topology {
	const struct nym_topo_node *layer[NYM_MIX_LAYERS]; /* layer[0] = layer 1 */
	size_t layer_len[NYM_MIX_LAYERS];
	const struct nym_topo_node *gateways;
	size_t n_gateways;
	uint32_t key_rotation_id;                  /* 0 / 0xFFFFFFFF = unknown */
};

struct nym_route {
	struct sphinx_node hop[NYM_ROUTE_MAX];
	uint32_t node_id[NYM_ROUTE_MAX];
	size_t n;
};

/* The gateway with this identity, or NULL. */
const struct nym_topo_node *nym_topology_gateway(const struct nym_topology *t,
                                                 const uint8_t identity[32]);
/* 3 random mixes + the gateway with identity egress. -1 if a layer is empty or the
 * gateway is unknown. */
int nym_topology_random_route(const struct nym_topology *t, const uint8_t egress[32],
                              struct nym_route *route);
/* SphinxKeyRotation byte of the topology's rotation id: 0 unknown, 1 odd, 2 even. */
uint8_t nym_topology_key_rotation_byte(const struct nym_topology *t);

/* One Exp(mean) sample in nanoseconds, rounded (rand_distr Exp(1/mean)); 0 if mean is 0. */
uint64_t nym_sample_exp_delay_ns(uint64_t mean_ns);
/* n independent samples (nym-sphinx-routing generate_hop_delays). */
void nym_sample_hop_delays(uint64_t mean_ns, size_t n, uint64_t *delays);

#endif
