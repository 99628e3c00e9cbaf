/* nym-gateway internals shared by its source files:
 *   main.c     configuration, start-up, stats, ready file, shutdown, logging
 *   clients.c  the client websocket endpoint: sessions, registration, authentication,
 *              text and binary requests, pushes, one session per client, pings
 *   mixside.c  the mix port: final-hop processing, SURB-ack forwarding, and forwarding
 *              of client packets to their first hop
 *   storage.c  the offline inbox and client records (common/gwstore.h) as sessions use them */
#ifndef NYM_GATEWAY_H
#define NYM_GATEWAY_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/shared_key.h"
#include "gwstore.h"
#include "node/node.h"
#include "nodeconf.h"
#include "nymsphinx/framing.h"
#include "topology_json.h"
#include "websocket.h"

#define GW_SESSION_BUCKETS 1024
#define GW_FREE_BANDWIDTH  68719476736LL /* 64 GiB per claim, as FREE_TESTNET_BANDWIDTH_VALUE */
#define GW_STORE_MAX_AGE_S (24 * 3600)

struct gw_counters {
	uint64_t clients_connected;   /* gauge: authenticated sessions */
	uint64_t ws_connections;      /* gauge: open websockets */
	uint64_t ws_accepted;
	uint64_t registrations;
	uint64_t authentications;
	uint64_t auth_failures;
	uint64_t client_errors;       /* clients dropped for bad input */
	uint64_t ws_handshake_failures; /* connections that never became websockets */
	uint64_t client_packets;      /* ForwardSphinx frames accepted from clients */
	uint64_t forward_rejected;    /* client packets to a hop outside the topology */
	uint64_t packets_in;          /* frames received on the mix port */
	uint64_t packets_out;         /* frames handed to the outbound peers */
	uint64_t packets_dropped;     /* drop-rate, non-final hops, unknown destinations */
	uint64_t decode_errors;
	uint64_t replays;
	uint64_t acks_forwarded;
	uint64_t messages_delivered;  /* pushed to a live session (stored ones included) */
	uint64_t messages_stored;
	uint64_t stored_delivered;
	uint64_t store_errors;
	uint64_t queue_depth;         /* gauge: outbound frames waiting */
};

struct gw_session;

struct gw {
	struct ev_loop *loop;
	struct ns_nodeconf conf;
	uint8_t identity_seed[32];
	uint8_t identity_pk[32];
	struct ns_topo topo;
	struct ns_hop_filter *hops;
	struct ns_keyring keyring;
	struct ns_listener *listener;
	struct ns_peers *peers;
	ns_ws_server *ws;
	struct ns_gwstore *store;
	struct ns_stats *stats;
	struct ns_signals *signals;
	ev_timer housekeeping;
	double last_purge;
	struct gw_counters c;
	struct gw_session *table[GW_SESSION_BUCKETS]; /* sessions holding an address */
	struct gw_session *all;                        /* every open session */
	uint64_t next_session_id;
};

/* main.c */
void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* clients.c */
int gw_clients_start(struct gw *gw);
/* front.c: the TLS and delaying fronts of the client listener (nodeconf.h), if configured. */
int gw_fronts_start(struct gw *gw);
void gw_clients_stop(struct gw *gw);
/* Delivers one message to a client's live session. 1 pushed, 0 no live session (or its
 * queue is backed up: the caller stores), -1 on an encryption error. */
int gw_clients_push(struct gw *gw, const uint8_t address[32], const uint8_t *msg, size_t len);
/* Periodic work: removes stored messages whose push has been written out. */
void gw_clients_tick(struct gw *gw);

/* mixside.c */
int gw_mix_start(struct gw *gw);
void gw_mix_stop(struct gw *gw);
/* Sends a sphinx packet to the node at `to` (must be in the topology). 0 or negative. */
int gw_mix_forward(struct gw *gw, const struct nym_node_address *to, uint8_t packet_type,
                   uint8_t key_rotation, const uint8_t *packet, size_t len);

/* storage.c */
/* Delivers a final-hop message: live push, else durable storage for a registered client.
 * 1 pushed, 2 stored, 0 dropped (unknown client), negative on a storage error. */
int gw_deliver(struct gw *gw, const uint8_t address[32], const uint8_t *msg, size_t len);
void gw_storage_tick(struct gw *gw);
/* Base58 of a client address into out (at least 48 bytes). */
void gw_address_b58(const uint8_t address[32], char out[48]);

#endif
