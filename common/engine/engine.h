/* The client engine every front process runs (apid, socksd, exitd): it speaks to keyd, netd
 * and the supervisor for the front and holds no key. It pads and splits outgoing messages,
 * keeps each fragment until its ack (rebuilt on ACK_TIMEOUT, under a new route; dropped when
 * netd gives it up at maximum_number_of_retransmissions), sends
 * anonymous messages with reply SURBs keyd makes, sends replies through the SURBs keyd holds
 * for a sender tag (keyd queues them and asks the sender for more when they run short),
 * reassembles what keyd decrypts, hands SURBs it finds to keyd, serves SURB requests, hands
 * the unacknowledged fragments to the supervisor at shutdown and answers STATS.
 *
 * One engine per process, on the front's loop. IPC lanes: 0 = General, n > 0 =
 * ConnectionId(n - 1). Owners: an opaque pointer per message (an app, a connection) told
 * through on_send_failed while it lives; ns_engine_forget_owner when it goes.
 *
 * The engine itself (engine.c) is portable: it sends through a host (ipc_host.h) and is fed
 * decoded messages (ns_engine_deliver). Natively, ns_engine_start (engine_ev.c) is that host:
 * the front's three socketpair ends on its libev loop; in the browser, wasm/c/nsw_engine.c. */
#ifndef NS_ENGINE_H
#define NS_ENGINE_H
#include <stddef.h>
#include <stdint.h>

#include "ipc_host.h"

struct ev_loop;
struct ns_engine;
struct ns_ipc_conn;

#define NS_ENGINE_ADDRESS_LEN 96 /* a Nym recipient: identity || encryption key || gateway */
#define NS_ENGINE_TAG_LEN 16     /* a sender tag */
/* A RepliableMessage counts its SURBs in a u16. */
#define NS_ENGINE_MAX_REPLY_SURBS 65535

/* The engine's counters (STATS, an admin socket). */
#define NS_ENGINE_LANES_MAX 32
struct ns_engine_stats {
	size_t unacked, unacked_replies;
	size_t queued; /* fragments not yet handed to the gateway */
	uint64_t messages_sent, anonymous_sent, replies_sent;
	uint64_t surbs_sent, surbs_received, surb_requests_served, surbs_low;
	uint64_t fragments_given_up; /* netd's GAVE_UP_FRAGMENT: dropped unacked, not persisted */
	size_t n_lanes; /* lanes with unacknowledged fragments (the first NS_ENGINE_LANES_MAX) */
	uint64_t lane[NS_ENGINE_LANES_MAX];
	size_t lane_depth[NS_ENGINE_LANES_MAX];   /* queued: ns_engine_lane_depth */
	size_t lane_unacked[NS_ENGINE_LANES_MAX]; /* ns_engine_lane_unacked */
};
struct ns_engine_cb {
	/* A complete message for us; msg is valid during the call only. sender_tag is NULL
	 * unless the sender sent it anonymously (NS_ENGINE_TAG_LEN bytes: reply through it). */
	void (*on_message)(void *ctx, const uint8_t *msg, size_t len, const uint8_t *sender_tag);
	/* keyd told us our address (once, early; the address stays valid). */
	void (*on_self_address)(void *ctx, const uint8_t address[NS_ENGINE_ADDRESS_LEN]);
	/* A message sent with owner != NULL cannot be delivered; why is the text Nym gives the
	 * app. May come once per failing fragment of the same msg_id. */
	void (*on_send_failed)(void *ctx, void *owner, uint64_t msg_id, const char *why);
	/* SHUTDOWN from the supervisor: the engine has handed its queue over already. The front
	 * stops its listeners and breaks the loop. */
	void (*on_shutdown)(void *ctx);
	/* Optional, native only (engine_ev.c): a STATUS_REPLY from keyd or netd (the front asked
	 * with ns_engine_peer). */
	void (*on_status_reply)(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx);
	/* Optional: the whole STATS answer ("name=value\n" lines) from the engine's counters and
	 * the front's own; returns the bytes written (< cap). NULL: ns_engine_stats_format. */
	size_t (*stats_text)(void *ctx, const struct ns_engine_stats *st, char *out, size_t cap);
	/* Optional, native only (engine_ev.c): a message for the front itself that the engine
	 * does not handle
	 * (EXIT_POLICY_TEXT / EXIT_POLICY_END for exitd); without it such a message is logged
	 * and ignored. */
	void (*on_front_message)(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx);
	/* Optional: fragments of the lane went to the gateway, so its depth went down (a
	 * front paused by backpressure reads on without waiting for its poll). */
	void (*on_lane_sent)(void *ctx, uint64_t lane);
};

