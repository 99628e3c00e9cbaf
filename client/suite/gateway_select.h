/* Choosing the gateway at init (and add-gateway): Nym's candidates are the entry gateways of
 * the nym-api (or of a --custom-mixnet topology file) with performance at least the config's
 * minimum and a client listener (with force_tls: a wss port). A wanted identity must be one of
 * them and is taken as is; otherwise one is drawn uniformly, or, with latency_based, weighted
 * by 1/latency measured over each candidate's websocket (Nym's choose_gateway_by_latency):
 * at most 20 connections at once, each 1.5 s to open (TCP, TLS, upgrade) and 3 pings of 1 s at
 * most, so about n/20 x 4.5 s for n candidates; a gateway that does not answer is skipped.
 * The measurements and the draw are reported on stderr, one line each (as Nym's log).
 * The listener is Nym's: wss://HOST:WSS_PORT when the gateway announces both, else
 * ws://HOST:WS_PORT, else ws://IP:WS_PORT. */
#ifndef GATEWAY_SELECT_H
#define GATEWAY_SELECT_H
#include <stddef.h>
#include <stdint.h>

#include "clientconf.h"

struct nc_gateway_pick_opts {
	const char *want_id;   /* --gateway / --gateway-id, NULL: choose */
	int latency_based;     /* --latency-based-selection */
	int force_tls;         /* --force-tls-gateway */
	/* (h-cli) --custom-mixnet: candidates are the entry-capable nodes of this topology file
	 * (Nym's serde form of NymTopology, or the WasmFriendly one: common/topology_json.h), no
	 * nym-api and no performance filter, as Nym's init; NULL: the nym-api */
	const char *custom_mixnet;
	/* (h-cli) add-gateway: gateways already registered, never candidates */
	const uint8_t (*exclude)[32];
	size_t n_exclude;
};
/* From the nym-api's (or --custom-mixnet's) entry gateways as Nym's init does. 0 with the
 * identity and the listener URL (ws:// or wss://), or -1 with the reason in err. */
int nc_gateway_pick(const struct clientconf *c, const struct nc_gateway_pick_opts *o,
                    uint8_t identity[32], char *listener, size_t listener_cap,
                    char *err, size_t errcap);

#endif
