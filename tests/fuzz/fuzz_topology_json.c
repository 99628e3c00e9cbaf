/* libFuzzer: the WasmFriendlyNymTopology parser.
 * Mode 0 (first byte even): the input is raw JSON; anything accepted must be self-consistent
 * (layer nodes are in their sets and in nodeDetails, addresses re-derive from mixHost).
 * Mode 1: the input describes a network (ids, ports, keys); its topology JSON, built with
 * the project's own builder, must parse back to exactly those values.
 * Mode 2 (first byte & 6 == 6): the input is Nym's serde form of NymTopology (--custom-mixnet
 * files); a rewrite holds the three WasmFriendly members and parses consistently. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "topology_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_consistent(const struct ns_topo *t)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		uint8_t a[32];
		if (ns_routing_address(t->nodes[i].mix_host, a) < 0 || memcmp(a, t->nodes[i].address, 32))
			abort();
	}
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		if (t->topology.layer_len[l] == 0)
			abort();
		for (size_t k = 0; k < t->topology.layer_len[l]; k++) {
			uint32_t id = t->topology.layer[l][k].node_id;
			int in_set = 0, in_nodes = 0;
			for (size_t j = 0; j < t->set_len[NS_SET_LAYER1 + l]; j++)
				in_set |= t->set[NS_SET_LAYER1 + l][j] == id;
			for (size_t j = 0; j < t->n_nodes; j++)
				in_nodes |= t->nodes[j].node_id == id;
			if (!in_set || !in_nodes)
				abort();
		}
	}
}

static void raw_mode(const uint8_t *data, size_t size)
{
	struct ns_topo t;
	if (ns_topo_parse((const char *)data, size, &t) == 0) {
		check_consistent(&t);
		ns_topo_free(&t);
	}
}

/* Each node takes 1 + 2 + 2 + 32 + 32 bytes: flags, mix port, ws port, identity, sphinx. */
#define NODE_BYTES 69

static void generated_mode(const uint8_t *data, size_t size)
{
	if (size < 8)
		return;
	struct ns_netinfo info = { .key_rotation_id = data[0], .absolute_epoch_id = data[1] | (uint32_t)data[2] << 8,
		                   .refreshed_at = (time_t)(data[3] | (uint32_t)data[4] << 8) * 86400,
		                   .epoch_start = 0, .epoch_duration_secs = 3600 };
	data += 5;
	size -= 5;
	size_t n = size / NODE_BYTES;
	if (n < 4 || n > 32)
		return;
	struct ns_nodeconf nodes[32];
	memset(nodes, 0, sizeof nodes);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = data + i * NODE_BYTES;
		struct ns_nodeconf *c = &nodes[i];
		c->id = (uint32_t)i * 16 + (p[0] >> 4) + 1; /* unique: the nibble is < 16 */
		/* the first four cover every layer and a gateway; then the flags decide */
		int kind = i < 4 ? (int)i : p[0] & 3;
		c->role = kind == 3 ? NS_ROLE_GATEWAY : NS_ROLE_MIXNODE;
		c->layer = kind == 3 ? 0 : (uint8_t)(kind + 1);
		snprintf(c->host, sizeof c->host, (p[0] & 4) ? "::1" : "127.0.0.%u", p[1] | 1);
		c->mix_port = (uint16_t)(p[1] | p[2] << 8);
		c->clients_ws_port = (uint16_t)(p[3] | p[4] << 8);
		memcpy(c->identity_key, p + 5, 32);
		memcpy(c->sphinx_key, p + 37, 32);
	}
	char *json = ns_topojson_wasm_topology(nodes, n, &info, data[0] & 1);
	if (!json)
		abort();
	struct ns_topo t;
	if (ns_topo_parse(json, strlen(json), &t) != 0)
		abort();
	if (t.n_nodes != n || t.key_rotation_id != info.key_rotation_id ||
	    t.absolute_epoch_id != info.absolute_epoch_id || t.topology.key_rotation_id != info.key_rotation_id)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct ns_topo_node *got = &t.nodes[i];
		const struct ns_nodeconf *c = &nodes[i];
		if (got->node_id != c->id || memcmp(got->identity, c->identity_key, 32) ||
		    memcmp(got->sphinx_key, c->sphinx_key, 32) || got->address[1] != (c->mix_port >> 8) ||
		    got->address[2] != (c->mix_port & 0xff) || got->address[0] != (strchr(c->host, ':') ? 6 : 4) ||
		    got->has_entry != (c->role == NS_ROLE_GATEWAY) ||
		    (got->has_entry && got->clients_ws_port != c->clients_ws_port) ||
		    got->mixnode != (c->role == NS_ROLE_MIXNODE))
			abort();
	}
	check_consistent(&t);
	ns_topo_free(&t);
	free(json);
}

/* Nym's serde form (--custom-mixnet): a rewrite is JSON with exactly the three members of
 * the WasmFriendly form, and whatever the parser makes of it is consistent. */
static void nym_mode(const uint8_t *data, size_t size)
{
	char *w = ns_topojson_from_nym((const char *)data, size);
	if (!w)
		return;
	cJSON *j = cJSON_Parse(w);
	if (!j || cJSON_GetArraySize(j) != 3 || !cJSON_GetObjectItem(j, "metadata") ||
	    !cJSON_GetObjectItem(j, "rewardedSet") || !cJSON_IsObject(cJSON_GetObjectItem(j, "nodeDetails")))
		abort();
	cJSON_Delete(j);
	raw_mode((const uint8_t *)w, strlen(w));
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if ((data[0] & 6) == 6)
		nym_mode(data + 1, size - 1);
	else if (data[0] & 1)
		generated_mode(data + 1, size - 1);
	else
		raw_mode(data + 1, size - 1);
	return 0;
}
