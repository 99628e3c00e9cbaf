/* In-memory topology and random route selection (see topology.h). */
#include "nymsphinx/topology.h"

#include <math.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/params.h"

const struct nym_topo_node *nym_topology_gateway(const struct nym_topology *t,
                                                 const uint8_t identity[32])
{
	if (t == NULL || identity == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_gateways; i++)
		if (memcmp(t->gateways[i].identity, identity, 32) == 0)
			return &t->gateways[i];
	return NULL;
}

static void route_push(struct nym_route *route, const struct nym_topo_node *node)
{
	memcpy(route->hop[route->n].address, node->address, SPHINX_NODE_ADDR_LEN);
	memcpy(route->hop[route->n].pubkey, node->sphinx_key, 32);
	route->node_id[route->n] = node->node_id;
	route->n++;
}

int nym_topology_random_route(const struct nym_topology *t, const uint8_t egress[32],
                              struct nym_route *route)
{
	const struct nym_topo_node *gw = nym_topology_gateway(t, egress);

	if (gw == NULL || route == NULL)
		return -1;
	route->n = 0;
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		if (t->layer[l] == NULL || t->layer_len[l] == 0 || t->layer_len[l] > UINT32_MAX)
			return -1;
		route_push(route, &t->layer[l][ns_random_uniform((uint32_t)t->layer_len[l])]);
	}
	route_push(route, gw);
	return 0;
}

uint8_t nym_topology_key_rotation_byte(const struct nym_topology *t)
{
	return t == NULL ? NYM_KEY_ROTATION_UNKNOWN
	                 : (uint8_t)nym_key_rotation_from_id(t->key_rotation_id);
}

uint64_t nym_sample_exp_delay_ns(uint64_t mean_ns)
{
	uint64_t r;
	double u, sample;

	if (mean_ns == 0)
		return 0;
	ns_random(&r, sizeof r);
	/* u uniform in (0, 1]: 53 random bits, never zero */
	u = ((double)(r >> 11) + 1.0) / 9007199254740992.0;
	sample = -log(u) * (double)mean_ns;
	if (!(sample < 18446744073709549568.0))
		return UINT64_MAX;
	return (uint64_t)(sample + 0.5);
}

void nym_sample_hop_delays(uint64_t mean_ns, size_t n, uint64_t *delays)
{
	for (size_t i = 0; i < n; i++)
		delays[i] = nym_sample_exp_delay_ns(mean_ns);
}