/* ---- the portable engine (engine.c) */
/* An engine whose messages to keyd, netd and the supervisor go through host (copied); name
 * (kept by reference) names it in log lines, cb is kept by reference. NULL: out of memory. */
struct ns_engine *ns_engine_new(const struct ns_ipc_host *host, const char *name,
                                const struct ns_engine_cb *cb, void *ctx);
/* A message from keyd, netd or the supervisor, decoded (a BATCH's messages one by one).
 * STATUS_REPLY and the front's own types are not the engine's (engine_ev.c serves them). */
void ns_engine_deliver(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m);
/* 1 if ns_engine_deliver handles this type (others are logged and ignored). */
int ns_engine_handles(uint64_t type);
/* Every unacknowledged normal fragment to the supervisor (QUEUED_FRAGMENT), then QUEUED_END:
 * what SHUTDOWN does, and what the host does when keyd or netd is gone. */
void ns_engine_hand_over(struct ns_engine *e);
const struct ns_ipc_host *ns_engine_host(const struct ns_engine *e);
/* Frees the engine's state (not the host's). */
void ns_engine_destroy(struct ns_engine *e);
/* READY to the supervisor, once the front is confined. */
void ns_engine_ready(struct ns_engine *e);

/* ---- the native host (engine_ev.c) */
/* Starts the three IPC connections (the front's ends of its socketpairs with keyd, netd and
 * the supervisor) on loop, and an engine on them. cb is kept by reference. NULL on failure. */
struct ns_engine *ns_engine_start(struct ev_loop *loop, int keyd_fd, int netd_fd, int sup_fd,
                                  const struct ns_engine_cb *cb, void *ctx);
/* Flushes what waits for the supervisor, stops the connections, frees everything. */
void ns_engine_free(struct ns_engine *e);

/* msg to recipient (a plain NymMessage). 0, or -1: it cannot be split (too large, no
 * memory). *msg_id (may be NULL) names it in on_send_failed. */
int ns_engine_send(struct ns_engine *e, const uint8_t recipient[NS_ENGINE_ADDRESS_LEN],
                   const uint8_t *msg, size_t len, uint64_t lane, void *owner, uint64_t *msg_id);
/* A RepliableMessage carrying our sender tag for recipient and reply_surbs fresh SURBs
 * (0 is fine; at most NS_ENGINE_MAX_REPLY_SURBS), sent once keyd has made them. 0 or -1. */
int ns_engine_send_anonymous(struct ns_engine *e, const uint8_t recipient[NS_ENGINE_ADDRESS_LEN],
                             const uint8_t *msg, size_t len, size_t reply_surbs, uint64_t lane,
                             void *owner, uint64_t *msg_id);
/* A reply through the SURBs keyd holds for tag. A tag keyd holds none for ends in a logged
 * drop, as in Nym. 0 or -1. */
int ns_engine_reply(struct ns_engine *e, const uint8_t tag[NS_ENGINE_TAG_LEN], const uint8_t *msg,
                    size_t len, uint64_t lane);

/* Fragments of the lane not yet handed to the gateway: waiting for keyd (a reply for SURBs
 * too) or in netd's queue. Nym's lane queue length, what its backpressure reads. A
 * retransmission goes on Nym's Retransmission lane and does not count. */
size_t ns_engine_lane_depth(const struct ns_engine *e, uint64_t lane);
/* Fragments of the lane not yet acknowledged (queued or sent); all lanes. */
size_t ns_engine_lane_unacked(const struct ns_engine *e, uint64_t lane);
size_t ns_engine_unacked(const struct ns_engine *e);
/* The lane's fragments move to General (still retransmitted until acked). */
void ns_engine_close_lane(struct ns_engine *e, uint64_t lane);
/* The owner is gone: nothing more is told about its messages. */
void ns_engine_forget_owner(struct ns_engine *e, void *owner);
/* 0 and our address, or -1 while keyd has not told it. */
int ns_engine_self_address(const struct ns_engine *e, uint8_t out[NS_ENGINE_ADDRESS_LEN]);

enum ns_engine_peer { NS_ENGINE_KEYD, NS_ENGINE_NETD, NS_ENGINE_SUP };
/* Native: the connection to a peer (for the front's own requests, e.g. STATUS_REQUEST). */
struct ns_ipc_conn *ns_engine_peer(struct ns_engine *e, enum ns_engine_peer which);

void ns_engine_stats(const struct ns_engine *e, struct ns_engine_stats *st);
/* The engine's counters as "name=value\n" lines; returns the bytes written (< cap). */
size_t ns_engine_stats_format(const struct ns_engine_stats *st, char *out, size_t cap);

#endif
