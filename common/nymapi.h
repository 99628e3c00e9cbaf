/* Parsers of the nym-api responses a Nym b4046a89 client reads (gateway.md §4.2), and the
 * topology a client builds from them:
 *   E1 GET /v1/nym-nodes/rewarded-set                      -> struct ns_nymapi_rewarded
 *   E2 GET /v2/unstable/nym-nodes/skimmed/mixnodes/active  -> struct ns_nymapi_page
 *   E3 GET /v2/unstable/nym-nodes/skimmed/entry-gateways   -> struct ns_nymapi_page
 *   E4 GET /v1/epoch/key-rotation-info                     -> struct ns_nymapi_keyrot
 * As serde does for these (non deny_unknown_fields) types, unknown members are ignored;
 * required members must be present with the right type, numbers in range, keys valid
 * base58 of 32 bytes, IP addresses literal. A node without any IP address is skipped (as
 * Nym's RoutingNode conversion does), not an error. Errors are NS_TOPOJSON_ERR_* values. */
#ifndef NS_NYMAPI_H
#define NS_NYMAPI_H
#include <stddef.h>
#include <stdint.h>

#include "topology_json.h"

#define NS_NYMAPI_MAX_INPUT (16u << 20) /* one response body */
#define NS_NYMAPI_MAX_NODES 4096        /* nodes of one page / one topology */
#define NS_NYMAPI_MAX_PAGES 64

/* Paths (appended to the configured base URL, as Nym's sanitize_url does). */
#define NS_NYMAPI_PATH_REWARDED "/v1/nym-nodes/rewarded-set"
#define NS_NYMAPI_PATH_MIXNODES "/v2/unstable/nym-nodes/skimmed/mixnodes/active"
#define NS_NYMAPI_PATH_GATEWAYS "/v2/unstable/nym-nodes/skimmed/entry-gateways"
#define NS_NYMAPI_PATH_KEYROT   "/v1/epoch/key-rotation-info"

struct ns_nymapi_rewarded {
	uint32_t epoch_id;               /* optional, default 0 */
	uint32_t *set[NS_SET_COUNT];     /* as topology_json.h's enum ns_topo_set */
	size_t set_len[NS_SET_COUNT];
};

/* Metadata of a skimmed list; E2 and E3 must agree on it. */
struct ns_nymapi_meta {
	char status[64];                 /* "" for null; else its JSON text (bounded) */
	uint32_t absolute_epoch_id;
	uint32_t rotation_id;
	char refreshed_at[40];
};

struct ns_nymapi_node {
	struct ns_topo_node n;           /* mix_host, address, entry_ip, ports, roles */
	unsigned performance;            /* percent, truncated (0..100) */
};

struct ns_nymapi_page {
	struct ns_nymapi_meta meta;
	uint64_t total, page, size;      /* pagination */
	struct ns_nymapi_node *nodes;    /* usable nodes (those with an IP address) */
	size_t n_nodes;
	size_t skipped;                  /* nodes without an IP address */
};

struct ns_nymapi_keyrot {
	uint32_t validity_epochs, initial_epoch_id; /* both > 0 / any */
	uint32_t current_absolute_epoch_id;
	uint64_t epoch_duration_secs;
	uint32_t epoch_duration_nanos;
	uint32_t current_key_rotation_id;
	int64_t current_epoch_start; /* unix seconds; 0 if its text does not convert */
};

int ns_nymapi_parse_rewarded(const char *json, size_t len, struct ns_nymapi_rewarded *out);
void ns_nymapi_rewarded_free(struct ns_nymapi_rewarded *r);
int ns_nymapi_parse_page(const char *json, size_t len, struct ns_nymapi_page *out);
void ns_nymapi_page_free(struct ns_nymapi_page *p);
/* Appends src's nodes to dst (pages of one listing); src is emptied. */
int ns_nymapi_page_append(struct ns_nymapi_page *dst, struct ns_nymapi_page *src);
int ns_nymapi_parse_keyrot(const char *json, size_t len, struct ns_nymapi_keyrot *out);
/* Nym's cutoff for the reply SURBs a client loads from its store (client-core
 * key_rotation_helpers.rs, base_client setup_persistent_reply_storage): the start of the key
 * rotation expected at now, less one epoch; SURBs of a sender last heard from before it were
 * made under keys the nodes no longer hold. Unix seconds, 0 when unknown. */
int64_t ns_nymapi_surb_cutoff(const struct ns_nymapi_keyrot *k, int64_t now);
/* 1 if two lists' metadata agree (status, absolute_epoch_id, rotation_id), as the client
 * requires of E2 and E3. */
int ns_nymapi_meta_agree(const struct ns_nymapi_meta *a, const struct ns_nymapi_meta *b);

/* Performance "0.95" / "1" / 0.95 as percent truncated; -1 when not a decimal in [0, 1]. */
int ns_nymapi_performance(const char *text);

/* The client's topology (Nym's nym_api_provider): mixnodes of E2 with performance >=
 * min_mix, layers from E1 (ids present in E2), gateways = E3 nodes with performance >=
 * min_gw. Fills *out (ns_topo_free); its nodes[] are every kept node (mixes then
 * gateways). NS_TOPOJSON_ERR_ROUTABLE when a layer or the gateways end up empty. */
int ns_nymapi_topology(const struct ns_nymapi_rewarded *rs, const struct ns_nymapi_page *mix,
                       const struct ns_nymapi_page *gw, unsigned min_mix, unsigned min_gw,
                       struct ns_topo *out);

/* base + path (+ "?" query when query is non-empty), base's trailing slashes dropped.
 * -1 when it does not fit. */
int ns_nymapi_url(const char *base, const char *path, const char *query, char *out, size_t cap);

#endif
