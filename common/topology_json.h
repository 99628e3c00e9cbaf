/* Topology JSON for the localnet:
 *  - builders: from node descriptors, the WasmFriendlyNymTopology (the topology file) and the
 *    nym-api (Nym b4046a89) responses that normal clients need (rewarded set, skimmed node
 *    lists, key-rotation info), as malloc'd JSON strings;
 *  - a strict parser of WasmFriendlyNymTopology JSON into nymsphinx/topology.h's
 *    struct nym_topology (plus the per-node details the JSON carries). */
#ifndef NS_TOPOLOGY_JSON_H
#define NS_TOPOLOGY_JSON_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nodeconf.h"
#include "nymsphinx/topology.h"

/* Network-wide values every response carries. */
struct ns_netinfo {
	uint32_t key_rotation_id;   /* metadata.rotation_id; 0 / 0xFFFFFFFF = unknown */
	uint32_t absolute_epoch_id;
	time_t refreshed_at;        /* metadata.refreshed_at */
	time_t epoch_start;         /* current_epoch_start of key-rotation-info */
	uint32_t epoch_duration_secs; /* > 0 */
};

/* The key-rotation schedule published in key-rotation-info: validity_epochs (24 when
 * possible, else 1) and initial_epoch_id chosen so that the rotation the client derives,
 * (absolute_epoch_id - initial_epoch_id) / validity_epochs, equals key_rotation_id.
 * -1 if there is none (key_rotation_id > absolute_epoch_id, or a zero epoch duration). */
int ns_netinfo_schedule(const struct ns_netinfo *info, uint32_t *validity_epochs,
                        uint32_t *initial_epoch_id);

/* Which nodes a skimmed list holds (nym-api route in brackets). */
enum ns_node_filter {
	NS_FILTER_ALL,             /* /v2/unstable/nym-nodes/skimmed */
	NS_FILTER_MIXNODES_ACTIVE, /* .../skimmed/mixnodes/active (layer 1..3) */
	NS_FILTER_MIXNODES_ALL,    /* .../skimmed/mixnodes/all */
	NS_FILTER_ENTRY_GATEWAYS,  /* .../skimmed/entry-gateways */
	NS_FILTER_EXIT_GATEWAYS,   /* .../skimmed/exit-gateways */
};

/* Every builder returns a malloc'd NUL-terminated JSON text or NULL (OOM / bad input). */
char *ns_topojson_wasm_topology(const struct ns_nodeconf *nodes, size_t n,
                                const struct ns_netinfo *info, int pretty);
char *ns_topojson_rewarded_set(const struct ns_nodeconf *nodes, size_t n,
                               const struct ns_netinfo *info);
/* PaginatedCachedNodesResponseV2<SkimmedNode> (semi = 0) or <SemiSkimmedNode> (semi = 1).
 * As nym-api does, every node is on page 0 (page/per_page are ignored). */
char *ns_topojson_skimmed(const struct ns_nodeconf *nodes, size_t n, const struct ns_netinfo *info,
                          enum ns_node_filter filter, int semi);
/* PaginatedCachedNodesResponseV1 (the v1 unstable routes). */
char *ns_topojson_skimmed_v1(const struct ns_nodeconf *nodes, size_t n,
                             const struct ns_netinfo *info, enum ns_node_filter filter);
char *ns_topojson_key_rotation_info(const struct ns_netinfo *info);

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). */
void ns_rfc3339(time_t t, char out[21]);

/* ---- parser */

#define NS_TOPO_MAX_NODES 1024

struct ns_topo_node {
	uint32_t node_id;
	char mix_host[64];        /* "ip:port" or "[v6]:port" as given */
	uint8_t identity[32];
	uint8_t sphinx_key[32];
	uint8_t address[32];      /* NymNodeRoutingAddress of mix_host, zero padded */
	int has_entry;
	char entry_ip[64];        /* entry.ip_addresses[0] */
	uint16_t clients_ws_port;
	int has_wss_port;
	uint16_t clients_wss_port;
	char hostname[256];       /* "" when null */
	int mixnode, mixnet_entry, mixnet_exit;
};

enum ns_topo_set { NS_SET_ENTRY, NS_SET_EXIT, NS_SET_LAYER1, NS_SET_LAYER2, NS_SET_LAYER3,
	           NS_SET_STANDBY, NS_SET_COUNT };

struct ns_topo {
	uint32_t key_rotation_id, absolute_epoch_id, epoch_id;
	char refreshed_at[40];
	struct ns_topo_node *nodes;  /* every node of nodeDetails */
	size_t n_nodes;
	uint32_t *set[NS_SET_COUNT]; /* rewardedSet id lists */
	size_t set_len[NS_SET_COUNT];
	/* Routing view: mixes per layer (ids of that layer present in nodeDetails) and every
	 * gateway (nodes with entry details or in entry/exit sets). */
	struct nym_topo_node *layer_nodes[NYM_MIX_LAYERS];
	struct nym_topo_node *gateway_nodes;
	struct nym_topology topology; /* points into the arrays above */
};

enum ns_topojson_err {
	NS_TOPOJSON_ERR_JSON = -1,    /* not JSON / too large / too deep */
	NS_TOPOJSON_ERR_SHAPE = -2,   /* missing / unknown / mistyped member */
	NS_TOPOJSON_ERR_VALUE = -3,   /* out-of-range number, bad key, bad address */
	NS_TOPOJSON_ERR_ROUTABLE = -4,/* not minimally routable (a layer or the gateways empty) */
	NS_TOPOJSON_ERR_NOMEM = -5,
};

#define NS_TOPOJSON_MAX_INPUT (4u << 20)

/* Parses a WasmFriendlyNymTopology. Like serde with deny_unknown_fields: unknown members at
 * the top level and in nodes are errors (ignored inside metadata / rewardedSet, as serde
 * does); nodeId must equal its map key; keys are base58 of 32 bytes; mixHost an IP literal
 * with port; duplicate members are errors. The result
 * must be minimally routable. On success *out owns its memory (ns_topo_free). */
int ns_topo_parse(const char *json, size_t len, struct ns_topo *out);
void ns_topo_free(struct ns_topo *t);

/* Nym's own serde form of NymTopology (what a --custom-mixnet file of Nym's clients holds:
 * snake_case members, node_details keyed by node id, ed25519/x25519 keys as arrays of 32
 * numbers, metadata optional) rewritten as WasmFriendlyNymTopology text for ns_topo_parse,
 * which then checks every value. Members Nym's serde ignores are dropped. A malloc'd text, or
 * NULL: not that form (a missing or mistyped member, a key that is not 32 bytes) or out of
 * memory. */
char *ns_topojson_from_nym(const char *json, size_t len);
/* A --custom-mixnet file (Nym's form, else the WasmFriendly one) into *out: 0, or a negative
 * code with the reason in err (cannot be read, larger than NS_TOPOJSON_MAX_INPUT, not a
 * topology: ns_topo_parse's code). */
int ns_topo_load_file(const char *path, struct ns_topo *out, char *err, size_t errcap);

/* NymNodeRoutingAddress of "ip:port" / "[v6]:port": 4|port BE|ipv4 or 6|port BE|ipv6,
 * zero padded to 32 bytes. Returns the encoded length (7 or 19) or -1. */
int ns_routing_address(const char *host_port, uint8_t out[32]);

#endif
