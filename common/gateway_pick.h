/* Nym's gateway choice at a first start, portable (the browser's net Worker; the native
 * client's init through client/suite/gateway_select.c): the entry gateways of the nym-api with
 * at least the minimum performance and a client listener, with force_tls only those with a
 * wss listener; a wanted identity must be among them; otherwise one drawn uniformly, as Nym's
 * wasm client does (it never asks for the latency-weighted draw: its builder leaves
 * latency_based_selection unset, so GatewaySelectionSpecification is UniformRemote). */
#ifndef NS_GATEWAY_PICK_H
#define NS_GATEWAY_PICK_H
#include <stddef.h>
#include <stdint.h>

#include "nymapi.h"
#include "topology_json.h"

/* Nym's ws_entry_address: wss://HOST:WSS_PORT when the node announces both a host name and a
 * TLS port, else ws://HOST:WS_PORT with its host name, else ws://IP:WS_PORT (an IPv6 address in
 * brackets). With must_tls only the first form. 0, or -1 (no such listener, or too long). */
int ns_gw_listener_url(const struct ns_topo_node *g, int must_tls, char *out, size_t cap);
/* An entry gateway a client may register with: performance and a client listener. */
int ns_gw_entry_usable(const struct ns_nymapi_node *g, unsigned min_performance);
/* The choice among page's gateways: 0 with the identity and the listener URL, or -1 with the
 * reason. wanted: base58 identity or NULL. */
int ns_gw_pick_uniform(const struct ns_nymapi_page *page, unsigned min_performance,
                       int force_tls, const char *wanted, uint8_t identity[32], char *url,
                       size_t urlcap, char *err, size_t errcap);

#endif
